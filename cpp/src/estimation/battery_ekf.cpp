// BatteryEkfConfig's validation, the channel variances and the 2RC filter (BatteryEkf), alone in
// this unit (battery_ekf_impl.hpp says why); the other structures: battery_ekf_structures.cpp.
#include "battery_ekf_impl.hpp"

namespace safetwin::estimation {

void BatteryEkfConfig::validate() const {
  cell.validate();
  const std::string o = "BatteryEkfConfig.";
  require_finite(o + "soc0", soc0);
  require_finite(o + "v1_0_v", v1_0_v);
  require_finite(o + "v2_0_v", v2_0_v);
  require_positive(o + "temp0_k", temp0_k);
  require_positive(o + "soc_sigma0", soc_sigma0);
  require_positive(o + "v_rc_sigma0_v", v_rc_sigma0_v);
  require_positive(o + "temp_sigma0_k", temp_sigma0_k);
  require_finite(o + "v3_0_v", v3_0_v);
  require_in_range(o + "hysteresis0", hysteresis0, -1.0, 1.0);
  require_positive(o + "hysteresis_sigma0", hysteresis_sigma0);
  require_in_range(o + "hysteresis_sign0", hysteresis_sign0, -1.0, 1.0);
  require_positive(o + "hysteresis_sign_sigma0", hysteresis_sign_sigma0);
  require_non_negative(o + "hysteresis_rw_per_sqrt_s", hysteresis_rw_per_sqrt_s);
  require_positive(o + "hysteresis_sign_rw_per_sqrt_s", hysteresis_sign_rw_per_sqrt_s);
  require_non_negative(o + "hysteresis_rest_current_a", hysteresis_rest_current_a);
  require_non_negative(o + "current_sigma_a", current_sigma_a);
  require_non_negative(o + "soc_rw_per_sqrt_s", soc_rw_per_sqrt_s);
  require_non_negative(o + "v_rc_rw_v_per_sqrt_s", v_rc_rw_v_per_sqrt_s);
  require_non_negative(o + "temp_rw_k_per_sqrt_s", temp_rw_k_per_sqrt_s);
  require_positive(o + "voltage_a_sigma_v", voltage_a_sigma_v);
  require_positive(o + "voltage_b_sigma_v", voltage_b_sigma_v);
  require_non_negative(o + "voltage_model_sigma_v", voltage_model_sigma_v);
  require_non_negative(o + "voltage_model_correlation_s", voltage_model_correlation_s);
  require_positive(o + "temperature_sigma_k", temperature_sigma_k);
  if (!(gate_probability > 0.0 && gate_probability <= 1.0))
    throw_invalid(o + "gate_probability", gate_probability, "must be in (0, 1] (1: no gate)");
  if (gate_reset_after < 0) throw_invalid(o + "gate_reset_after", gate_reset_after, "must be >= 0 (0: never)");
  require_positive(o + "r0_factor_min", r0_factor_min);
  if (!(r0_factor_max >= r0_factor_min && std::isfinite(r0_factor_max)))
    throw_invalid(o + "r0_factor_max", r0_factor_max,
                  "must be finite and >= r0_factor_min = " + std::to_string(r0_factor_min));
  require_positive(o + "capacity_factor_min", capacity_factor_min);
  if (!(capacity_factor_max >= capacity_factor_min && std::isfinite(capacity_factor_max)))
    throw_invalid(o + "capacity_factor_max", capacity_factor_max,
                  "must be finite and >= capacity_factor_min = " + std::to_string(capacity_factor_min));
  require_in_range(o + "r0_factor0", r0_factor0, r0_factor_min, r0_factor_max);
  require_in_range(o + "capacity_factor0", capacity_factor0, capacity_factor_min, capacity_factor_max);
  require_positive(o + "r0_factor_sigma0", r0_factor_sigma0);
  require_positive(o + "capacity_factor_sigma0", capacity_factor_sigma0);
  require_non_negative(o + "r0_factor_rw_per_sqrt_s", r0_factor_rw_per_sqrt_s);
  require_non_negative(o + "capacity_factor_rw_per_sqrt_s", capacity_factor_rw_per_sqrt_s);
  require_non_negative(o + "r0_excitation_a", r0_excitation_a);
  require_non_negative(o + "capacity_rest_current_a", capacity_rest_current_a);
  require_non_negative(o + "capacity_throughput_ah", capacity_throughput_ah);
  require_positive(o + "capacity_soc_sigma_max", capacity_soc_sigma_max);
}

std::array<double, kChannelCount> channel_variances(const BatteryEkfConfig& config) noexcept {
  const auto r = measurement_variance(config, 1.0);
  return {r[0], r[1], r[2]};
}

template class BasicBatteryEkf<battery::RefStructure>;

}  // namespace safetwin::estimation
