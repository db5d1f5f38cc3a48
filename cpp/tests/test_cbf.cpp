// CBF safety filter checked against the plant model itself (battery::Cell) as the independent side.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/safety/cbf_filter.hpp"

using namespace safetwin;
using namespace safetwin::safety;
using battery::StateIdx;

namespace {

battery::StateVector state(double soc, double v1, double v2, double temp_c) {
  battery::StateVector x;
  x << soc, v1, v2, temp_c + battery::kZeroCelsiusK;
  return x;
}

// The plant with the filter's frozen-coefficient view made exact: no Arrhenius change over a step.
CbfConfig exact_config() {
  CbfConfig c;
  c.cell.arrhenius_k = 0.0;
  return c;
}

battery::Cell plant(const CbfConfig& c, const battery::StateVector& x) {
  return battery::Cell(c.cell, battery::CellState{x[0], x[1], x[2], x[3]});
}

}  // namespace

TEST_CASE("a safe request passes unchanged") {
  CbfFilter f(exact_config());
  CbfVerdict v;
  const auto x = state(0.5, 0.0, 0.0, 25.0);
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -5.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == -5.0);
  CHECK_FALSE(v.modified);
  CHECK(v.active == 0);
}

TEST_CASE("near V_max the charge current is cut to the voltage bound, checked on the plant") {
  const CbfConfig cfg = exact_config();
  CbfFilter f(cfg);
  CbfVerdict v;
  // At rest the cell is under V_max (OCV(0.93) = 4.10 V); 15 A of charge would push it over.
  const auto x = state(0.93, -0.01, -0.02, 30.0);
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, v) == Status::ok);
  REQUIRE(v.modified);
  CHECK(v.current_a > -15.0);
  CHECK(v.current_a < 0.0);
  CHECK((v.active & bit(Barrier::voltage_max)) != 0);
  const double vmax = cfg.cell.limits.voltage_max_v - v.voltage_margin_v;
  CHECK(v.voltage_margin_v == doctest::Approx(cfg.model_error_v));
  auto cell = plant(cfg, x);
  const double v_now = cell.voltage_v(v.current_a);
  REQUIRE(cell.step(v.current_a, 1.0) == Status::ok);
  const double v_next = cell.voltage_v(v.current_a);
  const double g = cfg.gamma[0];
  CHECK(v_now <= vmax + 1e-12);
  CHECK(vmax - v_next >= (1.0 - g) * (vmax - v_now) - 1e-12);
  // On the bound: one of the two conditions holds with equality (up to rounding).
  const double slack = std::min(vmax - v_now, (vmax - v_next) - (1.0 - g) * (vmax - v_now));
  CHECK(std::abs(slack) < 1e-12);
}

TEST_CASE("the temperature barrier is the exact root of the quadratic heating") {
  const CbfConfig cfg = exact_config();
  CbfFilter f(cfg);
  CbfVerdict v;
  const auto x = state(0.3, 0.1, 0.3, 44.0);
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, v) == Status::ok);
  CHECK((v.active & bit(Barrier::temp_max)) != 0);
  auto cell = plant(cfg, x);
  REQUIRE(cell.step(v.current_a, 1.0) == Status::ok);
  const double tmax = cfg.cell.limits.temp_max_k - v.temp_margin_k;
  const double lhs = tmax - cell.state().temp_k;
  const double rhs = (1.0 - cfg.gamma[2]) * (tmax - x[3]);
  CHECK(lhs == doctest::Approx(rhs).epsilon(1e-12));
  CHECK(v.barrier_lo_a[2] == doctest::Approx(-v.barrier_hi_a[2]));
}

TEST_CASE("the margin grows with the covariance and shrinks with it") {
  CbfFilter f(exact_config());
  const auto x = state(0.93, -0.01, -0.02, 30.0);
  CbfVerdict tight, loose;
  battery::StateMatrix P = battery::StateMatrix::Zero();
  P(0, 0) = 1e-6;
  P(1, 1) = 1e-6;
  REQUIRE(f.filter(x, P, -15.0, 1.0, 1.0, tight) == Status::ok);
  P *= 100.0;
  REQUIRE(f.filter(x, P, -15.0, 1.0, 1.0, loose) == Status::ok);
  CHECK(loose.voltage_margin_v > tight.voltage_margin_v);
  CHECK(loose.current_a > tight.current_a);  // less charge current allowed when less certain
  CHECK(loose.voltage_margin_v - 0.002 == doctest::Approx(10.0 * (tight.voltage_margin_v - 0.002)));
}

TEST_CASE("a cell over V_max at rest is not discharged by the filter: it holds it at rest") {
  // Charge polarisation (0.15 V) lifts the resting terminal voltage to 4.26 V: past the bound with
  // no current at all. Recovery would take a discharge of about 13 A, which a charger cannot take
  // and nobody asked for: the filter refuses any charge and keeps rest and discharge open.
  CbfFilter f(exact_config());
  CbfVerdict v;
  const auto x = state(0.93, -0.05, -0.10, 30.0);
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == 0.0);
  CHECK(v.active == bit(Barrier::voltage_max));
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 0.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == 0.0);
  CHECK_FALSE(v.modified);
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 5.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == 5.0);
}

TEST_CASE("conflicting barriers give zero current and name them") {
  CbfFilter f(exact_config());
  CbfVerdict v;
  // Above T_max with the RC pairs still heating: no current keeps the temperature condition.
  const auto x = state(0.5, 0.2, 0.4, 46.0);
  CHECK(f.filter(x, battery::StateMatrix::Zero(), -3.0, 1.0, 1.0, v) == Status::ok);  // the call worked
  CHECK(v.decision == Decision::fallback);                                            // and decided the safe action
  CHECK(v.current_a == 0.0);
  CHECK((v.conflict & bit(Barrier::temp_max)) != 0);
}

TEST_CASE("a SOC barrier inside its margin forbids going further in, and demands nothing") {
  // SOC 0.6 above soc_max 0.5: the recovery condition alone would ask for about 927 A of discharge
  // (conflict, zero current both ways). Instead: no charge, rest allowed, discharge as requested.
  CbfConfig c = exact_config();
  c.soc_max = 0.5;
  CbfFilter g(c);
  CbfVerdict v;
  const auto x = state(0.6, 0, 0, 25);
  CHECK(g.filter(x, battery::StateMatrix::Zero(), -5.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == 0.0);
  CHECK(v.active == bit(Barrier::soc_max));
  CHECK(g.filter(x, battery::StateMatrix::Zero(), 5.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == 5.0);
  CHECK_FALSE(v.modified);
  // derated to no discharge at all: rest is still allowed (the interval holds 0), no conflict
  CHECK(g.filter(x, battery::StateMatrix::Zero(), 5.0, 1.0, 0.0, v) == Status::ok);
  CHECK(v.current_a == 0.0);
  CHECK(v.conflict == 0);
  // the empty side, mirrored: SOC 0.05 under soc_min 0.1 takes charge but no discharge
  c = exact_config();
  c.soc_min = 0.1;
  CbfFilter e(c);
  CHECK(e.filter(state(0.05, 0, 0, 25), battery::StateMatrix::Zero(), 3.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == 0.0);
  CHECK(e.filter(state(0.05, 0, 0, 25), battery::StateMatrix::Zero(), -3.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == -3.0);
}

TEST_CASE("non-finite input gives zero current and says so") {
  CbfFilter f(exact_config());
  CbfVerdict v;
  auto x = state(0.5, 0, 0, 25);
  x[1] = std::numeric_limits<double>::quiet_NaN();
  CHECK(f.filter(x, battery::StateMatrix::Zero(), -3.0, 1.0, 1.0, v) == Status::non_finite_input);
  CHECK(v.current_a == 0.0);
  CHECK(f.filter(state(0.5, 0, 0, 25), battery::StateMatrix::Zero(), std::nan(""), 1.0, 1.0, v) ==
        Status::non_finite_input);
  CHECK(v.current_a == 0.0);
  CHECK(f.filter(state(0.5, 0, 0, 25), battery::StateMatrix::Zero(), 1.0, -1.0, 1.0, v) == Status::invalid_argument);
  CHECK(v.current_a == 0.0);
}

TEST_CASE("derating scales the current limits") {
  CbfFilter f(exact_config());
  CbfVerdict v;
  REQUIRE(f.filter(state(0.5, 0, 0, 25), battery::StateMatrix::Zero(), -15.0, 1.0, 0.5, v) == Status::ok);
  CHECK(v.current_a == -7.5);
  CHECK(v.active == bit(Barrier::current_charge));
}

TEST_CASE("bad configuration is refused naming the field") {
  CbfConfig c;
  c.gamma[2] = 0.0;
  CHECK_THROWS_WITH_AS(CbfFilter{c}, doctest::Contains("CbfConfig.gamma[temp_max]"), std::invalid_argument);
  CbfConfig d;
  d.soc_max = 0.1;
  d.soc_min = 0.2;
  CHECK_THROWS_WITH_AS(CbfFilter{d}, doctest::Contains("CbfConfig.soc_max"), std::invalid_argument);
}

TEST_CASE("the filter step allocates nothing") {
  CbfFilter f(CbfConfig{});
  CbfVerdict v;
  battery::StateMatrix P = battery::StateMatrix::Identity() * 1e-6;
  double sum = 0.0;
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 100000; ++k) {
      const auto x = state(0.01 * (k % 100), 0.001 * (k % 7), 0.002 * (k % 11), 20.0 + 0.3 * (k % 90));
      (void)f.filter(x, P, -20.0 + 0.001 * k, 1.0, 1.0, v);
      sum += v.current_a;
    }
  });
  CHECK(n == 0);
  CHECK(std::isfinite(sum));
}

TEST_CASE("measurement-based barriers: hand-computed bounds from the most conservative readings") {
  // The twin believes SOC 0.5 (OCV 3.7 V, far from the limits); the measurements say otherwise.
  const CbfConfig cfg = exact_config();
  CbfFilter f(cfg);
  const auto x = state(0.5, 0.0, 0.0, 25.0);
  const double r0 = 0.021, r1 = 0.0075, r2 = 0.023, tau1 = 0.0075 * 1733.0, tau2 = 0.023 * 5652.0;
  const double rs = r0 + r1 * (1.0 - std::exp(-1.0 / tau1)) + r2 * (1.0 - std::exp(-1.0 / tau2));
  CbfVerdict v;
  MeasuredBounds mb;
  mb.voltage_max_v = 4.18;  // the highest node, read under 5 A of charge
  mb.voltage_min_v = 4.17;
  mb.current_a = -5.0;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, mb, v) == Status::ok);
  // I >= (R_s I_m + max(d0, 0) - gamma (V_max - m - V_m)) / (R_s + slope c): the RC pairs at rest
  // build up towards R_i I_m over the step (d0 > 0 under charge), the OCV rises with the charge.
  const double a1 = std::exp(-1.0 / tau1), a2 = std::exp(-1.0 / tau2);
  const double sc = cfg.cell.ocv.slope_v(0.5) / (3600.0 * cfg.cell.capacity_ah);
  const auto d0 = [&](double i_m) { return (1.0 - a1) * (0.0 - r1 * i_m) + (1.0 - a2) * (0.0 - r2 * i_m); };
  REQUIRE(d0(-5.0) > 0.0);
  const double lo = (rs * -5.0 + d0(-5.0) - 0.5 * (4.2 - 0.005 - 4.18)) / (rs + sc);
  CHECK(v.current_a == doctest::Approx(lo).epsilon(1e-12));
  CHECK(v.active == bit(Barrier::measured_voltage_max));
  // The same request without the readings passes: the twin alone sees no danger.
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, v) == Status::ok);
  CHECK(v.current_a == -15.0);
  // Past the limit the bound asks for less charge than I_m (gamma of the excess per step), never
  // for a discharge.
  mb.voltage_max_v = 4.25;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, mb, v) == Status::ok);
  CHECK(v.current_a == doctest::Approx((rs * -5.0 + d0(-5.0) - 0.5 * (4.2 - 0.005 - 4.25)) / (rs + sc)).epsilon(1e-12));
  CHECK(v.current_a > -5.0);
  mb.current_a = -0.5;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, mb, v) == Status::ok);
  CHECK(v.current_a == 0.0);
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 10.0, 1.0, 1.0, mb, v) == Status::ok);
  CHECK(v.current_a == 10.0);  // the way out stays open
  // Lower limit on the lowest node, under 20 A of discharge.
  MeasuredBounds low;
  low.voltage_max_v = 2.62;
  low.voltage_min_v = 2.58;
  low.current_a = 20.0;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, low, v) == Status::ok);
  // d0 < 0 under discharge: counted (it tightens the upper bound).
  REQUIRE(d0(20.0) < 0.0);
  CHECK(v.current_a == doctest::Approx((rs * 20.0 + d0(20.0) + 0.5 * (2.58 - 2.5 - 0.005)) / (rs + sc)).epsilon(1e-12));
  CHECK(v.active == bit(Barrier::measured_voltage_min));
  // Hottest reading: I^2 <= (gamma (T_max - m_k - T_m) C_th / dt - q_in) / R0, no cooling credit.
  MeasuredBounds hot;
  hot.temperature_max_k = 44.2 + battery::kZeroCelsiusK;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, hot, v) == Status::ok);
  const double i_t = std::sqrt(0.1 * (45.0 - 0.5 - 44.2) * 52.0 / r0);  // measured_temp_margin_k = 0.5 K
  CHECK(v.current_a == doctest::Approx(-i_t).epsilon(1e-12));
  CHECK(v.active == bit(Barrier::measured_temp_max));
  // A NaN bound (no valid reading) drops its barrier; an infinite one is refused.
  MeasuredBounds none;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, none, v) == Status::ok);
  CHECK(v.current_a == -15.0);
  none.voltage_max_v = INFINITY;
  CHECK(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, none, v) == Status::non_finite_input);
  CHECK(v.current_a == 0.0);
  // The switch turns them off.
  CbfConfig off = cfg;
  off.measured_limits = false;
  CbfFilter g(off);
  REQUIRE(g.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, mb, v) == Status::ok);
  CHECK(v.current_a == -15.0);
}

TEST_CASE("measurement-based barriers: the observed drift per step and the noise of the reading behind a bound") {
  // A twin at SOC 0.5 (flat OCV) over a cell that is nearly empty (off_nominal: a short drained
  // charge the twin did not count): the lowest node fell 15 mV per step at about 10 A.
  const CbfConfig cfg = exact_config();
  CbfFilter f(cfg);
  const auto x = state(0.5, 0.0, 0.0, 25.0);
  const double r0 = 0.021, r1 = 0.0075, r2 = 0.023, tau1 = 0.0075 * 1733.0, tau2 = 0.023 * 5652.0;
  const double a1 = std::exp(-1.0 / tau1), a2 = std::exp(-1.0 / tau2);
  const double rs = r0 + r1 * (1.0 - a1) + r2 * (1.0 - a2);
  const double sc = cfg.cell.ocv.slope_v(0.5) / (3600.0 * cfg.cell.capacity_ah);
  const double d0 = (1.0 - a1) * (0.0 - r1 * 10.0) + (1.0 - a2) * (0.0 - r2 * 10.0);
  MeasuredBounds low;
  low.voltage_min_v = 2.56;
  low.voltage_max_v = 2.56;
  low.current_a = 10.0;
  CbfVerdict model, seen;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, low, model) == Status::ok);
  const double room = 2.56 - 2.5 - 0.005;
  CHECK(model.current_a == doctest::Approx((rs * 10.0 + d0 + 0.5 * room) / (rs + sc)).epsilon(1e-12));
  // Observed: dV = -15 mV, dI = +0.2 A -> D_obs = -0.015 + R_s 0.2, at the twin's OCV term of 10 A.
  low.voltage_min_change_v = -0.015;
  low.current_change_a = 0.2;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, low, seen) == Status::ok);
  const double observed = -0.015 + rs * 0.2 + sc * 10.0;
  REQUIRE(observed < d0);  // the cell fell faster than the twin expects: the observation governs
  CHECK(seen.current_a == doctest::Approx((rs * 10.0 + observed + 0.5 * room) / (rs + sc)).epsilon(1e-12));
  CHECK(seen.current_a < model.current_a);
  // A drift the twin already expects (or a rise) never releases more than the model's d0.
  low.voltage_min_change_v = +0.004;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, low, seen) == Status::ok);
  CHECK(seen.current_a == model.current_a);
  // Without the current's change (NaN) the drift is not observed.
  low.voltage_min_change_v = -0.015;
  low.current_change_a = NAN;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, low, seen) == Status::ok);
  CHECK(seen.current_a == model.current_a);
  // The upper limit, mirrored: a charge at 5 A under which the highest node rose 6 mV.
  MeasuredBounds high;
  high.voltage_max_v = 4.17;
  high.voltage_min_v = 4.17;
  high.current_a = -5.0;
  high.voltage_max_change_v = 0.006;
  high.current_change_a = 0.0;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, high, seen) == Status::ok);
  const double up = 0.006 + sc * -5.0;
  const double d0c = (1.0 - a1) * (0.0 - r1 * -5.0) + (1.0 - a2) * (0.0 - r2 * -5.0);
  REQUIRE(up > d0c);
  CHECK(seen.current_a == doctest::Approx((rs * -5.0 + up - 0.5 * (4.2 - 0.005 - 4.17)) / (rs + sc)).epsilon(1e-12));
  // The noise of the reading behind the bound: a 10 mV node keeps kappa 10 mV = 30 mV, more than
  // the configured 5 mV; a 1 mV node keeps the configured margin (the larger of the two).
  MeasuredBounds noisy = low;
  noisy.voltage_min_change_v = NAN;
  noisy.voltage_min_sigma_v = 0.010;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, noisy, seen) == Status::ok);
  CHECK(seen.current_a == doctest::Approx((rs * 10.0 + d0 + 0.5 * (2.56 - 2.5 - 0.030)) / (rs + sc)).epsilon(1e-12));
  noisy.voltage_min_sigma_v = 0.001;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, noisy, seen) == Status::ok);
  CHECK(seen.current_a == model.current_a);
  // Refused: a negative or non-finite sigma, an infinite change; the command is 0.
  noisy.voltage_min_sigma_v = -0.001;
  CHECK(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, noisy, seen) == Status::invalid_argument);
  CHECK(seen.current_a == 0.0);
  noisy.voltage_min_sigma_v = NAN;
  CHECK(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, noisy, seen) == Status::non_finite_input);
  noisy.voltage_min_sigma_v = 0.0;
  noisy.voltage_max_change_v = -INFINITY;
  CHECK(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, noisy, seen) == Status::non_finite_input);
  CHECK(seen.current_a == 0.0);
}

TEST_CASE(
    "adaptive twin: the filter predicts with R0 x (f + kappa sigma), Q x (c - kappa sigma); learned error widens the "
    "margin") {
  CbfConfig cfg = exact_config();
  CbfFilter f(cfg);
  TwinEstimate twin;
  twin.r0_factor = 1.5;
  twin.r0_factor_sigma = 0.1;
  twin.capacity_factor = 0.8;
  twin.capacity_factor_sigma = 0.02;
  // The same cell given through the configuration: R0 x 1.8, Q x 0.74 (kappa = 3).
  CbfConfig aged = cfg;
  aged.scaling.r0_factor = 1.8;
  aged.scaling.capacity_factor = 0.74;
  CbfFilter g(aged);
  const auto x = state(0.93, -0.01, -0.02, 30.0);
  CbfVerdict a, b;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, MeasuredBounds{}, twin, a) == Status::ok);
  REQUIRE(g.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, b) == Status::ok);
  CHECK(a.current_a == doctest::Approx(b.current_a).epsilon(1e-12));
  for (int i = 0; i < kBarrierCount; ++i) {
    CHECK(a.barrier_lo_a[static_cast<std::size_t>(i)] == b.barrier_lo_a[static_cast<std::size_t>(i)]);
    CHECK(a.barrier_hi_a[static_cast<std::size_t>(i)] == b.barrier_hi_a[static_cast<std::size_t>(i)]);
  }
  CbfVerdict nominal;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, nominal) == Status::ok);
  CHECK(a.current_a > nominal.current_a);  // the aged twin allows less charge
  // Learned model error: the margin is max(floor, learned); below the floor nothing changes.
  twin = TwinEstimate{};
  twin.model_error_v = 0.015;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, MeasuredBounds{}, twin, a) == Status::ok);
  CHECK(a.voltage_margin_v == doctest::Approx(0.015));
  twin.model_error_v = 0.001;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, MeasuredBounds{}, twin, a) == Status::ok);
  CHECK(a.voltage_margin_v == doctest::Approx(cfg.model_error_v));
  twin.model_error_v = -0.01;
  CHECK(f.filter(x, battery::StateMatrix::Zero(), -15.0, 1.0, 1.0, MeasuredBounds{}, twin, a) ==
        Status::invalid_argument);
  CHECK(a.current_a == 0.0);
}

TEST_CASE("thermal twin: the temperature barrier counts the unexplained heat and lost cooling, exactly") {
  // GIVEN a twin that has learned 2 W of heat the model lacks and half its cooling
  const CbfConfig cfg = exact_config();
  CbfFilter f(cfg);
  TwinEstimate twin;
  twin.extra_heat_w = 2.0;
  twin.cooling_factor = 0.5;
  const auto x = state(0.3, 0.1, 0.3, 44.0);
  CbfVerdict v;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, MeasuredBounds{}, twin, v) == Status::ok);
  CHECK((v.active & bit(Barrier::temp_max)) != 0);
  // THEN one step of the model with that heat and cooling lands exactly on the class-K condition
  battery::StateVector next;
  battery::step<battery::RefStructure>(cfg.cell, x.data(), v.current_a, 1.0, model_factors(cfg.scaling), next.data(),
                                       battery::ThermalInputs{0.5, 2.0});
  const double tmax = cfg.cell.limits.temp_max_k - v.temp_margin_k;
  CHECK(tmax - next[StateIdx::temp] == doctest::Approx((1.0 - cfg.gamma[2]) * (tmax - x[3])).epsilon(1e-12));
  // AND it allows less than the nominal twin does
  CbfVerdict nominal;
  REQUIRE(f.filter(x, battery::StateMatrix::Zero(), 25.0, 1.0, 1.0, nominal) == Status::ok);
  CHECK(v.current_a < nominal.current_a - 0.5);
}

TEST_CASE("stored heat: a detected heat that settles past the limit at 0 A allows 0 A only, at the threshold") {
  // T_inf = T_amb + (q + kappa sigma) / (c hA) against T_max - m_k: ambient 30 degC, P = 0 (m_k = 0.05 K),
  // hA 0.3 W/K, sigma 0.1 W, kappa 3: the threshold is q* = 0.3 (T_max - 0.05 - T_amb) - 0.3 = 4.185 W.
  CbfConfig cfg = exact_config();
  cfg.cell.ambient_temp_k = 30.0 + battery::kZeroCelsiusK;
  CbfFilter f(cfg);
  const auto x = state(0.5, 0.0, 0.0, 40.0);
  const double q_star = 0.3 * (cfg.cell.limits.temp_max_k - 0.05 - cfg.cell.ambient_temp_k) - 0.3;
  CHECK(q_star == doctest::Approx(4.185).epsilon(1e-12));
  const auto run = [&](double q, double sigma, double request) {
    TwinEstimate twin;
    twin.extra_heat_w = q;
    twin.extra_heat_sigma_w = sigma;
    CbfVerdict v;
    REQUIRE(f.filter(x, battery::StateMatrix::Zero(), request, 1.0, 1.0, MeasuredBounds{}, twin, v) == Status::ok);
    return v;
  };
  for (double request : {-5.0, 5.0}) {
    const CbfVerdict below = run(q_star - 1e-6, 0.1, request);
    CHECK(below.current_a == request);  // settles under the limit: the next-step barrier alone
    const CbfVerdict above = run(q_star + 1e-6, 0.1, request);
    CHECK(above.current_a == 0.0);
    CHECK(above.barrier_lo_a[2] == 0.0);
    CHECK(above.barrier_hi_a[2] == 0.0);
    CHECK((above.active & bit(Barrier::temp_max)) != 0);
  }
  // Lost cooling (c = 0.3, no extra heat) at 44 degC: Q_u = 0.7 x 0.3 x 14 K = 2.94 W settles at
  // 30 + (2.94 + 0.3) / 0.3 = 40.8 degC < 44.95: at 0 A the cell cools, no stored-heat bound
  {
    TwinEstimate lost;
    lost.cooling_factor = 0.3;
    lost.extra_heat_sigma_w = 0.1;
    CbfVerdict v;
    REQUIRE(f.filter(state(0.5, 0.0, 0.0, 44.0), battery::StateMatrix::Zero(), 1.0, 1.0, 1.0, MeasuredBounds{}, lost,
                     v) == Status::ok);
    CHECK(v.barrier_hi_a[2] > 0.0);
    CHECK(v.barrier_lo_a[2] < 0.0);
    // and with 1.5 W of extra heat besides: 30 + (4.44 + 0.3) / 0.3 = 45.8 degC: 0 A only
    lost.extra_heat_w = 1.5;
    REQUIRE(f.filter(state(0.5, 0.0, 0.0, 44.0), battery::StateMatrix::Zero(), 1.0, 1.0, 1.0, MeasuredBounds{}, lost,
                     v) == Status::ok);
    CHECK(v.barrier_hi_a[2] == 0.0);
    CHECK(v.current_a == 0.0);
  }
  // Not detected (q <= heat_detect_sigma sigma = 2 sigma): no stored-heat bound, however close the ambient
  cfg.cell.ambient_temp_k = cfg.cell.limits.temp_max_k - 0.06;
  CbfFilter hot(cfg);
  const auto xh = state(0.5, 0.0, 0.0, cfg.cell.limits.temp_max_k - 5.06 - battery::kZeroCelsiusK);
  TwinEstimate twin;
  twin.extra_heat_sigma_w = 0.1;
  CbfVerdict v;
  twin.extra_heat_w = 0.2;
  REQUIRE(hot.filter(xh, battery::StateMatrix::Zero(), -0.1, 1.0, 1.0, MeasuredBounds{}, twin, v) == Status::ok);
  CHECK(v.barrier_hi_a[2] > 0.0);
  twin.extra_heat_w = 0.2 + 1e-9;
  REQUIRE(hot.filter(xh, battery::StateMatrix::Zero(), -0.1, 1.0, 1.0, MeasuredBounds{}, twin, v) == Status::ok);
  CHECK(v.barrier_hi_a[2] == 0.0);
  CHECK(v.current_a == 0.0);
  // A non-finite or negative thermal estimate is refused
  twin.cooling_factor = NAN;
  CHECK(hot.filter(xh, battery::StateMatrix::Zero(), -0.1, 1.0, 1.0, MeasuredBounds{}, twin, v) ==
        Status::non_finite_input);
  twin.cooling_factor = 0.0;
  CHECK(hot.filter(xh, battery::StateMatrix::Zero(), -0.1, 1.0, 1.0, MeasuredBounds{}, twin, v) ==
        Status::invalid_argument);
  CHECK(v.current_a == 0.0);
}
