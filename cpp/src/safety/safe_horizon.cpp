#include "safetwin/safety/safe_horizon.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Core>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::safety {

using battery::StateIdx;
using S = battery::RefStructure;

const char* to_string(HorizonLimit l) noexcept {
  switch (l) {
    case HorizonLimit::none: return "none";
    case HorizonLimit::voltage_max: return "voltage_max";
    case HorizonLimit::voltage_min: return "voltage_min";
    case HorizonLimit::temp_max: return "temp_max";
    case HorizonLimit::temp_min: return "temp_min";
    case HorizonLimit::soc_max: return "soc_max";
    case HorizonLimit::soc_min: return "soc_min";
  }
  return "unknown";
}

int SafeHorizonConfig::max_steps() const noexcept { return static_cast<int>(std::ceil(max_horizon_s / step_s - 1e-9)); }

void SafeHorizonConfig::validate() const {
  cell.validate();
  scaling.validate("SafeHorizonConfig.scaling");
  if (cell.rc_pairs != S::rc_pairs || cell.hysteresis)
    throw_invalid("SafeHorizonConfig.cell.rc_pairs", cell.rc_pairs,
                  "must be 2 without hysteresis (the state [SOC, v1, v2, T])");
  require_in_range("SafeHorizonConfig.soc_min", soc_min, 0.0, 1.0);
  require_in_range("SafeHorizonConfig.soc_max", soc_max, 0.0, 1.0);
  if (!(soc_max > soc_min))
    throw_invalid("SafeHorizonConfig.soc_max", soc_max, "must be > soc_min = " + std::to_string(soc_min));
  require_positive("SafeHorizonConfig.step_s", step_s);
  require_positive("SafeHorizonConfig.max_horizon_s", max_horizon_s);
  if (max_steps() > kSafeHorizonMaxSteps)
    throw_invalid("SafeHorizonConfig.max_horizon_s", max_horizon_s,
                  "must be <= " + std::to_string(kSafeHorizonMaxSteps) +
                      " * step_s = " + std::to_string(kSafeHorizonMaxSteps * step_s));
  require_in_range("SafeHorizonConfig.min_interval_s", min_interval_s, 0.0, max_horizon_s);
  require_positive("SafeHorizonConfig.confidence_sigma", confidence_sigma);
  require_non_negative("SafeHorizonConfig.voltage_margin_v", voltage_margin_v);
  require_non_negative("SafeHorizonConfig.temp_margin_k", temp_margin_k);
  require_non_negative("SafeHorizonConfig.soc_margin", soc_margin);
  require_non_negative("SafeHorizonConfig.model_error_v", model_error_v);
  require_non_negative("SafeHorizonConfig.model_error_k", model_error_k);
  require_non_negative("SafeHorizonConfig.model_error_soc", model_error_soc);
  for (int i = 0; i < StateIdx::size; ++i)
    require_non_negative("SafeHorizonConfig.process_noise_var[" + std::to_string(i) + "]", process_noise_var[i]);
}

SafeHorizon::SafeHorizon(SafeHorizonConfig config)
    : config_((config.validate(), std::move(config))),
      fixed_a_charge_(battery::fixed_decays<S::rc_pairs>(config_.cell, true, config_.step_s)),
      fixed_a_discharge_(battery::fixed_decays<S::rc_pairs>(config_.cell, false, config_.step_s)) {}

double SafeHorizon::tube_probability(double kappa) noexcept {
  return std::max(1.0 - 3.0 * std::erfc(kappa / std::sqrt(2.0)), 0.0);
}

namespace {
constexpr int NA = StateIdx::size + 2;  // the state and the factors [R0, capacity]
using AugMatrix = Eigen::Matrix<double, NA, NA>;
using AugRow = Eigen::Matrix<double, 1, NA>;

// Pa <- Fa Pa Fa' for Fa = [F F_f; 0 I] (header): the factors do not move, so only the state's
// rows change, M Pa M' and M Pa[:, factors] with M = [F F_f] (4 x 6): half the work of the
// dense 6 x 6 product.
void propagate(const battery::StepLinearisation<S, 2>& ls, AugMatrix& pa) noexcept {
  constexpr int NX = StateIdx::size;
  Eigen::Matrix<double, NX, NA> m;
  m << ls.f, ls.f_factor;
  const Eigen::Matrix<double, NX, NA> mp = m * pa;
  pa.topLeftCorner<NX, NX>().noalias() = mp * m.transpose();
  pa.topRightCorner<NX, 2>() = mp.rightCols<2>();
  pa.bottomLeftCorner<2, NX>() = mp.rightCols<2>().transpose();
}
}  // namespace

Status SafeHorizon::compute(const battery::StateVector& x, const battery::StateMatrix& P, const double* plan_a,
                            std::size_t plan_len, const TwinEstimate& twin, SafeHorizonResult& out) const noexcept {
  const SafeHorizonConfig& cf = config_;
  out = SafeHorizonResult{};
  out.event = true;  // until a tube is computed: fail closed
  out.probability = tube_probability(cf.confidence_sigma);
  if (plan_a == nullptr || plan_len == 0) return out.status = Status::invalid_argument;
  bool finite = x.allFinite() && P.allFinite() && std::isfinite(twin.r0_factor) &&
                std::isfinite(twin.r0_factor_sigma) && std::isfinite(twin.capacity_factor) &&
                std::isfinite(twin.capacity_factor_sigma) && std::isfinite(twin.model_error_v) &&
                std::isfinite(twin.model_error_k);
  const int n_steps = cf.max_steps();
  const std::size_t used = std::min(plan_len, static_cast<std::size_t>(n_steps));
  for (std::size_t i = 0; i < used && finite; ++i) finite = std::isfinite(plan_a[i]);
  if (!finite) return out.status = Status::non_finite_input;
  if (!(x[StateIdx::temp] > 0.0) || !(twin.r0_factor > 0.0) || !(twin.capacity_factor > 0.0) ||
      twin.r0_factor_sigma < 0.0 || twin.capacity_factor_sigma < 0.0 || twin.model_error_v < 0.0 ||
      twin.model_error_k < 0.0 || (P.diagonal().array() < 0.0).any())
    return out.status = Status::invalid_argument;

  const battery::CellParams& p = cf.cell;
  const double r0_base = cf.scaling.resistance_factor * cf.scaling.r0_factor;
  battery::ModelFactors<double> f;
  f.r0 = r0_base * twin.r0_factor;
  f.capacity = cf.scaling.capacity_factor * twin.capacity_factor;
  f.rc = cf.scaling.resistance_factor;
  // The factors' sigmas in the model's own factors (the twin's factor times the configured scaling).
  AugMatrix pa = AugMatrix::Zero();
  pa.topLeftCorner<StateIdx::size, StateIdx::size>() = P;
  pa(StateIdx::size, StateIdx::size) = (r0_base * twin.r0_factor_sigma) * (r0_base * twin.r0_factor_sigma);
  const double cap_sigma = cf.scaling.capacity_factor * twin.capacity_factor_sigma;
  pa(StateIdx::size + 1, StateIdx::size + 1) = cap_sigma * cap_sigma;

  const double kappa = cf.confidence_sigma;
  const double e_v = std::max(cf.model_error_v, twin.model_error_v);
  const double e_k = std::max(cf.model_error_k, twin.model_error_k);
  const double e_soc = cf.model_error_soc;
  const double v_hi = p.limits.voltage_max_v - cf.voltage_margin_v, v_lo = p.limits.voltage_min_v + cf.voltage_margin_v;
  const double t_hi = p.limits.temp_max_k - cf.temp_margin_k, t_lo = p.limits.temp_min_k + cf.temp_margin_k;
  const double s_hi = cf.soc_max - cf.soc_margin, s_lo = cf.soc_min + cf.soc_margin;

  battery::StepLinearisation<S, 2> ls;
  battery::VoltageLinearisation<S, 2> lv;
  AugRow c;
  double xs[StateIdx::size];
  for (int i = 0; i < StateIdx::size; ++i) xs[i] = x[i];

  // The voltage tube from a linearisation lv at the state after j steps: inside [v_lo, v_hi]?
  const auto voltage_inside = [&](int j, HorizonLimit& limit, double& half) {
    c << lv.dv_dx, lv.dv_dfactor;
    half = kappa * std::sqrt(std::max(c.dot(pa * c.transpose()), 0.0)) + std::max(j, 1) * e_v;
    if (lv.v + half > v_hi)
      limit = HorizonLimit::voltage_max;
    else if (lv.v - half < v_lo)
      limit = HorizonLimit::voltage_min;
    return limit == HorizonLimit::none && std::isfinite(lv.v);
  };

  // One pass per state x_n (n = 0 .. n_steps): first the end-of-step checks of step n - 1 (V under
  // its current, T, SOC after n steps), then the start-of-step check of step n under its current
  // when it changed, then the step itself. The voltage at the start of a step under an unchanged
  // current is the end voltage of the step before: both come from the one evaluation of the model
  // that also linearises the step (linearise_step_and_voltage), so a held plan costs one model
  // evaluation per step, not two. Two tubes end apart (header): the voltage nodes' (V and SOC,
  // which only the voltage informs) and the temperature node's; the loop runs until both ended.
  double half_v = 0.0;
  double prev_current = 0.0;
  HorizonLimit limit_v = HorizonLimit::none, limit_k = HorizonLimit::none;
  bool open_v = true, open_k = true;
  int inside_v = 0, inside_k = 0, computed = 0;
  const auto end_v = [&](HorizonLimit l) {
    open_v = false;
    limit_v = l == HorizonLimit::none ? HorizonLimit::voltage_max : l;  // none: a NaN voltage
  };
  for (int n = 0; n <= n_steps && (open_v || open_k); ++n) {
    const double current = plan_a[std::min(static_cast<std::size_t>(std::min(n, n_steps - 1)), plan_len - 1)];
    const bool changed = n == 0 || current != prev_current;
    const bool last = n == n_steps;
    if (!last) {
      const auto* fixed_a = current < 0.0 ? &fixed_a_charge_ : &fixed_a_discharge_;
      if (changed && n > 0 && open_v) {  // the end of step n - 1 under its own current
        battery::linearise_voltage<S, 2>(p, xs, prev_current, f, lv);
        HorizonLimit l = HorizonLimit::none;
        if (!voltage_inside(n, l, half_v)) end_v(l);
      }
      battery::linearise_step_and_voltage<S, 2>(p, xs, current, cf.step_s, f, ls, lv, {}, fixed_a);
    } else if (open_v) {
      battery::linearise_voltage<S, 2>(p, xs, prev_current, f, lv);
    }
    if (n > 0) {
      if (open_v && (!changed || last)) {
        HorizonLimit l = HorizonLimit::none;
        if (!voltage_inside(n, l, half_v)) end_v(l);
      }
      const double half_k = kappa * std::sqrt(pa(StateIdx::temp, StateIdx::temp)) + n * e_k;
      const double half_s = kappa * std::sqrt(pa(StateIdx::soc, StateIdx::soc)) + n * e_soc;
      const double t = xs[StateIdx::temp], s = xs[StateIdx::soc];
      if (open_k && !(t + half_k <= t_hi)) {
        open_k = false;
        limit_k = HorizonLimit::temp_max;
      } else if (open_k && !(t - half_k >= t_lo)) {
        open_k = false;
        limit_k = HorizonLimit::temp_min;
      }
      if (open_v && !(s + half_s <= s_hi))
        end_v(HorizonLimit::soc_max);
      else if (open_v && !(s - half_s >= s_lo))
        end_v(HorizonLimit::soc_min);
      if (open_v) inside_v = n;
      if (open_k) inside_k = n;
      if (open_v && open_k) {
        out.half_width_v = half_v;
        out.half_width_k = half_k;
        out.half_width_soc = half_s;
      }
    }
    if (last || !(open_v || open_k)) break;
    if (changed && open_v) {  // the start of step n under its (new) current
      double h = 0.0;
      HorizonLimit l = HorizonLimit::none;
      if (!voltage_inside(n, l, h)) {
        end_v(l);
        if (!open_k) break;
      }
    }
    prev_current = current;
    propagate(ls, pa);
    pa.diagonal().head<StateIdx::size>() += cf.process_noise_var;
    for (int i = 0; i < StateIdx::size; ++i) xs[i] = ls.x_next[i];
    computed = n + 1;
  }
  const auto tube = [&](bool open, int inside) { return open ? cf.max_horizon_s : inside * cf.step_s; };
  const auto tau = [&](double tube_s) {
    return tube_s < cf.min_interval_s ? tube_s : std::min(std::max(tube_s, cf.min_interval_s), cf.max_horizon_s);
  };
  out.tube_voltage_s = tube(open_v, inside_v);
  out.tube_temp_s = tube(open_k, inside_k);
  out.event_voltage = out.tube_voltage_s < cf.min_interval_s;
  out.event_temp = out.tube_temp_s < cf.min_interval_s;
  out.tau_voltage_s = tau(out.tube_voltage_s);
  out.tau_temp_s = tau(out.tube_temp_s);
  // The first limit overall: the earlier tube's; at the same step the checks' order V, T, SOC.
  const bool v_first =
      !open_v && (open_k || inside_v < inside_k ||
                  (inside_v == inside_k && limit_v != HorizonLimit::soc_max && limit_v != HorizonLimit::soc_min));
  out.limit = v_first ? limit_v : limit_k;
  out.steps = std::max(computed, 1);
  out.tube_s = std::min(out.tube_voltage_s, out.tube_temp_s);
  out.event = out.tube_s < cf.min_interval_s;
  out.tau_s = tau(out.tube_s);
  return out.status = Status::ok;
}

}  // namespace safetwin::safety
