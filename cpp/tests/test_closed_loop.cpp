// The closed-loop runner (plant + sensors + faults + guarded cycle in one call) against the same
// loop stepped by hand, its noise stream against splitmix64 and the normal law, its fault
// schedules, the zero-current counterfactual, its summary against its own trace, and allocations.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/cycle/closed_loop.hpp"

using namespace safetwin;
using namespace safetwin::cycle;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct Constant final : control::Controller {
  double current_a;
  explicit Constant(double i) : current_a(i) {}
  Status compute(const control::ControllerInput&, control::ControllerOutput& out) noexcept override {
    out.current_a = current_a;
    return Status::ok;
  }
};

// A single cell on ControlCycle: 2 mV / 5 mV voltage nodes, 0.2 K, 20 mA; the twin starts 3 % off.
LoopSpec cell_spec(double duration_s = 120.0) {
  LoopSpec s;
  s.duration_s = duration_s;
  s.dt_s = 1.0;
  s.use_pack_cycle = false;
  s.cycle.series = s.cycle.parallel = 1;
  s.cycle.cell.estimator.soc0 = 0.47;
  s.plant.series = s.plant.parallel = 1;
  s.plant.initial.soc = 0.5;
  s.law.kind = LawKind::constant;
  s.law.current_a = -5.0;
  s.noise = {0.002, 0.005, 0.2, 0.02, true};
  s.seed = 12345;
  return s;
}

// A 4s2p pack with spread on PackCycle.
LoopSpec pack_spec(double duration_s = 120.0) {
  LoopSpec s;
  s.duration_s = duration_s;
  s.cycle.series = s.plant.series = 4;
  s.cycle.parallel = s.plant.parallel = 2;
  s.cycle.cell.estimator.soc0 = 0.3;
  s.plant.initial.soc = 0.3;
  s.plant.spread = {0.03, 0.10, 7};
  s.law.kind = LawKind::constant;
  s.law.current_a = -5.0;
  s.noise = {0.002, 0.010, 0.2, 0.02, true};
  s.seed = 99;
  return s;
}

// splitmix64 as everyone writes it: a state and next().
struct SplitMix64 {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
};

}  // namespace

TEST_CASE("the noise stream is splitmix64 and its normals have mean 0 and variance 1") {
  SplitMix64 ref{0};
  CHECK(ref.next() == 0xE220A8397B1DCDAFull);  // the published first output for seed 0
  SplitMix64 seq{42};
  NoiseStream s(42);
  for (std::uint64_t i = 0; i < 1000; ++i) REQUIRE(s.bits(i) == seq.next());
  // Moments of N(0, 1) from n samples: the mean has sd 1/sqrt(n), the variance sd sqrt(2/n), the
  // fourth moment sd sqrt(96/n); 4 sd bounds fail with probability < 1e-4 each.
  const std::size_t n = 400000;
  double m1 = 0, m2 = 0, m4 = 0;
  std::size_t beyond3 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double z = s.normal(i);
    m1 += z;
    m2 += z * z;
    m4 += z * z * z * z;
    if (std::fabs(z) > 3.0) ++beyond3;
  }
  m1 /= n;
  m2 /= n;
  m4 /= n;
  CHECK(std::fabs(m1) < 4.0 / std::sqrt(double(n)));
  CHECK(std::fabs(m2 - 1.0) < 4.0 * std::sqrt(2.0 / n));
  CHECK(std::fabs(m4 - 3.0) < 4.0 * std::sqrt(96.0 / n));
  // P(|Z| > 3) = 0.0026998: binomial sd sqrt(p(1-p)/n).
  const double p3 = 0.0026997960632601866;
  CHECK(std::fabs(double(beyond3) / n - p3) < 4.0 * std::sqrt(p3 * (1 - p3) / n));
}

TEST_CASE("single cell: the runner equals the same loop stepped by hand, bit for bit") {
  LoopSpec spec = cell_spec();
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);

  // By hand: Pack + ControlCycle + the same law, the same noise numbers, the same order.
  battery::Pack plant(spec.plant);
  plant.set_state(0, {0.5, 0.0, 0.0, battery::kReferenceTempK});
  Constant law(-5.0);
  ControlCycle cyc(spec.cycle.cell, &law);
  NoiseStream z(spec.seed);
  double command = 0.0;
  bool closed = true;
  const std::size_t C = 4;
  for (std::size_t k = 0; k < loop.total_steps(); ++k) {
    const double t = double(k);
    const double applied = closed ? command : 0.0;
    const double temp_k = plant.states()[0].temp_k;
    REQUIRE(plant.step(applied, 1.0) == Status::ok);
    const double v = plant.cell_voltage_v()[0];
    CHECK(loop.trace().cell_voltage_v[k] == v);
    CHECK(loop.trace().cell_temp_k[k] == temp_k);
    CycleMeasurements m;
    m.time_s = t;
    m.voltage_a_v = v + 0.002 * z.normal(k * C + 0);
    m.voltage_b_v = v + 0.005 * z.normal(k * C + 1);
    m.temperature_k = temp_k + 0.2 * z.normal(k * C + 2);
    m.current_a = applied + 0.02 * z.normal(k * C + 3);
    CHECK(loop.trace().voltage_a_v[k] == m.voltage_a_v);
    CHECK(loop.trace().measured_current_a[k] == m.current_a);
    CycleStatus st;
    (void)cyc.step(m, 1.0, st);
    command = st.command_a;
    closed = st.contactor_closed;
    REQUIRE(loop.trace().command_a[k] == command);
    CHECK(loop.trace().mode[k] == static_cast<std::uint8_t>(st.mode));
  }
  CHECK(loop.plant().states()[0].soc == plant.states()[0].soc);
  CHECK(loop.summary().final_mode == cyc.supervisor().mode());
}

TEST_CASE("pack: the runner equals PackCycle stepped by hand with trust and attestation") {
  LoopSpec spec = pack_spec(90.0);
  spec.cycle.trust.enabled = true;
  spec.cycle.trust.nodes = 2;
  const std::size_t n = spec.steps();
  spec.attestation.assign(n * 2, 0);
  for (std::size_t k = 0; k < n; k += 5) {
    spec.attestation[k * 2] = k >= 40 ? 2 : 1;  // node a fails attestation from 40 s on
    spec.attestation[k * 2 + 1] = 1;
  }
  spec.injection_a_v.assign(n * 4, 0.0);
  for (std::size_t k = 40; k < n; ++k) spec.injection_a_v[k * 4 + 1] = 1e-4 * double(k - 40);
  spec.injection_temperature_k.assign(n * 4, 0.0);
  spec.injection_current_a.assign(n, 0.0);
  for (std::size_t k = 0; k < n; ++k) {
    spec.injection_temperature_k[k * 4 + 3] = 0.01 * double(k);
    spec.injection_current_a[k] = k % 2 == 0 ? 0.05 : -0.05;
  }
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);

  battery::Pack plant(spec.plant);
  for (std::size_t j = 0; j < plant.cells(); ++j) plant.set_state(j, {0.3, 0.0, 0.0, battery::kReferenceTempK});
  Constant law(-5.0);
  PackCycle cyc(spec.cycle, {&law, &law, &law, &law});
  NoiseStream z(spec.seed);
  double command = 0.0;
  bool closed = true;
  const std::size_t C = 13;
  std::vector<double> va(4), vb(4), temp(4);
  for (std::size_t k = 0; k < n; ++k) {
    const double applied = closed ? command : 0.0;
    const auto before = plant.states();
    REQUIRE(plant.step(applied, 1.0) == Status::ok);
    for (std::size_t g = 0; g < 4; ++g) {
      const double v = plant.cell_voltage_v()[2 * g];
      va[g] = v + 0.002 * z.normal(k * C + g) + spec.injection_a_v[k * 4 + g];
      vb[g] = v + 0.010 * z.normal(k * C + 4 + g);
      temp[g] = std::max(before[2 * g].temp_k, before[2 * g + 1].temp_k) + 0.2 * z.normal(k * C + 8 + g) +
                spec.injection_temperature_k[k * 4 + g];
    }
    PackMeasurements m;
    m.time_s = double(k);
    m.pack_current_a = applied + 0.02 * z.normal(k * C + 12) + spec.injection_current_a[k];
    m.voltage_a_v = va.data();
    m.voltage_b_v = vb.data();
    m.temperature_k = temp.data();
    m.attestation = reinterpret_cast<const trust::Attestation*>(spec.attestation.data() + 2 * k);
    PackCycleStatus st;
    (void)cyc.step(m, 1.0, st);
    command = st.command_a;
    closed = st.contactor_closed;
    REQUIRE(loop.trace().command_a[k] == command);
    for (std::size_t j = 0; j < 8; ++j) CHECK(loop.trace().cell_current_a[k * 8 + j] == plant.cell_current_a()[j]);
  }
  for (std::size_t j = 0; j < 8; ++j) CHECK(loop.plant().states()[j].soc == plant.states()[j].soc);
  REQUIRE(loop.pack_cycle()->has_trust());
  CHECK(loop.pack_cycle()->trust()->state().trust(0) == cyc.trust()->state().trust(0));
  CHECK(cyc.trust()->state().trust(0) < 0.5);  // the failed attestations were seen
}

TEST_CASE("the summary agrees with the trace it summarises") {
  // An aged plant the twin does not know (R0 doubled, capacity -25 %) under a 2.5C charge: the
  // true cell leaves its voltage limit.
  LoopSpec spec = cell_spec(900.0);
  spec.plant.initial.soc = 0.7;
  spec.cycle.cell.estimator.soc0 = 0.7;
  spec.scaling = {battery::CellScaling{0.75, 2.0, 1.0}};
  spec.law.current_a = -12.875;
  // Only the nominal model's barriers: the measured ones and the learned model error would keep
  // this aged cell inside its limits (test_cycle.cpp), and this test needs a violation to summarise.
  spec.cycle.cell.cbf.measured_limits = false;
  spec.cycle.cell.learn_model_error = false;
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  const auto& tr = loop.trace();
  const auto& lim = loop.plant().params().limits;
  double vmax = -1e9, first_over = kNaN, imax = 0.0, tmax = 0.0, charge_margin = 1e9;
  for (std::size_t k = 0; k < loop.total_steps(); ++k) {
    vmax = std::max(vmax, tr.cell_voltage_v[k]);
    tmax = std::max(tmax, tr.cell_temp_k[k]);
    imax = std::max(imax, std::fabs(tr.cell_current_a[k]));
    charge_margin = std::min(charge_margin, lim.charge_current_max_a + tr.cell_current_a[k]);
    if (std::isnan(first_over) && tr.cell_voltage_v[k] > lim.voltage_max_v) first_over = double(k);
  }
  const LoopSummary& s = loop.summary();
  CHECK(s.steps == 900);
  CHECK(s.min_margin_voltage_max_v == lim.voltage_max_v - vmax);
  CHECK(s.max_voltage_v == vmax);
  CHECK(s.min_margin_temp_max_k == lim.temp_max_k - tmax);
  CHECK(s.max_abs_cell_current_a == imax);
  CHECK(s.min_margin_charge_current_a == charge_margin);
  CHECK(s.max_current_ratio == doctest::Approx(imax / lim.charge_current_max_a).epsilon(1e-15));
  REQUIRE(vmax > lim.voltage_max_v);  // the aged cell did leave the envelope
  CHECK(s.first_violation_voltage_max_s == first_over);
  CHECK(std::isnan(s.first_violation_voltage_min_s));
  CHECK(s.nonfinite_commands == 0);
}

TEST_CASE("the zero-current counterfactual sees the same noise samples") {
  LoopSpec spec = pack_spec(200.0);
  spec.faults.push_back({FaultKind::internal_short, 60.0, 1e9, 3, 0, 1.0 / 2.0});  // 2 ohm short in cell 3
  ClosedLoop base(spec);
  spec.replacement.enabled = true;  // 0 A from the first fault onset, directly on the plant
  ClosedLoop zero(spec);
  REQUIRE(base.run() == Status::ok);
  REQUIRE(zero.run() == Status::ok);
  CHECK(zero.summary().replacement_s == 60.0);
  const auto& a = base.trace();
  const auto& b = zero.trace();
  NoiseStream z(spec.seed);
  for (std::size_t k = 0; k < spec.steps(); ++k) {
    if (k < 60) {  // the runs are one and the same up to the onset
      REQUIRE(a.voltage_a_v[k * 4 + 2] == b.voltage_a_v[k * 4 + 2]);
      REQUIRE(a.command_a[k] == b.command_a[k]);
    } else {
      CHECK(b.applied_current_a[k] == 0.0);
    }
    // The noise in each reading is sigma * the same normal number, whatever the current was:
    // reading - truth differs from it by rounding only (|v| < 5 V: a few ulp of 5 V).
    for (std::size_t g = 0; g < 4; ++g) {
      const double noise = 0.002 * z.normal(k * 13 + g);
      CHECK(std::fabs((a.voltage_a_v[k * 4 + g] - a.cell_voltage_v[k * 8 + 2 * g]) - noise) < 4e-15);
      CHECK(std::fabs((b.voltage_a_v[k * 4 + g] - b.cell_voltage_v[k * 8 + 2 * g]) - noise) < 4e-15);
    }
    CHECK(std::fabs((b.measured_current_a[k] - b.applied_current_a[k]) - 0.02 * z.normal(k * 13 + 12)) < 1e-15);
  }
  CHECK(base.summary().min_margin_voltage_max_v != zero.summary().min_margin_voltage_max_v);
}

TEST_CASE("sensor fault schedules") {
  LoopSpec spec = pack_spec(100.0);
  spec.faults = {
      {FaultKind::voltage_stuck, 20.0, 60.0, 0, 0, kNaN},     // group 0 node a: its reading at 20 s
      {FaultKind::voltage_stuck, 20.0, 1e9, 1, 1, 3.5},       // group 1 node b: 3.5 V
      {FaultKind::voltage_offset, 30.0, 1e9, 2, 0, 0.050},    // group 2 node a: +50 mV
      {FaultKind::voltage_drift, 30.0, 1e9, 3, 1, 0.001},     // group 3 node b: +1 mV/s
      {FaultKind::voltage_noise, 10.0, 1e9, 3, 0, 10.0},      // group 3 node a: noise x 10
      {FaultKind::voltage_dropout, 50.0, 70.0, 2, 1, 1.0},    // group 2 node b: missing 50..70 s
      {FaultKind::temperature_stuck, 40.0, 1e9, 1, 0, kNaN},  // group 1 temperature: its reading at 40 s
      {FaultKind::temperature_offset, 40.0, 1e9, 2, 0, -5.0},
  };
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  const auto& tr = loop.trace();
  NoiseStream z(spec.seed);
  const auto v_true = [&](std::size_t k, std::size_t g) { return tr.cell_voltage_v[k * 8 + 2 * g]; };
  for (std::size_t k = 0; k < 100; ++k) {
    const double t = double(k);
    const double a0 = tr.voltage_a_v[k * 4 + 0];
    if (k >= 20 && k < 60) CHECK(a0 == tr.voltage_a_v[20 * 4 + 0]);
    if (k < 20 || k >= 60) CHECK(a0 == v_true(k, 0) + 0.002 * z.normal(k * 13 + 0));
    if (k >= 20) CHECK(tr.voltage_b_v[k * 4 + 1] == 3.5);
    const double off = k >= 30 ? 0.050 : 0.0;
    CHECK(tr.voltage_a_v[k * 4 + 2] ==
          doctest::Approx(v_true(k, 2) + 0.002 * z.normal(k * 13 + 2) + off).epsilon(1e-14));
    const double drift = k >= 30 ? 0.001 * (t - 30.0) : 0.0;
    CHECK(tr.voltage_b_v[k * 4 + 3] ==
          doctest::Approx(v_true(k, 3) + 0.010 * z.normal(k * 13 + 7) + drift).epsilon(1e-14));
    const double gain = k >= 10 ? 10.0 : 1.0;
    CHECK(tr.voltage_a_v[k * 4 + 3] ==
          doctest::Approx(v_true(k, 3) + gain * 0.002 * z.normal(k * 13 + 3)).epsilon(1e-14));
    CHECK(tr.voltage_b_valid[k * 4 + 2] == ((k >= 50 && k < 70) ? 0 : 1));
    CHECK(tr.voltage_a_valid[k * 4 + 2] == 1);
    if (k >= 40) CHECK(tr.temperature_k[k * 4 + 1] == tr.temperature_k[40 * 4 + 1]);
    const double tg2 = std::max(tr.cell_temp_k[k * 8 + 4], tr.cell_temp_k[k * 8 + 5]);
    CHECK(tr.temperature_k[k * 4 + 2] ==
          doctest::Approx(tg2 + 0.2 * z.normal(k * 13 + 10) + (k >= 40 ? -5.0 : 0.0)).epsilon(1e-14));
  }
  CHECK(loop.summary().first_fault_s == 10.0);
}

TEST_CASE("a NaN reading stops the pack in the step of its onset; the command stays finite") {
  LoopSpec spec = pack_spec(60.0);
  spec.faults.push_back({FaultKind::voltage_nan, 25.0, 1e9, 2, 0, 0.0});
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  CHECK(std::isnan(loop.trace().voltage_a_v[25 * 4 + 2]));
  CHECK(loop.summary().first_safe_stop_s == 25.0);
  CHECK(loop.summary().first_mode_change_after_fault_s == 25.0);
  CHECK(loop.summary().first_detection_s == 25.0);  // the stop on a non-finite reading is its detection
  CHECK(loop.summary().first_detection_invariant == -1);
  CHECK(loop.summary().final_mode == safety::Mode::safe_stop);
  CHECK(loop.summary().nonfinite_commands == 0);
  for (std::size_t k = 26; k < 60; ++k) CHECK(loop.trace().applied_current_a[k] == 0.0);
}

TEST_CASE("a law that returns NaN is counted and never reaches the plant") {
  LoopSpec spec = cell_spec(30.0);
  spec.law.kind = LawKind::non_finite;
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  // The supervisor holds the last command for hold_max_s, then stops; in SAFE_STOP the law is no
  // longer called, so every call up to the stop step returned NaN.
  const double stop_s = loop.summary().first_safe_stop_s;
  REQUIRE(stop_s <= spec.cycle.cell.supervisor.hold_max_s + 1.0);
  CHECK(loop.summary().nonfinite_requests == static_cast<std::size_t>(stop_s) + 1);
  CHECK(loop.summary().nonfinite_commands == 0);
  for (double c : loop.trace().command_a) CHECK(std::isfinite(c));
}

TEST_CASE("plant faults: an internal short drains its cell at rest, cooling loss heats it") {
  LoopSpec spec = pack_spec(600.0);
  spec.plant.spread = {};
  spec.law.current_a = -2.0;
  spec.faults = {{FaultKind::internal_short, 100.0, 1e9, 5, 0, 1.0 / 0.5},  // 0.5 ohm across cell 5
                 {FaultKind::cooling_loss, 100.0, 1e9, 0, 0, 0.0}};
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  const auto& tr = loop.trace();
  // Before the onset cells 4 and 5 (one parallel group, equal cells) are the same.
  CHECK(tr.cell_soc[99 * 8 + 4] == doctest::Approx(tr.cell_soc[99 * 8 + 5]).epsilon(1e-12));
  // After it, the leak (about V / 0.5 ohm = 7 A) discharges cell 5 and, through its terminals,
  // its partner 4: the shorted group's SOC falls below the others'.
  CHECK(tr.cell_soc[599 * 8 + 5] < tr.cell_soc[599 * 8 + 0] - 0.05);
  CHECK(tr.cell_current_a[599 * 8 + 4] > 1.0);   // cell 4 discharges into the short
  CHECK(tr.cell_current_a[599 * 8 + 5] < -1.0);  // which takes it in at cell 5's terminals
  // Cell 0 lost its cooling: hotter than cell 1 of its group, which kept it.
  CHECK(tr.cell_temp_k[599 * 8 + 0] > tr.cell_temp_k[599 * 8 + 1] + 0.1);
}

TEST_CASE("built-in laws: profile, bang-bang and CC-CV") {
  LoopSpec spec = cell_spec(40.0);
  spec.noise = {};
  spec.law.kind = LawKind::profile;
  spec.law.profile_a = {1.0, 2.0, 3.0};
  {
    ClosedLoop loop(spec);
    REQUIRE(loop.run() == Status::ok);
    CHECK(loop.trace().requested_a[0] == 1.0);
    CHECK(loop.trace().requested_a[2] == 3.0);
    CHECK(loop.trace().requested_a[39] == 3.0);
    CHECK(loop.trace().applied_current_a[3] == loop.trace().command_a[2]);
  }
  spec.law.kind = LawKind::bang_bang;
  spec.law.current_a = 4.0;
  spec.law.period_s = 20.0;
  {
    ClosedLoop loop(spec);
    REQUIRE(loop.run() == Status::ok);
    CHECK(loop.trace().requested_a[9] == 4.0);
    CHECK(loop.trace().requested_a[10] == -4.0);
    CHECK(loop.trace().requested_a[20] == 4.0);
  }
  spec.law.kind = LawKind::cccv;
  spec.law.cccv = control::CcCvConfig{5.0, 4.2, 0.25, 0.021};
  {
    ClosedLoop loop(spec);
    REQUIRE(loop.run() == Status::ok);
    CHECK(loop.trace().requested_a[5] == -5.0);  // CC phase at 50 % SOC
  }
}

TEST_CASE("the same spec gives the same run bit for bit") {
  LoopSpec spec = pack_spec(150.0);
  spec.faults.push_back({FaultKind::voltage_dropout, 20.0, 1e9, 1, 0, 0.3});
  ClosedLoop a(spec), b(spec);
  REQUIRE(a.run() == Status::ok);
  REQUIRE(b.run() == Status::ok);
  const auto same = [](const std::vector<double>& x, const std::vector<double>& y) {
    return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(double)) == 0;
  };
  CHECK(same(a.trace().cell_voltage_v, b.trace().cell_voltage_v));
  CHECK(same(a.trace().command_a, b.trace().command_a));
  CHECK(a.trace().voltage_a_valid == b.trace().voltage_a_valid);
  // The dropout draws are uniform: about 30 % of 130 readings missing (binomial sd 5.2).
  std::size_t missing = 0;
  for (std::size_t k = 20; k < 150; ++k) missing += a.trace().voltage_a_valid[k * 4 + 1] == 0 ? 1 : 0;
  CHECK(std::fabs(double(missing) - 39.0) < 4 * 5.23);
}

TEST_CASE("no allocation in the loop, from the first step on") {
  LoopSpec spec = pack_spec(300.0);
  spec.cycle.trust.enabled = true;
  spec.faults = {{FaultKind::voltage_offset, 50.0, 1e9, 1, 0, 0.02},
                 {FaultKind::voltage_stuck, 60.0, 1e9, 2, 1, kNaN},
                 {FaultKind::voltage_dropout, 70.0, 1e9, 3, 0, 0.5},
                 {FaultKind::internal_short, 80.0, 1e9, 4, 0, 0.2},
                 {FaultKind::temperature_stuck, 90.0, 1e9, 0, 0, kNaN}};
  spec.attestation.assign(spec.steps() * 2, 1);
  spec.replacement.enabled = true;
  spec.replacement.direct = false;
  spec.replacement.law.kind = LawKind::constant;
  ClosedLoop loop(spec);
  const long n = test::count_allocations([&] { (void)loop.run(); });
  CHECK(loop.summary().steps == 300);
  CHECK(n == 0);
}

TEST_CASE("the plant-only counterfactuals: no allocation, and the plant fields of whole re-runs at 0 A") {
  LoopSpec spec = pack_spec(300.0);
  spec.faults = {{FaultKind::voltage_offset, 50.0, 1e9, 1, 0, 0.02}, {FaultKind::internal_short, 80.0, 1e9, 4, 0, 0.2}};
  spec.counterfactual.enabled = true;  // forked at 50 s (the first onset), the short applied to the copy at 80 s
  ClosedLoop loop(spec);
  const long n = test::count_allocations([&] { (void)loop.run(); });
  CHECK(n == 0);
  LoopSpec at_onset = spec, from_start = spec;
  at_onset.counterfactual.enabled = from_start.counterfactual.enabled = false;
  at_onset.replacement.enabled = from_start.replacement.enabled = true;
  from_start.replacement.at_first_fault = false;  // time_s = 0
  ClosedLoop a(at_onset), b(from_start);
  REQUIRE(a.run() == Status::ok);
  REQUIRE(b.run() == Status::ok);
  for (const auto& [cf, rerun] : {std::pair{&loop.counterfactual_at_onset(), &a.summary()},
                                  std::pair{&loop.counterfactual_from_start(), &b.summary()}}) {
    CHECK(cf->status == Status::ok);
    CHECK(cf->steps == rerun->steps);
    CHECK(cf->min_margin_voltage_max_v == rerun->min_margin_voltage_max_v);
    CHECK(cf->min_margin_voltage_min_v == rerun->min_margin_voltage_min_v);
    CHECK(cf->min_margin_temp_max_k == rerun->min_margin_temp_max_k);
    CHECK(cf->max_abs_cell_current_a == rerun->max_abs_cell_current_a);
    CHECK(cf->final_soc_min == rerun->final_soc_min);
    CHECK(cf->final_soc_max == rerun->final_soc_max);
  }
  CHECK(loop.summary().final_soc_max != loop.counterfactual_at_onset().final_soc_max);  // a real counterfactual
}

TEST_CASE("allocations only at the onsets of faults that reconfigure the plant through Pack's setters") {
  // Pack::set_cooling_factor, set_scaling and set_state validate their argument with messages built
  // as std::string (battery/pack.cpp): a bounded number of allocations at the onset step of a
  // cooling loss, a connection resistance and a stealthy injection (whose attacker cell starts from
  // the plant's state), none in any other step.
  LoopSpec spec = pack_spec(200.0);
  FaultSpec fdi{FaultKind::stealthy_injection, 100.0, 1e9, 1, 1, -0.1};
  fdi.ramp_s = 50.0;
  spec.faults = {{FaultKind::cooling_loss, 40.0, 1e9, -1, 0, 0.1},
                 {FaultKind::connection_resistance, 70.0, 150.0, 3, 0, 0.01},
                 fdi};
  ClosedLoop loop(spec);
  for (std::size_t k = 0; k < 200; ++k) {
    const long n = test::count_allocations([&] { (void)loop.advance(1); });
    CAPTURE(k);
    if (k == 40 || k == 70 || k == 100 || k == 150) {
      CHECK(n <= 2 * 8);  // at most two strings per cell touched (cooling: every cell)
    } else {
      CHECK(n == 0);
    }
  }
  CHECK(loop.summary().steps == 200);
}

TEST_CASE("a bad spec is refused naming the field; an external law needs one controller per group") {
  LoopSpec spec = pack_spec();
  spec.faults.push_back({FaultKind::voltage_offset, 10.0, 1e9, 7, 0, 0.1});
  CHECK_THROWS_WITH_AS(ClosedLoop{spec}, doctest::Contains("LoopSpec.faults[0].target"), std::invalid_argument);
  spec = pack_spec();
  spec.law.kind = LawKind::controllers;
  CHECK_THROWS_WITH_AS(ClosedLoop{spec}, doctest::Contains("one controller per series group (4)"),
                       std::invalid_argument);
  spec = pack_spec();
  spec.injection_a_v.assign(5, 0.0);
  CHECK_THROWS_WITH_AS(ClosedLoop{spec}, doctest::Contains("LoopSpec.injection_a_v"), std::invalid_argument);
  spec = pack_spec();
  spec.attestation.assign(spec.steps() * 2, 1);
  CHECK_THROWS_WITH_AS(ClosedLoop{spec}, doctest::Contains("no trust"), std::invalid_argument);
  spec = cell_spec();
  spec.plant.series = 2;
  CHECK_THROWS_WITH_AS(ClosedLoop{spec}, doctest::Contains("LoopSpec.plant.series/parallel"), std::invalid_argument);
  spec = cell_spec();
  spec.law.kind = LawKind::profile;
  spec.law.profile_a = {1.0, kNaN};
  CHECK_THROWS_WITH_AS(ClosedLoop{spec}, doctest::Contains("LoopSpec.law.profile_a[1]"), std::invalid_argument);
  // An external controller per group is called through the cycle.
  spec = pack_spec(10.0);
  spec.law.kind = LawKind::controllers;
  Constant c(-1.0);
  ClosedLoop loop(spec, {&c, &c, &c, &c});
  REQUIRE(loop.run() == Status::ok);
  CHECK(loop.trace().requested_a[3] == -1.0);
}

TEST_CASE("detection: the first derate event after the onset names its group and invariant") {
  LoopSpec spec = pack_spec(60.0);
  safety::InvariantSpec hi;
  hi.name = "voltage_a_high";
  hi.signal = "voltage_a_v";
  hi.kind = safety::InvariantKind::range;
  hi.lo = 2.0;
  hi.hi = 4.1;
  hi.severity = safety::Severity::derate;
  spec.cycle.cell.monitor.invariants = {hi};
  spec.faults.push_back({FaultKind::voltage_offset, 30.0, 1e9, 2, 0, 0.6});  // group 2 reads 600 mV high
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  const LoopSummary& s = loop.summary();
  CHECK(s.first_detection_s == 30.0);
  CHECK(s.first_detection_group == 2);
  CHECK(s.first_detection_invariant == 0);
  CHECK(s.first_event_after_fault_s == 30.0);
  CHECK(std::isnan(s.first_event_s) == false);
  CHECK(s.events >= 1);
  CHECK(s.first_mode_change_after_fault_s == 30.0);  // the supervisor derated on it
}

TEST_CASE("a stealthy injection adds the OCV difference of the attacker's phantom SOC offset") {
  LoopSpec spec = pack_spec(200.0);
  spec.noise.voltage_a_v = 0.0;  // node a reads the truth plus the injection
  FaultSpec f{FaultKind::stealthy_injection, 50.0, 1e9, 1, 0, -0.2};
  f.ramp_s = 100.0;
  spec.faults = {f};
  ClosedLoop loop(spec);
  REQUIRE(loop.run() == Status::ok);
  const auto& tr = loop.trace();
  // By hand: the attacker's cell from the true SOC of cell 2 at 50 s, stepped with the true
  // per-cell current (the RC voltages only round the SOC path: compared to 1e-12 V).
  battery::Cell attacker(spec.cycle.cell.estimator.cell,
                         {tr.cell_soc[50 * 8 + 2], 0.0, 0.0, tr.cell_temp_k[50 * 8 + 2]});
  const battery::OcvTable& ocv = spec.cycle.cell.estimator.cell.ocv;
  for (std::size_t k = 0; k < 200; ++k) {
    const double reading = tr.voltage_a_v[k * 4 + 1] - tr.cell_voltage_v[k * 8 + 2];
    if (k < 50) {
      CHECK(reading == 0.0);
      continue;
    }
    const double soc = attacker.state().soc;
    const double delta = -0.2 * std::min((double(k) - 50.0) / 100.0, 1.0);
    REQUIRE(attacker.step(tr.applied_current_a[k] / 2.0, 1.0) == Status::ok);
    CHECK(std::fabs(reading - (ocv.voltage_v(soc + delta) - ocv.voltage_v(soc))) < 1e-12);
  }
  // The phantom SOC 0.2 lower reads as a lower voltage: tens of mV once ramped in.
  CHECK(tr.voltage_a_v[199 * 4 + 1] - tr.cell_voltage_v[199 * 8 + 2] < -0.02);
}
