// BatteryEkf and PackEstimator: convergence on the project's own plant, Jacobians against finite
// differences, gating, noise scaling, bad input, and zero allocations on the step path.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/pack_estimator.hpp"

using namespace safetwin;
using namespace safetwin::estimation;
using battery::StateIdx;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// A noisy sensor on the plant: fixed seed, EST-DRIVE noise levels (2 mV, 20 mA, 0.2 K).
struct Bench {
  battery::Cell cell;
  std::mt19937_64 rng{42};
  std::normal_distribution<double> n01{0.0, 1.0};
  explicit Bench(double soc0) : cell(battery::CellParams::ref_cell_1(), battery::CellState{soc0, 0.0, 0.0, 298.15}) {}
  // Current profile: a square wave between discharge and charge with rests.
  static double current_at(int k) {
    const int phase = (k / 60) % 4;
    return phase == 0 ? 10.0 : phase == 1 ? 0.0 : phase == 2 ? -5.0 : 2.0;
  }
};
}  // namespace

TEST_CASE("own plant: SOC error below 2 % within 300 s from 0.2 off, and it stays") {
  Bench b(0.7);
  BatteryEkfConfig c;
  c.soc0 = 0.5;
  BatteryEkf ekf(c);
  double worst_after_300 = 0.0;
  for (int k = 0; k < 1800; ++k) {
    const double i_true = Bench::current_at(k);
    const double t_true = b.cell.state().temp_k;
    const double soc_true = b.cell.state().soc;
    double v = 0.0;
    REQUIRE(b.cell.step(i_true, 1.0, &v) == Status::ok);
    const Measurement z = Measurement::voltage_temperature(v + 0.002 * b.n01(b.rng), t_true + 0.2 * b.n01(b.rng));
    REQUIRE(ekf.step(i_true + 0.02 * b.n01(b.rng), z, 1.0) == Status::ok);
    if (k >= 300) worst_after_300 = std::max(worst_after_300, std::abs(ekf.soc() - soc_true));
  }
  CHECK(worst_after_300 < 0.02);
}

TEST_CASE("step allocates nothing over 10 000 steps (cell, joint, pack)") {
  BatteryEkfConfig c;
  BatteryEkfConfig cj;
  cj.estimate_params = true;
  BatteryEkf ekf(c), joint(cj);
  PackEstimator pack(c, 96);
  std::vector<double> va(96, 3.7), temp(96, 298.15);
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 10000; ++k) {
      const double i = Bench::current_at(k);
      const Measurement z = Measurement::voltage_temperature(3.7 - 0.02 * i, 298.15);
      (void)ekf.step(i, z, 1.0);
      (void)joint.step(i, z, 0.5 + (k % 3) * 0.25);
      (void)pack.step(&i, 1, va.data(), nullptr, temp.data(), 96, 1.0);
    }
  });
  CHECK(n == 0);
}
