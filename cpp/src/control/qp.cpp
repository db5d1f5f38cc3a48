#include "safetwin/control/qp.hpp"

#include <algorithm>
#include <cmath>

namespace safetwin::control {

void QpSolution::resize(int n_max, int m_max) {
  x = Eigen::VectorXd::Zero(n_max);
  y = Eigen::VectorXd::Zero(m_max);
  z = Eigen::VectorXd::Zero(n_max);
  row_state.assign(static_cast<std::size_t>(m_max), ActiveState::inactive);
  bound_state.assign(static_cast<std::size_t>(n_max), ActiveState::inactive);
}

namespace {
double row_dot(const QpData& qp, int i, const double* x) noexcept {
  double s = 0.0;
  for (int j = 0; j < qp.n; ++j) s += qp.A[static_cast<std::size_t>(j) * qp.lda + i] * x[j];
  return s;
}
}  // namespace

double qp_objective(const QpData& qp, const double* x) noexcept {
  double obj = 0.0;
  for (int j = 0; j < qp.n; ++j) {
    double hx = 0.0;
    for (int i = 0; i < qp.n; ++i) hx += qp.H[static_cast<std::size_t>(j) * qp.n + i] * x[i];
    obj += x[j] * (0.5 * hx + qp.f[j]);
  }
  if (qp.soft_penalty == nullptr) return obj;
  for (int i = 0; i < qp.m; ++i) {
    const double rho = qp.soft_penalty[i];
    if (!std::isfinite(rho)) continue;
    const double ax = row_dot(qp, i, x);
    obj += rho * (std::max(0.0, ax - qp.upper[i]) + std::max(0.0, qp.lower[i] - ax));
  }
  return obj;
}

double qp_hard_violation(const QpData& qp, const double* x) noexcept {
  double worst = 0.0;
  for (int j = 0; j < qp.n; ++j) worst = std::max({worst, x[j] - qp.ub[j], qp.lb[j] - x[j]});
  for (int i = 0; i < qp.m; ++i) {
    if (qp.soft_penalty != nullptr && std::isfinite(qp.soft_penalty[i])) continue;
    const double ax = row_dot(qp, i, x);
    worst = std::max({worst, ax - qp.upper[i], qp.lower[i] - ax});
  }
  return worst;
}

}  // namespace safetwin::control
