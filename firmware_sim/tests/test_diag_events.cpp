// The firmware's online diagnostics (diag_events.hpp) on hand-made measurements, against what each
// detector's definition gives in closed form: a voltage difference linear in the current is a
// resistance step recovered exactly by the weighted regression; a group SOC falling linearly
// against the others is a leak recovered exactly by the least-squares slope; a reading that steps
// at rest is a sensor. Thresholds, debounce and latching, the isolation to the right group, the
// skipped cycles (a NaN, a held report) and no allocation from the first step on.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

#include "alloc_counter.hpp"
#include "diag_events.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/cycle/pack_cycle.hpp"
#include "safety_calibration.hpp"

using namespace safetwin;
using namespace safetwin::firmware;

namespace {

constexpr int kGroups = 4;
constexpr double kCapacityAh = 5.0;
constexpr double kDt = 1.0;

// The pack cycle is not stepped here: DiagEvents reads its estimators (SOC, innovations) only.
class Idle final : public control::Controller {
 public:
  Status compute(const control::ControllerInput&, control::ControllerOutput& out) noexcept override {
    out.current_a = 0.0;
    return Status::ok;
  }
};

struct Pack {
  std::vector<std::unique_ptr<Idle>> laws;
  std::unique_ptr<cycle::PackCycle> cycle;
  Pack() {
    std::vector<control::Controller*> raw;
    for (int g = 0; g < kGroups; ++g) {
      laws.push_back(std::make_unique<Idle>());
      raw.push_back(laws.back().get());
    }
    cycle = std::make_unique<cycle::PackCycle>(
        pack_cycle_config(kGroups, 1, battery::CellParams{}.limits, kDt, SafetyCalibration{}), raw);
    set_soc(0.5, 0.5);
  }
  // Every group at soc, group 1 (0-based) at soc1.
  void set_soc(double soc, double soc1) {
    for (int g = 0; g < kGroups; ++g)
      REQUIRE(cycle->group(static_cast<std::size_t>(g)).estimator().reset_soc(g == 1 ? soc1 : soc) == Status::ok);
  }
};

DiagConfig enabled() {
  DiagConfig c;
  c.enabled = true;
  return c;
}

Measurements measurements(double current_a, double v = 3.7) {
  Measurements m;
  m.n_cells = kGroups;
  for (int g = 0; g < kGroups; ++g) {
    m.cell_voltage_v[static_cast<std::size_t>(g)] = v;
    m.cell_temp_k[static_cast<std::size_t>(g)] = 298.15;
  }
  m.pack_current_a = current_a;
  return m;
}

// A square wave of +-amp A, period 10 s: enough current variation to identify a resistance.
double square(int k, double amp) { return (k / 5) % 2 == 0 ? amp : -amp; }

// n cycles of the +-10 A square wave with group 3 (1-based) dr_ohm above the others (3.7 V at rest).
void drive_loose_connection(DiagEvents& diag, const Pack& pack, double dr_ohm, int n) {
  for (int k = 0; k < n; ++k) {
    const double i = square(k, 10.0);
    Measurements m = measurements(i);
    m.cell_voltage_v[2] -= dr_ohm * i;
    diag.step(m, *pack.cycle, i, kDt);
  }
}

}  // namespace

TEST_CASE("a loose connection: the voltage slope against the current is the resistance step, on its group") {
  Pack pack;
  DiagEvents diag(enabled(), kGroups, kCapacityAh);
  const double r_common = 0.02, dr = 0.008;  // every cell 20 mOhm, group 3 (1-based) 8 mOhm more
  double first_event_s = -1.0;
  int events = 0;
  for (int k = 0; k < 300; ++k) {
    const double i = square(k, 10.0);
    Measurements m = measurements(i);
    for (int g = 0; g < kGroups; ++g) m.cell_voltage_v[static_cast<std::size_t>(g)] = 3.7 - r_common * i;
    m.cell_voltage_v[2] -= dr * i;
    diag.step(m, *pack.cycle, i, kDt);
    for (std::size_t e = 0; e < diag.events(); ++e) {
      CHECK(diag.event(e).code == DiagCode::connection_resistance);
      CHECK(diag.event(e).cell == 3);
      if (first_event_s < 0) first_event_s = k * kDt;
      ++events;
    }
  }
  // (v_g - median) = -dr * I exactly: the weighted least-squares slope is dr, whatever the weights.
  CHECK(diag.resistance_ohm(2) == doctest::Approx(dr).epsilon(1e-9));
  for (std::size_t g : {0u, 1u, 3u}) CHECK(std::fabs(diag.resistance_ohm(g)) < 1e-12);
  CHECK(events == 1);  // raised once, then latched
  CHECK(diag.active(DiagCode::connection_resistance));
  // Not before the debounce has run on an identified slope: at least debounce_s after the start.
  CHECK(first_event_s >= enabled().debounce_s - kDt);
  CHECK(first_event_s <= 60.0);
  CHECK_FALSE(diag.active(DiagCode::sensor_fault));
  CHECK_FALSE(diag.active(DiagCode::internal_short));
}

TEST_CASE("a resistance step under the threshold, or no current variation, raises nothing") {
  SUBCASE("3 mOhm < resistance_step_ohm = 4 mOhm") {
    Pack pack;
    DiagEvents diag(enabled(), kGroups, kCapacityAh);
    drive_loose_connection(diag, pack, 0.003, 600);
    CHECK_FALSE(diag.active(DiagCode::connection_resistance));  // never raised (a raised code latches)
    CHECK(diag.resistance_ohm(2) == doctest::Approx(0.003).epsilon(1e-9));
  }
  SUBCASE("a constant current: the slope is not identified (estimate 0)") {
    Pack pack;
    DiagEvents diag(enabled(), kGroups, kCapacityAh);
    for (int k = 0; k < 600; ++k) {
      Measurements m = measurements(10.0);
      m.cell_voltage_v[2] -= 0.02 * 10.0;  // a 20 mOhm step would be far over the threshold
      diag.step(m, *pack.cycle, 10.0, kDt);
      CHECK(diag.events() == 0);
    }
    CHECK(diag.resistance_ohm(2) == 0.0);
  }
}

TEST_CASE("a reading that steps at rest is a sensor fault, on its group, in the cycle it steps") {
  for (const double step_v : {0.011, 0.009}) {
    CAPTURE(step_v);
    Pack pack;
    DiagEvents diag(enabled(), kGroups, kCapacityAh);
    int events = 0;
    for (int k = 0; k < 20; ++k) {
      Measurements m = measurements(0.0);
      if (k >= 10) m.cell_voltage_v[1] += step_v;  // group 2 (1-based) from the eleventh cycle
      diag.step(m, *pack.cycle, 0.0, kDt);
      if (diag.events() > 0) {
        CHECK(k == 10);
        CHECK(diag.event(0).code == DiagCode::sensor_fault);
        CHECK(diag.event(0).cell == 2);
        events += static_cast<int>(diag.events());
      }
    }
    CHECK(events == (step_v > enabled().sensor_step_v ? 1 : 0));
    CHECK(diag.active(DiagCode::sensor_fault) == (events == 1));  // latched
  }
}

TEST_CASE("the same step under current, or in a held report, is not a sensor fault") {
  SUBCASE("under current the cell may move") {
    Pack pack;
    DiagEvents diag(enabled(), kGroups, kCapacityAh);
    for (int k = 0; k < 20; ++k) {
      Measurements m = measurements(5.0);
      if (k >= 10) m.cell_voltage_v[1] += 0.05;
      diag.step(m, *pack.cycle, 5.0, kDt);
      CHECK_FALSE(diag.active(DiagCode::sensor_fault));
    }
  }
  SUBCASE("a held report does not count; the step is judged from the next fresh one") {
    Pack pack;
    DiagEvents diag(enabled(), kGroups, kCapacityAh);
    for (int k = 0; k < 20; ++k) {
      Measurements m = measurements(0.0);
      m.has_freshness = true;
      m.cell_voltage_fresh.fill(1);
      if (k >= 10) m.cell_voltage_v[1] += 0.011;
      if (k >= 10 && k < 15) m.cell_voltage_fresh[1] = 0;  // held: the node did not report
      diag.step(m, *pack.cycle, 0.0, kDt);
      CHECK(diag.active(DiagCode::sensor_fault) == (k >= 15));
    }
  }
}

TEST_CASE("an internal short: the group's SOC falling against the median's is the leak, by least squares") {
  // Rest from t = 0; group 2 (1-based) loses leak / Q of SOC per second. The charge balance starts
  // at rest_min_s and decides from 600 s of balance on, where the slope of a straight line is exact.
  for (const double leak_a : {0.05, 0.01}) {
    CAPTURE(leak_a);
    Pack pack;
    const DiagConfig cfg = enabled();
    DiagEvents diag(cfg, kGroups, kCapacityAh);
    double event_s = -1.0;
    for (int k = 0; k < 1200; ++k) {
      const double t = (k + 1) * kDt;  // the rest time after this cycle's step
      pack.set_soc(0.5, 0.5 - leak_a * t / (kCapacityAh * 3600.0));
      diag.step(measurements(0.0), *pack.cycle, 0.0, kDt);
      if (diag.events() > 0) {
        CHECK(diag.event(0).code == DiagCode::internal_short);
        CHECK(diag.event(0).cell == 2);
        if (event_s < 0) event_s = t;
      }
      const double balance_s = t - cfg.rest_min_s;
      if (balance_s >= 600.0) CHECK(diag.leak_a(1) == doctest::Approx(leak_a).epsilon(1e-6));
      if (balance_s < 600.0) CHECK(diag.leak_a(1) == 0.0);
    }
    for (std::size_t g : {0u, 2u, 3u}) CHECK(std::fabs(diag.leak_a(g)) < 1e-9);
    if (leak_a > cfg.short_leak_a) {
      // Decided from 600 s of balance on, raised after debounce_s above the threshold.
      CHECK(event_s == doctest::Approx(cfg.rest_min_s + 600.0 + cfg.debounce_s - kDt));
    } else {
      CHECK(event_s < 0);
      CHECK_FALSE(diag.active(DiagCode::internal_short));
    }
  }
}

TEST_CASE("current ends the rest: the charge balance starts again") {
  // 800 s of rest (500 s of balance: not yet decided), one cycle of current, then rest again: the
  // balance restarts from nothing, so the leak that 905 s of one rest would have raised is not.
  Pack pack;
  const DiagConfig cfg = enabled();
  DiagEvents diag(cfg, kGroups, kCapacityAh);
  const double leak_a = 0.05;
  for (int k = 0; k < 1500; ++k) {
    const double t = (k + 1) * kDt;
    pack.set_soc(0.5, 0.5 - leak_a * t / (kCapacityAh * 3600.0));
    const double i = k == 800 ? 5.0 : 0.0;
    diag.step(measurements(i), *pack.cycle, i, kDt);
    CHECK(diag.events() == 0);
    if (k >= 800) CHECK(diag.leak_a(1) == 0.0);  // at most 699 s of new rest: under 300 + 600 s
  }
  CHECK_FALSE(diag.active(DiagCode::internal_short));
}

TEST_CASE("a cycle with a missing value is skipped: nothing learned, nothing decided") {
  Pack pack;
  DiagEvents diag(enabled(), kGroups, kCapacityAh);
  drive_loose_connection(diag, pack, 0.003, 100);
  const double before = diag.resistance_ohm(2);
  Measurements bad = measurements(10.0);
  bad.cell_voltage_v[2] = NAN;
  diag.step(bad, *pack.cycle, 10.0, kDt);
  CHECK(diag.resistance_ohm(2) == before);
  diag.step(measurements(10.0), *pack.cycle, NAN, kDt);  // no current
  CHECK(diag.resistance_ohm(2) == before);
  diag.step(measurements(10.0), *pack.cycle, 10.0, 0.0);  // no interval
  CHECK(diag.resistance_ohm(2) == before);
  CHECK(diag.events() == 0);
}

TEST_CASE("disabled, nothing runs; a refused configuration names its field") {
  Pack pack;
  DiagEvents off(DiagConfig{}, kGroups, kCapacityAh);
  for (int k = 0; k < 50; ++k) {
    Measurements m = measurements(0.0);
    if (k >= 10) m.cell_voltage_v[1] += 0.1;
    off.step(m, *pack.cycle, 0.0, kDt);
  }
  CHECK_FALSE(off.active(DiagCode::sensor_fault));
  DiagConfig bad = enabled();
  bad.debounce_s = -1.0;
  CHECK_THROWS_WITH_AS(DiagEvents(bad, kGroups, kCapacityAh), doctest::Contains("DiagConfig.debounce_s"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(DiagEvents(enabled(), kGroups, 0.0), doctest::Contains("group_capacity_ah"),
                       std::invalid_argument);
}

TEST_CASE("step allocates nothing, from the first call on") {
  Pack pack;
  DiagEvents diag(enabled(), kGroups, kCapacityAh);
  const long n = test::count_allocations([&] {
    drive_loose_connection(diag, pack, 0.008, 1000);
    for (int k = 0; k < 1000; ++k)
      diag.step(measurements(0.0), *pack.cycle, 0.0, kDt);  // a rest long enough to balance
  });
  CHECK(n == 0);
  CHECK(diag.active(DiagCode::connection_resistance));
}
