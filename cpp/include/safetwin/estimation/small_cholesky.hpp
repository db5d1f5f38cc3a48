#pragma once
// Cholesky factorisation and SPD inverse for the filters' small fixed-size matrices (N <= ~8),
// as plain loops the compiler unrolls: Eigen's LLT routes such sizes through its general
// (blocked, packed) kernels, which cost more than the whole rest of a battery filter step.
// No allocation, no exception.
#include <Eigen/Core>
#include <cmath>

namespace safetwin::estimation {

// a = L L' with L lower triangular. Returns false (L unspecified) unless a is finite and
// positive definite (every pivot finite and > 0). Only the lower triangle of a is read.
template <int N>
[[nodiscard]] bool cholesky_factor(const Eigen::Matrix<double, N, N>& a, Eigen::Matrix<double, N, N>& l) noexcept {
  l.setZero();
  for (int j = 0; j < N; ++j) {
    double d = a(j, j);
    for (int k = 0; k < j; ++k) d -= l(j, k) * l(j, k);
    if (!(d > 0.0) || !std::isfinite(d)) return false;  // also catches NaN
    const double ljj = std::sqrt(d);
    l(j, j) = ljj;
    const double inv = 1.0 / ljj;
    for (int i = j + 1; i < N; ++i) {
      double s = a(i, j);
      for (int k = 0; k < j; ++k) s -= l(i, k) * l(j, k);
      l(i, j) = s * inv;
    }
  }
  return true;
}

// Positive definiteness by the pivots of a square-root-free LDL' factorisation (Sylvester: all
// pivots > 0); one division per column, no square root. Only the lower triangle of a is read.
template <int N>
[[nodiscard]] bool is_positive_definite(const Eigen::Matrix<double, N, N>& a) noexcept {
  double l[N][N];
  double d[N];
  for (int j = 0; j < N; ++j) {
    double dj = a(j, j);
    for (int k = 0; k < j; ++k) dj -= l[j][k] * l[j][k] * d[k];
    if (!(dj > 0.0) || !std::isfinite(dj)) return false;
    d[j] = dj;
    const double inv = 1.0 / dj;
    for (int i = j + 1; i < N; ++i) {
      double s = a(i, j);
      for (int k = 0; k < j; ++k) s -= l[i][k] * l[j][k] * d[k];
      l[i][j] = s * inv;
    }
  }
  return true;
}

// inv = (L L')^-1 from the Cholesky factor: W = L^-1 by forward substitution, inv = W' W.
template <int N>
void spd_inverse(const Eigen::Matrix<double, N, N>& l, Eigen::Matrix<double, N, N>& inv) noexcept {
  Eigen::Matrix<double, N, N> w = Eigen::Matrix<double, N, N>::Zero();
  for (int j = 0; j < N; ++j) {
    w(j, j) = 1.0 / l(j, j);
    for (int i = j + 1; i < N; ++i) {
      double s = 0.0;
      for (int k = j; k < i; ++k) s -= l(i, k) * w(k, j);
      w(i, j) = s / l(i, i);
    }
  }
  inv.noalias() = w.transpose() * w;
}

}  // namespace safetwin::estimation
