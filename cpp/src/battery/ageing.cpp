// Schmalstieg et al. 2014 calendar + cycle ageing (see ageing.hpp for the laws and the source).
#include "safetwin/battery/ageing.hpp"

#include <algorithm>
#include <cmath>
#include <utility>

#include "safetwin/validate.hpp"

namespace safetwin::battery {

namespace {
constexpr double kSecondsPerDay = 86400.0;

// f = k x^e after the present fade f0 plus an interval dx of the law's variable (equivalent x).
double advance_power_law(double f0, double k, double exponent, double dx) noexcept {
  if (k <= 0.0 || dx <= 0.0) return f0;  // no stress of this kind: the fade stays
  const double x_eq = f0 > 0.0 ? std::pow(f0 / k, 1.0 / exponent) : 0.0;
  return k * std::pow(x_eq + dx, exponent);
}
}  // namespace

void AgeingParams::validate() const {
  const std::string p = "AgeingParams.";
  require_finite(p + "cal_cap_v_slope", cal_cap_v_slope);
  require_finite(p + "cal_cap_v_offset", cal_cap_v_offset);
  require_non_negative(p + "cal_cap_scale", cal_cap_scale);
  require_non_negative(p + "cal_cap_activation_k", cal_cap_activation_k);
  require_finite(p + "cal_res_v_slope", cal_res_v_slope);
  require_finite(p + "cal_res_v_offset", cal_res_v_offset);
  require_non_negative(p + "cal_res_scale", cal_res_scale);
  require_non_negative(p + "cal_res_activation_k", cal_res_activation_k);
  require_in_range(p + "time_exponent", time_exponent, 0.1, 1.0);
  require_finite(p + "cyc_cap_v_quad", cyc_cap_v_quad);
  require_finite(p + "cyc_cap_v_center", cyc_cap_v_center);
  require_finite(p + "cyc_cap_offset", cyc_cap_offset);
  require_finite(p + "cyc_cap_dod", cyc_cap_dod);
  require_finite(p + "cyc_res_v_quad", cyc_res_v_quad);
  require_finite(p + "cyc_res_v_center", cyc_res_v_center);
  require_finite(p + "cyc_res_offset", cyc_res_offset);
  require_finite(p + "cyc_res_dod", cyc_res_dod);
  require_in_range(p + "throughput_exponent", throughput_exponent, 0.1, 1.0);
  require_positive(p + "reference_capacity_ah", reference_capacity_ah);
  require_positive(p + "capacity_ah", capacity_ah);
  require_non_negative(p + "calendar_rate_factor", calendar_rate_factor);
  require_non_negative(p + "cycle_rate_factor", cycle_rate_factor);
}

AgeingModel::AgeingModel(AgeingParams params, OcvTable ocv) : params_(params), ocv_(std::move(ocv)) {
  params_.validate();
}

AgeingCoefficients AgeingModel::coefficients(double temp_k, double soc_mean, double dod) const noexcept {
  const AgeingParams& p = params_;
  const double v = ocv_.voltage_v(soc_mean);
  const double cal = p.calendar_rate_factor;
  const double cyc = p.cycle_rate_factor;
  AgeingCoefficients c{};
  c.alpha_cap_per_day_pow = cal * std::max(0.0, (p.cal_cap_v_slope * v + p.cal_cap_v_offset) * p.cal_cap_scale *
                                                    std::exp(-p.cal_cap_activation_k / temp_k));
  c.alpha_res_per_day_pow = cal * std::max(0.0, (p.cal_res_v_slope * v + p.cal_res_v_offset) * p.cal_res_scale *
                                                    std::exp(-p.cal_res_activation_k / temp_k));
  const double dv_cap = v - p.cyc_cap_v_center;
  const double dv_res = v - p.cyc_res_v_center;
  c.beta_cap_per_ah_pow =
      cyc * std::max(0.0, p.cyc_cap_v_quad * dv_cap * dv_cap + p.cyc_cap_offset + p.cyc_cap_dod * dod);
  c.beta_res_per_ah = cyc * std::max(0.0, p.cyc_res_v_quad * dv_res * dv_res + p.cyc_res_offset + p.cyc_res_dod * dod);
  return c;
}

Status AgeingModel::advance(const AgeingStress& s, AgeingState& state) const noexcept {
  if (!(std::isfinite(s.duration_s) && std::isfinite(s.temp_k) && std::isfinite(s.soc_mean) &&
        std::isfinite(s.throughput_ah) && std::isfinite(s.dod)))
    return Status::non_finite_input;
  if (s.duration_s < 0.0 || s.throughput_ah < 0.0 || s.temp_k <= 0.0 || s.soc_mean < 0.0 || s.soc_mean > 1.0 ||
      s.dod < 0.0 || s.dod > 1.0)
    return Status::invalid_argument;
  const AgeingCoefficients c = coefficients(s.temp_k, s.soc_mean, s.dod);
  const double days = s.duration_s / kSecondsPerDay;
  const double q_ref_ah = s.throughput_ah * params_.reference_capacity_ah / params_.capacity_ah;
  state.cal_cap_fade = advance_power_law(state.cal_cap_fade, c.alpha_cap_per_day_pow, params_.time_exponent, days);
  state.cal_res_growth = advance_power_law(state.cal_res_growth, c.alpha_res_per_day_pow, params_.time_exponent, days);
  state.cyc_cap_fade =
      advance_power_law(state.cyc_cap_fade, c.beta_cap_per_ah_pow, params_.throughput_exponent, q_ref_ah);
  state.cyc_res_growth += c.beta_res_per_ah * q_ref_ah;  // linear in Q: no equivalent throughput needed
  state.elapsed_s += s.duration_s;
  state.throughput_ah += s.throughput_ah;
  return Status::ok;
}

}  // namespace safetwin::battery
