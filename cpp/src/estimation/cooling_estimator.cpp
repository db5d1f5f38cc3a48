#include "safetwin/estimation/cooling_estimator.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::estimation {

void CoolingEstimatorConfig::validate() const {
  require_positive("CoolingEstimatorConfig.heat_capacity_j_per_k", heat_capacity_j_per_k);
  require_non_negative("CoolingEstimatorConfig.heat_transfer_w_per_k", heat_transfer_w_per_k);
  require_positive("CoolingEstimatorConfig.ambient_temp_k", ambient_temp_k);
  require_positive("CoolingEstimatorConfig.temp0_k", temp0_k);
  require_positive("CoolingEstimatorConfig.temp_sigma0_k", temp_sigma0_k);
  require_positive("CoolingEstimatorConfig.extra_heat_sigma0_w", extra_heat_sigma0_w);
  require_positive("CoolingEstimatorConfig.cooling_sigma0", cooling_sigma0);
  require_positive("CoolingEstimatorConfig.measurement_sigma_k", measurement_sigma_k);
  require_non_negative("CoolingEstimatorConfig.temp_rw_k_per_sqrt_s", temp_rw_k_per_sqrt_s);
  require_non_negative("CoolingEstimatorConfig.extra_heat_rw_w_per_sqrt_s", extra_heat_rw_w_per_sqrt_s);
  require_non_negative("CoolingEstimatorConfig.cooling_rw_per_sqrt_s", cooling_rw_per_sqrt_s);
  require_in_range("CoolingEstimatorConfig.cooling_min", cooling_min, 0.0, 1.0);
  if (!(cooling_max >= 1.0 && std::isfinite(cooling_max)))
    throw_invalid("CoolingEstimatorConfig.cooling_max", cooling_max, "must be finite and >= 1");
  require_non_negative("CoolingEstimatorConfig.gate_sigma", gate_sigma);
  if (gate_reset_after < 0) throw_invalid("CoolingEstimatorConfig.gate_reset_after", gate_reset_after, "must be >= 0");
}

CoolingEstimatorConfig CoolingEstimatorConfig::for_cell(const battery::CellParams& p, double temp0_k) {
  CoolingEstimatorConfig c;
  c.heat_capacity_j_per_k = p.heat_capacity_j_per_k;
  c.heat_transfer_w_per_k = p.heat_transfer_w_per_k;
  c.ambient_temp_k = p.ambient_temp_k;
  c.temp0_k = temp0_k;
  return c;
}

CoolingEstimator::CoolingEstimator(CoolingEstimatorConfig config)
    : config_((config.validate(), config)), x_{config_.temp0_k, 0.0, 1.0}, P_{} {
  P_[0][0] = config_.temp_sigma0_k * config_.temp_sigma0_k;
  P_[1][1] = config_.extra_heat_sigma0_w * config_.extra_heat_sigma0_w;
  P_[2][2] = config_.cooling_sigma0 * config_.cooling_sigma0;
}

double CoolingEstimator::extra_heat_sigma_w() const noexcept { return std::sqrt(std::max(P_[1][1], 0.0)); }
double CoolingEstimator::cooling_factor_sigma() const noexcept { return std::sqrt(std::max(P_[2][2], 0.0)); }

double CoolingEstimator::unexplained_heat_w() const noexcept {
  return x_[1] + (1.0 - x_[2]) * config_.heat_transfer_w_per_k * (x_[0] - config_.ambient_temp_k);
}

double CoolingEstimator::unexplained_heat_sigma_w() const noexcept {
  const double g = -config_.heat_transfer_w_per_k * (x_[0] - config_.ambient_temp_k);  // d/dc
  return std::sqrt(std::max(P_[1][1] + 2.0 * g * P_[1][2] + g * g * P_[2][2], 0.0));
}

Status CoolingEstimator::step(double model_heat_w, double temperature_k, bool temperature_valid, double dt_s) noexcept {
  if (!std::isfinite(model_heat_w) || !std::isfinite(dt_s) || (temperature_valid && !std::isfinite(temperature_k)))
    return Status::non_finite_input;
  if (!(dt_s > 0.0)) return Status::invalid_argument;
  const CoolingEstimatorConfig& c = config_;
  const double k = dt_s / c.heat_capacity_j_per_k, hA = c.heat_transfer_w_per_k;
  const double T = x_[0], q = x_[1], cool = x_[2];
  const double rise = T - c.ambient_temp_k;
  // Predict: x' = f(x), P' = F P F' + Q with F = df/dx (only the first row differs from I).
  x_[0] = T + k * (model_heat_w + q - cool * hA * rise);
  const double f0[3] = {1.0 - k * cool * hA, k, -k * hA * rise};
  double FP[3][3];  // F P
  for (int j = 0; j < 3; ++j) {
    FP[0][j] = f0[0] * P_[0][j] + f0[1] * P_[1][j] + f0[2] * P_[2][j];
    FP[1][j] = P_[1][j];
    FP[2][j] = P_[2][j];
  }
  double Pn[3][3];  // F P F'
  for (int i = 0; i < 3; ++i) {
    Pn[i][0] = FP[i][0] * f0[0] + FP[i][1] * f0[1] + FP[i][2] * f0[2];
    Pn[i][1] = FP[i][1];
    Pn[i][2] = FP[i][2];
  }
  Pn[0][0] += c.temp_rw_k_per_sqrt_s * c.temp_rw_k_per_sqrt_s * dt_s;
  Pn[1][1] += c.extra_heat_rw_w_per_sqrt_s * c.extra_heat_rw_w_per_sqrt_s * dt_s;
  Pn[2][2] += c.cooling_rw_per_sqrt_s * c.cooling_rw_per_sqrt_s * dt_s;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) P_[i][j] = 0.5 * (Pn[i][j] + Pn[j][i]);
  if (!temperature_valid) return Status::ok;

  // Update with z = T + v.
  const double innovation = temperature_k - x_[0];
  const double s = P_[0][0] + c.measurement_sigma_k * c.measurement_sigma_k;
  if (c.gate_sigma > 0.0 && innovation * innovation > c.gate_sigma * c.gate_sigma * s) {
    if (gated_run_ < c.gate_reset_after || c.gate_reset_after == 0) {
      ++gated_run_;
      return Status::ok;
    }
    // A sustained departure: the model is wrong, not the sensor. Fuse it, and let q_x move.
    P_[1][1] = std::max(P_[1][1], c.extra_heat_sigma0_w * c.extra_heat_sigma0_w);
  }
  gated_run_ = 0;
  const double s2 = P_[0][0] + c.measurement_sigma_k * c.measurement_sigma_k;
  const double gain[3] = {P_[0][0] / s2, P_[1][0] / s2, P_[2][0] / s2};
  for (int i = 0; i < 3; ++i) x_[i] += gain[i] * innovation;
  const double row0[3] = {P_[0][0], P_[0][1], P_[0][2]};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) P_[i][j] -= gain[i] * row0[j];
  x_[2] = std::min(std::max(x_[2], c.cooling_min), c.cooling_max);
  return Status::ok;
}

}  // namespace safetwin::estimation
