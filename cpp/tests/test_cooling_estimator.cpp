// The thermal twin (CoolingEstimator) against the analytic solution of the lumped thermal model:
// with a constant heat H and cooling c hA over a step, C dT/dt = H - c hA (T - T_amb) gives
// T(t + dt) = T_inf + (T(t) - T_inf) exp(-c hA dt / C), T_inf = T_amb + H / (c hA).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>

#include "alloc_counter.hpp"
#include "safetwin/estimation/cooling_estimator.hpp"

using namespace safetwin;
using namespace safetwin::estimation;

namespace {
constexpr double kC = 52.0, kHa = 0.3, kAmb = 300.0;

CoolingEstimatorConfig config() {
  CoolingEstimatorConfig c;
  c.heat_capacity_j_per_k = kC;
  c.heat_transfer_w_per_k = kHa;
  c.ambient_temp_k = kAmb;
  c.temp0_k = kAmb;
  return c;
}

// The true cell: exact solution over one step of dt with heat (model + extra) and cooling c.
double plant_step(double T, double heat_w, double cooling, double dt) {
  const double t_inf = kAmb + heat_w / (cooling * kHa);
  return t_inf + (T - t_inf) * std::exp(-cooling * kHa * dt / kC);
}
}  // namespace

TEST_CASE("an internal short's heat: the estimate converges to it, its sigma covers the error") {
  // GIVEN a cell at ambient, no model heat, and a short of 3 W from t = 0 (0.2 K sensor noise)
  CoolingEstimator est(config());
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 0.2);
  double T = kAmb;
  double at_15 = 0.0, sigma_15 = 0.0;
  for (int k = 1; k <= 300; ++k) {
    T = plant_step(T, 3.0, 1.0, 1.0);
    REQUIRE(est.step(0.0, T + noise(rng), true, 1.0) == Status::ok);
    if (k == 15) {
      at_15 = est.extra_heat_w();
      sigma_15 = est.extra_heat_sigma_w();
    }
  }
  // THEN within 15 s the estimate has seen most of it (what the stored-heat barrier needs) and
  // after 300 s it is 3 W within 3 sigma, sigma about half a watt (the random walk's steady state)
  CHECK(at_15 > 1.5);
  CHECK(sigma_15 < 0.8);
  CHECK(std::abs(est.extra_heat_w() - 3.0) < 3.0 * est.extra_heat_sigma_w());
  CHECK(est.extra_heat_sigma_w() < 0.7);
  CHECK(std::abs(est.temperature_k() - T) < 0.3);

  // Noise-free, the same: the model is exact up to its Euler step (dt / tau = 0.6 %: < 0.05 W here)
  CoolingEstimator exact(config());
  T = kAmb;
  for (int k = 1; k <= 600; ++k) {
    T = plant_step(T, 3.0, 1.0, 1.0);
    REQUIRE(exact.step(0.0, T, true, 1.0) == Status::ok);
  }
  CHECK(exact.extra_heat_w() == doctest::Approx(3.0).epsilon(0.02));
}

TEST_CASE("nominal cell: no unexplained heat, and the model's own heat is not counted") {
  // A square wave of 4 W / 0 W model heat that the model knows: the estimate stays near 0.
  CoolingEstimator est(config());
  std::mt19937 rng(11);
  std::normal_distribution<double> noise(0.0, 0.2);
  double T = kAmb, worst = 0.0;
  for (int k = 0; k < 3600; ++k) {
    const double heat = (k / 300) % 2 == 0 ? 4.0 : 0.0;
    T = plant_step(T, heat, 1.0, 1.0);
    REQUIRE(est.step(heat, T + noise(rng), true, 1.0) == Status::ok);
    if (k > 60) worst = std::max(worst, std::abs(est.extra_heat_w()) / est.extra_heat_sigma_w());
  }
  // |q| / sigma over 3 540 correlated estimates: under 4 (a 4-sigma excursion would be a false
  // detection at the filter's heat_detect_sigma = 2 only together with a bound at the limit)
  CHECK(worst < 4.0);
  CHECK(std::abs(est.cooling_factor() - 1.0) < 3.0 * est.cooling_factor_sigma() + 1e-9);
}

TEST_CASE("lost cooling: the unexplained heat it causes is explained; with q pinned, c is identified") {
  // GIVEN cooling at 0.3 of nominal and a square wave of model heat (T - T_amb moves)
  const auto run = [](CoolingEstimatorConfig c, int steps, double& T) {
    CoolingEstimator est(c);
    T = kAmb;
    for (int k = 0; k < steps; ++k) {
      const double heat = (k / 300) % 2 == 0 ? 4.0 : 0.0;
      T = plant_step(T, heat, 0.3, 1.0);
      REQUIRE(est.step(heat, T, true, 1.0) == Status::ok);
    }
    return est;
  };
  double T = 0.0;
  // THEN the total the model lacks, q + (1 - c) hA (T - T_amb), is the true (1 - 0.3) hA (T - T_amb)
  const CoolingEstimator joint = run(config(), 3600, T);
  const double lacking = 0.7 * kHa * (T - kAmb);
  const double explained = joint.extra_heat_w() + (1.0 - joint.cooling_factor()) * kHa * (T - kAmb);
  CHECK(explained == doctest::Approx(lacking).epsilon(0.05));
  // the total at the estimator's own temperature (not the plant's, 0.3 mW apart here)
  const double at_estimate =
      joint.extra_heat_w() + (1.0 - joint.cooling_factor()) * kHa * (joint.temperature_k() - kAmb);
  CHECK(joint.unexplained_heat_w() == doctest::Approx(at_estimate).epsilon(1e-12));
  CHECK(joint.unexplained_heat_w() == doctest::Approx(lacking).epsilon(0.05));
  CHECK(joint.cooling_factor() < 0.95);  // part of it is already laid at the cooling
  // AND with the extra heat pinned at 0 (no random walk, a tight prior) c itself converges to 0.3
  CoolingEstimatorConfig pinned = config();
  pinned.extra_heat_rw_w_per_sqrt_s = 0.0;
  pinned.extra_heat_sigma0_w = 1e-6;
  pinned.cooling_sigma0 = 0.5;
  const CoolingEstimator c_only = run(pinned, 3600, T);
  CHECK(c_only.cooling_factor() == doctest::Approx(0.3).epsilon(0.03));
  CHECK(c_only.cooling_factor_sigma() < 0.05);
}

TEST_CASE("the gate drops a spike but fuses a sustained rise") {
  CoolingEstimator est(config());
  for (int k = 0; k < 200; ++k) REQUIRE(est.step(0.0, kAmb, true, 1.0) == Status::ok);
  const double t0 = est.temperature_k();
  REQUIRE(est.step(0.0, kAmb + 20.0, true, 1.0) == Status::ok);  // one spike: gated
  CHECK(est.last_gated());
  CHECK(est.temperature_k() == doctest::Approx(t0).epsilon(1e-9));
  REQUIRE(est.step(0.0, kAmb, true, 1.0) == Status::ok);
  CHECK_FALSE(est.last_gated());
  // A step of 5 K that stays (the reading is right, the model wrong): fused after gate_reset_after
  for (int k = 0; k < 60; ++k) REQUIRE(est.step(0.0, kAmb + 5.0, true, 1.0) == Status::ok);
  CHECK(est.temperature_k() == doctest::Approx(kAmb + 5.0).epsilon(1e-3));
  CHECK_FALSE(est.last_gated());
}

TEST_CASE("bad input is refused and changes nothing; bad config names the field") {
  CoolingEstimator est(config());
  REQUIRE(est.step(1.0, kAmb + 0.5, true, 1.0) == Status::ok);
  const double T = est.temperature_k(), q = est.extra_heat_w(), s = est.extra_heat_sigma_w();
  CHECK(est.step(NAN, kAmb, true, 1.0) == Status::non_finite_input);
  CHECK(est.step(0.0, NAN, true, 1.0) == Status::non_finite_input);
  CHECK(est.step(0.0, kAmb, true, INFINITY) == Status::non_finite_input);
  CHECK(est.step(0.0, kAmb, true, 0.0) == Status::invalid_argument);
  CHECK(est.step(0.0, kAmb, true, -1.0) == Status::invalid_argument);
  CHECK(est.temperature_k() == T);
  CHECK(est.extra_heat_w() == q);
  CHECK(est.extra_heat_sigma_w() == s);
  CHECK(est.step(0.0, NAN, false, 1.0) == Status::ok);  // an invalid reading: predict only

  CoolingEstimatorConfig c = config();
  c.heat_capacity_j_per_k = 0.0;
  CHECK_THROWS_WITH_AS(CoolingEstimator{c}, doctest::Contains("CoolingEstimatorConfig.heat_capacity_j_per_k"),
                       std::invalid_argument);
  c = config();
  c.cooling_min = 1.5;
  CHECK_THROWS_WITH_AS(CoolingEstimator{c}, doctest::Contains("CoolingEstimatorConfig.cooling_min"),
                       std::invalid_argument);
  c = config();
  c.gate_reset_after = -1;
  CHECK_THROWS_WITH_AS(CoolingEstimator{c}, doctest::Contains("CoolingEstimatorConfig.gate_reset_after"),
                       std::invalid_argument);
}

TEST_CASE("the step allocates nothing") {
  CoolingEstimator est(config());
  double T = kAmb;
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 10000; ++k) {
      T = plant_step(T, 1.0, 1.0, 1.0);
      (void)est.step(0.5, T, k % 7 != 0, 1.0);
    }
  });
  CHECK(n == 0);
}
