#include "safetwin/control/chance_constraint.hpp"

#include <cmath>
#include <limits>

#include "safetwin/validate.hpp"

namespace safetwin::control {

const char* to_string(ChanceForm f) noexcept { return f == ChanceForm::cantelli ? "cantelli" : "gaussian"; }

namespace {
// Phi^-1(p) for p in [0.5, 1): Newton on the upper tail Q(x) = erfc(x / sqrt 2) / 2 = 1 - p,
// working on the tail probability directly so that small alpha keeps its precision.
double normal_upper_quantile(double alpha) {
  double x = std::sqrt(-2.0 * std::log(alpha));  // a start above the root for alpha < 0.5
  if (alpha >= 0.5) return 0.0;
  for (int it = 0; it < 100; ++it) {
    const double q = 0.5 * std::erfc(x / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * x * x) / 2.5066282746310002 /* sqrt(2 pi) */;
    const double step = (q - alpha) / pdf;  // Q'(x) = -pdf
    x += step;
    if (std::abs(step) < 1e-15 * std::max(1.0, x)) break;
  }
  return x;
}
}  // namespace

double chance_multiplier(ChanceForm form, double alpha) {
  if (!(alpha > 0.0 && alpha <= 0.5)) throw_invalid("alpha", alpha, "must be in (0, 0.5]");
  if (form == ChanceForm::cantelli) return std::sqrt((1.0 - alpha) / alpha);
  return normal_upper_quantile(alpha);
}

double chance_margin(double multiplier, double variance) noexcept {
  if (!std::isfinite(variance)) return std::numeric_limits<double>::infinity();
  return multiplier * std::sqrt(variance > 0.0 ? variance : 0.0);
}

}  // namespace safetwin::control
