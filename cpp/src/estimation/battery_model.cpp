#include "safetwin/estimation/battery_model.hpp"

#include <cmath>

namespace safetwin::estimation {

using battery::CellCoefficients;
using battery::StateIdx;

namespace {

constexpr double kSocStep = 1e-5;   // central-difference steps for tables (segments are >= 0.01 wide)
constexpr double kTempStepK = 1e-3;

CellCoefficients difference(const CellCoefficients& a, const CellCoefficients& b, double inv_2h) noexcept {
  return {(a.r0_ohm - b.r0_ohm) * inv_2h, (a.r1_ohm - b.r1_ohm) * inv_2h, (a.r2_ohm - b.r2_ohm) * inv_2h,
          (a.tau1_s - b.tau1_s) * inv_2h, (a.tau2_s - b.tau2_s) * inv_2h};
}

bool all_constant(const battery::CellParams& p) noexcept {
  return p.r0_ohm.is_constant() && p.r1_ohm.is_constant() && p.r2_ohm.is_constant() && p.c1_f.is_constant() &&
         p.c2_f.is_constant();
}

}  // namespace

CoefficientSlopes coefficient_slopes(const battery::CellParams& p, double soc, double temp_k) noexcept {
  const battery::CellScaling unit{};
  CoefficientSlopes s{};
  s.value = battery::coefficients(p, unit, soc, temp_k);
  if (all_constant(p)) {
    // R(T) = R_25 exp(E (1/T - 1/T_25)): dR/dT = -R E / T^2; time constants are fixed.
    const double k = -p.arrhenius_k / (temp_k * temp_k);
    s.d_soc = CellCoefficients{0.0, 0.0, 0.0, 0.0, 0.0};
    s.d_temp = CellCoefficients{s.value.r0_ohm * k, s.value.r1_ohm * k, s.value.r2_ohm * k, 0.0, 0.0};
    return s;
  }
  s.d_soc = difference(battery::coefficients(p, unit, soc + kSocStep, temp_k),
                       battery::coefficients(p, unit, soc - kSocStep, temp_k), 0.5 / kSocStep);
  s.d_temp = difference(battery::coefficients(p, unit, soc, temp_k + kTempStepK),
                        battery::coefficients(p, unit, soc, temp_k - kTempStepK), 0.5 / kTempStepK);
  return s;
}

double ocv_extrapolated_v(const battery::OcvTable& t, double soc) noexcept {
  const double lo = t.soc().front(), hi = t.soc().back();
  if (soc < lo) return t.ocv_v().front() + t.slope_v(soc) * (soc - lo);
  if (soc > hi) return t.ocv_v().back() + t.slope_v(soc) * (soc - hi);
  return t.voltage_v(soc);
}

template <int NX>
void battery_transition(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                        double dt_s, Eigen::Matrix<double, NX, 1>& x_next, Eigen::Matrix<double, NX, NX>& f,
                        Eigen::Matrix<double, NX, 1>& g) noexcept {
  static_assert(NX == StateIdx::size || NX == ParamIdx::size, "battery state: 4, or 6 with parameters");
  constexpr bool joint = NX == ParamIdx::size;
  const double soc = x[StateIdx::soc], v1 = x[StateIdx::v_rc1], v2 = x[StateIdx::v_rc2];
  const double temp = x[StateIdx::temp];
  double r0f = 1.0, capf = 1.0;
  if constexpr (joint) {
    r0f = x[ParamIdx::r0_factor];
    capf = x[ParamIdx::capacity_factor];
  }
  const double i = current_a;
  const CoefficientSlopes cs = coefficient_slopes(p, soc, temp);
  const CellCoefficients& c = cs.value;
  const double a1 = std::exp(-dt_s / c.tau1_s), a2 = std::exp(-dt_s / c.tau2_s);
  // da/dtau = a dt / tau^2
  const double da1 = a1 * dt_s / (c.tau1_s * c.tau1_s), da2 = a2 * dt_s / (c.tau2_s * c.tau2_s);
  const double charge_per_a = p.coulombic_efficiency * dt_s / (3600.0 * p.capacity_ah * capf);
  const double dt_cth = dt_s / p.heat_capacity_j_per_k;
  const double heat_w = i * i * c.r0_ohm * r0f + v1 * v1 / c.r1_ohm + v2 * v2 / c.r2_ohm -
                        p.heat_transfer_w_per_k * (temp - p.ambient_temp_k);

  x_next = x;  // parameters: random walk (identity)
  x_next[StateIdx::soc] = soc - i * charge_per_a;
  x_next[StateIdx::v_rc1] = a1 * v1 + c.r1_ohm * (1.0 - a1) * i;
  x_next[StateIdx::v_rc2] = a2 * v2 + c.r2_ohm * (1.0 - a2) * i;
  x_next[StateIdx::temp] = temp + dt_cth * heat_w;

  // d v_next / d(SOC or T) through R_i and a_i(tau_i): a'·v + R'(1-a)·I - R·a'·I
  const auto drc = [&](double v, double a, double da, double r, double dr, double dtau) {
    const double da_dz = da * dtau;
    return da_dz * v + dr * (1.0 - a) * i - r * da_dz * i;
  };
  // d heat / d(SOC or T) through the resistances
  const auto dheat = [&](const CellCoefficients& d) {
    return i * i * r0f * d.r0_ohm - v1 * v1 / (c.r1_ohm * c.r1_ohm) * d.r1_ohm -
           v2 * v2 / (c.r2_ohm * c.r2_ohm) * d.r2_ohm;
  };
  f.setIdentity();
  f(StateIdx::v_rc1, StateIdx::soc) = drc(v1, a1, da1, c.r1_ohm, cs.d_soc.r1_ohm, cs.d_soc.tau1_s);
  f(StateIdx::v_rc1, StateIdx::v_rc1) = a1;
  f(StateIdx::v_rc1, StateIdx::temp) = drc(v1, a1, da1, c.r1_ohm, cs.d_temp.r1_ohm, cs.d_temp.tau1_s);
  f(StateIdx::v_rc2, StateIdx::soc) = drc(v2, a2, da2, c.r2_ohm, cs.d_soc.r2_ohm, cs.d_soc.tau2_s);
  f(StateIdx::v_rc2, StateIdx::v_rc2) = a2;
  f(StateIdx::v_rc2, StateIdx::temp) = drc(v2, a2, da2, c.r2_ohm, cs.d_temp.r2_ohm, cs.d_temp.tau2_s);
  f(StateIdx::temp, StateIdx::soc) = dt_cth * dheat(cs.d_soc);
  f(StateIdx::temp, StateIdx::v_rc1) = dt_cth * 2.0 * v1 / c.r1_ohm;
  f(StateIdx::temp, StateIdx::v_rc2) = dt_cth * 2.0 * v2 / c.r2_ohm;
  f(StateIdx::temp, StateIdx::temp) = 1.0 + dt_cth * (dheat(cs.d_temp) - p.heat_transfer_w_per_k);
  if constexpr (joint) {
    f(StateIdx::soc, ParamIdx::capacity_factor) = i * charge_per_a / capf;
    f(StateIdx::temp, ParamIdx::r0_factor) = dt_cth * i * i * c.r0_ohm;
  }

  g.setZero();
  g[StateIdx::soc] = -charge_per_a;
  g[StateIdx::v_rc1] = c.r1_ohm * (1.0 - a1);
  g[StateIdx::v_rc2] = c.r2_ohm * (1.0 - a2);
  g[StateIdx::temp] = dt_cth * 2.0 * i * c.r0_ohm * r0f;
}

template <int NX>
double battery_voltage(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                       Eigen::Matrix<double, 1, NX>& dh_dx) noexcept {
  constexpr bool joint = NX == ParamIdx::size;
  const double soc = x[StateIdx::soc], temp = x[StateIdx::temp];
  double r0f = 1.0;
  if constexpr (joint) r0f = x[ParamIdx::r0_factor];
  const CoefficientSlopes cs = coefficient_slopes(p, soc, temp);
  dh_dx.setZero();
  dh_dx[StateIdx::soc] = p.ocv.slope_v(soc) - r0f * current_a * cs.d_soc.r0_ohm;
  dh_dx[StateIdx::v_rc1] = -1.0;
  dh_dx[StateIdx::v_rc2] = -1.0;
  dh_dx[StateIdx::temp] = -r0f * current_a * cs.d_temp.r0_ohm;
  if constexpr (joint) dh_dx[ParamIdx::r0_factor] = -cs.value.r0_ohm * current_a;
  return ocv_extrapolated_v(p.ocv, soc) - r0f * cs.value.r0_ohm * current_a - x[StateIdx::v_rc1] -
         x[StateIdx::v_rc2];
}

template void battery_transition<4>(const battery::CellParams&, const Eigen::Matrix<double, 4, 1>&, double, double,
                                    Eigen::Matrix<double, 4, 1>&, Eigen::Matrix<double, 4, 4>&,
                                    Eigen::Matrix<double, 4, 1>&) noexcept;
template void battery_transition<6>(const battery::CellParams&, const Eigen::Matrix<double, 6, 1>&, double, double,
                                    Eigen::Matrix<double, 6, 1>&, Eigen::Matrix<double, 6, 6>&,
                                    Eigen::Matrix<double, 6, 1>&) noexcept;
template double battery_voltage<4>(const battery::CellParams&, const Eigen::Matrix<double, 4, 1>&, double,
                                   Eigen::Matrix<double, 1, 4>&) noexcept;
template double battery_voltage<6>(const battery::CellParams&, const Eigen::Matrix<double, 6, 1>&, double,
                                   Eigen::Matrix<double, 1, 6>&) noexcept;

}  // namespace safetwin::estimation
