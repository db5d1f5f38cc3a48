#pragma once
// The one cell model of the stack: the equivalent circuit (1..3 RC pairs, optional one-state
// hysteresis) with a lumped thermal model, written once and used by the plant (Pack), the
// estimator (BatteryEkf), the MPC's linearisation and, through coefficients(), the CBF filter and
// the supervisor. Every function is templated on the scalar T: with T = double it is the model,
// with T = Dual<N> (dual.hpp) the same code gives its Jacobian (linearise_step/linearise_voltage),
// so the Jacobians have one source. No allocation, no exception, sizes fixed by the structure.
//
// Equations (current I > 0 discharges; every coefficient at the state of the start of the step,
// zero-order hold on I over dt):
//   SOC'  = SOC - eta I dt / (3600 Q)                  Q = capacity_ah * capacity factor
//   v_i'  = a_i v_i + R_i (1 - a_i) I,  a_i = exp(-dt / tau_i)   (exact discretisation)
//   h'    = A_h h + (A_h - 1) sgn(I),   A_h = exp(-|I| gamma dt / (3600 Q))   (hysteresis)
//   s'    = -sgn(I) if I != 0, else s   (-1 after discharge, +1 after charge; |I| <= 1 uA is 0)
//   T'    = T + dt / C_th (I^2 R0 + sum v_i^2 / R_i - I T dU/dT + q_extra - hA c (T - T_amb))
//   V     = OCV(SOC) + dU/dT (T - 298.15) + M h + M0 s_I - R0 I - sum v_i,  s_I = s' (the sign
//           under the present current, s when I = 0)
// With a Butler–Volmer charge transfer (CellParams::exchange_current_a = I0), R0 above is the series
// resistance R0 + eta(I)/I, the ohmic part plus the chord of eta(I) = (2RT/F) asinh(I / (2 I0)): the
// voltage loses R0 I + eta(I) and the heat is I^2 R0 + I eta(I). Without it R0 is the ohmic part alone.
// R0, R_i: constants scaled by the Arrhenius factor exp(E (1/T - 1/298.15)), or tables over
// (SOC, T) used as they are; a separate charge-side surface is used when I < 0. tau_i is the
// product of the R and C surfaces as given (for constants: fixed). The OCV is extrapolated
// linearly beyond its table (the estimator may push SOC a little outside; the value and slope stay
// consistent); parameter surfaces clamp at their edges. The hysteresis heat is not modelled.
#include <array>
#include <cmath>
#include <type_traits>
#include <utility>

#include <Eigen/Core>

#include "safetwin/battery/cell_params.hpp"
#include "safetwin/battery/cell_structure.hpp"
#include "safetwin/battery/dual.hpp"

namespace safetwin::battery {

using std::exp;  // exp(double) and exp(Dual) side by side for the templates below

// Factors on the nominal cell: ageing and spread in the plant, the joint estimates in the EKF.
template <class T>
struct ModelFactors {
  T r0 = T(1.0);        // on R0 (resistance growth times the R0 spread; the EKF's r0_factor)
  T capacity = T(1.0);  // on the capacity (the EKF's capacity_factor)
  double rc = 1.0;      // on every RC resistance (time constants kept)
};

// Plant-side thermal inputs of one step (the estimator and the controllers use the defaults).
struct ThermalInputs {
  double cooling_factor = 1.0;  // on the heat transfer (0: cooling lost)
  double extra_heat_w = 0.0;    // heat from outside the cell model (an internal short)
};

// Resistances and time constants of one structure at one operating point.
template <int NRC, class T = double>
struct RcCoefficients {
  T r0_ohm{};
  std::array<T, NRC> r_ohm{};
  std::array<T, NRC> tau_s{};
  std::array<bool, NRC> tau_fixed{};  // tau from constant surfaces: no derivative (a cheaper decay)
};

// A parameter surface at (soc, temp) with the derivative of its interpolation.
template <class T>
SAFETWIN_MODEL_INLINE T surface_at(const ParamSurface& s, const T& soc, const T& temp_k) noexcept {
  if (s.is_constant()) return T(s.values()[0]);
  double d_soc = 0.0, d_temp = 0.0;
  const double v = s.at(value_of(soc), value_of(temp_k), &d_soc, &d_temp);
  return chain2(v, d_soc, soc, d_temp, temp_k);
}

// exp(E (1/T - 1/T_ref)): the temperature factor of constant resistances.
template <class T>
SAFETWIN_MODEL_INLINE T arrhenius_factor(const CellParams& p, const T& temp_k) noexcept {
  return exp(p.arrhenius_k * (1.0 / temp_k - 1.0 / kReferenceTempK));
}

// A resistance surface: a constant is its value at 25 °C times the Arrhenius factor, a table is
// used as it is.
template <class T>
SAFETWIN_MODEL_INLINE T resistance_at(const ParamSurface& s, const T& soc, const T& temp_k,
                                      const T& arrhenius) noexcept {
  return s.is_constant() ? s.values()[0] * arrhenius : surface_at(s, soc, temp_k);
}

// F / R (K/V): the Faraday constant over the gas constant (CODATA 2018).
constexpr double kFaradayOverGasK_per_V = 96485.33212 / 8.314462618;

// asinh(u) / u, 1 at u = 0, with its derivative for duals. Near 0 the quotient loses digits, so
// there it is its series 1 - u^2/6 + 3 u^4/40 (the next term, 5 u^6/112, is below 1e-25 at 1e-4).
SAFETWIN_MODEL_INLINE double asinh_ratio_slope(double u, double ratio) noexcept {
  return std::abs(u) < 1e-4 ? u * (-1.0 / 3.0 + 0.3 * u * u) : (1.0 / std::sqrt(1.0 + u * u) - ratio) / u;
}
template <class T>
SAFETWIN_MODEL_INLINE T asinh_ratio(const T& u) noexcept {
  const double x = value_of(u);
  const double r = std::abs(x) < 1e-4 ? 1.0 + x * x * (-1.0 / 6.0 + 0.075 * x * x) : std::asinh(x) / x;
  if constexpr (std::is_same_v<T, double>) {
    return r;
  } else {
    return chain(r, asinh_ratio_slope(x, r), u);
  }
}

// The chord eta(I)/I of the Butler–Volmer overpotential eta(I) = (2RT/F) asinh(I / (2 I0)):
// (R T / (F I0)) asinh(u)/u with u = I / (2 I0). It is largest at I = 0 (R T / (F I0)) and falls
// with |I|, which is how the cell's resistance falls with current (a cell with a charge transfer only).
template <class T, class C>
SAFETWIN_MODEL_INLINE T charge_transfer_chord_ohm(const CellParams& p, const T& soc, const T& temp_k,
                                                  const C& current_a) noexcept {
  const ParamSurface& s = *p.exchange_current_a;
  if (s.is_constant()) {  // a plain number: no division of duals
    const double i0 = s.values()[0];
    return temp_k * (1.0 / (kFaradayOverGasK_per_V * i0)) * asinh_ratio(current_a * (0.5 / i0));
  }
  const T inv_i0 = 1.0 / surface_at(s, soc, temp_k);
  return temp_k * inv_i0 * (1.0 / kFaradayOverGasK_per_V) * asinh_ratio(current_a * (0.5 * inv_i0));
}

// The series resistance under current_a: R0's surface of the direction (`charging`), with the
// Arrhenius factor when constant, plus the charge-transfer chord at current_a when the cell has
// one, times the R0 factor. current_a only enters through the chord: without charge transfer the
// result is R0 at (soc, temp_k) whatever the current.
template <class T, class F, class C>
SAFETWIN_MODEL_INLINE T series_resistance(const CellParams& p, const T& r_ohmic, const T& soc, const T& temp_k,
                                          const ModelFactors<F>& f, const C& current_a) noexcept {
  if (!p.exchange_current_a) return r_ohmic * f.r0;
  return (r_ohmic + charge_transfer_chord_ohm(p, soc, temp_k, current_a)) * f.r0;
}

// R0 alone (the terminal voltage needs nothing else), under current_a (the charge-transfer chord's).
template <class T, class F, class C>
SAFETWIN_MODEL_INLINE T r0_at(const CellParams& p, const T& soc, const T& temp_k, bool charging,
                              const ModelFactors<F>& f, const C& current_a) noexcept {
  const ParamSurface& s = p.r0_surface(charging);
  const T r = s.is_constant() ? s.values()[0] * arrhenius_factor(p, temp_k) : surface_at(s, soc, temp_k);
  return series_resistance(p, r, soc, temp_k, f, current_a);
}

// The coefficients of the direction `charging`, R0 with the charge-transfer chord at current_a
// (series_resistance; a caller that needs a bound over every current of the direction passes 0,
// where the chord is largest).
template <int NRC, class T, class F, class C>
SAFETWIN_MODEL_INLINE RcCoefficients<NRC, T> rc_coefficients(const CellParams& p, const T& soc, const T& temp_k,
                                                             bool charging, const ModelFactors<F>& f,
                                                             const C& current_a) noexcept {
  const T arrhenius = arrhenius_factor(p, temp_k);
  RcCoefficients<NRC, T> c;
  c.r0_ohm =
      series_resistance(p, resistance_at(p.r0_surface(charging), soc, temp_k, arrhenius), soc, temp_k, f, current_a);
  for (int i = 0; i < NRC; ++i) {
    const ParamSurface& r = p.rc_resistance(i, charging);
    c.r_ohm[i] = resistance_at(r, soc, temp_k, arrhenius) * f.rc;
    const ParamSurface& cap = p.rc_capacitance(i);
    c.tau_fixed[i] = r.is_constant() && cap.is_constant();
    c.tau_s[i] =
        c.tau_fixed[i] ? T(r.values()[0] * cap.values()[0]) : surface_at(r, soc, temp_k) * surface_at(cap, soc, temp_k);
  }
  return c;
}

// Constant surfaces only: the coefficients at T are those at 25 °C times the Arrhenius factor, the
// time constants fixed (what rc_coefficients computes for constants; the plant caches the 25 °C ones).
template <int NRC>
SAFETWIN_MODEL_INLINE RcCoefficients<NRC> constant_coefficients_at(const RcCoefficients<NRC>& at_25c,
                                                                   double arrhenius) noexcept {
  RcCoefficients<NRC> c = at_25c;
  c.r0_ohm *= arrhenius;
  for (int i = 0; i < NRC; ++i) c.r_ohm[i] *= arrhenius;
  return c;
}

// a_i = exp(-dt / tau_i) of the exact RC discretisation. `fixed_a` (optional): the decays of the
// fixed time constants at this dt_s, precomputed by fixed_decays() (a caller with a fixed step
// computes them once at setup; the values are the same bits).
template <int NRC, class T>
SAFETWIN_MODEL_INLINE std::array<T, NRC> rc_decay(const RcCoefficients<NRC, T>& c, double dt_s,
                                                  const std::array<double, NRC>* fixed_a = nullptr) noexcept {
  std::array<T, NRC> a;
  for (int i = 0; i < NRC; ++i)
    a[i] = c.tau_fixed[i] ? T(fixed_a != nullptr ? (*fixed_a)[i] : std::exp(-dt_s / value_of(c.tau_s[i])))
                          : exp(-dt_s / c.tau_s[i]);
  return a;
}

// The decays exp(-dt / tau_i) of the pairs whose time constant is fixed (constant R and C
// surfaces of that direction; entries of other pairs are not used), for rc_decay's `fixed_a`.
template <int NRC>
std::array<double, NRC> fixed_decays(const CellParams& p, bool charging, double dt_s) noexcept {
  const auto c = rc_coefficients<NRC>(p, 0.5, kReferenceTempK, charging, ModelFactors<double>{}, 0.0);
  std::array<double, NRC> a{};
  for (int i = 0; i < NRC; ++i)
    if (c.tau_fixed[i]) a[i] = std::exp(-dt_s / c.tau_s[i]);
  return a;
}

// OCV(SOC) + dU/dT(SOC) (T - 298.15), the table extrapolated linearly beyond its ends.
template <class T>
SAFETWIN_MODEL_INLINE T open_circuit_voltage(const CellParams& p, const T& soc, const T& temp_k) noexcept {
  const double s = value_of(soc);
  const double lo = p.ocv.soc().front(), hi = p.ocv.soc().back();
  T ocv;
  if constexpr (std::is_same_v<T, double>) {  // the plant's path: no slope needed inside the table
    ocv = s < lo   ? p.ocv.ocv_v().front() + p.ocv.slope_v(s) * (s - lo)
          : s > hi ? p.ocv.ocv_v().back() + p.ocv.slope_v(s) * (s - hi)
                   : p.ocv.voltage_v(s);
  } else {
    const double slope = p.ocv.slope_v(s);
    const double v = s < lo   ? p.ocv.ocv_v().front() + slope * (s - lo)
                     : s > hi ? p.ocv.ocv_v().back() + slope * (s - hi)
                              : p.ocv.voltage_v(s);
    ocv = chain(v, slope, soc);
  }
  if (p.entropic_v_per_k) ocv += surface_at(*p.entropic_v_per_k, soc, temp_k) * (temp_k - kReferenceTempK);
  return ocv;
}

// Below this magnitude a current counts as zero for the hysteresis sign: the plant's current split
// of a parallel group at rest leaves rounding residues of ~1e-16 A, which must not flip s.
constexpr double kHysteresisRestCurrentA = 1e-6;

// sgn(I) with the rest band above (0 inside it).
SAFETWIN_MODEL_INLINE double current_sign(double current_a) noexcept {
  return current_a > kHysteresisRestCurrentA ? 1.0 : current_a < -kHysteresisRestCurrentA ? -1.0 : 0.0;
}

// The hysteresis sign under current I: -sgn(I), or the last sign s at rest.
SAFETWIN_MODEL_INLINE double hysteresis_sign_under(double current_a, double last_sign) noexcept {
  const double sgn = current_sign(current_a);
  return sgn != 0.0 ? -sgn : last_sign;
}

// The cell's voltage at I = 0 except for the sign term, which takes the sign under `current_a`:
// V = emf - R0 I. The plant's Kirchhoff solve of a parallel group works with it.
template <class S, class T>
SAFETWIN_MODEL_INLINE T emf_v(const CellParams& p, const T* x, double current_a) noexcept {
  T v = open_circuit_voltage(p, x[S::soc], x[S::temp]);
  for (int i = 0; i < S::rc_pairs; ++i) v -= x[S::v_rc(i)];
  if constexpr (S::hysteresis) {
    const HysteresisParams& hp = *p.hysteresis;
    v += hp.m_v * x[S::hyst];
    const double sgn = current_sign(current_a);
    if (sgn == 0.0)
      v += hp.m0_v * x[S::hyst_sign];  // at rest: the last sign (a state)
    else
      v += -hp.m0_v * sgn;
  }
  return v;
}

// Terminal voltage under current_a (> 0 discharges).
template <class S, class T, class F>
SAFETWIN_MODEL_INLINE T terminal_voltage(const CellParams& p, const T* x, const T& current_a,
                                         const ModelFactors<F>& f) noexcept {
  const T r0 = r0_at(p, x[S::soc], x[S::temp], value_of(current_a) < 0.0, f, current_a);
  return emf_v<S>(p, x, value_of(current_a)) - r0 * current_a;
}

// One step from x under current_a with given coefficients and decays (the plant caches them).
template <class S, class T, class F>
SAFETWIN_MODEL_INLINE void step_with(const CellParams& p, const RcCoefficients<S::rc_pairs, T>& c,
                                     const std::array<T, S::rc_pairs>& a, const T* x, const T& current_a, double dt_s,
                                     const ModelFactors<F>& f, const ThermalInputs& th, T* x_next) noexcept {
  const T& I = current_a;
  const T& temp = x[S::temp];
  const F q_as = 3600.0 * p.capacity_ah * f.capacity;  // capacity in A s
  T heat =
      I * I * c.r0_ohm + th.extra_heat_w - (p.heat_transfer_w_per_k * th.cooling_factor) * (temp - p.ambient_temp_k);
  for (int i = 0; i < S::rc_pairs; ++i) {
    const T& v = x[S::v_rc(i)];
    heat += v * v / c.r_ohm[i];
    if (c.tau_fixed[i]) {  // a plain number: half the dual products
      const double ad = value_of(a[i]);
      x_next[S::v_rc(i)] = ad * v + (c.r_ohm[i] * (1.0 - ad)) * I;
    } else {
      x_next[S::v_rc(i)] = a[i] * v + c.r_ohm[i] * (1.0 - a[i]) * I;
    }
  }
  if (p.entropic_v_per_k) heat -= I * temp * surface_at(*p.entropic_v_per_k, x[S::soc], temp);
  if constexpr (S::hysteresis) {
    const double sgn = current_sign(value_of(I));
    const T a_h = exp(-(sgn * I) * (p.hysteresis->gamma * dt_s) / q_as);  // sgn * I = |I| (0 at rest)
    x_next[S::hyst] = a_h * x[S::hyst] + (a_h - 1.0) * sgn;
    x_next[S::hyst_sign] = sgn != 0.0 ? T(-sgn) : x[S::hyst_sign];
  }
  x_next[S::soc] = x[S::soc] - (p.coulombic_efficiency * dt_s) * I / q_as;
  x_next[S::temp] = temp + (dt_s / p.heat_capacity_j_per_k) * heat;
}

// One step with every coefficient evaluated at x (the estimator's and the MPC's form).
template <class S, class T, class F>
SAFETWIN_MODEL_INLINE void step(const CellParams& p, const T* x, const T& current_a, double dt_s,
                                const ModelFactors<F>& f, T* x_next, const ThermalInputs& th = {}) noexcept {
  const auto c = rc_coefficients<S::rc_pairs>(p, x[S::soc], x[S::temp], value_of(current_a) < 0.0, f, current_a);
  step_with<S>(p, c, rc_decay(c, dt_s), x, current_a, dt_s, f, th, x_next);
}

// --- Jacobians from the same code, by forward-mode dual numbers -----------------------------------
// Derivatives with respect to the state, the current and (NP = 2) the factors [r0, capacity].

template <class S, int NP>
struct StepLinearisation {
  static constexpr int nx = S::size;
  Eigen::Matrix<double, nx, 1> x_next;
  Eigen::Matrix<double, nx, nx> f;         // d x_next / d x
  Eigen::Matrix<double, nx, 1> g;          // d x_next / d I
  Eigen::Matrix<double, nx, NP> f_factor;  // d x_next / d [r0 factor, capacity factor]
};

template <class S, int NP>
struct VoltageLinearisation {
  static constexpr int nx = S::size;
  double v = 0.0;
  Eigen::Matrix<double, 1, nx> dv_dx;
  double dv_di = 0.0;
  Eigen::Matrix<double, 1, NP> dv_dfactor;
};

namespace detail {
template <class S, class D, int... I>
SAFETWIN_MODEL_INLINE void seed_states(const double* x, D* xd, std::integer_sequence<int, I...>) noexcept {
  ((xd[I] = D::template variable<I>(x[I])), ...);
}
template <class S, class D>
SAFETWIN_MODEL_INLINE void seed(const double* x, double current_a, D* xd, D& id) noexcept {
  seed_states<S>(x, xd, std::make_integer_sequence<int, S::size>{});
  id = D::template variable<S::size>(current_a);
}
// The factors as dual variables (NP = 2), or as plain numbers (NP = 0: no lanes spent on them).
template <class S, int NP, class D>
SAFETWIN_MODEL_INLINE auto seed_factors(const ModelFactors<double>& f) noexcept {
  static_assert(NP == 0 || NP == 2, "factors: none, or [r0, capacity]");
  if constexpr (NP == 2) {
    ModelFactors<D> fd;
    fd.r0 = D::template variable<S::size + 1>(f.r0);
    fd.capacity = D::template variable<S::size + 2>(f.capacity);
    fd.rc = f.rc;
    return fd;
  } else {
    return f;
  }
}
}  // namespace detail

template <class S, int NP = 0>
SAFETWIN_MODEL_INLINE void linearise_step(const CellParams& p, const double* x, double current_a, double dt_s,
                                          const ModelFactors<double>& f, StepLinearisation<S, NP>& out,
                                          const ThermalInputs& th = {}) noexcept {
  using D = Dual<S::size + 1 + NP>;
  D xd[S::size], xn[S::size], id;
  detail::seed<S>(x, current_a, xd, id);
  step<S>(p, xd, id, dt_s, detail::seed_factors<S, NP, D>(f), xn, th);
  for (int r = 0; r < S::size; ++r) {
    out.x_next[r] = xn[r].value();
    for (int c = 0; c < S::size; ++c) out.f(r, c) = xn[r].derivative(c);
    out.g[r] = xn[r].derivative(S::size);
    for (int k = 0; k < NP; ++k) out.f_factor(r, k) = xn[r].derivative(S::size + 1 + k);
  }
}

template <class S, int NP = 0>
SAFETWIN_MODEL_INLINE void linearise_voltage(const CellParams& p, const double* x, double current_a,
                                             const ModelFactors<double>& f, VoltageLinearisation<S, NP>& out) noexcept {
  using D = Dual<S::size + 1 + NP>;
  D xd[S::size], id;
  detail::seed<S>(x, current_a, xd, id);
  const D v = terminal_voltage<S>(p, xd, id, detail::seed_factors<S, NP, D>(f));
  out.v = v.value();
  for (int c = 0; c < S::size; ++c) out.dv_dx[c] = v.derivative(c);
  out.dv_di = v.derivative(S::size);
  for (int k = 0; k < NP; ++k) out.dv_dfactor[k] = v.derivative(S::size + 1 + k);
}

// The step and the terminal voltage under the same current at the same state, from one seeding
// and one evaluation of the coefficients (the MPC's linearisation along its nominal plan needs
// both at every step): the same values and derivatives as linearise_step and linearise_voltage.
// fixed_a (optional): fixed_decays() of the direction of current_a at dt_s (rc_decay).
template <class S, int NP = 0>
SAFETWIN_MODEL_INLINE void linearise_step_and_voltage(
    const CellParams& p, const double* x, double current_a, double dt_s, const ModelFactors<double>& f,
    StepLinearisation<S, NP>& step_out, VoltageLinearisation<S, NP>& voltage_out, const ThermalInputs& th = {},
    const std::array<double, S::rc_pairs>* fixed_a = nullptr) noexcept {
  using D = Dual<S::size + 1 + NP>;
  D xd[S::size], xn[S::size], id;
  detail::seed<S>(x, current_a, xd, id);
  const auto fd = detail::seed_factors<S, NP, D>(f);
  const auto c = rc_coefficients<S::rc_pairs>(p, xd[S::soc], xd[S::temp], current_a < 0.0, fd, id);
  step_with<S>(p, c, rc_decay<S::rc_pairs>(c, dt_s, fixed_a), xd, id, dt_s, fd, th, xn);
  const D v = emf_v<S>(p, xd, current_a) - c.r0_ohm * id;  // terminal_voltage with this R0
  for (int r = 0; r < S::size; ++r) {
    step_out.x_next[r] = xn[r].value();
    for (int k = 0; k < S::size; ++k) step_out.f(r, k) = xn[r].derivative(k);
    step_out.g[r] = xn[r].derivative(S::size);
    for (int k = 0; k < NP; ++k) step_out.f_factor(r, k) = xn[r].derivative(S::size + 1 + k);
  }
  voltage_out.v = v.value();
  for (int k = 0; k < S::size; ++k) voltage_out.dv_dx[k] = v.derivative(k);
  voltage_out.dv_di = v.derivative(S::size);
  for (int k = 0; k < NP; ++k) voltage_out.dv_dfactor[k] = v.derivative(S::size + 1 + k);
}

// --- What the safety layer computes at one state (CBF filter, supervisor's prediction) ------------
// The model over one step of dt_s with every coefficient frozen at x, in the form the filter solves
// in closed form: SOC' = SOC - soc_per_a I, v_i' = a_i v_i + b_i I, V = emf - R0 I,
// T' = T + dt_per_cth (R0 I^2 + heat_const_w - reversible_w_per_a I).
// With a charge transfer, R0 is the series resistance at I -> 0, the largest over every current of
// the direction (the chord falls with |I|): the filter's voltage drop and heat are bounds, never
// less than the model's, whatever current it then picks.
template <int NRC>
struct StepCoefficients {
  double r0_ohm = 0.0;
  std::array<double, NRC> r_ohm{}, tau_s{}, a{}, b{};
  double soc_per_a = 0.0;
  double emf_v = 0.0;               // V at I = 0 (hysteresis sign from `current_sign_a`)
  double ocv_slope_v = 0.0;         // dOCV/dSOC
  double dt_per_cth = 0.0;          // dt / C_th (K per J)
  double heat_const_w = 0.0;        // sum v_i^2 / R_i + q_extra - hA c (T - T_amb)
  double reversible_w_per_a = 0.0;  // T dU/dT
};

template <class S>
SAFETWIN_MODEL_INLINE StepCoefficients<S::rc_pairs> step_coefficients(const CellParams& p, const double* x, double dt_s,
                                                                      double current_sign_a,
                                                                      const ModelFactors<double>& f,
                                                                      const ThermalInputs& th = {}) noexcept {
  StepCoefficients<S::rc_pairs> k;
  const bool charging = current_sign_a < 0.0;
  const auto c = rc_coefficients<S::rc_pairs>(p, x[S::soc], x[S::temp], charging, f, 0.0);
  const auto a = rc_decay(c, dt_s);
  k.r0_ohm = c.r0_ohm;
  k.heat_const_w = th.extra_heat_w - p.heat_transfer_w_per_k * th.cooling_factor * (x[S::temp] - p.ambient_temp_k);
  for (int i = 0; i < S::rc_pairs; ++i) {
    k.r_ohm[i] = c.r_ohm[i];
    k.tau_s[i] = c.tau_s[i];
    k.a[i] = a[i];
    k.b[i] = c.r_ohm[i] * (1.0 - a[i]);
    const double v = x[S::v_rc(i)];
    k.heat_const_w += v * v / c.r_ohm[i];
  }
  k.soc_per_a = p.coulombic_efficiency * dt_s / (3600.0 * p.capacity_ah * f.capacity);
  k.emf_v = emf_v<S>(p, x, current_sign_a);
  k.ocv_slope_v = p.ocv.slope_v(x[S::soc]);
  k.dt_per_cth = dt_s / p.heat_capacity_j_per_k;
  if (p.entropic_v_per_k) k.reversible_w_per_a = x[S::temp] * p.entropic_v_per_k->at(x[S::soc], x[S::temp]);
  return k;
}

// Calls f(S{}) with the structure S that matches the parameters (rc_pairs, hysteresis): a
// runtime choice made once per call, outside any per-cell loop (f is a generic lambda taking the
// structure as a tag: `[&](auto s) { using S = decltype(s); ... }`).
template <class F>
inline void with_structure(const CellParams& p, F&& f) {
  const bool h = p.hysteresis.has_value();
  switch (p.rc_pairs * 2 + (h ? 1 : 0)) {
    case 2: f(CellStructure<1, false>{}); break;
    case 3: f(CellStructure<1, true>{}); break;
    case 5: f(CellStructure<2, true>{}); break;
    case 6: f(CellStructure<3, false>{}); break;
    case 7: f(CellStructure<3, true>{}); break;
    default: f(CellStructure<2, false>{}); break;
  }
}

}  // namespace safetwin::battery
