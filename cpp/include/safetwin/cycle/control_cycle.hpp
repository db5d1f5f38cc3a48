#pragma once
// One control cycle of the core: estimator -> controller -> CBF filter -> supervisor/monitor
// (DESIGN.md, "One control cycle"), behind a single step() that allocates nothing and never throws.
//
// Timing contract: step() is called once per period dt_s. Its measurements are the sample of the
// interval that just ended, taken under the current that flowed in it (CycleMeasurements::current_a,
// the previous command): the estimator fuses that sample (BatteryEkf's convention: a sample's
// voltage is taken under that sample's current, the current held to the next sample), then the
// cycle predicts the estimate over that interval to now with the same model, and the controller,
// the filter and the supervisor decide the command held over the next dt_s from that prediction.
//
// Per step, in this order:
//   1. a non-finite measurement (a valid channel, the current, the time) or dt -> SAFE_STOP now
//   2. estimator step (BatteryEkf), prediction to now (x, P)
//   3. monitor signals (built-in and external, e.g. trust values) and check; supervisor mode
//   4. controller (skipped in SAFE_STOP); a non-ok status, a decision other than applied or a
//      non-finite request counts as a missing output: the supervisor holds the last command for at most hold_max_s,
//      then SAFE_STOP
//   5. CBF filter at the mode's current scale (margin from P; its measurement-based barriers on the
//      most conservative valid readings of this sample; the adaptive twin below), supervisor
//      predictive check (the same twin), release
//
// The adaptive twin (CycleConfig::adaptive_twin): with the estimator's joint parameter estimation
// on, the filter and the supervisor predict with its R0 and capacity factors, at the conservative
// end of their posterior (CbfFilter, TwinEstimate); adaptive_twin = false freezes them at the
// configured cell (certification runs). The learned model-error bound (learn_model_error): the
// q-quantile (model_error_quantile) over the last model_error_window_s of the one-step prediction
// errors the estimator sees, |voltage innovation| (the smaller of the two nodes', so that one
// lying node does not set it) and |temperature innovation|, in a WindowQuantile. For errors that
// are exchangeable over the window the next one exceeds it with probability at most
// 1 - q + 1 / (n + 1) (n samples; 1.2 % per step at q = 0.99, 600 samples). It includes the
// sensors' noise, so it is an upper bound on the twin's own error; the CbfConfig model_error_v /
// model_error_k are its floor (alone until the window holds 1 / (1 - q) samples: before that the
// quantile is the maximum, the initial estimate's error included), and the filter adds the
// state's covariance on top.
// The monitor sees this step's measurements and estimate and the previous step's request/command.
//
// Redundant-sensor plausibility (CycleConfig::plausibility): both voltage nodes read the same cell,
// so every step their disagreement |V_a - V_b| is compared with their combined noise,
// sigma_factor * sqrt(sigma_a^2 + sigma_b^2) (the estimator's channel sigmas). Two nodes cannot
// outvote each other, so the twin is the third voter, but not on its absolute level (a twin with
// a wrong SOC or R0 is off for both nodes alike): each node's innovation is compared with its own
// baseline, its mean (time constant baseline_s) while the nodes agreed, and the disagreement is
// laid at the node whose innovation departed further from it (the one that changed;
// trust::NodeAttribution), written to
// the monitor signal "plausibility_a_v" or "plausibility_b_v" (0 for the other and whenever a node
// is missing). The cycle adds one invariant per node, "sensor.voltage_a_plausible" and
// "sensor.voltage_b_plausible" (range, hi = the threshold, set after debounce_s, cleared after
// clear_s back under half the threshold, severity derate): the event names the node, the mode is
// DERATED, and the measurement-based barriers take the conservative reading of the two until it
// clears (the highest for the upper voltage limit, the lowest for the lower).
//
// Anomaly alarm (CycleConfig::anomaly, off by default): the online anomaly score of the cell
// (diagnostics::AnomalyScore: the window mean of the estimator's squared whitened innovations,
// innovations_of) is stepped after the estimator and written to the monitor signal
// "anomaly_score" (0 until its window is full); the cycle adds the invariant
// "diagnostics.anomaly_score" (range, hi = the calibrated threshold of score.threshold, cleared
// after clear_s back under clear_fraction of it, severity derate by default), so an alarm is a
// monitor event and the supervisor derates or stops. The threshold must come from a calibration
// of this estimator configuration (safetwin.diagnostics.calibration); the default never alarms.
//
// Thermal events (CycleConfig::estimate_cooling on): the latched heat fault is the monitor signal
// "heat_fault" (0 / 1) and the invariant "thermal.heat_fault" (severity derate): the derate it
// causes is an event naming its reason, and the supervisor's mode says DERATED. The temperature
// sensor's plausibility against the heat balance: a reading that stays below what the cell's own
// heat allows needs a heat sink the cell does not have, i.e. a negative unexplained heat
// (CoolingEstimator::unexplained_heat_w; a sensor stuck low under current, or reading below the
// ambient). Its size, when it exceeds cbf.heat_detect_sigma of its sigmas, is the signal
// "plausibility_temperature_w" (else 0); the invariant "sensor.temperature_plausible" (hi =
// heat_fault_w, set after plausibility.debounce_s, cleared after clear_s under half of it,
// plausibility.severity) names the sensor and derates.
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "safetwin/battery/state_idx.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/diagnostics/anomaly_score.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/cooling_estimator.hpp"
#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/safety/monitor.hpp"
#include "safetwin/safety/supervisor.hpp"
#include "safetwin/safety/window_quantile.hpp"
#include "safetwin/status.hpp"
#include "safetwin/trust/node_attribution.hpp"

namespace safetwin::cycle {

struct CycleMeasurements {
  double time_s = 0.0;
  double voltage_a_v = 0.0;  // cell voltage, first measuring node
  double voltage_b_v = 0.0;  // the same cell, redundant node
  double temperature_k = 0.0;
  double current_a = 0.0;  // measured cell current in the interval (> 0 discharges)
  bool voltage_a_valid = true;
  bool voltage_b_valid = true;
  bool temperature_valid = true;
  // Self-triggered reporting (ClosedLoop's ReportingSpec): false = the node did not report this
  // step, the value is its last report held for the monitor (which keeps checking it); the
  // estimator predicts only, the measured barriers and the plausibility check skip the reading.
  bool voltage_a_fresh = true;
  bool voltage_b_fresh = true;
  bool temperature_fresh = true;
};

// Signals the cycle writes to the monitor every step (names usable in MonitorConfig invariants).
enum class CycleSignal : int {
  voltage_a_v = 0,
  voltage_b_v,
  temperature_k,
  current_a,  // this step's measurements
  soc,
  soc_sigma,
  temp_est_k,
  voltage_est_v,  // estimate now (voltage at zero current)
  nis,
  controller_ok,
  request_a,
  command_a,  // joint NIS, previous step's outputs
  plausibility_a_v,
  plausibility_b_v,            // node disagreement laid at a node (above)
  anomaly_score,               // the online anomaly score (above)
  heat_fault,                  // 1 once the heat fault has latched (CycleConfig::heat_fault_w), else 0
  plausibility_temperature_w,  // the heat the temperature reading says vanished (below)
  count
};
[[nodiscard]] const char* signal_name(CycleSignal s) noexcept;

struct PlausibilityConfig {
  bool enabled = true;
  double sigma_factor = 5.0;  // threshold = sigma_factor * sqrt(sigma_a^2 + sigma_b^2) + offset_v
  double offset_v = 0.0;      // a known offset between the nodes' calibrations
  double debounce_s = 5.0;    // disagreement this long (net, foxBMS-style counting) sets the event
  double clear_s = 10.0;      // agreement this long (under half the threshold) clears it
  double baseline_s = 60.0;   // time constant of each node's innovation baseline (above)
  safety::Severity severity = safety::Severity::derate;
  void validate() const;  // throws std::invalid_argument naming the field
};

struct AnomalyAlarmConfig {
  bool enabled = false;
  diagnostics::AnomalyScoreConfig score{};  // window, channels, cap and the calibrated threshold
  double clear_s = 60.0;                    // back under clear_fraction * threshold this long clears the event
  double clear_fraction = 0.8;
  safety::Severity severity = safety::Severity::derate;
  void validate() const;  // throws std::invalid_argument naming the field
};

struct CycleConfig {
  estimation::BatteryEkfConfig estimator{};
  safety::CbfConfig cbf{};
  safety::SupervisorConfig supervisor{};
  // Invariants over the built-in signals (CycleSignal names, added automatically) and over any
  // extra signals listed here (trust values, ...), written with ControlCycle::set_signal.
  safety::MonitorConfig monitor{};
  PlausibilityConfig plausibility{};
  AnomalyAlarmConfig anomaly{};
  // The largest multiple of the cycle's current (a parallel group's current / parallel) that one
  // cell of the group may carry (>= 1; PackCycle sets it from the group's Kirchhoff split): the
  // current limits of the filter and the controller are divided by it, so no cell exceeds them.
  double current_share = 1.0;
  bool adaptive_twin = true;      // predict with the estimator's R0 / capacity (above)
  bool learn_model_error = true;  // the learned model-error bound (above)
  // The thermal twin (estimation::CoolingEstimator on the cell's C_th, hA and ambient): the cooling
  // factor and the unexplained heat from the measured temperature, for the filter and the supervisor.
  // Opt-in for now (the off_nominal campaign turns it on). In `safetwin demo` (cooling failure at
  // 600 s) the charge ends at SOC 0.795 with it (0.799 without): the heat fault below latched on
  // the lost cooling and derated twice (SOC 0.678) until it counted only heat beyond a total loss
  // of cooling and derated once; it still latches at 990-1053 s in every group (the hottest cell's
  // own heat, R0 spread, is more than the twin's), an event but no mode change (already DERATED).
  // Off, the filter and the supervisor compute bit for bit as before.
  bool estimate_cooling = false;
  // A heat fault: once the heat the model lacks, Q_u = max(q_x, 0) + (1 - min(c, 1)) hA (T - T_amb),
  // exceeds what a total loss of cooling could explain, hA (T - T_amb), by heat_fault_w (an internal
  // source: a short), and Q_u exceeds cbf.heat_detect_sigma of its sigmas, the current limits of the
  // controller and the filter are scaled by supervisor.derate_factor until reset() (a short does not
  // heal). Why: in a parallel group the shorted cell's OCV falls with its leak and it takes more than
  // the Kirchhoff share of the resistance spread (off_nominal, 4s2p: 66 % of a 2p group's charge,
  // 15.3 A against 15 A, at the restart after the stored-heat bound had held 0 A). A lost cooling
  // alone is the temperature barrier's job (the CBF's cooling factor), not a reason to derate.
  double heat_fault_w = 1.0;
  double model_error_window_s = 600.0;
  double model_error_quantile = 0.99;
  void validate() const;  // throws std::invalid_argument naming the field
};

// The monitor configuration a cycle runs: `c.monitor` plus the built-in signals (CycleSignal) and
// the plausibility invariants.
[[nodiscard]] safety::MonitorConfig cycle_monitor_config(const CycleConfig& c);

struct CycleStatus {
  Status status = Status::not_initialised;  // ok, or the first non-ok of the step's parts
  double command_a = 0.0;                   // released cell current (finite; 0 in SAFE_STOP)
  bool contactor_closed = false;
  safety::Mode mode = safety::Mode::normal;
  double requested_a = 0.0;  // the controller's request (NaN if none)
  Status estimator_status = Status::not_initialised;
  Status controller_status = Status::not_initialised;
  Decision controller_decision = Decision::applied;  // the controller's (ControllerOutput::decision)
  Status supervisor_status = Status::not_initialised;
  battery::StateVector x = battery::StateVector::Zero();  // estimate now
  battery::StateMatrix P = battery::StateMatrix::Zero();
  safety::CbfVerdict cbf{};
  safety::MonitorVerdict monitor{};
  safety::SupervisorVerdict supervisor{};
  safety::TwinEstimate twin{};  // the twin the filter and the supervisor predicted with
  bool heat_fault = false;      // the latched heat fault (CycleConfig::heat_fault_w)
};

class ControlCycle {
 public:
  // controller: any control::Controller (the MPC, a C++ law, a Python law through the binding's
  // trampoline); not owned, may be null (then every output counts as missing). Throws on bad config.
  ControlCycle(CycleConfig config, control::Controller* controller);
  ControlCycle(const ControlCycle&) = delete;
  ControlCycle& operator=(const ControlCycle&) = delete;

  [[nodiscard]] Status step(const CycleMeasurements& m, double dt_s, CycleStatus& out) noexcept;

  void set_controller(control::Controller* controller) noexcept { controller_ = controller; }
  // The command actually applied when it differs from this cycle's own (a PackCycle applies the
  // most conservative of its groups' commands): the next step's controller and monitor see it.
  void set_applied_command(double current_a) noexcept {
    if (std::isfinite(current_a)) last_command_a_ = current_a;
  }
  // The trust layer's entry points: a channel's measurement-noise scale (s >= 1) forwarded to the
  // estimator, and any monitor signal (by index from signal_index) for the next step's check.
  [[nodiscard]] Status set_noise_scale(estimation::Channel channel, double s) noexcept;
  [[nodiscard]] Status set_signal(int signal, double value) noexcept;
  [[nodiscard]] int signal_index(const std::string& name) const noexcept { return monitor_.signal_index(name); }
  // Explicit reset: clears the monitor's latched/active invariants, supervisor back to NORMAL.
  void reset(double time_s) noexcept;

  [[nodiscard]] const safety::InvariantMonitor& monitor() const noexcept { return monitor_; }
  [[nodiscard]] const safety::Supervisor& supervisor() const noexcept { return supervisor_; }
  [[nodiscard]] const estimation::BatteryEkf& estimator() const noexcept { return estimator_; }
  [[nodiscard]] estimation::BatteryEkf& estimator() noexcept { return estimator_; }
  [[nodiscard]] const estimation::CoolingEstimator& cooling() const noexcept { return cooling_; }
  [[nodiscard]] const safety::CbfFilter& filter() const noexcept { return filter_; }
  [[nodiscard]] const CycleConfig& config() const noexcept { return config_; }

 private:
  // The most conservative readings, their noise and their observed change per step (observe_readings first).
  [[nodiscard]] safety::MeasuredBounds measured_bounds(const CycleMeasurements& m) const noexcept;
  void observe_readings(const CycleMeasurements& m, bool used) noexcept;
  void update_twin() noexcept;
  [[nodiscard]] double current_scale()
      const noexcept;  // the supervisor's, the heat fault's, the share  // the adaptive twin and the learned model
                       // error, after the estimator

  CycleConfig config_;
  estimation::BatteryEkf estimator_;
  safety::CbfFilter filter_;
  safety::Supervisor supervisor_;
  safety::InvariantMonitor monitor_;
  control::Controller* controller_;
  std::array<int, static_cast<std::size_t>(CycleSignal::count)> builtin_{};
  double last_request_a_ = 0.0;
  double last_command_a_ = 0.0;
  bool last_controller_ok_ = true;
  // The measured barriers' observed drift (CbfFilter): per voltage node its previous fresh reading
  // and the smoothed change per step of the reading and of the measured current under it (NaN: none).
  struct NodeDrift {
    double previous_v = std::numeric_limits<double>::quiet_NaN();
    double previous_current_a = std::numeric_limits<double>::quiet_NaN();
    double change_v = std::numeric_limits<double>::quiet_NaN();
    double current_change_a = std::numeric_limits<double>::quiet_NaN();
  };
  NodeDrift drift_a_{};
  NodeDrift drift_b_{};
  // The temperature sensor named by its plausibility check (the invariant's index, -1 without
  // estimate_cooling) is out of the estimator and the measured barrier from then until reset().
  int temperature_plausible_ = -1;
  bool temperature_excluded_ = false;
  trust::NodeAttribution attribution_;    // plausibility: which voltage node departed
  safety::WindowQuantile voltage_error_;  // learned model-error bound (|voltage innovation|)
  safety::WindowQuantile temp_error_;     // (|temperature innovation|)
  safety::TwinEstimate twin_{};
  estimation::CoolingEstimator cooling_;  // the thermal twin (CycleConfig::estimate_cooling)
  bool heat_fault_ = false;               // latched until reset() (CycleConfig::heat_fault_w)
  diagnostics::AnomalyScore anomaly_;     // the anomaly alarm (above)
};

}  // namespace safetwin::cycle
