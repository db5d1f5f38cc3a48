#include "safetwin/cycle/control_cycle.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>

#include "safetwin/battery/cell_file.hpp"
#include "safetwin/diagnostics/score_replay.hpp"
#include "safetwin/estimation/battery_model.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::cycle {

using battery::StateIdx;

const char* signal_name(CycleSignal s) noexcept {
  switch (s) {
    case CycleSignal::voltage_a_v: return "voltage_a_v";
    case CycleSignal::voltage_b_v: return "voltage_b_v";
    case CycleSignal::temperature_k: return "temperature_k";
    case CycleSignal::current_a: return "current_a";
    case CycleSignal::soc: return "soc";
    case CycleSignal::soc_sigma: return "soc_sigma";
    case CycleSignal::temp_est_k: return "temp_est_k";
    case CycleSignal::voltage_est_v: return "voltage_est_v";
    case CycleSignal::nis: return "nis";
    case CycleSignal::controller_ok: return "controller_ok";
    case CycleSignal::request_a: return "request_a";
    case CycleSignal::command_a: return "command_a";
    case CycleSignal::plausibility_a_v: return "plausibility_a_v";
    case CycleSignal::plausibility_b_v: return "plausibility_b_v";
    case CycleSignal::anomaly_score: return "anomaly_score";
    case CycleSignal::heat_fault: return "heat_fault";
    case CycleSignal::plausibility_temperature_w: return "plausibility_temperature_w";
    case CycleSignal::count: break;
  }
  return "unknown";
}

namespace {
double plausibility_threshold_v(const CycleConfig& c) noexcept {
  const double sa = c.estimator.voltage_a_sigma_v, sb = c.estimator.voltage_b_sigma_v;
  return c.plausibility.sigma_factor * std::sqrt(sa * sa + sb * sb) + c.plausibility.offset_v;
}
int samples_of(double seconds, double period_s) noexcept {
  return std::max(1, static_cast<int>(std::ceil(seconds / period_s - 1e-9)));
}
}  // namespace

void PlausibilityConfig::validate() const {
  require_positive("PlausibilityConfig.sigma_factor", sigma_factor);
  require_non_negative("PlausibilityConfig.offset_v", offset_v);
  require_positive("PlausibilityConfig.debounce_s", debounce_s);
  require_positive("PlausibilityConfig.clear_s", clear_s);
  require_positive("PlausibilityConfig.baseline_s", baseline_s);
  if (severity == safety::Severity::none || severity > safety::Severity::stop)
    throw_invalid("PlausibilityConfig.severity", static_cast<double>(severity), "must be warning, derate or stop");
}

void AnomalyAlarmConfig::validate() const {
  score.validate();
  require_positive("AnomalyAlarmConfig.clear_s", clear_s);
  if (!(clear_fraction > 0.0 && clear_fraction <= 1.0))
    throw_invalid("AnomalyAlarmConfig.clear_fraction", clear_fraction, "must be in (0, 1]");
  if (severity == safety::Severity::none || severity > safety::Severity::stop)
    throw_invalid("AnomalyAlarmConfig.severity", static_cast<double>(severity), "must be warning, derate or stop");
}

safety::MonitorConfig cycle_monitor_config(const CycleConfig& c) {
  safety::MonitorConfig m = c.monitor;
  for (int s = static_cast<int>(CycleSignal::count) - 1; s >= 0; --s) {
    const std::string name = signal_name(static_cast<CycleSignal>(s));
    if (std::find(m.signals.begin(), m.signals.end(), name) == m.signals.end())
      m.signals.insert(m.signals.begin(), name);
  }
  if (c.plausibility.enabled) {
    const double thr = plausibility_threshold_v(c);
    for (const char* node : {"a", "b"}) {
      safety::InvariantSpec s;
      s.name = std::string("sensor.voltage_") + node + "_plausible";
      s.signal = std::string("plausibility_") + node + "_v";
      s.kind = safety::InvariantKind::range;
      s.hi = thr;
      s.clear_hi = 0.5 * thr;
      s.severity = c.plausibility.severity;
      s.set_count = samples_of(c.plausibility.debounce_s, m.sample_period_s);
      s.clear_count = samples_of(c.plausibility.clear_s, m.sample_period_s);
      m.invariants.push_back(s);
    }
  }
  if (c.estimate_cooling) {
    safety::InvariantSpec h;  // latched: the signal stays 1 until reset()
    h.name = "thermal.heat_fault";
    h.signal = signal_name(CycleSignal::heat_fault);
    h.kind = safety::InvariantKind::range;
    h.hi = 0.5;
    h.severity = safety::Severity::derate;
    m.invariants.push_back(h);
    safety::InvariantSpec t;
    t.name = "sensor.temperature_plausible";
    t.signal = signal_name(CycleSignal::plausibility_temperature_w);
    t.kind = safety::InvariantKind::range;
    t.hi = c.heat_fault_w;
    t.clear_hi = 0.5 * c.heat_fault_w;
    t.severity = c.plausibility.severity;
    t.set_count = samples_of(c.plausibility.debounce_s, m.sample_period_s);
    t.clear_count = samples_of(c.plausibility.clear_s, m.sample_period_s);
    m.invariants.push_back(t);
  }
  if (c.anomaly.enabled) {
    safety::InvariantSpec s;
    s.name = "diagnostics.anomaly_score";
    s.signal = signal_name(CycleSignal::anomaly_score);
    s.kind = safety::InvariantKind::range;
    s.hi = c.anomaly.score.threshold;
    s.clear_hi = c.anomaly.clear_fraction * c.anomaly.score.threshold;
    s.severity = c.anomaly.severity;
    s.clear_count = samples_of(c.anomaly.clear_s, m.sample_period_s);
    m.invariants.push_back(s);
  }
  return m;
}

void CycleConfig::validate() const {
  // The cycle's parts after the estimator (the CBF filter, the supervisor, the controllers' input)
  // work on REF-CELL-1's structure; a cell of another structure is refused here, naming its
  // structure, rather than deep inside a part. Such a cell runs through the estimator of its own
  // structure alone (estimation::replay, `safetwin estimate`).
  const std::pair<const char*, const battery::CellParams*> cells[] = {
      {"CycleConfig.estimator.cell", &estimator.cell},
      {"CycleConfig.cbf.cell", &cbf.cell},
      {"CycleConfig.supervisor.cell", &supervisor.cell}};
  for (const auto& [field, cell] : cells)
    if (cell->rc_pairs != battery::RefStructure::rc_pairs ||
        cell->hysteresis.has_value() != battery::RefStructure::hysteresis)
      throw_invalid(field, std::string("a cell of ") + battery::structure_name(*cell) +
                               ": the control cycle (its CBF filter, supervisor and controllers) takes 2 RC "
                               "pairs without hysteresis; other structures run through the estimator alone "
                               "(safetwin estimate)");
  estimator.validate();
  cbf.validate();
  supervisor.validate();
  plausibility.validate();
  anomaly.validate();
  require_positive("CycleConfig.model_error_window_s", model_error_window_s);
  require_non_negative("CycleConfig.heat_fault_w", heat_fault_w);
  if (!(model_error_quantile > 0.0 && model_error_quantile <= 1.0))
    throw_invalid("CycleConfig.model_error_quantile", model_error_quantile, "must be in (0, 1]");
  if (model_error_window_s / monitor.sample_period_s > 1e6)
    throw_invalid("CycleConfig.model_error_window_s", model_error_window_s, "needs more than 1e6 samples");
  if (!(current_share >= 1.0 && std::isfinite(current_share)))
    throw_invalid("CycleConfig.current_share", current_share, "must be finite and >= 1");
  if (plausibility.enabled) require_positive("CycleConfig.monitor.sample_period_s", monitor.sample_period_s);
  cycle_monitor_config(*this).validate();
}

ControlCycle::ControlCycle(CycleConfig config, control::Controller* controller)
    : config_((config.validate(), std::move(config))),
      estimator_(config_.estimator),
      filter_(config_.cbf),
      supervisor_(config_.supervisor),
      monitor_(cycle_monitor_config(config_)),
      controller_(controller),
      attribution_(config_.plausibility.baseline_s),
      voltage_error_(static_cast<std::size_t>(
                         std::max(1.0, std::round(config_.model_error_window_s / config_.monitor.sample_period_s))),
                     config_.model_error_quantile, 1e-4, 2.0),
      temp_error_(static_cast<std::size_t>(
                      std::max(1.0, std::round(config_.model_error_window_s / config_.monitor.sample_period_s))),
                  config_.model_error_quantile, 1e-3, 50.0),
      cooling_(estimation::CoolingEstimatorConfig::for_cell(config_.cbf.cell, config_.estimator.temp0_k)),
      anomaly_(config_.anomaly.score) {
  for (int s = 0; s < static_cast<int>(CycleSignal::count); ++s)
    builtin_[static_cast<std::size_t>(s)] = monitor_.signal_index(signal_name(static_cast<CycleSignal>(s)));
  temperature_plausible_ = monitor_.invariant_index("sensor.temperature_plausible");
}

Status ControlCycle::set_noise_scale(estimation::Channel channel, double s) noexcept {
  return estimator_.set_noise_scale(channel, s);
}

Status ControlCycle::set_signal(int signal, double value) noexcept { return monitor_.set(signal, value); }

void ControlCycle::reset(double time_s) noexcept {
  monitor_.reset_all(time_s);
  anomaly_.reset();
  supervisor_.reset(time_s);
  heat_fault_ = false;
  drift_a_ = drift_b_ = NodeDrift{};
  temperature_excluded_ = false;
}

safety::MeasuredBounds ControlCycle::measured_bounds(const CycleMeasurements& m) const noexcept {
  // The most conservative valid reading of each kind: the highest and the lowest of the redundant
  // voltages, the (hottest) temperature. A node that reads wrong in the safe direction is outvoted
  // by its peer; one that reads wrong in the unsafe direction derates (the plausibility check
  // names it). With each voltage bound go the noise of the reading behind it and its observed
  // change per step (CbfFilter: observed drift): while the nodes agree within the plausibility
  // threshold, the truth is within the quieter node's noise of the bound and the change is the
  // nodes' inverse-variance mean; when they disagree (or one node alone reports), the bound is one
  // node's reading, with that node's noise and change.
  safety::MeasuredBounds b;
  b.current_a = std::isfinite(m.current_a) ? m.current_a : 0.0;
  const bool a = m.voltage_a_valid && m.voltage_a_fresh && std::isfinite(m.voltage_a_v),
             bv = m.voltage_b_valid && m.voltage_b_fresh && std::isfinite(m.voltage_b_v);
  const double sa = config_.estimator.voltage_a_sigma_v, sb = config_.estimator.voltage_b_sigma_v;
  const NodeDrift &da = drift_a_, &db = drift_b_;
  if (a && bv && std::abs(m.voltage_a_v - m.voltage_b_v) <= plausibility_threshold_v(config_)) {
    b.voltage_max_v = std::max(m.voltage_a_v, m.voltage_b_v);
    b.voltage_min_v = std::min(m.voltage_a_v, m.voltage_b_v);
    b.voltage_max_sigma_v = b.voltage_min_sigma_v = std::min(sa, sb);
    const bool ha = !std::isnan(da.change_v), hb = !std::isnan(db.change_v);
    const double wa = sb * sb, wb = sa * sa;  // inverse-variance weights, times sa^2 sb^2
    const double w = !ha ? 0.0 : !hb ? 1.0 : wa + wb > 0.0 ? wa / (wa + wb) : 0.5;  // node a's share
    if (ha || hb) {
      b.voltage_max_change_v = b.voltage_min_change_v =
          (ha ? w * da.change_v : 0.0) + (hb ? (1.0 - w) * db.change_v : 0.0);
      b.current_change_a = (ha ? w * da.current_change_a : 0.0) + (hb ? (1.0 - w) * db.current_change_a : 0.0);
    }
  } else if (a || bv) {
    const bool a_high = a && (!bv || m.voltage_a_v >= m.voltage_b_v);
    const bool a_low = a && (!bv || m.voltage_a_v <= m.voltage_b_v);
    b.voltage_max_v = a_high ? m.voltage_a_v : m.voltage_b_v;
    b.voltage_max_sigma_v = a_high ? sa : sb;
    b.voltage_min_v = a_low ? m.voltage_a_v : m.voltage_b_v;
    b.voltage_min_sigma_v = a_low ? sa : sb;
    if (a_high == a_low) {  // one node behind both bounds: its change (the filter takes one current change)
      const NodeDrift& d = a_high ? da : db;
      b.voltage_max_change_v = b.voltage_min_change_v = d.change_v;
      b.current_change_a = d.current_change_a;
    } else {  // two nodes that disagree: each bound's own node, if both saw the same current change
      const NodeDrift &dh = a_high ? da : db, &dl = a_low ? da : db;
      if (dh.current_change_a == dl.current_change_a) {
        b.voltage_max_change_v = dh.change_v;
        b.voltage_min_change_v = dl.change_v;
        b.current_change_a = dh.current_change_a;
      }
    }
  }
  if (m.temperature_valid && m.temperature_fresh && !temperature_excluded_ && std::isfinite(m.temperature_k))
    b.temperature_max_k = m.temperature_k;
  return b;
}

void ControlCycle::observe_readings(const CycleMeasurements& m, bool used) noexcept {
  // The change per step of each node's reading and of the current under it, smoothed over a few
  // steps: a node's white noise sigma makes a one-step change of sigma sqrt(2) (2.8 mV for the 2 mV
  // cell monitor), which the filter's one-sided use (it only tightens) would turn into a derate of
  // a few tenths of an ampere at every step near a limit; the drift the filter needs (the OCV slope
  // under a held current, the RC build-up) changes over tens of steps. Gain 0.3: the noise of the
  // change falls to 0.42 of it, the smoothed change follows a new drift within 3 steps. Only
  // fresh, valid readings of consecutive steps the cycle ran on count; anything else starts over.
  constexpr double kGain = 0.3;
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double current = used && std::isfinite(m.current_a) ? m.current_a : nan;
  const auto observe = [&](NodeDrift& d, bool fresh, double v) {
    fresh = fresh && used && std::isfinite(v) && !std::isnan(current);
    if (fresh && !std::isnan(d.previous_v) && !std::isnan(d.previous_current_a)) {
      const double dv = v - d.previous_v, di = current - d.previous_current_a;
      const bool start = std::isnan(d.change_v);
      d.change_v = start ? dv : d.change_v + kGain * (dv - d.change_v);
      d.current_change_a = start ? di : d.current_change_a + kGain * (di - d.current_change_a);
    } else {
      d.change_v = d.current_change_a = nan;
    }
    d.previous_v = fresh ? v : nan;
    d.previous_current_a = fresh ? current : nan;
  };
  observe(drift_a_, m.voltage_a_valid && m.voltage_a_fresh, m.voltage_a_v);
  observe(drift_b_, m.voltage_b_valid && m.voltage_b_fresh, m.voltage_b_v);
}

double ControlCycle::current_scale() const noexcept {
  // The heat fault's derate (CycleConfig::heat_fault_w); its own event ("thermal.heat_fault") also
  // puts the supervisor in DERATED, which must not derate twice (the lower of the two holds).
  const double heat = heat_fault_ ? config_.supervisor.derate_factor : 1.0;
  return std::min(supervisor_.current_scale(), heat) / config_.current_share;
}

void ControlCycle::update_twin() noexcept {
  using estimation::Channel;
  namespace cf = estimation::channel_flag;
  if (config_.adaptive_twin && estimator_.estimates_params()) {
    twin_.r0_factor = estimator_.r0_factor();
    twin_.r0_factor_sigma = estimator_.r0_factor_sigma();
    twin_.capacity_factor = estimator_.capacity_factor();
    twin_.capacity_factor_sigma = estimator_.capacity_factor_sigma();
  }
  if (config_.estimate_cooling) {
    twin_.extra_heat_w = cooling_.extra_heat_w();
    twin_.extra_heat_sigma_w = cooling_.unexplained_heat_sigma_w();  // of the total (TwinEstimate)
    twin_.cooling_factor = cooling_.cooling_factor();
    twin_.cooling_factor_sigma = cooling_.cooling_factor_sigma();
  }
  if (config_.learn_model_error) {
    const auto error = [this](Channel c) {
      const bool has = (estimator_.flags(c) & (cf::used | cf::gated)) != 0 && std::isfinite(estimator_.innovation(c));
      return has ? std::abs(estimator_.innovation(c)) : std::numeric_limits<double>::infinity();
    };
    // A quantile means something once the window holds 1 / (1 - q) samples (before that it is the
    // maximum, the initial estimate's error included): until then the configured floor alone.
    const double q = config_.model_error_quantile;
    const std::size_t enough = q >= 1.0 ? 1 : static_cast<std::size_t>(std::ceil(1.0 / (1.0 - q) - 1e-9));
    const double ev = std::min(error(Channel::voltage_a), error(Channel::voltage_b));
    if (std::isfinite(ev)) {
      voltage_error_.push(ev);
      twin_.model_error_v = voltage_error_.count() >= enough ? voltage_error_.quantile() : 0.0;
    }
    const double et = error(Channel::temperature);
    if (std::isfinite(et)) {
      temp_error_.push(et);
      twin_.model_error_k = temp_error_.count() >= enough ? temp_error_.quantile() : 0.0;
    }
  }
  if (config_.estimate_cooling && !heat_fault_) {  // the heat fault (CycleConfig::heat_fault_w), latched
    const battery::CellParams& p = config_.cbf.cell;
    const double rise = estimator_.state()[StateIdx::temp] - p.ambient_temp_k;
    const double q_u = std::max(twin_.extra_heat_w, 0.0) +
                       (1.0 - std::min(twin_.cooling_factor, 1.0)) * p.heat_transfer_w_per_k * rise;
    // Lost cooling explains at most all of the nominal cooling, hA (T - T_amb); only heat beyond
    // that is an internal source (a short). Why: the split between q_x and c is weakly identified,
    // and a cooling loss laid at q_x latched the fault in `safetwin demo` (charge SOC 0.678, not 0.799).
    const double internal_w = q_u - p.heat_transfer_w_per_k * std::max(rise, 0.0);
    heat_fault_ = internal_w > config_.heat_fault_w && q_u > config_.cbf.heat_detect_sigma * twin_.extra_heat_sigma_w;
  }
  // The supervisor's predictive check predicts with the same twin (refusal keeps its last one).
  (void)supervisor_.set_twin(twin_, config_.cbf.confidence_sigma);
}

Status ControlCycle::step(const CycleMeasurements& m, double dt_s, CycleStatus& out) noexcept {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  out.requested_a = nan;
  out.estimator_status = out.controller_status = out.supervisor_status = Status::not_initialised;
  out.controller_decision = Decision::applied;
  out.cbf = safety::CbfVerdict{};
  out.x = estimator_.state();  // replaced by the prediction to now when the estimator runs
  out.P = estimator_.covariance();
  Status first = Status::ok;
  const auto note = [&first](Status s) {
    if (first == Status::ok && s != Status::ok) first = s;
  };
  const auto sig = [this](CycleSignal s, double v) { (void)monitor_.set(builtin_[static_cast<std::size_t>(s)], v); };

  // 1. Non-finite input: SAFE_STOP within this cycle, fail closed.
  const bool finite = std::isfinite(m.time_s) && std::isfinite(dt_s) && std::isfinite(m.current_a) &&
                      (!m.voltage_a_valid || std::isfinite(m.voltage_a_v)) &&
                      (!m.voltage_b_valid || std::isfinite(m.voltage_b_v)) &&
                      (!m.temperature_valid || std::isfinite(m.temperature_k));
  if (!finite) {
    supervisor_.force_stop(m.time_s, safety::TransitionCause::non_finite_input);
    note(Status::non_finite_input);
  } else if (!(dt_s > 0.0)) {
    supervisor_.force_stop(m.time_s, safety::TransitionCause::invalid_step);
    note(Status::invalid_argument);
  }

  // 2. Estimator, then the prediction over the interval just measured to now.
  if (first == Status::ok) {
    estimation::Measurement z;
    z.voltage_a_v = m.voltage_a_v;
    z.voltage_b_v = m.voltage_b_v;
    z.temperature_k = m.temperature_k;
    z.voltage_a_valid = m.voltage_a_valid && m.voltage_a_fresh;  // a held report: predict only
    z.voltage_b_valid = m.voltage_b_valid && m.voltage_b_fresh;
    // A temperature sensor its plausibility check has named (the event set by the last step's
    // monitor) is neither fused nor read by the measured barrier: a reading stuck low pulled the
    // twin's temperature with it, and the model barrier then released current on a cell 15 K
    // hotter than the twin believed (off_nominal 10 000: 2 cells over T_max at 35-38 degC ambient,
    // DERATED from the event 10 s after the onset). The twin's temperature runs on the model, its
    // variance growing with temp_rw_k_per_sqrt_s, so the margin widens until the cell is held at
    // 0 A. The exclusion latches until reset(): a stuck sensor does not heal, and its check can
    // clear while it is still stuck (once the cell rests the heat balance no longer shows the
    // deficit: test_cycle), which re-fused the frozen reading. The thermal twin still reads the
    // sensor, so the check goes on judging it; what a low reading does to the thermal twin cannot
    // release current (the filter takes its extra heat >= 0 and its cooling <= 1).
    temperature_excluded_ =
        temperature_excluded_ || (temperature_plausible_ >= 0 && monitor_.active(temperature_plausible_));
    const bool temperature_read = m.temperature_valid && m.temperature_fresh;
    z.temperature_valid = temperature_read && !temperature_excluded_;
    const battery::StateVector x_before = estimator_.state();
    out.estimator_status = estimator_.step(m.current_a, z, dt_s);
    if (config_.estimate_cooling) {
      // The cell model's own heat over the interval (no cooling, no extra heat: those are what the
      // thermal twin estimates), with the twin's R0 and capacity at the interval's start.
      const auto k = battery::step_coefficients<battery::RefStructure>(
          config_.cbf.cell, x_before.data(), dt_s, m.current_a,
          safety::model_factors(safety::conservative_scaling(config_.cbf.scaling, twin_, 0.0)),
          battery::ThermalInputs{0.0, 0.0});
      const double heat_w = k.r0_ohm * m.current_a * m.current_a + k.heat_const_w - k.reversible_w_per_a * m.current_a;
      (void)cooling_.step(heat_w, m.temperature_k, temperature_read, dt_s);
    }
    note(out.estimator_status);
    const battery::StateVector xs = estimator_.state();
    const battery::StateMatrix Ps = estimator_.covariance();
    battery::StateVector xn, g;
    battery::StateMatrix F;
    const estimation::BatteryEkfConfig& ec = config_.estimator;
    estimation::battery_transition<StateIdx::size>(ec.cell, xs, m.current_a, dt_s, xn, F, g);
    out.x = xn;
    out.P = F * Ps * F.transpose() + (ec.current_sigma_a * ec.current_sigma_a) * (g * g.transpose());
    out.P(StateIdx::soc, StateIdx::soc) += ec.soc_rw_per_sqrt_s * ec.soc_rw_per_sqrt_s * dt_s;
    out.P(StateIdx::v_rc1, StateIdx::v_rc1) += ec.v_rc_rw_v_per_sqrt_s * ec.v_rc_rw_v_per_sqrt_s * dt_s;
    out.P(StateIdx::v_rc2, StateIdx::v_rc2) += ec.v_rc_rw_v_per_sqrt_s * ec.v_rc_rw_v_per_sqrt_s * dt_s;
    out.P(StateIdx::temp, StateIdx::temp) += ec.temp_rw_k_per_sqrt_s * ec.temp_rw_k_per_sqrt_s * dt_s;
    update_twin();
  }
  out.twin = twin_;
  out.heat_fault = heat_fault_;

  // 3. Monitor and mode.
  sig(CycleSignal::voltage_a_v, m.voltage_a_valid ? m.voltage_a_v : nan);
  sig(CycleSignal::voltage_b_v, m.voltage_b_valid ? m.voltage_b_v : nan);
  sig(CycleSignal::temperature_k, m.temperature_valid ? m.temperature_k : nan);
  sig(CycleSignal::current_a, m.current_a);
  sig(CycleSignal::soc, out.x[StateIdx::soc]);
  sig(CycleSignal::soc_sigma, std::sqrt(std::max(out.P(StateIdx::soc, StateIdx::soc), 0.0)));
  sig(CycleSignal::temp_est_k, out.x[StateIdx::temp]);
  sig(CycleSignal::voltage_est_v,
      config_.estimator.cell.ocv.voltage_v(out.x[StateIdx::soc]) - out.x[StateIdx::v_rc1] - out.x[StateIdx::v_rc2]);
  sig(CycleSignal::nis, first == Status::ok ? estimator_.nis() : nan);
  sig(CycleSignal::controller_ok, last_controller_ok_ ? 1.0 : 0.0);
  sig(CycleSignal::request_a, last_request_a_);
  sig(CycleSignal::command_a, last_command_a_);
  {  // Redundant-sensor plausibility (header): the disagreement, laid at the node that departed.
    double pa = 0.0, pb = 0.0;
    const bool both = m.voltage_a_valid && m.voltage_b_valid && m.voltage_a_fresh && m.voltage_b_fresh &&
                      std::isfinite(m.voltage_a_v) && std::isfinite(m.voltage_b_v);
    if (both && config_.plausibility.enabled) {
      const double d = std::abs(m.voltage_a_v - m.voltage_b_v);
      const bool fused = first == Status::ok;  // without an update the twin cannot vote: both suspect
      const trust::Suspect who =
          attribution_.update(fused ? estimator_.innovation(estimation::Channel::voltage_a) : nan,
                              fused ? estimator_.innovation(estimation::Channel::voltage_b) : nan,
                              d <= 0.5 * plausibility_threshold_v(config_), dt_s);
      if (who != trust::Suspect::b) pa = d;
      if (who != trust::Suspect::a) pb = d;
    }
    sig(CycleSignal::plausibility_a_v, pa);
    sig(CycleSignal::plausibility_b_v, pb);
  }
  {  // Anomaly alarm (header): the score of this step's innovations; 0 until the window is full.
    double score = 0.0;
    if (config_.anomaly.enabled && first == Status::ok) {
      diagnostics::AnomalyResult r;
      if (anomaly_.step(diagnostics::innovations_of(estimator_, dt_s), r) == Status::ok && r.window_full)
        score = r.score;
    }
    sig(CycleSignal::anomaly_score, score);
  }
  sig(CycleSignal::heat_fault, heat_fault_ ? 1.0 : 0.0);
  {  // Temperature plausibility against the heat balance (header): a heat sink the cell lacks.
    double deficit = 0.0;
    if (config_.estimate_cooling && first == Status::ok) {
      const double q = cooling_.unexplained_heat_w();
      if (-q > config_.cbf.heat_detect_sigma * cooling_.unexplained_heat_sigma_w()) deficit = -q;
    }
    sig(CycleSignal::plausibility_temperature_w, deficit);
  }
  const Status mon = monitor_.check(m.time_s);
  if (mon != Status::ok) {
    // A monitor that cannot check (time not increasing) is a failed check: fail closed.
    supervisor_.force_stop(m.time_s, safety::TransitionCause::monitor_failed);
    note(mon);
  } else {
    supervisor_.on_monitor(m.time_s, monitor_.verdict());
  }
  out.monitor = monitor_.verdict();

  // 4. Controller and deadline.
  double request = 0.0;
  Decision deadline = Decision::applied;
  if (first == Status::ok && supervisor_.mode() != safety::Mode::safe_stop) {
    control::ControllerInput in;
    in.time_s = m.time_s;
    in.dt_s = dt_s;
    in.x = out.x;
    in.P = out.P;
    in.last_current_a = last_command_a_;
    const double scale = current_scale();
    in.current_min_a = -config_.cbf.cell.limits.charge_current_max_a * scale;
    in.current_max_a = config_.cbf.cell.limits.discharge_current_max_a * scale;
    control::ControllerOutput co;
    out.controller_status = controller_ != nullptr ? controller_->compute(in, co) : Status::not_initialised;
    out.controller_decision = co.decision;
    const bool ok =
        out.controller_status == Status::ok && co.decision == Decision::applied && std::isfinite(co.current_a);
    out.requested_a = ok ? co.current_a : nan;
    last_controller_ok_ = ok;
    last_request_a_ = ok ? co.current_a : 0.0;
    note(out.controller_status);
    const Status arb = supervisor_.arbitrate(m.time_s, ok, co.current_a, &request, &deadline);
    note(arb);
  }

  // 5. Filter (model- and measurement-based barriers), predictive check, release.
  observe_readings(m, first == Status::ok);
  if (first == Status::ok || supervisor_.mode() != safety::Mode::safe_stop) {
    (void)filter_.filter(out.x, out.P, request, dt_s, current_scale(), measured_bounds(m), twin_, out.cbf);
  } else {
    out.cbf.decision = Decision::fallback;  // not run: the safe action
  }
  out.supervisor_status = supervisor_.release(out.x, out.cbf, dt_s, out.supervisor);
  if (deadline == Decision::deadline_missed) out.supervisor.decision = deadline;
  out.command_a = out.supervisor.current_a;
  out.contactor_closed = out.supervisor.contactor_closed;
  out.mode = supervisor_.mode();
  last_command_a_ = out.command_a;
  if (out.mode != safety::Mode::safe_stop) note(out.supervisor_status);
  out.status = first;
  return out.status;
}

}  // namespace safetwin::cycle
