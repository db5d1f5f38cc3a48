#pragma once
// The firmware's online diagnostics (issue 15): what of the offline fault isolation
// (safetwin.diagnostics.isolation) can run on every cycle, per series group, raised as FW_EVENT
// codes 17-21 (hil/safetwin_hil.dbc; their flags in FW_STATUS DIAG_FLAGS, FAULT_FLAGS is full).
// Every detector compares one group with the median of the groups (series cells carry one
// current, see one ambient, age alike), as the offline isolation does, so that the pack's own
// operating point cancels and only what sets one cell apart remains:
//
//   DIAG_INTERNAL_SHORT          charge balance at rest: a leak I_leak drains its cell, so the
//                                group's estimated SOC falls against the median's at I_leak / Q
//                                (the coulomb count is the same for every series group and cancels).
//                                Least-squares slope over the rest since rest_min_s after the
//                                current stopped (the relaxation is common to all groups); leak =
//                                -slope * Q_group, from 600 s of balance on; raised when > short_leak_a for
//                                debounce_s.
//   DIAG_CONNECTION_RESISTANCE   a loose busbar: the slope of (group voltage - median voltage)
//                                against the cell current, exponentially weighted over
//                                resistance_window_s, once the current varied enough to identify it
//                                (its standard deviation >= min_current_sd_a); raised when >
//                                resistance_step_ohm for debounce_s (the R0 spread of a pack is a few
//                                mOhm, the fault 5-20 mOhm).
//   DIAG_SENSOR_FAULT            a reading that steps at rest: with no current a cell's voltage
//                                cannot jump, so (group - median) moving by more than sensor_step_v
//                                between two reports while |I| < rest_current_a is the sensor (an
//                                offset, a stuck-at value), not the battery.
//   DIAG_COOLING_LOSS            the heat path lost: the estimators' temperature innovations,
//                                whitened and averaged over the groups, stay positive (every cell
//                                warmer than the twin, whose cooling works); an exponential mean over
//                                cooling_window_s > cooling_z for debounce_s. Pack-wide by nature:
//                                the event names the pack (cell 0).
//   DIAG_ANOMALY                 the guarded cycle's anomaly score (CycleConfig::anomaly, on when
//                                anomaly_threshold > 0: the calibrated threshold of
//                                safetwin.diagnostics.calibration); mapped from its invariant by
//                                the firmware, not computed here.
//
// Every code latches (a short or a loose busbar does not heal; a lost cooling or a sensor that
// jumped is not trusted again within a run); the firmware holds the command at 0 for an internal
// short and derates for the others (the mode is DERATED while any fault flag is set).
// step() is the step path: fixed arrays, no allocation, no exception.
#include <array>
#include <cstddef>
#include <cstdint>

#include "measurements.hpp"

namespace safetwin::cycle {
class PackCycle;
}

namespace safetwin::firmware {

// FW_EVENT codes of the diagnostics (hil/safetwin_hil.dbc).
enum class DiagCode : std::uint8_t {
  anomaly = 17,
  internal_short = 18,
  connection_resistance = 19,
  cooling_loss = 20,
  sensor_fault = 21,
};

struct DiagConfig {
  bool enabled = false;               // the online detectors (the anomaly score is on by its threshold)
  double anomaly_threshold = 0.0;     // 0: no anomaly score; else the calibrated threshold
  double rest_current_a = 0.2;        // |pack current| below this is rest
  double rest_min_s = 300.0;          // the charge balance starts this long after the rest began
  double short_leak_a = 0.02;         // per group (a 100 Ohm short at 3.7 V leaks 37 mA)
  double resistance_window_s = 20.0;  // short: a loose busbar trips CELL_IMBALANCE within seconds
  double min_current_sd_a = 1.0;
  double resistance_step_ohm = 0.004;
  double sensor_step_v = 0.01;
  double cooling_window_s = 120.0;
  double cooling_z = 1.5;
  double debounce_s = 5.0;
  void validate() const;  // throws std::invalid_argument naming the field
};

// What one cycle found; an event is a code that became active in this cycle.
struct DiagEvent {
  DiagCode code;
  std::uint8_t cell;  // 1-based series group, 0 = the pack
};

class DiagEvents {
 public:
  static constexpr std::size_t kMaxEvents = 8;

  DiagEvents(const DiagConfig& config, std::size_t groups, double group_capacity_ah);

  // One cycle after the control step, on the measurements it used and its estimators. A cycle
  // with a missing value (NaN) is skipped: its detectors neither learn nor decide.
  void step(const Measurements& m, const cycle::PackCycle& pack, double cell_current_a, double dt_s) noexcept;

  [[nodiscard]] bool active(DiagCode c) const noexcept { return (active_ >> bit(c)) & 1u; }
  [[nodiscard]] std::size_t events() const noexcept { return n_events_; }
  [[nodiscard]] const DiagEvent& event(std::size_t i) const noexcept { return events_[i]; }
  // The latest estimates of group g (for tests and logs): leak current, A; relative resistance, Ohm.
  [[nodiscard]] double leak_a(std::size_t g) const noexcept { return leak_a_[g]; }
  [[nodiscard]] double resistance_ohm(std::size_t g) const noexcept { return r_ohm_[g]; }
  [[nodiscard]] double cooling_z() const noexcept { return cooling_mean_; }

 private:
  static unsigned bit(DiagCode c) noexcept { return static_cast<unsigned>(c) - 17u; }
  void raise(DiagCode c, std::size_t group_1based) noexcept;

  DiagConfig config_;
  std::size_t n_;
  double capacity_as_;  // group capacity, A s

  // charge balance at rest: least squares of (soc_g - median) against the time since rest_min_s
  double rest_s_ = 0.0;
  std::array<double, kMaxCells> st_{}, sy_{}, sty_{};
  double s1_ = 0.0, stt_ = 0.0, sum_t_ = 0.0;
  std::array<double, kMaxCells> leak_a_{};
  // exponentially weighted regression of (v_g - median) on the cell current
  double w_ = 0.0, wi_ = 0.0, wii_ = 0.0;
  std::array<double, kMaxCells> wd_{}, wid_{};
  std::array<double, kMaxCells> r_ohm_{};
  // the last report's (v_g - median) and current, for the sensor step
  std::array<double, kMaxCells> last_d_{};
  double last_i_ = 0.0;
  bool have_last_ = false;
  double cooling_mean_ = 0.0;
  std::array<double, kMaxCells> short_s_{}, resistance_s_{};
  double cooling_s_ = 0.0;

  std::uint32_t active_ = 0;  // bit code - 17
  std::array<DiagEvent, kMaxEvents> events_{};
  std::size_t n_events_ = 0;
};

}  // namespace safetwin::firmware
