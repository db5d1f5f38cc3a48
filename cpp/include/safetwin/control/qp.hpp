#pragma once
// The QP solver interface of the core (the "hook"): any solver that takes a dense convex QP with
// box bounds, two-sided general rows and optionally L1-softened rows, a warm start, and returns a
// solution, a status and an iteration count. The MPC builds QpData, any QpSolver solves it: the
// built-in DenseQpSolver (dense_qp_solver.hpp), or a solver written in Python through the binding.
//
//   minimise    1/2 x'Hx + f'x + sum_i soft_penalty[i] * dist(A_i x, [lower_i, upper_i])
//   subject to  lb <= x <= ub                      (always hard)
//               lower_i <= A_i x <= upper_i        for the hard rows (soft_penalty[i] = +inf)
//
// dist() is the L1 distance to the interval (an exact penalty: a row that can be met is met once
// soft_penalty exceeds its multiplier). Infinite entries of lb/ub/lower/upper mean "no limit".
// All arrays are caller-owned and column-major (Eigen's default); nothing is copied.
#include <cstdint>
#include <vector>

#include <Eigen/Core>

#include "safetwin/status.hpp"

namespace safetwin::control {

// What the solver concluded (the call itself never fails: bad data is the invalid_input verdict).
enum class QpStatus : std::uint8_t {
  optimal = 0,        // KKT conditions hold to the solver's tolerance
  max_iterations,     // the iteration cap was hit; x is the last iterate, not a solution
  primal_infeasible,  // the hard constraints admit no point
  dual_infeasible,    // unbounded (only a solver that accepts a semidefinite H can say so)
  numerical_error,    // H not positive definite to working precision, or a breakdown
  invalid_input,      // sizes out of range, NaN in the data, an empty soft interval, ...
  solver_error,       // the solver itself failed: a hook raised, or returned a result of the wrong shape
};

[[nodiscard]] constexpr const char* to_string(QpStatus s) noexcept {
  switch (s) {
    case QpStatus::optimal: return "optimal";
    case QpStatus::max_iterations: return "max_iterations";
    case QpStatus::primal_infeasible: return "primal_infeasible";
    case QpStatus::dual_infeasible: return "dual_infeasible";
    case QpStatus::numerical_error: return "numerical_error";
    case QpStatus::invalid_input: return "invalid_input";
    case QpStatus::solver_error: return "solver_error";
  }
  return "unknown";
}

// The core-wide Status that a QP verdict maps to (optimal -> ok).
[[nodiscard]] constexpr Status to_status(QpStatus s) noexcept {
  switch (s) {
    case QpStatus::optimal: return Status::ok;
    case QpStatus::max_iterations: return Status::max_iterations;
    case QpStatus::primal_infeasible: return Status::primal_infeasible;
    case QpStatus::dual_infeasible: return Status::dual_infeasible;
    case QpStatus::numerical_error: return Status::numerical_error;
    case QpStatus::invalid_input: return Status::invalid_argument;
    case QpStatus::solver_error: return Status::numerical_error;
  }
  return Status::numerical_error;
}

// A view of one QP. n variables, m general rows.
struct QpData {
  int n = 0;
  int m = 0;
  const double* H = nullptr;  // n x n, symmetric positive definite (both triangles stored)
  const double* f = nullptr;  // n
  const double* A = nullptr;  // m x n, column-major with leading dimension lda (>= m)
  int lda = 0;
  const double* lower = nullptr;         // m (may hold -inf)
  const double* upper = nullptr;         // m (may hold +inf)
  const double* lb = nullptr;            // n (may hold -inf)
  const double* ub = nullptr;            // n (may hold +inf)
  const double* soft_penalty = nullptr;  // m: > 0 finite = L1-softened row, +inf = hard; nullptr = all hard
  // Identifies H: a solver may reuse its factorisation while two calls carry the same nonzero id
  // (the MPC's condensed Hessian is constant). 0 = unknown, factor every call.
  std::uint64_t hessian_id = 0;
};

// Working-set state of one one-sided constraint, for reporting and warm starts.
enum class ActiveState : std::int8_t {
  inactive = 0,
  lower = -1,  // the lower limit holds with equality (hard or soft)
  upper = 1,   // the upper limit holds with equality (hard or soft)
  below = -2,  // a soft row violated below its lower limit (multiplier at -penalty)
  above = 2,   // a soft row violated above its upper limit (multiplier at +penalty)
};

// Solution storage, sized once for the largest problem (n_max, m_max); a solve writes the leading
// n / m entries. Multipliers follow the sign convention of the Lagrangian
//   H x + f + A'y + z = 0,  y_i > 0 at the upper limit, y_i < 0 at the lower limit (same for z).
struct QpSolution {
  QpSolution() = default;
  QpSolution(int n_max, int m_max) { resize(n_max, m_max); }
  void resize(int n_max, int m_max);  // allocates: construction only

  Eigen::VectorXd x;                     // primal solution
  Eigen::VectorXd y;                     // general-row multipliers
  Eigen::VectorXd z;                     // bound multipliers
  std::vector<ActiveState> row_state;    // per general row
  std::vector<ActiveState> bound_state;  // per variable
  double objective = 0.0;                // including the L1 penalties
  int iterations = 0;
  QpStatus status = QpStatus::invalid_input;
  int n = 0;
  int m = 0;
};

class QpSolver {
 public:
  virtual ~QpSolver() = default;
  // Solves qp. warm may be null; when not null and of the same size, it seeds the solve (its
  // working sets and multipliers, or x, as the solver can use them). Writes sol and returns
  // sol.status. Must not throw; the built-in solver also does not allocate.
  // Sizes are checked on entry: sol (and a warm start with warm->n == qp.n, warm->m == qp.m)
  // must hold n entries in x, z and bound_state and m in y and row_state, else invalid_input
  // (nothing is written past an array's end). A warm start of another size is ignored.
  [[nodiscard]] virtual QpStatus solve(const QpData& qp, const QpSolution* warm, QpSolution& sol) noexcept = 0;
  [[nodiscard]] virtual const char* name() const noexcept = 0;
};

// Objective of x for qp (with the L1 penalties), and the largest violation of a hard constraint.
// For tests and hooks; no allocation.
[[nodiscard]] double qp_objective(const QpData& qp, const double* x) noexcept;
[[nodiscard]] double qp_hard_violation(const QpData& qp, const double* x) noexcept;

}  // namespace safetwin::control
