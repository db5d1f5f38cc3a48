#pragma once
// Runtime invariant monitor: declarative invariants over named signals, checked every control
// cycle, with severity, debounce, latching and an event ring buffer.
//
// Timing contract: check() is called once per sample period (MonitorConfig::sample_period_s),
// after every signal of the cycle was written with set(). The temporal windows count samples:
// a window of T s holds n = T / sample_period_s + 1 samples.
//
// Temporal semantics (discrete time, as RTAMT's discrete-time STL):
//   always_within     "always[0, T] (lo <= x <= hi)"     evaluated with a delay of T: the verdict
//   eventually_within "eventually[0, T] (lo <= x <= hi)" emitted at sample k is the one of the
//   bounded-future formula at time k - T. That equals the past-time formula historically[0, T]
//   (resp. once[0, T]) at k, which is what RTAMT's online monitor computes after pastify(); over
//   the first n samples the window holds the samples seen so far, as RTAMT's does.
//   Robustness of the predicate: min(x - lo, hi - x) (an infinite limit drops its side); of the
//   operator: min (always) or max (eventually) over the window. Violated when robustness < 0.
//   A NaN sample counts as robustness -inf (fail closed).
//
// Debounce (as foxBMS 2's DIAG_Handler): while an invariant is not active, a violated sample counts
// a counter up and a satisfied one counts it down (not below 0); the invariant becomes active when
// the counter reaches set_count. While active, clear_count satisfied samples in a row clear it (a
// violated sample restarts that count). Severity stop latches: it clears only on reset().
//
// Hysteresis (set/clear thresholds, as a BMS's "release" limits): range, rate and nis_window
// invariants may give a clear band [clear_lo, clear_hi] inside [lo, hi] (NaN: the set limit). An
// active invariant counts a sample towards clearing only when its value lies inside the clear
// band, so a signal hovering at a limit sets once and stays set instead of chattering; it clears
// after clear_count samples in a row back inside the band.
//
// The step path (set, check, reset) allocates nothing and never throws.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "safetwin/safety/event_log.hpp"
#include "safetwin/safety/window_extremum.hpp"
#include "safetwin/status.hpp"

namespace safetwin::safety {

enum class Severity : std::uint8_t { none = 0, warning = 1, derate = 2, stop = 3 };
[[nodiscard]] const char* to_string(Severity s) noexcept;

enum class InvariantKind : std::uint8_t {
  range = 0,              // lo <= x <= hi
  rate = 1,               // lo <= (x[k] - x[k-1]) / (t[k] - t[k-1]) <= hi
  finite = 2,             // x is finite
  nis_window = 3,         // lo <= mean of x over the last window_s (judged once the window is full) <= hi
  always_within = 4,      // always[0, window_s] (lo <= x <= hi), see above
  eventually_within = 5,  // eventually[0, window_s] (lo <= x <= hi)
};
[[nodiscard]] const char* to_string(InvariantKind k) noexcept;

constexpr double kNoLimit = std::numeric_limits<double>::infinity();

struct InvariantSpec {
  std::string name;
  std::string signal;
  InvariantKind kind = InvariantKind::range;
  double lo = -kNoLimit;
  double hi = kNoLimit;
  double window_s = 0.0;  // nis_window, always_within, eventually_within
  Severity severity = Severity::warning;
  int set_count = 1;    // >= 1
  int clear_count = 1;  // >= 1
  // Clear band (hysteresis, see above): NaN = the set limit on that side. range, rate, nis_window.
  double clear_lo = std::numeric_limits<double>::quiet_NaN();
  double clear_hi = std::numeric_limits<double>::quiet_NaN();
};

struct MonitorConfig {
  std::vector<std::string> signals;  // the signal names; their order is their index
  std::vector<InvariantSpec> invariants;
  double sample_period_s = 1.0;
  std::size_t event_capacity = 256;
  // Throws std::invalid_argument naming the invariant (e.g. "invariant 'v_max_op': unknown signal
  // 'cell_v'") or the field.
  void validate() const;
};

enum class EventKind : std::uint8_t { set = 1, cleared = 2, reset = 3 };

struct MonitorEvent {
  double time_s;
  double value;  // the checked value: x, the rate, the window mean, or the robustness
  double limit;  // the limit it crossed (0 for temporal robustness, NaN for finite)
  std::int32_t invariant;
  std::uint8_t severity;  // Severity
  std::uint8_t kind;      // EventKind
};

// What one check() decided.
struct MonitorVerdict {
  Severity max_active = Severity::none;  // highest severity among active invariants
  int active = 0;                        // how many invariants are active
  int newly_set = 0;                     // how many became active in this check
  int newly_cleared = 0;
  int violated_samples = 0;  // invariants whose raw condition failed this sample
  int first_set = -1;        // index of the most severe invariant set in this check
};

class InvariantMonitor {
 public:
  explicit InvariantMonitor(MonitorConfig config);
  // The windows point into storage this object owns: copying would alias it, moving keeps it.
  InvariantMonitor(const InvariantMonitor&) = delete;
  InvariantMonitor& operator=(const InvariantMonitor&) = delete;
  InvariantMonitor(InvariantMonitor&&) noexcept = default;
  InvariantMonitor& operator=(InvariantMonitor&&) noexcept = default;

  [[nodiscard]] int signal_index(const std::string& name) const noexcept;     // -1 if unknown
  [[nodiscard]] int invariant_index(const std::string& name) const noexcept;  // -1 if unknown
  [[nodiscard]] std::size_t signal_count() const noexcept { return values_.size(); }
  [[nodiscard]] std::size_t invariant_count() const noexcept { return specs_.size(); }

  // Writes one signal for the next check. An index out of range returns invalid_argument.
  [[nodiscard]] Status set(int signal, double value) noexcept;
  // Evaluates every invariant on the signals as they are now. time_s must increase from check to
  // check (invalid_argument otherwise, nothing changed).
  [[nodiscard]] Status check(double time_s) noexcept;
  [[nodiscard]] const MonitorVerdict& verdict() const noexcept { return verdict_; }

  // Explicit reset: clears the invariant (latched or not) and its debounce counters; logs a reset
  // event if it was active. The temporal windows keep their history (they describe the signal).
  [[nodiscard]] Status reset(int invariant, double time_s) noexcept;
  void reset_all(double time_s) noexcept;
  // Back to the state after construction (history, events, counters).
  void clear() noexcept;

  [[nodiscard]] bool active(int invariant) const noexcept;
  [[nodiscard]] bool latched(int invariant) const noexcept;
  [[nodiscard]] double last_value(int invariant) const noexcept;  // value of the last check
  [[nodiscard]] const InvariantSpec& spec(int invariant) const {
    return specs_.at(static_cast<std::size_t>(invariant));
  }
  [[nodiscard]] const std::vector<std::string>& signal_names() const noexcept { return signals_; }
  [[nodiscard]] const EventLog<MonitorEvent>& events() const noexcept { return events_; }
  void clear_events() noexcept { events_.clear(); }

 private:
  struct State {
    int signal = 0;
    int up = 0;      // debounce counter while inactive
    int ok_run = 0;  // satisfied samples in a row while active
    bool active = false;
    bool latched = false;
    double last_value = 0.0;
    double prev_x = 0.0;  // rate: the previous sample
    bool has_prev = false;
    // nis_window: ring of window samples
    std::size_t ring_offset = 0;
    std::size_t ring_len = 0;
    std::size_t ring_pos = 0;
    std::size_t ring_count = 0;
    double ring_sum = 0.0;
    WindowExtremum window;
  };
  // Raw condition of one invariant on this sample: returns true when violated and writes the
  // value and the limit the event reports.
  [[nodiscard]] bool evaluate(std::size_t i, double dt_s, double* value, double* limit) noexcept;
  // An active invariant's value back inside its clear band (false for NaN).
  [[nodiscard]] bool inside_clear_band(std::size_t i, double value) const noexcept;
  void log(double time_s, std::size_t i, double value, double limit, EventKind kind) noexcept;

  std::vector<std::string> signals_;
  std::vector<InvariantSpec> specs_;
  std::vector<State> state_;
  std::vector<double> values_;
  std::vector<double> ring_;       // nis_window storage of every invariant
  std::vector<WindowSlot> slots_;  // temporal window storage of every invariant
  double sample_period_s_;
  double last_time_s_ = 0.0;
  bool has_time_ = false;
  std::int64_t sample_ = 0;
  MonitorVerdict verdict_{};
  EventLog<MonitorEvent> events_;
};

// Number of samples n of a window of window_s at the sample period (the window holds n + 1).
// Throws when window_s is not a whole number of periods.
[[nodiscard]] std::size_t window_samples(const std::string& owner, double window_s, double period_s);

}  // namespace safetwin::safety
