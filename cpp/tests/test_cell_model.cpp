#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/cell_model.hpp"

using namespace safetwin::battery;

namespace {

// A cell that exercises every branch of the model: tabulated R0 and R1 (bilinear over SOC x T),
// separate charge-side R0 and R2, an entropic coefficient, a third RC pair, hysteresis.
CellParams rich_cell(int rc_pairs, bool hysteresis) {
  CellParams p = CellParams::ref_cell_1();
  p.rc_pairs = rc_pairs;
  p.r0_ohm = ParamSurface::table({0.0, 0.5, 1.0}, {273.15, 298.15, 323.15},
                                 {0.040, 0.025, 0.018, 0.035, 0.021, 0.015, 0.038, 0.024, 0.017}, "r0");
  p.r0_charge_ohm = ParamSurface::constant(0.024);
  p.r1_ohm = ParamSurface::table({0.0, 1.0}, {273.15, 323.15}, {0.012, 0.006, 0.009, 0.005}, "r1");
  p.r2_charge_ohm = ParamSurface::constant(0.027);
  p.r3_ohm = ParamSurface::constant(0.011);
  p.c3_f = ParamSurface::constant(40000.0);
  p.entropic_v_per_k = ParamSurface::table({0.0, 0.5, 1.0}, {298.15}, {-2e-4, 1e-4, -0.5e-4}, "dudt");
  if (hysteresis) p.hysteresis = HysteresisParams{90.0, 0.015, 0.002};
  p.validate();
  return p;
}

template <class S>
std::vector<double> sample_state(double sign) {
  std::vector<double> x(S::size, 0.0);
  x[S::soc] = 0.3735;  // inside an OCV segment (the table has a grid line every 0.01)
  for (int i = 0; i < S::rc_pairs; ++i) x[S::v_rc(i)] = 0.011 * (i + 1) * sign;
  if constexpr (S::hysteresis) {
    x[S::hyst] = -0.42;
    x[S::hyst_sign] = -1.0;
  }
  x[S::temp] = 303.4;
  return x;
}

// Central differences of the double-valued model, each column against the dual-number Jacobian.
// Step h: the model is smooth inside one table cell (the state lies away from grid lines), so the
// truncation error is O(h^2) (below 1e-10 here) and the rounding error about eps |f| / h per
// difference; the check allows 1e-6 relative plus 8 eps |f| / h (T ~ 300 K: 5e-7 K per unit for
// h = 1e-6), and nothing else.
template <class S>
void check_jacobians(const CellParams& p, double current_a) {
  constexpr int nx = S::size;
  const double dt = 1.7;
  const std::vector<double> x0 = sample_state<S>(current_a > 0 ? 1.0 : -1.0);
  const ModelFactors<double> f{1.13, 0.91, 1.05};
  StepLinearisation<S, 2> lin;
  linearise_step<S, 2>(p, x0.data(), current_a, dt, f, lin);
  VoltageLinearisation<S, 2> vl;
  linearise_voltage<S, 2>(p, x0.data(), current_a, f, vl);

  const auto stepped = [&](const std::vector<double>& x, double i, const ModelFactors<double>& ff) {
    std::vector<double> xn(nx);
    step<S>(p, x.data(), i, dt, ff, xn.data());
    return xn;
  };
  const auto volt = [&](const std::vector<double>& x, double i, const ModelFactors<double>& ff) {
    return terminal_voltage<S>(p, x.data(), i, ff);
  };
  // The double evaluation is the value of the dual one.
  const auto xn0 = stepped(x0, current_a, f);
  for (int r = 0; r < nx; ++r) CHECK(lin.x_next[r] == doctest::Approx(xn0[static_cast<std::size_t>(r)]).epsilon(1e-14));
  CHECK(vl.v == doctest::Approx(volt(x0, current_a, f)).epsilon(1e-14));

  constexpr double kEps = 2.220446049250313e-16;
  double f_abs = 0.0;  // the largest |f| differenced (the rounding error's scale)
  for (double v : xn0) f_abs = std::max(f_abs, std::abs(v));
  f_abs = std::max(f_abs, std::abs(vl.v));
  double h_now = 1e-6;
  const auto near = [&](double ad, double fd, double floor) {
    return std::abs(ad - fd) <= 1e-6 * std::abs(fd) + floor + 8.0 * kEps * f_abs / h_now;
  };
  for (int c = 0; c < nx; ++c) {
    if constexpr (S::hysteresis) {
      if (c == S::hyst_sign) continue;  // a discrete state: checked exactly below
    }
    const double h = 1e-6 * (c == S::temp ? 300.0 : 1.0);
    h_now = h;
    auto xp = x0, xm = x0;
    xp[static_cast<std::size_t>(c)] += h;
    xm[static_cast<std::size_t>(c)] -= h;
    const auto fp = stepped(xp, current_a, f), fm = stepped(xm, current_a, f);
    for (int r = 0; r < nx; ++r) {
      const double fd = (fp[static_cast<std::size_t>(r)] - fm[static_cast<std::size_t>(r)]) / (2 * h);
      INFO("structure rc=", S::rc_pairs, " hyst=", S::hysteresis, " I=", current_a, " df[", std::string(S::name(r)),
           "]/d", std::string(S::name(c)));
      CHECK(near(lin.f(r, c), fd, 1e-9));
    }
    INFO("rc=", S::rc_pairs, " hyst=", S::hysteresis, " I=", current_a, " dV/d", std::string(S::name(c)),
         " ad=", vl.dv_dx[c]);
    CHECK(near(vl.dv_dx[c], (volt(xp, current_a, f) - volt(xm, current_a, f)) / (2 * h), 1e-9));
  }
  {  // d/dI (h small enough not to change the current's sign)
    const double h = 1e-6;
    h_now = h;
    const auto fp = stepped(x0, current_a + h, f), fm = stepped(x0, current_a - h, f);
    for (int r = 0; r < nx; ++r) {
      INFO("rc=", S::rc_pairs, " hyst=", S::hysteresis, " I=", current_a, " df[", std::string(S::name(r)),
           "]/dI ad=", lin.g[r], " fd=", (fp[static_cast<std::size_t>(r)] - fm[static_cast<std::size_t>(r)]) / (2 * h));
      CHECK(near(lin.g[r], (fp[static_cast<std::size_t>(r)] - fm[static_cast<std::size_t>(r)]) / (2 * h), 1e-9));
    }
    CHECK(near(vl.dv_di, (volt(x0, current_a + h, f) - volt(x0, current_a - h, f)) / (2 * h), 1e-9));
  }
  for (int k = 0; k < 2; ++k) {  // d/d[r0 factor, capacity factor]
    const double h = 1e-6;
    h_now = h;
    ModelFactors<double> fp = f, fm = f;
    (k == 0 ? fp.r0 : fp.capacity) += h;
    (k == 0 ? fm.r0 : fm.capacity) -= h;
    const auto sp = stepped(x0, current_a, fp), sm = stepped(x0, current_a, fm);
    for (int r = 0; r < nx; ++r) {
      INFO("df[", std::string(S::name(r)), "]/dfactor", k);
      CHECK(near(lin.f_factor(r, k), (sp[static_cast<std::size_t>(r)] - sm[static_cast<std::size_t>(r)]) / (2 * h),
                 1e-9));
    }
    CHECK(near(vl.dv_dfactor[k], (volt(x0, current_a, fp) - volt(x0, current_a, fm)) / (2 * h), 1e-9));
  }
  if constexpr (S::hysteresis) {
    // s' = -sgn(I) for I != 0: no dependence on anything; V depends on s only at rest.
    for (int c = 0; c < nx; ++c) CHECK(lin.f(S::hyst_sign, c) == 0.0);
    CHECK(vl.dv_dx[S::hyst_sign] == 0.0);
    VoltageLinearisation<S, 2> rest;
    linearise_voltage<S, 2>(p, x0.data(), 0.0, f, rest);
    CHECK(rest.dv_dx[S::hyst_sign] == p.hysteresis->m0_v);
  }
}

template <class S>
void check_structure() {
  const CellParams p = rich_cell(S::rc_pairs, S::hysteresis);
  check_jacobians<S>(p, 8.3);   // discharge
  check_jacobians<S>(p, -6.1);  // charge: the charge-side surfaces
}

template <class S>
long allocations_of_many_steps() {
  const CellParams p = rich_cell(S::rc_pairs, S::hysteresis);
  std::vector<double> x = sample_state<S>(1.0), xn(S::size);
  StepLinearisation<S, 2> lin;
  VoltageLinearisation<S, 2> vl;
  double sink = 0.0;
  const long n = safetwin::test::count_allocations([&] {
    for (int k = 0; k < 500; ++k) {
      const double i = (k % 7) - 3.0;
      linearise_step<S, 2>(p, x.data(), i, 1.0, {}, lin);
      linearise_voltage<S, 2>(p, x.data(), i, {}, vl);
      step<S>(p, x.data(), i, 1.0, ModelFactors<double>{}, xn.data());
      sink += terminal_voltage<S>(p, xn.data(), i, ModelFactors<double>{}) +
              step_coefficients<S>(p, xn.data(), 1.0, i, {}).emf_v;
      x = xn;
    }
  });
  CHECK(std::isfinite(sink));
  return n;
}

}  // namespace

TEST_CASE("state layout: one spec, the reference structure is StateIdx's") {
  using R = RefStructure;
  static_assert(R::soc == 0 && R::v_rc(0) == 1 && R::v_rc(1) == 2 && R::temp == 3 && R::size == 4);
  using H = CellStructure<1, true>;
  static_assert(H::v_rc(0) == 1 && H::hyst == 2 && H::hyst_sign == 3 && H::temp == 4 && H::size == 5);
  static_assert(CellStructure<3, true>::size == kMaxCellStateSize && kMaxCellStateSize == 7);
  CHECK(std::string(H::name(H::hyst)) == "hysteresis");
  CHECK(std::string(CellStructure<3, false>::name(3)) == "v3_v");
  CHECK(std::string(R::name(R::temp)) == "temp_k");
}

TEST_CASE("Jacobians equal finite differences for every structure") {
  check_structure<CellStructure<1, false>>();
  check_structure<CellStructure<1, true>>();
  check_structure<CellStructure<2, false>>();
  check_structure<CellStructure<2, true>>();
  check_structure<CellStructure<3, false>>();
  check_structure<CellStructure<3, true>>();
}

TEST_CASE("the REF-CELL-1 Jacobian entries equal the closed-form derivatives") {
  // Constant parameters: dv1'/dv1 = a1, dv1'/dI = R1 (1 - a1), dV/dSOC = OCV slope,
  // dV/dT = -I dR0/dT = I R0 E / T^2 (Arrhenius), dT'/dT = 1 + dt/C (I^2 dR0/dT + ... - hA).
  using S = RefStructure;
  const CellParams p = CellParams::ref_cell_1();
  const double x[4] = {0.6, 0.01, 0.02, 305.0};
  const double i = 5.0, dt = 1.0;
  StepLinearisation<S, 0> lin;
  linearise_step<S, 0>(p, x, i, dt, {}, lin);
  VoltageLinearisation<S, 0> vl;
  linearise_voltage<S, 0>(p, x, i, {}, vl);
  const double arr = std::exp(2000.0 * (1.0 / 305.0 - 1.0 / 298.15));
  const double a1 = std::exp(-dt / (0.0075 * 1733.0));
  const double r0 = 0.021 * arr, r1 = 0.0075 * arr, r2 = 0.023 * arr;
  CHECK(lin.f(1, 1) == doctest::Approx(a1).epsilon(1e-14));
  CHECK(lin.g[1] == doctest::Approx(r1 * (1.0 - a1)).epsilon(1e-14));
  CHECK(lin.g[0] == doctest::Approx(-dt / (3600.0 * 5.15)).epsilon(1e-14));
  CHECK(vl.dv_dx[0] == doctest::Approx(p.ocv.slope_v(0.6)).epsilon(1e-14));
  CHECK(vl.dv_dx[3] == doctest::Approx(i * r0 * 2000.0 / (305.0 * 305.0)).epsilon(1e-12));
  const double dr = -2000.0 / (305.0 * 305.0);
  const double dheat_dt = i * i * r0 * dr - 0.01 * 0.01 / r1 * dr - 0.02 * 0.02 / r2 * dr - 0.3;
  CHECK(lin.f(3, 3) == doctest::Approx(1.0 + dt / 52.0 * dheat_dt).epsilon(1e-12));
}

TEST_CASE("hysteresis follows the hand-computed trace (Plett vol. 1 sec. 3.10)") {
  // One RC pair, flat OCV 3.3 V, no heating: h after k steps of constant discharge from 0 is
  // -(1 - A^k), then at rest it holds and s = -1; under charge h = 1 + A^j (h_k - 1), s = +1.
  using S = CellStructure<1, true>;
  CellParams p = CellParams::ref_cell_1();
  p.ocv = OcvTable({0.0, 1.0}, {3.3, 3.3});
  p.rc_pairs = 1;
  p.arrhenius_k = 0.0;
  p.heat_capacity_j_per_k = 1e12;
  p.hysteresis = HysteresisParams{90.0, 0.015, 0.002};
  const double q_as = 3600.0 * 5.15, dt = 2.0, i = 10.0;
  const double a = std::exp(-i * 90.0 * dt / q_as);
  double x[5] = {0.8, 0.0, 0.0, 0.0, 298.15}, xn[5];
  const ModelFactors<double> f{};
  for (int k = 1; k <= 4; ++k) {
    step<S>(p, x, i, dt, f, xn);
    std::copy(xn, xn + 5, x);
    CHECK(x[S::hyst] == doctest::Approx(-(1.0 - std::pow(a, k))).epsilon(1e-13));
    CHECK(x[S::hyst_sign] == -1.0);
  }
  const double h4 = -(1.0 - std::pow(a, 4));  // a = exp(-0.097087) = 0.907466: h4 = -0.321825
  CHECK(h4 == doctest::Approx(-0.321825).epsilon(1e-5));
  // At rest the RC pair still relaxes but h and s hold: V = 3.3 + M h4 - M0 - v1.
  step<S>(p, x, 0.0, dt, f, xn);
  CHECK(xn[S::hyst] == x[S::hyst]);
  CHECK(xn[S::hyst_sign] == -1.0);
  CHECK(terminal_voltage<S>(p, xn, 0.0, f) ==
        doctest::Approx(3.3 + 0.015 * h4 - 0.002 - xn[S::v_rc(0)]).epsilon(1e-14));
  std::copy(xn, xn + 5, x);
  // Charge at -10 A: the sign flips at once (under the current) and h climbs towards +1.
  CHECK(terminal_voltage<S>(p, x, -10.0, f) ==
        doctest::Approx(3.3 + 0.015 * h4 + 0.002 + 0.021 * 10.0 - x[S::v_rc(0)]).epsilon(1e-14));
  for (int j = 1; j <= 3; ++j) {
    step<S>(p, x, -i, dt, f, xn);
    std::copy(xn, xn + 5, x);
    CHECK(x[S::hyst] == doctest::Approx(1.0 + std::pow(a, j) * (h4 - 1.0)).epsilon(1e-13));
    CHECK(x[S::hyst_sign] == 1.0);
  }
}

TEST_CASE("entropic heat and OCV temperature term") {
  using S = CellStructure<1, false>;
  CellParams p = CellParams::ref_cell_1();
  p.rc_pairs = 1;
  p.entropic_v_per_k = ParamSurface::constant(-3e-4);
  const double x[3] = {0.5, 0.0, 310.0};
  double xn[3];
  step<S>(p, x, 4.0, 1.0, ModelFactors<double>{}, xn);
  const double r0 = 0.021 * std::exp(2000.0 * (1.0 / 310.0 - 1.0 / 298.15));
  const double heat = 16.0 * r0 - 4.0 * 310.0 * (-3e-4) - 0.3 * (310.0 - 298.15);  // I^2 R0 - I T dU/dT - hA dT
  CHECK(xn[2] == doctest::Approx(310.0 + heat / 52.0).epsilon(1e-14));
  CHECK(terminal_voltage<S>(p, x, 0.0, ModelFactors<double>{}) ==
        doctest::Approx(p.ocv.voltage_v(0.5) - 3e-4 * (310.0 - 298.15)).epsilon(1e-14));
}

TEST_CASE("the model allocates nothing, for every structure") {
  CHECK(allocations_of_many_steps<CellStructure<1, false>>() == 0);
  CHECK(allocations_of_many_steps<CellStructure<1, true>>() == 0);
  CHECK(allocations_of_many_steps<CellStructure<2, false>>() == 0);
  CHECK(allocations_of_many_steps<CellStructure<2, true>>() == 0);
  CHECK(allocations_of_many_steps<CellStructure<3, false>>() == 0);
  CHECK(allocations_of_many_steps<CellStructure<3, true>>() == 0);
}

TEST_CASE("parameters that do not fit the structure are refused, naming the field") {
  CellParams p = CellParams::ref_cell_1();
  p.rc_pairs = 4;
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.rc_pairs"), std::invalid_argument);
  p.rc_pairs = 3;
  p.c3_f = ParamSurface::constant(0.0);
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.c3_f"), std::invalid_argument);
  p = CellParams::ref_cell_1();
  p.hysteresis = HysteresisParams{-1.0, 0.01, 0.0};
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.hysteresis.gamma"), std::invalid_argument);
  p.hysteresis = HysteresisParams{90.0, 0.01, -0.001};
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.hysteresis.m0_v"), std::invalid_argument);
  p = CellParams::ref_cell_1();
  p.r0_charge_ohm = ParamSurface::constant(-0.02);
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.r0_charge_ohm"), std::invalid_argument);
}

TEST_CASE("step_coefficients give the CBF's and the supervisor's closed-form one-step model") {
  // What safety/cbf_filter.cpp and supervisor.cpp compute inline today (coefficients at x, a_i, b_i,
  // the SOC gain, the EMF, the heat without the I terms), from the one model, on an aged cell.
  using S = RefStructure;
  const CellParams p = CellParams::ref_cell_1();
  const CellScaling sc{0.9, 1.1, 1.2};
  const ModelFactors<double> f{sc.resistance_factor * sc.r0_factor, sc.capacity_factor, sc.resistance_factor};
  const double x[4] = {0.42, 0.012, -0.03, 307.0}, dt = 1.0;
  const StepCoefficients<2> k = step_coefficients<S>(p, x, dt, 5.0, f);
  const CellCoefficients co = coefficients(p, sc, x[0], x[3]);
  const double a1 = std::exp(-dt / co.tau1_s), a2 = std::exp(-dt / co.tau2_s);
  CHECK(k.r0_ohm == doctest::Approx(co.r0_ohm).epsilon(1e-15));
  CHECK(k.a[0] == doctest::Approx(a1).epsilon(1e-15));
  CHECK(k.b[1] == doctest::Approx(co.r2_ohm * (1.0 - a2)).epsilon(1e-15));
  CHECK(k.soc_per_a == doctest::Approx(dt / (3600.0 * 5.15 * 0.9)).epsilon(1e-15));
  CHECK(k.emf_v == doctest::Approx(p.ocv.voltage_v(0.42) - 0.012 + 0.03).epsilon(1e-15));
  CHECK(k.ocv_slope_v == p.ocv.slope_v(0.42));
  CHECK(k.heat_const_w ==
        doctest::Approx(0.012 * 0.012 / co.r1_ohm + 0.03 * 0.03 / co.r2_ohm - 0.3 * (307.0 - 298.15)).epsilon(1e-14));
  // And the step they take with them is the model's step.
  double xn[4];
  step<S>(p, x, 5.0, dt, f, xn);
  CHECK(xn[3] == doctest::Approx(x[3] + k.dt_per_cth * (25.0 * k.r0_ohm + k.heat_const_w)).epsilon(1e-15));
  CHECK(xn[1] == doctest::Approx(k.a[0] * x[1] + k.b[0] * 5.0).epsilon(1e-15));
  CHECK(xn[0] == doctest::Approx(x[0] - k.soc_per_a * 5.0).epsilon(1e-15));
}

// --- Butler–Volmer charge transfer (CellParams::exchange_current_a) ---------------------------------
namespace {
constexpr double kGasJPerMolK = 8.314462618;  // CODATA 2018, written here apart from the model's
constexpr double kFaradayCPerMol = 96485.33212;

CellParams with_charge_transfer(CellParams p, double i0_a) {
  p.exchange_current_a = ParamSurface::constant(i0_a);
  p.validate();
  return p;
}

template <class S>
void check_charge_transfer_structure() {
  const CellParams p = with_charge_transfer(rich_cell(S::rc_pairs, S::hysteresis), 1.3);
  check_jacobians<S>(p, 8.3);
  check_jacobians<S>(p, -6.1);
  check_jacobians<S>(p, 1e-4);  // u = I / (2 I0) below 1e-4: the series branch of asinh(u)/u
  // I0 as a table over (SOC, T): its derivatives along SOC and T enter the chord
  CellParams t = rich_cell(S::rc_pairs, S::hysteresis);
  t.exchange_current_a = ParamSurface::table({0.0, 0.5, 1.0}, {273.15, 323.15}, {0.6, 1.4, 1.1, 2.5, 0.8, 1.9}, "i0");
  t.validate();
  check_jacobians<S>(t, 8.3);
  check_jacobians<S>(t, -6.1);
}
}  // namespace

TEST_CASE("charge transfer: the voltage loses the Butler-Volmer overpotential's closed form") {
  // eta(I) = (2RT/F) asinh(I / (2 I0)), i.e. I = 2 I0 sinh(F eta / (2RT)) (symmetric, alpha = 1/2),
  // on top of R0 I, scaled like R0 by the R0 factor; the heat gains I eta.
  using S = RefStructure;
  const CellParams base = CellParams::ref_cell_1();
  const double i0 = 0.8;
  const CellParams p = with_charge_transfer(base, i0);
  const double x[4] = {0.55, 0.01, -0.02, 303.4}, dt = 1.0;
  const ModelFactors<double> f{1.17, 0.93, 1.0};
  for (double i : {-15.0, -5.0, -0.3, -1e-5, 0.0, 1e-5, 0.4, 5.0, 10.0, 25.0}) {
    INFO("I = ", i);
    const double eta = 2.0 * kGasJPerMolK * x[3] / kFaradayCPerMol * std::asinh(i / (2.0 * i0));
    const double lost = terminal_voltage<S>(base, x, i, f) - terminal_voltage<S>(p, x, i, f);
    // tolerances: relative, plus the rounding of the ~3.7 V voltages differenced (1e-14 V) and of the
    // ~300 K temperatures (6e-14 K, times C_th / dt: 3e-12 W)
    CHECK(lost == doctest::Approx(eta * f.r0).epsilon(1e-12).scale(0.01));
    // and inverted: the current that overpotential drives
    const double eta_model = lost / f.r0;
    CHECK(2.0 * i0 * std::sinh(kFaradayCPerMol * eta_model / (2.0 * kGasJPerMolK * x[3])) ==
          doctest::Approx(i).epsilon(1e-11).scale(0.01));
    double xb[4], xp[4];
    step<S>(base, x, i, dt, f, xb);
    step<S>(p, x, i, dt, f, xp);
    CHECK((xp[3] - xb[3]) * p.heat_capacity_j_per_k / dt == doctest::Approx(i * eta * f.r0).epsilon(1e-9).scale(0.02));
    CHECK(xp[1] == xb[1]);  // the RC pairs and the SOC do not see it
    CHECK(xp[0] == xb[0]);
  }
  // The resistance falls with current: the chord at 1C is above the one at 2C.
  const double r1c = r0_at(p, 0.55, 298.15, false, ModelFactors<double>{}, 5.0);
  const double r2c = r0_at(p, 0.55, 298.15, false, ModelFactors<double>{}, 10.0);
  CHECK(r1c > r2c);
  // At I -> 0 the chord is R T / (F I0) (the linearised Butler–Volmer): the small-signal R0.
  CHECK(r0_at(p, 0.55, 298.15, false, ModelFactors<double>{}, 0.0) ==
        doctest::Approx(0.021 + kGasJPerMolK * 298.15 / (kFaradayCPerMol * i0)).epsilon(1e-14));
}

TEST_CASE("charge transfer: Jacobians equal finite differences for every structure") {
  check_charge_transfer_structure<CellStructure<1, false>>();
  check_charge_transfer_structure<CellStructure<1, true>>();
  check_charge_transfer_structure<CellStructure<2, false>>();
  check_charge_transfer_structure<CellStructure<2, true>>();
  check_charge_transfer_structure<CellStructure<3, false>>();
  check_charge_transfer_structure<CellStructure<3, true>>();
}

TEST_CASE("charge transfer: the safety layer's one-step R0 bounds the model's at every current") {
  // step_coefficients takes the chord at I -> 0, its largest: the CBF's voltage drop and heat are
  // never below the model's, whatever current the filter then picks (of that direction).
  using S = RefStructure;
  const CellParams p = with_charge_transfer(CellParams::ref_cell_1(), 1.1);
  const double x[4] = {0.86, 0.0, 0.0, 298.15};
  const ModelFactors<double> f{1.05, 1.0, 1.0};
  for (double sign : {-1.0, 1.0}) {
    const StepCoefficients<2> k = step_coefficients<S>(p, x, 1.0, sign, f);
    for (double m = 1e-3; m <= 30.0; m *= 1.5) {
      const double i = sign * m;
      INFO("I = ", i);
      if (i > 0.0) CHECK(k.emf_v - k.r0_ohm * i <= terminal_voltage<S>(p, x, i, f) + 1e-12);  // discharge: lower
      if (i < 0.0) CHECK(k.emf_v - k.r0_ohm * i >= terminal_voltage<S>(p, x, i, f) - 1e-12);  // charge: higher
    }
  }
}

TEST_CASE("charge transfer: the model with it allocates nothing") {
  const CellParams p = with_charge_transfer(rich_cell(2, false), 1.3);
  using S = CellStructure<2, false>;
  std::vector<double> x = sample_state<S>(1.0), xn(S::size);
  StepLinearisation<S, 2> lin;
  double sink = 0.0;
  const long n = safetwin::test::count_allocations([&] {
    for (int k = 0; k < 200; ++k) {
      const double i = (k % 7) - 3.0;
      linearise_step<S, 2>(p, x.data(), i, 1.0, {}, lin);
      step<S>(p, x.data(), i, 1.0, ModelFactors<double>{}, xn.data());
      sink += terminal_voltage<S>(p, xn.data(), i, ModelFactors<double>{});
      x = xn;
    }
  });
  CHECK(std::isfinite(sink));
  CHECK(n == 0);
}

TEST_CASE("charge transfer: an exchange current that is not a positive finite number is refused") {
  CellParams p = CellParams::ref_cell_1();
  for (double bad : {0.0, -1.0, std::nan(""), std::numeric_limits<double>::infinity(), 2e4}) {
    p.exchange_current_a = ParamSurface::constant(bad);
    CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.exchange_current_a"), std::invalid_argument);
  }
  p.exchange_current_a = ParamSurface::constant(1e4);  // the limit itself is accepted
  CHECK_NOTHROW(p.validate());
  p.exchange_current_a = ParamSurface::table({0.0, 1.0}, {298.15}, {2.0, -0.1}, "i0");  // one bad node
  CHECK_THROWS_WITH_AS(p.validate(), doctest::Contains("CellParams.exchange_current_a"), std::invalid_argument);
}
