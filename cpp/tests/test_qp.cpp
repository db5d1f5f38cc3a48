// The built-in dense QP solver on problems with hand-computed solutions, the KKT conditions on
// random strictly convex QPs, statuses of infeasible / bad / badly scaled data, warm starts, and
// zero allocations per solve. (The comparison with OSQP and Clarabel is in tests/test_qp_solver.py.)
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

#include <Eigen/Dense>

#include "alloc_counter.hpp"
#include "safetwin/control/dense_qp_solver.hpp"

using namespace safetwin;
using namespace safetwin::control;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// A QP owning its arrays, with a QpData view.
struct Problem {
  int n, m;
  Eigen::MatrixXd H, A;
  Eigen::VectorXd f, lower, upper, lb, ub, rho;
  Problem(int n_, int m_)
      : n(n_),
        m(m_),
        H(Eigen::MatrixXd::Identity(n_, n_)),
        A(Eigen::MatrixXd::Zero(m_, n_)),
        f(Eigen::VectorXd::Zero(n_)),
        lower(Eigen::VectorXd::Constant(m_, -kInf)),
        upper(Eigen::VectorXd::Constant(m_, kInf)),
        lb(Eigen::VectorXd::Constant(n_, -kInf)),
        ub(Eigen::VectorXd::Constant(n_, kInf)),
        rho(Eigen::VectorXd::Constant(m_, kInf)) {}
  QpData data(std::uint64_t id = 0) const {
    QpData d;
    d.n = n;
    d.m = m;
    d.H = H.data();
    d.f = f.data();
    d.A = A.data();
    d.lda = static_cast<int>(A.rows());
    d.lower = lower.data();
    d.upper = upper.data();
    d.lb = lb.data();
    d.ub = ub.data();
    d.soft_penalty = rho.data();
    d.hessian_id = id;
    return d;
  }
};

// Largest violation of the KKT conditions of a (hard) QP at sol: stationarity, primal
// feasibility, sign and complementarity of the multipliers.
double kkt_error(const Problem& p, const QpSolution& s) {
  const Eigen::VectorXd x = s.x.head(p.n), y = s.y.head(p.m), z = s.z.head(p.n);
  double e = (p.H * x + p.f + p.A.transpose() * y + z).lpNorm<Eigen::Infinity>();
  const Eigen::VectorXd ax = p.A * x;
  for (int i = 0; i < p.m; ++i) {
    e = std::max({e, ax[i] - p.upper[i], p.lower[i] - ax[i]});
    if (y[i] > 0) e = std::max(e, std::abs(y[i] * (ax[i] - p.upper[i])));
    if (y[i] < 0) e = std::max(e, std::abs(y[i] * (ax[i] - p.lower[i])));
  }
  for (int j = 0; j < p.n; ++j) {
    e = std::max({e, x[j] - p.ub[j], p.lb[j] - x[j]});
    if (z[j] > 0) e = std::max(e, std::abs(z[j] * (x[j] - p.ub[j])));
    if (z[j] < 0) e = std::max(e, std::abs(z[j] * (x[j] - p.lb[j])));
  }
  return e;
}

Problem random_problem(std::uint64_t seed, int n, int m) {
  std::srand(static_cast<unsigned>(seed));
  Problem p(n, m);
  const Eigen::MatrixXd M = Eigen::MatrixXd::Random(n, n);
  p.H = M * M.transpose() + 0.1 * Eigen::MatrixXd::Identity(n, n);
  p.f = 3.0 * Eigen::VectorXd::Random(n);
  p.A = Eigen::MatrixXd::Random(m, n);
  // Feasible by construction: the limits bracket A x_feas for a point inside the bounds.
  const Eigen::VectorXd xf = 0.5 * Eigen::VectorXd::Random(n);
  const Eigen::VectorXd axf = p.A * xf;
  for (int i = 0; i < m; ++i) {
    p.lower[i] = axf[i] - 0.3 - 0.2 * std::abs(Eigen::VectorXd::Random(1)[0]);
    p.upper[i] = axf[i] + 0.1 + 0.2 * std::abs(Eigen::VectorXd::Random(1)[0]);
    if (i % 3 == 0) p.lower[i] = -kInf;
  }
  p.lb = Eigen::VectorXd::Constant(n, -1.0);
  p.ub = Eigen::VectorXd::Constant(n, 1.0);
  return p;
}
}  // namespace

TEST_CASE("unconstrained and box-constrained QPs have their analytic solutions") {
  DenseQpSolver solver(3, 2);
  QpSolution sol(3, 2);
  Problem p(2, 0);
  p.H << 2.0, 0.5, 0.5, 1.0;
  p.f << -1.0, -1.0;
  REQUIRE(solver.solve(p.data(), nullptr, sol) == QpStatus::optimal);
  const Eigen::Vector2d x = p.H.ldlt().solve(-p.f);
  CHECK(sol.x[0] == doctest::Approx(x[0]).epsilon(1e-12));
  CHECK(sol.x[1] == doctest::Approx(x[1]).epsilon(1e-12));
  CHECK(sol.iterations == 0);

  // min (x0-3)^2 + (x1+3)^2 on [-1, 1]^2: the corner (1, -1), multipliers from stationarity.
  Problem b(2, 0);
  b.H = 2.0 * Eigen::MatrixXd::Identity(2, 2);
  b.f << -6.0, 6.0;
  b.lb << -1.0, -1.0;
  b.ub << 1.0, 1.0;
  REQUIRE(solver.solve(b.data(), nullptr, sol) == QpStatus::optimal);
  CHECK(sol.x[0] == doctest::Approx(1.0));
  CHECK(sol.x[1] == doctest::Approx(-1.0));
  CHECK(sol.z[0] == doctest::Approx(4.0));  // 2*1 - 6 + z = 0
  CHECK(sol.z[1] == doctest::Approx(-4.0));
  CHECK(sol.bound_state[0] == ActiveState::upper);
  CHECK(sol.bound_state[1] == ActiveState::lower);
  CHECK(kkt_error(b, sol) < 1e-12);
}

TEST_CASE("a general row: projection onto a half-plane") {
  // min |x - (2, 2)|^2 / 2 subject to x0 + x1 <= 2: x = (1, 1), y = 1.
  DenseQpSolver solver(2, 1);
  QpSolution sol(2, 1);
  Problem p(2, 1);
  p.f << -2.0, -2.0;
  p.A << 1.0, 1.0;
  p.upper << 2.0;
  REQUIRE(solver.solve(p.data(), nullptr, sol) == QpStatus::optimal);
  CHECK(sol.x[0] == doctest::Approx(1.0));
  CHECK(sol.x[1] == doctest::Approx(1.0));
  CHECK(sol.y[0] == doctest::Approx(1.0));
  CHECK(sol.row_state[0] == ActiveState::upper);
  CHECK(sol.objective == doctest::Approx(0.5 * 2.0 - 4.0));
}

TEST_CASE("an L1-softened row: met while its multiplier is below the penalty, violated above") {
  // min (x - 3)^2 / 2 + rho * max(0, x - 1): for rho < 2 the optimum is x = 3 - rho (violated,
  // multiplier at rho); for rho >= 2 it is x = 1 (the exact penalty meets the row).
  DenseQpSolver solver(1, 1);
  QpSolution sol(1, 1);
  Problem p(1, 1);
  p.f << -3.0;
  p.A << 1.0;
  p.upper << 1.0;
  for (double rho : {0.5, 1.5, 2.5, 100.0}) {
    p.rho << rho;
    REQUIRE(solver.solve(p.data(), nullptr, sol) == QpStatus::optimal);
    if (rho < 2.0) {
      CHECK(sol.x[0] == doctest::Approx(3.0 - rho));
      CHECK(sol.y[0] == doctest::Approx(rho));
      CHECK(sol.row_state[0] == ActiveState::above);
      const double x = 3.0 - rho;
      CHECK(sol.objective == doctest::Approx(0.5 * x * x - 3.0 * x + rho * (x - 1.0)).epsilon(1e-12));
    } else {
      CHECK(sol.x[0] == doctest::Approx(1.0));
      CHECK(sol.y[0] == doctest::Approx(2.0));
      CHECK(sol.row_state[0] == ActiveState::upper);
    }
  }
}

TEST_CASE("random strictly convex QPs satisfy the KKT conditions; warm start cuts iterations") {
  const int n = 12, m = 18;
  DenseQpSolver solver(n, m);
  QpSolution cold(n, m), warm(n, m);
  int cold_iters = 0, warm_iters = 0;
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    Problem p = random_problem(seed, n, m);
    REQUIRE(solver.solve(p.data(), nullptr, cold) == QpStatus::optimal);
    CHECK(kkt_error(p, cold) < 1e-8);
    // A small change of the linear term, warm-started from the previous working set.
    p.f += 0.01 * Eigen::VectorXd::Ones(n);
    REQUIRE(solver.solve(p.data(), &cold, warm) == QpStatus::optimal);
    CHECK(kkt_error(p, warm) < 1e-8);
    QpSolution again(n, m);
    REQUIRE(solver.solve(p.data(), nullptr, again) == QpStatus::optimal);
    CHECK((again.x - warm.x).norm() < 1e-9);
    cold_iters += again.iterations;
    warm_iters += warm.iterations;
  }
  MESSAGE("iterations over 40 QPs: cold " << cold_iters << ", warm " << warm_iters);
  CHECK(warm_iters * 3 < cold_iters);
}

TEST_CASE("infeasible, inconsistent and non-finite data get their own status") {
  DenseQpSolver solver(2, 2);
  QpSolution sol(2, 2);
  // x0 + x1 >= 3 with x in [0, 1]^2: infeasible through the combination of rows and bounds.
  Problem p(2, 1);
  p.A << 1.0, 1.0;
  p.lower << 3.0;
  p.lb << 0.0, 0.0;
  p.ub << 1.0, 1.0;
  CHECK(solver.solve(p.data(), nullptr, sol) == QpStatus::primal_infeasible);
  // The same row softened: feasible, violated by 1 at the penalty.
  p.rho << 10.0;
  REQUIRE(solver.solve(p.data(), nullptr, sol) == QpStatus::optimal);
  CHECK(sol.x[0] == doctest::Approx(1.0));
  CHECK(sol.x[1] == doctest::Approx(1.0));
  CHECK(sol.row_state[0] == ActiveState::below);
  // Two hard rows that contradict each other: x0 <= 0 and x0 >= 1.
  Problem q(2, 2);
  q.A << 1.0, 0.0, 1.0, 0.0;
  q.upper << 0.0, kInf;
  q.lower << -kInf, 1.0;
  CHECK(solver.solve(q.data(), nullptr, sol) == QpStatus::primal_infeasible);
  // lb > ub, lower > upper on a hard row
  Problem r(2, 1);
  r.lb << 1.0, 0.0;
  r.ub << 0.0, 1.0;
  CHECK(solver.solve(r.data(), nullptr, sol) == QpStatus::primal_infeasible);
  r.lb << 0.0, 0.0;
  r.A << 1.0, 0.0;
  r.lower << 2.0;
  r.upper << 1.0;
  CHECK(solver.solve(r.data(), nullptr, sol) == QpStatus::primal_infeasible);
  r.rho << 5.0;  // an empty interval cannot be a soft target
  CHECK(solver.solve(r.data(), nullptr, sol) == QpStatus::invalid_input);
  // NaN anywhere, size above the maximum, an indefinite Hessian
  Problem s(2, 1);
  s.f << kNan, 0.0;
  CHECK(solver.solve(s.data(), nullptr, sol) == QpStatus::invalid_input);
  s.f << 0.0, 0.0;
  s.A << kNan, 0.0;
  CHECK(solver.solve(s.data(), nullptr, sol) == QpStatus::invalid_input);
  s.A << 1.0, 0.0;
  s.H(0, 1) = s.H(1, 0) = 2.0;  // eigenvalues 3 and -1
  CHECK(solver.solve(s.data(), nullptr, sol) == QpStatus::numerical_error);
  Problem big(3, 0);
  CHECK(solver.solve(big.data(), nullptr, sol) == QpStatus::invalid_input);
  s.H(0, 1) = s.H(1, 0) = 1.0;  // singular (semidefinite): refused, not garbage
  CHECK(solver.solve(s.data(), nullptr, sol) == QpStatus::numerical_error);
}

TEST_CASE("badly scaled data: scaling keeps the solution; without it accuracy suffers") {
  // Variables in very different units (1e-4 and 1e4) and a row in huge units.
  Problem p(2, 1);
  p.H << 1e8, 0.0, 0.0, 1e-8;
  p.f << -1e4, -1e-4;  // unconstrained optimum (1e-4, 1e4)
  p.A << 1e6, 1e-6;    // 1e6 x0 + 1e-6 x1 <= 50 -> cuts the optimum
  p.upper << 50.0;
  DenseQpSolver solver(2, 1);
  QpSolution sol(2, 1);
  REQUIRE(solver.solve(p.data(), nullptr, sol) == QpStatus::optimal);
  // Analytic: substitute u = 1e4 x0, w = 1e-4 x1: min (u-1)^2/2 + (w-1)^2/2 s.t. 100u + 0.01w <= 50
  // -> projection of (1, 1) onto the half-plane.
  const double a0 = 100.0, a1 = 0.01, viol = a0 + a1 - 50.0, nn = a0 * a0 + a1 * a1;
  const double u = 1.0 - a0 * viol / nn, w = 1.0 - a1 * viol / nn;
  CHECK(sol.x[0] == doctest::Approx(u * 1e-4).epsilon(1e-9));
  CHECK(sol.x[1] == doctest::Approx(w * 1e4).epsilon(1e-9));
  CHECK(kkt_error(p, sol) < 1e-6);
}

TEST_CASE("the factor is reused while hessian_id stays the same, and a solve allocates nothing") {
  const int n = 30, m = 60;
  DenseQpSolver solver(n, m);
  QpSolution a(n, m), b(n, m);
  Problem p = random_problem(7, n, m);
  p.rho.head(20).setConstant(5.0);  // some soft rows
  REQUIRE(solver.solve(p.data(42), nullptr, a) == QpStatus::optimal);
  const long allocs = safetwin::test::count_allocations([&] {
    for (int k = 0; k < 200; ++k) {
      p.f[k % n] += 1e-3;
      (void)solver.solve(p.data(42), k % 2 == 0 ? &a : nullptr, k % 2 == 0 ? b : a);
    }
  });
  CHECK(allocs == 0);
  CHECK(solver.factorisations() == 1);
  CHECK(a.status == QpStatus::optimal);
  CHECK(b.status == QpStatus::optimal);
}

TEST_CASE("construction refuses bad sizes and settings, naming the field") {
  CHECK_THROWS_WITH_AS(DenseQpSolver(0, 1), doctest::Contains("DenseQpSolver.n_max"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(DenseQpSolver(2, -1), doctest::Contains("DenseQpSolver.m_max"), std::invalid_argument);
  DenseQpSettings s;
  s.max_iterations = 0;
  CHECK_THROWS_WITH_AS(DenseQpSolver(2, 1, s), doctest::Contains("DenseQpSettings.max_iterations"),
                       std::invalid_argument);
}

TEST_CASE("a solution or warm start too small for the problem is refused, nothing written past it") {
  DenseQpSolver solver(4, 2);
  Problem p(2, 1);
  p.f << -2.0, -2.0;
  p.A << 1.0, 1.0;
  p.upper << 2.0;
  // A caller-built solution with every array but z sized: refused before anything is written.
  QpSolution sol;
  sol.x = Eigen::VectorXd::Constant(2, 7.0);
  sol.y = Eigen::VectorXd::Constant(1, 7.0);
  sol.row_state.assign(1, ActiveState::inactive);
  sol.bound_state.assign(2, ActiveState::inactive);
  CHECK(solver.solve(p.data(), nullptr, sol) == QpStatus::invalid_input);
  CHECK(sol.status == QpStatus::invalid_input);
  CHECK(sol.x[0] == 7.0);
  CHECK(sol.y[0] == 7.0);
  QpSolution empty;
  CHECK(solver.solve(p.data(), nullptr, empty) == QpStatus::invalid_input);
  sol.z = Eigen::VectorXd::Zero(2);
  sol.row_state.clear();  // m = 1 row states needed
  CHECK(solver.solve(p.data(), nullptr, sol) == QpStatus::invalid_input);

  // The reference solve, then a warm start that claims this size but cannot hold it.
  QpSolution good(2, 1), out(2, 1);
  REQUIRE(solver.solve(p.data(), nullptr, good) == QpStatus::optimal);
  QpSolution bad_warm = good;
  bad_warm.z.resize(0);
  CHECK(solver.solve(p.data(), &bad_warm, out) == QpStatus::invalid_input);
  bad_warm = good;
  bad_warm.y.resize(0);
  CHECK(solver.solve(p.data(), &bad_warm, out) == QpStatus::invalid_input);
  // A warm start of another problem size is ignored (documented): the cold result, bit for bit.
  QpSolution other(4, 2);
  other.n = 3;
  other.m = 2;
  REQUIRE(solver.solve(p.data(), &other, out) == QpStatus::optimal);
  CHECK(out.x[0] == good.x[0]);
  CHECK(out.x[1] == good.x[1]);
  CHECK(out.iterations == good.iterations);
  // The analytic solution (projection of (2, 2) onto x0 + x1 <= 2) once more, after the refusals.
  CHECK(out.x[0] == doctest::Approx(1.0));
  CHECK(out.y[0] == doctest::Approx(1.0));
}

TEST_CASE("the iteration cap: max_iterations, the iterate so far, finite, and the cap's count") {
  // min sum_j (x_j - t_j)^2 / 2 on [-1, 1]^n with every target t_j > 1: separable, so each
  // iteration adds one upper bound and leaves the others alone; the solver adds the most violated
  // first, t_j = 2 + 0.1 j, i.e. j = n-1, n-2, ... The capped iterate is known exactly: the cap
  // stops the loop right after the cap-th bound entered, before its multiplier was solved, so the
  // last cap - 1 variables sit at 1 and the rest still at their targets.
  const int n = 20, cap = 7;
  DenseQpSettings s;
  s.max_iterations = cap;
  DenseQpSolver capped(n, 0, s), full(n, 0);
  Problem p(n, 0);
  for (int j = 0; j < n; ++j) p.f[j] = -(2.0 + 0.1 * j);
  p.lb.setConstant(-1.0);
  p.ub.setConstant(1.0);
  QpSolution sol(n, 0);
  CHECK(capped.solve(p.data(), nullptr, sol) == QpStatus::max_iterations);
  CHECK(sol.status == QpStatus::max_iterations);
  CHECK(sol.iterations == cap);
  CHECK(sol.x.head(n).allFinite());
  for (int j = 0; j < n; ++j)
    CHECK(sol.x[j] == doctest::Approx(j >= n - (cap - 1) ? 1.0 : 2.0 + 0.1 * j).epsilon(1e-12));
  CHECK(to_status(sol.status) == Status::max_iterations);
  // Uncapped it takes n iterations and reaches the corner.
  QpSolution opt(n, 0);
  REQUIRE(full.solve(p.data(), nullptr, opt) == QpStatus::optimal);
  CHECK(opt.iterations == n);
  for (int j = 0; j < n; ++j) CHECK(opt.x[j] == doctest::Approx(1.0));
  // Warm-started from the optimum, the capped solver finishes within its cap (0 changes).
  QpSolution warm(n, 0);
  CHECK(capped.solve(p.data(), &opt, warm) == QpStatus::optimal);
  CHECK(warm.iterations == 0);
}
