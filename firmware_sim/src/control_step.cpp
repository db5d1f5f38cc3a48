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
  m.cell = c.cell;
  m.cell.limits = c.limits;
  // The law plans inside the operating limit (the monitor's warning tier), so that the derate and
  // stop tiers between it and T_max stay for what the law did not foresee (a lost cooling path).
  m.cell.limits.temp_max_k = c.limits.temp_max_k - c.safety.temp_warning_k;
  return m;
}

// The pack cycle's configuration with the step's cell in every per-group model (pack_cycle_config
// sets the limits of each; they are kept).
cycle::PackCycleConfig pack_config(const ControlStepConfig& c) {
  cycle::PackCycleConfig pc = pack_cycle_config(c.series, c.parallel, c.limits, c.period_s, c.safety);
  for (battery::CellParams* p : {&pc.cell.estimator.cell, &pc.cell.cbf.cell, &pc.cell.supervisor.cell}) {
    const battery::CellLimits limits = p->limits;
    *p = c.cell;
    p->limits = limits;
  }
  return pc;
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
  require_positive("ControlStepConfig.period_s", period_s);
  require_positive("ControlStepConfig.controller_period_s", controller_period_s);
  require_in_range("ControlStepConfig.soc_target", soc_target, 0.0, 1.0);
  if (horizon < 1 || horizon > 240) throw_invalid("ControlStepConfig.horizon", horizon, "must be in [1, 240]");
  if (cv_voltage_v > limits.voltage_max_v)
    throw_invalid("ControlStepConfig.cv_voltage_v", cv_voltage_v,
                  "must be <= limits.voltage_max_v = " + std::to_string(limits.voltage_max_v));
  charger_config(*this).validate();
  if (controller == ControllerKind::mpc) mpc_config(*this).validate();  // CC-CV builds no MPC
  safety.validate();
}

ControlStep::ControlStep(const ControlStepConfig& config)
    : config_((config.validate(), config)),
      v_(static_cast<std::size_t>(config.series)),
      t_(static_cast<std::size_t>(config.series)) {
  law_.period_s = config_.controller_period_s;
  law_.parallel = static_cast<double>(config_.parallel);
  if (config_.controller == ControllerKind::mpc)
    law_.mpc = std::make_unique<control::BatteryMpc>(mpc_config(config_));
  else
    law_.cccv = std::make_unique<control::CcCvCharger>(charger_config(config_));
  std::vector<control::Controller*> raw;
  for (int g = 0; g < config_.series; ++g) {
    controllers_.push_back(std::make_unique<GroupController>(g, law_, request_));
    raw.push_back(controllers_.back().get());
  }
  cycle_ = std::make_unique<cycle::PackCycle>(pack_config(config_), raw);
}

Status ControlStep::start(const Measurements& m) noexcept {
  // Start from the OCV of each group's first complete reading (the pack rests at power-up, or
  // nearly: the ohmic error of a small current is inside the filter's initial sigma).
  for (std::size_t g = 0; g < cycle_->groups(); ++g) {
    estimation::BatteryEkf& ekf = cycle_->group(g).estimator();
    const double soc0 = std::clamp(ekf.config().cell.ocv.soc_at_voltage(m.cell_voltage_v[g]), 0.0, 1.0);
    // soc0 is finite (the reading was checked, the OCV inverse clamped), so this cannot refuse;
    // if it did, the cycle would not start (fail closed) rather than run on a wrong estimate.
    if (const Status st = ekf.reset_soc(soc0); st != Status::ok) return st;
  }
  report_.started = true;
  return Status::ok;
}

void ControlStep::select_limiting_group(const Measurements& m) noexcept {
  // The group the charge reaches first: the highest estimated SOC (before the first step, the
  // highest voltage).
  int best = 0;
  double best_value = -INFINITY;
  for (std::size_t g = 0; g < cycle_->groups(); ++g) {
    const double value = cycle_->group_status(g).status == Status::not_initialised
                             ? m.cell_voltage_v[g]
                             : cycle_->group_status(g).x[battery::StateIdx::soc];
    if (value > best_value) {
      best_value = value;
      best = static_cast<int>(g);
    }
  }
  report_.limiting_group = best;
  request_.limiting_group = best;
}

Status ControlStep::compute(const Measurements& m, double dt_s, const trust::Attestation* attestation,
                            Command& out) noexcept {
  out = Command{};
  out.mode = report_.mode;
  const double np = static_cast<double>(config_.parallel);
  if (!std::isfinite(dt_s) || !(dt_s > 0.0)) return Status::invalid_argument;
  time_s_ += dt_s;
  pending_dt_s_ += dt_s;
  bool missing = m.n_cells != cycle_->groups() || !std::isfinite(m.pack_current_a);
  double v_max = -INFINITY;
  for (std::size_t g = 0; g < cycle_->groups() && !missing; ++g) {
    v_[g] = m.cell_voltage_v[g];
    t_[g] = m.cell_temp_k[g];
    missing = !std::isfinite(v_[g]) || !std::isfinite(t_[g]);
    v_max = std::max(v_max, v_[g]);
  }
  if (missing) {  // fail closed: nothing moves on a partial picture of the pack
    law_.stop();
    report_.cycle = Status::non_finite_input;
    return Status::non_finite_input;
  }
  if (!report_.started) {
    if (const Status st = start(m); st != Status::ok) {
      law_.stop();
      report_.cycle = st;
      return st;
    }
  }

  request_.mode = m.request_mode;
  request_.current_a = std::isfinite(m.request_current_a) ? m.request_current_a / np : 0.0;
  request_.max_cell_voltage_v = v_max;
  select_limiting_group(m);
  if (m.request_mode != RequestMode::charge) law_.stop();

  cycle::PackMeasurements pm;
  pm.time_s = time_s_;
  pm.pack_current_a = m.pack_current_a;
  pm.voltage_a_v = v_.data();
  pm.temperature_k = t_.data();
  if (m.has_freshness) {  // a held report: the estimator predicts only, the monitor checks it
    pm.voltage_a_fresh = m.cell_voltage_fresh.data();
    pm.temperature_fresh = m.cell_temp_fresh.data();
  }
  pm.attestation = attestation;
  cycle::PackCycleStatus ps;
  const Status st = cycle_->step(pm, pending_dt_s_, ps);
  pending_dt_s_ = 0.0;

  // The pack's safe interval: the intersection of the groups' CBF intervals.
  double lo = -INFINITY, hi = INFINITY, soc_sum = 0.0;
  for (std::size_t g = 0; g < cycle_->groups(); ++g) {
    const cycle::CycleStatus& gs = cycle_->group_status(g);
    lo = std::max(lo, gs.cbf.lo_a);
    hi = std::min(hi, gs.cbf.hi_a);
    soc_sum += gs.x[battery::StateIdx::soc];
  }
  out.current_a = std::isfinite(ps.command_a) ? ps.command_a : 0.0;
  out.current_min_a = std::isfinite(lo) ? std::min(lo * np, out.current_a) : out.current_a;
  out.current_max_a = std::isfinite(hi) ? std::max(hi * np, out.current_a) : out.current_a;
  out.contactor_closed = ps.contactor_closed;
  out.mode = ps.mode;
  out.derated = ps.mode != safety::Mode::normal;

  report_.cycle = st;
  report_.mode = ps.mode;
  report_.controller = law_.held_status;
  report_.iterations = law_.iterations;
  report_.soc_mean = soc_sum / static_cast<double>(cycle_->groups());
  report_.soc_limiting =
      cycle_->group_status(static_cast<std::size_t>(report_.limiting_group)).x[battery::StateIdx::soc];
  return st;
}

}  // namespace safetwin::firmware
