#include "safetwin/trust/cusum.hpp"

#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::trust {

void CusumConfig::validate() const {
  require_in_range("CusumConfig.shift_sigma", shift_sigma, 0.05, 20.0);
  require_in_range("CusumConfig.false_alarm_rate", false_alarm_rate, 1e-9, 0.5);
}

double cusum_arl_one_sided(double k, double h) noexcept {
  const double b = h + 1.166;  // Siegmund's correction for the overshoot of a Gaussian walk
  const double a = 2.0 * k * b;
  return (std::exp(a) - a - 1.0) / (2.0 * k * k);
}

double cusum_threshold(double k, double false_alarm_rate) {
  require_positive("k", k);
  require_in_range("false_alarm_rate", false_alarm_rate, 1e-9, 0.5);
  // Two sides alarm independently: 1/ARL_two = 2/ARL_one, so each side needs ARL_one = 2/rate.
  const double target = 2.0 / false_alarm_rate;
  // ARL grows monotonically in h: bisection on [0, hi].
  double lo = 0.0;
  double hi = 1.0;
  while (cusum_arl_one_sided(k, hi) < target) hi *= 2.0;
  if (cusum_arl_one_sided(k, lo) >= target) return 0.0;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = 0.5 * (lo + hi);
    (cusum_arl_one_sided(k, mid) < target ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

Cusum::Cusum(const CusumConfig& config) {
  config.validate();
  k_ = 0.5 * config.shift_sigma;
  h_ = cusum_threshold(k_, config.false_alarm_rate);
}

bool Cusum::update(double z) noexcept {
  if (!std::isfinite(z)) return false;
  g_pos_ = std::fmax(0.0, g_pos_ + z - k_);
  g_neg_ = std::fmax(0.0, g_neg_ - z - k_);
  if (g_pos_ > h_ || g_neg_ > h_) {
    reset();
    return true;
  }
  return false;
}

}  // namespace safetwin::trust
