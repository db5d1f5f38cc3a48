#include "safetwin/safety/monitor.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "safetwin/validate.hpp"

namespace safetwin::safety {

const char* to_string(Severity s) noexcept {
  switch (s) {
    case Severity::none: return "none";
    case Severity::warning: return "warning";
    case Severity::derate: return "derate";
    case Severity::stop: return "stop";
  }
  return "unknown";
}

const char* to_string(InvariantKind k) noexcept {
  switch (k) {
    case InvariantKind::range: return "range";
    case InvariantKind::rate: return "rate";
    case InvariantKind::finite: return "finite";
    case InvariantKind::nis_window: return "nis_window";
    case InvariantKind::always_within: return "always_within";
    case InvariantKind::eventually_within: return "eventually_within";
  }
  return "unknown";
}

namespace {

bool is_temporal(InvariantKind k) { return k == InvariantKind::always_within || k == InvariantKind::eventually_within; }

[[noreturn]] void refuse(const InvariantSpec& s, const std::string& what) {
  throw std::invalid_argument("invariant '" + s.name + "': " + what);
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

std::size_t window_samples(const std::string& owner, double window_s, double period_s) {
  const double n = std::round(window_s / period_s);
  if (!(std::abs(n * period_s - window_s) <= 1e-9 * std::max(1.0, window_s)))
    throw std::invalid_argument(owner + ": window_s = " + num(window_s) +
                                " must be a whole number of sample periods (" + num(period_s) + " s)");
  return static_cast<std::size_t>(n);
}

void MonitorConfig::validate() const {
  require_positive("MonitorConfig.sample_period_s", sample_period_s);
  if (event_capacity == 0) throw_invalid("MonitorConfig.event_capacity", 0.0, "must be >= 1");
  for (std::size_t i = 0; i < signals.size(); ++i) {
    if (signals[i].empty()) throw_invalid("MonitorConfig.signals[" + std::to_string(i) + "]", "empty name");
    for (std::size_t j = 0; j < i; ++j)
      if (signals[j] == signals[i]) throw_invalid("MonitorConfig.signals", "duplicate signal '" + signals[i] + "'");
  }
  for (std::size_t i = 0; i < invariants.size(); ++i) {
    const InvariantSpec& s = invariants[i];
    if (s.name.empty()) throw_invalid("MonitorConfig.invariants[" + std::to_string(i) + "].name", "empty name");
    for (std::size_t j = 0; j < i; ++j)
      if (invariants[j].name == s.name) refuse(s, "duplicate invariant name");
    if (std::find(signals.begin(), signals.end(), s.signal) == signals.end())
      refuse(s, "unknown signal '" + s.signal + "'");
    if (s.kind > InvariantKind::eventually_within) refuse(s, "unknown kind");
    if (s.severity == Severity::none || s.severity > Severity::stop)
      refuse(s, "severity must be warning, derate or stop");
    if (s.set_count < 1) refuse(s, "set_count = " + std::to_string(s.set_count) + " must be >= 1");
    if (s.clear_count < 1) refuse(s, "clear_count = " + std::to_string(s.clear_count) + " must be >= 1");
    if (std::isnan(s.lo) || std::isnan(s.hi)) refuse(s, "limits must not be NaN");
    if (s.kind != InvariantKind::finite) {
      if (s.lo > s.hi) refuse(s, "inverted limits: lo = " + num(s.lo) + " > hi = " + num(s.hi));
      if (std::isinf(s.lo) && std::isinf(s.hi)) refuse(s, "needs at least one finite limit (lo or hi)");
    }
    const bool has_clear = !std::isnan(s.clear_lo) || !std::isnan(s.clear_hi);
    if (has_clear) {
      if (s.kind != InvariantKind::range && s.kind != InvariantKind::rate && s.kind != InvariantKind::nis_window)
        refuse(s, "clear_lo/clear_hi apply to range, rate and nis_window invariants only");
      const double clo = std::isnan(s.clear_lo) ? s.lo : s.clear_lo;
      const double chi = std::isnan(s.clear_hi) ? s.hi : s.clear_hi;
      if (!std::isnan(s.clear_lo) && !(s.clear_lo >= s.lo && std::isfinite(s.clear_lo)))
        refuse(s, "clear_lo = " + num(s.clear_lo) + " must be finite and >= lo = " + num(s.lo));
      if (!std::isnan(s.clear_hi) && !(s.clear_hi <= s.hi && std::isfinite(s.clear_hi)))
        refuse(s, "clear_hi = " + num(s.clear_hi) + " must be finite and <= hi = " + num(s.hi));
      if (!(clo <= chi)) refuse(s, "empty clear band: clear_lo = " + num(clo) + " > clear_hi = " + num(chi));
    }
    if (std::isnan(s.window_s) || s.window_s < 0.0 || std::isinf(s.window_s))
      refuse(s, "window_s = " + num(s.window_s) + " must be finite and >= 0");
    if (s.kind == InvariantKind::nis_window && !(s.window_s > 0.0))
      refuse(s, "window_s = " + num(s.window_s) + " must be > 0 for nis_window");
    if (s.kind == InvariantKind::nis_window || is_temporal(s.kind)) {
      const std::size_t n = window_samples("invariant '" + s.name + "'", s.window_s, sample_period_s);
      if (n > 1000000) refuse(s, "window_s = " + num(s.window_s) + " needs more than 1e6 samples");
    }
  }
}

InvariantMonitor::InvariantMonitor(MonitorConfig config)
    : signals_((config.validate(), std::move(config.signals))),
      specs_(std::move(config.invariants)),
      state_(specs_.size()),
      values_(signals_.size(), 0.0),
      sample_period_s_(config.sample_period_s),
      events_(config.event_capacity) {
  // Storage for every window is sized here, once; the step path only indexes it.
  std::size_t ring_total = 0, slot_total = 0;
  for (const auto& s : specs_) {
    if (s.kind == InvariantKind::nis_window) ring_total += window_samples(s.name, s.window_s, sample_period_s_);
    if (is_temporal(s.kind)) slot_total += window_samples(s.name, s.window_s, sample_period_s_) + 1;
  }
  ring_.assign(ring_total, 0.0);
  slots_.assign(slot_total, WindowSlot{0, 0.0});
  std::size_t ring_at = 0, slot_at = 0;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const InvariantSpec& s = specs_[i];
    State& st = state_[i];
    st.signal = signal_index(s.signal);
    if (s.kind == InvariantKind::nis_window) {
      st.ring_offset = ring_at;
      st.ring_len = window_samples(s.name, s.window_s, sample_period_s_);
      ring_at += st.ring_len;
    }
    if (is_temporal(s.kind)) {
      const std::size_t n = window_samples(s.name, s.window_s, sample_period_s_);
      st.window = WindowExtremum(slots_.data() + slot_at, n, s.kind == InvariantKind::eventually_within);
      slot_at += n + 1;
    }
  }
}

int InvariantMonitor::signal_index(const std::string& name) const noexcept {
  for (std::size_t i = 0; i < signals_.size(); ++i)
    if (signals_[i] == name) return static_cast<int>(i);
  return -1;
}

int InvariantMonitor::invariant_index(const std::string& name) const noexcept {
  for (std::size_t i = 0; i < specs_.size(); ++i)
    if (specs_[i].name == name) return static_cast<int>(i);
  return -1;
}

Status InvariantMonitor::set(int signal, double value) noexcept {
  if (signal < 0 || static_cast<std::size_t>(signal) >= values_.size()) return Status::invalid_argument;
  values_[static_cast<std::size_t>(signal)] = value;
  return Status::ok;
}

bool InvariantMonitor::evaluate(std::size_t i, double dt_s, double* value, double* limit) noexcept {
  const InvariantSpec& s = specs_[i];
  State& st = state_[i];
  const double x = values_[static_cast<std::size_t>(st.signal)];
  // Which limit a value outside [lo, hi] crossed; a NaN fails both (reported against hi if finite).
  const auto range_check = [&](double v) {
    *value = v;
    if (v >= s.lo && v <= s.hi) {
      *limit = v < 0.5 * (s.lo + s.hi) ? s.lo : s.hi;
      return false;
    }
    *limit = (v < s.lo) ? s.lo : (std::isfinite(s.hi) ? s.hi : s.lo);
    return true;
  };
  switch (s.kind) {
    case InvariantKind::range: return range_check(x);
    case InvariantKind::finite:
      *value = x;
      *limit = std::numeric_limits<double>::quiet_NaN();
      return !std::isfinite(x);
    case InvariantKind::rate: {
      if (!st.has_prev || !std::isfinite(st.prev_x)) {
        // No previous finite sample: no rate yet (a NaN sample is the finite invariant's job).
        st.prev_x = x;
        st.has_prev = true;
        *value = 0.0;
        *limit = s.hi;
        return false;
      }
      const double rate = (x - st.prev_x) / dt_s;
      st.prev_x = x;
      return range_check(rate);
    }
    case InvariantKind::nis_window: {
      double* ring = ring_.data() + st.ring_offset;
      const double v = std::isfinite(x) ? x : std::numeric_limits<double>::infinity();
      if (st.ring_count == st.ring_len)
        st.ring_sum -= ring[st.ring_pos];
      else
        ++st.ring_count;
      ring[st.ring_pos] = v;
      st.ring_sum += v;
      st.ring_pos = (st.ring_pos + 1) % st.ring_len;
      // Re-sum exactly once per turn of the ring so that rounding of the running sum cannot drift.
      if (st.ring_pos == 0) {
        double sum = 0.0;
        for (std::size_t j = 0; j < st.ring_count; ++j) sum += ring[j];
        st.ring_sum = sum;
      }
      if (st.ring_count < st.ring_len) {
        *value = st.ring_sum / static_cast<double>(st.ring_count);
        *limit = s.hi;
        return false;
      }
      return range_check(st.ring_sum / static_cast<double>(st.ring_len));
    }
    case InvariantKind::always_within:
    case InvariantKind::eventually_within: {
      double rho = std::numeric_limits<double>::infinity();
      if (std::isfinite(s.lo)) rho = x - s.lo;
      if (std::isfinite(s.hi)) rho = std::min(rho, s.hi - x);
      if (std::isnan(x)) rho = -std::numeric_limits<double>::infinity();
      const double r = st.window.push(sample_, rho);
      *value = r;
      *limit = 0.0;
      return !(r >= 0.0);
    }
  }
  *value = x;
  *limit = 0.0;
  return true;  // unreachable with a validated kind; fail closed
}

bool InvariantMonitor::inside_clear_band(std::size_t i, double value) const noexcept {
  const InvariantSpec& s = specs_[i];
  const double lo = std::isnan(s.clear_lo) ? s.lo : s.clear_lo;
  const double hi = std::isnan(s.clear_hi) ? s.hi : s.clear_hi;
  if (std::isnan(s.clear_lo) && std::isnan(s.clear_hi)) return true;  // no band: not violated suffices
  return value >= lo && value <= hi;
}

void InvariantMonitor::log(double time_s, std::size_t i, double value, double limit, EventKind kind) noexcept {
  events_.push(MonitorEvent{time_s, value, limit, static_cast<std::int32_t>(i),
                            static_cast<std::uint8_t>(specs_[i].severity), static_cast<std::uint8_t>(kind)});
}

Status InvariantMonitor::check(double time_s) noexcept {
  if (!std::isfinite(time_s)) return Status::non_finite_input;
  if (has_time_ && !(time_s > last_time_s_)) return Status::invalid_argument;
  const double dt_s = has_time_ ? time_s - last_time_s_ : sample_period_s_;
  MonitorVerdict v{};
  Severity first_sev = Severity::none;
  for (std::size_t i = 0; i < specs_.size(); ++i) {
    const InvariantSpec& s = specs_[i];
    State& st = state_[i];
    double value = 0.0, limit = 0.0;
    const bool violated = evaluate(i, dt_s, &value, &limit);
    st.last_value = value;
    if (violated) ++v.violated_samples;
    if (!st.active) {
      if (violated)
        ++st.up;
      else if (st.up > 0)
        --st.up;
      if (st.up >= s.set_count) {
        st.active = true;
        st.latched = (s.severity == Severity::stop);
        st.up = 0;
        st.ok_run = 0;
        ++v.newly_set;
        log(time_s, i, value, limit, EventKind::set);
        if (s.severity > first_sev) {
          first_sev = s.severity;
          v.first_set = static_cast<int>(i);
        }
      }
    } else if (!st.latched) {
      st.ok_run = (violated || !inside_clear_band(i, value)) ? 0 : st.ok_run + 1;
      if (st.ok_run >= s.clear_count) {
        st.active = false;
        st.ok_run = 0;
        ++v.newly_cleared;
        log(time_s, i, value, limit, EventKind::cleared);
      }
    }
    if (st.active) {
      ++v.active;
      if (s.severity > v.max_active) v.max_active = s.severity;
    }
  }
  verdict_ = v;
  last_time_s_ = time_s;
  has_time_ = true;
  ++sample_;
  return Status::ok;
}

Status InvariantMonitor::reset(int invariant, double time_s) noexcept {
  if (invariant < 0 || static_cast<std::size_t>(invariant) >= specs_.size()) return Status::invalid_argument;
  State& st = state_[static_cast<std::size_t>(invariant)];
  if (st.active) log(time_s, static_cast<std::size_t>(invariant), st.last_value, 0.0, EventKind::reset);
  st.active = false;
  st.latched = false;
  st.up = 0;
  st.ok_run = 0;
  // The verdict describes the monitor after the reset, so that the supervisor sees it at once.
  verdict_.active = 0;
  verdict_.max_active = Severity::none;
  for (std::size_t i = 0; i < specs_.size(); ++i)
    if (state_[i].active) {
      ++verdict_.active;
      if (specs_[i].severity > verdict_.max_active) verdict_.max_active = specs_[i].severity;
    }
  return Status::ok;
}

void InvariantMonitor::reset_all(double time_s) noexcept {
  for (std::size_t i = 0; i < specs_.size(); ++i) (void)reset(static_cast<int>(i), time_s);
}

void InvariantMonitor::clear() noexcept {
  for (auto& st : state_) {
    st.up = 0;
    st.ok_run = 0;
    st.active = false;
    st.latched = false;
    st.last_value = 0.0;
    st.prev_x = 0.0;
    st.has_prev = false;
    st.ring_pos = 0;
    st.ring_count = 0;
    st.ring_sum = 0.0;
    st.window.clear();
  }
  std::fill(values_.begin(), values_.end(), 0.0);
  has_time_ = false;
  sample_ = 0;
  verdict_ = MonitorVerdict{};
  events_.clear();
}

bool InvariantMonitor::active(int i) const noexcept {
  return i >= 0 && static_cast<std::size_t>(i) < state_.size() && state_[static_cast<std::size_t>(i)].active;
}
bool InvariantMonitor::latched(int i) const noexcept {
  return i >= 0 && static_cast<std::size_t>(i) < state_.size() && state_[static_cast<std::size_t>(i)].latched;
}
double InvariantMonitor::last_value(int i) const noexcept {
  if (i < 0 || static_cast<std::size_t>(i) >= state_.size()) return std::numeric_limits<double>::quiet_NaN();
  return state_[static_cast<std::size_t>(i)].last_value;
}

}  // namespace safetwin::safety
