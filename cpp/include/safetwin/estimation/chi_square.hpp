#pragma once
// Chi-square distribution functions for the innovation gate of the Kalman filters. They run at
// construction (the gate threshold is precomputed), never on a step path, and need no Boost.
namespace safetwin::estimation {

// P(X <= x) for X ~ chi-square with `dof` degrees of freedom: the regularised lower incomplete
// gamma function P(dof/2, x/2) (series below a + 1, Lentz continued fraction above).
// Returns NaN for dof < 1 or x NaN; 0 for x <= 0.
[[nodiscard]] double chi_square_cdf(double x, int dof) noexcept;

// The quantile x with chi_square_cdf(x, dof) = probability, to full double precision (bisection on
// the monotone CDF, started from the Wilson-Hilferty approximation's bracket).
// probability = 1 gives +infinity (a gate that never rejects). Throws std::invalid_argument for
// probability outside (0, 1] or dof < 1 (naming the field).
[[nodiscard]] double chi_square_quantile(double probability, int dof);

}  // namespace safetwin::estimation
