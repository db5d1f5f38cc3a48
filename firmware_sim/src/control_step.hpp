#pragma once
// The control-cycle call of the firmware, in one place: measurements in, pack current command out,
// through the core's guarded pack cycle (cycle::PackCycle: per series group an EKF, the
// controller, the CBF filter, the invariant monitor and the supervisor; the pack takes the group
// command closest to zero, safe for every group).
//
// Every cycle:
//   1. a missing measurement (NaN from the link layer) holds the command at 0 and the cycle is not
//      stepped: its time accumulates into the next step's dt (fail closed; the firmware's
//      supervisor goes to SAFE_STOP when the loss lasts). Until the first complete set of readings
//      the estimators are not started: they start from the OCV of each group's rested voltage.
//   2. the controllers: one per group, all sharing one charge law (firmware_sim/src/group_controller):
//      - charge: the law (MPC-FC on the estimate and covariance of the limiting group, the highest
//        estimated SOC, or CC-CV on the highest measured cell voltage) plans every
//        controller_period_s on the limiting group; every other group asks for the most it may
//        take, so its own CBF filter bounds the pack. The charger's available current bounds all.
//      - drive: the vehicle's demand; idle: 0.
//   3. PackCycle::step: with trust on, first each attested node's trust from this cycle's attestation
//      verdicts and the voltage residuals, written as noise scales into its groups' EKFs; then per
//      group the EKF, the controller, the CBF filter and the supervisor (NORMAL / DERATED /
//      SAFE_STOP from the monitor's invariants, safety_calibration.hpp); then the pack command.
// compute() allocates nothing and never throws (everything is sized at construction).
#include <memory>
#include <vector>

#include "group_controller.hpp"
#include "measurements.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/cycle/pack_cycle.hpp"
#include "safetwin/status.hpp"
#include "safety_calibration.hpp"

namespace safetwin::firmware {

enum class ControllerKind : unsigned char { mpc = 0, cccv = 1 };

struct ControlStepConfig {
  int series = 96;
  int parallel = 1;
  // The cell of every model in the step (estimators, charge law, CBF, supervisor; cell_config.hpp
  // sets it from a cell file); `limits` are the ones enforced (the cell's own by default).
  battery::CellParams cell = battery::CellParams::ref_cell_1();
  battery::CellLimits limits = battery::CellParams::ref_cell_1().limits;
  double period_s = 0.01;  // the nominal cycle period: the monitor's sample period
  ControllerKind controller = ControllerKind::mpc;
  double controller_period_s = 1.0;  // the MPC's step (MPC-FC: 1 s); the request holds in between
  double soc_target = 0.8;           // MPC target SOC
  int horizon = 30;                  // MPC horizon, steps of controller_period_s
  double charge_current_a = 5.15;    // CC-CV charge current magnitude per pack (1C of REF-CELL-1)
  double cv_voltage_v = 4.2;
  double cutoff_current_a = 0.2575;
  double resistance_ohm = 0.021;  // per cell: the CV law's ohmic correction
  SafetyCalibration safety{};     // monitor invariants, supervisor, trust
  void validate() const;          // throws std::invalid_argument naming the field
};

struct ControlReport {
  double soc_mean = 0.0;      // estimated, over groups
  double soc_limiting = 0.0;  // of the group the charge law follows
  int limiting_group = -1;
  bool started = false;                         // the estimators have been initialised
  Status cycle = Status::not_initialised;       // PackCycle::step's status
  Status controller = Status::not_initialised;  // the charge law's last plan
  int iterations = 0;                           // of the last MPC plan
  safety::Mode mode = safety::Mode::normal;     // the pack cycle's (most severe of its groups)
};

class ControlStep {
 public:
  explicit ControlStep(const ControlStepConfig& config);
  ControlStep(const ControlStep&) = delete;
  ControlStep& operator=(const ControlStep&) = delete;

  // One cycle of dt_s: fills *out; returns Status::ok, Status::non_finite_input when a measurement
  // is missing (the command is then 0 and the cycle not stepped), or the pack cycle's non-ok status.
  // attestation: this cycle's verdicts, one per attested node (trust enabled; Attestation::none
  // for a node without one), or null when no round ended this cycle.
  [[nodiscard]] Status compute(const Measurements& m, double dt_s, const trust::Attestation* attestation,
                               Command& out) noexcept;
  [[nodiscard]] const ControlReport& report() const noexcept { return report_; }
  [[nodiscard]] const cycle::PackCycle& pack_cycle() const noexcept { return *cycle_; }
  [[nodiscard]] const ControlStepConfig& config() const noexcept { return config_; }

 private:
  [[nodiscard]] Status start(const Measurements& m) noexcept;
  void select_limiting_group(const Measurements& m) noexcept;

  ControlStepConfig config_;
  ChargeLaw law_;
  PackRequest request_{};
  std::vector<std::unique_ptr<GroupController>> controllers_;
  std::unique_ptr<cycle::PackCycle> cycle_;
  double time_s_ = 0.0;
  double pending_dt_s_ = 0.0;  // time since the cycle's last step
  ControlReport report_{};
  std::vector<double> v_, t_;  // scratch, sized at construction
};

}  // namespace safetwin::firmware
