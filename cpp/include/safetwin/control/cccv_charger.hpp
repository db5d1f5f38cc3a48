#pragma once
// The classic constant-current / constant-voltage charger, the baseline every fast-charge
// controller is compared with. It sees only the highest cell voltage, as a real charger does.
//
// CV phase: the next current makes the predicted voltage equal the CV set-point, with the ohmic
// step response as the model: I[k] = I[k-1] + (V[k-1] - V_cv) / R. That is a deadbeat law on the
// series resistance and an integrator on everything slower (RC pairs, OCV rise).
// Call current_a() once per step, after the voltage of the previous step is known.
#include <cstddef>

#include "safetwin/battery/pack.hpp"
#include "safetwin/status.hpp"

namespace safetwin::control {

struct CcCvConfig {
  double charge_current_a = 5.15;    // magnitude of the CC current (1C of REF-CELL-1), per pack
  double cv_voltage_v = 4.2;         // set-point of the highest cell voltage
  double cutoff_current_a = 0.2575;  // end of charge: |I| below this in CV (C/20)
  double resistance_ohm = 0.021;     // series resistance seen by the pack current, per cell group
  void validate() const;             // throws std::invalid_argument naming the field
};

enum class CcCvPhase : unsigned char { constant_current, constant_voltage, done };

class CcCvCharger {
 public:
  explicit CcCvCharger(CcCvConfig config);
  // Pack current in A (<= 0: charging) for the next step, given the highest cell voltage in V
  // measured in the step just taken. A non-finite voltage stops the charge (fail closed).
  [[nodiscard]] double current_a(double max_cell_voltage_v) noexcept;
  [[nodiscard]] CcCvPhase phase() const noexcept { return phase_; }
  void reset() noexcept;

 private:
  CcCvConfig config_;
  CcCvPhase phase_ = CcCvPhase::constant_current;
  double last_current_a_ = 0.0;
  bool started_ = false;
};

// Runs the charger on the pack in closed loop until the charge ends or max_steps have run; per-step
// outputs as in Pack::simulate (each pointer may be null, buffers hold max_steps rows).
// *steps receives the number of rows written.
[[nodiscard]] Status run_cccv(battery::Pack& pack, CcCvCharger& charger, double dt_s, std::size_t max_steps,
                              std::size_t* steps, double* current_a, double* pack_voltage_v, double* cell_voltage_v,
                              double* cell_temp_k, double* cell_soc) noexcept;

}  // namespace safetwin::control
