// Invariant monitor: debounce, latching, reset and every operator against hand-computed traces.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/safety/monitor.hpp"
#include "safetwin/safety/window_quantile.hpp"

using namespace safetwin;
using namespace safetwin::safety;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

InvariantSpec spec(const char* name, InvariantKind kind, double lo, double hi, double window_s = 0.0,
                   Severity sev = Severity::warning, int set = 1, int clear = 1) {
  InvariantSpec s;
  s.name = name;
  s.signal = "x";
  s.kind = kind;
  s.lo = lo;
  s.hi = hi;
  s.window_s = window_s;
  s.severity = sev;
  s.set_count = set;
  s.clear_count = clear;
  return s;
}

InvariantMonitor one(const InvariantSpec& s, double period = 1.0, std::size_t events = 64) {
  MonitorConfig c;
  c.signals = {"x"};
  c.invariants = {s};
  c.sample_period_s = period;
  c.event_capacity = events;
  return InvariantMonitor(c);
}

// Runs the trace at t = k * period; returns the active flag and the last value after each sample.
std::vector<int> run(InvariantMonitor& m, const std::vector<double>& xs, std::vector<double>* values = nullptr,
                     double period = 1.0) {
  std::vector<int> act;
  for (std::size_t k = 0; k < xs.size(); ++k) {
    REQUIRE(m.set(0, xs[k]) == Status::ok);
    REQUIRE(m.check(static_cast<double>(k) * period) == Status::ok);
    act.push_back(m.active(0) ? 1 : 0);
    if (values) values->push_back(m.last_value(0));
  }
  return act;
}

}  // namespace

TEST_CASE("hysteresis: an active invariant clears only back inside its clear band; hand-computed trace") {
  // Set at x > 1.0, clear only at x <= 0.8 (clear_count 2). Without the band the same trace
  // (hovering around the limit) would set and clear three times.
  InvariantSpec s = spec("hi", InvariantKind::range, -kNoLimit, 1.0, 0, Severity::warning, 1, 2);
  const std::vector<double> trace{0.5, 1.1, 0.95, 1.05, 0.9, 1.02, 0.99, 0.7, 0.75, 0.9};
  auto plain = one(s);
  CHECK(run(plain, trace) == std::vector<int>{0, 1, 1, 1, 1, 1, 1, 0, 0, 0});
  auto chatter = one(spec("hi", InvariantKind::range, -kNoLimit, 1.0, 0, Severity::warning, 1, 1));
  CHECK(run(chatter, trace) == std::vector<int>{0, 1, 0, 1, 0, 1, 0, 0, 0, 0});
  CHECK(chatter.events().size() == 6);
  s.clear_count = 1;
  s.clear_hi = 0.8;
  auto band = one(s);
  // 0.95, 0.9, 0.99 are inside [lo, hi] but above the clear threshold: still active; 0.7 clears.
  CHECK(run(band, trace) == std::vector<int>{0, 1, 1, 1, 1, 1, 1, 0, 0, 0});
  REQUIRE(band.events().size() == 2);
  CHECK(band.events()[1].time_s == 7.0);
  CHECK(band.events()[1].kind == static_cast<std::uint8_t>(EventKind::cleared));
  // The low side and the nis_window mean use the same band.
  InvariantSpec lo = spec("lo", InvariantKind::range, 2.5, kNoLimit, 0, Severity::derate, 1, 1);
  lo.clear_lo = 2.6;
  auto m = one(lo);
  CHECK(run(m, {2.7, 2.4, 2.55, 2.58, 2.61, 2.4}) == std::vector<int>{0, 1, 1, 1, 0, 1});
  InvariantSpec nis = spec("nis", InvariantKind::nis_window, -kNoLimit, 8.0, 2.0, Severity::warning, 1, 1);
  nis.clear_hi = 5.0;
  auto n = one(nis);
  // window means of 2 samples: -, 9, 7, 6, 4 -> set at 9, held at 7 and 6 (> 5), cleared at 4.
  CHECK(run(n, {9, 9, 5, 7, 1}) == std::vector<int>{0, 1, 1, 1, 0});
}

TEST_CASE("a clear band outside the set limits, on a temporal kind or empty is refused naming it") {
  InvariantSpec s = spec("v_hi", InvariantKind::range, -kNoLimit, 4.2);
  s.clear_hi = 4.3;
  CHECK_THROWS_WITH_AS(one(s), doctest::Contains("invariant 'v_hi': clear_hi = 4.3 must be finite and <= hi = 4.2"),
                       std::invalid_argument);
  InvariantSpec t = spec("t", InvariantKind::always_within, -kNoLimit, 1.0, 2.0);
  t.clear_hi = 0.5;
  CHECK_THROWS_WITH_AS(one(t), doctest::Contains("range, rate and nis_window"), std::invalid_argument);
  InvariantSpec e = spec("e", InvariantKind::range, 0.0, 1.0);
  e.clear_lo = 0.8;
  e.clear_hi = 0.2;
  CHECK_THROWS_WITH_AS(one(e), doctest::Contains("empty clear band"), std::invalid_argument);
}

TEST_CASE("debounce counts up on violations, down on good samples, clears after clear_count in a row") {
  auto m = one(spec("hi", InvariantKind::range, -kNoLimit, 1.0, 0, Severity::warning, 3, 2));
  // counter: 1 2 1 2 3=set | ok_run: 0 1 0 1 2=clear
  const auto act = run(m, {2, 2, 0, 2, 2, 2, 0, 2, 0, 0, 0});
  CHECK(act == std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0});
  REQUIRE(m.events().size() == 2);
  CHECK(m.events()[0].time_s == 4.0);
  CHECK(m.events()[0].value == 2.0);
  CHECK(m.events()[0].limit == 1.0);
  CHECK(m.events()[0].kind == static_cast<std::uint8_t>(EventKind::set));
  CHECK(m.events()[0].severity == static_cast<std::uint8_t>(Severity::warning));
  CHECK(m.events()[1].time_s == 9.0);
  CHECK(m.events()[1].kind == static_cast<std::uint8_t>(EventKind::cleared));
}

TEST_CASE("range limits exactly at the threshold and one ulp beyond") {
  auto m = one(spec("v", InvariantKind::range, 2.5, 4.2));
  const auto act = run(m, {4.2, std::nextafter(4.2, 5.0), 2.5, std::nextafter(2.5, 0.0), kNaN});
  CHECK(act == std::vector<int>{0, 1, 0, 1, 1});
  CHECK(m.events()[1].limit == 2.5);
}

TEST_CASE("stop severity latches until an explicit reset") {
  auto m = one(spec("trip", InvariantKind::range, -kNoLimit, 1.0, 0, Severity::stop));
  CHECK(run(m, {0, 2, 0, 0}) == std::vector<int>{0, 1, 1, 1});
  CHECK(m.latched(0));
  CHECK(m.verdict().max_active == Severity::stop);
  REQUIRE(m.reset(0, 3.5) == Status::ok);
  CHECK_FALSE(m.active(0));
  CHECK(m.verdict().max_active == Severity::none);
  REQUIRE(m.set(0, 2.0) == Status::ok);
  REQUIRE(m.check(4.0) == Status::ok);
  CHECK(m.active(0));
  REQUIRE(m.events().size() == 3);
  CHECK(m.events()[1].kind == static_cast<std::uint8_t>(EventKind::reset));
  CHECK(m.events()[1].time_s == 3.5);
  CHECK(m.events()[2].time_s == 4.0);
  CHECK(m.reset(7, 5.0) == Status::invalid_argument);
}

TEST_CASE("always_within: min of robustness over the last window, hand-computed") {
  auto m = one(spec("alw", InvariantKind::always_within, -kNoLimit, 1.0, 2.0));
  std::vector<double> rho;
  const auto act = run(m, {0, 0.5, 3, 0, 0, 0}, &rho);
  // predicate robustness 1 - x: 1, .5, -2, 1, 1, 1; min over [k-2, k]:
  CHECK(rho == std::vector<double>{1, 0.5, -2, -2, -2, 1});
  CHECK(act == std::vector<int>{0, 0, 1, 1, 1, 0});
}

TEST_CASE("eventually_within: max of robustness over the last window, hand-computed") {
  auto m = one(spec("ev", InvariantKind::eventually_within, 1.0, kNoLimit, 2.0));
  std::vector<double> rho;
  const auto act = run(m, {0, 0, 0, 2, 0, 0, 0, 0}, &rho);
  CHECK(rho == std::vector<double>{-1, -1, -1, 1, 1, 1, -1, -1});
  CHECK(act == std::vector<int>{1, 1, 1, 0, 0, 0, 1, 1});
}

TEST_CASE("two-sided temporal predicate and a NaN sample (robustness -inf)") {
  auto m = one(spec("band", InvariantKind::always_within, 0.0, 1.0, 1.0));
  std::vector<double> rho;
  run(m, {0.25, 0.9, kNaN, 0.5, 0.5}, &rho);
  CHECK(rho[0] == 0.25);
  CHECK(rho[1] == doctest::Approx(0.1).epsilon(1e-12));
  CHECK(rho[2] == -std::numeric_limits<double>::infinity());
  CHECK(rho[3] == -std::numeric_limits<double>::infinity());
  CHECK(rho[4] == 0.5);
}

TEST_CASE("rate of change uses the time between checks") {
  auto m = one(spec("dv", InvariantKind::rate, -0.5, 0.5));
  std::vector<double> r;
  CHECK(run(m, {0, 0.4, 1.0, 1.2, 0.5}, &r) == std::vector<int>{0, 0, 1, 0, 1});
  CHECK(r[1] == doctest::Approx(0.4));
  CHECK(r[2] == doctest::Approx(0.6));
  CHECK(r[4] == doctest::Approx(-0.7));
  auto h = one(spec("dv", InvariantKind::rate, -0.5, 0.5), 0.5);
  std::vector<double> r2;
  CHECK(run(h, {0, 0.2, 0.6}, &r2, 0.5) == std::vector<int>{0, 0, 1});
  CHECK(r2[2] == doctest::Approx(0.8));
}

TEST_CASE("finite check") {
  auto m = one(spec("fin", InvariantKind::finite, 0, 0));
  CHECK(run(m, {1.0, kNaN, std::numeric_limits<double>::infinity(), 2.0}) == std::vector<int>{0, 1, 1, 0});
}

TEST_CASE("NIS over a window: judged once full, mean against the bound") {
  auto m = one(spec("nis", InvariantKind::nis_window, -kNoLimit, 2.0, 3.0));
  std::vector<double> mean;
  const auto act = run(m, {1, 1, 5, 1, 1, 1, 1}, &mean);
  CHECK(act == std::vector<int>{0, 0, 1, 1, 1, 0, 0});
  CHECK(mean[2] == doctest::Approx(7.0 / 3.0));
  CHECK(mean[5] == doctest::Approx(1.0));
}

TEST_CASE("check refuses a time that does not increase, and changes nothing") {
  auto m = one(spec("hi", InvariantKind::range, -kNoLimit, 1.0));
  REQUIRE(m.check(1.0) == Status::ok);
  REQUIRE(m.set(0, 5.0) == Status::ok);
  CHECK(m.check(1.0) == Status::invalid_argument);
  CHECK_FALSE(m.active(0));
  CHECK(m.check(kNaN) == Status::non_finite_input);
  CHECK(m.set(3, 1.0) == Status::invalid_argument);
}

TEST_CASE("event ring buffer keeps the newest events") {
  auto m = one(spec("hi", InvariantKind::range, -kNoLimit, 1.0), 1.0, 2);
  run(m, {2, 0, 2, 0, 2});  // set, cleared, set, cleared, set
  CHECK(m.events().size() == 2);
  CHECK(m.events().total() == 5);
  CHECK(m.events().dropped() == 3);
  CHECK(m.events()[0].time_s == 3.0);
  CHECK(m.events()[1].time_s == 4.0);
  MonitorEvent out[4];
  CHECK(m.events().copy_to(out, 4) == 2);
  CHECK(out[1].kind == static_cast<std::uint8_t>(EventKind::set));
}

TEST_CASE("bad definitions are refused with the invariant's name") {
  const auto refused = [](InvariantSpec s, const char* needle) {
    MonitorConfig c;
    c.signals = {"x"};
    c.invariants = {s};
    try {
      InvariantMonitor m(c);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      const std::string msg = e.what();
      CHECK(msg.find("'" + s.name + "'") != std::string::npos);
      CHECK(msg.find(needle) != std::string::npos);
    }
  };
  auto s = spec("a", InvariantKind::range, 0, 1);
  s.signal = "y";
  refused(s, "unknown signal 'y'");
  refused(spec("b", InvariantKind::range, 2, 1), "inverted limits");
  refused(spec("c", InvariantKind::always_within, 0, 1, -1.0), "window_s");
  refused(spec("d", InvariantKind::always_within, 0, 1, 1.5), "whole number");
  refused(spec("e", InvariantKind::nis_window, 0, 1, 0.0), "must be > 0");
  refused(spec("f", InvariantKind::range, 0, 1, 0, Severity::warning, 0), "set_count");
  refused(spec("g", InvariantKind::range, -kNoLimit, kNoLimit), "finite limit");
}

TEST_CASE("checking 50 invariants allocates nothing") {
  MonitorConfig c;
  c.signals = {"v", "t", "i", "nis"};
  for (int i = 0; i < 50; ++i) {
    InvariantSpec s;
    s.name = "inv" + std::to_string(i);
    s.signal = c.signals[static_cast<std::size_t>(i % 4)];
    s.kind = static_cast<InvariantKind>(i % 6);
    s.lo = -1.0;
    s.hi = 1.0;
    s.window_s = 10.0;
    s.severity = static_cast<Severity>(1 + i % 3);
    s.set_count = 2;
    c.invariants.push_back(s);
  }
  InvariantMonitor m(c);
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 10000; ++k) {
      for (int j = 0; j < 4; ++j) (void)m.set(j, std::sin(0.01 * k * (j + 1)) * 1.5);
      (void)m.check(static_cast<double>(k));
      if (k % 1000 == 999) m.reset_all(static_cast<double>(k) + 0.5);
    }
  });
  CHECK(n == 0);
  CHECK(m.events().total() > 0);
}

TEST_CASE("window quantile: the order statistic's bin edge, over a sliding window") {
  WindowQuantile q(100, 0.9, 1e-4, 2.0);
  CHECK(std::isnan(q.quantile()));
  for (int i = 1; i <= 100; ++i) q.push(i * 1e-3);  // 1 .. 100 mV
  // k = 90: the 90th smallest is 90 mV; the bound is the upper edge of its bin (<= 13 % above).
  CHECK(q.quantile() >= 0.090);
  const double ratio = std::exp(std::log(2.0 / 1e-4) / 63.0);  // one bin: 12.8 %
  CHECK(q.quantile() <= 0.090 * ratio + 1e-12);
  for (int i = 0; i < 100; ++i) q.push(0.002);  // the window forgets the old samples
  CHECK(q.quantile() >= 0.002);
  CHECK(q.quantile() <= 0.002 * ratio + 1e-12);
  q.push(std::nan(""));  // NaN counts as the ceiling: 1 of 100 does not move the 0.9 quantile
  CHECK(q.quantile() <= 0.002 * ratio + 1e-12);
  WindowQuantile top(10, 1.0, 1e-4, 2.0);
  for (int i = 0; i < 9; ++i) top.push(0.001);
  top.push(0.05);
  CHECK(top.quantile() >= 0.05);  // q = 1: the maximum
  const long n = test::count_allocations([&] {
    for (int i = 0; i < 1000; ++i) {
      q.push(i * 1e-5);
      (void)q.quantile();
    }
  });
  CHECK(n == 0);
}
