#include "safetwin/control/linear_mpc.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "safetwin/validate.hpp"

namespace safetwin::control {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t next_hessian_id() {
  // Ids above 2^62 so they never meet BatteryMpc's (both only need to differ from each other).
  static std::atomic<std::uint64_t> counter{std::uint64_t{1} << 62};
  return ++counter;
}

void require_size(const char* field, Eigen::Index got, Eigen::Index want) {
  if (got != want)
    throw_invalid(std::string("LinearMpcConfig.") + field, static_cast<double>(got),
                  "size must be " + std::to_string(want));
}
}  // namespace

void LinearMpcConfig::validate() const {
  const Eigen::Index nx = A.rows(), nu = B.cols(), ny = C.rows();
  if (nx < 1 || A.cols() != nx)
    throw_invalid("LinearMpcConfig.A", static_cast<double>(A.cols()), "must be square, nx >= 1");
  if (nu < 1) throw_invalid("LinearMpcConfig.B", static_cast<double>(nu), "must have >= 1 column");
  require_size("B.rows", B.rows(), nx);
  require_size("C.cols", C.cols(), nx);
  require_size("D.rows", D.rows(), ny);
  require_size("D.cols", D.cols(), nu);
  if (e.size() != 0) require_size("e", e.size(), nx);
  require_size("state_weight", state_weight.size(), nx);
  require_size("rate_weight", rate_weight.size(), nu);
  require_size("u_min", u_min.size(), nu);
  require_size("u_max", u_max.size(), nu);
  require_size("y_min", y_min.size(), ny);
  require_size("y_max", y_max.size(), ny);
  require_size("y_penalty", y_penalty.size(), ny);
  if (!A.allFinite() || !B.allFinite() || !C.allFinite() || !D.allFinite() || !e.allFinite())
    throw_invalid("LinearMpcConfig.A/B/C/D/e", "must be finite");
  for (Eigen::Index i = 0; i < nx; ++i)
    require_non_negative("LinearMpcConfig.state_weight[" + std::to_string(i) + "]", state_weight[i]);
  for (Eigen::Index i = 0; i < nu; ++i) {
    const std::string k = "[" + std::to_string(i) + "]";
    require_positive("LinearMpcConfig.rate_weight" + k, rate_weight[i]);
    require_finite("LinearMpcConfig.u_min" + k, u_min[i]);
    require_finite("LinearMpcConfig.u_max" + k, u_max[i]);
    if (!(u_min[i] < u_max[i]))
      throw_invalid("LinearMpcConfig.u_min" + k, u_min[i], "must be < u_max = " + std::to_string(u_max[i]));
  }
  for (Eigen::Index i = 0; i < ny; ++i) {
    const std::string k = "[" + std::to_string(i) + "]";
    if (std::isnan(y_min[i]) || std::isnan(y_max[i]) || !(y_min[i] <= y_max[i]) || y_min[i] == kInf ||
        y_max[i] == -kInf)
      throw_invalid("LinearMpcConfig.y_min" + k, y_min[i], "must be <= y_max = " + std::to_string(y_max[i]));
    if (!(y_penalty[i] > 0.0)) throw_invalid("LinearMpcConfig.y_penalty" + k, y_penalty[i], "must be > 0 (inf: hard)");
  }
  if (max_horizon < 1 || max_horizon > 1000)
    throw_invalid("LinearMpcConfig.max_horizon", max_horizon, "must be in [1, 1000]");
  if (horizon < 1 || horizon > max_horizon)
    throw_invalid("LinearMpcConfig.horizon", horizon,
                  "must be in [1, max_horizon = " + std::to_string(max_horizon) + "]");
  qp.validate();
}

LinearMpc::LinearMpc(LinearMpcConfig config, QpSolver* solver)
    : config_((config.validate(), std::move(config))),
      builtin_(config_.max_horizon * static_cast<int>(config_.B.cols()),
               config_.max_horizon * static_cast<int>(config_.C.rows()), config_.qp),
      solver_(solver != nullptr ? solver : &builtin_),
      nx_(static_cast<int>(config_.A.rows())),
      nu_(static_cast<int>(config_.B.cols())),
      ny_(static_cast<int>(config_.C.rows())),
      n_(config_.horizon) {
  const int N = config_.max_horizon, nx = nx_, nu = nu_, ny = ny_;
  const Vec e = config_.e.size() == 0 ? Vec::Zero(nx) : config_.e;
  su_ = config_.u_min.cwiseAbs().cwiseMax(config_.u_max.cwiseAbs()).cwiseMax(1e-12);
  // Prediction matrices for the longest horizon (scaled input columns).
  Phi_ = Mat::Zero(N * nx, nx);
  Gam_ = Mat::Zero(N * nx, N * nu);
  E_ = Vec::Zero(N * nx);
  Cphi_ = Mat::Zero(N * ny, nx);
  Gy_ = Mat::Zero(N * ny, N * nu);
  Ce_ = Vec::Zero(N * ny);
  const Mat Bs = config_.B * su_.asDiagonal();
  const Mat Ds = config_.D * su_.asDiagonal();
  Mat Ak = Mat::Identity(nx, nx);  // A^k
  Vec ek = Vec::Zero(nx);          // E_k = sum_{j<k} A^(k-1-j) e
  for (int k = 0; k < N; ++k) {
    Cphi_.block(k * ny, 0, ny, nx) = config_.C * Ak;
    Ce_.segment(k * ny, ny) = config_.C * ek;
    Gy_.block(k * ny, k * nu, ny, nu) = Ds;
    ek = config_.A * ek + e;
    Ak = config_.A * Ak;
    Phi_.block(k * nx, 0, nx, nx) = Ak;
    E_.segment(k * nx, nx) = ek;
  }
  // Gam(k, j) = A^(k-j) B for x[k+1] (block row k), Gy(k, j) = C A^(k-1-j) B for y[k], j < k.
  Mat AjB = Bs;
  for (int d = 0; d < N; ++d) {  // d = k - j
    for (int j = 0; j + d < N; ++j) {
      Gam_.block((j + d) * nx, j * nu, nx, nu) = AjB;
      if (j + d + 1 < N) Gy_.block((j + d + 1) * ny, j * nu, ny, nu) = config_.C * AjB;
    }
    AjB = config_.A * AjB;
  }
  H_ = Vec::Zero(static_cast<Eigen::Index>(N) * nu * N * nu);
  f_ = Vec::Zero(N * nu);
  lb_ = Vec::Zero(N * nu);
  ub_ = Vec::Zero(N * nu);
  lower_ = Vec::Zero(N * ny);
  upper_ = Vec::Zero(N * ny);
  rho_ = Vec::Zero(N * ny);
  w_ = Vec::Zero(N * nx);
  yc_ = Vec::Zero(N * ny);
  plan_ = Vec::Zero(N * nu);
  sol_.resize(N * nu, N * ny);
  warm_.resize(N * nu, N * ny);
  build_hessian();
}

void LinearMpc::build_hessian() noexcept {
  const int n = n_, nx = nx_, nu = nu_, ny = ny_, nn = n * nu;
  Eigen::Map<Mat> H(H_.data(), nn, nn);
  const auto G = Gam_.topLeftCorner(n * nx, nn);
  Vec q(n * nx);
  for (int k = 0; k < n; ++k) q.segment(k * nx, nx) = config_.state_weight;
  H.noalias() = 2.0 * G.transpose() * q.asDiagonal() * G;
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < nu; ++i) {
      const double r = 2.0 * config_.rate_weight[i] * su_[i] * su_[i];
      const int p = k * nu + i;
      H(p, p) += r * (k == n - 1 ? 1.0 : 2.0);
      if (k + 1 < n) {
        H(p, p + nu) -= r;
        H(p + nu, p) -= r;
      }
    }
  obj_scale_ = H.diagonal().maxCoeff();
  H /= obj_scale_;
  for (int k = 0; k < n; ++k) {
    for (int i = 0; i < nu; ++i) {
      lb_[k * nu + i] = config_.u_min[i] / su_[i];
      ub_[k * nu + i] = config_.u_max[i] / su_[i];
    }
    for (int i = 0; i < ny; ++i) rho_[k * ny + i] = config_.y_penalty[i] / obj_scale_;
  }
  hessian_id_ = next_hessian_id();
  qp_ = QpData{};
  qp_.n = nn;
  qp_.m = n * ny;
  qp_.H = H_.data();
  qp_.f = f_.data();
  qp_.A = Gy_.data();  // the rows are constant: the leading block of the prediction matrix
  qp_.lda = static_cast<int>(Gy_.rows());
  qp_.lower = lower_.data();
  qp_.upper = upper_.data();
  qp_.lb = lb_.data();
  qp_.ub = ub_.data();
  qp_.soft_penalty = rho_.data();
  qp_.hessian_id = hessian_id_;
}

void LinearMpc::set_horizon(int n) {
  if (n < 1 || n > config_.max_horizon)
    throw_invalid("LinearMpc.horizon", n, "must be in [1, max_horizon = " + std::to_string(config_.max_horizon) + "]");
  n_ = n;
  config_.horizon = n;
  build_hessian();
  have_plan_ = warm_valid_ = false;
}

void LinearMpc::set_solver(QpSolver* solver) noexcept {
  solver_ = solver != nullptr ? solver : &builtin_;
  warm_valid_ = false;
}

void LinearMpc::fallback(double* u) noexcept {
  const int n = n_, nu = nu_;
  for (int i = 0; i < nu; ++i) {
    double v = have_plan_ && n > 1 ? plan_[nu + i] : 0.0;
    v = std::clamp(v, config_.u_min[i], config_.u_max[i]);
    u[i] = std::isfinite(v) ? v : 0.0;
  }
  if (have_plan_)
    for (int k = 0; k + 1 < n; ++k) plan_.segment(k * nu, nu) = plan_.segment((k + 1) * nu, nu);
  warm_valid_ = false;
  last_decision_ = Decision::fallback;
}

Status LinearMpc::step(const double* x0, const double* x_ref, const double* u_prev, double* u) noexcept {
  const int n = n_, nx = nx_, nu = nu_, ny = ny_, nn = n * nu;
  bool finite = x0 != nullptr && x_ref != nullptr && u_prev != nullptr && u != nullptr;
  for (int i = 0; finite && i < nx; ++i) finite = std::isfinite(x0[i]) && std::isfinite(x_ref[i]);
  for (int i = 0; finite && i < nu; ++i) finite = std::isfinite(u_prev[i]);
  if (!finite) {
    if (u != nullptr) fallback(u);
    return Status::non_finite_input;
  }
  const Eigen::Map<const Vec> x(x0, nx), r(x_ref, nx);
  // f = 2 Gam' Q (Phi x0 + E - x_ref) - 2 R u_prev (first block), scaled.
  w_.head(n * nx).noalias() = Phi_.topRows(n * nx) * x;
  for (int k = 0; k < n; ++k)
    w_.segment(k * nx, nx) = (w_.segment(k * nx, nx) + E_.segment(k * nx, nx) - r).cwiseProduct(config_.state_weight);
  f_.head(nn).noalias() = Gam_.topLeftCorner(n * nx, nn).transpose() * w_.head(n * nx);
  f_.head(nn) *= 2.0;
  for (int i = 0; i < nu; ++i) f_[i] -= 2.0 * config_.rate_weight[i] * su_[i] * u_prev[i];
  f_.head(nn) /= obj_scale_;
  // Output limits minus the free response.
  yc_.head(n * ny).noalias() = Cphi_.topRows(n * ny) * x;
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < ny; ++i) {
      const double c = yc_[k * ny + i] + Ce_[k * ny + i];
      lower_[k * ny + i] = config_.y_min[i] - c;
      upper_[k * ny + i] = config_.y_max[i] - c;
    }
  // Warm start: the previous solution shifted by one step.
  if (warm_valid_) {
    warm_.n = nn;
    warm_.m = n * ny;
    for (int p = 0; p < nn; ++p) {
      const int from = std::min(p + nu, nn - nu + p % nu);
      warm_.x[p] = sol_.x[from];
      warm_.z[p] = sol_.z[from];
      warm_.bound_state[static_cast<std::size_t>(p)] = sol_.bound_state[static_cast<std::size_t>(from)];
    }
    for (int p = 0; p < n * ny; ++p) {
      const int from = std::min(p + ny, n * ny - ny + p % ny);
      warm_.y[p] = sol_.y[from];
      warm_.row_state[static_cast<std::size_t>(p)] = sol_.row_state[static_cast<std::size_t>(from)];
    }
  }
  const QpStatus st = solver_->solve(qp_, warm_valid_ ? &warm_ : nullptr, sol_);
  bool good = st == QpStatus::optimal;
  for (int p = 0; good && p < nn; ++p)
    good = std::isfinite(sol_.x[p]) && sol_.x[p] >= lb_[p] - 1e-6 && sol_.x[p] <= ub_[p] + 1e-6;
  if (!good) {  // the call worked; it decided to fall back (last_decision())
    fallback(u);
    return Status::ok;
  }
  for (int p = 0; p < nn; ++p) {
    const int i = p % nu;
    plan_[p] = std::clamp(sol_.x[p] * su_[i], config_.u_min[i], config_.u_max[i]);
  }
  for (int i = 0; i < nu; ++i) u[i] = plan_[i];
  have_plan_ = warm_valid_ = true;
  last_decision_ = Decision::applied;
  return Status::ok;
}

}  // namespace safetwin::control
