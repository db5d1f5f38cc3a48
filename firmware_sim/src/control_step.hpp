#pragma once
// The control-cycle call of the firmware, in one place: measurements in, pack current command out.
//
// Every cycle:
//   1. estimator: estimation::PackEstimator, one BatteryEkf per series group (voltage +
//      temperature channels, measured pack current / parallel as the group current); missing
//      channels are NaN and not fused. Initialised from the first complete set of readings (OCV
//      inversion of each group's rested voltage).
//   2. controller (when the vehicle asks to charge), every controller_period_s:
//      - "mpc"  (default): control::BatteryMpc (MPC-FC) on the limiting group (the highest
//               estimated SOC), fed its estimate and covariance (chance-constrained margins);
//      - "cccv": control::CcCvCharger on the highest measured cell voltage.
//      When the vehicle drives, the request is its demand.
//   3. limits (until the safety layer's ControlCycle replaces it): current limits per cell times
//      the parallel count, temperature derating, and the voltage window as a one-step barrier on
//      the ohmic model (the next highest cell voltage V_now - R (I_next - I_now) stays <= V_max, the
//      lowest >= V_min). A missing measurement makes the allowed range {0} (fail closed).
// compute() allocates nothing and never throws (everything is sized at construction).
#include <memory>

#include "measurements.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/control/cccv_charger.hpp"
#include "safetwin/estimation/pack_estimator.hpp"
#include "safetwin/status.hpp"

namespace safetwin::firmware {

enum class ControllerKind : unsigned char { mpc = 0, cccv = 1 };

struct ControlStepConfig {
  int series = 96;
  int parallel = 1;
  battery::CellLimits limits = battery::CellParams::ref_cell_1().limits;
  ControllerKind controller = ControllerKind::mpc;
  double controller_period_s = 1.0;   // the MPC's step (MPC-FC: 1 s); the request holds in between
  double soc_target = 0.8;            // MPC target SOC
  int horizon = 30;                   // MPC horizon, steps of controller_period_s
  double charge_current_a = 5.15;     // CC-CV charge current magnitude per pack (1C of REF-CELL-1)
  double cv_voltage_v = 4.2;
  double cutoff_current_a = 0.2575;
  double resistance_ohm = 0.021;      // per cell: the CV law and the voltage barrier
  double derate_span_k = 10.0;        // current allowed falls linearly to 0 over the last span below T_max
  void validate() const;              // throws std::invalid_argument naming the field
};

struct ControlReport {
  double soc_mean = 0.0;              // estimated, over groups
  double soc_limiting = 0.0;          // of the group the controller follows
  int limiting_group = -1;
  Status estimator = Status::not_initialised;
  Status controller = Status::not_initialised;
  int iterations = 0;
};

class ControlStep {
 public:
  explicit ControlStep(const ControlStepConfig& config);
  // One cycle: fills *out; returns Status::ok, or Status::non_finite_input when a measurement the
  // law needs is missing (the command is then 0).
  [[nodiscard]] Status compute(const Measurements& m, double dt_s, Command& out) noexcept;
  void reset() noexcept;
  [[nodiscard]] const ControlReport& report() const noexcept { return report_; }

 private:
  void estimate(const Measurements& m, double dt_s) noexcept;
  double charge_request(const Measurements& m, double v_max, double dt_s) noexcept;

  ControlStepConfig config_;
  control::CcCvCharger charger_;
  std::unique_ptr<control::BatteryMpc> mpc_;
  std::unique_ptr<estimation::PackEstimator> estimator_;
  battery::OcvTable ocv_;
  bool charging_ = false;
  bool estimator_ready_ = false;
  double est_dt_s_ = 0.0;          // time since the estimator's last step
  double since_control_s_ = 0.0;   // time since the controller's last call
  double held_request_a_ = 0.0;
  double last_pack_current_a_ = 0.0;
  ControlReport report_{};
  // scratch, sized at construction
  std::vector<double> v_, t_, soc_, sigma_;
};

}  // namespace safetwin::firmware
