#include "safetwin/estimation/chi_square.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "safetwin/validate.hpp"

namespace safetwin::estimation {

namespace {

constexpr double kEps = 1e-16;
constexpr int kMaxTerms = 10000;

// P(a, x) by its power series; converges quickly for x < a + 1.
double gamma_p_series(double a, double x) noexcept {
  double term = 1.0 / a, sum = term;
  for (int n = 1; n < kMaxTerms; ++n) {
    term *= x / (a + n);
    sum += term;
    if (std::abs(term) < std::abs(sum) * kEps) break;
  }
  return sum * std::exp(-x + a * std::log(x) - std::lgamma(a));
}

// Q(a, x) = 1 - P(a, x) by the continued fraction (modified Lentz); for x >= a + 1.
double gamma_q_fraction(double a, double x) noexcept {
  constexpr double tiny = 1e-300;
  double b = x + 1.0 - a, c = 1.0 / tiny, d = 1.0 / b, h = d;
  for (int i = 1; i < kMaxTerms; ++i) {
    const double an = -i * (i - a);
    b += 2.0;
    d = an * d + b;
    if (std::abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::abs(c) < tiny) c = tiny;
    d = 1.0 / d;
    const double delta = d * c;
    h *= delta;
    if (std::abs(delta - 1.0) < kEps) break;
  }
  return std::exp(-x + a * std::log(x) - std::lgamma(a)) * h;
}

// Upper tail Q = 1 - P, evaluated directly in the tail so that gates near probability 1 keep
// their precision (1 - P would cancel).
double chi_square_sf(double x, int dof) noexcept {
  if (x <= 0.0) return 1.0;
  if (std::isinf(x)) return 0.0;
  const double a = 0.5 * dof, y = 0.5 * x;
  return y < a + 1.0 ? 1.0 - gamma_p_series(a, y) : gamma_q_fraction(a, y);
}

}  // namespace

double chi_square_cdf(double x, int dof) noexcept {
  if (dof < 1 || std::isnan(x)) return std::numeric_limits<double>::quiet_NaN();
  if (x <= 0.0) return 0.0;
  if (std::isinf(x)) return 1.0;
  const double a = 0.5 * dof, y = 0.5 * x;
  return y < a + 1.0 ? gamma_p_series(a, y) : 1.0 - gamma_q_fraction(a, y);
}

double chi_square_quantile(double probability, int dof) {
  if (dof < 1) throw_invalid("chi_square_quantile.dof", dof, "must be >= 1");
  if (!(probability > 0.0 && probability <= 1.0))
    throw_invalid("chi_square_quantile.probability", probability, "must be in (0, 1]");
  if (probability == 1.0) return std::numeric_limits<double>::infinity();
  // below(x): x lies below the quantile. In the upper half the tail is compared directly.
  const bool upper = probability > 0.5;
  const double tail = 1.0 - probability;
  const auto below = [&](double x) {
    return upper ? chi_square_sf(x, dof) > tail : chi_square_cdf(x, dof) < probability;
  };
  // Bracket: start the upper end well above the Wilson-Hilferty estimate, double until it passes.
  const double k = dof;
  double lo = 0.0, hi = std::max(1.0, k * std::pow(1.0 + 10.0 * std::sqrt(2.0 / (9.0 * k)), 3.0));
  while (below(hi)) {
    lo = hi;
    hi *= 2.0;
  }
  // Bisection to the last bit: the CDF is monotone, so this cannot fail; 2000 halvings reach the
  // spacing of doubles long before the cap.
  for (int i = 0; i < 2000; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    (below(mid) ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

}  // namespace safetwin::estimation
