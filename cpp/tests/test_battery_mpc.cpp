// MPC-FC: the battery fast-charge MPC in closed loop on the REF-CELL-1 plant, its linearisation
// against finite differences of the nonlinear model, chance-constraint margins, fallbacks, bad
// input, and zero allocations per step.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/control/charge_loop.hpp"
#include "safetwin/estimation/battery_ekf.hpp"

using namespace safetwin;
using namespace safetwin::control;
using battery::CellState;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kT25 = 298.15;

struct Trace {
  std::vector<double> i, v, t, soc, time;
  std::vector<int> iters;
  std::vector<std::uint8_t> status;
  ChargeLoopResult result;
  explicit Trace(std::size_t n) : i(n), v(n), t(n), soc(n), time(n), iters(n), status(n) {}
  ChargeTrace view() { return {i.data(), v.data(), t.data(), soc.data(), time.data(), iters.data(), status.data()}; }
  double max_v() const { return *std::max_element(v.begin(), v.begin() + static_cast<long>(result.steps)); }
  double max_t() const { return *std::max_element(t.begin(), t.begin() + static_cast<long>(result.steps)); }
};

Trace run_mpc_fc(BatteryMpc& mpc, const ChargeLoopConfig& lc = {}) {
  battery::Cell cell(battery::CellParams::ref_cell_1(), CellState{0.10, 0.0, 0.0, kT25});
  Trace tr(3600);
  REQUIRE(run_charge_loop(cell, mpc, lc, 3600, tr.view(), &tr.result) == Status::ok);
  return tr;
}

ControllerInput input_at(double soc, double temp_k, double last_a = 0.0) {
  ControllerInput in;
  in.x << soc, 0.0, 0.0, temp_k;
  in.last_current_a = last_a;
  in.current_min_a = -15.0;
  in.current_max_a = 25.0;
  return in;
}

// Nonlinear REF-CELL-1 prediction of V[k] (under I[k]) and T[k] for a current sequence.
void simulate(const std::vector<double>& current, const battery::StateVector& x0, std::vector<double>& v,
              std::vector<double>& t, const battery::CellParams& params = battery::CellParams::ref_cell_1()) {
  battery::Cell cell(params, CellState{x0[0], x0[1], x0[2], x0[3]});
  v.assign(current.size(), 0.0);
  t.assign(current.size() + 1, 0.0);
  t[0] = x0[3];
  for (std::size_t k = 0; k < current.size(); ++k) {
    REQUIRE(cell.step(current[k], 1.0, &v[k]) == Status::ok);
    t[k + 1] = cell.state().temp_k;
  }
}

// A solver hook that fails in a chosen way (a test double of a misbehaving external solver).
class BrokenSolver final : public QpSolver {
 public:
  enum class Mode { not_converged, nan_optimal, out_of_bounds };
  explicit BrokenSolver(Mode m) : mode_(m) {}
  QpStatus solve(const QpData& qp, const QpSolution*, QpSolution& sol) noexcept override {
    sol.n = qp.n;
    sol.m = qp.m;
    for (int j = 0; j < qp.n; ++j)
      sol.x[j] = mode_ == Mode::nan_optimal ? kNan : (mode_ == Mode::out_of_bounds ? qp.ub[j] + 1.0 : 0.0);
    sol.status = mode_ == Mode::not_converged ? QpStatus::max_iterations : QpStatus::optimal;
    return sol.status;
  }
  const char* name() const noexcept override { return "broken"; }

 private:
  Mode mode_;
};
}  // namespace

TEST_CASE("MPC-FC closed loop: reaches SOC 0.79 within the voltage and temperature limits") {
  BatteryMpc mpc(BatteryMpcConfig{});
  const Trace tr = run_mpc_fc(mpc);
  REQUIRE(tr.result.reached);
  CHECK(tr.result.non_ok_steps == 0);
  CHECK(tr.max_v() <= 4.2 + 0.005);
  CHECK(tr.max_t() <= 45.0 + 273.15 + 0.1);
  MESSAGE("t79 = " << tr.result.time_to_stop_s << " s, max V = " << tr.max_v() << " V, max T = " << tr.max_t() - 273.15
                   << " degC");
  // Both limits are reached (the charge is limit-bound, not slack), and the first phase is the
  // full 15 A: an MPC that is too timid would pass the limit checks too.
  CHECK(tr.max_v() > 4.2 - 0.002);
  CHECK(tr.max_t() > 45.0 + 273.15 - 0.05);
  CHECK(tr.i[5] == doctest::Approx(-15.0));
  // A 3C CC phase then thermal and voltage limits: faster than 1C CC-CV (about 3 000 s), slower
  // than an unconstrained 15 A charge of 0.69 * 5.15 Ah (853 s).
  CHECK(tr.result.time_to_stop_s > 853.0);
  CHECK(tr.result.time_to_stop_s < 2000.0);
  for (std::size_t k = 0; k < tr.result.steps; ++k) {
    CHECK(tr.i[k] >= -15.0);
    CHECK(tr.i[k] <= 0.0);
  }
  // The built-in solver factored the constant Hessian once for the whole charge.
  CHECK(mpc.builtin_solver().factorisations() == 1);
}

TEST_CASE("the temperature limit is approached without oscillation (proximal correction)") {
  BatteryMpc mpc(BatteryMpcConfig{});
  const Trace tr = run_mpc_fc(mpc);
  // Once the current first drops below 15 A it changes by less than 1 A per step: no bang-bang.
  std::size_t first = 0;
  while (first < tr.result.steps && tr.i[first] <= -14.999) ++first;
  REQUIRE(first > 10);
  double worst_jump = 0.0;
  for (std::size_t k = first; k + 1 < tr.result.steps; ++k)
    worst_jump = std::max(worst_jump, std::abs(tr.i[k + 1] - tr.i[k]));
  CHECK(worst_jump < 1.0);
  CHECK(tr.max_t() <= 45.0 + 273.15 + 1e-6);

  // Without the correction the same loop oscillates (the measurement the correction answers).
  BatteryMpcConfig plain;
  plain.proximal_weight = 0.0;
  BatteryMpc raw(plain);
  const Trace tr0 = run_mpc_fc(raw);
  double raw_jump = 0.0;
  for (std::size_t k = 0; k + 1 < tr0.result.steps; ++k)
    raw_jump = std::max(raw_jump, std::abs(tr0.i[k + 1] - tr0.i[k]));
  CHECK(raw_jump > 3.0);
  // Same target: the proximal term does not move the converged behaviour (t79 within 0.1 %).
  CHECK(tr.result.time_to_stop_s == doctest::Approx(tr0.result.time_to_stop_s).epsilon(1e-3));
}

// The MPC's condensed rows (its linearisation of the one model along the -10 A plan) against
// central differences of the plant (battery::Cell, the same model stepped in double).
namespace {
void check_condensed_rows(const battery::CellParams& params, double soc0, double temp0_k) {
  BatteryMpcConfig cfg;
  cfg.cell = params;
  cfg.horizon = 12;
  cfg.cold_start_linearisations = 1;  // keep the linearisation point: -10 A held
  cfg.cold_start_cccv = false;
  BatteryMpc mpc(cfg);
  ControllerInput in = input_at(soc0, temp0_k, -10.0);
  in.x[1] = -0.05;
  in.x[2] = -0.12;
  ControllerOutput out;
  REQUIRE(mpc.compute(in, out) == Status::ok);  // first call: linearised about -10 A held
  const QpData& qp = mpc.last_qp();
  const int n = qp.n;
  REQUIRE(n == 12);
  REQUIRE(qp.m == 24);
  const double is = mpc.current_scale_a();
  std::vector<double> nominal(n, -10.0), v0, t0, v1, t1;
  simulate(nominal, in.x, v0, t0, params);
  const double h = 1e-4;
  double worst_v = 0.0, worst_t = 0.0;
  for (int j = 0; j < n; ++j) {
    std::vector<double> up = nominal, dn = nominal;
    up[j] += h;
    dn[j] -= h;
    std::vector<double> vu, tu, vd, td;
    simulate(up, in.x, vu, tu, params);
    simulate(dn, in.x, vd, td, params);
    for (int k = 0; k < n; ++k) {
      const double dv = (vu[k] - vd[k]) / (2 * h);
      const double dt = (tu[k + 1] - td[k + 1]) / (2 * h);
      const double av = qp.A[static_cast<std::size_t>(j) * qp.lda + k] / is;
      const double at = qp.A[static_cast<std::size_t>(j) * qp.lda + n + k] / is;
      worst_v = std::max(worst_v, std::abs(av - dv));
      worst_t = std::max(worst_t, std::abs(at - dt));
    }
  }
  // Rows are of order 1e-2 V/A and 1e-2 K/A; the differences are round-off of the differences.
  CHECK(worst_v < 1e-7);
  CHECK(worst_t < 1e-7);
  // Row offsets: at the nominal input the rows reproduce the nonlinear V and T exactly.
  const double vmax = params.limits.voltage_max_v, tmax = params.limits.temp_max_k;
  for (int k = 0; k < n; ++k) {
    double av = 0.0, at = 0.0;
    for (int j = 0; j < n; ++j) {
      av += qp.A[static_cast<std::size_t>(j) * qp.lda + k] / is * nominal[j];
      at += qp.A[static_cast<std::size_t>(j) * qp.lda + n + k] / is * nominal[j];
    }
    CHECK(vmax - (qp.upper[k] - av) == doctest::Approx(v0[k]).epsilon(1e-12));
    CHECK(tmax - (qp.upper[n + k] - at) == doctest::Approx(t0[k + 1]).epsilon(1e-12));
  }
}
}  // namespace

TEST_CASE("condensed voltage and temperature rows equal finite differences of the nonlinear model") {
  check_condensed_rows(battery::CellParams::ref_cell_1(), 0.55, 310.0);
}

TEST_CASE("the same for a cell with tables, charge-side resistances and an entropic coefficient") {
  // What the hand-written linearisation could not take (its config refused such cells): the
  // prediction is the one model's, so every surface of the cell file reaches it. The state stays
  // inside one cell of each table over the horizon (the tables are smooth there).
  battery::CellParams p = battery::CellParams::ref_cell_1();
  p.r0_ohm = battery::ParamSurface::table({0.0, 0.5, 1.0}, {273.15, 298.15, 323.15},
                                          {0.040, 0.025, 0.018, 0.035, 0.021, 0.015, 0.038, 0.024, 0.017}, "r0");
  p.r0_charge_ohm = battery::ParamSurface::table({0.0, 1.0}, {273.15, 323.15}, {0.030, 0.020, 0.026, 0.017}, "r0c");
  p.r1_ohm = battery::ParamSurface::table({0.0, 1.0}, {273.15, 323.15}, {0.012, 0.006, 0.009, 0.005}, "r1");
  p.r2_charge_ohm = battery::ParamSurface::constant(0.027);
  p.entropic_v_per_k = battery::ParamSurface::table({0.0, 0.5, 1.0}, {298.15}, {-2e-4, 1e-4, -0.5e-4}, "dudt");
  p.validate();
  check_condensed_rows(p, 0.5535, 305.0);
}

TEST_CASE("chance margins grow with the variance and shrink with alpha; Cantelli above Gaussian") {
  CHECK(chance_multiplier(ChanceForm::gaussian, 0.05) == doctest::Approx(1.6448536269514722).epsilon(1e-13));
  CHECK(chance_multiplier(ChanceForm::gaussian, 0.025) == doctest::Approx(1.959963984540054).epsilon(1e-13));
  CHECK(chance_multiplier(ChanceForm::gaussian, 1e-6) == doctest::Approx(4.753424308822899).epsilon(1e-12));
  CHECK(chance_multiplier(ChanceForm::gaussian, 0.5) == 0.0);
  CHECK(chance_multiplier(ChanceForm::cantelli, 0.05) == doctest::Approx(std::sqrt(19.0)));
  CHECK_THROWS_WITH_AS((void)chance_multiplier(ChanceForm::gaussian, 0.0), doctest::Contains("alpha"),
                       std::invalid_argument);
  CHECK_THROWS_AS((void)chance_multiplier(ChanceForm::cantelli, 0.7), std::invalid_argument);

  auto margins = [](ChanceForm form, double alpha, double var_scale) {
    BatteryMpcConfig cfg;
    cfg.horizon = 10;
    cfg.cold_start_linearisations = 1;  // linearised about -10 A held
    cfg.cold_start_cccv = false;
    cfg.chance_form = form;
    cfg.chance_alpha = alpha;
    BatteryMpc mpc(cfg);
    ControllerInput in = input_at(0.5, 310.0, -10.0);
    in.P.diagonal() << 1e-4, 1e-5, 1e-5, 0.04;
    in.P *= var_scale;
    ControllerOutput out;
    REQUIRE(mpc.compute(in, out) == Status::ok);
    return std::vector<double>(mpc.margin_voltage_v(), mpc.margin_voltage_v() + 20);
  };
  const auto base = margins(ChanceForm::gaussian, 0.05, 1.0);
  const auto tighter_alpha = margins(ChanceForm::gaussian, 0.01, 1.0);
  const auto looser_alpha = margins(ChanceForm::gaussian, 0.2, 1.0);
  const auto more_var = margins(ChanceForm::gaussian, 0.05, 4.0);
  const auto cantelli = margins(ChanceForm::cantelli, 0.05, 1.0);
  for (int r = 0; r < 20; ++r) {
    CHECK(base[r] > 0.0);
    CHECK(tighter_alpha[r] > base[r]);
    CHECK(looser_alpha[r] < base[r]);
    CHECK(more_var[r] == doctest::Approx(2.0 * base[r]));  // margin ~ sqrt(variance)
    CHECK(cantelli[r] > base[r]);
  }
  // V[0] at the estimate: variance c P c' with c = [dOCV/dSOC, -1, -1, -dR0/dT I].
  const battery::CellParams cell = battery::CellParams::ref_cell_1();
  const double slope = cell.ocv.slope_v(0.5);
  const double r0 = battery::coefficients(cell, {}, 0.5, 310.0).r0_ohm;
  const double dr0 = -2000.0 / (310.0 * 310.0) * r0;
  const double var = slope * slope * 1e-4 + 1e-5 + 1e-5 + (dr0 * 10.0) * (dr0 * 10.0) * 0.04;
  CHECK(base[0] == doctest::Approx(1.6448536269514722 * std::sqrt(var)).epsilon(1e-10));
  // T[1] depends on T[0] through the cooling/Arrhenius Jacobian only: its margin is about 0.2 K * q.
  CHECK(base[10] == doctest::Approx(1.6448536269514722 * 0.2).epsilon(0.02));
}

TEST_CASE("a tighter chance constraint keeps the closed loop further from the limits") {
  BatteryMpcConfig cfg;
  cfg.chance_alpha = 0.01;
  BatteryMpc mpc(cfg);
  ChargeLoopConfig lc;
  lc.covariance.diagonal() << 1e-6, 1e-6, 1e-6, 0.25;  // sigma_T = 0.5 K
  const Trace tr = run_mpc_fc(mpc, lc);
  REQUIRE(tr.result.reached);
  // q(0.01) * 0.5 K = 1.16 K of margin on the temperature rows (P is held constant here).
  CHECK(tr.max_t() < 318.15 - 1.0);
  CHECK(tr.max_t() > 318.15 - 1.3);
}

TEST_CASE("derated current limits of the supervisor are honoured on every call") {
  BatteryMpc mpc(BatteryMpcConfig{});
  ControllerOutput out;
  for (double limit : {-15.0, -7.5, -2.0, -0.5, 0.0}) {
    ControllerInput in = input_at(0.2, kT25);
    in.current_min_a = limit;
    REQUIRE(mpc.compute(in, out) == Status::ok);
    CHECK(out.current_a >= limit - 1e-12);
    CHECK(out.current_a <= 0.0);
    CHECK(out.current_a == doctest::Approx(limit).epsilon(1e-6));  // far from target: full allowed charge
  }
  ControllerInput in = input_at(0.2, kT25);
  in.current_max_a = -3.0;  // a forced minimum charge
  REQUIRE(mpc.compute(in, out) == Status::ok);
  CHECK(out.current_a <= -3.0);
}

TEST_CASE("bad input gives a status and a finite fallback, never NaN") {
  BatteryMpc mpc(BatteryMpcConfig{});
  ControllerOutput out;
  // Establish a plan first.
  REQUIRE(mpc.compute(input_at(0.3, kT25, -15.0), out) == Status::ok);
  const double planned_next = mpc.plan_a()[1];
  ControllerInput bad = input_at(0.3, kT25, -15.0);
  bad.x[0] = kNan;
  CHECK(mpc.compute(bad, out) == Status::non_finite_input);
  CHECK(std::isfinite(out.current_a));
  CHECK(out.current_a == doctest::Approx(planned_next));  // shifted previous plan
  bad = input_at(0.3, kT25);
  bad.P(3, 3) = std::numeric_limits<double>::infinity();
  CHECK(mpc.compute(bad, out) == Status::non_finite_input);
  CHECK(std::isfinite(out.current_a));
  bad = input_at(0.3, kT25);
  bad.last_current_a = kNan;
  CHECK(mpc.compute(bad, out) == Status::non_finite_input);
  bad = input_at(0.3, kT25);
  bad.current_min_a = kNan;
  CHECK(mpc.compute(bad, out) == Status::non_finite_input);
  CHECK(out.current_a == 0.0);
  bad = input_at(0.3, kT25);
  bad.dt_s = 2.0;
  CHECK(mpc.compute(bad, out) == Status::invalid_argument);
  bad = input_at(0.3, -5.0);
  CHECK(mpc.compute(bad, out) == Status::invalid_argument);
  // Inconsistent limits: the MPC's charge range and a discharge-only window do not meet.
  bad = input_at(0.3, kT25);
  bad.current_min_a = 1.0;
  bad.current_max_a = 2.0;
  CHECK(mpc.compute(bad, out) == Status::invalid_argument);
  CHECK(out.current_a == 1.0);  // inside the supervisor's window, the smallest magnitude
  bad.current_min_a = 2.0;
  bad.current_max_a = 1.0;
  CHECK(mpc.compute(bad, out) == Status::invalid_argument);
  CHECK(out.current_a == 0.0);
  // And the MPC recovers on good input.
  CHECK(mpc.compute(input_at(0.3, kT25, -15.0), out) == Status::ok);
}

TEST_CASE("a solver hook that fails leads to the fallback with its status") {
  for (auto mode :
       {BrokenSolver::Mode::not_converged, BrokenSolver::Mode::nan_optimal, BrokenSolver::Mode::out_of_bounds}) {
    BrokenSolver broken(mode);
    BatteryMpc mpc(BatteryMpcConfig{});
    ControllerOutput out;
    REQUIRE(mpc.compute(input_at(0.3, kT25, -15.0), out) == Status::ok);
    std::vector<double> plan(mpc.plan_a(), mpc.plan_a() + 30);
    mpc.set_solver(&broken);
    ControllerInput in = input_at(0.3, kT25, -15.0);
    in.current_min_a = -12.0;  // the fallback is clipped to the bounds in force
    CHECK(mpc.compute(in, out) == Status::ok);
    CHECK(out.decision == Decision::fallback);
    CHECK(out.current_a == std::clamp(plan[1], -12.0, 0.0));
    CHECK(mpc.last_step().status == Status::ok);
    CHECK(mpc.last_step().decision == Decision::fallback);
    // A second failure walks the shifted plan on.
    CHECK(mpc.compute(in, out) == Status::ok);
    CHECK(out.decision == Decision::fallback);
    CHECK(out.current_a == std::clamp(plan[2], -12.0, 0.0));
  }
  // No plan yet: zero current.
  BrokenSolver broken(BrokenSolver::Mode::not_converged);
  BatteryMpc mpc(BatteryMpcConfig{}, &broken);
  ControllerOutput out;
  CHECK(mpc.compute(input_at(0.3, kT25), out) == Status::ok);
  CHECK(out.decision == Decision::fallback);
  CHECK(out.current_a == 0.0);
}

TEST_CASE("the built-in solver at its iteration cap: the MPC falls back, finite, within the bounds") {
  // At SOC 0.3 with -15 A held, the nominal plan sits on the -15 A bound and the SOC term pulls
  // every one of the 30 currents beyond it: 30 bounds must enter the working set. A cap of 5
  // stops the first QP short of them.
  BatteryMpcConfig c;
  c.qp.max_iterations = 5;
  c.cold_start_cccv = false;  // a cold first QP (the CC-CV start's working set needs no iteration)
  BatteryMpc mpc(c);
  ControllerOutput out;
  CHECK(mpc.compute(input_at(0.3, kT25, -15.0), out) == Status::ok);
  CHECK(out.decision == Decision::fallback);
  CHECK(mpc.last_step().qp_status == QpStatus::max_iterations);
  CHECK(mpc.last_step().iterations == 5);
  CHECK(mpc.last_step().linearisations == 1);  // the failed QP ends the step
  CHECK(out.current_a == 0.0);                 // no plan yet: zero, inside [-15, 0]
  // Uncapped, the same first call plans the full charge current.
  BatteryMpcConfig uncapped;
  uncapped.cold_start_cccv = false;
  BatteryMpc good(uncapped);
  REQUIRE(good.compute(input_at(0.3, kT25, -15.0), out) == Status::ok);
  CHECK(good.last_step().iterations >= 30);  // the 30 bounds entered
  CHECK(out.current_a == doctest::Approx(-15.0));
}

TEST_CASE("the CC-CV cold start reaches the linearisations' fixed point in one QP") {
  // Reference: the cold start from the last current held, re-linearised until the plan settles
  // (change < 1 mA) within 50 QPs. The CC-CV-shaped start must give the same plan, the fixed
  // point of the real-time iteration, with one QP. The cases are those where the reference does
  // settle (near the SOC target and hot it needs more than 50 QPs: not a reference there).
  const std::pair<double, double> cases[] = {{0.1, kT25},   {0.3, 283.15}, {0.3, kT25},
                                             {0.5, 283.15}, {0.5, kT25},   {0.6, 283.15}};
  for (const auto& [soc, temp_k] : cases) {
    CAPTURE(soc);
    CAPTURE(temp_k);
    BatteryMpcConfig hold;
    hold.cold_start_cccv = false;
    hold.cold_start_linearisations = 50;
    BatteryMpc ref(hold), mpc(BatteryMpcConfig{});
    ControllerOutput a, b;
    REQUIRE(ref.compute(input_at(soc, temp_k), a) == Status::ok);
    REQUIRE(ref.last_step().linearisations < 50);  // settled
    REQUIRE(mpc.compute(input_at(soc, temp_k), b) == Status::ok);
    CHECK(mpc.last_step().linearisations == 1);
    CHECK(ref.last_step().linearisations > 20);
    for (int k = 0; k < 30; ++k) CHECK(mpc.plan_a()[k] == doctest::Approx(ref.plan_a()[k]).epsilon(1e-9));
  }
}

TEST_CASE("configuration is validated, the horizon bounded by max_horizon") {
  BatteryMpcConfig c;
  c.horizon = 121;
  CHECK_THROWS_WITH_AS(BatteryMpc{c}, doctest::Contains("BatteryMpcConfig.horizon"), std::invalid_argument);
  c = BatteryMpcConfig{};
  c.chance_alpha = 0.0;
  CHECK_THROWS_WITH_AS(BatteryMpc{c}, doctest::Contains("BatteryMpcConfig.chance_alpha"), std::invalid_argument);
  c = BatteryMpcConfig{};
  c.current_max_a = 5.0;
  CHECK_THROWS_WITH_AS(BatteryMpc{c}, doctest::Contains("BatteryMpcConfig.current_max_a"), std::invalid_argument);
  c = BatteryMpcConfig{};
  c.soc_weight = kNan;
  CHECK_THROWS_WITH_AS(BatteryMpc{c}, doctest::Contains("BatteryMpcConfig.soc_weight"), std::invalid_argument);
  BatteryMpc mpc(BatteryMpcConfig{});
  CHECK_THROWS_WITH_AS(mpc.set_horizon(121), doctest::Contains("max_horizon = 120"), std::invalid_argument);
  CHECK(mpc.horizon() == 30);  // unchanged after the refused call
  mpc.set_horizon(60);
  CHECK(mpc.horizon() == 60);
  CHECK(mpc.last_qp().n == 60);
}

TEST_CASE("the MPC step allocates nothing and is deterministic") {
  BatteryMpc mpc(BatteryMpcConfig{});
  battery::Cell cell(battery::CellParams::ref_cell_1(), CellState{0.10, 0.0, 0.0, kT25});
  ControllerInput in = input_at(0.1, kT25);
  in.P.diagonal() << 1e-6, 1e-6, 1e-6, 0.01;  // chance margins on the path too
  ControllerOutput out;
  std::vector<double> currents;
  currents.reserve(700);
  double max_t = 0.0;
  // Counted from the first call on: the cold start (no plan, several linearisations) included.
  const long allocs = safetwin::test::count_allocations([&] {
    for (int k = 0; k < 700; ++k) {  // through the 15 A phase and onto the thermal limit
      const auto& s = cell.state();
      in.x << s.soc, s.v1_v, s.v2_v, s.temp_k;
      in.last_current_a = out.current_a;
      (void)mpc.compute(in, out);
      (void)cell.step(out.current_a, 1.0);
      currents.push_back(out.current_a);
      max_t = std::max(max_t, cell.state().temp_k);
    }
  });
  CHECK(allocs == 0);
  CHECK(max_t > 318.15 - 0.5);  // the thermal phase was exercised
  // Same inputs, same outputs, bit for bit.
  BatteryMpc again(BatteryMpcConfig{});
  battery::Cell cell2(battery::CellParams::ref_cell_1(), CellState{0.10, 0.0, 0.0, kT25});
  ControllerInput in2 = input_at(0.1, kT25);
  in2.P = in.P;
  ControllerOutput out2;
  for (int k = 0; k < 700; ++k) {
    const auto& s = cell2.state();
    in2.x << s.soc, s.v1_v, s.v2_v, s.temp_k;
    in2.last_current_a = out2.current_a;
    (void)again.compute(in2, out2);
    (void)cell2.step(out2.current_a, 1.0);
    REQUIRE(out2.current_a == currents[static_cast<std::size_t>(k)]);
  }
}

namespace {
// Adaptive twin on an aged cell: the joint EKF's R0 and capacity factors feed the MPC's prediction.
// Returns the MPC's voltage prediction error for the current it applies (V[0] of the plan against
// the plant's terminal voltage under that current), over the last `tail` of `steps` charge steps.
struct AdaptiveRun {
  double mean_error_v = 0.0, rms_error_v = 0.0, r0_factor = 0.0, capacity_factor = 0.0;
};
AdaptiveRun run_aged_cell(bool frozen, int steps, int tail) {
  battery::Cell plant(battery::CellParams::ref_cell_1(), CellState{0.30, 0.0, 0.0, kT25});
  plant.pack().set_scaling(0, battery::CellScaling{0.8, 1.0, 1.5});  // capacity -20 %, R0 +50 %
  estimation::BatteryEkfConfig ec;
  ec.estimate_params = true;
  ec.soc0 = 0.30;
  ec.soc_sigma0 = 0.05;
  ec.voltage_model_sigma_v = 0.0;  // the data come from this very model
  ec.voltage_a_sigma_v = 0.002;
  estimation::BatteryEkf ekf(ec);
  std::uint64_t seed = 42;  // splitmix64 -> Box-Muller: seeded measurement noise
  const auto uniform = [&seed] {
    std::uint64_t z = (seed += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return static_cast<double>((z ^ (z >> 31)) >> 11) * 0x1.0p-53 + 0x1.0p-54;
  };
  const auto noise = [&] {
    return 0.002 * std::sqrt(-2.0 * std::log(uniform())) * std::cos(6.283185307179586 * uniform());
  };
  const auto measure = [&](double i) {
    double v = 0.0;
    (void)plant.step(i, 1.0, &v);  // V at time k under i, then the state moves to k+1
    return v;
  };
  // Excitation (15 min of pulses: current steps excite R0; rests after charge moved excite Q).
  for (int k = 0; k < 900; ++k) {
    const int phase = (k / 30) % 4;
    const double i = phase == 0 ? -8.0 : phase == 1 ? 0.0 : phase == 2 ? 6.0 : 0.0;
    const double v = measure(i);
    (void)ekf.step(i, estimation::Measurement::voltage_temperature(v + noise(), plant.state().temp_k), 1.0);
  }
  BatteryMpcConfig cfg;
  BatteryMpc mpc(cfg);
  mpc.set_estimates_frozen(frozen);
  double last = 0.0, sum = 0.0, sum2 = 0.0;
  for (int k = 0; k < steps; ++k) {
    REQUIRE(mpc.set_estimated_factors(ekf.r0_factor(), ekf.capacity_factor()) == Status::ok);
    ControllerInput in;
    in.x = ekf.state();
    in.last_current_a = last;
    in.current_min_a = -15.0;
    in.current_max_a = 0.0;
    ControllerOutput out;
    REQUIRE(mpc.compute(in, out) == Status::ok);
    const double predicted = mpc.predicted_voltage_v()[0];
    const double v = measure(out.current_a);
    if (k >= steps - tail) {
      sum += v - predicted;
      sum2 += (v - predicted) * (v - predicted);
    }
    (void)ekf.step(out.current_a, estimation::Measurement::voltage_temperature(v + noise(), plant.state().temp_k), 1.0);
    last = out.current_a;
  }
  return {sum / tail, std::sqrt(sum2 / tail), ekf.r0_factor(), ekf.capacity_factor()};
}
}  // namespace

TEST_CASE("adaptive twin: with the estimator's factors the prediction error of an aged cell falls to the noise") {
  const AdaptiveRun adaptive = run_aged_cell(false, 400, 200);
  const AdaptiveRun frozen = run_aged_cell(true, 400, 200);
  MESSAGE("adaptive: mean ", adaptive.mean_error_v, " rms ", adaptive.rms_error_v, " r0f ", adaptive.r0_factor,
          " capf ", adaptive.capacity_factor, "; frozen: mean ", frozen.mean_error_v, " rms ", frozen.rms_error_v);
  // The estimator has found the aged R0 (the true factor is 1.5).
  CHECK(adaptive.r0_factor == doctest::Approx(1.5).epsilon(0.03));
  // Frozen: the nominal R0 under-predicts the charge overpotential by 0.5 R0 |I| at the applied
  // current (up to 0.5 * 0.021 * 15 = 0.16 V; 68 mV measured over the tail): far above the 2 mV noise.
  CHECK(frozen.mean_error_v > 0.05);
  // Adaptive: the error is at the level of the measurement noise (1.1 mV mean, 1.2 mV rms measured).
  // The capacity factor moves towards 0.8 but needs more rests than this run has (0.91 measured).
  CHECK(std::abs(adaptive.mean_error_v) < 0.005);
  CHECK(adaptive.rms_error_v < 0.01);
}

TEST_CASE("set_estimated_factors refuses bad factors and changes nothing") {
  BatteryMpc mpc(BatteryMpcConfig{});
  REQUIRE(mpc.set_estimated_factors(1.2, 0.9) == Status::ok);
  CHECK(mpc.set_estimated_factors(kNan, 1.0) == Status::non_finite_input);
  CHECK(mpc.set_estimated_factors(1.0, -1.0) == Status::invalid_argument);
  CHECK(mpc.r0_factor_in_use() == 1.2);
  CHECK(mpc.capacity_factor_in_use() == 0.9);
  mpc.set_estimates_frozen(true);
  CHECK(mpc.r0_factor_in_use() == 1.0);
  CHECK(mpc.capacity_factor_in_use() == 1.0);
}
