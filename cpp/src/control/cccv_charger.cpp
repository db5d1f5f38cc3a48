#include "safetwin/control/cccv_charger.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::control {

void CcCvConfig::validate() const {
  require_positive("CcCvConfig.charge_current_a", charge_current_a);
  require_positive("CcCvConfig.cv_voltage_v", cv_voltage_v);
  require_non_negative("CcCvConfig.cutoff_current_a", cutoff_current_a);
  if (!(cutoff_current_a < charge_current_a))
    throw_invalid("CcCvConfig.cutoff_current_a", cutoff_current_a,
                  "must be < charge_current_a = " + std::to_string(charge_current_a));
  require_positive("CcCvConfig.resistance_ohm", resistance_ohm);
}

CcCvCharger::CcCvCharger(CcCvConfig config) : config_((config.validate(), config)) {}

void CcCvCharger::reset() noexcept {
  phase_ = CcCvPhase::constant_current;
  last_current_a_ = 0.0;
  started_ = false;
}

double CcCvCharger::current_a(double max_cell_voltage_v) noexcept {
  if (!std::isfinite(max_cell_voltage_v)) phase_ = CcCvPhase::done;
  if (phase_ == CcCvPhase::done) return last_current_a_ = 0.0;
  const double i_cc = -config_.charge_current_a;
  if (!started_) {  // no voltage under current yet: the first step is CC
    started_ = true;
    return last_current_a_ = i_cc;
  }
  // Current that puts the next voltage at the set-point (ohmic prediction from the last step).
  const double i_cv = last_current_a_ + (max_cell_voltage_v - config_.cv_voltage_v) / config_.resistance_ohm;
  if (phase_ == CcCvPhase::constant_current && i_cv > i_cc) phase_ = CcCvPhase::constant_voltage;
  if (phase_ == CcCvPhase::constant_current) return last_current_a_ = i_cc;
  const double i = std::clamp(i_cv, i_cc, 0.0);
  if (-i < config_.cutoff_current_a) {
    phase_ = CcCvPhase::done;
    return last_current_a_ = 0.0;
  }
  return last_current_a_ = i;
}

Status run_cccv(battery::Pack& pack, CcCvCharger& charger, double dt_s, std::size_t max_steps, std::size_t* steps,
                double* current_a, double* pack_voltage_v, double* cell_voltage_v, double* cell_temp_k,
                double* cell_soc) noexcept {
  if (!std::isfinite(dt_s)) return Status::non_finite_input;
  if (!(dt_s > 0.0) || steps == nullptr) return Status::invalid_argument;
  const std::size_t m = pack.cells();
  double v_max = 0.0;
  std::size_t k = 0;
  for (; k < max_steps; ++k) {
    const double i = charger.current_a(v_max);
    if (charger.phase() == CcCvPhase::done) break;
    for (std::size_t j = 0; j < m; ++j) {
      if (cell_temp_k != nullptr) cell_temp_k[k * m + j] = pack.states()[j].temp_k;
      if (cell_soc != nullptr) cell_soc[k * m + j] = pack.states()[j].soc;
    }
    const Status st = pack.step(i, dt_s);
    if (st != Status::ok) {
      *steps = k;
      return st;
    }
    const auto& v = pack.cell_voltage_v();
    v_max = *std::max_element(v.begin(), v.end());
    if (current_a != nullptr) current_a[k] = i;
    if (pack_voltage_v != nullptr) pack_voltage_v[k] = pack.pack_voltage_v();
    if (cell_voltage_v != nullptr)
      for (std::size_t j = 0; j < m; ++j) cell_voltage_v[k * m + j] = v[j];
  }
  *steps = k;
  return Status::ok;
}

}  // namespace safetwin::control
