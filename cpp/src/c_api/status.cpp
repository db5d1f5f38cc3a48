// C ABI: status strings and the conversions of the plain parameter structs (safetwin_c.h).
#include "c_api_internal.hpp"

namespace safetwin::c_api {

battery::CellParams to_cpp(const safetwin_cell_params_t& c) {
  battery::CellParams p = battery::CellParams::ref_cell_1();  // keeps REF-CELL-1's OCV table
  p.capacity_ah = c.capacity_ah;
  p.coulombic_efficiency = c.coulombic_efficiency;
  p.r0_ohm = battery::ParamSurface::constant(c.r0_ohm);
  p.r1_ohm = battery::ParamSurface::constant(c.r1_ohm);
  p.c1_f = battery::ParamSurface::constant(c.c1_f);
  p.r2_ohm = battery::ParamSurface::constant(c.r2_ohm);
  p.c2_f = battery::ParamSurface::constant(c.c2_f);
  p.arrhenius_k = c.arrhenius_k;
  p.heat_capacity_j_per_k = c.heat_capacity_j_per_k;
  p.heat_transfer_w_per_k = c.heat_transfer_w_per_k;
  p.ambient_temp_k = c.ambient_temp_k;
  p.limits.voltage_min_v = c.voltage_min_v;
  p.limits.voltage_max_v = c.voltage_max_v;
  p.limits.temp_min_k = c.temp_min_k;
  p.limits.temp_max_k = c.temp_max_k;
  p.limits.charge_current_max_a = c.charge_current_max_a;
  p.limits.discharge_current_max_a = c.discharge_current_max_a;
  p.validate();
  return p;
}

safetwin_cell_params_t to_c(const battery::CellParams& p) noexcept {
  // Constant surfaces: the value anywhere is the value at 25 degC.
  const auto at_ref = [](const battery::ParamSurface& s) { return s.at(0.5, battery::kReferenceTempK); };
  safetwin_cell_params_t c{};
  c.capacity_ah = p.capacity_ah;
  c.coulombic_efficiency = p.coulombic_efficiency;
  c.r0_ohm = at_ref(p.r0_ohm);
  c.r1_ohm = at_ref(p.r1_ohm);
  c.c1_f = at_ref(p.c1_f);
  c.r2_ohm = at_ref(p.r2_ohm);
  c.c2_f = at_ref(p.c2_f);
  c.arrhenius_k = p.arrhenius_k;
  c.heat_capacity_j_per_k = p.heat_capacity_j_per_k;
  c.heat_transfer_w_per_k = p.heat_transfer_w_per_k;
  c.ambient_temp_k = p.ambient_temp_k;
  c.voltage_min_v = p.limits.voltage_min_v;
  c.voltage_max_v = p.limits.voltage_max_v;
  c.temp_min_k = p.limits.temp_min_k;
  c.temp_max_k = p.limits.temp_max_k;
  c.charge_current_max_a = p.limits.charge_current_max_a;
  c.discharge_current_max_a = p.limits.discharge_current_max_a;
  return c;
}

estimation::BatteryEkfConfig to_cpp(const safetwin_ekf_config_t& c) {
  estimation::BatteryEkfConfig p;
  p.cell = to_cpp(c.cell);
  p.soc0 = c.soc0;
  p.v1_0_v = c.v1_0_v;
  p.v2_0_v = c.v2_0_v;
  p.temp0_k = c.temp0_k;
  p.soc_sigma0 = c.soc_sigma0;
  p.v_rc_sigma0_v = c.v_rc_sigma0_v;
  p.temp_sigma0_k = c.temp_sigma0_k;
  p.current_sigma_a = c.current_sigma_a;
  p.soc_rw_per_sqrt_s = c.soc_rw_per_sqrt_s;
  p.v_rc_rw_v_per_sqrt_s = c.v_rc_rw_v_per_sqrt_s;
  p.temp_rw_k_per_sqrt_s = c.temp_rw_k_per_sqrt_s;
  p.voltage_a_sigma_v = c.voltage_a_sigma_v;
  p.voltage_b_sigma_v = c.voltage_b_sigma_v;
  p.voltage_model_sigma_v = c.voltage_model_sigma_v;
  p.voltage_model_correlation_s = c.voltage_model_correlation_s;
  p.temperature_sigma_k = c.temperature_sigma_k;
  p.gate_probability = c.gate_probability;
  p.gate_reset_after = c.gate_reset_after;
  p.estimate_params = false;
  return p;  // BatteryEkf's constructor validates
}

safetwin_ekf_config_t to_c(const estimation::BatteryEkfConfig& p) noexcept {
  safetwin_ekf_config_t c{};
  c.cell = to_c(p.cell);
  c.soc0 = p.soc0;
  c.v1_0_v = p.v1_0_v;
  c.v2_0_v = p.v2_0_v;
  c.temp0_k = p.temp0_k;
  c.soc_sigma0 = p.soc_sigma0;
  c.v_rc_sigma0_v = p.v_rc_sigma0_v;
  c.temp_sigma0_k = p.temp_sigma0_k;
  c.current_sigma_a = p.current_sigma_a;
  c.soc_rw_per_sqrt_s = p.soc_rw_per_sqrt_s;
  c.v_rc_rw_v_per_sqrt_s = p.v_rc_rw_v_per_sqrt_s;
  c.temp_rw_k_per_sqrt_s = p.temp_rw_k_per_sqrt_s;
  c.voltage_a_sigma_v = p.voltage_a_sigma_v;
  c.voltage_b_sigma_v = p.voltage_b_sigma_v;
  c.voltage_model_sigma_v = p.voltage_model_sigma_v;
  c.voltage_model_correlation_s = p.voltage_model_correlation_s;
  c.temperature_sigma_k = p.temperature_sigma_k;
  c.gate_probability = p.gate_probability;
  c.gate_reset_after = p.gate_reset_after;
  return c;
}

}  // namespace safetwin::c_api

// Spelled out rather than forwarded to safetwin::to_string: the C numbers are fixed by the ABI.
extern "C" const char* safetwin_status_string(int status) {
  switch (status) {
    case SAFETWIN_OK: return "ok";
    case SAFETWIN_INVALID_ARGUMENT: return "invalid_argument";
    case SAFETWIN_NON_FINITE_INPUT: return "non_finite_input";
    case SAFETWIN_NOT_INITIALISED: return "not_initialised";
    case SAFETWIN_MAX_ITERATIONS: return "max_iterations";
    case SAFETWIN_PRIMAL_INFEASIBLE: return "primal_infeasible";
    case SAFETWIN_DUAL_INFEASIBLE: return "dual_infeasible";
    case SAFETWIN_NUMERICAL_ERROR: return "numerical_error";
    case SAFETWIN_OUT_OF_MEMORY: return "out_of_memory";
    case SAFETWIN_INTERNAL_ERROR: return "internal_error";
  }
  return "unknown";
}

// The defaults come from the C++ defaults (one source). Building them allocates (the OCV table):
// should that fail, the struct is zeroed, which every create function refuses with a message.
extern "C" void safetwin_cell_params_default(safetwin_cell_params_t* params) {
  if (params == nullptr) return;
  try {
    *params = safetwin::c_api::to_c(safetwin::battery::CellParams::ref_cell_1());
  } catch (...) { *params = safetwin_cell_params_t{}; }
}

extern "C" void safetwin_ekf_config_default(safetwin_ekf_config_t* config) {
  if (config == nullptr) return;
  try {
    *config = safetwin::c_api::to_c(safetwin::estimation::BatteryEkfConfig{});
  } catch (...) { *config = safetwin_ekf_config_t{}; }
}

extern "C" const char* safetwin_decision_string(int decision) {
  switch (decision) {
    case SAFETWIN_DECISION_APPLIED: return "applied";
    case SAFETWIN_DECISION_FALLBACK: return "fallback";
    case SAFETWIN_DECISION_REJECTED: return "rejected";
    case SAFETWIN_DECISION_DEADLINE_MISSED: return "deadline_missed";
  }
  return "unknown";
}
