#pragma once
// The control-cycle call of the firmware, in one place: measurements in, pack current command out.
//
// Now: the CC-CV charger of the core (control::CcCvCharger) on the highest cell voltage when the
// vehicle asks to charge, the vehicle's demand when it drives, and a limits layer that holds every
// request inside the cell limits: current limits per cell times the parallel count, temperature
// derating, and the voltage window as a one-step barrier on the ohmic model (the next highest cell
// voltage V_now - R (I_next - I_now) stays <= V_max, the lowest >= V_min). A missing measurement
// makes the allowed range {0} (fail closed).
// Called once per control cycle; compute() allocates nothing and never throws.
#include "measurements.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/control/cccv_charger.hpp"
#include "safetwin/status.hpp"

namespace safetwin::firmware {

struct ControlStepConfig {
  int parallel = 1;
  battery::CellLimits limits = battery::CellParams::ref_cell_1().limits;
  double charge_current_a = 5.15;     // CC-CV charge current magnitude per pack (1C of REF-CELL-1)
  double cv_voltage_v = 4.2;
  double cutoff_current_a = 0.2575;
  double resistance_ohm = 0.021;      // per cell, for the CV law
  double derate_span_k = 10.0;        // current allowed falls linearly to 0 over the last span below T_max
  void validate() const;              // throws std::invalid_argument naming the field
};

class ControlStep {
 public:
  explicit ControlStep(const ControlStepConfig& config);
  // One cycle: fills *out; returns Status::ok, or Status::non_finite_input when a measurement the
  // law needs is missing (the command is then 0).
  [[nodiscard]] Status compute(const Measurements& m, double dt_s, Command& out) noexcept;
  void reset() noexcept;

 private:
  ControlStepConfig config_;
  control::CcCvCharger charger_;
  bool charging_ = false;
};

}  // namespace safetwin::firmware
