#pragma once
// A linear time-invariant MPC condensed into a dense QP, for any (A, B, C, D): the generic form of
// what BatteryMpc does for the time-varying battery model.
//
//   x[k+1] = A x[k] + B u[k] + e,            y[k] = C x[k] + D u[k]
//   min  sum_{k=1..N} (x[k] - x_ref)' Q (x[k] - x_ref) + sum_{k=0..N-1} (u[k] - u[k-1])' R (u[k] - u[k-1])
//        + sum_{k=0..N-1} sum_i rho_i * dist(y_i[k], [y_min_i, y_max_i])      (exact L1; rho = inf: hard)
//   s.t. u_min <= u[k] <= u_max
// Q and R are diagonal (weights per state and input; R > 0 makes the QP strictly convex).
//
// Everything that depends only on the model is computed at construction for max_horizon: the
// prediction matrices of a shorter horizon are leading blocks of those of the longest, so
// set_horizon() only re-forms the (constant) Hessian. A step is matrix-vector work plus the QP,
// allocates nothing and never throws. The decision variable is scaled per input by
// max(|u_min|, |u_max|) and the objective by its largest Hessian diagonal, whatever solver is
// plugged in. Timing contract: step() once per sample period of the model.
#include <cstdint>

#include <Eigen/Core>

#include "safetwin/control/dense_qp_solver.hpp"
#include "safetwin/control/qp.hpp"
#include "safetwin/status.hpp"

namespace safetwin::control {

struct LinearMpcConfig {
  Eigen::MatrixXd A, B, C, D;    // nx x nx, nx x nu, ny x nx, ny x nu
  Eigen::VectorXd e;             // nx affine term of the dynamics (empty: zero)
  Eigen::VectorXd state_weight;  // Q, nx entries >= 0
  Eigen::VectorXd rate_weight;   // R, nu entries > 0
  Eigen::VectorXd u_min, u_max;  // nu, finite, u_min < u_max
  Eigen::VectorXd y_min, y_max;  // ny, may be -inf / +inf
  Eigen::VectorXd y_penalty;     // ny: L1 penalty per unit of violation, > 0; +inf = hard limit
  int horizon = 10;
  int max_horizon = 50;
  DenseQpSettings qp{};
  void validate() const;  // throws std::invalid_argument naming the field
};

class LinearMpc {
 public:
  explicit LinearMpc(LinearMpcConfig config, QpSolver* solver = nullptr);  // solver not owned

  // x0 (nx), x_ref (nx), u_prev (nu: the input applied last) -> u (nu), the first planned input.
  // Not ok: non_finite_input (NaN/inf in the inputs). When the QP was not solved, or on that
  // error, last_decision() is fallback and u the shifted previous plan clipped to the bounds, else
  // the bound-clipped zero. Never NaN.
  [[nodiscard]] Status step(const double* x0, const double* x_ref, const double* u_prev, double* u) noexcept;
  void reset() noexcept { have_plan_ = false; }
  [[nodiscard]] Decision last_decision() const noexcept { return last_decision_; }  // of the last step()

  void set_horizon(int n);  // 1 <= n <= max_horizon (configuration call, may throw)
  void set_solver(QpSolver* solver) noexcept;
  [[nodiscard]] int horizon() const noexcept { return n_; }
  [[nodiscard]] int nx() const noexcept { return nx_; }
  [[nodiscard]] int nu() const noexcept { return nu_; }
  [[nodiscard]] int ny() const noexcept { return ny_; }
  [[nodiscard]] const QpData& last_qp() const noexcept { return qp_; }
  [[nodiscard]] const QpSolution& last_solution() const noexcept { return sol_; }
  [[nodiscard]] const double* plan() const noexcept { return plan_.data(); }  // N * nu, unscaled
  [[nodiscard]] const LinearMpcConfig& config() const noexcept { return config_; }

 private:
  using Mat = Eigen::MatrixXd;
  using Vec = Eigen::VectorXd;
  void build_hessian() noexcept;
  void fallback(double* u) noexcept;

  LinearMpcConfig config_;
  DenseQpSolver builtin_;
  Decision last_decision_ = Decision::fallback;
  QpSolver* solver_;
  int nx_, nu_, ny_, n_;
  std::uint64_t hessian_id_ = 0;
  double obj_scale_ = 1.0;
  Vec su_;  // input scaling, nu
  // Prediction over max_horizon: X = Phi x0 + Gam U + E (stacked x[1..N]); Y = Cphi x0 + Gy U + Ce
  // (stacked y[0..N-1]); columns of Gam and Gy already scaled by su_.
  Mat Phi_, Gam_, Cphi_, Gy_;
  Vec E_, Ce_;
  // QP storage.
  Vec H_;  // contiguous n*nu x n*nu
  Mat A_;  // rows of the QP (ny * max_horizon x nu * max_horizon)
  Vec f_, lower_, upper_, lb_, ub_, rho_, w_, yc_;
  QpData qp_;
  QpSolution sol_, warm_;
  Vec plan_;
  bool have_plan_ = false;
  bool warm_valid_ = false;
};

}  // namespace safetwin::control
