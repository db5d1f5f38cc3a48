// LinearMpc: the condensed LTI MPC against the non-condensed KKT system solved by Eigen, in closed
// loop on a double integrator with bounds and softened output limits, bad input, no allocation.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include <Eigen/Dense>

#include "alloc_counter.hpp"
#include "safetwin/control/linear_mpc.hpp"

using namespace safetwin;
using namespace safetwin::control;

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// Double integrator (position, velocity), input acceleration, dt = 0.1; output = velocity.
LinearMpcConfig double_integrator(int horizon = 20) {
  LinearMpcConfig c;
  const double dt = 0.1;
  c.A = Eigen::Matrix2d{{1.0, dt}, {0.0, 1.0}};
  c.B = Eigen::Vector2d{0.5 * dt * dt, dt};
  c.C = Eigen::RowVector2d{0.0, 1.0};
  c.D = Eigen::MatrixXd::Zero(1, 1);
  c.e = Eigen::Vector2d{0.0, 0.0};
  c.state_weight = Eigen::Vector2d{10.0, 1.0};
  c.rate_weight = Eigen::VectorXd::Constant(1, 0.1);
  c.u_min = Eigen::VectorXd::Constant(1, -2.0);
  c.u_max = Eigen::VectorXd::Constant(1, 2.0);
  c.y_min = Eigen::VectorXd::Constant(1, -1.0);
  c.y_max = Eigen::VectorXd::Constant(1, 1.0);
  c.y_penalty = Eigen::VectorXd::Constant(1, 1e3);
  c.horizon = horizon;
  c.max_horizon = 40;
  return c;
}

// The same QP without condensing: z = [x_1..x_N, u_0..u_N-1], equality-constrained, solved by LU.
Eigen::VectorXd reference_plan(const LinearMpcConfig& c, const Eigen::VectorXd& x0, const Eigen::VectorXd& r,
                               const Eigen::VectorXd& u_prev) {
  const int N = c.horizon, nx = static_cast<int>(c.A.rows()), nu = static_cast<int>(c.B.cols());
  const int nz = N * (nx + nu), ne = N * nx;
  Eigen::MatrixXd K = Eigen::MatrixXd::Zero(nz + ne, nz + ne);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(nz + ne);
  const int u0 = N * nx;
  for (int k = 0; k < N; ++k) {
    for (int i = 0; i < nx; ++i) {
      K(k * nx + i, k * nx + i) += 2.0 * c.state_weight[i];
      rhs(k * nx + i) += 2.0 * c.state_weight[i] * r[i];
    }
    for (int i = 0; i < nu; ++i) {  // rate terms (u_k - u_{k-1})' R (.)
      const double w = 2.0 * c.rate_weight[i];
      const int p = u0 + k * nu + i;
      K(p, p) += w;
      if (k == 0) {
        rhs(p) += w * u_prev[i];
      } else {
        K(p - nu, p - nu) += w;
        K(p, p - nu) -= w;
        K(p - nu, p) -= w;
      }
    }
    // x_{k+1} - A x_k - B u_k = e
    const int row = nz + k * nx;
    K.block(row, k * nx, nx, nx) = Eigen::MatrixXd::Identity(nx, nx);
    if (k > 0) K.block(row, (k - 1) * nx, nx, nx) = -c.A;
    K.block(row, u0 + k * nu, nx, nu) = -c.B;
    rhs.segment(row, nx) = c.e + (k == 0 ? Eigen::VectorXd(c.A * x0) : Eigen::VectorXd::Zero(nx));
  }
  K.block(0, nz, nz, ne) = K.block(nz, 0, ne, nz).transpose();
  const Eigen::VectorXd z = K.fullPivLu().solve(rhs);
  return z.segment(u0, N * nu);
}
}  // namespace

TEST_CASE("with no limit active the condensed MPC equals the non-condensed KKT solution") {
  LinearMpcConfig c = double_integrator(15);
  c.u_min[0] = -100.0;
  c.u_max[0] = 100.0;
  c.y_min[0] = -kInf;
  c.y_max[0] = kInf;
  c.e = Eigen::Vector2d{0.001, -0.002};  // an affine term too
  LinearMpc mpc(c);
  const Eigen::Vector2d x0{1.0, 0.3}, r{0.2, 0.0};
  const Eigen::VectorXd up = Eigen::VectorXd::Constant(1, 0.4);
  double u = 0.0;
  REQUIRE(mpc.step(x0.data(), r.data(), up.data(), &u) == Status::ok);
  const Eigen::VectorXd ref = reference_plan(c, x0, r, up);
  for (int k = 0; k < 15; ++k) CHECK(mpc.plan()[k] == doctest::Approx(ref[k]).epsilon(1e-9));
  CHECK(u == doctest::Approx(ref[0]).epsilon(1e-9));
}

TEST_CASE("closed loop: reaches the target within input bounds and the softened velocity limit") {
  LinearMpc mpc(double_integrator());
  Eigen::Vector2d x{5.0, 0.0};
  const Eigen::Vector2d r{0.0, 0.0};
  // The plant in fixed-size copies: the config's dynamic A and B would allocate a temporary for
  // every product and the count below would measure the test, not the MPC.
  const Eigen::Matrix2d A = mpc.config().A;
  const Eigen::Vector2d B = mpc.config().B;
  double u = 0.0, vmax = 0.0;
  int iters = 0;
  const long allocs = safetwin::test::count_allocations([&] {
    for (int k = 0; k < 200; ++k) {
      double u_next = 0.0;
      REQUIRE(mpc.step(x.data(), r.data(), &u, &u_next) == Status::ok);
      u = u_next;
      iters += mpc.last_solution().iterations;
      x = A * x + B * u;
      vmax = std::max(vmax, std::abs(x[1]));
      CHECK(std::abs(u) <= 2.0 + 1e-12);
    }
  });
  CHECK(allocs == 0);
  CHECK(std::abs(x[0]) < 1e-3);
  CHECK(vmax > 0.99);         // the velocity limit binds on the way
  CHECK(vmax <= 1.0 + 1e-6);  // and holds (the penalty is exact)
  CHECK(iters > 0);
}

TEST_CASE("bad input falls back to a finite input; configuration is validated") {
  LinearMpc mpc(double_integrator());
  const Eigen::Vector2d r{0.0, 0.0};
  Eigen::Vector2d x{1.0, 0.0};
  double u = 0.0, prev = 0.0;
  REQUIRE(mpc.step(x.data(), r.data(), &prev, &u) == Status::ok);
  const double next = mpc.plan()[1];
  x[0] = std::numeric_limits<double>::quiet_NaN();
  CHECK(mpc.step(x.data(), r.data(), &prev, &u) == Status::non_finite_input);
  CHECK(u == doctest::Approx(next));
  CHECK_THROWS_WITH_AS(mpc.set_horizon(41), doctest::Contains("max_horizon = 40"), std::invalid_argument);
  LinearMpcConfig c = double_integrator();
  c.rate_weight[0] = 0.0;
  CHECK_THROWS_WITH_AS(LinearMpc{c}, doctest::Contains("LinearMpcConfig.rate_weight[0]"), std::invalid_argument);
  c = double_integrator();
  c.B = Eigen::MatrixXd::Ones(3, 1);
  CHECK_THROWS_WITH_AS(LinearMpc{c}, doctest::Contains("LinearMpcConfig.B.rows"), std::invalid_argument);
  c = double_integrator();
  c.y_min[0] = 2.0;
  CHECK_THROWS_WITH_AS(LinearMpc{c}, doctest::Contains("LinearMpcConfig.y_min[0]"), std::invalid_argument);
}
