#include "safetwin/control/battery_mpc.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <utility>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::control {

using battery::StateIdx;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// Each constant Hessian gets its own id, so a solver shared by several MPCs never reuses a
// factor that belongs to another problem.
std::uint64_t next_hessian_id() {
  static std::atomic<std::uint64_t> counter{0};
  return ++counter;
}

}  // namespace

void BatteryMpcConfig::validate() const {
  if (max_horizon < 1 || max_horizon > 1000)
    throw_invalid("BatteryMpcConfig.max_horizon", max_horizon, "must be in [1, 1000]");
  if (horizon < 1 || horizon > max_horizon)
    throw_invalid("BatteryMpcConfig.horizon", horizon,
                  "must be in [1, max_horizon = " + std::to_string(max_horizon) + "]");
  require_positive("BatteryMpcConfig.dt_s", dt_s);
  require_in_range("BatteryMpcConfig.soc_target", soc_target, 0.0, 1.0);
  require_positive("BatteryMpcConfig.soc_weight", soc_weight);
  require_positive("BatteryMpcConfig.rate_weight", rate_weight);
  require_non_negative("BatteryMpcConfig.proximal_weight", proximal_weight);
  require_positive("BatteryMpcConfig.voltage_penalty", voltage_penalty);
  require_positive("BatteryMpcConfig.temperature_penalty", temperature_penalty);
  require_finite("BatteryMpcConfig.current_min_a", current_min_a);
  require_finite("BatteryMpcConfig.current_max_a", current_max_a);
  if (current_max_a > 0.0)
    throw_invalid("BatteryMpcConfig.current_max_a", current_max_a,
                  "must be <= 0 (a charging MPC: it has no minimum-voltage rows)");
  if (!(current_min_a < current_max_a))
    throw_invalid("BatteryMpcConfig.current_min_a", current_min_a,
                  "must be < current_max_a = " + std::to_string(current_max_a));
  if (chance_form != ChanceForm::gaussian && chance_form != ChanceForm::cantelli)
    throw_invalid("BatteryMpcConfig.chance_form", static_cast<double>(chance_form), "must be gaussian or cantelli");
  if (!(chance_alpha > 0.0 && chance_alpha <= 0.5))
    throw_invalid("BatteryMpcConfig.chance_alpha", chance_alpha, "must be in (0, 0.5]");
  if (linearisations < 1 || linearisations > 5)
    throw_invalid("BatteryMpcConfig.linearisations", linearisations, "must be in [1, 5]");
  if (cold_start_linearisations < 1 || cold_start_linearisations > 50)
    throw_invalid("BatteryMpcConfig.cold_start_linearisations", cold_start_linearisations, "must be in [1, 50]");
  qp.validate();
  cell.validate();
  // The controller's input is the estimator's [SOC, v1, v2, T] (battery::StateIdx): the prediction
  // runs the one model in that structure; its surfaces (tables, charge side, entropic) are the model's.
  if (cell.rc_pairs != battery::RefStructure::rc_pairs ||
      cell.hysteresis.has_value() != battery::RefStructure::hysteresis)
    throw_invalid("BatteryMpcConfig.cell",
                  "must have REF-CELL-1's structure (2 RC pairs, no hysteresis): the controller's input is "
                  "the estimate [SOC, v1, v2, T]");
}

BatteryMpc::BatteryMpc(BatteryMpcConfig config) : BatteryMpc(std::move(config), nullptr) {}

BatteryMpc::BatteryMpc(BatteryMpcConfig config, QpSolver* solver)
    : config_((config.validate(), std::move(config))),
      builtin_(config_.max_horizon, 2 * config_.max_horizon, config_.qp),
      solver_(solver != nullptr ? solver : &builtin_),
      n_(config_.horizon),
      chance_q_(chance_multiplier(config_.chance_form, config_.chance_alpha)) {
  const int nm = config_.max_horizon;
  H_ = Vec::Zero(static_cast<Eigen::Index>(nm) * nm);
  A_ = Mat::Zero(2 * nm, nm);
  f_ = Vec::Zero(nm);
  lb_ = Vec::Zero(nm);
  ub_ = Vec::Zero(nm);
  lower_ = Vec::Constant(2 * nm, -kInf);
  upper_ = Vec::Zero(2 * nm);
  rho_ = Vec::Zero(2 * nm);
  sol_.resize(nm, 2 * nm);
  warm_.resize(nm, 2 * nm);
  constexpr int nx = Structure::size;
  inom_ = Vec::Zero(nm);
  dvdi_ = Vec::Zero(nm);
  vbar_ = Vec::Zero(nm);
  xs_ = Mat::Zero(nx, nm + 1);
  fk_ = Mat::Zero(nx, nx * nm);
  gk_ = Mat::Zero(nx, nm);
  dvdx_ = Mat::Zero(nx, nm);
  plan_ = Vec::Zero(nm);
  pred_ = Vec::Zero(2 * nm);
  margin_ = Vec::Zero(2 * nm);
  offset_ = Vec::Zero(2 * nm);
  const auto& c = config_.cell;
  soc_per_as_ = c.coulombic_efficiency * config_.dt_s / (3600.0 * c.capacity_ah);
  for (int charging = 0; charging < 2; ++charging)
    fixed_decay_[charging] = battery::fixed_decays<Structure::rc_pairs>(c, charging == 1, config_.dt_s);
  i_scale_ = std::max({std::abs(config_.current_min_a), std::abs(config_.current_max_a), 1e-3});
  build_hessian();
}

void BatteryMpc::set_horizon(int n) {
  if (n < 1 || n > config_.max_horizon)
    throw_invalid("BatteryMpc.horizon", n, "must be in [1, max_horizon = " + std::to_string(config_.max_horizon) + "]");
  config_.horizon = n;
  n_ = n;
  build_hessian();
  reset();
}

void BatteryMpc::set_solver(QpSolver* solver) noexcept {
  solver_ = solver != nullptr ? solver : &builtin_;
  warm_valid_ = false;  // another solver: its warm start starts afresh (the plan stays)
}

Status BatteryMpc::set_estimated_factors(double r0_factor, double capacity_factor) noexcept {
  if (!std::isfinite(r0_factor) || !std::isfinite(capacity_factor)) return Status::non_finite_input;
  if (!(r0_factor > 0.0) || !(capacity_factor > 0.0)) return Status::invalid_argument;
  r0_factor_ = r0_factor;
  capacity_factor_ = capacity_factor;
  return Status::ok;
}

void BatteryMpc::reset() noexcept {
  have_plan_ = false;
  warm_valid_ = false;
  plan_.setZero();
}

// The constant part: H of the SOC tracking and rate terms, in the scaled variable I / i_scale.
void BatteryMpc::build_hessian() noexcept {
  const int n = n_;
  const double ws = config_.soc_weight, wr = config_.rate_weight, c = soc_per_as_;
  Eigen::Map<Mat> H(H_.data(), n, n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      // SOC[k] = SOC0 - c * sum_{j<k} I[j]: sum_k (sum_{j<k} I_j)^2 couples i, j in N - max(i, j) terms.
      double h = 2.0 * ws * c * c * static_cast<double>(n - std::max(i, j));
      if (i == j) h += 2.0 * wr * (i == n - 1 ? 1.0 : 2.0) + 2.0 * config_.proximal_weight;
      if (std::abs(i - j) == 1) h -= 2.0 * wr;
      H(i, j) = h * i_scale_ * i_scale_;
    }
  obj_scale_ = H.diagonal().maxCoeff();
  H /= obj_scale_;
  hessian_id_ = next_hessian_id();
  for (int k = 0; k < n; ++k) {
    rho_[k] = config_.voltage_penalty / obj_scale_;
    rho_[n + k] = config_.temperature_penalty / obj_scale_;
  }
  qp_.n = n;
  qp_.m = 2 * n;
  qp_.H = H_.data();
  qp_.f = f_.data();
  qp_.A = A_.data();
  qp_.lda = static_cast<int>(A_.rows());
  qp_.lower = lower_.data();
  qp_.upper = upper_.data();
  qp_.lb = lb_.data();
  qp_.ub = ub_.data();
  qp_.soft_penalty = rho_.data();
  qp_.hessian_id = hessian_id_;
  // The constant Hessian factored now, not in the first step's solve (its O(N^3) would be most of
  // a cold start at N = 120). It cannot fail: H is positive definite by construction; if it did,
  // the first solve would factor again and report it.
  (void)builtin_.prepare(qp_);
}

void BatteryMpc::build_linear_term(double soc0, double last_current_a) noexcept {
  const int n = n_;
  const double ws = config_.soc_weight, wr = config_.rate_weight, c = soc_per_as_;
  const double e = soc0 - config_.soc_target;
  const double s = i_scale_ / obj_scale_;
  for (int j = 0; j < n; ++j) f_[j] = -2.0 * ws * c * e * static_cast<double>(n - j) * s;
  f_[0] += -2.0 * wr * last_current_a * s;
  for (int j = 0; j < n; ++j) f_[j] += -2.0 * config_.proximal_weight * inom_[j] * s;
}

void BatteryMpc::linearise(const battery::StateVector& x0, const battery::StateMatrix& P, bool use_p) noexcept {
  constexpr int nx = Structure::size;
  const int n = n_;
  const auto& cell = config_.cell;
  const battery::ModelFactors<double> factors = prediction_factors();

  // The per-step Jacobians as fixed-size views (contiguous storage: the products vectorise).
  using battery::StateMatrix;
  using battery::StateVector;
  const auto f_at = [this](int k) { return Eigen::Map<const StateMatrix>(fk_.data() + nx * nx * k); };
  const auto g_at = [this](int k) { return Eigen::Map<const StateVector>(gk_.data() + nx * k); };
  const auto c_at = [this](int k) { return Eigen::Map<const StateVector>(dvdx_.data() + nx * k); };

  // 1. Nominal trajectory under inom_ and the Jacobians along it, all from the one cell model
  // (cell_model.hpp: its step, its terminal voltage and their dual-number Jacobians).
  xs_.col(0) = x0;
  for (int k = 0; k < n; ++k) {
    battery::StepLinearisation<Structure, 0> step;
    battery::VoltageLinearisation<Structure, 0> volt;
    const StateVector xk = xs_.col(k);
    battery::linearise_step_and_voltage<Structure>(cell, xk.data(), inom_[k], config_.dt_s, factors, step, volt, {},
                                                   &fixed_decay_[inom_[k] < 0.0 ? 1 : 0]);
    xs_.col(k + 1) = step.x_next;
    Eigen::Map<StateMatrix>(fk_.data() + nx * nx * k) = step.f;
    gk_.col(k) = step.g;
    dvdx_.col(k) = volt.dv_dx.transpose();
    dvdi_[k] = volt.dv_di;
    vbar_[k] = volt.v;
  }

  // 2. Condensed rows. Row k (V[k], k < n) and row n + k - 1 (T[k], k >= 1) in I[j]: the
  // sensitivity s = d x[k] / d I[j], started by d x[j+1] / d I[j] and propagated by the step
  // Jacobians d x[k+1] / d x[k].
  for (int j = 0; j < n; ++j) {
    double* col = A_.col(j).data();                         // column j: V rows 0..n-1, T rows n..2n-1
    for (int k = 0; k < j; ++k) col[k] = col[n + k] = 0.0;  // before I[j] nothing depends on it
    StateVector sens = g_at(j) * i_scale_;                  // in the scaled variable I / i_scale
    col[j] = dvdi_[j] * i_scale_;                           // V[j] under I[j]
    for (int k = j + 1; k < n; ++k) {
      col[n + k - 1] = sens[Structure::temp];  // T[k]
      col[k] = c_at(k).dot(sens);              // V[k]
      sens = f_at(k) * sens;                   // fixed size: the product's temporary is on the stack
    }
    col[2 * n - 1] = sens[Structure::temp];  // T[n]
  }
  auto A = A_.topLeftCorner(2 * n, n);

  // 3. Chance margins: variance of V[k], T[k] from P through the state-transition Jacobians.
  if (use_p) {
    StateMatrix phi = StateMatrix::Identity();
    for (int k = 0; k <= n; ++k) {
      if (k < n) {
        const Eigen::Matrix<double, 1, nx> row = c_at(k).transpose() * phi;
        margin_[k] = chance_margin(chance_q_, row * P * row.transpose());
      }
      if (k >= 1) {
        const Eigen::Matrix<double, 1, nx> row = phi.row(Structure::temp);
        margin_[n + k - 1] = chance_margin(chance_q_, row * P * row.transpose());
      }
      if (k == n) break;
      phi = f_at(k) * phi;
    }
  } else {
    margin_.head(2 * n).setZero();
  }

  // 4. Right-hand sides: limit - margin - (nominal - row * nominal input).
  const double vmax = cell.limits.voltage_max_v, tmax = cell.limits.temp_max_k;
  offset_.head(2 * n).noalias() = A * inom_.head(n);
  for (int r = 0; r < 2 * n; ++r) {
    const double nominal = r < n ? vbar_[r] : xs_(Structure::temp, r - n + 1);
    offset_[r] = nominal - offset_[r] / i_scale_;
    upper_[r] = (r < n ? vmax : tmax) - margin_[r] - offset_[r];
  }
}

void BatteryMpc::shift_warm_start() noexcept {
  // The previous plan moved one step ahead: entry k takes entry k + 1, the last one repeats.
  const int n = n_;
  warm_.n = n;
  warm_.m = 2 * n;
  for (int j = 0; j < n; ++j) {
    const int from = std::min(j + 1, n - 1);
    warm_.x[j] = sol_.x[from];
    warm_.z[j] = sol_.z[from];
    warm_.bound_state[static_cast<std::size_t>(j)] = sol_.bound_state[static_cast<std::size_t>(from)];
  }
  for (int block = 0; block < 2; ++block)
    for (int k = 0; k < n; ++k) {
      const int from = block * n + std::min(k + 1, n - 1);
      warm_.y[block * n + k] = sol_.y[from];
      warm_.row_state[static_cast<std::size_t>(block * n + k)] = sol_.row_state[static_cast<std::size_t>(from)];
    }
}

void BatteryMpc::cccv_plan(const battery::StateVector& x0, double lb, double ub) noexcept {
  const int n = n_;
  const auto& cell = config_.cell;
  const double dt = config_.dt_s;
  const double vmax = cell.limits.voltage_max_v, tmax = cell.limits.temp_max_k;
  const battery::ModelFactors<double> factors = prediction_factors();
  warm_.n = n;
  warm_.m = 2 * n;
  battery::StateVector x = x0, x_next;
  for (int k = 0; k < n; ++k) {
    // The one model frozen at x over one step (charge side): V = emf - R0 I,
    // T' = T + dt/C_th (R0 I^2 + heat_const_w), SOC' = SOC - soc_per_a I.
    const auto co = battery::step_coefficients<Structure>(cell, x.data(), dt, -1.0, factors);
    // The most charge (the most negative current) that each limit allows at this step.
    const double i_soc = (x[Structure::soc] - config_.soc_target) / co.soc_per_a;  // SOC[k+1] <= target
    const double i_v = (co.emf_v - vmax) / co.r0_ohm;                              // V[k] <= V_max
    const double heat_room = (tmax - x[Structure::temp]) / co.dt_per_cth - co.heat_const_w;
    const double i_t = -std::sqrt(std::max(0.0, heat_room) / co.r0_ohm);  // T[k+1] <= T_max
    const double limit = std::max({i_soc, i_v, i_t});
    const double i = std::clamp(limit, lb, ub);
    inom_[k] = std::isfinite(i) ? i : std::clamp(0.0, lb, ub);
    // The working set of this plan: the bound it sits on, else the row that set it.
    const auto ks = static_cast<std::size_t>(k);
    warm_.bound_state[ks] =
        inom_[k] <= lb ? ActiveState::lower : (inom_[k] >= ub ? ActiveState::upper : ActiveState::inactive);
    const bool interior = warm_.bound_state[ks] == ActiveState::inactive;
    warm_.row_state[ks] = interior && limit == i_v ? ActiveState::upper : ActiveState::inactive;
    warm_.row_state[static_cast<std::size_t>(n + k)] =
        interior && limit == i_t ? ActiveState::upper : ActiveState::inactive;
    warm_.x[k] = inom_[k] / i_scale_;
    warm_.z[k] = 0.0;
    warm_.y[k] = warm_.y[n + k] = 0.0;
    // The nonlinear model's step under it (as linearise's nominal trajectory).
    battery::step<Structure>(cell, x.data(), inom_[k], dt, factors, x_next.data());
    x = x_next;
  }
}

Status BatteryMpc::fallback(ControllerOutput& out, Status why, double lb, double ub) noexcept {
  // The shifted previous plan (its next entry) clipped to the bounds, else zero clipped to them.
  double i = 0.0;
  if (have_plan_ && n_ > 1) i = plan_[1];
  if (have_plan_) {
    for (int j = 0; j + 1 < n_; ++j) plan_[j] = plan_[j + 1];
  }
  if (lb <= ub) i = std::clamp(i, lb, ub);
  if (!std::isfinite(i)) i = 0.0;
  warm_valid_ = false;  // the solver's last output is not a solution
  out.current_a = i;
  last_.status = why;
  return why;
}

Status BatteryMpc::compute(const ControllerInput& in, ControllerOutput& out) noexcept {
  last_ = BatteryMpcStep{};  // decision fallback until a plan is accepted
  out.iterations = 0;
  out.decision = Decision::fallback;
  const int n = n_;
  // Limits in force: the config's intersected with the supervisor's.
  if (std::isnan(in.current_min_a) || std::isnan(in.current_max_a)) {
    out.current_a = 0.0;
    return last_.status = Status::non_finite_input;
  }
  const double lb = std::max(config_.current_min_a, in.current_min_a);
  const double ub = std::min(config_.current_max_a, in.current_max_a);
  last_.current_lb_a = lb;
  last_.current_ub_a = ub;
  if (!(lb <= ub)) {  // nothing the MPC may ask for: the supervisor's range alone decides
    out.current_a = in.current_min_a <= in.current_max_a ? std::clamp(0.0, in.current_min_a, in.current_max_a) : 0.0;
    if (!std::isfinite(out.current_a)) out.current_a = 0.0;
    return last_.status = Status::invalid_argument;
  }
  if (!in.x.allFinite() || !in.P.allFinite() || !std::isfinite(in.last_current_a) || !std::isfinite(in.dt_s))
    return fallback(out, Status::non_finite_input, lb, ub);
  if (std::abs(in.dt_s - config_.dt_s) > 1e-9 * config_.dt_s || !(in.x[StateIdx::temp] > 0.0))
    return fallback(out, Status::invalid_argument, lb, ub);
  const bool use_p = !in.P.isZero(0.0);

  // Nominal inputs: the shifted previous plan; on a cold start the CC-CV-shaped plan (whose
  // working set seeds the first QP) or the last current held.
  const bool cccv = !have_plan_ && config_.cold_start_cccv;
  if (cccv) {
    cccv_plan(in.x, lb, ub);
  } else {
    for (int j = 0; j < n; ++j) {
      const double i = have_plan_ ? plan_[std::min(j + 1, n - 1)] : in.last_current_a;
      inom_[j] = std::clamp(i, lb, ub);
    }
  }
  for (int j = 0; j < n; ++j) {
    lb_[j] = lb / i_scale_;
    ub_[j] = ub / i_scale_;
  }
  if (warm_valid_) shift_warm_start();
  const QpSolution* warm = warm_valid_ || cccv ? &warm_ : nullptr;

  // Cold start: the nominal plan is a guess (CC-CV shaped, or the last current held), so iterate
  // the linearisation until the plan settles; afterwards the shifted plan is a good nominal.
  const int max_lin =
      have_plan_ ? config_.linearisations : std::max(config_.linearisations, config_.cold_start_linearisations);
  QpStatus st = QpStatus::optimal;
  for (int it = 0; it < max_lin; ++it) {
    build_linear_term(in.x[StateIdx::soc], in.last_current_a);
    linearise(in.x, in.P, use_p);
    st = solver_->solve(qp_, warm, sol_);
    ++last_.linearisations;
    last_.iterations += sol_.iterations;
    last_.qp_status = st;
    last_.objective = sol_.objective;
    // Accept only a finite, bound-respecting optimal solution (a hook may return anything).
    bool good = st == QpStatus::optimal && sol_.x.size() >= n;
    for (int j = 0; good && j < n; ++j) {
      const double x = sol_.x[j];
      good = std::isfinite(x) && x >= lb_[j] - 1e-6 && x <= ub_[j] + 1e-6;
    }
    if (!good) {
      out.iterations = last_.iterations;
      if (st == QpStatus::optimal) last_.qp_status = QpStatus::numerical_error;
      return fallback(out, Status::ok, lb, ub);  // the call worked; it decided to fall back
    }
    double change = 0.0;
    for (int j = 0; j < n; ++j) {
      const double i = std::clamp(sol_.x[j] * i_scale_, lb, ub);
      change = std::max(change, std::abs(i - inom_[j]));
      inom_[j] = i;
    }
    if (!have_plan_ && it + 1 >= config_.linearisations && change < 1e-3) break;  // settled (1 mA)
    if (it + 1 < max_lin) {  // the next QP starts from this one's working set
      std::swap(warm_, sol_);
      warm = &warm_;
    }
  }
  for (int j = 0; j < n; ++j) plan_[j] = inom_[j];
  auto A = A_.topLeftCorner(2 * n, n);
  for (int r = 0; r < 2 * n; ++r) pred_[r] = A.row(r).dot(plan_.head(n)) / i_scale_ + offset_[r];
  have_plan_ = true;
  warm_valid_ = true;
  out.current_a = plan_[0];
  out.iterations = last_.iterations;
  out.decision = last_.decision = Decision::applied;
  return last_.status = Status::ok;
}

}  // namespace safetwin::control
