// MPC-FC through the whole control cycle (EKF estimate, CBF filter, supervisor, monitor) on the
// reference plant, beside the MPC alone on the true state (run_charge_loop), and the allocation
// count of the cycle step with the MPC in it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/control/charge_loop.hpp"
#include "safetwin/cycle/control_cycle.hpp"

using namespace safetwin;

namespace {

struct Run {
  double t79_s = -1.0;
  double v_max = 0.0;
  double t_max = 0.0;
  int cbf_modified = 0;
  int refused = 0;
  long allocations = 0;
};

Run mpc_through_cycle() {
  control::BatteryMpc mpc(control::BatteryMpcConfig{});
  cycle::CycleConfig c;
  c.estimator.soc0 = 0.1;
  c.estimator.soc_sigma0 = 0.02;
  c.estimator.voltage_model_sigma_v = 0.0;  // the plant is the estimator's own model
  cycle::ControlCycle cyc(c, &mpc);
  battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{0.1, 0.0, 0.0, 298.15});
  cycle::CycleStatus st;
  Run r;
  double i = 0.0, v = plant.voltage_v(0.0);
  for (int k = 0; k < 3600; ++k) {
    cycle::CycleMeasurements m;
    m.time_s = k;
    m.voltage_a_v = m.voltage_b_v = v;
    m.temperature_k = plant.state().temp_k;
    m.current_a = i;
    r.allocations += test::count_allocations([&] { (void)cyc.step(m, 1.0, st); });
    REQUIRE(st.mode == safety::Mode::normal);
    i = st.command_a;
    r.t_max = std::max(r.t_max, plant.state().temp_k);
    REQUIRE(plant.step(i, 1.0, &v) == Status::ok);
    r.v_max = std::max(r.v_max, v);
    if (st.cbf.modified) ++r.cbf_modified;
    if (st.supervisor.predictive_refused) ++r.refused;
    if (plant.state().soc >= 0.79) {
      r.t79_s = k + 1;
      break;
    }
  }
  return r;
}

}  // namespace

TEST_CASE("MPC-FC through the cycle: limits kept, charge time close to the MPC alone, no allocation") {
  const Run r = mpc_through_cycle();

  control::BatteryMpc alone(control::BatteryMpcConfig{});
  battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{0.1, 0.0, 0.0, 298.15});
  control::ChargeLoopResult ref;
  REQUIRE(control::run_charge_loop(plant, alone, control::ChargeLoopConfig{}, 3600, control::ChargeTrace{}, &ref) ==
          Status::ok);
  REQUIRE(ref.reached);

  MESSAGE("through the cycle: t79 = ", r.t79_s, " s, max V = ", r.v_max, " V, max T = ", r.t_max - 273.15,
          " C, CBF modified ", r.cbf_modified, " steps, predictive refusals ", r.refused,
          "; MPC alone on the true state: t79 = ", ref.time_to_stop_s, " s");
  REQUIRE(r.t79_s > 0.0);
  CHECK(r.v_max <= 4.2 + 0.005);
  CHECK(r.t_max <= 45.0 + 273.15 + 0.1);
  CHECK(r.allocations == 0);
  // The safety layer costs the charge little: the estimate's margins slow it by a few percent.
  CHECK(r.t79_s <= 1.10 * ref.time_to_stop_s);
}
