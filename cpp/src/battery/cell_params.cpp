#include "safetwin/battery/cell_params.hpp"

#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::battery {

CellParams CellParams::ref_cell_1() { return CellParams{}; }  // the defaults are REF-CELL-1

void CellParams::validate() const {
  require_positive("CellParams.capacity_ah", capacity_ah);
  if (!(coulombic_efficiency > 0.0 && coulombic_efficiency <= 1.0))
    throw_invalid("CellParams.coulombic_efficiency", coulombic_efficiency, "must be in (0, 1]");
  const struct { const char* name; const ParamSurface* s; } surfaces[] = {
      {"CellParams.r0_ohm", &r0_ohm}, {"CellParams.r1_ohm", &r1_ohm}, {"CellParams.c1_f", &c1_f},
      {"CellParams.r2_ohm", &r2_ohm}, {"CellParams.c2_f", &c2_f}};
  for (const auto& f : surfaces)
    if (!(f.s->min_value() > 0.0))
      throw_invalid(f.name, f.s->min_value(), "must be > 0 everywhere (resistance or capacitance)");
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

CellCoefficients coefficients(const CellParams& p, const CellScaling& s, double soc,
                              double temp_k) noexcept {
  // One Arrhenius factor serves every constant resistance: they share E_R.
  const double arrhenius = std::exp(p.arrhenius_k * (1.0 / temp_k - 1.0 / kReferenceTempK));
  const auto resistance = [&](const ParamSurface& r) {
    return r.is_constant() ? r.at(soc, temp_k) * arrhenius : r.at(soc, temp_k);
  };
  // The time constant is R·C of the surfaces as given (for constants: fixed, as REF-CELL-1 says).
  CellCoefficients c{};
  c.r0_ohm = resistance(p.r0_ohm) * s.resistance_factor * s.r0_factor;
  c.r1_ohm = resistance(p.r1_ohm) * s.resistance_factor;
  c.r2_ohm = resistance(p.r2_ohm) * s.resistance_factor;
  c.tau1_s = p.r1_ohm.at(soc, temp_k) * p.c1_f.at(soc, temp_k);
  c.tau2_s = p.r2_ohm.at(soc, temp_k) * p.c2_f.at(soc, temp_k);
  return c;
}

}  // namespace safetwin::battery
