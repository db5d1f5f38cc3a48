#include "control_step.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::firmware {

namespace {

control::CcCvConfig charger_config(const ControlStepConfig& c) {
  return control::CcCvConfig{c.charge_current_a, c.cv_voltage_v, c.cutoff_current_a,
                             c.resistance_ohm / static_cast<double>(c.parallel)};
}

control::BatteryMpcConfig mpc_config(const ControlStepConfig& c) {
  control::BatteryMpcConfig m;
  m.horizon = c.horizon;
  m.max_horizon = std::max(c.horizon, 1);
  m.dt_s = c.controller_period_s;
  m.soc_target = c.soc_target;
  m.current_min_a = -c.limits.charge_current_max_a;  // per cell
  m.current_max_a = 0.0;                             // a charging MPC
  m.cell.limits = c.limits;
  return m;
}

estimation::BatteryEkfConfig ekf_config(const ControlStepConfig& c) {
  estimation::BatteryEkfConfig e;
  e.cell.limits = c.limits;
  return e;
}

}  // namespace

void ControlStepConfig::validate() const {
  if (series < 1 || series > static_cast<int>(kMaxCells))
    throw_invalid("ControlStepConfig.series", series, "must be in [1, 96]");
  if (parallel < 1) throw_invalid("ControlStepConfig.parallel", parallel, "must be >= 1");
  require_positive("ControlStepConfig.limits.charge_current_max_a", limits.charge_current_max_a);
  require_positive("ControlStepConfig.limits.discharge_current_max_a", limits.discharge_current_max_a);
  if (!(limits.voltage_min_v < limits.voltage_max_v))
    throw_invalid("ControlStepConfig.limits.voltage_min_v", limits.voltage_min_v, "must be < voltage_max_v");
  require_positive("ControlStepConfig.derate_span_k", derate_span_k);
  require_positive("ControlStepConfig.controller_period_s", controller_period_s);
  require_in_range("ControlStepConfig.soc_target", soc_target, 0.0, 1.0);
  if (horizon < 1 || horizon > 240) throw_invalid("ControlStepConfig.horizon", horizon, "must be in [1, 240]");
  if (cv_voltage_v > limits.voltage_max_v)
    throw_invalid("ControlStepConfig.cv_voltage_v", cv_voltage_v,
                  "must be <= limits.voltage_max_v = " + std::to_string(limits.voltage_max_v));
  charger_config(*this).validate();
  mpc_config(*this).validate();
}

ControlStep::ControlStep(const ControlStepConfig& config)
    : config_((config.validate(), config)),
      charger_(charger_config(config)),
      mpc_(std::make_unique<control::BatteryMpc>(mpc_config(config))),
      estimator_(std::make_unique<estimation::PackEstimator>(ekf_config(config),
                                                             static_cast<std::size_t>(config.series))),
      ocv_(battery::OcvTable::lgm50_chen2020()),
      v_(static_cast<std::size_t>(config.series)),
      t_(static_cast<std::size_t>(config.series)),
      soc_(static_cast<std::size_t>(config.series)),
      sigma_(static_cast<std::size_t>(config.series)) {}

void ControlStep::reset() noexcept {
  charger_.reset();
  mpc_->reset();
  charging_ = false;
  since_control_s_ = 0.0;
}

void ControlStep::estimate(const Measurements& m, double dt_s) noexcept {
  const std::size_t n = v_.size();
  const double np = static_cast<double>(config_.parallel);
  est_dt_s_ += dt_s;
  bool complete = std::isfinite(m.pack_current_a);
  for (std::size_t j = 0; j < n; ++j) {
    v_[j] = m.cell_voltage_v[j];
    t_[j] = m.cell_temp_k[j];
    complete = complete && std::isfinite(v_[j]) && std::isfinite(t_[j]);
  }
  if (!estimator_ready_) {
    // Start from the OCV of each group's first complete reading (the pack rests at power-up,
    // or nearly: the ohmic error of a small current is inside the filter's initial sigma).
    if (!complete) return;
    for (std::size_t j = 0; j < n; ++j) {
      const double soc0 = std::clamp(ocv_.soc_at_voltage(v_[j]), 0.0, 1.0);
      estimator_->group(j).reset(soc0);
    }
    estimator_ready_ = true;
    est_dt_s_ = dt_s;
  }
  if (!std::isfinite(m.pack_current_a)) {
    report_.estimator = Status::non_finite_input;  // no current: no prediction; the time accumulates
    return;
  }
  const double i_group = m.pack_current_a / np;
  report_.estimator = estimator_->step(&i_group, 1, v_.data(), nullptr, t_.data(), n, est_dt_s_);
  if (report_.estimator == Status::ok || report_.estimator == Status::numerical_error) est_dt_s_ = 0.0;
  estimator_->read(soc_.data(), sigma_.data(), nullptr, nullptr, nullptr, nullptr);
  double sum = 0.0;
  int lim = 0;
  for (std::size_t j = 0; j < n; ++j) {
    sum += soc_[j];
    if (soc_[j] > soc_[static_cast<std::size_t>(lim)]) lim = static_cast<int>(j);
  }
  report_.soc_mean = sum / static_cast<double>(n);
  report_.limiting_group = lim;
  report_.soc_limiting = soc_[static_cast<std::size_t>(lim)];
}

double ControlStep::charge_request(const Measurements& m, double v_max, double dt_s) noexcept {
  const double np = static_cast<double>(config_.parallel);
  if (config_.controller == ControllerKind::cccv) {
    report_.controller = Status::ok;
    return charger_.current_a(v_max);
  }
  since_control_s_ += dt_s;
  if (charging_ && since_control_s_ + 1e-9 < config_.controller_period_s) return held_request_a_;
  since_control_s_ = 0.0;
  if (!estimator_ready_ || report_.limiting_group < 0) {
    report_.controller = Status::not_initialised;
    return held_request_a_ = 0.0;
  }
  const auto& ekf = estimator_->group(static_cast<std::size_t>(report_.limiting_group));
  control::ControllerInput in;
  in.dt_s = config_.controller_period_s;
  in.x = ekf.state();
  in.P = ekf.covariance();
  in.last_current_a = std::isfinite(m.pack_current_a) ? m.pack_current_a / np : 0.0;
  in.current_min_a = -config_.limits.charge_current_max_a;
  in.current_max_a = 0.0;
  control::ControllerOutput out;
  report_.controller = mpc_->compute(in, out);
  report_.iterations = out.iterations;
  // A non-ok MPC acted on its own fallback (its last plan, bounded); the limits below still hold.
  held_request_a_ = std::isfinite(out.current_a) ? out.current_a * np : 0.0;
  return held_request_a_;
}

Status ControlStep::compute(const Measurements& m, double dt_s, Command& out) noexcept {
  out = Command{};
  estimate(m, dt_s);
  double v_max = -INFINITY, v_min = INFINITY, t_max = -INFINITY;
  bool missing = m.n_cells == 0 || !std::isfinite(m.pack_current_a);
  for (std::size_t j = 0; j < m.n_cells; ++j) {
    const double v = m.cell_voltage_v[j], t = m.cell_temp_k[j];
    if (!std::isfinite(v) || !std::isfinite(t)) missing = true;
    v_max = std::max(v_max, v);
    v_min = std::min(v_min, v);
    t_max = std::max(t_max, t);
  }
  if (missing) {  // fail closed: nothing moves on a partial picture of the pack
    if (charging_) reset();
    return Status::non_finite_input;
  }
  const auto& lim = config_.limits;
  const double np = static_cast<double>(config_.parallel);
  // Temperature derating: full current up to T_max - span, none at T_max.
  const double derate = std::clamp((lim.temp_max_k - t_max) / config_.derate_span_k, 0.0, 1.0);
  const double cold = t_max < lim.temp_min_k ? 0.0 : 1.0;
  // Voltage limits as a one-step barrier on the ohmic model: V_next = V_now - R (I_next - I_now)
  // must stay inside [V_min, V_max] for the highest and the lowest cell.
  const double r = config_.resistance_ohm / np;
  const double i_now = m.pack_current_a;
  const double i_min_v = std::min(0.0, i_now - (lim.voltage_max_v - v_max) / r);
  const double i_max_v = std::max(0.0, i_now + (v_min - lim.voltage_min_v) / r);
  out.current_min_a = std::max(-lim.charge_current_max_a * np * derate * cold, i_min_v);
  out.current_max_a = std::min(lim.discharge_current_max_a * np * derate, i_max_v);
  out.derated = derate < 1.0 || cold == 0.0 || out.current_min_a > -lim.charge_current_max_a * np ||
                out.current_max_a < lim.discharge_current_max_a * np;

  double request = 0.0;
  switch (m.request_mode) {
    case RequestMode::charge: {
      if (!charging_) {
        reset();
        charging_ = true;
        since_control_s_ = config_.controller_period_s;  // the first cycle of a charge plans at once
      }
      request = charge_request(m, v_max, dt_s);
      // The charger's available current (< 0) bounds the charge too.
      if (std::isfinite(m.request_current_a) && m.request_current_a < 0.0)
        request = std::max(request, m.request_current_a);
      break;
    }
    case RequestMode::drive:
      charging_ = false;
      request = std::isfinite(m.request_current_a) ? m.request_current_a : 0.0;
      break;
    case RequestMode::idle:
      charging_ = false;
      request = 0.0;
      break;
  }
  last_pack_current_a_ = i_now;
  out.current_a = std::isfinite(request) ? std::clamp(request, out.current_min_a, out.current_max_a) : 0.0;
  return Status::ok;
}

}  // namespace safetwin::firmware
