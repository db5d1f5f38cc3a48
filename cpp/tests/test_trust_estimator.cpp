// EstimatorTrust: trust applied to BatteryEkf / PackEstimator through set_noise_scale, residual
// evidence from the filter's innovations, the trusted replay, and zero allocations for PACK-96.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/pack_estimator.hpp"
#include "safetwin/trust/estimator_trust.hpp"
#include "safetwin/trust/trusted_replay.hpp"

using namespace safetwin;
using namespace safetwin::trust;
using estimation::BatteryEkf;
using estimation::BatteryEkfConfig;
using estimation::Channel;
using estimation::Measurement;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

double current_at(int k) {
  const int phase = (k / 60) % 4;
  return phase == 0 ? 10.0 : phase == 1 ? 0.0 : phase == 2 ? -5.0 : 2.0;
}

BatteryEkfConfig two_node_config() {
  BatteryEkfConfig c;
  c.soc0 = 0.6;
  c.voltage_a_sigma_v = 0.002;
  c.voltage_b_sigma_v = 0.02;
  c.voltage_model_sigma_v = 0.0;  // the data come from the estimator's own model
  return c;
}

// Cell plant with two voltage nodes (a: 2 mV, b: 20 mV) and a temperature sensor.
struct Bench {
  battery::Cell cell{battery::CellParams::ref_cell_1(), battery::CellState{0.6, 0.0, 0.0, 298.15}};
  std::mt19937_64 rng{11};
  std::normal_distribution<double> n01{0.0, 1.0};
  Measurement sample(int k, double& i_meas, double bias_a_v = 0.0) {
    const double i = current_at(k);
    const double temp = cell.state().temp_k;
    double v = 0.0;
    (void)cell.step(i, 1.0, &v);
    Measurement z;
    z.voltage_a_v = v + bias_a_v + 0.002 * n01(rng);
    z.voltage_b_v = v + 0.02 * n01(rng);
    z.temperature_k = temp + 0.2 * n01(rng);
    z.voltage_a_valid = z.voltage_b_valid = z.temperature_valid = true;
    i_meas = i + 0.02 * n01(rng);
    return z;
  }
};
}  // namespace

TEST_CASE("nominal channel variances equal the filter's own: S(s) - S(1) = (s - 1) R_update") {
  BatteryEkfConfig c = two_node_config();
  c.voltage_model_sigma_v = 0.01;  // with model error and its correlation inflation at dt = 1 s
  c.voltage_model_correlation_s = 300.0;
  const EstimatorTrust t(TrustConfig{}, 2, {ChannelNodes{0, 1, 0}}, {c});
  BatteryEkf plain(c);
  Bench b;
  double i = 0.0;
  for (int k = 0; k < 50; ++k) REQUIRE(plain.step(i, b.sample(k, i), 1.0) == Status::ok);
  BatteryEkf scaled = plain;  // same state and covariance: only R differs in the next update
  for (Channel ch : {Channel::voltage_a, Channel::voltage_b, Channel::temperature})
    REQUIRE(scaled.set_noise_scale(ch, 7.0) == Status::ok);
  const Measurement z = b.sample(50, i);
  REQUIRE(plain.step(i, z, 1.0) == Status::ok);
  REQUIRE(scaled.step(i, z, 1.0) == Status::ok);
  for (Channel ch : {Channel::voltage_a, Channel::voltage_b, Channel::temperature}) {
    const double diff = scaled.innovation_variance(ch) - plain.innovation_variance(ch);
    CHECK(diff == doctest::Approx(6.0 * t.update_variance(0, ch, 1.0)).epsilon(1e-9));
  }
  // The per-sample variance is the update variance without the inflation (dt >= correlation).
  CHECK(t.update_variance(0, Channel::voltage_a, 300.0) == t.sample_variance(0, Channel::voltage_a));
  CHECK(t.update_variance(0, Channel::voltage_a, 1.0) ==
        doctest::Approx(t.sample_variance(0, Channel::voltage_a) + 0.01 * 0.01 * 299.0).epsilon(1e-12));
}

TEST_CASE("failed attestation inflates the node's channels within 3 cycles; clean attestation restores them") {
  const BatteryEkfConfig c = two_node_config();
  BatteryEkf ekf(c);
  EstimatorTrust trust(TrustConfig{}, 2, {ChannelNodes{0, 1, 0}}, {c});
  Bench b;
  double i = 0.0;
  std::array<Attestation, 2> att{Attestation::pass, Attestation::pass};
  int k = 0;
  for (; k < 200; ++k) {
    REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
    REQUIRE(ekf.step(i, b.sample(k, i), 1.0) == Status::ok);
  }
  CHECK(ekf.noise_scale(Channel::voltage_a) < 1.001);
  att[0] = Attestation::fail;
  for (int n = 0; n < 3; ++n, ++k) {
    REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
    REQUIRE(ekf.step(i, b.sample(k, i), 1.0) == Status::ok);
  }
  CHECK(trust.state().trust(0) < 0.1);
  CHECK(ekf.noise_scale(Channel::voltage_a) > 10.0);
  CHECK(ekf.noise_scale(Channel::temperature) == ekf.noise_scale(Channel::voltage_a));  // same node
  CHECK(ekf.noise_scale(Channel::voltage_b) < 1.001);
  att[0] = Attestation::pass;
  for (int n = 0; n < 100; ++n, ++k) {
    REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
    REQUIRE(ekf.step(i, b.sample(k, i), 1.0) == Status::ok);
  }
  CHECK(trust.state().trust(0) > 0.99);
  CHECK(ekf.noise_scale(Channel::voltage_a) < 1.01);
}

namespace {
// The residual evidence against the twin's prediction alone (a node without a redundant peer).
TrustConfig twin_residual() {
  TrustConfig t;
  t.cross_node_residual = false;
  return t;
}
}  // namespace

TEST_CASE(
    "residual evidence against the twin: a 20 mV bias with a valid key is caught by the CUSUM, the honest node is "
    "not") {
  const BatteryEkfConfig c = two_node_config();
  BatteryEkf ekf(c);
  EstimatorTrust trust(twin_residual(), 2, {ChannelNodes{0, 1, kNoNode}}, {c});
  Bench b;
  double i = 0.0;
  const std::array<Attestation, 2> att{Attestation::pass, Attestation::pass};
  int alarms_b = 0;
  int first_distrust = -1;
  for (int k = 0; k < 1200; ++k) {
    REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
    if (trust.state().report(1).alarm) ++alarms_b;
    if (first_distrust < 0 && trust.state().distrusted(0)) first_distrust = k;
    REQUIRE(ekf.step(i, b.sample(k, i, k >= 600 ? 0.02 : 0.0), 1.0) == Status::ok);
  }
  MESSAGE("node a distrusted at cycle ", first_distrust, ", node b alarms ", alarms_b);
  CHECK(first_distrust >= 600);
  CHECK(first_distrust < 700);
  CHECK(trust.state().distrusted(0));
  CHECK_FALSE(trust.state().distrusted(1));
}

TEST_CASE("residual is normalised with the nominal variance, not the inflated one") {
  const BatteryEkfConfig c = two_node_config();
  BatteryEkf ekf(c);
  EstimatorTrust trust(twin_residual(), 2, {ChannelNodes{0, 1, kNoNode}}, {c});
  Bench b;
  double i = 0.0;
  std::array<Attestation, 2> att{Attestation::fail, Attestation::pass};
  for (int k = 0; k < 20; ++k) {
    REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
    REQUIRE(ekf.step(i, b.sample(k, i), 1.0) == Status::ok);
  }
  const double s = ekf.noise_scale(Channel::voltage_a);
  REQUIRE(s > 100.0);
  const double expected =
      ekf.innovation(Channel::voltage_a) /
      std::sqrt(ekf.innovation_variance(Channel::voltage_a) - s * trust.update_variance(0, Channel::voltage_a, 1.0) +
                trust.sample_variance(0, Channel::voltage_a));
  REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
  CHECK(trust.node_residual(0) == doctest::Approx(expected).epsilon(1e-12));
}

namespace {
// A wrong twin on an honest two-node cell, or an honest twin with one node biased from t = 600 s;
// both nodes 2 mV; the twin's declared model error model_sigma_v (correlated over 300 s).
struct TwoNodeRun {
  bool distrusted[2] = {false, false};
  int first_distrust[2] = {-1, -1};
};
TwoNodeRun two_node_run(const TrustConfig& tc, bool wrong_twin, double bias_a_v, double model_sigma_v) {
  BatteryEkfConfig c = two_node_config();
  c.voltage_b_sigma_v = 0.002;
  c.voltage_model_sigma_v = model_sigma_v;
  if (wrong_twin) {  // the wrong twin: SOC 5 % off, R0 +15 %, capacity -10 % unknown to it
    c.soc0 = 0.55;
    c.soc_sigma0 = 0.05;
  }
  BatteryEkf ekf(c);
  EstimatorTrust trust(tc, 2, {ChannelNodes{0, 1, kNoNode}}, {c});
  battery::Cell cell{battery::CellParams::ref_cell_1(), battery::CellState{0.6, 0.0, 0.0, 298.15}};
  if (wrong_twin) {
    battery::CellScaling aged;
    aged.r0_factor = 1.15;
    aged.capacity_factor = 0.9;
    cell.pack().set_scaling(0, aged);
  }
  std::mt19937_64 rng{5};
  std::normal_distribution<double> n01{0.0, 1.0};
  const std::array<Attestation, 2> att{Attestation::pass, Attestation::pass};
  TwoNodeRun r;
  for (int k = 0; k < 1800; ++k) {
    REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
    for (int n = 0; n < 2; ++n)
      if (r.first_distrust[n] < 0 && trust.state().distrusted(static_cast<std::size_t>(n))) r.first_distrust[n] = k;
    const double i = current_at(k), temp = cell.state().temp_k;
    double v = 0.0;
    (void)cell.step(i, 1.0, &v);
    Measurement z;
    z.voltage_a_v = v + (k >= 600 ? bias_a_v : 0.0) + 0.002 * n01(rng);
    z.voltage_b_v = v + 0.002 * n01(rng);
    z.temperature_k = temp + 0.2 * n01(rng);
    z.voltage_a_valid = z.voltage_b_valid = z.temperature_valid = true;
    REQUIRE(ekf.step(i + 0.02 * n01(rng), z, 1.0) == Status::ok);
  }
  r.distrusted[0] = trust.state().distrusted(0);
  r.distrusted[1] = trust.state().distrusted(1);
  return r;
}
}  // namespace

TEST_CASE("cross-node residual: a wrong twin distrusts no honest node; a biased node is distrusted, its peer not") {
  // A twin that declares 5 mV of model error while it is off by more (the campaign's case).
  const TwoNodeRun twin_only = two_node_run(twin_residual(), true, 0.0, 0.005);
  const TwoNodeRun cross = two_node_run(TrustConfig{}, true, 0.0, 0.005);
  MESSAGE("wrong twin, honest nodes: against the twin distrusted at ", twin_only.first_distrust[0], " / ",
          twin_only.first_distrust[1], "; cross-node ", cross.first_distrust[0], " / ", cross.first_distrust[1]);
  // The defect the cross-node residual removes: both honest nodes distrusted (a stop) ...
  CHECK((twin_only.first_distrust[0] >= 0 && twin_only.first_distrust[1] >= 0));
  // ... and with it neither is.
  CHECK(cross.first_distrust[0] < 0);
  CHECK(cross.first_distrust[1] < 0);
  // A 30 mV bias on node a from 600 s (15 sigma of the pair's difference): a distrusted, b never.
  const TwoNodeRun biased = two_node_run(TrustConfig{}, false, 0.03, 0.03);
  MESSAGE("30 mV bias on node a: distrusted at ", biased.first_distrust[0], ", node b ", biased.first_distrust[1]);
  CHECK(biased.first_distrust[0] >= 600);
  CHECK(biased.first_distrust[0] < 660);
  CHECK(biased.distrusted[0]);
  CHECK(biased.first_distrust[1] < 0);
}

TEST_CASE("weighting off: trust computed, scales untouched") {
  const BatteryEkfConfig c = two_node_config();
  BatteryEkf ekf(c);
  EstimatorTrust trust(TrustConfig{}, 2, {ChannelNodes{0, 1, kNoNode}}, {c}, false);
  const std::array<Attestation, 2> att{Attestation::fail, Attestation::pass};
  for (int k = 0; k < 5; ++k) REQUIRE(trust.step(att.data(), 2, ekf) == Status::ok);
  CHECK(trust.state().trust(0) < 0.1);
  CHECK(ekf.noise_scale(Channel::voltage_a) == 1.0);
}

TEST_CASE("bad map and bad step refused") {
  const BatteryEkfConfig c = two_node_config();
  CHECK_THROWS_WITH_AS(EstimatorTrust(TrustConfig{}, 2, {ChannelNodes{0, 2, kNoNode}}, {c}),
                       doctest::Contains("map[0].channel 1"), std::invalid_argument);
  CHECK_THROWS_AS(EstimatorTrust(TrustConfig{}, 2, {}, {c}), std::invalid_argument);
  CHECK_THROWS_WITH_AS(EstimatorTrust(TrustConfig{}, 2, {ChannelNodes{}, ChannelNodes{}, ChannelNodes{}}, {c, c}),
                       doctest::Contains("estimator_configs"), std::invalid_argument);
  EstimatorTrust trust(TrustConfig{}, 2, {ChannelNodes{}}, {c});
  BatteryEkf ekf(c);
  std::array<Attestation, 2> att{Attestation::fail, static_cast<Attestation>(9)};
  const double before = trust.state().trust(0);
  CHECK(trust.step(att.data(), 2, ekf) == Status::invalid_argument);
  CHECK(trust.step(att.data(), 1, ekf) == Status::invalid_argument);
  CHECK(trust.state().trust(0) == before);
  estimation::PackEstimator pack(c, 3);
  att[1] = Attestation::pass;
  CHECK(trust.step(att.data(), 2, pack) == Status::invalid_argument);  // map has 1 group, pack 3
}

TEST_CASE("trusted replay equals the step-by-step loop") {
  const BatteryEkfConfig c = two_node_config();
  Bench b;
  const int n = 300;
  std::vector<double> t(n), i(n), va(n), vb(n), temp(n);
  std::vector<std::uint8_t> att(2 * n);
  for (int k = 0; k < n; ++k) {
    const Measurement z = b.sample(k, i[k], k > 150 ? 0.03 : 0.0);
    t[k] = k;
    va[k] = k == 40 ? kNan : z.voltage_a_v;
    vb[k] = z.voltage_b_v;
    temp[k] = z.temperature_k;
    att[2 * k] =
        static_cast<std::uint8_t>(k > 150 ? Attestation::fail : (k % 5 ? Attestation::none : Attestation::pass));
    att[2 * k + 1] = static_cast<std::uint8_t>(Attestation::pass);
  }
  BatteryEkf e1(c), e2(c);
  EstimatorTrust t1(TrustConfig{}, 2, {ChannelNodes{0, 1, 0}}, {c}), t2(TrustConfig{}, 2, {ChannelNodes{0, 1, 0}}, {c});
  std::vector<double> soc(n), trust(2 * n);
  TrustedReplayInput in{t.data(), i.data(), va.data(), vb.data(), temp.data(), att.data(), static_cast<std::size_t>(n)};
  TrustedReplayOutput out;
  out.soc = soc.data();
  out.trust = trust.data();
  REQUIRE(trusted_replay(e1, t1, in, out) == Status::ok);
  for (int k = 0; k < n; ++k) {
    REQUIRE(t2.step(reinterpret_cast<const Attestation*>(&att[2 * k]), 2, e2) == Status::ok);
    Measurement z;
    z.voltage_a_v = va[k];
    z.voltage_a_valid = std::isfinite(va[k]);
    z.voltage_b_v = vb[k];
    z.voltage_b_valid = true;
    z.temperature_k = temp[k];
    z.temperature_valid = true;
    REQUIRE(e2.step(i[k], z, 1.0) == Status::ok);
    CHECK(soc[k] == e2.soc());
    CHECK(trust[2 * k] == t2.state().trust(0));
  }
  CHECK(trust[2 * (n - 1)] < 1e-3);
  // Refusals: times not increasing, unknown verdict code.
  t[10] = t[9];
  CHECK(trusted_replay(e1, t1, in, out) == Status::invalid_argument);
  t[10] = 10;
  att[7] = 8;  // first code past timeout = 7
  CHECK(trusted_replay(e1, t1, in, out) == Status::invalid_argument);
}

TEST_CASE("PACK-96 trust cycle + estimator step allocate nothing") {
  const BatteryEkfConfig c = two_node_config();
  constexpr std::size_t cells = 96, cmus = 8;  // 8 cell-monitoring nodes of 12 cells + 1 pack node
  estimation::PackEstimator est(c, cells);
  std::vector<ChannelNodes> map(cells);
  for (std::size_t g = 0; g < cells; ++g)
    map[g] = ChannelNodes{static_cast<int>(g / 12), static_cast<int>(cmus), static_cast<int>(g / 12)};
  EstimatorTrust trust(TrustConfig{}, cmus + 1, map, {c});
  std::vector<double> va(cells), vb(cells), temp(cells);
  std::array<Attestation, cmus + 1> att{};
  Bench b;  // one plant cell stands for every cell: each cell has its own sensor noise
  double current = 0.0;
  const long allocs = test::count_allocations([&] {
    for (int k = 0; k < 2000; ++k) {
      for (std::size_t n = 0; n <= cmus; ++n) att[n] = (k + n) % 10 == 0 ? Attestation::pass : Attestation::none;
      if (k > 1000) att[3] = Attestation::fail;
      REQUIRE(trust.step(att.data(), cmus + 1, est) == Status::ok);
      const double i_true = current_at(k);
      const double temp_true = b.cell.state().temp_k;
      double v = 0.0;
      REQUIRE(b.cell.step(i_true, 1.0, &v) == Status::ok);
      current = i_true + 0.02 * b.n01(b.rng);
      for (std::size_t g = 0; g < cells; ++g) {
        va[g] = v + 0.002 * b.n01(b.rng);
        vb[g] = v + 0.02 * b.n01(b.rng);
        temp[g] = temp_true + 0.2 * b.n01(b.rng);
      }
      REQUIRE(est.step(&current, 1, va.data(), vb.data(), temp.data(), cells, 1.0) == Status::ok);
    }
  });
  CHECK(allocs == 0);
  CHECK(trust.state().distrusted_mask() == (1U << 3));  // only the failing node
  CHECK(est.group(3 * 12).noise_scale(Channel::voltage_a) > 100.0);
  CHECK(est.group(2 * 12).noise_scale(Channel::voltage_a) < 1.01);
}
