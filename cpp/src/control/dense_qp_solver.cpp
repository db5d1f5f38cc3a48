#include "safetwin/control/dense_qp_solver.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "safetwin/validate.hpp"

namespace safetwin::control {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr std::int8_t kAtZero = 0, kFree = 1, kAtPenalty = 2;
}  // namespace

void DenseQpSettings::validate() const {
  if (max_iterations < 1) throw_invalid("DenseQpSettings.max_iterations", max_iterations, "must be >= 1");
  require_positive("DenseQpSettings.primal_tolerance", primal_tolerance);
  require_positive("DenseQpSettings.dependence_tolerance", dependence_tolerance);
}

DenseQpSolver::DenseQpSolver(int n_max, int m_max, DenseQpSettings settings)
    : n_max_(n_max), m_max_(m_max), settings_((settings.validate(), settings)) {
  if (n_max < 1) throw_invalid("DenseQpSolver.n_max", n_max, "must be >= 1");
  if (m_max < 0) throw_invalid("DenseQpSolver.m_max", m_max, "must be >= 0");
  const int nc = 2 * n_max + 2 * m_max;
  dx_ = Vec::Ones(n_max);
  dr_ = Vec::Ones(m_max);
  R_ = Mat::Zero(n_max, n_max);
  Rinv_ = Mat::Zero(n_max, n_max);
  Hinv_ = Mat::Zero(n_max, n_max);
  As_ = Mat::Zero(m_max, n_max);
  rnorm_ = Vec::Zero(m_max);
  fs_ = Vec::Zero(n_max);
  lbs_ = Vec::Zero(n_max);
  ubs_ = Vec::Zero(n_max);
  los_ = Vec::Zero(m_max);
  ups_ = Vec::Zero(m_max);
  rhos_ = Vec::Zero(m_max);
  x0_ = Vec::Zero(n_max);
  ax0_ = Vec::Zero(m_max);
  xs_ = Vec::Zero(n_max);
  v_ = Vec::Zero(n_max);
  w_ = Vec::Zero(n_max);
  ax_ = Vec::Zero(m_max);
  mc_ = Vec::Zero(n_max);
  g_ = Vec::Zero(n_max);
  state_ = Eigen::Matrix<std::int8_t, Eigen::Dynamic, 1>::Zero(nc);
  free_ = Eigen::VectorXi::Zero(n_max);
  lambda_ = Vec::Zero(nc);
  Mf_ = Mat::Zero(n_max, n_max);
  L_ = RowMat::Zero(n_max, n_max);
  D_ = Vec::Zero(n_max);
  lstar_ = Vec::Zero(n_max);
  dir_ = Vec::Zero(n_max);
}

// ---- constraint bookkeeping -------------------------------------------------------------------

double DenseQpSolver::rhs(int c) const noexcept {
  const int n = n_, m = m_;
  if (c < n) return ubs_[c];
  if (c < 2 * n) return -lbs_[c - n];
  if (c < 2 * n + m) return ups_[c - 2 * n];
  return -los_[c - 2 * n - m];
}

double DenseQpSolver::penalty(int c) const noexcept {
  if (c < 2 * n_) return kInf;
  const int i = c < 2 * n_ + m_ ? c - 2 * n_ : c - 2 * n_ - m_;
  return rhos_[i];
}

double DenseQpSolver::residual(int c) const noexcept {
  const int n = n_, m = m_;
  if (c < n) return xs_[c] - ubs_[c];
  if (c < 2 * n) return lbs_[c - n] - xs_[c - n];
  if (c < 2 * n + m) return ax_[c - 2 * n] - ups_[c - 2 * n];
  return los_[c - 2 * n - m] - ax_[c - 2 * n - m];
}

double DenseQpSolver::dual_offset(int c) const noexcept {
  // d_c = b_c - a_c' x0: the constraint in the v-space of the unconstrained minimiser.
  const int n = n_, m = m_;
  if (c < n) return ubs_[c] - x0_[c];
  if (c < 2 * n) return -lbs_[c - n] + x0_[c - n];
  if (c < 2 * n + m) return ups_[c - 2 * n] - ax0_[c - 2 * n];
  return -los_[c - 2 * n - m] + ax0_[c - 2 * n - m];
}

void DenseQpSolver::transformed_row(int c, double* out) noexcept {
  // m_c = R^-T a_c, i.e. m_c[j] = sum_{k<=j} Rinv(k, j) a_c[k].
  const int n = n_, m = m_;
  if (c < 2 * n) {  // a bound: a_c = +-e_i, so m_c is row i of R^-1 (zero before column i)
    const int i = c < n ? c : c - n;
    const double s = c < n ? 1.0 : -1.0;
    for (int j = 0; j < i; ++j) out[j] = 0.0;
    for (int j = i; j < n; ++j) out[j] = s * Rinv_(i, j);
    return;
  }
  const int i = c < 2 * n + m ? c - 2 * n : c - 2 * n - m;
  const double s = c < 2 * n + m ? 1.0 : -1.0;
  for (int j = 0; j < n; ++j) g_[j] = As_(i, j);  // the row, gathered once
  for (int j = 0; j < n; ++j) out[j] = s * Rinv_.col(j).head(j + 1).dot(g_.head(j + 1));
}

// ---- setup --------------------------------------------------------------------------------------

bool DenseQpSolver::factor_hessian(const QpData& qp) noexcept {
  const int n = qp.n;
  // Jacobi scaling: unit diagonal of the scaled Hessian.
  for (int i = 0; i < n; ++i) {
    const double hii = qp.H[static_cast<std::size_t>(i) * n + i];
    if (!(hii > 0.0) || !std::isfinite(hii)) return false;
    dx_[i] = settings_.scale ? 1.0 / std::sqrt(hii) : 1.0;
  }
  // Cholesky H_s = R'R, R upper triangular, column by column.
  for (int j = 0; j < n; ++j) {
    for (int i = 0; i <= j; ++i) {
      double s = qp.H[static_cast<std::size_t>(j) * n + i] * dx_[i] * dx_[j];
      for (int k = 0; k < i; ++k) s -= R_(k, i) * R_(k, j);
      if (i < j) {
        R_(i, j) = s / R_(i, i);
      } else {
        // A pivot below eps relative to the (unit) diagonal: not positive definite to working precision.
        if (!(s > 1e-13) || !std::isfinite(s)) return false;
        R_(j, j) = std::sqrt(s);
      }
    }
    for (int i = j + 1; i < n; ++i) R_(i, j) = 0.0;
  }
  // R^-1 by back substitution, column by column (upper triangular).
  for (int j = 0; j < n; ++j) {
    for (int i = j + 1; i < n; ++i) Rinv_(i, j) = 0.0;
    Rinv_(j, j) = 1.0 / R_(j, j);
    for (int i = j - 1; i >= 0; --i) {
      double s = 0.0;
      for (int k = i + 1; k <= j; ++k) s += R_(i, k) * Rinv_(k, j);
      Rinv_(i, j) = -s / R_(i, i);
    }
  }
  // H_s^-1 = R^-1 R^-T, column j of R^-1 at a time (rows 0..j are its nonzeros): the Gram entry
  // of two bound constraints (m_c is a row of R^-1, see transformed_row) is one of its entries.
  Hinv_.topLeftCorner(n, n).setZero();
  for (int j = 0; j < n; ++j)
    for (int k = 0; k <= j; ++k) {
      const double rkj = Rinv_(k, j);
      for (int i = 0; i <= k; ++i) Hinv_(i, k) += Rinv_(i, j) * rkj;
    }
  for (int k = 0; k < n; ++k)
    for (int i = 0; i < k; ++i) Hinv_(k, i) = Hinv_(i, k);
  return true;
}

QpStatus DenseQpSolver::scale_data(const QpData& qp) noexcept {
  const int n = qp.n, m = qp.m;
  for (int i = 0; i < n; ++i) {
    if (!std::isfinite(qp.f[i]) || std::isnan(qp.lb[i]) || std::isnan(qp.ub[i])) return QpStatus::invalid_input;
    fs_[i] = qp.f[i] * dx_[i];
    lbs_[i] = qp.lb[i] / dx_[i];
    ubs_[i] = qp.ub[i] / dx_[i];
    if (qp.lb[i] > qp.ub[i] || qp.lb[i] == kInf || qp.ub[i] == -kInf) return QpStatus::primal_infeasible;
  }
  obj_const_ = 0.0;
  // Column-wise pass (contiguous in the column-major input): scale the columns, sum the squares.
  rnorm_.head(m).setZero();
  for (int j = 0; j < n; ++j) {
    const double* a = qp.A + static_cast<std::size_t>(j) * qp.lda;
    for (int i = 0; i < m; ++i) {
      const double v = a[i] * dx_[j];
      As_(i, j) = v;
      rnorm_[i] += v * v;
    }
  }
  for (int i = 0; i < m; ++i) {
    const double rho = qp.soft_penalty == nullptr ? kInf : qp.soft_penalty[i];
    const double norm2 = rnorm_[i];
    // A NaN or inf anywhere in the row shows in its norm.
    if (!(rho > 0.0) || std::isnan(qp.lower[i]) || std::isnan(qp.upper[i]) || !std::isfinite(norm2))
      return QpStatus::invalid_input;
    const bool hard = !std::isfinite(rho);
    if (qp.lower[i] > qp.upper[i] || qp.lower[i] == kInf || qp.upper[i] == -kInf)
      return hard ? QpStatus::primal_infeasible : QpStatus::invalid_input;
    if (!(norm2 > 0.0)) {
      // A zero row is a constant: a hard one either holds or makes the problem infeasible; a
      // soft one adds a constant to the objective. Either way it can never become active.
      if (hard && (qp.lower[i] > 0.0 || qp.upper[i] < 0.0)) return QpStatus::primal_infeasible;
      if (!hard) obj_const_ += rho * (std::max(0.0, qp.lower[i]) + std::max(0.0, -qp.upper[i]));
      dr_[i] = 1.0;
      rnorm_[i] = 1.0;
      los_[i] = -kInf;
      ups_[i] = kInf;
      rhos_[i] = rho;
      continue;
    }
    const double r = settings_.scale ? std::sqrt(norm2) : 1.0;
    dr_[i] = r;
    rnorm_[i] = 1.0 / r;
    los_[i] = qp.lower[i] / r;
    ups_[i] = qp.upper[i] / r;
    rhos_[i] = rho * r;
  }
  if (settings_.scale)
    for (int j = 0; j < n; ++j) As_.col(j).head(m).array() *= rnorm_.head(m).array();
  return QpStatus::optimal;
}

// ---- LDL' of the Gram matrix of the free constraints --------------------------------------------

bool DenseQpSolver::ldl_append(int c, double lambda) noexcept {
  // mc_ holds m_c. g = M_F' m_c, y = L^-1 g, l = D^-1 y, pivot = |m_c|^2 - l'y.
  const int n = n_, k = nf_;
  double gamma = 0.0;
  for (int j = 0; j < n; ++j) gamma += mc_[j] * mc_[j];
  if (c < 2 * n) {  // a bound: against another bound, m_c'm_d = +-(H_s^-1)_ij, O(1) instead of O(n)
    const int i = c < n ? c : c - n;
    const double sc = c < n ? 1.0 : -1.0;
    for (int p = 0; p < k; ++p) {
      const int d = free_[p];
      if (d < 2 * n)
        g_[p] = sc * (d < n ? 1.0 : -1.0) * Hinv_(i, d < n ? d : d - n);
      else
        g_[p] = Mf_.col(p).head(n).dot(mc_.head(n));
    }
  } else {
    for (int p = 0; p < k; ++p) g_[p] = Mf_.col(p).head(n).dot(mc_.head(n));
  }
  for (int p = 1; p < k; ++p) g_[p] -= L_.row(p).head(p).dot(g_.head(p));  // y = L^-1 g
  double pivot = gamma;
  for (int p = 0; p < k; ++p) {
    const double l = g_[p] / D_[p];
    pivot -= l * g_[p];
    dir_[p] = l;
  }
  if (!(pivot > settings_.dependence_tolerance * gamma) || k >= n) return false;
  L_.row(k).head(k) = dir_.head(k).transpose();
  L_(k, k) = 1.0;
  D_[k] = pivot;
  Mf_.col(k).head(n) = mc_.head(n);
  free_[k] = c;
  state_[c] = kFree;
  lambda_[c] = lambda;
  ++nf_;
  return true;
}

void DenseQpSolver::ldl_remove(int pos) noexcept {
  // Deleting row/column pos of G = L D L' leaves the trailing block as L22 D2 L22' + d l l'
  // (l = L(pos+1:, pos), d = D(pos)): a rank-one update of the trailing factor, then a shift.
  const int k = nf_;
  const int t = k - pos - 1;
  if (t > 0) {
    for (int i = 0; i < t; ++i) g_[i] = L_(pos + 1 + i, pos) * std::sqrt(D_[pos]);
    double alpha = 1.0;
    for (int j = 0; j < t; ++j) {
      const int jj = pos + 1 + j;
      const double dj = D_[jj];
      const double wj = g_[j];
      const double swj2 = wj * wj;
      const double gamma = dj * alpha + swj2;
      D_[jj] += swj2 / alpha;
      alpha += swj2 / dj;
      for (int i = j + 1; i < t; ++i) {
        g_[i] -= wj * L_(pos + 1 + i, jj);
        if (gamma != 0.0) L_(pos + 1 + i, jj) += (wj / gamma) * g_[i];
      }
    }
  }
  // Shift rows below pos up and columns right of pos left.
  for (int i = pos + 1; i < k; ++i) {
    for (int j = 0; j < pos; ++j) L_(i - 1, j) = L_(i, j);
    for (int j = pos + 1; j <= i; ++j) L_(i - 1, j - 1) = L_(i, j);
  }
  for (int i = pos + 1; i < k; ++i) {
    D_[i - 1] = D_[i];
    free_[i - 1] = free_[i];
    Mf_.col(i - 1).head(n_) = Mf_.col(i).head(n_);
  }
  --nf_;
}

void DenseQpSolver::solve_free(double* b) const noexcept {
  // L is row-major: the forward solve takes row dots, the backward one row axpys.
  const int k = nf_;
  Eigen::Map<Vec> x(b, k);
  for (int p = 1; p < k; ++p) x[p] -= L_.row(p).head(p).dot(x.head(p));
  x.array() /= D_.head(k).array();
  solve_lt(x);
}

void DenseQpSolver::solve_lt(Eigen::Ref<Vec> x) const noexcept {
  for (int p = static_cast<int>(x.size()) - 1; p > 0; --p) x.head(p) -= x[p] * L_.row(p).head(p).transpose();
}

// ---- primal iterate -----------------------------------------------------------------------------

void DenseQpSolver::update_primal() noexcept {
  const int n = n_, m = m_;
  // v = -M_F lambda_F - w; x = x0 + R^-1 v.
  v_.head(n) = -w_.head(n);
  for (int p = 0; p < nf_; ++p) v_.head(n) -= lambda_[free_[p]] * Mf_.col(p).head(n);
  xs_.head(n) = x0_.head(n);
  for (int j = 0; j < n; ++j) xs_.head(j + 1) += v_[j] * Rinv_.col(j).head(j + 1);
  if (m > 0) ax_.head(m).noalias() = As_.topLeftCorner(m, n) * xs_.head(n);
}

// ---- the solve ----------------------------------------------------------------------------------

QpStatus DenseQpSolver::prepare(const QpData& qp) noexcept {
  if (qp.n < 1 || qp.n > n_max_ || qp.H == nullptr) return QpStatus::invalid_input;
  if (have_factor_ && qp.hessian_id != 0 && qp.hessian_id == factorised_id_ && qp.n == factor_n_)
    return QpStatus::optimal;  // the factor of this Hessian is in place
  const int n = qp.n;
  have_factor_ = false;
  for (int i = 0; i < n * n; ++i)
    if (!std::isfinite(qp.H[i])) return QpStatus::invalid_input;
  have_factor_ = factor_hessian(qp);
  ++factorisations_;
  factorised_id_ = qp.hessian_id;
  factor_n_ = n;
  return have_factor_ ? QpStatus::optimal : QpStatus::numerical_error;
}

QpStatus DenseQpSolver::solve(const QpData& qp, const QpSolution* warm, QpSolution& sol) noexcept {
  sol.iterations = 0;
  sol.n = qp.n;
  sol.m = qp.m;
  const auto fail = [&](QpStatus st) {
    sol.status = st;
    return st;
  };
  // Every array this call writes or reads must hold the problem: a caller-built QpSolution (or
  // one sized for a smaller problem) is refused, never written past its end.
  const auto holds = [](const QpSolution& s, int n, int m) {
    return s.x.size() >= n && s.z.size() >= n && s.y.size() >= m && static_cast<int>(s.bound_state.size()) >= n &&
           static_cast<int>(s.row_state.size()) >= m;
  };
  if (qp.n < 1 || qp.n > n_max_ || qp.m < 0 || qp.m > m_max_ || !holds(sol, qp.n, qp.m))
    return fail(QpStatus::invalid_input);
  // A warm start of this problem's size (n, m) must hold it too; one of another size is ignored.
  const bool warm_same_size = warm != nullptr && warm->n == qp.n && warm->m == qp.m;
  if (warm_same_size && !holds(*warm, qp.n, qp.m)) return fail(QpStatus::invalid_input);
  if (qp.H == nullptr || qp.f == nullptr || qp.lb == nullptr || qp.ub == nullptr ||
      (qp.m > 0 && (qp.A == nullptr || qp.lda < qp.m || qp.lower == nullptr || qp.upper == nullptr)))
    return fail(QpStatus::invalid_input);

  // Factor once per Hessian (hessian_id), else every call.
  if (const QpStatus f = prepare(qp); f != QpStatus::optimal) return fail(f);
  n_ = qp.n;
  m_ = qp.m;
  const int n = n_, m = m_;
  const QpStatus setup = scale_data(qp);
  if (setup != QpStatus::optimal) return fail(setup);

  // Unconstrained minimiser x0 = -R^-1 R^-T f.
  for (int j = 0; j < n; ++j) v_[j] = -Rinv_.col(j).head(j + 1).dot(fs_.head(j + 1));
  x0_.head(n).setZero();
  for (int j = 0; j < n; ++j) x0_.head(j + 1) += v_[j] * Rinv_.col(j).head(j + 1);
  if (m > 0) ax0_.head(m).noalias() = As_.topLeftCorner(m, n) * x0_.head(n);

  // Working set from the warm start (or empty).
  const int nc = 2 * n + 2 * m;
  state_.head(nc).setZero();
  lambda_.head(nc).setZero();
  w_.head(n).setZero();
  nf_ = 0;
  if (warm_same_size) {
    // Soft rows at their penalty first (they enter w), then the equality set.
    for (int i = 0; i < m; ++i) {
      const ActiveState s = warm->row_state[static_cast<std::size_t>(i)];
      if ((s == ActiveState::above || s == ActiveState::below) && std::isfinite(rhos_[i])) {
        const int c = s == ActiveState::above ? 2 * n + i : 2 * n + m + i;
        if (!std::isfinite(rhs(c))) continue;
        transformed_row(c, mc_.data());
        state_[c] = kAtPenalty;
        lambda_[c] = rhos_[i];
        w_.head(n) += rhos_[i] * mc_.head(n);
      }
    }
    for (int j = 0; j < n; ++j) {
      const ActiveState s = warm->bound_state[static_cast<std::size_t>(j)];
      if (s != ActiveState::upper && s != ActiveState::lower) continue;
      const int c = s == ActiveState::upper ? j : n + j;
      if (!std::isfinite(rhs(c))) continue;
      transformed_row(c, mc_.data());
      (void)ldl_append(c, std::max(0.0, std::abs(warm->z[j]) * dx_[j]));
    }
    for (int i = 0; i < m; ++i) {
      ActiveState s = warm->row_state[static_cast<std::size_t>(i)];
      if (!std::isfinite(rhos_[i])) {  // a row now hard: its former penalty state is an equality
        if (s == ActiveState::above) s = ActiveState::upper;
        if (s == ActiveState::below) s = ActiveState::lower;
      }
      if (s != ActiveState::upper && s != ActiveState::lower) continue;
      const int c = s == ActiveState::upper ? 2 * n + i : 2 * n + m + i;
      if (!std::isfinite(rhs(c))) continue;
      transformed_row(c, mc_.data());
      (void)ldl_append(c, std::clamp(std::abs(warm->y[i]) * dr_[i], 0.0, rhos_[i]));
    }
  }

  const double tol = settings_.primal_tolerance;
  int iters = 0;
  while (true) {
    if (iters >= settings_.max_iterations) {
      update_primal();
      write_solution(qp, sol, QpStatus::max_iterations, iters);
      return QpStatus::max_iterations;
    }
    // 1. Equality-constrained dual on the free set: G_FF lambda* = -(d_F + M_F' w).
    for (int p = 0; p < nf_; ++p) {
      const int c = free_[p];
      lstar_[p] = -(dual_offset(c) + Mf_.col(p).head(n).dot(w_.head(n)));
    }
    solve_free(lstar_.data());
    // 2. Step towards lambda* until a multiplier meets its box.
    double t = 1.0;
    int block = -1;
    for (int p = 0; p < nf_; ++p) {
      const int c = free_[p];
      const double l = lambda_[c], ls = lstar_[p], hi = penalty(c);
      if (!std::isfinite(ls)) return fail(QpStatus::numerical_error);
      if (ls < 0.0) {
        const double tp = l / (l - ls);
        if (tp < t) t = tp, block = p;
      } else if (ls > hi) {
        const double tp = (hi - l) / (ls - l);
        if (tp < t) t = tp, block = p;
      }
    }
    if (block >= 0) {
      for (int p = 0; p < nf_; ++p) {
        const int c = free_[p];
        lambda_[c] += t * (lstar_[p] - lambda_[c]);
      }
      const int c = free_[block];
      const bool to_penalty = lstar_[block] > 0.0;
      if (to_penalty) {
        lambda_[c] = penalty(c);
        w_.head(n) += lambda_[c] * Mf_.col(block).head(n);
        state_[c] = kAtPenalty;
      } else {
        lambda_[c] = 0.0;
        state_[c] = kAtZero;
      }
      ldl_remove(block);
      ++iters;
      continue;
    }
    for (int p = 0; p < nf_; ++p) lambda_[free_[p]] = lstar_[p];
    // 3. Primal iterate and the constraint that violates optimality most.
    update_primal();
    int enter = -1;
    double worst = 0.0;
    for (int c = 0; c < nc; ++c) {
      const std::int8_t s = state_[c];
      if (s == kFree) continue;
      const double b = rhs(c);
      if (!std::isfinite(b)) continue;
      const double r = residual(c);
      const double score = (s == kAtZero ? r : -r) - tol * std::max(1.0, std::abs(b));
      if (score > worst) worst = score, enter = c;
    }
    if (enter < 0) {
      write_solution(qp, sol, QpStatus::optimal, iters);
      return QpStatus::optimal;
    }
    ++iters;
    // 4. Add the entering constraint; if it depends on the free set, move along the dual
    // direction that keeps the primal point until a multiplier (its own or a free one) gives way.
    const std::int8_t from = state_[enter];
    const double rho_e = penalty(enter);
    transformed_row(enter, mc_.data());
    double lam_e = from == kAtPenalty ? rho_e : 0.0;
    if (from == kAtPenalty) w_.head(n) -= rho_e * mc_.head(n);
    state_[enter] = kFree;  // in limbo until appended or sent to a bound
    while (!ldl_append(enter, lam_e)) {
      // dir_ holds l = D^-1 L^-1 g; alpha = L^-T l solves G_FF alpha = M_F' m_c.
      solve_lt(dir_.head(nf_));
      const double sigma = from == kAtPenalty ? -1.0 : 1.0;
      double tmax = sigma > 0.0 ? rho_e - lam_e : lam_e;  // own multiplier to its bound
      int blk = -1;                                       // -1: the entering one blocks
      for (int p = 0; p < nf_; ++p) {
        const int c = free_[p];
        const double rate = -sigma * dir_[p];  // d lambda_c / dt
        double tp = kInf;
        if (rate < 0.0)
          tp = lambda_[c] / -rate;
        else if (rate > 0.0)
          tp = (penalty(c) - lambda_[c]) / rate;
        if (tp < tmax) tmax = tp, blk = p;
      }
      if (!std::isfinite(tmax)) {  // the violated hard constraint cannot be met: infeasible
        state_[enter] = kAtZero;
        update_primal();
        write_solution(qp, sol, QpStatus::primal_infeasible, iters);
        return QpStatus::primal_infeasible;
      }
      for (int p = 0; p < nf_; ++p) lambda_[free_[p]] -= sigma * dir_[p] * tmax;
      lam_e += sigma * tmax;
      if (blk < 0) {  // the entering constraint reached its own bound without entering
        if (sigma > 0.0) {
          lambda_[enter] = rho_e;
          state_[enter] = kAtPenalty;
          w_.head(n) += rho_e * mc_.head(n);
        } else {
          lambda_[enter] = 0.0;
          state_[enter] = kAtZero;
        }
        break;
      }
      const int c = free_[blk];
      if (sigma * dir_[blk] < 0.0) {  // rose to its penalty
        lambda_[c] = penalty(c);
        w_.head(n) += lambda_[c] * Mf_.col(blk).head(n);
        state_[c] = kAtPenalty;
      } else {
        lambda_[c] = 0.0;
        state_[c] = kAtZero;
      }
      ldl_remove(blk);
      ++iters;
      if (iters >= settings_.max_iterations) {  // leave no constraint in limbo
        state_[enter] = kAtZero;
        lambda_[enter] = 0.0;
        break;
      }
    }
  }
}

void DenseQpSolver::write_solution(const QpData& qp, QpSolution& sol, QpStatus st, int iters) noexcept {
  const int n = n_, m = m_;
  for (int j = 0; j < n; ++j) {
    sol.x[j] = xs_[j] * dx_[j];
    sol.z[j] = (lambda_[j] - lambda_[n + j]) / dx_[j];
    const std::int8_t su = state_[j], sl = state_[n + j];
    sol.bound_state[static_cast<std::size_t>(j)] =
        su == kFree ? ActiveState::upper : (sl == kFree ? ActiveState::lower : ActiveState::inactive);
  }
  for (int i = 0; i < m; ++i) {
    const int cu = 2 * n + i, cl = 2 * n + m + i;
    sol.y[i] = (lambda_[cu] - lambda_[cl]) / dr_[i];
    ActiveState s = ActiveState::inactive;
    if (state_[cu] == kFree)
      s = ActiveState::upper;
    else if (state_[cl] == kFree)
      s = ActiveState::lower;
    else if (state_[cu] == kAtPenalty)
      s = ActiveState::above;
    else if (state_[cl] == kAtPenalty)
      s = ActiveState::below;
    sol.row_state[static_cast<std::size_t>(i)] = s;
  }
  sol.iterations = iters;
  sol.status = st;
  // Objective from the scaled data (the scaling leaves its value unchanged): 1/2 |R x|^2 + f'x
  // plus the penalties of the violated soft rows.
  double obj = fs_.head(n).dot(xs_.head(n));
  for (int i = 0; i < n; ++i) {
    const double rx = R_.row(i).segment(i, n - i).dot(xs_.segment(i, n - i));
    obj += 0.5 * rx * rx;
  }
  for (int i = 0; i < m; ++i)
    if (std::isfinite(rhos_[i])) obj += rhos_[i] * (std::max(0.0, ax_[i] - ups_[i]) + std::max(0.0, los_[i] - ax_[i]));
  sol.objective = obj + obj_const_;
  (void)qp;
}

}  // namespace safetwin::control
