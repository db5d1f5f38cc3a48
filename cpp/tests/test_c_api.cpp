// The C ABI (safetwin_c.h) against the C++ API on the same inputs: every result must be the C++
// result bit for bit (the ABI only copies), a refused construction must return the C++ exception's
// message with a NULL handle, and the step functions must allocate nothing from the first step.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin_c.h"

using namespace safetwin;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The ABI promises the C numbers of safetwin::Status (checked by name in the first test case).
safetwin_status_t as_c(Status s) { return static_cast<safetwin_status_t>(static_cast<int>(s)); }

// A current profile with steps, rests and both signs (A), one value per second.
double profile_a(int k) {
  const int phase = (k / 120) % 4;
  return phase == 0 ? 5.0 : phase == 1 ? 0.0 : phase == 2 ? -3.0 : 12.0;
}

std::string cpp_message(const battery::CellParams& p) {
  try {
    battery::Cell cell(p);
  } catch (const std::invalid_argument& e) { return e.what(); }
  return "";
}

// The same law on both sides: charge at 8 A (a C callback and a C++ Controller).
int c_law(void* user, const safetwin_controller_input_t* in, double* current_a) {
  ++*static_cast<int*>(user);
  *current_a = in->current_min_a > -8.0 ? in->current_min_a : -8.0;
  return SAFETWIN_OK;
}
struct CppLaw final : control::Controller {
  Status compute(const control::ControllerInput& in, control::ControllerOutput& out) noexcept override {
    out.current_a = in.current_min_a > -8.0 ? in.current_min_a : -8.0;
    return Status::ok;
  }
};
int refusing_law(void*, const safetwin_controller_input_t*, double*) { return SAFETWIN_INVALID_ARGUMENT; }

}  // namespace

TEST_CASE("defaults are the C++ defaults") {
  safetwin_cell_params_t c;
  safetwin_cell_params_default(&c);
  const battery::CellParams p = battery::CellParams::ref_cell_1();
  CHECK(c.capacity_ah == p.capacity_ah);
  CHECK(c.r0_ohm == p.r0_ohm.at(0.5, battery::kReferenceTempK));
  CHECK(c.c2_f == p.c2_f.at(0.5, battery::kReferenceTempK));
  CHECK(c.voltage_max_v == p.limits.voltage_max_v);
  CHECK(c.temp_max_k == p.limits.temp_max_k);
  CHECK(c.charge_current_max_a == p.limits.charge_current_max_a);
  safetwin_ekf_config_t e;
  safetwin_ekf_config_default(&e);
  const estimation::BatteryEkfConfig ec;
  CHECK(e.soc0 == ec.soc0);
  CHECK(e.voltage_model_sigma_v == ec.voltage_model_sigma_v);
  CHECK(e.gate_reset_after == ec.gate_reset_after);
  for (int s = 0; s <= static_cast<int>(Status::numerical_error); ++s)
    CHECK(std::string(safetwin_status_string(as_c(static_cast<Status>(s)))) == to_string(static_cast<Status>(s)));
  CHECK(SAFETWIN_NON_FINITE_INPUT == static_cast<int>(Status::non_finite_input));
  CHECK(SAFETWIN_NUMERICAL_ERROR == static_cast<int>(Status::numerical_error));
  for (int s = 8; s <= 10; ++s)  // the retired codes (the decisions' old numbers) are not statuses
    CHECK(std::string(safetwin_status_string(s)) == "unknown");
  for (int d = 0; d <= static_cast<int>(Decision::deadline_missed); ++d)
    CHECK(std::string(safetwin_decision_string(d)) == to_string(static_cast<Decision>(d)));
  CHECK(SAFETWIN_DECISION_DEADLINE_MISSED == static_cast<int>(Decision::deadline_missed));
  CHECK(std::string(safetwin_decision_string(4)) == "unknown");
  CHECK(std::string(safetwin_status_string(SAFETWIN_OUT_OF_MEMORY)) == "out_of_memory");
  CHECK(std::string(safetwin_status_string(1000)) == "unknown");
}

TEST_CASE("cell: same trajectory as battery::Cell, refused steps change nothing, no allocation") {
  safetwin_cell_params_t c;
  safetwin_cell_params_default(&c);
  c.capacity_ah = 4.0;  // not REF-CELL-1, so the conversion of every changed field is exercised
  c.r0_ohm = 0.03;
  c.heat_transfer_w_per_k = 0.2;
  const safetwin_cell_state_t s0{0.3, 0.0, 0.0, 300.0};
  safetwin_cell_t* cell = nullptr;
  char msg[256] = "x";
  REQUIRE(safetwin_cell_create(&c, &s0, &cell, msg, sizeof msg) == SAFETWIN_OK);
  REQUIRE(cell != nullptr);
  CHECK(msg[0] == '\0');

  battery::CellParams p = battery::CellParams::ref_cell_1();
  p.capacity_ah = 4.0;
  p.r0_ohm = battery::ParamSurface::constant(0.03);
  p.heat_transfer_w_per_k = 0.2;
  battery::Cell ref(p, battery::CellState{0.3, 0.0, 0.0, 300.0});

  long allocations = 0;
  for (int k = 0; k < 1200; ++k) {
    double v_c = 0.0, v_ref = 0.0;
    safetwin_status_t st = SAFETWIN_INTERNAL_ERROR;
    allocations += test::count_allocations([&] { st = safetwin_cell_step(cell, profile_a(k), 1.0, &v_c); });
    REQUIRE(st == SAFETWIN_OK);
    REQUIRE(ref.step(profile_a(k), 1.0, &v_ref) == Status::ok);
    REQUIRE(v_c == v_ref);
  }
  CHECK(allocations == 0);
  safetwin_cell_state_t s;
  REQUIRE(safetwin_cell_state(cell, &s) == SAFETWIN_OK);
  CHECK(s.soc == ref.state().soc);
  CHECK(s.v1_v == ref.state().v1_v);
  CHECK(s.v2_v == ref.state().v2_v);
  CHECK(s.temp_k == ref.state().temp_k);
  double v = 0.0;
  REQUIRE(safetwin_cell_voltage(cell, 2.0, &v) == SAFETWIN_OK);
  CHECK(v == ref.voltage_v(2.0));

  // Refused steps: the status of the C++ step, and the state is untouched.
  CHECK(safetwin_cell_step(cell, 1.0, 0.0, nullptr) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(safetwin_cell_step(cell, kNaN, 1.0, nullptr) == SAFETWIN_NON_FINITE_INPUT);
  CHECK(safetwin_cell_step(nullptr, 1.0, 1.0, nullptr) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(safetwin_cell_voltage(cell, kNaN, &v) == SAFETWIN_NON_FINITE_INPUT);
  safetwin_cell_state_t after;
  REQUIRE(safetwin_cell_state(cell, &after) == SAFETWIN_OK);
  CHECK(std::memcmp(&after, &s, sizeof s) == 0);
  safetwin_cell_destroy(cell);
  safetwin_cell_destroy(nullptr);  // a no-op
}

TEST_CASE("cell: a refused construction returns the C++ message, truncated to the buffer, and no handle") {
  safetwin_cell_params_t c;
  safetwin_cell_params_default(&c);
  c.capacity_ah = -1.0;
  battery::CellParams p = battery::CellParams::ref_cell_1();
  p.capacity_ah = -1.0;
  const std::string expected = cpp_message(p);
  REQUIRE(expected.find("CellParams.capacity_ah") != std::string::npos);

  safetwin_cell_t* cell = reinterpret_cast<safetwin_cell_t*>(&c);  // must be overwritten with NULL
  char msg[256];
  CHECK(safetwin_cell_create(&c, nullptr, &cell, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(cell == nullptr);
  CHECK(std::string(msg) == expected);

  char small[8];
  CHECK(safetwin_cell_create(&c, nullptr, &cell, small, sizeof small) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(std::string(small) == expected.substr(0, 7));
  CHECK(safetwin_cell_create(&c, nullptr, &cell, nullptr, 0) == SAFETWIN_INVALID_ARGUMENT);

  // A refused initial state, and a NULL out pointer.
  safetwin_cell_params_default(&c);
  const safetwin_cell_state_t bad{1.5, 0.0, 0.0, 298.15};
  CHECK(safetwin_cell_create(&c, &bad, &cell, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(cell == nullptr);
  CHECK(std::string(msg).find("soc") != std::string::npos);
  CHECK(safetwin_cell_create(&c, nullptr, nullptr, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(std::string(msg).find("out") != std::string::npos);
}

TEST_CASE("estimator: same estimate as BatteryEkf on the same samples, no allocation") {
  safetwin_ekf_config_t c;
  safetwin_ekf_config_default(&c);
  c.soc0 = 0.6;  // the plant starts at 0.4: the filter has to correct
  c.voltage_model_sigma_v = 0.0;
  safetwin_ekf_t* ekf = nullptr;
  char msg[256];
  REQUIRE(safetwin_ekf_create(&c, &ekf, msg, sizeof msg) == SAFETWIN_OK);

  estimation::BatteryEkfConfig ec;
  ec.soc0 = 0.6;
  ec.voltage_model_sigma_v = 0.0;
  estimation::BatteryEkf ref(ec);

  battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{0.4, 0.0, 0.0, 298.15});
  long allocations = 0;
  for (int k = 0; k < 900; ++k) {
    const double i = profile_a(k);
    double v = 0.0;
    REQUIRE(plant.step(i, 1.0, &v) == Status::ok);
    const safetwin_measurement_t z{v, v, plant.state().temp_k, 1, k % 7 != 0, 1};
    safetwin_status_t st = SAFETWIN_INTERNAL_ERROR;
    allocations += test::count_allocations([&] { st = safetwin_ekf_step(ekf, i, &z, 1.0); });
    estimation::Measurement m = estimation::Measurement::voltage_temperature(v, plant.state().temp_k);
    m.voltage_b_v = v;
    m.voltage_b_valid = k % 7 != 0;
    REQUIRE(st == as_c(ref.step(i, m, 1.0)));
  }
  CHECK(allocations == 0);
  safetwin_estimate_t e;
  REQUIRE(safetwin_ekf_estimate(ekf, &e) == SAFETWIN_OK);
  const auto x = ref.state();
  const auto p = ref.covariance();
  for (int r = 0; r < 4; ++r) {
    CHECK(e.x[r] == x[r]);
    CHECK(e.sigma[r] == std::sqrt(p(r, r)));
    for (int col = 0; col < 4; ++col) CHECK(e.p[4 * r + col] == p(r, col));
  }
  CHECK(e.sigma[0] == ref.soc_sigma());
  CHECK(e.nis == ref.nis());
  CHECK(std::fabs(e.x[0] - plant.state().soc) < 3.0 * e.sigma[0]);  // it did converge

  // A refused step leaves the estimate as it was.
  const safetwin_measurement_t z{3.7, 3.7, 298.15, 1, 1, 1};
  CHECK(safetwin_ekf_step(ekf, 1.0, &z, -1.0) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(safetwin_ekf_step(ekf, kNaN, &z, 1.0) == SAFETWIN_NON_FINITE_INPUT);
  CHECK(safetwin_ekf_step(ekf, 1.0, nullptr, 1.0) == SAFETWIN_INVALID_ARGUMENT);
  safetwin_estimate_t after;
  REQUIRE(safetwin_ekf_estimate(ekf, &after) == SAFETWIN_OK);
  CHECK(std::memcmp(after.x, e.x, sizeof e.x) == 0);
  safetwin_ekf_destroy(ekf);

  c.soc_sigma0 = 0.0;
  ec.soc_sigma0 = 0.0;
  std::string expected;
  try {
    estimation::BatteryEkf bad(ec);
  } catch (const std::invalid_argument& ex) { expected = ex.what(); }
  REQUIRE(expected.find("soc_sigma0") != std::string::npos);
  CHECK(safetwin_ekf_create(&c, &ekf, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(ekf == nullptr);
  CHECK(std::string(msg) == expected);
}

namespace {

// Runs the C cycle and a C++ ControlCycle on two identical plants for n steps; every output must
// agree bit for bit. Returns the allocations of the C steps.
long compare_cycles(safetwin_cycle_t* c_cycle, cycle::ControlCycle& ref, int n) {
  battery::Cell plant_c(battery::CellParams::ref_cell_1(), battery::CellState{0.2, 0.0, 0.0, 298.15});
  battery::Cell plant_ref(battery::CellParams::ref_cell_1(), battery::CellState{0.2, 0.0, 0.0, 298.15});
  double v = plant_c.voltage_v(0.0), i = 0.0;
  long allocations = 0;
  for (int k = 0; k < n; ++k) {
    const safetwin_cycle_measurements_t m{double(k), v, v, plant_c.state().temp_k, i, 1, 1, 1};
    safetwin_cycle_output_t out;
    safetwin_status_t st = SAFETWIN_INTERNAL_ERROR;
    allocations += test::count_allocations([&] { st = safetwin_cycle_step(c_cycle, &m, 1.0, &out); });
    cycle::CycleMeasurements cm;
    cm.time_s = k;
    cm.voltage_a_v = cm.voltage_b_v = v;
    cm.temperature_k = plant_ref.state().temp_k;
    cm.current_a = i;
    cycle::CycleStatus s;
    const Status ref_st = ref.step(cm, 1.0, s);
    REQUIRE(st == as_c(ref_st));
    REQUIRE(out.command_a == s.command_a);
    REQUIRE(out.mode == static_cast<int>(s.mode));
    REQUIRE(out.controller_status == as_c(s.controller_status));
    REQUIRE(out.controller_decision == static_cast<int>(s.controller_decision));
    REQUIRE(out.cbf_decision == static_cast<int>(s.cbf.decision));
    REQUIRE(out.supervisor_decision == static_cast<int>(s.supervisor.decision));
    REQUIRE(out.contactor_closed == (s.contactor_closed ? 1 : 0));
    for (int r = 0; r < 4; ++r) REQUIRE(out.x[r] == s.x[r]);
    REQUIRE(out.p[5] == s.P(1, 1));
    i = out.command_a;
    double v_ref = 0.0;
    REQUIRE(plant_c.step(i, 1.0, &v) == Status::ok);
    REQUIRE(plant_ref.step(s.command_a, 1.0, &v_ref) == Status::ok);
  }
  return allocations;
}

}  // namespace

TEST_CASE("cycle with a C callback law: same commands as ControlCycle with the same C++ law") {
  int calls = 0;
  safetwin_cycle_config_t c;
  safetwin_cycle_config_default(&c);
  c.controller = SAFETWIN_CONTROLLER_CALLBACK;
  c.law = c_law;
  c.user_data = &calls;
  c.estimator.soc0 = 0.2;
  safetwin_cycle_t* cyc = nullptr;
  char msg[256];
  REQUIRE(safetwin_cycle_create(&c, &cyc, msg, sizeof msg) == SAFETWIN_OK);

  cycle::CycleConfig cc;
  cc.estimator.soc0 = 0.2;
  CppLaw law;
  cycle::ControlCycle ref(cc, &law);
  CHECK(compare_cycles(cyc, ref, 400) == 0);
  CHECK(calls == 400);
  safetwin_mode_t mode = SAFETWIN_MODE_SAFE_STOP;
  REQUIRE(safetwin_cycle_mode(cyc, &mode) == SAFETWIN_OK);
  CHECK(mode == SAFETWIN_MODE_NORMAL);

  // A NaN measurement: SAFE_STOP now, a finite zero command.
  const safetwin_cycle_measurements_t bad{400.0, kNaN, 3.9, 300.0, -8.0, 1, 1, 1};
  safetwin_cycle_output_t out;
  CHECK(safetwin_cycle_step(cyc, &bad, 1.0, &out) == SAFETWIN_NON_FINITE_INPUT);
  CHECK(out.mode == SAFETWIN_MODE_SAFE_STOP);
  CHECK(out.command_a == 0.0);
  REQUIRE(safetwin_cycle_mode(cyc, &mode) == SAFETWIN_OK);
  CHECK(mode == SAFETWIN_MODE_SAFE_STOP);
  REQUIRE(safetwin_cycle_reset(cyc, 401.0) == SAFETWIN_OK);
  REQUIRE(safetwin_cycle_mode(cyc, &mode) == SAFETWIN_OK);
  CHECK(mode == SAFETWIN_MODE_NORMAL);
  CHECK(safetwin_cycle_step(cyc, nullptr, 1.0, &out) == SAFETWIN_INVALID_ARGUMENT);
  safetwin_cycle_destroy(cyc);
}

TEST_CASE("cycle with a law that declines: held, then SAFE_STOP after hold_max_s") {
  safetwin_cycle_config_t c;
  safetwin_cycle_config_default(&c);
  c.controller = SAFETWIN_CONTROLLER_CALLBACK;
  c.law = refusing_law;
  c.hold_max_s = 3.0;
  safetwin_cycle_t* cyc = nullptr;
  REQUIRE(safetwin_cycle_create(&c, &cyc, nullptr, 0) == SAFETWIN_OK);
  safetwin_cycle_output_t out{};
  int first_safe_stop = -1;
  for (int k = 0; k < 10 && first_safe_stop < 0; ++k) {
    const safetwin_cycle_measurements_t m{double(k), 3.7, 3.7, 298.15, 0.0, 1, 1, 1};
    (void)safetwin_cycle_step(cyc, &m, 1.0, &out);
    CHECK(out.controller_status == SAFETWIN_OK);  // the cycle's call worked: the law declined
    CHECK(out.controller_decision == SAFETWIN_DECISION_REJECTED);
    CHECK(out.command_a == 0.0);
    if (out.mode == SAFETWIN_MODE_SAFE_STOP) {
      first_safe_stop = k;
      CHECK(out.supervisor_decision == SAFETWIN_DECISION_DEADLINE_MISSED);
    } else {
      CHECK(out.supervisor_decision == SAFETWIN_DECISION_APPLIED);  // the held command (0 A) released
    }
  }
  // Missing since t = 0; more than 3 s missing first at t = 4 (the supervisor's hold rule).
  CHECK(first_safe_stop == 4);
  safetwin_cycle_destroy(cyc);
}

TEST_CASE("cycle with the built-in MPC: same commands as ControlCycle + BatteryMpc, no allocation") {
  safetwin_cycle_config_t c;
  safetwin_cycle_config_default(&c);
  c.estimator.soc0 = 0.2;
  c.mpc_horizon = 20;
  safetwin_cycle_t* cyc = nullptr;
  char msg[256];
  REQUIRE(safetwin_cycle_create(&c, &cyc, msg, sizeof msg) == SAFETWIN_OK);

  cycle::CycleConfig cc;
  cc.estimator.soc0 = 0.2;
  control::BatteryMpcConfig mc;
  mc.horizon = 20;
  control::BatteryMpc mpc(mc);
  cycle::ControlCycle ref(cc, &mpc);
  CHECK(compare_cycles(cyc, ref, 300) == 0);
  safetwin_cycle_destroy(cyc);
}

TEST_CASE("cycle: refused configurations name the field") {
  safetwin_cycle_config_t c;
  safetwin_cycle_config_default(&c);
  safetwin_cycle_t* cyc = nullptr;
  char msg[256];

  c.derate_factor = 1.5;
  CHECK(safetwin_cycle_create(&c, &cyc, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(cyc == nullptr);
  CHECK(std::string(msg).find("SupervisorConfig.derate_factor = 1.5") == 0);

  safetwin_cycle_config_default(&c);
  c.mpc_horizon = 0;
  CHECK(safetwin_cycle_create(&c, &cyc, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(std::string(msg).find("BatteryMpcConfig.horizon") == 0);

  safetwin_cycle_config_default(&c);
  c.controller = SAFETWIN_CONTROLLER_CALLBACK;  // and no law
  CHECK(safetwin_cycle_create(&c, &cyc, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(std::string(msg).find("safetwin_cycle_config_t.law") == 0);

  c.controller = 7;
  CHECK(safetwin_cycle_create(&c, &cyc, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(std::string(msg).find("safetwin_cycle_config_t.controller = 7") == 0);

  CHECK(safetwin_cycle_create(nullptr, &cyc, msg, sizeof msg) == SAFETWIN_INVALID_ARGUMENT);
  CHECK(std::string(msg).find("config") == 0);
}
