#pragma once
// MPC-FC (spec/reference-problems.md): the battery fast-charge MPC. Each call linearises the one
// cell model (battery/cell_model.hpp: its step, terminal voltage and dual-number Jacobians, in the
// estimate's structure 2RC + lumped thermal) about the current estimate and the shifted previous
// plan (a real-time-iteration scheme), condenses the horizon into a dense QP
// in the N currents, and hands that QP to a QpSolver (the built-in DenseQpSolver unless a hook is
// plugged in). Timing contract: compute() once per control period dt_s; it allocates nothing and
// never throws.
//
// Worst case (what bounds one compute(), measured by benchmarks/bench_wcet.py): at most
// `linearisations` QPs per call, `cold_start_linearisations` on the first call after construction
// or reset(); each QP at most DenseQpSettings::max_iterations (200) working-set changes of the
// built-in solver, each O(N^2), plus one O(N^2) linearisation; the constant Hessian is factored
// at construction and set_horizon(), never in compute(). A QP stopped by its cap is not used:
// compute() returns the fallback (status ok, decision fallback, qp_status max_iterations).
//
// The QP, in the planned currents I[0..N-1] (A, > 0 discharges):
//   min  sum_{k=1..N} w_soc (SOC[k] - target)^2 + sum_{k=0..N-1} w_rate (I[k] - I[k-1])^2
//        + rho_v * sum_{k=0..N-1} max(0, V[k] - V_max + m_v[k])
//        + rho_t * sum_{k=1..N}   max(0, T[k] - T_max + m_t[k])
//   s.t. max(current_min_a of the config, of the input) <= I[k] <= min(current_max_a, input's)
// V[k] is the terminal voltage under the planned current I[k]; T[k] the temperature after k
// steps; m_v, m_t the chance-constraint margins from the estimate's covariance P (zero for P = 0).
// SOC is linear in the currents, so the condensed Hessian is constant: it is built once per
// horizon and the built-in solver factors it once (QpData::hessian_id). Only the voltage and
// temperature rows change from step to step. The QP is scaled internally: the decision variable
// is I / I_scale with I_scale the largest current magnitude allowed, and the objective is divided
// by the largest diagonal entry of the Hessian, whatever solver is plugged in.
//
// Temperature-limit correction (measured on MPC-FC, N = 30): the heat term I^2 R0 is convex but its
// tangent about the nominal plan is linear, so the linearised QP has almost no curvature along
// "move current from one step to another" (the SOC and rate weights are tiny): it behaves like an
// LP, jumps between vertices and, when the temperature limit first binds, oscillates for about
// 20 steps between 7.6 and 15 A with a few mK of overshoot. A second linearisation about the first
// QP's plan (linearisations = 2) does not remove that (measured: it oscillates as long, 14 mK
// overshoot). What does is a proximal term proximal_weight * |I - I_nominal|^2 (a constant
// Levenberg–Marquardt curvature standing in for the heat term's curvature in the SQP Hessian): it
// adds a constant diagonal, so the Hessian stays constant and is still factored once, and it
// vanishes at the fixed point of the real-time iteration (I = I_nominal), so the converged plan is
// that of the original problem. With 1e-2 A^-2 the current ramps smoothly from 15 A to the
// thermal limit, with no overshoot beyond 1e-11 K and the time to SOC 0.79 changed by < 0.03 %.
#include <array>
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/control/chance_constraint.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/control/dense_qp_solver.hpp"
#include "safetwin/control/qp.hpp"

namespace safetwin::control {

struct BatteryMpcConfig {
  int horizon = 30;       // N, steps of dt_s
  int max_horizon = 120;  // storage is sized for this; set_horizon() may go up to it
  double dt_s = 1.0;      // control period (compute() refuses another dt)
  double soc_target = 0.8;
  double soc_weight = 100.0;         // per SOC^2 per step
  double rate_weight = 1e-3;         // per A^2 per step, on I[k] - I[k-1]
  double voltage_penalty = 1e4;      // exact L1 penalty per V and step of violation
  double temperature_penalty = 1e4;  // per K and step
  double current_min_a = -15.0;      // most negative current (charge), A
  double current_max_a = 0.0;        // most positive current; <= 0 (a charging MPC: no V_min rows)
  ChanceForm chance_form = ChanceForm::gaussian;
  double chance_alpha = 0.05;  // each limit holds with probability >= 1 - alpha
  int linearisations = 1;      // QPs per step: 1 = plain RTI; 2.. re-linearise about the last plan
  // At most, on the first call (no plan yet), until the plan settles (1 mA). From the CC-CV start
  // 2 are as close to the settled plan as 8 were from the last current held (measured over SOC
  // 0.7-0.79 and 10-35 degC at N = 30 and 120), and cost a quarter (benchmarks/bench_wcet.py).
  int cold_start_linearisations = 2;
  // The first call's nominal plan: true = the CC-CV-shaped plan (see compute()), whose working
  // set also seeds the first QP; false = the last current held, with a cold QP.
  bool cold_start_cccv = true;
  double proximal_weight = 1e-2;  // per A^2 per step on I[k] - nominal I[k] (see above); 0 = off
  DenseQpSettings qp{};           // settings of the built-in solver
  battery::CellParams cell = battery::CellParams::ref_cell_1();  // model and limits (V_max, T_max)
  // Throws std::invalid_argument naming the field (e.g. "BatteryMpcConfig.horizon").
  void validate() const;
};

// What the last compute() did, for diagnostics, tests and benchmarks.
struct BatteryMpcStep {
  Status status = Status::not_initialised;
  Decision decision = Decision::fallback;  // applied: the first planned current was the output
  QpStatus qp_status = QpStatus::invalid_input;
  int iterations = 0;         // QP iterations over all linearisations
  int linearisations = 0;     // QPs solved
  double current_lb_a = 0.0;  // bounds in force
  double current_ub_a = 0.0;
  double objective = 0.0;  // of the last QP (scaled units)
};

class BatteryMpc final : public Controller {
 public:
  // With the built-in solver. Throws std::invalid_argument on a bad config.
  explicit BatteryMpc(BatteryMpcConfig config);
  // With a solver hook (not owned; must outlive the MPC); nullptr = the built-in solver.
  BatteryMpc(BatteryMpcConfig config, QpSolver* solver);

  // Reads the estimate x = [SOC, v1, v2, T], its covariance P, the last applied current and the
  // current limits in force (the supervisor derates by narrowing them: honoured every call).
  // Cold start (no plan yet, after construction or reset()): the nominal plan is CC-CV shaped,
  // the nonlinear model stepped over the horizon with, at each step, the most charge current
  // that keeps the voltage, the next temperature and the SOC target (a greedy CC-CV with a
  // thermal limit); the bounds and rows that bind in it seed the first QP's working set. That
  // plan is close to the QP's, so the linearisations settle in a few warm-started QPs instead of
  // a cold QP and up to cold_start_linearisations re-linearisations.
  // Returns ok with decision applied and the first planned current; otherwise out.current_a is
  // the fallback (the shifted previous plan clipped to the bounds, else 0 clipped to them), the
  // decision is fallback and the status says why: ok (the QP was not solved to optimality:
  // last_step().qp_status), non_finite_input (NaN/inf in x, P or the last current),
  // invalid_argument (dt_s differs from the config, empty bounds, T <= 0). Never NaN.
  [[nodiscard]] Status compute(const ControllerInput& in, ControllerOutput& out) noexcept override;
  void reset() noexcept override;  // forget the plan (next call starts from the last current)

  // Configuration calls (may throw std::invalid_argument, not for the step path).
  void set_horizon(int n);                     // 1 <= n <= max_horizon; rebuilds the constant Hessian
  void set_solver(QpSolver* solver) noexcept;  // nullptr = built-in

  // The adaptive twin: the estimator's joint estimates (BatteryEkf::r0_factor(), capacity_factor())
  // scale the cell in the prediction (voltage and temperature rows, the chance margins) from the
  // next compute() on; the SOC-tracking cost keeps the nominal capacity, so the Hessian stays
  // constant and is factored once. Step path: no allocation; a non-finite or non-positive factor is
  // refused (invalid_argument) and changes nothing. While frozen (certification runs that want the
  // nominal cell) the estimates are ignored and the prediction uses factors 1.
  [[nodiscard]] Status set_estimated_factors(double r0_factor, double capacity_factor) noexcept;
  void set_estimates_frozen(bool frozen) noexcept { frozen_ = frozen; }
  [[nodiscard]] bool estimates_frozen() const noexcept { return frozen_; }
  [[nodiscard]] double r0_factor_in_use() const noexcept { return frozen_ ? 1.0 : r0_factor_; }
  [[nodiscard]] double capacity_factor_in_use() const noexcept { return frozen_ ? 1.0 : capacity_factor_; }
  [[nodiscard]] int horizon() const noexcept { return n_; }
  [[nodiscard]] const BatteryMpcConfig& config() const noexcept { return config_; }
  [[nodiscard]] double chance_multiplier_value() const noexcept { return chance_q_; }

  // Diagnostics of the last compute().
  [[nodiscard]] const BatteryMpcStep& last_step() const noexcept { return last_; }
  // Planned currents I[0..N-1] (A) of the last successful or fallback step.
  [[nodiscard]] const double* plan_a() const noexcept { return plan_.data(); }
  // Linear predictions at the plan: V[0..N-1] (V) and T[1..N] (K), and the chance margins.
  [[nodiscard]] const double* predicted_voltage_v() const noexcept { return pred_.data(); }
  [[nodiscard]] const double* predicted_temp_k() const noexcept { return pred_.data() + n_; }
  [[nodiscard]] const double* margin_voltage_v() const noexcept { return margin_.data(); }
  [[nodiscard]] const double* margin_temp_k() const noexcept { return margin_.data() + n_; }
  // The last QP handed to the solver (scaled; valid until the next compute()).
  [[nodiscard]] const QpData& last_qp() const noexcept { return qp_; }
  [[nodiscard]] double current_scale_a() const noexcept { return i_scale_; }
  [[nodiscard]] double objective_scale() const noexcept { return obj_scale_; }
  [[nodiscard]] const DenseQpSolver& builtin_solver() const noexcept { return builtin_; }

 private:
  using Mat = Eigen::MatrixXd;
  using Vec = Eigen::VectorXd;
  using Structure = battery::RefStructure;  // the estimate's layout (battery::StateIdx)
  // The prediction's factors on the nominal cell: the estimator's, or 1 while frozen.
  [[nodiscard]] battery::ModelFactors<double> prediction_factors() const noexcept {
    return {r0_factor_in_use(), capacity_factor_in_use(), 1.0};
  }
  void build_hessian() noexcept;
  // Nominal trajectory and condensed rows about inom_ from x0; fills A_, upper_, margins.
  void linearise(const battery::StateVector& x0, const battery::StateMatrix& P, bool use_p) noexcept;
  void build_linear_term(double soc0, double last_current_a) noexcept;
  void shift_warm_start() noexcept;
  // The cold start's nominal plan into inom_ and its working set into warm_ (see compute()).
  void cccv_plan(const battery::StateVector& x0, double lb, double ub) noexcept;
  [[nodiscard]] Status fallback(ControllerOutput& out, Status why, double lb, double ub) noexcept;

  BatteryMpcConfig config_;
  DenseQpSolver builtin_;
  QpSolver* solver_;
  int n_;
  double chance_q_;
  double i_scale_ = 1.0;
  double obj_scale_ = 1.0;
  double soc_per_as_ = 0.0;  // eta dt / (3600 Q): SOC change per A of one step (nominal Q: the cost)
  // The model's decays of the fixed time constants at dt_s, [discharge, charge] (set up once).
  std::array<std::array<double, Structure::rc_pairs>, 2> fixed_decay_{};
  double r0_factor_ = 1.0;  // the estimator's, set by set_estimated_factors
  double capacity_factor_ = 1.0;
  bool frozen_ = false;
  std::uint64_t hessian_id_ = 0;

  // QP storage, sized for max_horizon: n = N, m = 2N (voltage rows 0..N-1, temperature rows).
  Vec H_;  // n x n Hessian, contiguous (leading dimension n)
  Mat A_;
  Vec f_, lower_, upper_, lb_, ub_, rho_;
  QpData qp_;
  QpSolution sol_, warm_;
  bool have_plan_ = false;   // plan_ holds a plan (nominal inputs and fallback)
  bool warm_valid_ = false;  // sol_ is the current solver's solution of the last step

  // Nominal plan, trajectory and the one model's linearisation along it (linearise()).
  Vec inom_;  // nominal currents I[0..N-1] (A)
  Mat xs_;    // nx x (N + 1): nominal states x[0..N]
  Mat fk_;    // nx x (nx N): block k = d x[k+1] / d x[k]
  Mat gk_;    // nx x N: column k = d x[k+1] / d I[k]
  Mat dvdx_;  // nx x N: column k = (d V[k] / d x[k])^T
  Vec dvdi_;  // d V[k] / d I[k]
  Vec vbar_;  // V[k] at the nominal plan
  Vec plan_, pred_, margin_, offset_;
  BatteryMpcStep last_;
};

}  // namespace safetwin::control
