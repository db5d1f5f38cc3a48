// Reporting schedules: the scheduler's frame counts against hand-counted schedules (periodic,
// missed reports, events with the peer poll), and the closed loop under self-triggered reporting
// against the same loop reporting every step (frames, the plant's limits, allocations).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "alloc_counter.hpp"
#include "safetwin/cycle/closed_loop.hpp"
#include "safetwin/cycle/report_schedule.hpp"

using namespace safetwin;
using namespace safetwin::cycle;

namespace {

struct Readings {
  double v[3] = {3.7, 3.7, 298.15};
  std::uint8_t ok[3] = {1, 1, 1};
  std::uint8_t fresh[3] = {1, 1, 1};
  GroupReadings view() { return {{&v[0], &v[1], &v[2]}, {&ok[0], &ok[1], &ok[2]}, {&fresh[0], &fresh[1], &fresh[2]}}; }
};

// One cell on ControlCycle with a constant law (as test_closed_loop's cell_spec).
LoopSpec cell_spec(double duration_s, double current_a, double soc0) {
  LoopSpec s;
  s.duration_s = duration_s;
  s.dt_s = 1.0;
  s.use_pack_cycle = false;
  s.cycle.series = s.cycle.parallel = 1;
  s.cycle.cell.estimator.soc0 = soc0;
  s.plant.series = s.plant.parallel = 1;
  s.plant.initial.soc = soc0;
  s.law.kind = LawKind::constant;
  s.law.current_a = current_a;
  s.noise = {0.002, 0.005, 0.2, 0.02, true};
  s.seed = 4242;
  s.trace = TraceLevel::extremes;
  return s;
}

}  // namespace

TEST_CASE("periodic: one frame per node per period, dt / T frames per step when T < dt") {
  ReportingConfig c;
  c.mode = ReportingMode::periodic;
  c.period_s = 5.0;
  ReportScheduler s(c, 1, true, 1.0, safety::SafeHorizonConfig{});
  Readings r;
  int fresh_steps = 0;
  for (int k = 0; k < 60; ++k) {
    auto v = r.view();
    s.decide(k, 0, v);
    if (r.fresh[0]) ++fresh_steps;
    CHECK(r.ok[0] == 1);  // held between reports: still valid for the monitor
  }
  // Reports at t = 0, 5, ..., 55: 12 per node.
  CHECK(fresh_steps == 12);
  CHECK(s.counts().frames[0] == 12);
  CHECK(s.counts().frames[2] == 12);
  CHECK(s.counts().total_frames() == 36);
  c.period_s = 0.1;
  ReportScheduler fast(c, 1, false, 1.0, safety::SafeHorizonConfig{});
  for (int k = 0; k < 60; ++k) {
    auto v = r.view();
    fast.decide(k, 0, v);
  }
  CHECK(fast.counts().frames[0] == 600);  // 10 per second
  CHECK(fast.counts().frames[1] == 0);    // no node b
}

TEST_CASE("a due report that does not come is silence: invalid for the cycle, and the node stays due") {
  ReportingConfig c;
  c.mode = ReportingMode::periodic;
  c.period_s = 10.0;
  ReportScheduler s(c, 1, true, 1.0, safety::SafeHorizonConfig{});
  Readings r;
  auto v = r.view();
  s.decide(0.0, 0, v);  // reports at 0
  r.v[0] = 3.8;
  s.decide(5.0, 0, v);  // not due: node a's last report (3.7) held
  CHECK(r.v[0] == 3.7);
  CHECK(r.fresh[0] == 0);
  CHECK(r.ok[0] == 1);
  r.v[0] = 3.8;
  r.ok[0] = 0;  // dropout at the due time 10
  s.decide(10.0, 0, v);
  CHECK(r.ok[0] == 0);
  CHECK(s.counts().missed_reports == 1);
  r.ok[0] = 0;
  s.decide(11.0, 0, v);  // still due, still silent
  CHECK(s.counts().missed_reports == 2);
  r.ok[0] = 1;
  r.v[0] = 3.81;
  s.decide(12.0, 0, v);  // reports now
  CHECK(r.fresh[0] == 1);
  CHECK(r.v[0] == 3.81);
  CHECK(s.counts().frames[0] == 2);
  CHECK(s.counts().frames[1] == 2);  // node b reported at 0 and 10
}

TEST_CASE("self-triggered: a reading that departs beyond the threshold reports early and polls its peer") {
  ReportingConfig c;
  c.mode = ReportingMode::self_triggered;
  c.max_interval_s = 30.0;
  ReportScheduler s(c, 1, true, 1.0, safety::SafeHorizonConfig{});
  Readings r;
  auto v = r.view();
  s.decide(0.0, 0, v);
  battery::StateVector x;
  x << 0.5, 0.0, 0.0, 298.15;
  REQUIRE(s.schedule(0.0, 0, x, battery::StateMatrix::Zero(), 0.0, safety::TwinEstimate{}) == Status::ok);
  CHECK(s.next_report_s(0, ReportNode::voltage_a) == 30.0);  // at rest: the ceiling
  // The threshold: half the distance of 3.7 V to the nearest limit (4.2 V: 0.25 V), capped at 0.05 V.
  CHECK(s.threshold(0, ReportNode::voltage_a) == doctest::Approx(0.05));
  r.v[0] = 3.7 + 0.049;
  r.v[1] = 3.7 + 0.049;
  s.decide(1.0, 0, v);
  CHECK(r.fresh[0] == 0);
  CHECK(s.counts().event_reports == 0);
  r.v[1] = 3.7 + 0.051;  // node b departs: b reports, a is polled
  r.v[0] = 3.7 + 0.049;
  s.decide(2.0, 0, v);
  CHECK(r.fresh[0] == 1);
  CHECK(r.fresh[1] == 1);
  CHECK(r.fresh[2] == 0);
  CHECK(s.counts().event_reports == 2);
  CHECK(s.counts().total_frames() == 3 + 2);
}

TEST_CASE("self-triggered: near V_max the voltage tube asks for the next step, and the temperature node follows") {
  // GIVEN a 3C charge near V_max: the V tube leaves at once, the T tube lasts (safe_horizon.hpp).
  ReportingConfig c;
  c.mode = ReportingMode::self_triggered;
  ReportScheduler s(c, 1, true, 1.0, safety::SafeHorizonConfig{});
  Readings r;
  auto v = r.view();
  s.decide(0.0, 0, v);
  battery::StateVector x;
  x << 0.7, -0.02, -0.03, 303.15;
  REQUIRE(s.schedule(0.0, 0, x, battery::StateMatrix::Zero(), -15.0, safety::TwinEstimate{}) == Status::ok);
  safety::SafeHorizonConfig hc;  // the scheduler's horizon: step dt, the 30 s ceiling, 1 s minimum
  safety::SafeHorizonResult h;
  const double plan[1] = {-15.0};
  REQUIRE(safety::SafeHorizon(hc).compute(x, battery::StateMatrix::Zero(), plan, 1, safety::TwinEstimate{}, h) ==
          Status::ok);
  REQUIRE(h.event_voltage);
  REQUIRE(!h.event_temp);
  CHECK(s.next_report_s(0, ReportNode::voltage_a) == 1.0);  // the next step
  CHECK(s.next_report_s(0, ReportNode::voltage_b) == 1.0);
  CHECK(h.tau_temp_s >= 10.0);                                // its own tube would wait
  CHECK(s.next_report_s(0, ReportNode::temperature) == 1.0);  // never later than the voltage nodes
}

TEST_CASE("self-triggered: a measured barrier that cuts the model's current interval asks for the next step") {
  // GIVEN a state at rest (every tube to the 30 s ceiling) and hand-made filter verdicts.
  ReportingConfig c;
  c.mode = ReportingMode::self_triggered;
  battery::StateVector x;
  x << 0.5, 0.0, 0.0, 298.15;
  const auto next_after = [&](const safety::CbfVerdict& verdict, ReportNode node) {
    ReportScheduler s(c, 1, true, 1.0, safety::SafeHorizonConfig{});
    Readings r;
    auto v = r.view();
    s.decide(0.0, 0, v);
    REQUIRE(s.schedule(0.0, 0, x, battery::StateMatrix::Zero(), 0.0, safety::TwinEstimate{}, &verdict) == Status::ok);
    return s.next_report_s(0, node);
  };
  using safety::Barrier;
  const auto idx = [](Barrier b) { return static_cast<std::size_t>(b); };
  safety::CbfVerdict verdict;
  verdict.status = Status::ok;
  verdict.decision = Decision::applied;
  verdict.barrier_lo_a.fill(-std::numeric_limits<double>::infinity());
  verdict.barrier_hi_a.fill(std::numeric_limits<double>::infinity());
  verdict.barrier_lo_a[idx(Barrier::current_charge)] = -15.0;  // the model allows [-12, 25]
  verdict.barrier_lo_a[idx(Barrier::voltage_max)] = -12.0;
  verdict.barrier_hi_a[idx(Barrier::current_discharge)] = 25.0;
  verdict.barrier_lo_a[idx(Barrier::measured_voltage_max)] = -12.0;  // at the model's bound: no cut
  CHECK(next_after(verdict, ReportNode::voltage_a) == 30.0);
  verdict.barrier_lo_a[idx(Barrier::measured_voltage_max)] = -11.9;  // tighter than the model
  CHECK(next_after(verdict, ReportNode::voltage_a) == 1.0);
  CHECK(next_after(verdict, ReportNode::voltage_b) == 1.0);
  CHECK(next_after(verdict, ReportNode::temperature) == 1.0);  // never later than the voltage nodes
  verdict.barrier_lo_a[idx(Barrier::measured_voltage_max)] = -20.0;
  verdict.barrier_hi_a[idx(Barrier::measured_temp_max)] = 24.0;  // the hottest reading cuts discharge
  CHECK(next_after(verdict, ReportNode::voltage_a) == 30.0);
  CHECK(next_after(verdict, ReportNode::temperature) == 1.0);
  verdict.decision = Decision::fallback;  // no interval to compare: the tubes alone
  CHECK(next_after(verdict, ReportNode::temperature) == 30.0);
}

TEST_CASE("closed loop at rest: self-triggered sends a fraction of the frames, the cell stays inside") {
  LoopSpec every = cell_spec(600.0, 0.0, 0.5);
  LoopSpec self = every;
  self.reporting.mode = ReportingMode::self_triggered;
  ClosedLoop a(every), b(self);
  REQUIRE(a.run() == Status::ok);
  REQUIRE(b.run() == Status::ok);
  const LoopSummary& sa = a.summary();
  const LoopSummary& sb = b.summary();
  CHECK(sa.frames == 3 * 600);
  MESSAGE("at rest: every step " << sa.frames << " frames, self-triggered " << sb.frames << ", mean interval "
                                 << sb.mean_report_interval_s << " s, events " << sb.event_reports);
  // The goal (>= 50 % fewer frames), and no fewer than the 30 s ceiling allows.
  CHECK(2 * sb.frames <= sa.frames);
  CHECK(sb.frames >= 3 * (600 / 30));
  CHECK(sb.final_mode == safety::Mode::normal);
  CHECK(sb.missed_reports == 0);
}

TEST_CASE("closed loop, 1.5C charge into the voltage limit: intervals shrink near V_max, the plant stays inside") {
  // 7.5 A for 1800 s from SOC 0.3 reaches the voltage limit in the second half, where the CBF
  // filter holds the cell under V_max and the tube leaves within the minimum interval.
  LoopSpec every = cell_spec(1800.0, -7.5, 0.3);
  LoopSpec self = every;
  self.reporting.mode = ReportingMode::self_triggered;
  ClosedLoop a(every), b(self);
  REQUIRE(a.run() == Status::ok);
  long n = test::count_allocations([&] { REQUIRE(b.advance(900) == Status::ok); });
  const std::size_t first_half = b.summary().frames;
  n += test::count_allocations([&] { REQUIRE(b.advance(900) == Status::ok); });
  CHECK(n == 0);
  const LoopSummary& sa = a.summary();
  const LoopSummary& sb = b.summary();
  const std::size_t second_half = sb.frames - first_half;
  MESSAGE("1.5C charge: every step " << sa.frames << " frames, self-triggered " << sb.frames << " (first half "
                                     << first_half << ", second " << second_half << "), mean interval "
                                     << sb.mean_report_interval_s << " s, horizon events " << sb.horizon_events
                                     << ", max V " << sa.max_voltage_v << " / " << sb.max_voltage_v);
  const double vmax = every.cycle.cell.cbf.cell.limits.voltage_max_v;
  CHECK(sa.max_voltage_v <= vmax);
  CHECK(sb.max_voltage_v <= vmax);
  CHECK(sb.frames < sa.frames);
  CHECK(second_half > first_half);  // near the limit the twin asks more often
  CHECK(sb.horizon_events > 0);
}
