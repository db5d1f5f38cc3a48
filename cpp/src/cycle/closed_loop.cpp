#include "safetwin/cycle/closed_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

#include "safetwin/validate.hpp"

namespace safetwin::cycle {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
// The dropout draws come from a second stream, so the Gaussian numbers do not depend on them.
constexpr std::uint64_t kDropoutStream = 0xD1B54A32D192ED03ull;

bool is_sensor_fault(FaultKind k) noexcept {
  return k != FaultKind::internal_short && k != FaultKind::cooling_loss && k != FaultKind::connection_resistance;
}
bool is_voltage_fault(FaultKind k) noexcept {
  return (k >= FaultKind::voltage_stuck && k <= FaultKind::voltage_nan) || k == FaultKind::stealthy_injection;
}

void first_time(double& slot, double t) noexcept {
  if (std::isnan(slot)) slot = t;
}

}  // namespace

// ---- noise ------------------------------------------------------------------------------------

std::uint64_t NoiseStream::bits(std::uint64_t i) const noexcept {
  std::uint64_t z = seed_ + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double NoiseStream::uniform(std::uint64_t i) const noexcept { return static_cast<double>(bits(i) >> 11) * 0x1.0p-53; }

double NoiseStream::normal(std::uint64_t i) const noexcept {
  const double u1 = 1.0 - uniform(2 * i);  // (0, 1]: the logarithm stays finite
  const double u2 = uniform(2 * i + 1);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

const char* to_string(FaultKind k) noexcept {
  switch (k) {
    case FaultKind::internal_short: return "internal_short";
    case FaultKind::cooling_loss: return "cooling_loss";
    case FaultKind::connection_resistance: return "connection_resistance";
    case FaultKind::voltage_stuck: return "voltage_stuck";
    case FaultKind::voltage_offset: return "voltage_offset";
    case FaultKind::voltage_drift: return "voltage_drift";
    case FaultKind::voltage_noise: return "voltage_noise";
    case FaultKind::voltage_dropout: return "voltage_dropout";
    case FaultKind::voltage_nan: return "voltage_nan";
    case FaultKind::temperature_stuck: return "temperature_stuck";
    case FaultKind::temperature_offset: return "temperature_offset";
    case FaultKind::current_offset: return "current_offset";
    case FaultKind::stealthy_injection: return "stealthy_injection";
    case FaultKind::link_loss: return "link_loss";
    case FaultKind::count: break;
  }
  return "unknown";
}

// ---- validation -------------------------------------------------------------------------------

void LawSpec::validate(const char* owner) const {
  const std::string o(owner);
  switch (kind) {
    case LawKind::controllers:
    case LawKind::non_finite: break;
    case LawKind::constant: require_finite(o + ".current_a", current_a); break;
    case LawKind::bang_bang:
      require_finite(o + ".current_a", current_a);
      require_positive(o + ".period_s", period_s);
      break;
    case LawKind::profile:
      if (profile_a.empty()) throw_invalid(o + ".profile_a", "must hold at least one value");
      for (std::size_t k = 0; k < profile_a.size(); ++k)
        require_finite(o + ".profile_a[" + std::to_string(k) + "]", profile_a[k]);
      break;
    case LawKind::cccv: cccv.validate(); break;
    default: throw_invalid(o + ".kind", static_cast<double>(kind), "is not a LawKind");
  }
}

std::size_t LoopSpec::steps() const noexcept {
  if (!(dt_s > 0.0) || !(duration_s > 0.0)) return 0;
  return static_cast<std::size_t>(std::llround(duration_s / dt_s));
}

void LoopSpec::validate(std::size_t external_controllers) const {
  require_positive("LoopSpec.duration_s", duration_s);
  require_positive("LoopSpec.dt_s", dt_s);
  if (steps() < 1) throw_invalid("LoopSpec.duration_s", duration_s, "must hold at least one step of dt_s");
  cycle.validate();
  plant.validate();
  reporting.validate(dt_s);
  if (plant.series != cycle.series || plant.parallel != cycle.parallel)
    throw_invalid("LoopSpec.plant.series/parallel",
                  std::to_string(plant.series) + "s" + std::to_string(plant.parallel) + "p must equal the cycle's " +
                      std::to_string(cycle.series) + "s" + std::to_string(cycle.parallel) + "p");
  if (!use_pack_cycle) {
    if (cycle.series != 1 || cycle.parallel != 1)
      throw_invalid("LoopSpec.use_pack_cycle", "false (a ControlCycle) needs series = parallel = 1");
    if (cycle.trust.enabled) throw_invalid("LoopSpec.use_pack_cycle", "false (a ControlCycle) has no trust");
  }
  const auto cells = static_cast<std::size_t>(plant.series) * static_cast<std::size_t>(plant.parallel);
  const auto groups = static_cast<std::size_t>(plant.series);
  const std::size_t n = steps();
  if (!scaling.empty()) {
    if (scaling.size() != cells)
      throw_invalid("LoopSpec.scaling", static_cast<double>(scaling.size()),
                    "needs one entry per cell (" + std::to_string(cells) + ")");
    for (std::size_t j = 0; j < cells; ++j) scaling[j].validate("LoopSpec.scaling[" + std::to_string(j) + "]");
  }
  if (!soc0.empty()) {
    if (soc0.size() != cells)
      throw_invalid("LoopSpec.soc0", static_cast<double>(soc0.size()),
                    "needs one entry per cell (" + std::to_string(cells) + ")");
    for (std::size_t j = 0; j < cells; ++j)
      require_in_range("LoopSpec.soc0[" + std::to_string(j) + "]", soc0[j], 0.0, 1.0);
  }
  if (!temp0_k.empty()) {
    if (temp0_k.size() != cells)
      throw_invalid("LoopSpec.temp0_k", static_cast<double>(temp0_k.size()),
                    "needs one entry per cell (" + std::to_string(cells) + ")");
    for (std::size_t j = 0; j < cells; ++j) require_positive("LoopSpec.temp0_k[" + std::to_string(j) + "]", temp0_k[j]);
  }
  if (!std::isnan(ambient_k)) require_positive("LoopSpec.ambient_k", ambient_k);
  law.validate("LoopSpec.law");
  if (law.kind == LawKind::controllers && external_controllers != groups)
    throw_invalid("LoopSpec.law", "kind controllers needs one controller per series group (" + std::to_string(groups) +
                                      "), got " + std::to_string(external_controllers));
  require_non_negative("LoopSpec.noise.voltage_a_v", noise.voltage_a_v);
  require_non_negative("LoopSpec.noise.voltage_b_v", noise.voltage_b_v);
  require_non_negative("LoopSpec.noise.temperature_k", noise.temperature_k);
  require_non_negative("LoopSpec.noise.current_a", noise.current_a);
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const FaultSpec& f = faults[i];
    const std::string o = "LoopSpec.faults[" + std::to_string(i) + "]";
    if (f.kind >= FaultKind::count) throw_invalid(o + ".kind", static_cast<double>(f.kind), "is not a FaultKind");
    require_non_negative(o + ".onset_s", f.onset_s);
    if (!(f.end_s > f.onset_s))
      throw_invalid(o + ".end_s", f.end_s, "must be > onset_s = " + std::to_string(f.onset_s));
    const bool all_cells_ok = f.kind == FaultKind::cooling_loss && f.target == -1;
    const std::size_t targets = is_sensor_fault(f.kind) ? groups : cells;
    if (f.kind != FaultKind::current_offset && f.kind != FaultKind::link_loss && !all_cells_ok &&
        (f.target < 0 || static_cast<std::size_t>(f.target) >= targets))
      throw_invalid(o + ".target", f.target,
                    std::string("must be a ") + (targets == groups ? "series group" : "cell") + " index in [0, " +
                        std::to_string(targets) + ")");
    if (is_voltage_fault(f.kind)) {
      if (f.node != 0 && f.node != 1) throw_invalid(o + ".node", f.node, "must be 0 (node a) or 1 (node b)");
      if (f.node == 1 && !noise.voltage_b) throw_invalid(o + ".node", "1 (node b) but the spec has no node b");
    }
    switch (f.kind) {
      case FaultKind::internal_short:
      case FaultKind::connection_resistance:
      case FaultKind::cooling_loss:
      case FaultKind::voltage_noise: require_non_negative(o + ".value", f.value); break;
      case FaultKind::voltage_dropout: require_in_range(o + ".value", f.value, 0.0, 1.0); break;
      case FaultKind::voltage_stuck:
      case FaultKind::temperature_stuck:
        if (!std::isnan(f.value)) {
          require_finite(o + ".value", f.value);
          if (f.kind == FaultKind::temperature_stuck) require_positive(o + ".value", f.value);
        }
        break;
      case FaultKind::voltage_nan: break;
      case FaultKind::stealthy_injection:
        require_in_range(o + ".value", f.value, -1.0, 1.0);
        require_non_negative(o + ".ramp_s", f.ramp_s);
        break;
      default: require_finite(o + ".value", f.value);
    }
  }
  const auto check_injection = [&](const std::vector<double>& a, const char* name) {
    if (a.empty()) return;
    if (a.size() != n * groups)
      throw_invalid(std::string("LoopSpec.") + name, static_cast<double>(a.size()),
                    "needs steps x series = " + std::to_string(n) + " x " + std::to_string(groups) + " values");
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!std::isfinite(a[i]))
        throw_invalid(std::string("LoopSpec.") + name + "[" + std::to_string(i / groups) + ", " +
                          std::to_string(i % groups) + "]",
                      a[i], "must be finite");
  };
  check_injection(injection_a_v, "injection_a_v");
  check_injection(injection_b_v, "injection_b_v");
  check_injection(injection_temperature_k, "injection_temperature_k");
  if (!injection_current_a.empty()) {
    if (injection_current_a.size() != n)
      throw_invalid("LoopSpec.injection_current_a", static_cast<double>(injection_current_a.size()),
                    "needs one value per step (" + std::to_string(n) + ")");
    for (std::size_t i = 0; i < n; ++i)
      require_finite("LoopSpec.injection_current_a[" + std::to_string(i) + "]", injection_current_a[i]);
  }
  if (!injection_b_v.empty() && !noise.voltage_b)
    throw_invalid("LoopSpec.injection_b_v", "given but the spec has no node b");
  if (!attestation.empty()) {
    if (!use_pack_cycle || !cycle.trust.enabled)
      throw_invalid("LoopSpec.attestation", "given but the cycle has no trust (a PackCycle with trust.enabled)");
    const auto nodes = static_cast<std::size_t>(cycle.trust.nodes);
    if (attestation.size() != n * nodes)
      throw_invalid("LoopSpec.attestation", static_cast<double>(attestation.size()),
                    "needs steps x trust nodes = " + std::to_string(n) + " x " + std::to_string(nodes) + " verdicts");
    for (std::size_t i = 0; i < attestation.size(); ++i)
      if (!trust::is_valid_attestation(attestation[i]))
        throw_invalid("LoopSpec.attestation[" + std::to_string(i / nodes) + ", " + std::to_string(i % nodes) + "]",
                      attestation[i], "must be a trust::Attestation code 0..7 (0 none, 1 pass, 2..7 fail reasons)");
  }
  if (counterfactual.enabled) {
    require_finite("LoopSpec.counterfactual.current_a", counterfactual.current_a);
    if (!counterfactual.at_first_fault) require_non_negative("LoopSpec.counterfactual.time_s", counterfactual.time_s);
  }
  if (replacement.enabled) {
    if (!replacement.at_first_fault) require_non_negative("LoopSpec.replacement.time_s", replacement.time_s);
    if (replacement.direct) {
      require_finite("LoopSpec.replacement.current_a", replacement.current_a);
    } else {
      replacement.law.validate("LoopSpec.replacement.law");
      if (replacement.law.kind == LawKind::controllers)
        throw_invalid("LoopSpec.replacement.law.kind",
                      "must be a built-in law (the external controllers are the base law)");
    }
  }
}

// ---- the laws ---------------------------------------------------------------------------------

// One per series group: the base law (built-in or the external controller) until the replacement
// time, then the replacement law. The runner tells it the step before the cycle steps.
class ClosedLoop::Law final : public control::Controller {
 public:
  Law(const LawSpec& base, control::Controller* external, const LawSpec* replacement, const double* voltage_v)
      : base_(base),
        external_(external),
        replacement_(replacement),
        voltage_v_(voltage_v),
        base_cccv_(base.kind == LawKind::cccv ? base.cccv : control::CcCvConfig{}),
        replacement_cccv_(replacement != nullptr && replacement->kind == LawKind::cccv ? replacement->cccv
                                                                                       : control::CcCvConfig{}) {}

  void at_step(std::size_t k, double t, bool replaced) noexcept {
    k_ = k;
    t_ = t;
    replaced_ = replaced && replacement_ != nullptr;
  }
  [[nodiscard]] std::size_t nonfinite_requests() const noexcept { return nonfinite_; }

  Status compute(const control::ControllerInput& in, control::ControllerOutput& out) noexcept override {
    const Status s = replaced_ ? evaluate(*replacement_, nullptr, replacement_cccv_, in, out)
                               : evaluate(base_, external_, base_cccv_, in, out);
    if (s == Status::ok && !std::isfinite(out.current_a)) ++nonfinite_;
    return s;
  }
  void reset() noexcept override {
    if (external_ != nullptr) external_->reset();
    base_cccv_.reset();
    replacement_cccv_.reset();
    nonfinite_ = 0;
  }

 private:
  Status evaluate(const LawSpec& law, control::Controller* external, control::CcCvCharger& cccv,
                  const control::ControllerInput& in, control::ControllerOutput& out) noexcept {
    out.iterations = 0;
    switch (law.kind) {
      case LawKind::controllers:
        if (external == nullptr) return Status::not_initialised;
        return external->compute(in, out);
      case LawKind::constant: out.current_a = law.current_a; return Status::ok;
      case LawKind::profile: out.current_a = law.profile_a[std::min(k_, law.profile_a.size() - 1)]; return Status::ok;
      case LawKind::bang_bang: {
        const auto half = static_cast<long long>(std::floor(t_ / (0.5 * law.period_s)));
        out.current_a = (half % 2 == 0) ? law.current_a : -law.current_a;
        return Status::ok;
      }
      case LawKind::non_finite: out.current_a = kNaN; return Status::ok;
      case LawKind::cccv: out.current_a = cccv.current_a(*voltage_v_); return Status::ok;
    }
    return Status::invalid_argument;
  }

  const LawSpec& base_;
  control::Controller* external_;
  const LawSpec* replacement_;
  const double* voltage_v_;  // the group's measured voltage (node a) of this step, for CC-CV
  control::CcCvCharger base_cccv_;
  control::CcCvCharger replacement_cccv_;
  std::size_t k_ = 0;
  double t_ = 0.0;
  bool replaced_ = false;
  std::size_t nonfinite_ = 0;
};

// ---- construction -----------------------------------------------------------------------------

ClosedLoop::ClosedLoop(LoopSpec spec, const std::vector<control::Controller*>& controllers)
    : spec_((spec.validate(controllers.size()), std::move(spec))),
      noise_(spec_.seed),
      dropout_(spec_.seed ^ kDropoutStream) {
  total_steps_ = spec_.steps();
  groups_ = static_cast<std::size_t>(spec_.plant.series);
  parallel_ = static_cast<std::size_t>(spec_.plant.parallel);
  cells_ = groups_ * parallel_;

  plant_ = std::make_unique<battery::Pack>(spec_.plant);
  if (!spec_.scaling.empty())
    for (std::size_t j = 0; j < cells_; ++j) plant_->set_scaling(j, spec_.scaling[j]);
  for (std::size_t j = 0; j < cells_; ++j) {
    battery::CellState s = spec_.plant.initial;
    if (!spec_.soc0.empty()) s.soc = spec_.soc0[j];
    if (!spec_.temp0_k.empty()) s.temp_k = spec_.temp0_k[j];
    plant_->set_state(j, s);
  }
  if (!std::isnan(spec_.ambient_k)) plant_->set_ambient_temp_k(spec_.ambient_k);
  base_scaling_ = plant_->scaling();
  before_ = plant_->states();

  va_.assign(groups_, 0.0);
  vb_.assign(groups_, 0.0);
  temp_.assign(groups_, 0.0);
  va_ok_.assign(groups_, 1);
  vb_ok_.assign(groups_, 1);
  temp_ok_.assign(groups_, 1);
  va_fresh_.assign(groups_, 1);
  vb_fresh_.assign(groups_, 1);
  temp_fresh_.assign(groups_, 1);
  {  // The safe horizon of self-triggered reporting on the cycle's own model, limits and floors.
    const safety::SafeHorizonConfig h = safe_horizon_config(spec_.cycle.cell, spec_.dt_s);
    reporter_ = std::make_unique<ReportScheduler>(spec_.reporting, groups_, spec_.noise.voltage_b, spec_.dt_s, h);
  }

  const LawSpec* repl = spec_.replacement.enabled && !spec_.replacement.direct ? &spec_.replacement.law : nullptr;
  std::vector<control::Controller*> group_laws;
  for (std::size_t g = 0; g < groups_; ++g) {
    control::Controller* ext = spec_.law.kind == LawKind::controllers ? controllers[g] : nullptr;
    laws_.push_back(std::make_unique<Law>(spec_.law, ext, repl, &va_[g]));
    laws_.back()->reset();
    group_laws.push_back(laws_.back().get());
  }
  if (spec_.use_pack_cycle)
    pack_cycle_ = std::make_unique<PackCycle>(spec_.cycle, group_laws);
  else
    cell_cycle_ = std::make_unique<ControlCycle>(spec_.cycle.cell, group_laws[0]);

  fault_active_.assign(spec_.faults.size(), 0);
  fresh_.assign(spec_.faults.size(), 0);
  stuck_value_.assign(spec_.faults.size(), kNaN);
  for (const auto& f : spec_.faults)
    attacker_.push_back(f.kind == FaultKind::stealthy_injection
                            ? std::make_unique<battery::Cell>(spec_.cycle.cell.estimator.cell)
                            : nullptr);
  double first_fault = kInf;
  for (const auto& f : spec_.faults) first_fault = std::min(first_fault, f.onset_s);
  if (std::isfinite(first_fault)) summary_.first_fault_s = first_fault;
  if (spec_.replacement.enabled)
    replacement_s_ = spec_.replacement.at_first_fault ? first_fault : spec_.replacement.time_s;
  if (std::isfinite(replacement_s_)) summary_.replacement_s = replacement_s_;
  if (spec_.counterfactual.enabled) {
    cf_start_ = std::make_unique<battery::Pack>(*plant_);
    cf_onset_ = std::make_unique<battery::Pack>(*plant_);
    cf_before_ = plant_->states();
    cf_fork_s_ = spec_.counterfactual.at_first_fault ? first_fault : spec_.counterfactual.time_s;
    cf_start_summary_.status = Status::ok;
    cf_start_summary_.first_fault_s = summary_.first_fault_s;
    cf_start_summary_.replacement_s = 0.0;
    cf_onset_summary_.first_fault_s = summary_.first_fault_s;
    if (std::isfinite(cf_fork_s_)) cf_onset_summary_.replacement_s = cf_fork_s_;
  }

  const std::size_t n = total_steps_;
  Trace& tr = trace_;
  if (spec_.trace == TraceLevel::full) {
    for (auto* v : {&tr.cell_voltage_v, &tr.cell_temp_k, &tr.cell_soc, &tr.cell_current_a}) v->assign(n * cells_, kNaN);
  }
  if (spec_.trace != TraceLevel::none) {
    for (auto* v :
         {&tr.voltage_max_v, &tr.voltage_min_v, &tr.temp_max_k, &tr.soc_min, &tr.soc_max, &tr.abs_current_max_a,
          &tr.measured_current_a, &tr.applied_current_a, &tr.command_a, &tr.requested_a})
      v->assign(n, kNaN);
    for (auto* v : {&tr.voltage_a_v, &tr.voltage_b_v, &tr.temperature_k}) v->assign(n * groups_, kNaN);
    for (auto* v : {&tr.voltage_a_valid, &tr.voltage_b_valid, &tr.temperature_valid}) v->assign(n * groups_, 0);
    tr.mode.assign(n, 0);
    tr.status.assign(n, 0);
    tr.soc_est.assign(n * groups_, kNaN);
    tr.soc_sigma.assign(n * groups_, kNaN);
    tr.temp_est_k.assign(n * groups_, kNaN);
    tr.cycle_ns.assign(n, kNaN);
    if (spec_.use_pack_cycle && spec_.cycle.trust.enabled)
      tr.trust.assign(n * static_cast<std::size_t>(spec_.cycle.trust.nodes), kNaN);
  }
  summary_.status = Status::ok;
}

ClosedLoop::~ClosedLoop() = default;

// ---- the step ---------------------------------------------------------------------------------

namespace {

struct PlantExtremes {
  double vmax, vmin, tmax, smin, smax, imax;
};

// The plant fields of a summary at step time t: states at t, the step's voltages and currents.
PlantExtremes note_plant(const std::vector<battery::CellState>& states, const battery::Pack& plant, double t,
                         LoopSummary& s) noexcept {
  const auto& v = plant.cell_voltage_v();
  const auto& i = plant.cell_current_a();
  const battery::CellLimits& lim = plant.params().limits;
  double vmax = -kInf, vmin = kInf, tmax = -kInf, smin = kInf, smax = -kInf, imax = 0.0;
  for (std::size_t j = 0; j < states.size(); ++j) {
    vmax = std::max(vmax, v[j]);
    vmin = std::min(vmin, v[j]);
    tmax = std::max(tmax, states[j].temp_k);
    const double tmin_j = states[j].temp_k;
    s.min_margin_temp_min_k = std::min(s.min_margin_temp_min_k, tmin_j - lim.temp_min_k);
    if (tmin_j < lim.temp_min_k) first_time(s.first_violation_temp_min_s, t);
    smin = std::min(smin, states[j].soc);
    smax = std::max(smax, states[j].soc);
    imax = std::max(imax, std::fabs(i[j]));
    const double charge_margin = lim.charge_current_max_a + i[j];  // i < 0 charges
    const double discharge_margin = lim.discharge_current_max_a - i[j];
    s.min_margin_charge_current_a = std::min(s.min_margin_charge_current_a, charge_margin);
    s.min_margin_discharge_current_a = std::min(s.min_margin_discharge_current_a, discharge_margin);
    if (charge_margin < 0.0) first_time(s.first_violation_charge_current_s, t);
    if (discharge_margin < 0.0) first_time(s.first_violation_discharge_current_s, t);
    const double ratio = i[j] < 0.0 ? -i[j] / lim.charge_current_max_a : i[j] / lim.discharge_current_max_a;
    s.max_current_ratio = std::max(s.max_current_ratio, ratio);
  }
  s.min_margin_voltage_max_v = std::min(s.min_margin_voltage_max_v, lim.voltage_max_v - vmax);
  s.min_margin_voltage_min_v = std::min(s.min_margin_voltage_min_v, vmin - lim.voltage_min_v);
  s.min_margin_temp_max_k = std::min(s.min_margin_temp_max_k, lim.temp_max_k - tmax);
  if (vmax > lim.voltage_max_v) first_time(s.first_violation_voltage_max_s, t);
  if (vmin < lim.voltage_min_v) first_time(s.first_violation_voltage_min_s, t);
  if (tmax > lim.temp_max_k) first_time(s.first_violation_temp_max_s, t);
  s.max_abs_cell_current_a = std::max(s.max_abs_cell_current_a, imax);
  s.max_voltage_v = std::max(s.max_voltage_v, vmax);
  s.min_voltage_v = std::min(s.min_voltage_v, vmin);
  s.max_temp_k = std::max(s.max_temp_k, tmax);
  s.final_soc_min = smin;
  s.final_soc_max = smax;
  return {vmax, vmin, tmax, smin, smax, imax};
}

// The plant fields of `from` (note_plant's, and the run's status and length) into `to`.
void copy_plant_fields(const LoopSummary& from, LoopSummary& to) noexcept {
  to.status = from.status;
  to.steps = from.steps;
  to.min_margin_voltage_max_v = from.min_margin_voltage_max_v;
  to.min_margin_voltage_min_v = from.min_margin_voltage_min_v;
  to.min_margin_temp_max_k = from.min_margin_temp_max_k;
  to.min_margin_temp_min_k = from.min_margin_temp_min_k;
  to.min_margin_charge_current_a = from.min_margin_charge_current_a;
  to.min_margin_discharge_current_a = from.min_margin_discharge_current_a;
  to.first_violation_voltage_max_s = from.first_violation_voltage_max_s;
  to.first_violation_voltage_min_s = from.first_violation_voltage_min_s;
  to.first_violation_temp_max_s = from.first_violation_temp_max_s;
  to.first_violation_temp_min_s = from.first_violation_temp_min_s;
  to.first_violation_charge_current_s = from.first_violation_charge_current_s;
  to.first_violation_discharge_current_s = from.first_violation_discharge_current_s;
  to.max_abs_cell_current_a = from.max_abs_cell_current_a;
  to.max_current_ratio = from.max_current_ratio;
  to.max_voltage_v = from.max_voltage_v;
  to.min_voltage_v = from.min_voltage_v;
  to.max_temp_k = from.max_temp_k;
  to.final_soc_min = from.final_soc_min;
  to.final_soc_max = from.final_soc_max;
}

}  // namespace

void ClosedLoop::apply_faults(double t) noexcept {
  for (std::size_t i = 0; i < spec_.faults.size(); ++i) {
    const FaultSpec& f = spec_.faults[i];
    const bool on = t >= f.onset_s && t < f.end_s;
    if (on == (fault_active_[i] != 0)) continue;
    fault_active_[i] = on ? 1 : 0;
    fresh_[i] = on ? 1 : 0;
    if (!on) stuck_value_[i] = kNaN;  // a stuck reading ends with its fault
    set_plant_fault(*plant_, f, on);
    if (cf_start_ != nullptr) set_plant_fault(*cf_start_, f, on);
    if (cf_forked_) set_plant_fault(*cf_onset_, f, on);
  }
}

void ClosedLoop::set_plant_fault(battery::Pack& plant, const FaultSpec& f, bool on) const noexcept {
  // Plant faults change the plant at their start and are restored at their end. The indices and
  // values were validated at construction, so the setters cannot refuse them here.
  const auto cell = static_cast<std::size_t>(std::max(f.target, 0));
  switch (f.kind) {
    case FaultKind::internal_short: plant.set_leak_resistance(cell, on && f.value > 0.0 ? 1.0 / f.value : kInf); break;
    case FaultKind::cooling_loss:
      if (f.target < 0) {
        for (std::size_t j = 0; j < cells_; ++j) plant.set_cooling_factor(j, on ? f.value : 1.0);
      } else {
        plant.set_cooling_factor(cell, on ? f.value : 1.0);
      }
      break;
    case FaultKind::connection_resistance: {
      battery::CellScaling s = base_scaling_[cell];
      if (on) {
        const double r0 =
            battery::coefficients(plant.params(), battery::CellScaling{}, 0.5, battery::kReferenceTempK).r0_ohm;
        s.r0_factor *= 1.0 + f.value / (r0 * s.resistance_factor * s.r0_factor);
      }
      plant.set_scaling(cell, s);
      break;
    }
    default: break;  // sensor faults act in read_sensors
  }
}

void ClosedLoop::step_counterfactuals(std::size_t k, double t) noexcept {
  // Called after apply_faults(t): the fork copies the run's plant with this step's fault changes;
  // the run's summary holds steps 0..k-1, which the counterfactual from the fork shares.
  if (spec_.counterfactual.enabled && !cf_forked_ && t >= cf_fork_s_) {
    *cf_onset_ = *plant_;                            // same sizes: a copy into existing storage, no allocation
    copy_plant_fields(summary_, cf_onset_summary_);  // ok, or a run refused before the fork: so is this one
    cf_forked_ = true;
  }
  const double current = spec_.counterfactual.current_a;
  const auto step_one = [&](battery::Pack& plant, LoopSummary& s) noexcept {
    if (s.status != Status::ok) return;
    std::copy(plant.states().begin(), plant.states().end(), cf_before_.begin());
    const Status ps = plant.step(current, spec_.dt_s);
    if (ps != Status::ok) {
      s.status = ps;
      return;
    }
    (void)note_plant(cf_before_, plant, t, s);
    s.steps = k + 1;
  };
  if (cf_start_ != nullptr) step_one(*cf_start_, cf_start_summary_);
  if (cf_forked_) step_one(*cf_onset_, cf_onset_summary_);
}

void ClosedLoop::record_plant(std::size_t k, double t) noexcept {
  const auto& states = before_;  // the state at t_k
  const auto& v = plant_->cell_voltage_v();
  const auto& i = plant_->cell_current_a();
  const auto [vmax, vmin, tmax, smin, smax, imax] = note_plant(states, *plant_, t, summary_);

  if (spec_.trace == TraceLevel::none) return;
  Trace& tr = trace_;
  tr.voltage_max_v[k] = vmax;
  tr.voltage_min_v[k] = vmin;
  tr.temp_max_k[k] = tmax;
  tr.soc_min[k] = smin;
  tr.soc_max[k] = smax;
  tr.abs_current_max_a[k] = imax;
  if (spec_.trace != TraceLevel::full) return;
  const std::size_t row = k * cells_;
  for (std::size_t j = 0; j < cells_; ++j) {
    tr.cell_voltage_v[row + j] = v[j];
    tr.cell_temp_k[row + j] = states[j].temp_k;
    tr.cell_soc[row + j] = states[j].soc;
    tr.cell_current_a[row + j] = i[j];
  }
}

double ClosedLoop::injection_v(std::size_t fault, double t, double applied_a, bool onset) noexcept {
  const FaultSpec& f = spec_.faults[fault];
  battery::Cell& cell = *attacker_[fault];
  if (onset) {  // the attacker's copy starts from the true state of the group's first cell
    battery::CellState s = before_[static_cast<std::size_t>(f.target) * parallel_];
    cell.pack().set_state(0, s);  // a valid plant state: cannot be refused
  }
  const double soc = cell.state().soc;
  const double ramp = f.ramp_s > 0.0 ? std::min(std::max((t - f.onset_s) / f.ramp_s, 0.0), 1.0) : 1.0;
  const double delta = f.value * ramp;
  (void)cell.step(applied_a / static_cast<double>(parallel_), spec_.dt_s);
  const battery::OcvTable& ocv = cell.pack().params().ocv;
  return ocv.voltage_v(soc + delta) - ocv.voltage_v(soc);
}

void ClosedLoop::read_sensors(std::size_t k, double t, double applied_a) noexcept {
  const std::size_t channels = 3 * groups_ + 1;
  const std::uint64_t base = static_cast<std::uint64_t>(k) * channels;
  const auto& v = plant_->cell_voltage_v();
  const auto& states = before_;
  const SensorNoise& nz = spec_.noise;
  for (std::size_t g = 0; g < groups_; ++g) {
    const double v_true = v[g * parallel_];
    double t_true = -kInf;
    for (std::size_t p = 0; p < parallel_; ++p) t_true = std::max(t_true, states[g * parallel_ + p].temp_k);
    double noise_a = nz.voltage_a_v, noise_b = nz.voltage_b_v;
    double add_a = 0.0, add_b = 0.0, add_t = 0.0;
    for (std::size_t i = 0; i < spec_.faults.size(); ++i) {
      const FaultSpec& f = spec_.faults[i];
      if (fault_active_[i] == 0 || static_cast<std::size_t>(f.target) != g) continue;
      double& add = f.node == 0 ? add_a : add_b;
      if (f.kind == FaultKind::voltage_offset) add += f.value;
      if (f.kind == FaultKind::voltage_drift) add += f.value * (t - f.onset_s);
      if (f.kind == FaultKind::voltage_noise) (f.node == 0 ? noise_a : noise_b) *= f.value;
      if (f.kind == FaultKind::temperature_offset) add_t += f.value;
      if (f.kind == FaultKind::stealthy_injection) add += injection_v(i, t, applied_a, fresh_[i] != 0);
    }
    double va = v_true + noise_a * noise_.normal(base + g);
    double vb = v_true + noise_b * noise_.normal(base + groups_ + g);
    double temp = t_true + nz.temperature_k * noise_.normal(base + 2 * groups_ + g);
    if (!spec_.injection_a_v.empty()) va += spec_.injection_a_v[k * groups_ + g];
    if (!spec_.injection_b_v.empty()) vb += spec_.injection_b_v[k * groups_ + g];
    if (!spec_.injection_temperature_k.empty()) temp += spec_.injection_temperature_k[k * groups_ + g];
    va += add_a;
    vb += add_b;
    temp += add_t;
    std::uint8_t ok_a = 1, ok_b = nz.voltage_b ? 1 : 0, ok_t = 1;
    for (std::size_t i = 0; i < spec_.faults.size(); ++i) {
      const FaultSpec& f = spec_.faults[i];
      if (fault_active_[i] != 0 && f.kind == FaultKind::link_loss) ok_a = ok_b = ok_t = 0;  // every node silent
      if (fault_active_[i] == 0 || static_cast<std::size_t>(f.target) != g) continue;
      double& reading = f.node == 0 ? va : vb;
      switch (f.kind) {
        case FaultKind::voltage_stuck:
          if (std::isnan(stuck_value_[i])) stuck_value_[i] = std::isnan(f.value) ? reading : f.value;
          reading = stuck_value_[i];
          break;
        case FaultKind::temperature_stuck:
          if (std::isnan(stuck_value_[i])) stuck_value_[i] = std::isnan(f.value) ? temp : f.value;
          temp = stuck_value_[i];
          break;
        case FaultKind::voltage_nan: reading = kNaN; break;
        case FaultKind::voltage_dropout: {
          const std::size_t channel = (f.node == 0 ? 0 : groups_) + g;
          if (dropout_.uniform(base + channel) < f.value) (f.node == 0 ? ok_a : ok_b) = 0;
          break;
        }
        default: break;
      }
    }
    va_[g] = va;
    vb_[g] = vb;
    temp_[g] = temp;
    va_ok_[g] = ok_a;
    vb_ok_[g] = ok_b;
    temp_ok_[g] = ok_t;
  }
}

void ClosedLoop::note_group(double t, std::size_t g, const CycleStatus& st,
                            const safety::InvariantMonitor& monitor) noexcept {
  LoopSummary& s = summary_;
  if (st.mode != safety::Mode::safe_stop &&
      (st.controller_status != Status::ok || st.controller_decision != Decision::applied))
    ++s.controller_failures;
  const bool after_fault = !std::isnan(s.first_fault_s) && t >= s.first_fault_s;
  if (!after_fault || !std::isnan(s.first_detection_s) || st.monitor.newly_set <= 0 || st.monitor.first_set < 0) return;
  if (monitor.spec(st.monitor.first_set).severity >= safety::Severity::derate) {
    s.first_detection_s = t;
    s.first_detection_group = static_cast<int>(g);
    s.first_detection_invariant = st.monitor.first_set;
  }
}

double ClosedLoop::step_cycle(std::size_t k, double t, double measured_a) noexcept {
  const bool replaced = t >= replacement_s_;
  for (auto& law : laws_) law->at_step(k, t, replaced);
  double command = 0.0, requested = kNaN, cycle_ns = kNaN;
  bool contactor = true, newly_set = false;
  safety::Mode mode = safety::Mode::normal;
  Status status = Status::ok;
  if (cell_cycle_ != nullptr) {
    CycleMeasurements m;
    m.time_s = t;
    m.voltage_a_v = va_[0];
    m.voltage_b_v = vb_[0];
    m.temperature_k = temp_[0];
    m.current_a = measured_a;
    m.voltage_a_valid = va_ok_[0] != 0;
    m.voltage_b_valid = vb_ok_[0] != 0;
    m.temperature_valid = temp_ok_[0] != 0;
    m.voltage_a_fresh = va_fresh_[0] != 0;
    m.voltage_b_fresh = vb_fresh_[0] != 0;
    m.temperature_fresh = temp_fresh_[0] != 0;
    CycleStatus& out = last_cell_status_;
    const auto t0 = std::chrono::steady_clock::now();
    status = cell_cycle_->step(m, spec_.dt_s, out);
    cycle_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    command = out.command_a;
    contactor = out.contactor_closed;
    mode = out.mode;
    requested = out.requested_a;
    newly_set = out.monitor.newly_set > 0;
    summary_.events += static_cast<std::size_t>(std::max(out.monitor.newly_set, 0));
    note_group(t, 0, out, cell_cycle_->monitor());
  } else {
    PackMeasurements m;
    m.time_s = t;
    m.pack_current_a = measured_a;
    m.voltage_a_v = va_.data();
    m.voltage_b_v = spec_.noise.voltage_b ? vb_.data() : nullptr;
    m.temperature_k = temp_.data();
    m.voltage_a_valid = va_ok_.data();
    m.voltage_b_valid = spec_.noise.voltage_b ? vb_ok_.data() : nullptr;
    m.temperature_valid = temp_ok_.data();
    m.voltage_a_fresh = va_fresh_.data();
    m.voltage_b_fresh = spec_.noise.voltage_b ? vb_fresh_.data() : nullptr;
    m.temperature_fresh = temp_fresh_.data();
    if (!spec_.attestation.empty()) {
      const auto nodes = static_cast<std::size_t>(spec_.cycle.trust.nodes);
      m.attestation = reinterpret_cast<const trust::Attestation*>(spec_.attestation.data() + k * nodes);
    }
    PackCycleStatus out;
    const auto t0 = std::chrono::steady_clock::now();
    status = pack_cycle_->step(m, spec_.dt_s, out);
    cycle_ns = std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count();
    command = out.command_a;
    contactor = out.contactor_closed;
    mode = out.mode;
    const std::size_t lg = out.limiting_group >= 0 ? static_cast<std::size_t>(out.limiting_group) : 0;
    requested = pack_cycle_->group_status(lg).requested_a;
    for (std::size_t g = 0; g < groups_; ++g) {
      const CycleStatus& gs = pack_cycle_->group_status(g);
      const int ns = gs.monitor.newly_set;
      if (ns > 0) newly_set = true;
      summary_.events += static_cast<std::size_t>(std::max(ns, 0));
      note_group(t, g, gs, pack_cycle_->group(g).monitor());
    }
  }
  LoopSummary& s = summary_;
  const bool after_fault = !std::isnan(s.first_fault_s) && t >= s.first_fault_s;
  if (newly_set) {
    first_time(s.first_event_s, t);
    if (after_fault) first_time(s.first_event_after_fault_s, t);
  }
  if (mode != safety::Mode::normal) {
    first_time(s.first_mode_change_s, t);
    if (after_fault) first_time(s.first_mode_change_after_fault_s, t);
    if (after_fault && std::isnan(s.first_detection_s)) {
      s.first_detection_s = t;  // a mode change with no derate/stop event of its own this step
      s.first_detection_group = -1;
      s.first_detection_invariant = -1;
    }
  }
  if (mode == safety::Mode::safe_stop) first_time(s.first_safe_stop_s, t);
  s.final_mode = mode;
  if (!std::isfinite(command)) {
    ++s.nonfinite_commands;
    command = 0.0;
  }
  contactor_closed_ = contactor;
  if (spec_.trace != TraceLevel::none) {
    trace_.command_a[k] = command;
    trace_.requested_a[k] = requested;
    trace_.mode[k] = static_cast<std::uint8_t>(mode);
    trace_.status[k] = static_cast<std::uint8_t>(status);
    trace_.cycle_ns[k] = cycle_ns;
    for (std::size_t g = 0; g < groups_; ++g) {
      const CycleStatus& gs = cell_cycle_ != nullptr ? last_cell_status_ : pack_cycle_->group_status(g);
      trace_.soc_est[k * groups_ + g] = gs.x(battery::StateIdx::soc);
      trace_.soc_sigma[k * groups_ + g] =
          std::sqrt(std::max(gs.P(battery::StateIdx::soc, battery::StateIdx::soc), 0.0));
      trace_.temp_est_k[k * groups_ + g] = gs.x(battery::StateIdx::temp);
    }
    if (!trace_.trust.empty()) {
      const trust::TrustState& ts = pack_cycle_->trust()->state();
      const std::size_t nodes = ts.nodes();
      for (std::size_t i = 0; i < nodes; ++i) trace_.trust[k * nodes + i] = ts.trust(i);
    }
  }
  return command;
}

Status ClosedLoop::advance(std::size_t steps) noexcept {
  if (summary_.status != Status::ok) return summary_.status;
  const std::size_t end = std::min(total_steps_, k_ + steps);
  const std::size_t channels = 3 * groups_ + 1;
  for (; k_ < end; ++k_) {
    const std::size_t k = k_;
    const double t = static_cast<double>(k) * spec_.dt_s;
    apply_faults(t);
    step_counterfactuals(k, t);
    // The current of this interval: the previous command (0 A with the contactor open), or the
    // replacement's current once it has taken over.
    double applied = contactor_closed_ ? command_a_ : 0.0;
    if (spec_.replacement.enabled && spec_.replacement.direct && t >= replacement_s_)
      applied = spec_.replacement.current_a;
    // Pack::step's outputs (voltages, currents) are those of time k, its states move on to k+1:
    // the states at t_k are kept first (a copy into storage of the same size, no allocation).
    std::copy(plant_->states().begin(), plant_->states().end(), before_.begin());
    const Status ps = plant_->step(applied, spec_.dt_s);
    if (ps != Status::ok) {
      summary_.status = ps;
      // The counterfactuals do not share the refused step: they run on to the end, as their own runs would.
      for (std::size_t j = k + 1; spec_.counterfactual.enabled && j < total_steps_; ++j) {
        const double tj = static_cast<double>(j) * spec_.dt_s;
        apply_faults(tj);
        step_counterfactuals(j, tj);
      }
      break;
    }
    record_plant(k, t);
    double measured =
        applied + spec_.noise.current_a * noise_.normal(static_cast<std::uint64_t>(k) * channels + 3 * groups_);
    if (!spec_.injection_current_a.empty()) measured += spec_.injection_current_a[k];
    for (std::size_t i = 0; i < spec_.faults.size(); ++i)
      if (fault_active_[i] != 0 && spec_.faults[i].kind == FaultKind::current_offset) measured += spec_.faults[i].value;
    read_sensors(k, t, applied);
    std::fill(fresh_.begin(), fresh_.end(), 0);
    if (spec_.trace != TraceLevel::none) {
      trace_.applied_current_a[k] = applied;
      trace_.measured_current_a[k] = measured;
      for (std::size_t g = 0; g < groups_; ++g) {
        trace_.voltage_a_v[k * groups_ + g] = va_[g];
        trace_.voltage_b_v[k * groups_ + g] = spec_.noise.voltage_b ? vb_[g] : kNaN;
        trace_.temperature_k[k * groups_ + g] = temp_[g];
        trace_.voltage_a_valid[k * groups_ + g] = va_ok_[g];
        trace_.voltage_b_valid[k * groups_ + g] = vb_ok_[g];
        trace_.temperature_valid[k * groups_ + g] = temp_ok_[g];
      }
    }
    report(t);
    command_a_ = step_cycle(k, t, measured);
    schedule_reports(t, command_a_);
    summary_.steps = k + 1;
  }
  std::size_t nonfinite = 0;
  for (const auto& law : laws_) nonfinite += law->nonfinite_requests();
  summary_.nonfinite_requests = nonfinite;
  return summary_.status;
}

void ClosedLoop::report(double t) noexcept {
  for (std::size_t g = 0; g < groups_; ++g) {
    const GroupReadings r{{&va_[g], &vb_[g], &temp_[g]},
                          {&va_ok_[g], &vb_ok_[g], &temp_ok_[g]},
                          {&va_fresh_[g], &vb_fresh_[g], &temp_fresh_[g]}};
    reporter_->decide(t, g, r);
  }
}

void ClosedLoop::schedule_reports(double t, double command_a) noexcept {
  // The plan the horizon checks: the command just released, held, as the per-cell current.
  const double cell_a = command_a / static_cast<double>(parallel_);
  for (std::size_t g = 0; g < groups_; ++g) {
    const CycleStatus& gs = cell_cycle_ != nullptr ? last_cell_status_ : pack_cycle_->group_status(g);
    (void)reporter_->schedule(t, g, gs.x, gs.P, cell_a, gs.twin, &gs.cbf);
  }
  const ReportCounts& c = reporter_->counts();
  summary_.frames = c.total_frames();
  summary_.frames_by_node = c.frames;
  summary_.event_reports = c.event_reports;
  summary_.missed_reports = c.missed_reports;
  summary_.schedule_frames = c.schedule_frames;
  summary_.horizon_events = c.horizon_events;
  if (c.schedules > 0) summary_.mean_report_interval_s = c.tau_sum_s / static_cast<double>(c.schedules);
}

}  // namespace safetwin::cycle
