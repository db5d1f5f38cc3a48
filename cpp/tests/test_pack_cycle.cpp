// The pack cycle (one ControlCycle per series group, the most conservative command applied) in
// closed loop on a 4s2p plant with cell-to-cell spread.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/cycle/pack_cycle.hpp"

using namespace safetwin;
using namespace safetwin::cycle;

namespace {

struct Constant final : control::Controller {
  double current_a;
  explicit Constant(double i) : current_a(i) {}
  Status compute(const control::ControllerInput&, control::ControllerOutput& out) noexcept override {
    out.current_a = current_a;  // ignores every limit on purpose
    return Status::ok;
  }
};

struct Bench {
  battery::Pack plant;
  std::vector<double> va, vb, temp;
  explicit Bench(double soc0, double r0_spread = 0.10)
      : plant([&] {
          battery::PackConfig c;
          c.series = 4;
          c.parallel = 2;
          c.spread = {0.03, r0_spread, 11};
          c.initial = {soc0, 0.0, 0.0, 298.15};
          return c;
        }()),
        va(4),
        vb(4),
        temp(4) {}
  // The sample of the interval just stepped: group voltages and the hottest cell of each group.
  PackMeasurements sample(double t, double i) {
    for (std::size_t g = 0; g < 4; ++g) {
      va[g] = vb[g] = plant.cell_voltage_v()[2 * g];
      temp[g] = std::max(plant.states()[2 * g].temp_k, plant.states()[2 * g + 1].temp_k);
    }
    PackMeasurements m;
    m.time_s = t;
    m.pack_current_a = i;
    m.voltage_a_v = va.data();
    m.voltage_b_v = vb.data();
    m.temperature_k = temp.data();
    return m;
  }
};

PackCycleConfig config(double soc0) {
  PackCycleConfig c;
  c.series = 4;
  c.parallel = 2;
  c.cell.estimator.soc0 = soc0;
  c.cell.estimator.soc_sigma0 = 0.05;
  return c;
}

}  // namespace

TEST_CASE("an always-max-charge law per group: every cell of the pack stays inside V and T limits") {
  Bench bench(0.6);
  std::vector<Constant> laws(4, Constant(-15.0));
  std::vector<control::Controller*> ptrs;
  for (auto& l : laws) ptrs.push_back(&l);
  PackCycle pc(config(0.6), ptrs);
  PackCycleStatus st;
  double i = 0.0, v_max = 0.0, t_max = 0.0;
  REQUIRE(bench.plant.step(0.0, 1.0) == Status::ok);
  for (int k = 0; k < 2500; ++k) {
    (void)pc.step(bench.sample(k, i), 1.0, st);
    REQUIRE(st.mode == safety::Mode::normal);
    i = st.command_a;
    // The applied command is the group command closest to zero, times the parallel count.
    double closest = -1e9;  // every group charges here, so the one closest to zero is the largest
    for (std::size_t g = 0; g < 4; ++g) closest = std::max(closest, pc.group_status(g).command_a);
    CHECK(i == doctest::Approx(2.0 * closest).epsilon(1e-12));
    REQUIRE(bench.plant.step(i, 1.0) == Status::ok);
    for (std::size_t j = 0; j < 8; ++j) {
      v_max = std::max(v_max, bench.plant.cell_voltage_v()[j]);
      t_max = std::max(t_max, bench.plant.states()[j].temp_k);
    }
  }
  MESSAGE("max V = ", v_max, " V, max T = ", t_max - 273.15, " C");
  CHECK(v_max <= 4.2 + 0.005);
  CHECK(t_max <= 45.0 + 273.15 + 0.1);
  CHECK(bench.plant.states()[0].soc > 0.85);  // it did charge
}

TEST_CASE("parallel groups: the worst cell's Kirchhoff share bounds the released current; no cell over its limit") {
  CHECK(worst_cell_current_share(1, 0.3) == doctest::Approx(1.0));
  CHECK(worst_cell_current_share(2, 0.3) == doctest::Approx(1.3));              // (1 + s) / 2 of the group, x2
  CHECK(worst_cell_current_share(4, 0.2) == doctest::Approx(4.0 * 1.2 / 3.6));  // 1 at 0.8 R beside 3 at 1.2 R
  CHECK(worst_cell_current_share(2, 0.0) == doctest::Approx(1.0));
  // 4s2p with 30 % R0 spread (uniform in [0.7, 1.3] per cell), every group's law asking for the
  // charge limit: with the even split assumed, the low-resistance cell of a group carries more than
  // 15 A; with the configured spread none does.
  double worst[2] = {0.0, 0.0};
  for (int run = 0; run < 2; ++run) {
    Bench bench(0.3, 0.30);
    std::vector<Constant> laws(4, Constant(-15.0));
    std::vector<control::Controller*> ptrs;
    for (auto& l : laws) ptrs.push_back(&l);
    PackCycleConfig c = config(0.3);
    c.parallel_resistance_spread = run == 0 ? 0.0 : 0.3;
    PackCycle pc(c, ptrs);
    CHECK(pc.group(0).config().current_share == doctest::Approx(run == 0 ? 1.0 : 1.3));
    PackCycleStatus st;
    double i = 0.0;
    REQUIRE(bench.plant.step(0.0, 1.0) == Status::ok);
    for (int k = 0; k < 600; ++k) {
      (void)pc.step(bench.sample(k, i), 1.0, st);
      i = st.command_a;
      REQUIRE(bench.plant.step(i, 1.0) == Status::ok);
      for (std::size_t j = 0; j < 8; ++j) worst[run] = std::max(worst[run], -bench.plant.cell_current_a()[j]);
    }
  }
  MESSAGE("largest cell charge current: even split assumed ", worst[0], " A, 30 % spread configured ", worst[1], " A");
  CHECK(worst[0] > 15.5);
  CHECK(worst[1] <= 15.0 + 1e-9);
  CHECK(worst[1] > 13.0);  // the bound is the worst cell's, not a blanket derating
}

TEST_CASE("fault-free run, wrong twin (SOC -5 %, R0 +15 %, capacity -10 %), safe law, trust on: no stop") {
  // The false stops: both honest nodes got the same innovation from the wrong twin, both
  // change detectors fired, both nodes were distrusted, "no trusted voltage node" stopped the pack.
  int stops[2] = {0, 0};
  double min_trust[2] = {1.0, 1.0};
  for (int run = 0; run < 2; ++run) {
    battery::PackConfig pcfg;
    pcfg.series = 4;
    pcfg.parallel = 2;
    pcfg.spread = {0.03, 0.10, 11};
    pcfg.initial = {0.3, 0.0, 0.0, 298.15};
    battery::Pack plant(pcfg);
    for (std::size_t j = 0; j < plant.cells(); ++j) {
      battery::CellScaling s = plant.scaling()[j];
      s.r0_factor *= 1.15;
      s.capacity_factor *= 0.9;
      plant.set_scaling(j, s);
    }
    PackCycleConfig c = config(0.25);
    c.cell.estimator.voltage_a_sigma_v = 0.002;
    c.cell.estimator.voltage_b_sigma_v = 0.010;
    c.cell.estimator.voltage_model_sigma_v = 0.005;  // a twin that claims to be better than it is
    c.cell.monitor.signals = {"trust_0", "trust_1", "trusted_voltage_nodes"};
    safety::InvariantSpec none;
    none.name = "trust.voltage_nodes";
    none.signal = "trusted_voltage_nodes";
    none.lo = 0.5;
    none.severity = safety::Severity::stop;
    c.cell.monitor.invariants.push_back(none);
    c.trust.enabled = true;
    c.trust.nodes = 2;
    c.trust.config.cross_node_residual = run == 1;
    std::vector<Constant> laws(4, Constant(-5.0));  // a moderate charge, 0.5C per cell per group
    std::vector<control::Controller*> ptrs;
    for (auto& l : laws) ptrs.push_back(&l);
    PackCycle pc(c, ptrs);
    std::mt19937_64 rng(3);
    std::normal_distribution<double> n01(0.0, 1.0);
    std::vector<double> va(4), vb(4), temp(4);
    const std::vector<trust::Attestation> att(2, trust::Attestation::pass);
    PackCycleStatus st;
    double i = 0.0;
    REQUIRE(plant.step(0.0, 1.0) == Status::ok);
    for (int k = 0; k < 1800; ++k) {
      for (std::size_t g = 0; g < 4; ++g) {
        const double v = plant.cell_voltage_v()[2 * g];
        va[g] = v + 0.002 * n01(rng);
        vb[g] = v + 0.010 * n01(rng);
        temp[g] = std::max(plant.states()[2 * g].temp_k, plant.states()[2 * g + 1].temp_k) + 0.2 * n01(rng);
      }
      PackMeasurements m;
      m.time_s = k;
      m.pack_current_a = i + 0.02 * n01(rng);
      m.voltage_a_v = va.data();
      m.voltage_b_v = vb.data();
      m.temperature_k = temp.data();
      m.attestation = k % 5 == 0 ? att.data() : nullptr;
      (void)pc.step(m, 1.0, st);
      if (st.mode == safety::Mode::safe_stop) ++stops[run];
      for (std::size_t n = 0; n < 2; ++n) min_trust[run] = std::min(min_trust[run], pc.trust()->state().trust(n));
      i = st.command_a;
      REQUIRE(plant.step(i, 1.0) == Status::ok);
    }
  }
  MESSAGE("steps in SAFE_STOP: residual against the twin ", stops[0], ", cross-node ", stops[1], "; lowest trust ",
          min_trust[0], " / ", min_trust[1]);
  CHECK(stops[0] > 0);   // the defect, reproduced
  CHECK(stops[1] == 0);  // and gone
  CHECK(min_trust[1] > 0.5);
}

TEST_CASE("groups that disagree in sign get zero; a NaN in one group stops the pack in the same cycle") {
  Bench bench(0.5);
  Constant charge(-2.0), discharge(3.0);
  PackCycle pc(config(0.5), {&charge, &charge, &discharge, &charge});
  PackCycleStatus st;
  REQUIRE(bench.plant.step(0.0, 1.0) == Status::ok);
  REQUIRE(pc.step(bench.sample(0, 0.0), 1.0, st) == Status::ok);
  CHECK(st.command_a == 0.0);
  CHECK(st.limiting_group == -1);
  CHECK(st.contactor_closed);

  PackCycle pc2(config(0.5), {&charge, &charge, &charge, &charge});
  REQUIRE(pc2.step(bench.sample(0, 0.0), 1.0, st) == Status::ok);
  CHECK(st.command_a == doctest::Approx(-4.0));
  auto m = bench.sample(1, -4.0);
  bench.va[2] = std::numeric_limits<double>::quiet_NaN();
  CHECK(pc2.step(m, 1.0, st) == Status::non_finite_input);
  CHECK(st.mode == safety::Mode::safe_stop);
  CHECK(st.command_a == 0.0);
  CHECK_FALSE(st.contactor_closed);
  CHECK(pc2.group_status(2).mode == safety::Mode::safe_stop);
}

TEST_CASE("bad configuration and missing arrays are refused") {
  Constant law(-1.0);
  CHECK_THROWS_WITH_AS(PackCycle(config(0.5), {&law}), doctest::Contains("PackCycle.controllers"),
                       std::invalid_argument);
  PackCycleConfig c = config(0.5);
  c.parallel = 0;
  CHECK_THROWS_WITH_AS(PackCycle(c, {&law, &law, &law, &law}), doctest::Contains("PackCycleConfig.parallel"),
                       std::invalid_argument);
  PackCycle pc(config(0.5), {&law, &law, &law, &law});
  PackCycleStatus st;
  CHECK(pc.step(PackMeasurements{}, 1.0, st) == Status::invalid_argument);
}

TEST_CASE("the pack cycle step allocates nothing") {
  Bench bench(0.5);
  Constant law(-10.0);
  PackCycle pc(config(0.5), {&law, &law, &law, &law});
  PackCycleStatus st;
  double i = 0.0;
  (void)bench.plant.step(0.0, 1.0);
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 3000; ++k) {
      (void)pc.step(bench.sample(k, i), 1.0, st);
      i = st.command_a;
      (void)bench.plant.step(i, 1.0);
    }
  });
  CHECK(n == 0);
}

TEST_CASE("trust: a node failing attestation is distrusted within 3 cycles, its channels inflated, the monitor told") {
  Bench bench(0.5);
  Constant law(-5.0);
  PackCycleConfig c = config(0.5);
  c.trust.enabled = true;
  c.trust.nodes = 2;  // node 0 feeds voltage_a, node 1 voltage_b of every group (the default map)
  c.cell.monitor.signals = {"trust_0", "trust_1", "trusted_voltage_nodes"};
  safety::InvariantSpec distrusted{"node0_distrusted", "trust_0", safety::InvariantKind::range, 0.1};
  distrusted.severity = safety::Severity::derate;
  safety::InvariantSpec none_left{"no_trusted_voltage_node", "trusted_voltage_nodes", safety::InvariantKind::range,
                                  0.5};
  none_left.severity = safety::Severity::stop;
  c.cell.monitor.invariants = {distrusted, none_left};
  PackCycle pc(c, {&law, &law, &law, &law});
  PackCycleStatus st;
  double i = 0.0;
  (void)bench.plant.step(0.0, 1.0);
  const trust::Attestation pass[2] = {trust::Attestation::pass, trust::Attestation::pass};
  const trust::Attestation fail0[2] = {trust::Attestation::fail, trust::Attestation::pass};
  for (int k = 0; k < 20; ++k) {
    auto m = bench.sample(k, i);
    m.attestation = pass;
    REQUIRE(pc.step(m, 1.0, st) == Status::ok);
    i = st.command_a;
    (void)bench.plant.step(i, 1.0);
  }
  CHECK(pc.trust()->state().trust(0) > 0.9);
  CHECK(st.mode == safety::Mode::normal);
  for (int k = 20; k < 23; ++k) {
    auto m = bench.sample(k, i);
    m.attestation = fail0;
    (void)pc.step(m, 1.0, st);
    i = st.command_a;
    (void)bench.plant.step(i, 1.0);
  }
  CHECK(pc.trust()->state().trust(0) < 0.1);
  CHECK(pc.trust()->state().trust(1) > 0.9);
  // s = 1 / trust on node 0's channel in every group, node 1's channel untouched
  for (std::size_t g = 0; g < 4; ++g) {
    CHECK(pc.group(g).estimator().noise_scale(estimation::Channel::voltage_a) ==
          doctest::Approx(1.0 / std::max(pc.trust()->state().trust(0), 1e-6)));
    CHECK(pc.group(g).estimator().noise_scale(estimation::Channel::voltage_b) ==
          doctest::Approx(1.0 / pc.trust()->state().trust(1)));
  }
  CHECK(st.mode == safety::Mode::derated);  // the trust event, severity derate
  // both voltage nodes failing: none trusted is a stop
  const trust::Attestation fail_both[2] = {trust::Attestation::fail, trust::Attestation::fail};
  for (int k = 23; k < 27; ++k) {
    auto m = bench.sample(k, i);
    m.attestation = fail_both;
    (void)pc.step(m, 1.0, st);
    i = st.command_a;
    (void)bench.plant.step(i, 1.0);
  }
  CHECK(st.mode == safety::Mode::safe_stop);
  CHECK(st.command_a == 0.0);
}

TEST_CASE("trust: trust_voltage_a is the trust of each group's own voltage node, so only its groups raise") {
  // Groups 0, 1 read their voltage from node 0, groups 2, 3 from node 1 (no redundant channel):
  // node 1 failing attestation sets the invariant over "trust_voltage_a" in groups 2 and 3 only.
  Bench bench(0.5);
  Constant law(-5.0);
  PackCycleConfig c = config(0.5);
  c.trust.enabled = true;
  c.trust.nodes = 2;
  c.trust.channels = {{0, trust::kNoNode, trust::kNoNode},
                      {0, trust::kNoNode, trust::kNoNode},
                      {1, trust::kNoNode, trust::kNoNode},
                      {1, trust::kNoNode, trust::kNoNode}};
  c.cell.monitor.signals = {"trust_voltage_a"};
  safety::InvariantSpec own{"own_node_distrusted", "trust_voltage_a", safety::InvariantKind::range, 0.1};
  own.severity = safety::Severity::derate;
  c.cell.monitor.invariants = {own};
  PackCycle pc(c, {&law, &law, &law, &law});
  PackCycleStatus st;
  double i = 0.0;
  (void)bench.plant.step(0.0, 1.0);
  const trust::Attestation fail1[2] = {trust::Attestation::pass, trust::Attestation::fail};
  for (int k = 0; k < 6; ++k) {
    auto m = bench.sample(k, i);
    m.attestation = fail1;
    (void)pc.step(m, 1.0, st);
    i = st.command_a;
    (void)bench.plant.step(i, 1.0);
  }
  const trust::TrustState& ts = pc.trust()->state();
  CHECK(ts.trust(0) > 0.9);
  CHECK(ts.trust(1) < 0.1);
  for (std::size_t g = 0; g < 4; ++g) CHECK(pc.group(g).monitor().active(0) == (g >= 2));
  CHECK(st.mode == safety::Mode::derated);
}
