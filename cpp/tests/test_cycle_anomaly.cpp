// The control cycle's anomaly alarm: the score the cycle writes to its monitor against an
// AnomalyScore stepped beside it on the cycle's own estimator, the event and the derate it raises
// when a fault moves both voltage nodes alike (a battery fault, which the plausibility check cannot
// see), none on the nominal plant, and no allocation on the step.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <random>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/diagnostics/score_replay.hpp"

using namespace safetwin;
using namespace safetwin::cycle;

namespace {

struct Constant final : control::Controller {
  double current_a;
  explicit Constant(double i) : current_a(i) {}
  Status compute(const control::ControllerInput&, control::ControllerOutput& out) noexcept override {
    out.current_a = current_a;
    return Status::ok;
  }
};

constexpr double kSigmaV = 0.002;
constexpr std::size_t kWindow = 60;
// The plant is the estimator's own model with the estimator's noise: every whitened innovation is
// about N(0, 1), so the window mean of z^2 over 60 samples x 3 channels has mean 1 and standard
// deviation sqrt(2 / 180) = 0.11; a threshold of 3 lies 18 of them above (no nominal alarm).
constexpr double kThreshold = 3.0;

CycleConfig config() {
  CycleConfig c;
  c.estimator.soc0 = 0.6;
  c.estimator.soc_sigma0 = 0.01;
  c.estimator.voltage_a_sigma_v = c.estimator.voltage_b_sigma_v = kSigmaV;
  c.estimator.voltage_model_sigma_v = 0.0;  // the plant is the estimator's own model
  c.anomaly.enabled = true;
  c.anomaly.score.window_samples = kWindow;
  c.anomaly.score.threshold = kThreshold;
  return c;
}

struct Run {
  double first_event_s = -1.0;
  double first_derate_s = -1.0;
  double max_abs_signal_error = 0.0;
  double max_score_before = 0.0;
};

// Runs 1200 s at 1 A discharge; from fault_s on both nodes read offset_v high (a battery-side
// voltage error: both nodes move alike).
Run run(double fault_s, double offset_v, std::size_t* allocs = nullptr) {
  const CycleConfig cfg = config();
  battery::Cell plant(cfg.estimator.cell, battery::CellState{0.6, 0.0, 0.0, cfg.estimator.temp0_k});
  Constant law(1.0);
  ControlCycle cyc(cfg, &law);
  diagnostics::AnomalyScore beside(cfg.anomaly.score);  // the reference, stepped on the same estimator
  const int sig = cyc.signal_index("anomaly_score");
  const int inv = cyc.monitor().invariant_index("diagnostics.anomaly_score");
  REQUIRE(sig >= 0);
  REQUIRE(inv >= 0);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> nv(0.0, kSigmaV), nt(0.0, cfg.estimator.temperature_sigma_k);
  CycleStatus st;
  double i = 0.0;
  Run r;
  const long allocations = safetwin::test::count_allocations([&] {
    for (int k = 1; k <= 1200; ++k) {
      const double t = k;
      (void)plant.step(i, 1.0);
      const double v = plant.voltage_v(i) + (t >= fault_s ? offset_v : 0.0);
      CycleMeasurements m;
      m.time_s = t;
      m.voltage_a_v = v + nv(rng);
      m.voltage_b_v = v + nv(rng);
      m.temperature_k = plant.state().temp_k + nt(rng);
      m.current_a = i;
      (void)cyc.step(m, 1.0, st);
      diagnostics::AnomalyResult ref;
      REQUIRE(beside.step(diagnostics::innovations_of(cyc.estimator(), 1.0), ref) == Status::ok);
      const double expected = ref.window_full ? ref.score : 0.0;
      // The monitor's last checked value of the invariant is the signal the cycle wrote.
      r.max_abs_signal_error = std::max(r.max_abs_signal_error, std::abs(cyc.monitor().last_value(inv) - expected));
      if (t < fault_s) r.max_score_before = std::max(r.max_score_before, expected);
      if (r.first_event_s < 0 && cyc.monitor().active(inv)) r.first_event_s = t;
      if (r.first_derate_s < 0 && st.mode == safety::Mode::derated) r.first_derate_s = t;
      i = st.command_a;
    }
  });
  if (allocs != nullptr) *allocs = static_cast<std::size_t>(allocations);
  return r;
}

}  // namespace

TEST_CASE("the cycle writes the anomaly score of its own estimator to the monitor") {
  const Run r = run(1e9, 0.0);
  CHECK(r.max_abs_signal_error == 0.0);  // bit for bit: the same computation on the same innovations
  CHECK(r.max_score_before < kThreshold);
  CHECK(r.first_event_s < 0.0);  // nominal: no alarm, no derate
  CHECK(r.first_derate_s < 0.0);
}

TEST_CASE("a 30 mV error on both nodes raises the anomaly event and derates within one window") {
  // z of the first faulty sample is about 0.03 / sqrt(2 mV^2 + P) ~ 15, z^2 ~ 200 capped at 100:
  // a few such samples lift the 60-sample mean above 3 long before the window has turned over.
  const double fault_s = 600.0;
  const Run r = run(fault_s, 0.030);
  CHECK(r.max_abs_signal_error == 0.0);
  CHECK(r.max_score_before < kThreshold);
  REQUIRE(r.first_event_s >= fault_s);
  CHECK(r.first_event_s <= fault_s + kWindow);
  CHECK(r.first_derate_s == r.first_event_s);  // severity derate: the supervisor follows the event
}

TEST_CASE("the anomaly alarm allocates nothing on the step path") {
  std::size_t allocs = 1;
  (void)run(600.0, 0.030, &allocs);
  // Construction happens before the count starts; the loop (cycle, plant, reference score) is counted.
  CHECK(allocs == 0);
}

TEST_CASE("a bad anomaly configuration is refused naming the field") {
  CycleConfig c = config();
  c.anomaly.clear_fraction = 1.5;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("AnomalyAlarmConfig.clear_fraction"), std::invalid_argument);
  c = config();
  c.anomaly.score.window_samples = 0;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("AnomalyScoreConfig.window_samples"), std::invalid_argument);
}
