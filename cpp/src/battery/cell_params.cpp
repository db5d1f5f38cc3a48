#include "safetwin/battery/cell_params.hpp"

#include <cmath>

#include "safetwin/battery/cell_model.hpp"

#include "safetwin/validate.hpp"

namespace safetwin::battery {

CellParams CellParams::ref_cell_1() { return CellParams{}; }  // the defaults are REF-CELL-1

void CellParams::validate() const {
  require_positive("CellParams.capacity_ah", capacity_ah);
  if (!(coulombic_efficiency > 0.0 && coulombic_efficiency <= 1.0))
    throw_invalid("CellParams.coulombic_efficiency", coulombic_efficiency, "must be in (0, 1]");
  if (rc_pairs < 1 || rc_pairs > 3) throw_invalid("CellParams.rc_pairs", rc_pairs, "must be 1, 2 or 3");
  const struct {
    const char* name;
    const ParamSurface* s;
    bool used;
  } surfaces[] = {{"CellParams.r0_ohm", &r0_ohm, true},
                  {"CellParams.r1_ohm", &r1_ohm, true},
                  {"CellParams.c1_f", &c1_f, true},
                  {"CellParams.r2_ohm", &r2_ohm, rc_pairs >= 2},
                  {"CellParams.c2_f", &c2_f, rc_pairs >= 2},
                  {"CellParams.r3_ohm", &r3_ohm, rc_pairs >= 3},
                  {"CellParams.c3_f", &c3_f, rc_pairs >= 3},
                  {"CellParams.r0_charge_ohm", r0_charge_ohm ? &*r0_charge_ohm : nullptr, true},
                  {"CellParams.r1_charge_ohm", r1_charge_ohm ? &*r1_charge_ohm : nullptr, true},
                  {"CellParams.r2_charge_ohm", r2_charge_ohm ? &*r2_charge_ohm : nullptr, rc_pairs >= 2},
                  {"CellParams.r3_charge_ohm", r3_charge_ohm ? &*r3_charge_ohm : nullptr, rc_pairs >= 3}};
  for (const auto& f : surfaces)
    if (f.used && f.s != nullptr && !(f.s->min_value() > 0.0))
      throw_invalid(f.name, f.s->min_value(), "must be > 0 everywhere (resistance or capacitance)");
  if (entropic_v_per_k) {
    for (double v : entropic_v_per_k->values())
      if (!(std::abs(v) <= 0.01))
        throw_invalid("CellParams.entropic_v_per_k", v, "must be finite with |dU/dT| <= 0.01 V/K");
  }
  if (hysteresis) {
    require_non_negative("CellParams.hysteresis.gamma", hysteresis->gamma);
    if (!std::isfinite(hysteresis->gamma))
      throw_invalid("CellParams.hysteresis.gamma", hysteresis->gamma, "must be finite");
    require_in_range("CellParams.hysteresis.m_v", hysteresis->m_v, 0.0, 1.0);
    require_in_range("CellParams.hysteresis.m0_v", hysteresis->m0_v, 0.0, 1.0);
  }
  if (exchange_current_a) {
    for (double v : exchange_current_a->values())
      if (!(v > 0.0 && v <= kMaxExchangeCurrentA))
        throw_invalid("CellParams.exchange_current_a", v, "must be > 0 and <= 10000 A everywhere");
  }
  require_non_negative("CellParams.arrhenius_k", arrhenius_k);
  require_positive("CellParams.heat_capacity_j_per_k", heat_capacity_j_per_k);
  require_non_negative("CellParams.heat_transfer_w_per_k", heat_transfer_w_per_k);
  require_positive("CellParams.ambient_temp_k", ambient_temp_k);
  require_finite("CellParams.limits.voltage_min_v", limits.voltage_min_v);
  if (!(limits.voltage_max_v > limits.voltage_min_v))
    throw_invalid("CellParams.limits.voltage_max_v", limits.voltage_max_v,
                  "must be > voltage_min_v = " + std::to_string(limits.voltage_min_v));
  require_positive("CellParams.limits.temp_min_k", limits.temp_min_k);
  if (!(limits.temp_max_k > limits.temp_min_k && std::isfinite(limits.temp_max_k)))
    throw_invalid("CellParams.limits.temp_max_k", limits.temp_max_k,
                  "must be finite and > temp_min_k = " + std::to_string(limits.temp_min_k));
  require_non_negative("CellParams.limits.charge_current_max_a", limits.charge_current_max_a);
  require_non_negative("CellParams.limits.discharge_current_max_a", limits.discharge_current_max_a);
}

void CellScaling::validate(const std::string& owner) const {
  require_positive(owner + ".capacity_factor", capacity_factor);
  require_positive(owner + ".resistance_factor", resistance_factor);
  require_positive(owner + ".r0_factor", r0_factor);
}

bool CellParams::all_constant() const noexcept {
  const auto c = [](const std::optional<ParamSurface>& s) { return !s || s->is_constant(); };
  return r0_ohm.is_constant() && r1_ohm.is_constant() && c1_f.is_constant() && r2_ohm.is_constant() &&
         c2_f.is_constant() && r3_ohm.is_constant() && c3_f.is_constant() && c(r0_charge_ohm) && c(r1_charge_ohm) &&
         c(r2_charge_ohm) && c(r3_charge_ohm);
}

CellCoefficients coefficients(const CellParams& p, const CellScaling& s, double soc, double temp_k) noexcept {
  // The one model's coefficients (cell_model.hpp) of the first two pairs, discharge side.
  const ModelFactors<double> f{s.resistance_factor * s.r0_factor, s.capacity_factor, s.resistance_factor};
  const auto c = rc_coefficients<2>(p, soc, temp_k, false, f, 0.0);  // small-signal R0 (I -> 0)
  return CellCoefficients{c.r0_ohm, c.r_ohm[0], c.r_ohm[1], c.tau_s[0], c.tau_s[1]};
}

}  // namespace safetwin::battery
