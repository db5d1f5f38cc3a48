#include "control_step.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::firmware {

namespace {
control::CcCvConfig charger_config(const ControlStepConfig& c) {
  return control::CcCvConfig{c.charge_current_a, c.cv_voltage_v, c.cutoff_current_a,
                             c.resistance_ohm / static_cast<double>(c.parallel)};
}
}  // namespace

void ControlStepConfig::validate() const {
  if (parallel < 1) throw_invalid("ControlStepConfig.parallel", parallel, "must be >= 1");
  require_positive("ControlStepConfig.limits.charge_current_max_a", limits.charge_current_max_a);
  require_positive("ControlStepConfig.limits.discharge_current_max_a", limits.discharge_current_max_a);
  if (!(limits.voltage_min_v < limits.voltage_max_v))
    throw_invalid("ControlStepConfig.limits.voltage_min_v", limits.voltage_min_v, "must be < voltage_max_v");
  require_positive("ControlStepConfig.derate_span_k", derate_span_k);
  if (cv_voltage_v > limits.voltage_max_v)
    throw_invalid("ControlStepConfig.cv_voltage_v", cv_voltage_v,
                  "must be <= limits.voltage_max_v = " + std::to_string(limits.voltage_max_v));
  charger_config(*this).validate();
}

ControlStep::ControlStep(const ControlStepConfig& config)
    : config_((config.validate(), config)), charger_(charger_config(config)) {}

void ControlStep::reset() noexcept {
  charger_.reset();
  charging_ = false;
}

Status ControlStep::compute(const Measurements& m, double /*dt_s*/, Command& out) noexcept {
  out = Command{};
  double v_max = -INFINITY, v_min = INFINITY, t_max = -INFINITY;
  bool missing = m.n_cells == 0 || !std::isfinite(m.pack_current_a);
  for (std::size_t j = 0; j < m.n_cells; ++j) {
    const double v = m.cell_voltage_v[j], t = m.cell_temp_k[j];
    if (!std::isfinite(v) || !std::isfinite(t)) missing = true;
    v_max = std::max(v_max, v);
    v_min = std::min(v_min, v);
    t_max = std::max(t_max, t);
  }
  if (missing) {  // fail closed: nothing moves on a partial picture of the pack
    if (charging_) reset();
    return Status::non_finite_input;
  }
  const auto& lim = config_.limits;
  const double np = static_cast<double>(config_.parallel);
  // Temperature derating: full current up to T_max - span, none at T_max.
  const double derate = std::clamp((lim.temp_max_k - t_max) / config_.derate_span_k, 0.0, 1.0);
  const double cold = t_max < lim.temp_min_k ? 0.0 : 1.0;
  // Voltage limits as a one-step barrier on the ohmic model: V_next = V_now - R (I_next - I_now)
  // must stay inside [V_min, V_max] for the highest and the lowest cell.
  const double r = config_.resistance_ohm / np;
  const double i_now = m.pack_current_a;
  const double i_min_v = std::min(0.0, i_now - (lim.voltage_max_v - v_max) / r);
  const double i_max_v = std::max(0.0, i_now + (v_min - lim.voltage_min_v) / r);
  out.current_min_a = std::max(-lim.charge_current_max_a * np * derate * cold, i_min_v);
  out.current_max_a = std::min(lim.discharge_current_max_a * np * derate, i_max_v);
  out.derated = derate < 1.0 || cold == 0.0 || out.current_min_a > -lim.charge_current_max_a * np ||
                out.current_max_a < lim.discharge_current_max_a * np;
  double request = 0.0;
  switch (m.request_mode) {
    case RequestMode::charge: {
      if (!charging_) {
        charger_.reset();
        charging_ = true;
      }
      request = charger_.current_a(v_max);
      // The charger's available current (< 0) bounds the charge too.
      if (std::isfinite(m.request_current_a) && m.request_current_a < 0.0)
        request = std::max(request, m.request_current_a);
      break;
    }
    case RequestMode::drive:
      charging_ = false;
      request = std::isfinite(m.request_current_a) ? m.request_current_a : 0.0;
      break;
    case RequestMode::idle:
      charging_ = false;
      request = 0.0;
      break;
  }
  out.current_a = std::isfinite(request) ? std::clamp(request, out.current_min_a, out.current_max_a) : 0.0;
  return Status::ok;
}

}  // namespace safetwin::firmware
