#pragma once
// The closed loop of a test bench in the core: the true plant (battery::Pack) in the loop with the
// guarded cycle (ControlCycle for one cell, PackCycle for an Ns x Np pack), sensors with seeded
// noise, faults scheduled by time, and a control law (external controllers: the MPC or a Python
// law through its trampoline; or one of the built-in laws below). One call runs a whole scenario
// and fills arrays, so benches and campaigns do not step the cycle from a Python loop.
//
// Step k (time t_k = k * dt_s), in this order (safetwin demo's loop):
//   1. faults whose window holds t_k are applied (plant faults change the plant from this step on;
//      sensor faults act on this step's readings); a fault ends at end_s (plant faults restored)
//   2. the true state at t_k is recorded (SOC, temperature); the plant steps under the applied
//      current (the previous command, 0 A with the contactor open, or the replacement's current)
//   3. sensors read the step: each group's voltage (its first cell's terminal voltage) on node a and
//      node b, the group's hottest cell temperature (at t_k), the applied current; plus noise
//   4. the cycle steps on those readings at t_k and decides the next command
// Margins are those of the TRUE plant: terminal voltage under the step's current, temperature at
// t_k, and every cell's own current (the Kirchhoff split of its parallel group).
//
// Noise: one splitmix64 stream per run (NoiseStream). Reading c of step k uses the standard normal
// number k * C + c, C = 3 * series + 1 channels in the order voltage_a[series], voltage_b[series],
// temperature[series], current. The numbers are drawn whether or not a reading is used, so the same
// seed gives the same noise samples under any law, fault or replacement (the counterfactual run).
//
// Allocation: everything (plant, cycle, laws, traces) is allocated at construction; advance() and
// run() allocate nothing and never throw (except Pack's setters at a few fault onsets, see the
// test). Deterministic: the same spec gives the same outputs bit for bit (but the cycle times).
// This is a bench, not a controller's step path: it reads the steady clock around each cycle step.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "safetwin/battery/pack.hpp"
#include "safetwin/control/cccv_charger.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/cycle/pack_cycle.hpp"
#include "safetwin/cycle/report_schedule.hpp"
#include "safetwin/status.hpp"

namespace safetwin::cycle {

// splitmix64 as a counter: bits(i) is the i-th output of the sequential generator seeded with
// `seed` (state += 0x9E3779B97F4A7C15 then the mix), so any sample is reachable without a state.
class NoiseStream {
 public:
  explicit NoiseStream(std::uint64_t seed = 0) noexcept : seed_(seed) {}
  [[nodiscard]] std::uint64_t bits(std::uint64_t i) const noexcept;
  [[nodiscard]] double uniform(std::uint64_t i) const noexcept;  // [0, 1) from the top 53 bits of bits(i)
  // Standard normal number i: Box-Muller on uniforms 2i and 2i+1 (the cosine branch only, so every
  // number is a pure function of its index).
  [[nodiscard]] double normal(std::uint64_t i) const noexcept;
  [[nodiscard]] std::uint64_t seed() const noexcept { return seed_; }

 private:
  std::uint64_t seed_;
};

// The control law of the run. Currents are per cell, as the cycle's controllers see them
// (> 0 discharges); the cycle's CBF filter and supervisor guard every built-in law as any other.
enum class LawKind : std::uint8_t {
  controllers = 0,  // the external controllers handed to ClosedLoop (the MPC, a Python law, ...)
  constant,         // request current_a every step (e.g. a constant 3C charge)
  profile,          // request profile_a[k] (the last value after the end): a drive/load profile
  bang_bang,        // request current_a, its sign flipped every period_s / 2
  non_finite,       // request NaN (a broken law)
  cccv,             // CC-CV on the group's measured voltage (node a), CcCvCharger per cell
};

struct LawSpec {
  LawKind kind = LawKind::controllers;
  double current_a = 0.0;
  double period_s = 60.0;
  std::vector<double> profile_a;
  control::CcCvConfig cccv{};  // per cell: charge_current_a, cv_voltage_v, cutoff, resistance
  void validate(const char* owner) const;
};

enum class FaultKind : std::uint8_t {
  internal_short = 0,     // plant, cell `target`: leak conductance `value` in S (1 / R_short)
  cooling_loss,           // plant, cell `target` (-1: every cell): heat-transfer factor `value` (0 = lost)
  connection_resistance,  // plant, cell `target`: `value` ohm in series in the cell's branch (see below)
  voltage_stuck,      // sensor, group `target`, node `node` (0 = a, 1 = b): reads `value` V (NaN: its reading at onset)
  voltage_offset,     // sensor: + `value` V
  voltage_drift,      // sensor: + `value` V/s * (t - onset)
  voltage_noise,      // sensor: the node's noise times `value`
  voltage_dropout,    // sensor: reading invalid with probability `value` per step (1: always)
  voltage_nan,        // sensor: reads NaN (flagged valid: a corrupt value, not a missing one)
  temperature_stuck,  // sensor, group `target`: reads `value` K (NaN: its reading at onset)
  temperature_offset,  // sensor, group `target`: + `value` K
  current_offset,      // sensor: the measured current + `value` A
  stealthy_injection,  // sensor, group `target`, node `node`: model-consistent false data (below)
  link_loss,  // link: every measurement frame lost (voltage a, b and temperature of every group invalid; `target`
              // ignored)
  count
};
[[nodiscard]] const char* to_string(FaultKind k) noexcept;

// A connection resistance is modelled as a higher R0 of the cell (r0_factor scaled by
// 1 + value / R0(25 degC)): the parallel split and the branch voltage are exact, its Joule heat is
// counted in the cell (the plant has no separate connector node) and it follows R0's Arrhenius law.
//
// A stealthy injection is the attack library's OnlineStealthyInjection (safetwin.trust.attacks)
// in the loop: the attacker's copy of the twin's cell (the cycle's estimator cell) starts from the
// group's first cell's true state at the onset and is stepped with the true per-cell current; the
// reading gets OCV(soc + delta) - OCV(soc), delta = value * min((t - onset) / ramp_s, 1): the SOC
// offset `value` the attacker wants the twin to believe, ramped in over ramp_s.
struct FaultSpec {
  FaultKind kind = FaultKind::internal_short;
  double onset_s = 0.0;
  double end_s = std::numeric_limits<double>::infinity();
  int target = 0;  // cell (plant faults) or series group (sensor faults)
  int node = 0;    // voltage faults: 0 = node a, 1 = node b
  double value = 0.0;
  double ramp_s = 0.0;  // stealthy_injection: time to reach the SOC offset (0: at once)
};

struct SensorNoise {  // standard deviations
  double voltage_a_v = 0.0;
  double voltage_b_v = 0.0;
  double temperature_k = 0.0;
  double current_a = 0.0;
  bool voltage_b = true;  // the redundant node b is present
};

// From time_s (or the first fault's onset) on, either the plant gets current_a directly (the
// cycle keeps running on the same noise but its command is not applied), or `law` replaces the
// cycle's controllers. With identical noise this is the counterfactual of a campaign sample.
struct Replacement {
  bool enabled = false;
  bool at_first_fault = true;  // the time is the earliest fault onset (no fault: never)
  double time_s = 0.0;
  bool direct = true;
  double current_a = 0.0;  // direct: pack current in A
  LawSpec law{};           // !direct
};

// Plant-only counterfactuals run beside the closed loop, so a campaign needs no second run: the
// same plant with the same plant faults under the pack current `current_a` applied directly,
//   from_start: from t = 0,
//   at_onset:   from the fork time (the first fault onset, or time_s), a copy of the run's plant
//               taken at that step (state, spread, the fault's change) with the run's summary so far.
// A direct current never depends on the cycle, and before the fork the two runs are the same run
// (the noise is a pure function of the step), so every plant field of their summaries (margins,
// first violations, extremes, final SOC, status, steps) is bit for bit that of a second run with
// Replacement{direct, current_a} from t = 0 or from the fork time. The cycle is not run for them:
// their cycle fields (events, modes, detection, frames) keep their defaults.
struct CounterfactualSpec {
  bool enabled = false;
  double current_a = 0.0;      // pack current, A
  bool at_first_fault = true;  // the fork time is the earliest fault onset (no fault: no fork)
  double time_s = 0.0;         // the fork time when !at_first_fault
};

enum class TraceLevel : std::uint8_t {
  none = 0,  // summary only
  extremes,  // per step: extremes over the cells, readings, command, mode
  full,      // per step and cell: true voltage, temperature, SOC, current; plus the above
};

struct LoopSpec {
  double duration_s = 60.0;
  double dt_s = 1.0;
  // Topology and twin: series/parallel and the per-cell cycle (estimator, CBF, supervisor,
  // monitor). use_pack_cycle = false runs a ControlCycle on one cell (series = parallel = 1, no trust).
  bool use_pack_cycle = true;
  PackCycleConfig cycle{};
  // The true plant: its cell parameters may differ from the twin's (ageing the twin does not know).
  battery::PackConfig plant{};
  std::vector<battery::CellScaling> scaling;                    // per cell; empty: the plant's spread
  std::vector<double> soc0;                                     // per cell; empty: plant.initial
  std::vector<double> temp0_k;                                  // per cell; empty: plant.initial
  double ambient_k = std::numeric_limits<double>::quiet_NaN();  // NaN: the plant cell's ambient
  LawSpec law{};
  SensorNoise noise{};
  std::uint64_t seed = 0;
  std::vector<FaultSpec> faults;
  // Additive offsets on the readings, steps x series row-major (current: steps), empty = none: a
  // false-data injection computed beforehand, or noise drawn elsewhere. A reading is the truth,
  // plus the runner's noise, plus these, plus the faults' offsets, in that order.
  std::vector<double> injection_a_v;
  std::vector<double> injection_b_v;
  std::vector<double> injection_temperature_k;
  std::vector<double> injection_current_a;
  // Attestation verdicts (trust::Attestation codes), steps x trust nodes, row-major (empty: none
  // every step). Only with a PackCycle that has trust.
  std::vector<std::uint8_t> attestation;
  Replacement replacement{};
  CounterfactualSpec counterfactual{};
  // When the sensor nodes report (report_schedule.hpp): every step (default), periodic, or
  // self-triggered from the safe horizon; between reports the twin predicts only.
  ReportingConfig reporting{};
  TraceLevel trace = TraceLevel::full;
  [[nodiscard]] std::size_t steps() const noexcept;
  void validate(std::size_t external_controllers) const;  // throws std::invalid_argument naming the field
};

// Per-run results the campaign needs without the trace. Margins are signed (negative = beyond
// the limit), minima over every step and cell of the true plant. Times are NaN when it never happened.
struct LoopSummary {
  Status status = Status::not_initialised;  // ok, or the first refused plant step (the run stops there)
  std::size_t steps = 0;                    // steps run
  double min_margin_voltage_max_v = std::numeric_limits<double>::infinity();
  double min_margin_voltage_min_v = std::numeric_limits<double>::infinity();
  double min_margin_temp_max_k = std::numeric_limits<double>::infinity();
  double min_margin_temp_min_k = std::numeric_limits<double>::infinity();
  double min_margin_charge_current_a = std::numeric_limits<double>::infinity();
  double min_margin_discharge_current_a = std::numeric_limits<double>::infinity();
  double first_violation_voltage_max_s = std::numeric_limits<double>::quiet_NaN();
  double first_violation_voltage_min_s = std::numeric_limits<double>::quiet_NaN();
  double first_violation_temp_max_s = std::numeric_limits<double>::quiet_NaN();
  double first_violation_temp_min_s = std::numeric_limits<double>::quiet_NaN();
  double first_violation_charge_current_s = std::numeric_limits<double>::quiet_NaN();
  double first_violation_discharge_current_s = std::numeric_limits<double>::quiet_NaN();
  double max_abs_cell_current_a = 0.0;
  double max_current_ratio = 0.0;  // max |cell current| / the limit of its direction
  double max_voltage_v = -std::numeric_limits<double>::infinity();
  double min_voltage_v = std::numeric_limits<double>::infinity();
  double max_temp_k = -std::numeric_limits<double>::infinity();
  double first_fault_s = std::numeric_limits<double>::quiet_NaN();
  double replacement_s = std::numeric_limits<double>::quiet_NaN();
  double first_event_s = std::numeric_limits<double>::quiet_NaN();  // a monitor invariant set
  double first_event_after_fault_s = std::numeric_limits<double>::quiet_NaN();
  double first_mode_change_s = std::numeric_limits<double>::quiet_NaN();  // mode left NORMAL
  double first_mode_change_after_fault_s = std::numeric_limits<double>::quiet_NaN();
  double first_safe_stop_s = std::numeric_limits<double>::quiet_NaN();
  // Detection of the first fault: the first derate or stop event set, or mode change out of NORMAL,
  // at or after the first onset; the group and invariant index (-1: a mode change) that showed it.
  double first_detection_s = std::numeric_limits<double>::quiet_NaN();
  int first_detection_group = -1;
  int first_detection_invariant = -1;
  std::size_t controller_failures = 0;  // group steps outside SAFE_STOP whose controller status was not ok
  safety::Mode final_mode = safety::Mode::normal;
  std::size_t nonfinite_commands = 0;  // commands of the cycle that were not finite (0 A applied)
  std::size_t nonfinite_requests = 0;  // controller requests that were not finite (any group)
  std::size_t events = 0;              // monitor invariants set, every group
  double final_soc_min = 0.0;
  double final_soc_max = 0.0;
  // Reporting (ReportScheduler): measurement frames sent by the sensor nodes, per node kind
  // (voltage_a, voltage_b, temperature; all groups), of them early on an event, the due reports
  // missed (silence), the schedule frames sent to the nodes, the mean scheduled interval (NaN
  // unless self-triggered).
  std::size_t frames = 0;
  std::array<std::size_t, kReportNodeKinds> frames_by_node{};
  std::size_t event_reports = 0;
  std::size_t missed_reports = 0;
  std::size_t schedule_frames = 0;
  std::size_t horizon_events = 0;
  double mean_report_interval_s = std::numeric_limits<double>::quiet_NaN();
};

class ClosedLoop {
 public:
  // controllers: one per series group for LawKind::controllers (not owned; reset() at
  // construction), ignored otherwise. Throws std::invalid_argument naming the field.
  explicit ClosedLoop(LoopSpec spec, const std::vector<control::Controller*>& controllers = {});
  ~ClosedLoop();
  ClosedLoop(const ClosedLoop&) = delete;
  ClosedLoop& operator=(const ClosedLoop&) = delete;

  // Runs up to `steps` more steps (never past the spec's end). No allocation, no exception.
  [[nodiscard]] Status advance(std::size_t steps) noexcept;
  [[nodiscard]] Status run() noexcept { return advance(total_steps_); }

  [[nodiscard]] const LoopSpec& spec() const noexcept { return spec_; }
  [[nodiscard]] std::size_t total_steps() const noexcept { return total_steps_; }
  [[nodiscard]] std::size_t steps_done() const noexcept { return k_; }
  [[nodiscard]] std::size_t cells() const noexcept { return cells_; }
  [[nodiscard]] std::size_t groups() const noexcept { return groups_; }
  [[nodiscard]] const LoopSummary& summary() const noexcept { return summary_; }
  // The counterfactuals (CounterfactualSpec; plant fields only). status not_initialised: not
  // enabled, or (at_onset) the fork time was not reached within the steps run.
  [[nodiscard]] const LoopSummary& counterfactual_from_start() const noexcept { return cf_start_summary_; }
  [[nodiscard]] const LoopSummary& counterfactual_at_onset() const noexcept { return cf_onset_summary_; }
  [[nodiscard]] const battery::Pack& plant() const noexcept { return *plant_; }
  // The cycle that ran (its monitor events, transitions, trust): one of the two is null.
  [[nodiscard]] const PackCycle* pack_cycle() const noexcept { return pack_cycle_.get(); }
  [[nodiscard]] PackCycle* pack_cycle() noexcept { return pack_cycle_.get(); }
  [[nodiscard]] const ControlCycle* cell_cycle() const noexcept { return cell_cycle_.get(); }
  [[nodiscard]] ControlCycle* cell_cycle() noexcept { return cell_cycle_.get(); }

  // Traces (row k = step k; empty at a lower TraceLevel). Per cell: steps x cells, row-major;
  // per group: steps x series.
  struct Trace {
    std::vector<double> cell_voltage_v, cell_temp_k, cell_soc, cell_current_a;  // full
    std::vector<double> voltage_max_v, voltage_min_v, temp_max_k, soc_min, soc_max,
        abs_current_max_a;                                        // extremes, full
    std::vector<double> voltage_a_v, voltage_b_v, temperature_k;  // readings
    std::vector<std::uint8_t> voltage_a_valid, voltage_b_valid, temperature_valid;
    std::vector<double> measured_current_a, applied_current_a, command_a, requested_a;
    std::vector<std::uint8_t> mode, status;
    std::vector<double> soc_est, soc_sigma, temp_est_k;  // the twin's estimate per group (steps x series)
    std::vector<double> cycle_ns;                        // wall time of each cycle step (steady clock: a bench figure)
    std::vector<double> trust;                           // per trust node (steps x nodes; empty without trust)
  };
  [[nodiscard]] const Trace& trace() const noexcept { return trace_; }

 private:
  class Law;  // the built-in laws and the switch to the replacement, as control::Controller
  void apply_faults(double t) noexcept;
  void read_sensors(std::size_t k, double t, double applied_a) noexcept;
  void record_plant(std::size_t k, double t) noexcept;
  void set_plant_fault(battery::Pack& plant, const FaultSpec& f, bool on) const noexcept;
  void step_counterfactuals(std::size_t k, double t) noexcept;
  [[nodiscard]] double step_cycle(std::size_t k, double t, double measured_a) noexcept;
  [[nodiscard]] double injection_v(std::size_t fault, double t, double applied_a, bool onset) noexcept;
  void note_group(double t, std::size_t g, const CycleStatus& st, const safety::InvariantMonitor& monitor) noexcept;

  LoopSpec spec_;
  std::size_t total_steps_ = 0;
  std::size_t k_ = 0;
  std::size_t cells_ = 0;
  std::size_t groups_ = 0;
  std::size_t parallel_ = 1;
  NoiseStream noise_;
  NoiseStream dropout_;
  std::unique_ptr<battery::Pack> plant_;
  std::vector<std::unique_ptr<Law>> laws_;
  std::unique_ptr<PackCycle> pack_cycle_;
  std::unique_ptr<ControlCycle> cell_cycle_;
  std::vector<battery::CellState> before_;                // the plant's states at the start of the step
  std::vector<battery::CellScaling> base_scaling_;        // the plant's scaling before connection faults
  std::vector<std::uint8_t> fault_active_;                // per fault: started and not ended
  std::vector<std::uint8_t> fresh_;                       // per fault: started in this step
  std::vector<double> stuck_value_;                       // per fault: the stuck reading
  std::vector<std::unique_ptr<battery::Cell>> attacker_;  // per stealthy injection: the attacker's cell
  std::vector<double> va_, vb_, temp_;                    // this step's readings per group
  std::vector<std::uint8_t> va_ok_, vb_ok_, temp_ok_;
  std::vector<std::uint8_t> va_fresh_, vb_fresh_, temp_fresh_;  // reported this step (ReportScheduler)
  std::unique_ptr<ReportScheduler> reporter_;
  void report(double t) noexcept;                              // which nodes report (before the cycle)
  void schedule_reports(double t, double command_a) noexcept;  // their next report times (after it)
  CycleStatus last_cell_status_{};                             // ControlCycle's status of the last step
  double command_a_ = 0.0;                                     // the cycle's last pack command
  bool contactor_closed_ = true;
  double replacement_s_ = std::numeric_limits<double>::infinity();
  LoopSummary summary_{};
  Trace trace_{};
  // The counterfactuals' plants (null unless enabled), their states at the start of the step, the
  // fork time and their summaries.
  std::unique_ptr<battery::Pack> cf_start_;
  std::unique_ptr<battery::Pack> cf_onset_;
  std::vector<battery::CellState> cf_before_;
  double cf_fork_s_ = std::numeric_limits<double>::infinity();
  bool cf_forked_ = false;
  LoopSummary cf_start_summary_{};
  LoopSummary cf_onset_summary_{};
};

}  // namespace safetwin::cycle
