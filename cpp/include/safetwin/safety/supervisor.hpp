#pragma once
// Safety supervisor: owns the operating mode and releases the command.
//
//   NORMAL     current limits as configured
//   DERATED    current limits scaled by derate_factor (a derate-severity invariant is active)
//   SAFE_STOP  zero current, contactor open; left only by an explicit reset()
//
// Transitions happen only on monitor verdicts (an invariant set or cleared), on the two checks the
// supervisor owns itself (a non-finite measurement, a missed controller deadline) and on reset();
// every transition is logged (time, from, to, cause, invariant).
//
// Per cycle, after the monitor check (timing contract of ControlCycle::step):
//   1. on_monitor(time, verdict)            mode from the monitor
//   2. arbitrate(time, output_ok, request)  deadline: a missing or failed controller output is
//      replaced by the last released command for at most hold_max_s, then SAFE_STOP
//   3. (the caller filters the request with the CBF at current_scale())
//   4. release(x, cbf verdict, dt)          predictive check of the filtered command over
//      horizon_steps with the twin's model (the command for one step, then zero current, the
//      filter's safe action); a command whose prediction leaves the safe set is replaced by zero
// Nothing on these calls allocates or throws.
#include <cstdint>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/battery/state_idx.hpp"
#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/safety/event_log.hpp"
#include "safetwin/safety/monitor.hpp"
#include "safetwin/status.hpp"

namespace safetwin::safety {

enum class Mode : std::uint8_t { normal = 0, derated = 1, safe_stop = 2 };
[[nodiscard]] const char* to_string(Mode m) noexcept;

enum class TransitionCause : std::uint8_t {
  monitor = 1,           // an invariant was set or cleared
  non_finite_input = 2,  // a measurement was NaN or infinite
  deadline = 3,          // the controller's output was missing for longer than hold_max_s
  reset = 4,             // explicit reset
  invalid_step = 5,      // a step outside its domain (dt_s <= 0): fail closed, not a sensor fault
  monitor_failed = 6,    // the monitor could not check (time not increasing): a failed check
};
[[nodiscard]] const char* to_string(TransitionCause c) noexcept;

struct Transition {
  double time_s;
  std::int32_t invariant;  // the monitor invariant that caused it, or -1
  std::uint8_t from;       // Mode
  std::uint8_t to;         // Mode
  std::uint8_t cause;      // TransitionCause
};

struct SupervisorConfig {
  battery::CellParams cell = battery::CellParams::ref_cell_1();  // the model of the predictive check
  battery::CellScaling scaling{};
  double derate_factor = 0.5;  // in [0, 1]
  double hold_max_s = 2.0;     // longest hold of the last command without a controller output
  int horizon_steps = 10;      // predictive check length, 1..10000
  bool predictive_check = true;
  std::size_t log_capacity = 64;
  void validate() const;  // throws std::invalid_argument naming the field
};

struct SupervisorVerdict {
  Mode mode = Mode::normal;
  double current_a = 0.0;  // the released command (always finite)
  bool contactor_closed = true;
  bool holding = false;  // the request was the held last command (controller output missing)
  bool predictive_refused = false;
  double missing_for_s = 0.0;  // time since the last good controller output
  // applied (the filtered command released, or 0 in SAFE_STOP), rejected (the predictive check
  // refused it: 0 released), fallback (the filter's safe action or an error: 0 released),
  // deadline_missed (ControlCycle: the hold ran out this cycle, arbitrate()'s decision).
  Decision decision = Decision::applied;
};

class Supervisor {
 public:
  explicit Supervisor(SupervisorConfig config);

  void on_monitor(double time_s, const MonitorVerdict& v) noexcept;
  void force_stop(double time_s, TransitionCause cause) noexcept;
  // Back to NORMAL (logged); the deadline clock restarts at time_s.
  void reset(double time_s) noexcept;

  // Deadline check. output_ok: the controller returned ok with a finite request in time.
  // Writes the request to filter (fresh or held); returns ok with *decision deadline_missed when
  // SAFE_STOP was entered because the hold time ran out (the request is then 0), else applied.
  // A non-finite time_s is refused (non_finite_input, request 0, nothing changed); a null
  // request_a gives invalid_argument. decision may be null (not asked for).
  [[nodiscard]] Status arbitrate(double time_s, bool output_ok, double requested_a, double* request_a,
                                 Decision* decision = nullptr) noexcept;

  // Predictive check and release of the filtered command. Fills out; returns ok (out.decision:
  // applied, rejected when the prediction left the safe set, fallback when the filter fell back:
  // zero released) or the CBF's own non-ok status (zero released, decision fallback).
  // A non-finite state or dt_s (non_finite_input) or dt_s <= 0 (invalid_argument) releases zero.
  [[nodiscard]] Status release(const battery::StateVector& x, const CbfVerdict& cbf, double dt_s,
                               SupervisorVerdict& out) noexcept;

  // Prediction of the command held for one step then zero, against resting (zero current, the
  // defined safe action) from the same state: true when at every step the command's prediction
  // exceeds none of [V_min + m_v, V_max - m_v], T <= T_max - m_k, SOC in [0, 1] by more than the
  // resting one does. From inside the safe set that is "stays inside"; from outside it (a full cell
  // whose OCV sits at V_max) a command that leads out (a discharge) passes, one that goes further
  // out does not. The model's resistances and time constants are those at x for every step.
  // A non-finite x, current, dt_s or margin, or dt_s <= 0, is not safe (false).
  [[nodiscard]] bool predict_safe(const battery::StateVector& x, double current_a, double dt_s, double voltage_margin_v,
                                  double temp_margin_k) const noexcept;

  // The adaptive twin's parameters for the predictive check from now on (the same conservative
  // scaling as the CBF filter's, conservative_scaling with kappa): ControlCycle sets it every step.
  // Its thermal estimates enter the prediction's heat as the filter's do: the unexplained heat
  // (never below 0) and the cooling factor (never above 1), so a prediction sees the heat still to
  // come. A non-finite or non-positive estimate is refused (invalid_argument, the scaling kept).
  [[nodiscard]] Status set_twin(const TwinEstimate& twin, double kappa) noexcept;
  [[nodiscard]] const battery::CellScaling& model_scaling() const noexcept { return scaling_; }

  [[nodiscard]] Mode mode() const noexcept { return mode_; }
  [[nodiscard]] double current_scale() const noexcept;
  [[nodiscard]] double last_command_a() const noexcept { return last_command_a_; }
  [[nodiscard]] const EventLog<Transition>& transitions() const noexcept { return log_; }
  [[nodiscard]] const SupervisorConfig& config() const noexcept { return config_; }

 private:
  void go(double time_s, Mode to, TransitionCause cause, int invariant) noexcept;

  SupervisorConfig config_;
  battery::CellScaling scaling_;      // the model of the predictive check: config scaling x the twin's
  battery::ThermalInputs thermal_{};  // the twin's cooling factor and unexplained heat (set_twin)
  Mode mode_ = Mode::normal;
  double last_command_a_ = 0.0;
  double last_good_s_ = 0.0;
  bool has_good_ = false;
  bool holding_ = false;
  double missing_for_s_ = 0.0;
  EventLog<Transition> log_;
};

}  // namespace safetwin::safety
