#include "safetwin/cycle/report_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "safetwin/validate.hpp"

namespace safetwin::cycle {

const char* to_string(ReportingMode m) noexcept {
  switch (m) {
    case ReportingMode::every_step: return "every_step";
    case ReportingMode::periodic: return "periodic";
    case ReportingMode::self_triggered: return "self_triggered";
  }
  return "unknown";
}

void ReportingConfig::validate(double dt_s) const {
  if (mode != ReportingMode::every_step && mode != ReportingMode::periodic && mode != ReportingMode::self_triggered)
    throw_invalid("ReportingConfig.mode", static_cast<double>(mode), "must be every_step, periodic or self_triggered");
  require_positive("ReportingConfig.period_s", period_s);
  require_positive("ReportingConfig.max_interval_s", max_interval_s);
  require_in_range("ReportingConfig.min_interval_s", min_interval_s, 0.0, max_interval_s);
  if (max_interval_s / dt_s > safety::kSafeHorizonMaxSteps)
    throw_invalid(
        "ReportingConfig.max_interval_s", max_interval_s,
        "must be <= " + std::to_string(safety::kSafeHorizonMaxSteps) + " steps of dt_s = " + std::to_string(dt_s));
  require_positive("ReportingConfig.confidence_sigma", confidence_sigma);
  require_non_negative("ReportingConfig.voltage_margin_v", voltage_margin_v);
  require_non_negative("ReportingConfig.temp_margin_k", temp_margin_k);
  require_non_negative("ReportingConfig.soc_margin", soc_margin);
  require_positive("ReportingConfig.threshold_min_v", threshold_min_v);
  require_positive("ReportingConfig.threshold_min_k", threshold_min_k);
  if (!(threshold_max_v >= threshold_min_v) || !std::isfinite(threshold_max_v))
    throw_invalid("ReportingConfig.threshold_max_v", threshold_max_v, "must be finite and >= threshold_min_v");
  if (!(threshold_max_k >= threshold_min_k) || !std::isfinite(threshold_max_k))
    throw_invalid("ReportingConfig.threshold_max_k", threshold_max_k, "must be finite and >= threshold_min_k");
}

namespace {
safety::SafeHorizonConfig horizon_config(const ReportingConfig& c, double dt_s, safety::SafeHorizonConfig h) {
  c.validate(dt_s);
  h.step_s = dt_s;
  h.max_horizon_s = c.max_interval_s;
  h.min_interval_s = c.min_interval_s;
  h.confidence_sigma = c.confidence_sigma;
  h.voltage_margin_v = c.voltage_margin_v;
  h.temp_margin_k = c.temp_margin_k;
  h.soc_margin = c.soc_margin;
  return h;
}
}  // namespace

safety::SafeHorizonConfig safe_horizon_config(const CycleConfig& cc, double dt_s) {
  safety::SafeHorizonConfig h;
  h.cell = cc.cbf.cell;
  h.scaling = cc.cbf.scaling;
  h.soc_min = cc.cbf.soc_min;
  h.soc_max = cc.cbf.soc_max;
  h.model_error_v = cc.cbf.model_error_v;
  h.model_error_k = cc.cbf.model_error_k;
  h.model_error_soc = cc.cbf.model_error_soc;
  const auto& ec = cc.estimator;
  h.process_noise_var << ec.soc_rw_per_sqrt_s * ec.soc_rw_per_sqrt_s * dt_s,
      ec.v_rc_rw_v_per_sqrt_s * ec.v_rc_rw_v_per_sqrt_s * dt_s,
      ec.v_rc_rw_v_per_sqrt_s * ec.v_rc_rw_v_per_sqrt_s * dt_s,
      ec.temp_rw_k_per_sqrt_s * ec.temp_rw_k_per_sqrt_s * dt_s;
  return h;
}

ReportScheduler::ReportScheduler(ReportingConfig config, std::size_t groups, bool node_b, double dt_s,
                                 safety::SafeHorizonConfig horizon)
    : config_(std::move(config)),
      dt_s_(dt_s),
      node_b_(node_b),
      horizon_(horizon_config(config_, dt_s, std::move(horizon))),
      nodes_(groups) {}

void ReportScheduler::update_threshold(Node& n, ReportNode kind) const noexcept {
  const auto& lim = horizon_.config().cell.limits;
  const bool volt = kind != ReportNode::temperature;
  const double d = volt ? std::min(lim.voltage_max_v - n.last, n.last - lim.voltage_min_v)
                        : std::min(lim.temp_max_k - n.last, n.last - lim.temp_min_k);
  const double lo = volt ? config_.threshold_min_v : config_.threshold_min_k;
  const double hi = volt ? config_.threshold_max_v : config_.threshold_max_k;
  n.threshold = std::isfinite(d) ? std::min(std::max(0.5 * d, lo), hi) : lo;
}

void ReportScheduler::decide(double t, std::size_t group, const GroupReadings& r) noexcept {
  auto& ns = nodes_[group];
  const double eps = 1e-9 * std::max(1.0, std::abs(t));
  const ReportingMode mode = config_.mode;
  bool report[kReportNodeKinds] = {false, false, false}, due[kReportNodeKinds] = {false, false, false};
  bool event[kReportNodeKinds] = {false, false, false};
  for (int k = 0; k < kReportNodeKinds; ++k) {
    if (k == static_cast<int>(ReportNode::voltage_b) && !node_b_) continue;
    const Node& n = ns[static_cast<std::size_t>(k)];
    const double v = *r.value[k];
    const bool ok = *r.valid[k] != 0;
    due[k] = mode == ReportingMode::every_step || t + eps >= n.next_s;
    event[k] = mode == ReportingMode::self_triggered && !due[k] && n.has_report && ok &&
               !(std::abs(v - n.last) <= n.threshold);
    report[k] = due[k] || event[k];
  }
  if (node_b_ && (event[0] || event[1])) report[0] = report[1] = true;  // poll the redundant peer
  const double frames_per_report =
      mode == ReportingMode::periodic && config_.period_s < dt_s_ ? std::round(dt_s_ / config_.period_s) : 1.0;
  for (int k = 0; k < kReportNodeKinds; ++k) {
    if (k == static_cast<int>(ReportNode::voltage_b) && !node_b_) continue;
    Node& n = ns[static_cast<std::size_t>(k)];
    const bool ok = *r.valid[k] != 0;
    if (report[k] && ok) {
      counts_.frames[static_cast<std::size_t>(k)] += static_cast<std::size_t>(frames_per_report);
      if (!due[k]) ++counts_.event_reports;
      n.last = *r.value[k];
      n.has_report = true;
      update_threshold(n, static_cast<ReportNode>(k));
      if (mode == ReportingMode::periodic)
        n.next_s = (std::floor((t + eps) / config_.period_s) + 1.0) * config_.period_s;
      else if (mode == ReportingMode::self_triggered)
        n.next_s = t + std::max(config_.min_interval_s, dt_s_);  // until schedule()
      *r.fresh[k] = 1;
    } else if (report[k]) {  // due (or polled) and silent: a missed report, fail closed; stays due
      if (due[k]) ++counts_.missed_reports;
      *r.valid[k] = 0;
      *r.fresh[k] = 1;
    } else if (n.has_report) {  // not asked: its last report, held for the monitor
      *r.value[k] = n.last;
      *r.valid[k] = 1;
      *r.fresh[k] = 0;
    } else {
      *r.valid[k] = 0;
      *r.fresh[k] = 1;
    }
    n.reported = report[k] && ok;  // for schedule(): its time is replaced, not only pulled earlier
  }
}

namespace {
// Does a measurement-based barrier of the CBF filter cut the interval of currents the model's
// barriers and the current limits allow (report_schedule.hpp)? Between reports the cycle holds the
// readings and drops those barriers, so it would release currents the measurement forbids.
struct MeasuredBinding {
  bool voltage = false;
  bool temperature = false;
};
MeasuredBinding measured_binding(const safety::CbfVerdict* v) noexcept {
  using safety::Barrier;
  MeasuredBinding m;
  // A fallback (a conflict or an error) has no interval to compare: the tubes alone.
  if (v == nullptr || v->status != Status::ok || v->decision != Decision::applied) return m;
  double lo = -std::numeric_limits<double>::infinity(), hi = std::numeric_limits<double>::infinity();
  for (int b = 0; b <= static_cast<int>(Barrier::current_discharge); ++b) {
    lo = std::max(lo, v->barrier_lo_a[static_cast<std::size_t>(b)]);
    hi = std::min(hi, v->barrier_hi_a[static_cast<std::size_t>(b)]);
  }
  const auto cuts = [&](Barrier b) {
    const auto i = static_cast<std::size_t>(b);
    return v->barrier_lo_a[i] > lo || v->barrier_hi_a[i] < hi;
  };
  m.voltage = cuts(Barrier::measured_voltage_max) || cuts(Barrier::measured_voltage_min);
  m.temperature = cuts(Barrier::measured_temp_max);
  return m;
}
}  // namespace

Status ReportScheduler::schedule(double t, std::size_t group, const battery::StateVector& x,
                                 const battery::StateMatrix& P, double command_a, const safety::TwinEstimate& twin,
                                 const safety::CbfVerdict* cbf) noexcept {
  if (config_.mode != ReportingMode::self_triggered) return Status::ok;
  safety::SafeHorizonResult r;
  const Status s = horizon_.compute(x, P, &command_a, 1, twin, r);
  // A failed computation or an explicit event: the next step (fail closed). Per node kind its own
  // tube; a measurement that binds the filter: the next step too.
  const bool ok = s == Status::ok;
  const MeasuredBinding bind = measured_binding(cbf);
  const double tau_v = ok && !r.event_voltage && !bind.voltage ? std::max(r.tau_voltage_s, dt_s_) : dt_s_;
  // The temperature node never later than the voltage nodes: its tube knows no heat the model lacks
  // (an internal short, a lost cooling), which only the thermal twin's regular readings reveal; on
  // its own tube alone, 2 of 300 CI-sized runs went over T_max that periodic kept inside.
  const double tau_k =
      std::min(ok && !r.event_temp && !bind.temperature ? std::max(r.tau_temp_s, dt_s_) : dt_s_, tau_v);
  if (!ok || r.event_voltage || r.event_temp) ++counts_.horizon_events;
  if (bind.voltage || bind.temperature) ++counts_.measured_binding;
  counts_.tau_sum_s += std::min(tau_v, tau_k);
  ++counts_.schedules;
  bool changed = false;
  for (int k = 0; k < kReportNodeKinds; ++k) {
    if (k == static_cast<int>(ReportNode::voltage_b) && !node_b_) continue;
    Node& n = nodes_[group][static_cast<std::size_t>(k)];
    const double next = t + (k == static_cast<int>(ReportNode::temperature) ? tau_k : tau_v);
    const double before = n.next_s;
    if (n.reported)
      n.next_s = next;
    else if (n.has_report)
      n.next_s = std::min(n.next_s, next);  // a missed report stays due
    if (n.next_s != before || n.reported) changed = true;
    n.reported = false;
  }
  if (changed) ++counts_.schedule_frames;
  return s;
}

bool ReportScheduler::due(double t, std::size_t group, ReportNode n) const noexcept {
  const double eps = 1e-9 * std::max(1.0, std::abs(t));  // decide()'s
  return config_.mode == ReportingMode::every_step || t + eps >= nodes_[group][static_cast<std::size_t>(n)].next_s;
}

void ReportScheduler::receive(double t, std::size_t group, ReportNode n, double value) noexcept {
  // decide()'s bookkeeping of a report, for a report the node itself decided to send.
  Node& node = nodes_[group][static_cast<std::size_t>(n)];
  const double eps = 1e-9 * std::max(1.0, std::abs(t));
  ++counts_.frames[static_cast<std::size_t>(n)];
  if (!due(t, group, n)) ++counts_.event_reports;
  node.last = value;
  node.has_report = true;
  update_threshold(node, n);
  if (config_.mode == ReportingMode::periodic)
    node.next_s = (std::floor((t + eps) / config_.period_s) + 1.0) * config_.period_s;
  else if (config_.mode == ReportingMode::self_triggered)
    node.next_s = t + std::max(config_.min_interval_s, dt_s_);  // until schedule()
  node.reported = true;
}

}  // namespace safetwin::cycle
