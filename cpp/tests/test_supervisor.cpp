// Safety supervisor: mode transitions, deadline hold, predictive check.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>

#include "alloc_counter.hpp"
#include "safetwin/safety/supervisor.hpp"

using namespace safetwin;
using namespace safetwin::safety;

namespace {
MonitorVerdict level(Severity s, int first = -1) {
  MonitorVerdict v;
  v.max_active = s;
  v.active = s == Severity::none ? 0 : 1;
  v.first_set = first;
  return v;
}
CbfVerdict ok_cbf(double current) {
  CbfVerdict c;
  c.status = Status::ok;
  c.decision = Decision::applied;
  c.current_a = current;
  c.voltage_margin_v = 0.002;
  c.temp_margin_k = 0.05;
  return c;
}
battery::StateVector rest(double soc, double temp_c = 25.0) {
  battery::StateVector x;
  x << soc, 0.0, 0.0, temp_c + battery::kZeroCelsiusK;
  return x;
}
}  // namespace

TEST_CASE("modes follow the monitor; SAFE_STOP is left only by reset; every transition logged") {
  Supervisor s(SupervisorConfig{});
  s.on_monitor(1.0, level(Severity::warning));
  CHECK(s.mode() == Mode::normal);
  s.on_monitor(2.0, level(Severity::derate, 4));
  CHECK(s.mode() == Mode::derated);
  CHECK(s.current_scale() == 0.5);
  s.on_monitor(3.0, level(Severity::none));
  CHECK(s.mode() == Mode::normal);
  s.on_monitor(4.0, level(Severity::stop, 7));
  CHECK(s.mode() == Mode::safe_stop);
  s.on_monitor(5.0, level(Severity::none));
  CHECK(s.mode() == Mode::safe_stop);
  SupervisorVerdict out;
  CHECK(s.release(rest(0.5), ok_cbf(-3.0), 1.0, out) == Status::ok);
  CHECK(out.current_a == 0.0);
  CHECK_FALSE(out.contactor_closed);
  s.reset(6.0);
  CHECK(s.mode() == Mode::normal);
  const auto& log = s.transitions();
  REQUIRE(log.size() == 4);
  CHECK(log[0].time_s == 2.0);
  CHECK(log[0].to == static_cast<std::uint8_t>(Mode::derated));
  CHECK(log[0].invariant == 4);
  CHECK(log[1].to == static_cast<std::uint8_t>(Mode::normal));
  CHECK(log[2].invariant == 7);
  CHECK(log[2].cause == static_cast<std::uint8_t>(TransitionCause::monitor));
  CHECK(log[3].cause == static_cast<std::uint8_t>(TransitionCause::reset));
}

TEST_CASE("a missing controller output holds the last command for hold_max_s, then SAFE_STOP") {
  SupervisorConfig c;
  c.hold_max_s = 3.0;
  Supervisor s(c);
  double req = 0.0;
  SupervisorVerdict out;
  REQUIRE(s.arbitrate(0.0, true, -4.0, &req) == Status::ok);
  REQUIRE(s.release(rest(0.5), ok_cbf(req), 1.0, out) == Status::ok);
  CHECK(out.current_a == -4.0);
  for (int k = 1; k <= 3; ++k) {  // missing at 1, 2, 3 s: held (3 s is not more than hold_max_s)
    REQUIRE(s.arbitrate(k, false, std::nan(""), &req) == Status::ok);
    CHECK(req == -4.0);
    REQUIRE(s.release(rest(0.5), ok_cbf(req), 1.0, out) == Status::ok);
    CHECK(out.holding);
    CHECK(s.mode() == Mode::normal);
  }
  Decision decision = Decision::applied;
  CHECK(s.arbitrate(4.0, false, 0.0, &req, &decision) == Status::ok);
  CHECK(decision == Decision::deadline_missed);
  CHECK(req == 0.0);
  CHECK(s.mode() == Mode::safe_stop);
  CHECK(s.transitions()[0].cause == static_cast<std::uint8_t>(TransitionCause::deadline));
  CHECK(s.transitions()[0].time_s == 4.0);
}

TEST_CASE("the predictive check refuses a command whose prediction leaves the safe set") {
  Supervisor s(SupervisorConfig{});
  SupervisorVerdict out;
  // A step of 25 A at 44.9 °C heats the cell by dt/C_th * 25^2 * R0 = 0.25 K: over T_max.
  CHECK(s.release(rest(0.5, 44.9), ok_cbf(25.0), 1.0, out) == Status::ok);
  CHECK(out.decision == Decision::rejected);
  CHECK(out.predictive_refused);
  CHECK(out.current_a == 0.0);
  CHECK(s.release(rest(0.5, 30.0), ok_cbf(25.0), 1.0, out) == Status::ok);
  CHECK(out.current_a == 25.0);
  CHECK(out.decision == Decision::applied);
  CbfVerdict bad = ok_cbf(5.0);
  bad.decision = Decision::fallback;  // the filter's safe action: whatever its current says, 0 A
  CHECK(s.release(rest(0.5), bad, 1.0, out) == Status::ok);
  CHECK(out.decision == Decision::fallback);
  CHECK(out.current_a == 0.0);
  bad.status = Status::non_finite_input;  // the filter's error is passed on
  CHECK(s.release(rest(0.5), bad, 1.0, out) == Status::non_finite_input);
  CHECK(out.current_a == 0.0);
}

TEST_CASE("from outside the safe set, the check compares with resting: the way out passes") {
  // A full cell at rest (SOC 1: OCV 4.2 V, at V_max) is outside the tightened voltage bound before
  // any command. Resting is the reference: a discharge lowers the voltage (passes), a charge raises
  // it further (refused), and so does a discharge big enough to heat it past T_max.
  Supervisor s(SupervisorConfig{});
  SupervisorVerdict out;
  CbfVerdict discharge = ok_cbf(10.0);
  discharge.voltage_margin_v = 0.01;
  CHECK(s.release(rest(1.0), discharge, 1.0, out) == Status::ok);
  CHECK(out.current_a == 10.0);
  CbfVerdict charge = ok_cbf(-5.0);
  charge.voltage_margin_v = 0.01;
  CHECK(s.release(rest(1.0), charge, 1.0, out) == Status::ok);
  CHECK(out.decision == Decision::rejected);
  CHECK(out.current_a == 0.0);
  CHECK(s.release(rest(1.0, 44.9), discharge, 1.0, out) == Status::ok);  // 10 A heats 0.04 K: inside
  CbfVerdict hard = ok_cbf(25.0);
  hard.voltage_margin_v = 0.01;
  CHECK(s.release(rest(1.0, 44.9), hard, 1.0, out) == Status::ok);  // 25 A: 0.25 K, past T_max
  CHECK(out.decision == Decision::rejected);
}

TEST_CASE("standalone, the supervisor refuses a non-finite state, dt or time: status, no command") {
  const double nan = std::nan(""), inf = INFINITY;
  SupervisorConfig c;
  for (bool predictive : {true, false}) {  // the refusal must not depend on the predictive check
    c.predictive_check = predictive;
    Supervisor s(c);
    SupervisorVerdict out;
    double req = 1.0;
    REQUIRE(s.arbitrate(0.0, true, -4.0, &req) == Status::ok);
    REQUIRE(s.release(rest(0.5), ok_cbf(-4.0), 1.0, out) == Status::ok);
    REQUIRE(out.current_a == -4.0);
    battery::StateVector bad = rest(0.5);
    bad[battery::StateIdx::soc] = nan;
    CHECK(s.release(bad, ok_cbf(-4.0), 1.0, out) == Status::non_finite_input);
    CHECK(out.current_a == 0.0);
    bad = rest(0.5);
    bad[battery::StateIdx::temp] = inf;
    CHECK(s.release(bad, ok_cbf(-4.0), 1.0, out) == Status::non_finite_input);
    CHECK(out.current_a == 0.0);
    CHECK(s.release(rest(0.5), ok_cbf(-4.0), nan, out) == Status::non_finite_input);
    CHECK(out.current_a == 0.0);
    CHECK(s.release(rest(0.5), ok_cbf(-4.0), -1.0, out) == Status::invalid_argument);
    CHECK(out.current_a == 0.0);
    // arbitrate with no clock: refused, nothing held, the deadline clock untouched.
    REQUIRE(s.release(rest(0.5), ok_cbf(-4.0), 1.0, out) == Status::ok);
    req = 1.0;
    CHECK(s.arbitrate(nan, true, -4.0, &req) == Status::non_finite_input);
    CHECK(req == 0.0);
    CHECK(s.arbitrate(inf, false, 0.0, &req) == Status::non_finite_input);
    CHECK(req == 0.0);
    CHECK(s.mode() == Mode::normal);                          // a refused call changes no mode
    CHECK(s.arbitrate(1.0, false, 0.0, &req) == Status::ok);  // the hold still counts from t = 0
    CHECK(req == -4.0);
    CHECK(s.arbitrate(2.0, true, -3.0, nullptr) == Status::invalid_argument);
  }
  Supervisor s(SupervisorConfig{});
  CHECK_FALSE(s.predict_safe(rest(0.5), -1.0, nan, 0.002, 0.05));
  CHECK_FALSE(s.predict_safe(rest(0.5), -1.0, 0.0, 0.002, 0.05));
  CHECK_FALSE(s.predict_safe(rest(0.5), nan, 1.0, 0.002, 0.05));
  CHECK_FALSE(s.predict_safe(rest(0.5), -1.0, 1.0, nan, 0.05));
  battery::StateVector bad = rest(0.5);
  bad[battery::StateIdx::v_rc1] = nan;
  CHECK_FALSE(s.predict_safe(bad, -1.0, 1.0, 0.002, 0.05));
  CHECK(s.predict_safe(rest(0.5), -1.0, 1.0, 0.002, 0.05));  // the same call with finite inputs passes
}

TEST_CASE("bad configuration is refused naming the field") {
  SupervisorConfig c;
  c.derate_factor = 1.5;
  CHECK_THROWS_WITH_AS(Supervisor{c}, doctest::Contains("SupervisorConfig.derate_factor"), std::invalid_argument);
  SupervisorConfig d;
  d.horizon_steps = 0;
  CHECK_THROWS_WITH_AS(Supervisor{d}, doctest::Contains("SupervisorConfig.horizon_steps"), std::invalid_argument);
}

TEST_CASE("the supervisor's calls allocate nothing") {
  Supervisor s(SupervisorConfig{});
  SupervisorVerdict out;
  double req = 0.0;
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 20000; ++k) {
      s.on_monitor(k, level(k % 50 == 0 ? Severity::derate : Severity::none));
      (void)s.arbitrate(k, k % 3 != 0, -2.0, &req);
      (void)s.release(rest(0.5), ok_cbf(req), 1.0, out);
      if (s.mode() == Mode::safe_stop) s.reset(k);
    }
  });
  CHECK(n == 0);
}

TEST_CASE("the predictive check sees the thermal twin's heat still to come") {
  // GIVEN a cell 0.05 K under T_max - m_k, whose discharge of 10 A cools it on the nominal model
  // (I^2 R0 ~ 2 W against 0.3 W/K x 20 K of cooling)
  Supervisor s(SupervisorConfig{});
  const double tmax = s.config().cell.limits.temp_max_k;
  battery::StateVector x = rest(0.5, tmax - 0.1 - battery::kZeroCelsiusK);
  CHECK(s.predict_safe(x, 10.0, 1.0, 0.002, 0.05));
  // WHEN the twin has learned 10 W of heat the model lacks (resting heats too: 10/52 - 0.115 K/s)
  TwinEstimate twin;
  twin.extra_heat_w = 10.0;
  REQUIRE(s.set_twin(twin, 3.0) == Status::ok);
  // THEN the command, which heats more than resting, is refused; resting itself is not the command's fault
  CHECK_FALSE(s.predict_safe(x, 10.0, 1.0, 0.002, 0.05));
  // AND a non-finite or non-positive cooling estimate is refused, the last twin kept
  twin.cooling_factor = NAN;
  CHECK(s.set_twin(twin, 3.0) == Status::non_finite_input);
  twin.cooling_factor = -1.0;
  CHECK(s.set_twin(twin, 3.0) == Status::invalid_argument);
  CHECK_FALSE(s.predict_safe(x, 10.0, 1.0, 0.002, 0.05));
}
