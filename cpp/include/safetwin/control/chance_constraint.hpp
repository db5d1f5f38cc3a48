#pragma once
// Chance-constrained tightening of an output limit. A predicted output y with mean mu and
// variance s2 satisfies y <= y_max with probability >= 1 - alpha when
//   mu + q(alpha) * sqrt(s2) <= y_max,
// with q the standard normal quantile Phi^-1(1 - alpha) if y is Gaussian, or, for any
// distribution with that mean and variance, Cantelli's one-sided bound q = sqrt((1 - alpha)/alpha).
// q is computed once at configuration time; the tightening itself is one multiply per row.
#include <cstdint>

namespace safetwin::control {

enum class ChanceForm : std::uint8_t {
  gaussian = 0,  // Phi^-1(1 - alpha): exact for a Gaussian prediction
  cantelli = 1,  // sqrt((1 - alpha) / alpha): distribution-free (larger margin)
};

[[nodiscard]] const char* to_string(ChanceForm f) noexcept;

// Multiplier q(alpha) of the standard deviation. alpha must be in (0, 0.5]: throws
// std::invalid_argument naming "alpha" otherwise (configuration time only).
[[nodiscard]] double chance_multiplier(ChanceForm form, double alpha);

// Margin q * sqrt(max(variance, 0)); a non-finite variance gives +inf (fail closed).
[[nodiscard]] double chance_margin(double multiplier, double variance) noexcept;

}  // namespace safetwin::control
