#pragma once
// The built-in QP solver: a dense dual active-set method (the family of Goldfarb–Idnani and DAQP)
// with the L1-softened rows handled inside the solver, so the QP keeps n variables and no slacks.
//
// Why this algorithm (measured on MPC-FC, see the issue and benchmarks/bench_mpc.py): the MPC's
// condensed Hessian is constant, so its Cholesky factor R (H = R'R) and R^-1 are computed once
// and reused while QpData::hessian_id stays the same; from one MPC step to the next the active set
// changes by a few constraints, so a warm-started active-set method takes a few cheap O(n^2)
// iterations, where ADMM needs hundreds and an interior point refactors every iteration.
//
// Method. With v = R x + R^-T f the QP is min 1/2|v|^2 subject to m_c'v <= d_c for every
// one-sided constraint c (m_c = R^-T a_c). Its dual is a box-constrained QP in the multipliers,
//   min 1/2 |sum_c lambda_c m_c|^2 + sum_c lambda_c d_c,   0 <= lambda_c <= rho_c,
// with rho_c = +inf for hard constraints and rho_c = soft_penalty for softened rows: a softened
// row whose multiplier sits at rho_c is violated and pays the penalty. The solver runs a primal
// active-set method on this dual (three states per constraint: at 0, free, at rho), keeping an
// LDL' factor of the Gram matrix of the free constraints, updated by one row per change.
// Termination: the dual iterate is always in its box (dual feasibility) and stationarity holds by
// construction; the solver stops when no constraint is violated beyond primal_tolerance (primal
// feasibility) and no softened row at its penalty is strictly satisfied (complementarity).
// A hard constraint that would have to enter while linearly dependent on the free set, with no
// multiplier able to give way, proves primal infeasibility.
//
// Scaling: variables are scaled by 1/sqrt(H_ii) and rows to unit norm inside the solver (the
// caller sees unscaled x, y, z), so badly scaled data costs accuracy only where H itself is
// ill-conditioned; a Hessian that is not positive definite to working precision is refused with
// numerical_error.
//
// Allocation: every buffer is sized for (n_max, m_max) at construction; solve() allocates nothing
// and throws nothing. Not thread-safe per object (it caches the factor): one solver per thread.
#include <cstdint>

#include <Eigen/Core>

#include "safetwin/control/qp.hpp"

namespace safetwin::control {

struct DenseQpSettings {
  // Working-set changes per solve: the bound on one solve's time. Each change costs O(n^2) (the
  // LDL' update, the primal update and the O(n (n + m)) scan for the most violated constraint);
  // a warm start adds the LDL' of its working set, O(k^3 / 6) for k constraints. At the cap the
  // solve returns max_iterations with the last iterate (finite, not a solution). Measured at the
  // MPC's size (n = 30, m = 60): benchmarks/bench_wcet.py.
  int max_iterations = 200;
  double primal_tolerance = 1e-9;       // violation allowed, in units of the unit-norm scaled rows
  double dependence_tolerance = 1e-11;  // relative pivot below which a constraint is dependent
  bool scale = true;                    // diagonal scaling of variables and rows (see above)
  void validate() const;                // throws std::invalid_argument naming the field
};

class DenseQpSolver final : public QpSolver {
 public:
  // Largest problem this object solves. Throws std::invalid_argument on bad sizes or settings.
  DenseQpSolver(int n_max, int m_max, DenseQpSettings settings = {});

  // See QpSolver::solve. warm: its row_state / bound_state choose the starting working set and
  // its multipliers the starting point (clipped into the box); x is not used.
  [[nodiscard]] QpStatus solve(const QpData& qp, const QpSolution* warm, QpSolution& sol) noexcept override;
  [[nodiscard]] const char* name() const noexcept override { return "builtin"; }
  // Factors qp's Hessian now unless the factor of the same nonzero hessian_id (and size) is in
  // place; solve() does the same first. A caller with a constant Hessian calls it at setup (the
  // MPC does, at construction) so that no step pays the O(n^3) factorisation. Returns optimal
  // when the factor is ready, invalid_input (size, null or non-finite H) or numerical_error.
  [[nodiscard]] QpStatus prepare(const QpData& qp) noexcept;

  [[nodiscard]] int n_max() const noexcept { return n_max_; }
  [[nodiscard]] int m_max() const noexcept { return m_max_; }
  [[nodiscard]] const DenseQpSettings& settings() const noexcept { return settings_; }
  // Number of Hessian factorisations done so far (the MPC test checks it stays at one).
  [[nodiscard]] std::uint64_t factorisations() const noexcept { return factorisations_; }

 private:
  using Mat = Eigen::MatrixXd;
  using Vec = Eigen::VectorXd;
  using RowMat = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  // One-sided constraint c in [0, 2n + 2m): c < n upper bound of x_c, c < 2n lower bound of
  // x_(c-n), c < 2n + m upper limit of row c-2n, else lower limit of row c-2n-m.
  [[nodiscard]] double rhs(int c) const noexcept;          // b_c of a_c'x <= b_c (scaled)
  [[nodiscard]] double penalty(int c) const noexcept;      // rho_c (scaled), +inf for hard
  [[nodiscard]] double residual(int c) const noexcept;     // a_c'x - b_c at the current x
  [[nodiscard]] double dual_offset(int c) const noexcept;  // d_c = b_c - a_c'x0
  void transformed_row(int c, double* out) noexcept;       // m_c = R^-T a_c
  [[nodiscard]] bool factor_hessian(const QpData& qp) noexcept;
  [[nodiscard]] QpStatus scale_data(const QpData& qp) noexcept;
  // LDL' of the Gram matrix of the free set.
  [[nodiscard]] bool ldl_append(int c, double lambda) noexcept;  // false: dependent
  void ldl_remove(int pos) noexcept;
  void solve_free(double* rhs_in_out) const noexcept;  // G_FF^-1 in place (length nf_)
  void solve_lt(Eigen::Ref<Vec> x) const noexcept;     // L^-T in place
  void update_primal() noexcept;                       // x from the multipliers
  void write_solution(const QpData& qp, QpSolution& sol, QpStatus st, int iters) noexcept;

  int n_max_, m_max_;
  DenseQpSettings settings_;
  std::uint64_t factorised_id_ = 0;
  int factor_n_ = 0;  // size of the factored Hessian
  std::uint64_t factorisations_ = 0;
  bool have_factor_ = false;

  // Problem of the current call, scaled.
  int n_ = 0, m_ = 0;
  Vec dx_;                  // variable scaling: x = dx .* x_scaled
  Vec dr_;                  // row scaling: row_scaled = row .* dx / dr
  Mat R_;                   // upper Cholesky factor of the scaled H
  Mat Rinv_;                // R^-1 (upper triangular)
  Mat Hinv_;                // R^-1 R^-T = the scaled H^-1: the Gram entries of pairs of bounds
  Mat As_;                  // scaled rows (m x n)
  Vec rnorm_;               // scratch: row norms, then their inverses
  double obj_const_ = 0.0;  // penalty of violated zero soft rows (constant)
  Vec fs_, lbs_, ubs_, los_, ups_, rhos_;
  Vec x0_;   // unconstrained minimiser -H^-1 f (scaled)
  Vec ax0_;  // A x0 (scaled rows)
  Vec xs_;   // current primal iterate (scaled)
  Vec v_;    // v-space point
  Vec w_;    // sum over "at penalty" constraints of rho_c m_c
  Vec ax_;   // A x of the current iterate (scaled rows)
  Vec mc_;   // m_c of the constraint being added
  Vec g_;    // scratch of the LDL updates

  // Dual active-set state.
  Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1> state_;  // 0 at zero, 1 free, 2 at penalty
  Eigen::VectorXi free_;                                 // constraint index of each free position
  Vec lambda_;                                           // multiplier of each constraint (all 2n + 2m)
  Mat Mf_;                                               // columns m_c of the free constraints (n x n_max)
  RowMat L_;  // unit lower factor (n_max x n_max), row-major: solves read rows
  Vec D_;     // pivots
  Vec lstar_, dir_;
  int nf_ = 0;
};

}  // namespace safetwin::control
