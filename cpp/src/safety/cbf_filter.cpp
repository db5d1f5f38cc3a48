#include "safetwin/safety/cbf_filter.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::safety {

using battery::StateIdx;

const char* to_string(Barrier b) noexcept {
  switch (b) {
    case Barrier::voltage_max: return "voltage_max";
    case Barrier::voltage_min: return "voltage_min";
    case Barrier::temp_max: return "temp_max";
    case Barrier::soc_max: return "soc_max";
    case Barrier::soc_min: return "soc_min";
    case Barrier::current_charge: return "current_charge";
    case Barrier::current_discharge: return "current_discharge";
    case Barrier::measured_voltage_max: return "measured_voltage_max";
    case Barrier::measured_voltage_min: return "measured_voltage_min";
    case Barrier::measured_temp_max: return "measured_temp_max";
  }
  return "unknown";
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The current I at which OCV(soc - c*I) - k*I = rhs, with c > 0, k > 0 and the OCV table rising:
// the left side falls strictly with I, so the root is unique. The table is piecewise linear (and
// constant beyond its ends, as OcvTable::voltage_v clamps), so the root is found exactly by walking
// the segments from I = 0 towards it: each segment is one linear equation. NaN if not found.
double ocv_root(const battery::OcvTable& table, double soc, double c, double k, double rhs) noexcept {
  const auto& S = table.soc();
  const auto& V = table.ocv_v();
  const std::size_t n = S.size();
  double I = 0.0;
  double u = soc;                         // SOC at the end of the step for current I
  double f = table.voltage_v(soc) - rhs;  // left minus right side at I
  if (f == 0.0) return 0.0;
  const bool up = f > 0.0;  // f > 0: the root lies at larger I (u falls)
  for (std::size_t it = 0; it < n + 3; ++it) {
    double s = 0.0, du = kInf;  // slope of the OCV on the side of u we move to, room there
    if (up) {
      if (u > S[n - 1]) {
        du = u - S[n - 1];
      } else if (u > S[0]) {
        const std::size_t j = static_cast<std::size_t>(std::lower_bound(S.begin(), S.end(), u) - S.begin()) - 1;
        s = (V[j + 1] - V[j]) / (S[j + 1] - S[j]);
        du = u - S[j];
      }
    } else {
      if (u < S[0]) {
        du = S[0] - u;
      } else if (u < S[n - 1]) {
        const std::size_t j = static_cast<std::size_t>(std::upper_bound(S.begin(), S.end(), u) - S.begin()) - 1;
        s = (V[j + 1] - V[j]) / (S[j + 1] - S[j]);
        du = S[j + 1] - u;
      }
    }
    const double rate = c * s + k;  // |df/dI| on this piece
    const double di = std::abs(f) / rate;
    if (di * c <= du) return up ? I + di : I - di;
    const double step = du / c;
    I += up ? step : -step;
    u += up ? -du : du;
    f += up ? -rate * step : rate * step;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// The currents with r0 I^2 - r_rev I <= rhs (r0 > 0): an interval, empty (lo > hi) when none.
void quadratic_interval(double r0, double r_rev, double rhs, double& lo, double& hi) noexcept {
  const double disc = r_rev * r_rev + 4.0 * r0 * rhs;
  if (disc >= 0.0) {
    const double root = std::sqrt(disc);
    lo = (r_rev - root) / (2.0 * r0);
    hi = (r_rev + root) / (2.0 * r0);
  } else {
    lo = kInf;  // empty: no current keeps the condition
    hi = -kInf;
  }
}

}  // namespace

void CbfConfig::validate() const {
  cell.validate();
  scaling.validate("CbfConfig.scaling");
  const auto& v = cell.ocv.ocv_v();
  for (std::size_t i = 0; i + 1 < v.size(); ++i)
    if (!(v[i + 1] > v[i]))
      throw_invalid("CbfConfig.cell.ocv", v[i + 1], "must rise strictly with SOC (segment " + std::to_string(i) + ")");
  require_in_range("CbfConfig.soc_min", soc_min, 0.0, 1.0);
  require_in_range("CbfConfig.soc_max", soc_max, 0.0, 1.0);
  if (!(soc_max > soc_min))
    throw_invalid("CbfConfig.soc_max", soc_max, "must be > soc_min = " + std::to_string(soc_min));
  for (int b = 0; b < kBarrierCount; ++b) {
    const double g = gamma[static_cast<std::size_t>(b)];
    if (!(g > 0.0 && g <= 1.0))
      throw_invalid(std::string("CbfConfig.gamma[") + to_string(static_cast<Barrier>(b)) + "]", g, "must be in (0, 1]");
  }
  require_non_negative("CbfConfig.confidence_sigma", confidence_sigma);
  require_non_negative("CbfConfig.model_error_v", model_error_v);
  require_non_negative("CbfConfig.model_error_k", model_error_k);
  require_non_negative("CbfConfig.model_error_soc", model_error_soc);
  require_non_negative("CbfConfig.heat_detect_sigma", heat_detect_sigma);
  require_in_range("CbfConfig.measured_voltage_margin_v", measured_voltage_margin_v, 0.0, 0.5);
  require_in_range("CbfConfig.measured_temp_margin_k", measured_temp_margin_k, 0.0, 10.0);
  if (!std::isnan(measured_temp_max_k)) require_positive("CbfConfig.measured_temp_max_k", measured_temp_max_k);
}

CbfFilter::CbfFilter(CbfConfig config) : config_((config.validate(), std::move(config))) {}

Status CbfFilter::filter(const battery::StateVector& x, const battery::StateMatrix& P, double requested_a, double dt_s,
                         double current_scale, CbfVerdict& out) const noexcept {
  return filter(x, P, requested_a, dt_s, current_scale, MeasuredBounds{}, out);
}

battery::ModelFactors<double> model_factors(const battery::CellScaling& s) noexcept {
  return battery::ModelFactors<double>{s.resistance_factor * s.r0_factor, s.capacity_factor, s.resistance_factor};
}

battery::CellScaling conservative_scaling(const battery::CellScaling& base, const TwinEstimate& twin,
                                          double kappa) noexcept {
  battery::CellScaling s = base;
  s.r0_factor *= twin.r0_factor + kappa * twin.r0_factor_sigma;
  s.capacity_factor *= std::max(twin.capacity_factor - kappa * twin.capacity_factor_sigma, 0.05);
  return s;
}

Status CbfFilter::filter(const battery::StateVector& x, const battery::StateMatrix& P, double requested_a, double dt_s,
                         double current_scale, const MeasuredBounds& measured, CbfVerdict& out) const noexcept {
  return filter(x, P, requested_a, dt_s, current_scale, measured, TwinEstimate{}, out);
}

Status CbfFilter::filter(const battery::StateVector& x, const battery::StateMatrix& P, double requested_a, double dt_s,
                         double current_scale, const MeasuredBounds& measured, const TwinEstimate& twin,
                         CbfVerdict& out) const noexcept {
  out = CbfVerdict{};
  out.requested_a = requested_a;
  out.current_a = 0.0;
  if (!x.allFinite() || !P.allFinite() || !std::isfinite(requested_a) || !std::isfinite(dt_s) ||
      !std::isfinite(current_scale) || !std::isfinite(measured.current_a) || std::isinf(measured.voltage_max_v) ||
      std::isinf(measured.voltage_min_v) || std::isinf(measured.temperature_max_k) ||
      !std::isfinite(measured.voltage_max_sigma_v) || !std::isfinite(measured.voltage_min_sigma_v) ||
      std::isinf(measured.voltage_max_change_v) || std::isinf(measured.voltage_min_change_v) ||
      std::isinf(measured.current_change_a) || !std::isfinite(twin.r0_factor) || !std::isfinite(twin.r0_factor_sigma) ||
      !std::isfinite(twin.capacity_factor) || !std::isfinite(twin.capacity_factor_sigma) ||
      !std::isfinite(twin.model_error_v) || !std::isfinite(twin.model_error_k) || !std::isfinite(twin.extra_heat_w) ||
      !std::isfinite(twin.extra_heat_sigma_w) || !std::isfinite(twin.cooling_factor) ||
      !std::isfinite(twin.cooling_factor_sigma)) {
    out.status = Status::non_finite_input;
    out.modified = requested_a != 0.0;
    return out.status;
  }
  if (!(dt_s > 0.0) || !(current_scale >= 0.0 && current_scale <= 1.0) || !(x[StateIdx::temp] > 0.0) ||
      !(twin.r0_factor > 0.0) || !(twin.capacity_factor > 0.0) || twin.r0_factor_sigma < 0.0 ||
      measured.voltage_max_sigma_v < 0.0 || measured.voltage_min_sigma_v < 0.0 || twin.capacity_factor_sigma < 0.0 ||
      twin.model_error_v < 0.0 || twin.model_error_k < 0.0 || twin.extra_heat_sigma_w < 0.0 ||
      !(twin.cooling_factor > 0.0) || twin.cooling_factor_sigma < 0.0) {
    out.status = Status::invalid_argument;
    out.modified = requested_a != 0.0;
    return out.status;
  }
  const CbfConfig& cf = config_;
  const battery::CellParams& p = cf.cell;
  const double soc = x[StateIdx::soc], v1 = x[StateIdx::v_rc1], v2 = x[StateIdx::v_rc2], T = x[StateIdx::temp];
  // The one cell model's step, frozen at x (battery::step_coefficients), with the conservative
  // twin. Its resistance side is the request's: only the bounds on the request's side of 0 can
  // bind (every lower bound is <= 0 and every upper bound >= 0, the temperature's aside, which is
  // symmetric), so the side that decides the result is evaluated exactly.
  const battery::ModelFactors<double> factors =
      model_factors(conservative_scaling(cf.scaling, twin, cf.confidence_sigma));
  const auto k = battery::step_coefficients<battery::RefStructure>(p, x.data(), dt_s, requested_a, factors);
  const double a1 = k.a[0], a2 = k.a[1], b1 = k.b[0], b2 = k.b[1];
  const double c = k.soc_per_a;
  const double emf = k.emf_v;  // V[k] at I = 0
  const double rc_heat_w = v1 * v1 / k.r_ohm[0] + v2 * v2 / k.r_ohm[1];
  // The thermal twin (header): the unexplained heat, never below 0, and cooling credited up to c <= 1.
  const double extra_heat_w = std::max(twin.extra_heat_w, 0.0);
  const double cooling = std::min(twin.cooling_factor, 1.0);
  const double heat_const_w =
      k.heat_const_w + extra_heat_w + (1.0 - cooling) * p.heat_transfer_w_per_k * (T - p.ambient_temp_k);

  // Margins from the covariance: the spread of V now and after the step, of T and of SOC.
  const double slope = k.ocv_slope_v;
  battery::StateVector g0, g1;
  g0 << slope, -1.0, -1.0, 0.0;
  g1 << slope, -a1, -a2, 0.0;
  const double var_v = std::max(g0.dot(P * g0), g1.dot(P * g1));
  const double kappa = cf.confidence_sigma;
  out.voltage_margin_v = kappa * std::sqrt(std::max(var_v, 0.0)) + std::max(cf.model_error_v, twin.model_error_v);
  out.temp_margin_k = kappa * std::sqrt(std::max(P(StateIdx::temp, StateIdx::temp), 0.0)) +
                      std::max(cf.model_error_k, twin.model_error_k);
  out.soc_margin = kappa * std::sqrt(std::max(P(StateIdx::soc, StateIdx::soc), 0.0)) + cf.model_error_soc;
  if (var_v < 0.0 || P(StateIdx::temp, StateIdx::temp) < 0.0 || P(StateIdx::soc, StateIdx::soc) < 0.0) {
    out.status = Status::invalid_argument;  // not a covariance: the margin cannot be trusted
    out.modified = requested_a != 0.0;
    return out.status;
  }

  auto& lo = out.barrier_lo_a;
  auto& hi = out.barrier_hi_a;
  lo.fill(-kInf);
  hi.fill(kInf);
  const auto G = [&](Barrier b) { return cf.gamma[static_cast<std::size_t>(b)]; };
  const auto B = [](Barrier b) { return static_cast<std::size_t>(b); };

  // V[k+1](I) - (1-gamma) V[k](I) = OCV(soc - cI) - kI + base, with k = gamma*R0 + b1 + b2 > 0. The
  // table's OCV is solved for; what the model adds to it at x (an entropic term, the linear
  // extrapolation beyond the table) is held over the step.
  const double ocv_offset_v = emf - (p.ocv.voltage_v(soc) - v1 - v2);
  const auto next_voltage_root = [&](double gamma, double bound) {
    const double kr = gamma * k.r0_ohm + b1 + b2;
    const double base = ocv_offset_v - a1 * v1 - a2 * v2 - (1.0 - gamma) * emf;
    return ocv_root(p.ocv, soc, c, kr, gamma * bound - base);
  };
  {  // voltage_max: V[k](I) <= V_max - m and the CBF condition on V[k+1]: both lower bounds on I.
    const double vmax = p.limits.voltage_max_v - out.voltage_margin_v;
    const double now = (emf - vmax) / k.r0_ohm;
    const double next = next_voltage_root(G(Barrier::voltage_max), vmax);
    lo[B(Barrier::voltage_max)] = std::min(std::max(now, next), 0.0);  // never demands a discharge (header)
  }
  {  // voltage_min: upper bounds on I.
    const double vmin = p.limits.voltage_min_v + out.voltage_margin_v;
    const double now = (emf - vmin) / k.r0_ohm;
    const double next = next_voltage_root(G(Barrier::voltage_min), vmin);
    hi[B(Barrier::voltage_min)] = std::max(std::min(now, next), 0.0);  // never demands a charge
  }
  {  // temp_max: dt/C_th (R0 I^2 - r_rev I + q) <= gamma (T_max - m - T), q the twin's heat at I = 0.
    const double t_lim = p.limits.temp_max_k - out.temp_margin_k;
    const double rhs = G(Barrier::temp_max) * (t_lim - T) / k.dt_per_cth - heat_const_w;
    quadratic_interval(k.r0_ohm, k.reversible_w_per_a, rhs, lo[B(Barrier::temp_max)], hi[B(Barrier::temp_max)]);
    // The heat still to come (header): a detected unexplained heat that settles past the limit at 0 A.
    const double hA = p.heat_transfer_w_per_k;
    const double q_u = extra_heat_w + (1.0 - cooling) * hA * (T - p.ambient_temp_k);
    const double q_hi = q_u + kappa * twin.extra_heat_sigma_w;
    if (q_u > cf.heat_detect_sigma * twin.extra_heat_sigma_w && q_u > 0.0 &&
        p.ambient_temp_k * hA + q_hi >= t_lim * hA) {
      lo[B(Barrier::temp_max)] = std::max(lo[B(Barrier::temp_max)], 0.0);
      hi[B(Barrier::temp_max)] = std::min(hi[B(Barrier::temp_max)], 0.0);
    }
  }
  // SOC window: SOC[k+1] = SOC - cI.
  lo[B(Barrier::soc_max)] = std::min(-G(Barrier::soc_max) * (cf.soc_max - out.soc_margin - soc) / c, 0.0);
  hi[B(Barrier::soc_min)] = std::max(G(Barrier::soc_min) * (soc - cf.soc_min - out.soc_margin) / c, 0.0);
  // Measurement-based barriers (header): the most conservative valid readings, no state estimate.
  if (cf.measured_limits) {
    const double rs = k.r0_ohm + b1 + b2;  // the voltage change per ampere within one step
    const double im = measured.current_a;
    // The drift of the voltage over the step beside the change of current (header): the OCV
    // moving with the charge, slope c per ampere, and the RC pairs relaxing towards R_i I_m,
    // d0 = sum (1 - a_i)(v_i - R_i I_m) at the estimate. d0 only ever tightens a bound (taken
    // >= 0 for the upper limit, <= 0 for the lower), so a wrong estimate of v_i never releases
    // more than the measurement alone would.
    const double sc = k.ocv_slope_v * c;
    const double d0 = (1.0 - a1) * (v1 - k.r_ohm[0] * im) + (1.0 - a2) * (v2 - k.r_ohm[1] * im);
    // The observed drift per step (header, smoothed by the cycle), at the twin's OCV term of the held current;
    // NaN when not observed, and then the comparisons below keep d0.
    const auto observed = [&](double change_v) {
      return std::isnan(change_v) || std::isnan(measured.current_change_a)
                 ? std::numeric_limits<double>::quiet_NaN()
                 : change_v + rs * measured.current_change_a + sc * im;
    };
    const auto margin = [&](double sigma_v) { return std::max(cf.measured_voltage_margin_v, kappa * sigma_v); };
    if (!std::isnan(measured.voltage_max_v)) {
      const double room = p.limits.voltage_max_v - margin(measured.voltage_max_sigma_v) - measured.voltage_max_v;
      const double seen = observed(measured.voltage_max_change_v);
      const double drift = std::max(std::max(d0, 0.0), std::isnan(seen) ? 0.0 : seen);
      const double bound = (rs * im + drift - G(Barrier::measured_voltage_max) * room) / (rs + sc);
      lo[B(Barrier::measured_voltage_max)] = std::min(bound, 0.0);
    }
    if (!std::isnan(measured.voltage_min_v)) {
      const double room = measured.voltage_min_v - p.limits.voltage_min_v - margin(measured.voltage_min_sigma_v);
      const double seen = observed(measured.voltage_min_change_v);
      const double drift = std::min(std::min(d0, 0.0), std::isnan(seen) ? 0.0 : seen);
      const double bound = (rs * im + drift + G(Barrier::measured_voltage_min) * room) / (rs + sc);
      hi[B(Barrier::measured_voltage_min)] = std::max(bound, 0.0);
    }
    if (!std::isnan(measured.temperature_max_k)) {
      const double tm = measured.temperature_max_k;
      const double q_in = rc_heat_w + extra_heat_w +
                          p.heat_transfer_w_per_k * std::max(p.ambient_temp_k - tm, 0.0);  // no cooling credit
      const double t_lim = std::isnan(cf.measured_temp_max_k) ? p.limits.temp_max_k : cf.measured_temp_max_k;
      const double rhs = G(Barrier::measured_temp_max) * (t_lim - cf.measured_temp_margin_k - tm) / k.dt_per_cth - q_in;
      quadratic_interval(k.r0_ohm, k.reversible_w_per_a, rhs, lo[B(Barrier::measured_temp_max)],
                         hi[B(Barrier::measured_temp_max)]);
    }
  }
  // Input bounds (derated by the supervisor).
  lo[B(Barrier::current_charge)] = -p.limits.charge_current_max_a * current_scale;
  hi[B(Barrier::current_discharge)] = p.limits.discharge_current_max_a * current_scale;

  double lo_all = -kInf, hi_all = kInf;
  bool nan = false;
  for (int b = 0; b < kBarrierCount; ++b) {
    const auto i = static_cast<std::size_t>(b);
    if (std::isnan(lo[i]) || std::isnan(hi[i])) nan = true;
    lo_all = std::max(lo_all, lo[i]);
    hi_all = std::min(hi_all, hi[i]);
  }
  out.lo_a = lo_all;
  out.hi_a = hi_all;
  if (nan) {
    out.status = Status::numerical_error;
    out.modified = requested_a != 0.0;
    out.lo_a = out.hi_a = 0.0;
    return out.status;
  }
  if (!(lo_all <= hi_all)) {
    // Conflict: report every barrier that excludes the other side's tightest bound (or is empty).
    for (int b = 0; b < kBarrierCount; ++b) {
      const auto i = static_cast<std::size_t>(b);
      if (lo[i] > hi[i] || lo[i] > hi_all || hi[i] < lo_all) out.conflict |= 1u << static_cast<unsigned>(b);
    }
    out.status = Status::ok;  // the call worked; its decision is the safe action (decision fallback)
    out.current_a = 0.0;
    out.modified = requested_a != 0.0;
    return out.status;
  }
  out.current_a = std::min(std::max(requested_a, lo_all), hi_all);
  out.modified = out.current_a != requested_a;
  if (out.modified) {
    for (int b = 0; b < kBarrierCount; ++b) {
      const auto i = static_cast<std::size_t>(b);
      if (lo[i] == out.current_a || hi[i] == out.current_a) out.active |= 1u << static_cast<unsigned>(b);
    }
  }
  out.decision = Decision::applied;
  out.status = Status::ok;
  return out.status;
}

}  // namespace safetwin::safety
