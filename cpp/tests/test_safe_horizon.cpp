// The safe horizon checked against closed-form times (SOC budget, a tube of constant width) and
// against the plant (battery::Pack with parameter error and current noise the twin does not know).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/safety/safe_horizon.hpp"
#include "safetwin/safety/window_quantile.hpp"

using namespace safetwin;
using namespace safetwin::safety;
using battery::StateIdx;

namespace {

battery::StateVector state(double soc, double v1, double v2, double temp_k) {
  battery::StateVector x;
  x << soc, v1, v2, temp_k;
  return x;
}

const double kAmbient = battery::CellParams::ref_cell_1().ambient_temp_k;

// Exact one-sided binomial lower bound (Clopper-Pearson, 95 %) on the success probability with
// `fails` failures in n trials: the p at which P(X >= n - fails successes) = 0.05, by bisection on
// the binomial tail written with lgamma.
double clopper_pearson_lower(long n, long fails) {
  const auto tail = [&](double p) {  // P(failures <= fails) with failure probability 1 - p
    double s = 0.0;
    for (long k = 0; k <= fails; ++k)
      s += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) + k * std::log1p(-p) +
                    (n - k) * std::log(p));
    return s;
  };
  double lo = 0.0, hi = 1.0;
  for (int it = 0; it < 200; ++it) {
    const double mid = 0.5 * (lo + hi);
    if (tail(mid) > 0.05)
      hi = mid;
    else
      lo = mid;  // tail rises with p
  }
  return lo;
}

}  // namespace

TEST_CASE("at rest, with no uncertainty, the horizon is the configured maximum") {
  SafeHorizonConfig c;
  c.max_horizon_s = 30.0;
  SafeHorizon h(c);
  const double plan = 0.0;
  SafeHorizonResult r;
  REQUIRE(h.compute(state(0.5, 0.0, 0.0, kAmbient), battery::StateMatrix::Zero(), &plan, 1, TwinEstimate{}, r) ==
          Status::ok);
  CHECK(r.tau_s == 30.0);
  CHECK(r.tube_s == 30.0);
  CHECK(r.limit == HorizonLimit::none);
  CHECK_FALSE(r.event);
  CHECK(r.steps == 30);
  // The stated probability: 1 - 3 erfc(3.7 / sqrt 2) = 1 - 3 * 2.1566e-4 (tables of the normal tail).
  CHECK(r.probability == doctest::Approx(1.0 - 3.0 * 2.1566e-4).epsilon(1e-4));
}

TEST_CASE("the SOC budget of a constant discharge ends the horizon at the closed-form step") {
  // SOC falls by eta I dt / (3600 Q) per step: from 0.5 to soc_min 0.3 under 5 A with 10 s steps.
  SafeHorizonConfig c;
  c.soc_min = 0.3;
  c.step_s = 10.0;
  c.max_horizon_s = 3000.0;
  c.model_error_v = 0.0;
  c.model_error_k = 0.0;
  SafeHorizon h(c);
  const double plan = 5.0;
  SafeHorizonResult r;
  REQUIRE(h.compute(state(0.5, 0.0, 0.0, kAmbient), battery::StateMatrix::Zero(), &plan, 1, TwinEstimate{}, r) ==
          Status::ok);
  const auto& p = c.cell;
  const double per_step = p.coulombic_efficiency * 5.0 * 10.0 / (3600.0 * p.capacity_ah);
  const int inside = static_cast<int>(std::floor(0.2 / per_step));  // the last step with SOC >= 0.3
  CHECK(r.limit == HorizonLimit::soc_min);
  CHECK(r.tube_s == doctest::Approx(inside * 10.0));
}

TEST_CASE("a tube of constant width: kappa sigma plus the model error growing by one bound per step") {
  // At rest at ambient temperature the mean does not move and SOC's variance stays sigma^2, so the
  // SOC tube is 0.5 + 3.7 * 0.01 + j * 0.001 <= 0.6: the last step inside is j = 63.
  SafeHorizonConfig c;
  c.soc_max = 0.6;
  c.max_horizon_s = 200.0;
  c.model_error_soc = 0.001;
  SafeHorizon h(c);
  battery::StateMatrix P = battery::StateMatrix::Zero();
  P(StateIdx::soc, StateIdx::soc) = 0.01 * 0.01;
  const double plan = 0.0;
  SafeHorizonResult r;
  REQUIRE(h.compute(state(0.5, 0.0, 0.0, kAmbient), P, &plan, 1, TwinEstimate{}, r) == Status::ok);
  CHECK(r.limit == HorizonLimit::soc_max);
  CHECK(r.tube_s == 63.0);
  CHECK(r.half_width_soc == doctest::Approx(0.037 + 0.063));
}

TEST_CASE("the minimum inter-report time holds unless the tube leaves first (an explicit event)") {
  SafeHorizonConfig c;
  c.soc_max = 0.6;
  c.min_interval_s = 70.0;
  c.max_horizon_s = 200.0;
  c.model_error_soc = 0.001;
  SafeHorizon h(c);
  battery::StateMatrix P = battery::StateMatrix::Zero();
  P(StateIdx::soc, StateIdx::soc) = 0.01 * 0.01;
  const double plan = 0.0;
  SafeHorizonResult r;
  REQUIRE(h.compute(state(0.5, 0.0, 0.0, kAmbient), P, &plan, 1, TwinEstimate{}, r) == Status::ok);
  CHECK(r.event);  // 63 s < 70 s
  CHECK(r.tau_s == 63.0);
  SafeHorizonConfig c2 = c;
  c2.min_interval_s = 50.0;
  REQUIRE(SafeHorizon(c2).compute(state(0.5, 0.0, 0.0, kAmbient), P, &plan, 1, TwinEstimate{}, r) == Status::ok);
  CHECK_FALSE(r.event);
  CHECK(r.tau_s == 63.0);
  // Already outside (SOC above soc_max): tau 0, an event.
  REQUIRE(SafeHorizon(c2).compute(state(0.61, 0.0, 0.0, kAmbient), P, &plan, 1, TwinEstimate{}, r) == Status::ok);
  CHECK(r.event);
  CHECK(r.tau_s == 0.0);
}

TEST_CASE("a constant charge without uncertainty ends where the plant reaches V_max") {
  // Zero covariance and model error: the tube is the model's own trajectory, which the plant
  // (battery::Cell, the same parameters) follows; the horizon ends on the last step whose voltage
  // stays <= V_max.
  SafeHorizonConfig c;
  c.max_horizon_s = 600.0;
  c.model_error_v = 0.0;
  c.model_error_k = 0.0;
  SafeHorizon h(c);
  const double plan = -5.0;
  const battery::CellState s0{0.75, 0.0, 0.0, kAmbient};
  SafeHorizonResult r;
  REQUIRE(h.compute(state(s0.soc, 0.0, 0.0, kAmbient), battery::StateMatrix::Zero(), &plan, 1, TwinEstimate{}, r) ==
          Status::ok);
  battery::Cell plant(c.cell, s0);
  int inside = 0;
  for (int k = 0; k < 600; ++k) {
    double v0 = 0.0;
    REQUIRE(plant.step(plan, 1.0, &v0) == Status::ok);
    if (v0 > c.cell.limits.voltage_max_v || plant.voltage_v(plan) > c.cell.limits.voltage_max_v) break;
    inside = k + 1;
  }
  REQUIRE(inside > 5);
  REQUIRE(inside < 600);
  CHECK(r.limit == HorizonLimit::voltage_max);
  CHECK(r.tube_s == inside * 1.0);
}

TEST_CASE("bad input fails closed and names the field") {
  SafeHorizon h{SafeHorizonConfig{}};
  SafeHorizonResult r;
  const double nan_plan[2] = {1.0, std::nan("")};
  CHECK(h.compute(state(0.5, 0.0, 0.0, kAmbient), battery::StateMatrix::Zero(), nan_plan, 2, TwinEstimate{}, r) ==
        Status::non_finite_input);
  CHECK(r.event);
  CHECK(r.tau_s == 0.0);
  CHECK(h.compute(state(0.5, 0.0, 0.0, kAmbient), battery::StateMatrix::Zero(), nan_plan, 0, TwinEstimate{}, r) ==
        Status::invalid_argument);
  battery::StateMatrix bad = battery::StateMatrix::Zero();
  bad(0, 0) = -1e-4;
  CHECK(h.compute(state(0.5, 0.0, 0.0, kAmbient), bad, nan_plan, 1, TwinEstimate{}, r) == Status::invalid_argument);
  SafeHorizonConfig c;
  c.min_interval_s = 40.0;  // > max_horizon_s 30
  try {
    SafeHorizon bad_h(c);
    FAIL("accepted min_interval_s > max_horizon_s");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).find("SafeHorizonConfig.min_interval_s") != std::string::npos);
  }
  c = SafeHorizonConfig{};
  c.max_horizon_s = 1000.0;  // 1000 steps > kSafeHorizonMaxSteps
  CHECK_THROWS_AS(SafeHorizon{c}, std::invalid_argument);
}

TEST_CASE("compute allocates nothing") {
  SafeHorizon h{SafeHorizonConfig{}};
  battery::StateMatrix P = battery::StateMatrix::Identity() * 1e-6;
  const double plan[3] = {-5.0, 10.0, 0.0};
  SafeHorizonResult r;
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 2000; ++k)
      (void)h.compute(state(0.1 + 0.0004 * k, 0.0, 0.0, kAmbient + 0.01 * (k % 100)), P, plan, 3, TwinEstimate{}, r);
  });
  CHECK(n == 0);
}

TEST_CASE("against the plant: the true trajectory stays inside for the predicted tau in >= 99.9 % of cases") {
  // GIVEN random true cells (R0, R1, R2 x U(0.85, 1.25), capacity x U(0.9, 1.05): ageing the twin
  // does not know), random states, an estimate drawn from the covariance the twin states, a learned
  // model-error bound (WindowQuantile q = 0.99 over 60 one-step errors of the twin against this
  // plant under random currents, as the cycle learns it from its innovations) and a random
  // three-segment plan; the plant gets the plan plus current noise of 0.2 A (unknown to the twin).
  // WHEN the horizon is computed, THEN the plant, run for tau, stays inside every limit.
  std::mt19937_64 rng(20261202);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::normal_distribution<double> z(0.0, 1.0);
  SafeHorizonConfig c;
  c.max_horizon_s = 30.0;
  c.min_interval_s = 1.0;
  c.soc_min = 0.02;
  c.soc_max = 0.98;
  c.process_noise_var << 1e-10, 1e-8, 1e-8, 1e-6;
  SafeHorizon h(c);
  const auto& lim = c.cell.limits;
  const long cases = 6000;
  long violations = 0, limited = 0, exits_within_horizon = 0, events = 0;
  long node_violations = 0, temp_later = 0;  // against each node kind's own tau
  std::vector<double> ratio;                 // true exit time / tau, where the truth leaves within the horizon
  for (long n = 0; n < cases; ++n) {
    battery::PackConfig pc;
    pc.cell = c.cell;
    battery::Pack plant(pc);
    battery::CellScaling sc;
    sc.resistance_factor = 0.85 + 0.4 * u(rng);
    sc.capacity_factor = 0.9 + 0.15 * u(rng);
    plant.set_scaling(0, sc);
    const battery::CellState truth{0.03 + 0.94 * u(rng), -0.04 + 0.08 * u(rng), -0.03 + 0.06 * u(rng),
                                   kAmbient - 10.0 + 29.0 * u(rng)};
    // The learned one-step error bound: the twin's one-step prediction from the true state against
    // the plant's, under random currents in the plan's range.
    WindowQuantile qv(60, 0.99, 1e-4, 1.0), qk(60, 0.99, 1e-4, 10.0);
    {
      battery::CellState s = truth;
      for (int k = 0; k < 60; ++k) {
        const double i = -15.0 + 40.0 * u(rng);
        battery::Cell twin(c.cell, s);
        plant.set_state(0, s);
        (void)plant.step(i, 1.0);
        (void)twin.step(i, 1.0);
        qv.push(std::abs(plant.cell_voltage_at(0, i) - twin.voltage_v(i)));
        qk.push(std::abs(plant.states()[0].temp_k - twin.state().temp_k));
        s = plant.states()[0];
        if (s.soc < 0.03 || s.soc > 0.97 || s.temp_k > lim.temp_max_k - 1.0) s = truth;  // stay in range
      }
    }
    TwinEstimate twin;
    twin.model_error_v = qv.quantile();
    twin.model_error_k = qk.quantile();
    twin.r0_factor_sigma = 0.05;
    twin.capacity_factor_sigma = 0.02;
    const double sd[4] = {0.005 + 0.02 * u(rng), 0.002 + 0.005 * u(rng), 0.002 + 0.005 * u(rng), 0.1 + 0.4 * u(rng)};
    battery::StateMatrix P = battery::StateMatrix::Zero();
    battery::StateVector x;
    x << truth.soc, truth.v1_v, truth.v2_v, truth.temp_k;
    for (int i = 0; i < 4; ++i) {
      P(i, i) = sd[i] * sd[i];
      x[i] += sd[i] * z(rng);
    }
    double plan[30];
    {
      int k = 0;
      while (k < 30) {
        const double i = -15.0 + 40.0 * u(rng);
        const int len = 3 + static_cast<int>(12.0 * u(rng));
        for (int j = 0; j < len && k < 30; ++j) plan[k++] = i;
      }
    }
    SafeHorizonResult r;
    REQUIRE(h.compute(x, P, plan, 30, twin, r) == Status::ok);
    if (r.limit != HorizonLimit::none) ++limited;
    if (r.event) ++events;
    // The plant under the plan (plus noise) for the whole horizon: where does it first leave? The
    // voltage nodes' tube covers V and SOC (tau_voltage_s), the temperature node's T (tau_temp_s).
    plant.set_state(0, truth);
    int exit_step = -1, exit_v = -1, exit_k = -1;  // the first step whose start or end is outside
    for (int k = 0; k < 30 && (exit_v < 0 || exit_k < 0); ++k) {
      const double i = plan[k] + 0.2 * z(rng);
      battery::PackSample smp;
      (void)plant.step(i, 1.0, &smp);
      const auto& s = plant.states()[0];
      const double v0 = smp.pack_voltage_v, v1 = plant.cell_voltage_at(0, i);
      const bool inside_v = v0 <= lim.voltage_max_v && v0 >= lim.voltage_min_v && v1 <= lim.voltage_max_v &&
                            v1 >= lim.voltage_min_v && s.soc <= c.soc_max && s.soc >= c.soc_min;
      const bool inside_k = s.temp_k <= lim.temp_max_k && s.temp_k >= lim.temp_min_k;
      if (!inside_v && exit_v < 0) exit_v = k;  // inside for k steps
      if (!inside_k && exit_k < 0) exit_k = k;
      if ((!inside_v || !inside_k) && exit_step < 0) exit_step = k;
    }
    CHECK(r.tau_s == std::min(r.tau_voltage_s, r.tau_temp_s));
    if (r.tau_temp_s > r.tau_voltage_s) ++temp_later;
    if (exit_step >= 0) {
      ++exits_within_horizon;
      if (exit_step < r.tau_s) ++violations;
      if (r.tau_s > 0.0) ratio.push_back(exit_step / r.tau_s);
    }
    if ((exit_v >= 0 && exit_v < r.tau_voltage_s) || (exit_k >= 0 && exit_k < r.tau_temp_s)) ++node_violations;
  }
  const double lower = clopper_pearson_lower(cases, violations);
  std::sort(ratio.begin(), ratio.end());
  MESSAGE("cases " << cases << ", violations " << violations << ", 95 % lower bound " << lower
                   << ", limited by a barrier " << limited << ", events " << events << ", truth leaves within 30 s "
                   << exits_within_horizon << ", median exit time / tau "
                   << (ratio.empty() ? 0.0 : ratio[ratio.size() / 2]) << "; per node kind: violations "
                   << node_violations << ", the temperature node later than the voltage nodes in " << temp_later);
  CHECK(lower >= 0.999);
  CHECK(clopper_pearson_lower(cases, node_violations) >= 0.999);
  CHECK(temp_later >= cases / 4);  // not vacuous: the two tubes do end apart
  // Not vacuous: the plans do drive the plant out, and the barriers, not the ceiling, end many tubes.
  CHECK(exits_within_horizon >= cases / 10);
  CHECK(limited >= cases / 4);
}
