#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/diagnostics/anomaly_score.hpp"
#include "safetwin/diagnostics/score_replay.hpp"

using namespace safetwin;
using namespace safetwin::diagnostics;

namespace {
Innovations one_channel(double y, double s, int c = 0) {
  Innovations in;
  in.innovation[c] = y;
  in.variance[c] = s;
  in.evaluated[c] = true;
  return in;
}
}  // namespace

TEST_CASE("score is the window mean of squared whitened innovations (hand-computed trace)") {
  AnomalyScoreConfig cfg;
  cfg.window_samples = 3;
  cfg.threshold = 5.0;
  AnomalyScore score(cfg);
  // z = y / sqrt(S): 1, 2, 3, 0.5 with S = 4  ->  y = 2, 4, 6, 1
  const double y[] = {2.0, 4.0, 6.0, 1.0};
  const double expected[] = {1.0, (1.0 + 4.0) / 2, (1.0 + 4.0 + 9.0) / 3, (4.0 + 9.0 + 0.25) / 3};
  const bool full[] = {false, false, true, true};
  const bool alarm[] = {false, false, false, false};
  for (int k = 0; k < 4; ++k) {
    AnomalyResult r;
    REQUIRE(score.step(one_channel(y[k], 4.0), r) == Status::ok);
    CHECK(r.score == doctest::Approx(expected[k]));
    CHECK(r.window_full == full[k]);
    CHECK(r.alarm == alarm[k]);
  }
  // Two channels in one sample count as two channel-samples.
  Innovations two = one_channel(6.0, 4.0);  // z^2 = 9
  two.innovation[2] = 3.0;
  two.variance[2] = 1.0;  // z^2 = 9
  two.evaluated[2] = true;
  AnomalyResult r;
  REQUIRE(score.step(two, r) == Status::ok);
  CHECK(r.channels == 2);
  CHECK(r.score == doctest::Approx((9.0 + 0.25 + 18.0) / 4));
  CHECK(r.alarm);
  CHECK(r.alarm_started);
  REQUIRE(score.step(two, r) == Status::ok);
  CHECK(r.alarm);
  CHECK_FALSE(r.alarm_started);  // one event, not one per sample
}

TEST_CASE("white unit innovations: the long-run mean of the score is 1 (chi-square mean)") {
  AnomalyScoreConfig cfg;
  cfg.window_samples = 200;
  AnomalyScore score(cfg);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> n01(0.0, 1.0);
  double mean = 0.0;
  const int steps = 200000;
  for (int k = 0; k < steps; ++k) {
    AnomalyResult r;
    REQUIRE(score.step(one_channel(0.01 * n01(rng), 1e-4), r) == Status::ok);
    mean += r.score / steps;
  }
  // The mean of 200000 chi2(1) samples has sd sqrt(2/200000) = 0.0032; window overlap leaves the mean unbiased.
  CHECK(mean == doctest::Approx(1.0).epsilon(0.015));
}

TEST_CASE("the cap bounds one wild sample; masked and missing channels do not count") {
  AnomalyScoreConfig cfg;
  cfg.window_samples = 2;
  cfg.z2_cap = 50.0;
  cfg.channel_mask = 0x1;
  AnomalyScore score(cfg);
  AnomalyResult r;
  Innovations in = one_channel(1e3, 1.0);
  in.innovation[1] = 5.0;  // channel 1 masked out
  in.variance[1] = 1.0;
  in.evaluated[1] = true;
  REQUIRE(score.step(in, r) == Status::ok);
  CHECK(r.score == doctest::Approx(50.0));
  CHECK(r.channels == 1);
  Innovations none;  // nothing evaluated: the sample fills the window, counts no channel
  REQUIRE(score.step(none, r) == Status::ok);
  CHECK(r.score == doctest::Approx(50.0));
  CHECK(r.window_full);
}

TEST_CASE("refused samples change nothing; bad configuration names the field") {
  AnomalyScore score;
  AnomalyResult r;
  REQUIRE(score.step(one_channel(0.1, 0.01), r) == Status::ok);
  const double before = score.score();
  CHECK(score.step(one_channel(std::numeric_limits<double>::quiet_NaN(), 0.01), r) == Status::non_finite_input);
  CHECK(score.step(one_channel(0.1, 0.0), r) == Status::invalid_argument);
  CHECK(score.score() == before);
  CHECK(score.set_threshold(std::numeric_limits<double>::quiet_NaN()) == Status::non_finite_input);
  CHECK(score.set_threshold(-1.0) == Status::invalid_argument);
  AnomalyScoreConfig cfg;
  cfg.window_samples = kMaxScoreWindow + 1;
  CHECK_THROWS_WITH_AS(AnomalyScore{cfg}, doctest::Contains("AnomalyScoreConfig.window_samples"),
                       std::invalid_argument);
  cfg = {};
  cfg.channel_mask = 0;
  CHECK_THROWS_WITH_AS(AnomalyScore{cfg}, doctest::Contains("channel_mask"), std::invalid_argument);
}

TEST_CASE("step allocates nothing over many windows") {
  AnomalyScoreConfig cfg;
  cfg.window_samples = 600;
  AnomalyScore score(cfg);
  AnomalyResult r;
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 5000; ++k) (void)score.step(one_channel(0.001 * (k % 7), 1e-6), r);
  });
  CHECK(n == 0);
}

TEST_CASE("score_replay: a voltage sensor bias raises the alarm after its onset, never before") {
  // Data from the twin's own model with white sensor noise: the EKF told so (no model error).
  battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{0.8, 0.0, 0.0, 298.15});
  const std::size_t n = 4000, onset = 2500;
  std::vector<double> t(n), i(n), v(n), temp(n);
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0.0, 0.002);
  for (std::size_t k = 0; k < n; ++k) {
    t[k] = static_cast<double>(k);
    i[k] = (k / 200) % 2 == 0 ? 5.0 : 0.5;  // pulses
    double vk = 0.0;
    REQUIRE(plant.step(i[k], 1.0, &vk) == Status::ok);
    v[k] = vk + noise(rng) + (k >= onset ? 0.05 : 0.0);
    temp[k] = plant.state().temp_k;
  }
  estimation::BatteryEkfConfig ec;
  ec.soc0 = 0.8;
  ec.soc_sigma0 = 0.02;
  ec.voltage_model_sigma_v = 0.0;
  estimation::BatteryEkf ekf(ec);
  AnomalyScoreConfig sc;
  sc.window_samples = 60;
  sc.channel_mask = 0x1;
  sc.threshold = 4.0;  // a chi-square(60) mean above 4 is p < 1e-30 for white unit innovations
  AnomalyScore score(sc);
  estimation::ReplayInput in;
  in.t_s = t.data();
  in.current_a = i.data();
  in.voltage_a_v = v.data();
  in.n = n;
  std::vector<double> s(n);
  std::vector<std::uint8_t> alarm(n);
  ScoreReplayOutput out;
  out.score = s.data();
  out.alarm = alarm.data();
  ScoreReplaySummary sum;
  REQUIRE(score_replay(ekf, score, in, out, &sum) == Status::ok);
  REQUIRE(sum.alarm_events >= 1);
  CHECK(sum.first_alarm >= onset);
  CHECK(sum.first_alarm < onset + 60);
  double nominal_mean = 0.0;
  for (std::size_t k = 500; k < onset; ++k) nominal_mean += s[k] / static_cast<double>(onset - 500);
  CHECK(nominal_mean < 2.0);  // nominal innovations are about unit variance
}
