#include "safetwin/safety/supervisor.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::safety {

using battery::StateIdx;

const char* to_string(Mode m) noexcept {
  switch (m) {
    case Mode::normal: return "NORMAL";
    case Mode::derated: return "DERATED";
    case Mode::safe_stop: return "SAFE_STOP";
  }
  return "unknown";
}

const char* to_string(TransitionCause c) noexcept {
  switch (c) {
    case TransitionCause::monitor: return "monitor";
    case TransitionCause::non_finite_input: return "non_finite_input";
    case TransitionCause::deadline: return "deadline";
    case TransitionCause::reset: return "reset";
    case TransitionCause::invalid_step: return "invalid_step";
    case TransitionCause::monitor_failed: return "monitor_failed";
  }
  return "unknown";
}

void SupervisorConfig::validate() const {
  cell.validate();
  scaling.validate("SupervisorConfig.scaling");
  require_in_range("SupervisorConfig.derate_factor", derate_factor, 0.0, 1.0);
  require_non_negative("SupervisorConfig.hold_max_s", hold_max_s);
  if (horizon_steps < 1 || horizon_steps > 10000)
    throw_invalid("SupervisorConfig.horizon_steps", horizon_steps, "must be in [1, 10000]");
  if (log_capacity == 0) throw_invalid("SupervisorConfig.log_capacity", 0.0, "must be >= 1");
}

Supervisor::Supervisor(SupervisorConfig config)
    : config_((config.validate(), std::move(config))), scaling_(config_.scaling), log_(config_.log_capacity) {}

Status Supervisor::set_twin(const TwinEstimate& twin, double kappa) noexcept {
  if (!std::isfinite(twin.r0_factor) || !std::isfinite(twin.r0_factor_sigma) || !std::isfinite(twin.capacity_factor) ||
      !std::isfinite(twin.capacity_factor_sigma) || !std::isfinite(kappa) || !std::isfinite(twin.extra_heat_w) ||
      !std::isfinite(twin.cooling_factor))
    return Status::non_finite_input;
  if (!(twin.r0_factor > 0.0) || !(twin.capacity_factor > 0.0) || twin.r0_factor_sigma < 0.0 ||
      twin.capacity_factor_sigma < 0.0 || kappa < 0.0 || !(twin.cooling_factor > 0.0))
    return Status::invalid_argument;
  scaling_ = conservative_scaling(config_.scaling, twin, kappa);
  thermal_.extra_heat_w = std::max(twin.extra_heat_w, 0.0);
  thermal_.cooling_factor = std::min(twin.cooling_factor, 1.0);
  return Status::ok;
}

double Supervisor::current_scale() const noexcept {
  switch (mode_) {
    case Mode::normal: return 1.0;
    case Mode::derated: return config_.derate_factor;
    case Mode::safe_stop: return 0.0;
  }
  return 0.0;
}

void Supervisor::go(double time_s, Mode to, TransitionCause cause, int invariant) noexcept {
  if (to == mode_) return;
  log_.push(Transition{time_s, invariant, static_cast<std::uint8_t>(mode_), static_cast<std::uint8_t>(to),
                       static_cast<std::uint8_t>(cause)});
  mode_ = to;
}

void Supervisor::on_monitor(double time_s, const MonitorVerdict& v) noexcept {
  if (mode_ == Mode::safe_stop) return;  // left only by reset()
  if (v.max_active == Severity::stop)
    go(time_s, Mode::safe_stop, TransitionCause::monitor, v.first_set);
  else if (v.max_active == Severity::derate)
    go(time_s, Mode::derated, TransitionCause::monitor, v.first_set);
  else if (mode_ == Mode::derated)
    go(time_s, Mode::normal, TransitionCause::monitor, -1);
}

void Supervisor::force_stop(double time_s, TransitionCause cause) noexcept {
  go(time_s, Mode::safe_stop, cause, -1);
  last_command_a_ = 0.0;
}

void Supervisor::reset(double time_s) noexcept {
  go(time_s, Mode::normal, TransitionCause::reset, -1);
  last_good_s_ = time_s;
  has_good_ = true;
  holding_ = false;
  missing_for_s_ = 0.0;
}

Status Supervisor::arbitrate(double time_s, bool output_ok, double requested_a, double* request_a,
                             Decision* decision) noexcept {
  if (request_a == nullptr) return Status::invalid_argument;
  if (decision != nullptr) *decision = Decision::applied;
  if (!std::isfinite(time_s)) {  // no clock, no deadline: refuse, hold nothing, change nothing
    *request_a = 0.0;
    return Status::non_finite_input;
  }
  if (output_ok && std::isfinite(requested_a)) {
    last_good_s_ = time_s;
    has_good_ = true;
    holding_ = false;
    missing_for_s_ = 0.0;
    *request_a = requested_a;
    return Status::ok;
  }
  if (!has_good_) {  // never had an output: the hold starts now
    last_good_s_ = time_s;
    has_good_ = true;
  }
  missing_for_s_ = time_s - last_good_s_;
  if (missing_for_s_ > config_.hold_max_s) {
    force_stop(time_s, TransitionCause::deadline);
    holding_ = false;
    *request_a = 0.0;
    if (decision != nullptr) *decision = Decision::deadline_missed;
    return Status::ok;  // the call worked: SAFE_STOP is its decision
  }
  holding_ = true;
  *request_a = last_command_a_;
  return Status::ok;
}

bool Supervisor::predict_safe(const battery::StateVector& x, double current_a, double dt_s, double voltage_margin_v,
                              double temp_margin_k) const noexcept {
  // A prediction from a non-finite state, step or margin proves nothing: not safe.
  if (!x.allFinite() || !std::isfinite(current_a) || !std::isfinite(dt_s) || !(dt_s > 0.0) ||
      !std::isfinite(voltage_margin_v) || !std::isfinite(temp_margin_k))
    return false;
  using S = battery::RefStructure;
  const battery::CellParams& p = config_.cell;
  const double vmax = p.limits.voltage_max_v - voltage_margin_v, vmin = p.limits.voltage_min_v + voltage_margin_v;
  const double tmax = p.limits.temp_max_k - temp_margin_k;
  const battery::ModelFactors<double> f = model_factors(scaling_);
  // Two predictions side by side through the one cell model's step (battery::step_with):
  // [0] the command for one step then zero, [1] zero throughout.
  battery::StateVector tr[2], next;
  // Resistances and time constants at x over the whole horizon (on the command's side), as the
  // CBF filter evaluates them: over a few steps SOC and temperature move too little to change
  // them, and re-evaluating them (Arrhenius and RC exponentials) every step made this check most
  // of the cycle's cost.
  const auto co =
      battery::rc_coefficients<S::rc_pairs>(p, x[StateIdx::soc], x[StateIdx::temp], current_a < 0.0, f, current_a);
  const auto decay = battery::rc_decay(co, dt_s);
  // How far a point lies outside each bound (0 inside); NaN counts as infinitely far.
  const auto excess = [&](const battery::StateVector& t, double v, double out[4]) {
    out[0] = std::isnan(v) ? INFINITY : std::max(v - vmax, 0.0);
    out[1] = std::isnan(v) ? INFINITY : std::max(vmin - v, 0.0);
    out[2] = std::isnan(t[StateIdx::temp]) ? INFINITY : std::max(t[StateIdx::temp] - tmax, 0.0);
    out[3] = std::isnan(t[StateIdx::soc]) ? INFINITY : std::max({t[StateIdx::soc] - 1.0, -t[StateIdx::soc], 0.0});
  };
  constexpr double kTol = 1e-12;  // the two tracks coincide after the first step up to rounding
  // tracks = 1: the command's prediction alone; inside the limits throughout, it passes. Otherwise
  // tracks = 2 compares it with resting step by step (the common case costs one prediction).
  for (int tracks = 1; tracks <= 2; ++tracks) {
    tr[0] = tr[1] = x;
    bool inside = true;
    for (int k = 0; k <= config_.horizon_steps; ++k) {
      double e[2][4] = {};
      for (int j = 0; j < tracks; ++j) {
        battery::StateVector& t = tr[j];
        const double I = (j == 0 && k == 0) ? current_a : 0.0;
        excess(t, battery::emf_v<S>(p, t.data(), I) - co.r0_ohm * I, e[j]);
        if (k == config_.horizon_steps) continue;
        battery::step_with<S>(p, co, decay, t.data(), I, dt_s, f, thermal_, next.data());
        t = next;
      }
      for (int b = 0; b < 4; ++b) {
        if (tracks == 1 && !(e[0][b] <= 0.0)) inside = false;
        if (tracks == 2 && !(e[0][b] <= e[1][b] + kTol)) return false;
      }
      if (!inside) break;
    }
    if (inside) return true;
  }
  return true;
}

Status Supervisor::release(const battery::StateVector& x, const CbfVerdict& cbf, double dt_s,
                           SupervisorVerdict& out) noexcept {
  out.mode = mode_;
  out.holding = holding_;
  out.missing_for_s = missing_for_s_;
  out.predictive_refused = false;
  out.decision = Decision::applied;  // in SAFE_STOP too: its command, 0, is the supervisor's own
  Status st = Status::ok;
  double command = 0.0;
  if (mode_ == Mode::safe_stop) {
    command = 0.0;
  } else if (!x.allFinite() || !std::isfinite(dt_s)) {
    command = 0.0;  // the component refuses on its own, whoever calls it (not only ControlCycle)
    out.decision = Decision::fallback;
    st = Status::non_finite_input;
  } else if (!(dt_s > 0.0)) {
    command = 0.0;
    out.decision = Decision::fallback;
    st = Status::invalid_argument;
  } else if (cbf.status != Status::ok || cbf.decision != Decision::applied || !std::isfinite(cbf.current_a)) {
    command = 0.0;  // the filter's defined safe action
    out.decision = Decision::fallback;
    st = cbf.status == Status::ok && !std::isfinite(cbf.current_a) ? Status::numerical_error : cbf.status;
  } else if (config_.predictive_check && cbf.current_a != 0.0 &&
             !predict_safe(x, cbf.current_a, dt_s, cbf.voltage_margin_v, cbf.temp_margin_k)) {
    command = 0.0;
    out.predictive_refused = true;
    out.decision = Decision::rejected;
  } else {
    command = cbf.current_a;
  }
  out.current_a = command;
  out.contactor_closed = mode_ != Mode::safe_stop;
  last_command_a_ = command;
  return st;
}

}  // namespace safetwin::safety
