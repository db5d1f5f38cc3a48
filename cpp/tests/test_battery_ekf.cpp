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
#include "safetwin/estimation/replay.hpp"

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

namespace {
// Central-difference Jacobians of the model functions, compared with the analytic ones.
template <int NX>
void check_jacobians(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                     double dt_s) {
  using X = Eigen::Matrix<double, NX, 1>;
  using M = Eigen::Matrix<double, NX, NX>;
  X xn, g;
  M f;
  battery_transition<NX>(p, x, current_a, dt_s, xn, f, g);
  Eigen::Matrix<double, 1, NX> dh;
  (void)battery_voltage<NX>(p, x, current_a, dh);
  const double scale[6] = {1e-4, 1e-4, 1e-4, 1e-3, 1e-5, 1e-5};
  for (int j = 0; j < NX; ++j) {
    X xp = x, xm = x;
    xp[j] += scale[j];
    xm[j] -= scale[j];
    X fp, fm, gp;
    M fj;
    battery_transition<NX>(p, xp, current_a, dt_s, fp, fj, gp);
    battery_transition<NX>(p, xm, current_a, dt_s, fm, fj, gp);
    const X col = (fp - fm) / (2.0 * scale[j]);
    for (int i = 0; i < NX; ++i) {
      INFO("dF(", i, ",", j, ")");
      CHECK(f(i, j) == doctest::Approx(col[i]).epsilon(1e-6).scale(1e-9));
    }
    Eigen::Matrix<double, 1, NX> dj;
    const double hp = battery_voltage<NX>(p, xp, current_a, dj);
    const double hm = battery_voltage<NX>(p, xm, current_a, dj);
    INFO("dh/dx", j);
    CHECK(dh[j] == doctest::Approx((hp - hm) / (2.0 * scale[j])).epsilon(1e-6).scale(1e-9));
  }
  // Input Jacobian.
  X fp, fm;
  M fj;
  X gj;
  battery_transition<NX>(p, x, current_a + 1e-4, dt_s, fp, fj, gj);
  battery_transition<NX>(p, x, current_a - 1e-4, dt_s, fm, fj, gj);
  const X dfdi = (fp - fm) / 2e-4;
  for (int i = 0; i < NX; ++i) CHECK(g[i] == doctest::Approx(dfdi[i]).epsilon(1e-6).scale(1e-9));
}

battery::CellParams table_cell() {
  battery::CellParams p = battery::CellParams::ref_cell_1();
  // R0, R1 and C2 vary over SOC and temperature (values invented for the test, smooth enough).
  p.r0_ohm = battery::ParamSurface::table({0.0, 0.5, 1.0}, {273.15, 298.15, 323.15},
                                          {0.040, 0.025, 0.018, 0.030, 0.021, 0.015, 0.035, 0.024, 0.017}, "r0");
  p.r1_ohm = battery::ParamSurface::table({0.0, 1.0}, {273.15, 323.15}, {0.012, 0.006, 0.009, 0.005}, "r1");
  p.c2_f = battery::ParamSurface::table({0.0, 1.0}, {298.15}, {4000.0, 7000.0}, "c2");
  return p;
}
}  // namespace

TEST_CASE("Jacobians against central differences: constant parameters and tables, 4 and 6 states") {
  const battery::CellParams ref = battery::CellParams::ref_cell_1();
  const battery::CellParams tab = table_cell();
  Eigen::Matrix<double, 4, 1> x4;
  x4 << 0.437, 0.031, -0.052, 305.3;
  Eigen::Matrix<double, 6, 1> x6;
  x6 << 0.612, -0.021, 0.047, 291.7, 1.23, 0.91;
  for (double i : {-12.0, 0.0, 7.5}) {
    check_jacobians<4>(ref, x4, i, 1.0);
    check_jacobians<4>(tab, x4, i, 0.37);
    check_jacobians<6>(ref, x6, i, 2.0);
    check_jacobians<6>(tab, x6, i, 1.0);
  }
  // Outside the OCV table the voltage is extrapolated with the end slope (consistent Jacobian).
  Eigen::Matrix<double, 4, 1> low = x4;
  low[StateIdx::soc] = -0.02;
  check_jacobians<4>(ref, low, 3.0, 1.0);
  Eigen::Matrix<double, 1, 4> dh;
  const battery::OcvTable& ocv = ref.ocv;
  const double v = battery_voltage<4>(ref, low, 0.0, dh);
  CHECK(v == doctest::Approx(ocv.ocv_v()[0] - 0.02 * ocv.slope_v(0.0) - low[1] - low[2]));
}

TEST_CASE("the first step only updates; later steps predict under the previous sample's current") {
  BatteryEkfConfig c;
  c.gate_probability = 1.0;
  BatteryEkf ekf(c);
  const Measurement none{};  // no channel: the step is a pure prediction (or nothing at all)
  REQUIRE(ekf.step(5.0, none, 10.0) == Status::ok);
  CHECK(ekf.soc() == c.soc0);                         // first step: no prediction
  REQUIRE(ekf.step(-3.0, none, 10.0) == Status::ok);  // predicts 10 s at 5 A (the previous current)
  CHECK(ekf.soc() == doctest::Approx(c.soc0 - 5.0 * 10.0 / (3600.0 * 5.15)).epsilon(1e-14));
  REQUIRE(ekf.step(0.0, none, 2.5) == Status::ok);  // irregular dt: 2.5 s at -3 A
  CHECK(ekf.soc() == doctest::Approx(c.soc0 - 50.0 / 18540.0 + 7.5 / 18540.0).epsilon(1e-14));
}

TEST_CASE("a voltage spike is rejected by the gate and changes nothing") {
  Bench b(0.6);
  BatteryEkfConfig c;
  c.soc0 = 0.6;
  c.voltage_model_sigma_v = 0.0;  // the data come from this very model
  BatteryEkf ekf(c), twin(c);
  for (int k = 0; k < 400; ++k) {
    const double i = Bench::current_at(k);
    const double t = b.cell.state().temp_k;
    double v = 0.0;
    REQUIRE(b.cell.step(i, 1.0, &v) == Status::ok);
    Measurement z = Measurement::voltage_temperature(v + 0.002 * b.n01(b.rng), t + 0.2 * b.n01(b.rng));
    if (k == 350) {
      Measurement spike = z;
      spike.voltage_a_v += 0.08;  // 80 mV on a 2 mV channel
      REQUIRE(ekf.step(i, spike, 1.0) == Status::ok);
      CHECK(ekf.flags(Channel::voltage_a) == channel_flag::gated);
      CHECK(ekf.innovation(Channel::voltage_a) > 0.07);
      CHECK(ekf.nis(Channel::voltage_a) > ekf.gate_threshold());
      CHECK(ekf.flags(Channel::temperature) == channel_flag::used);
      z.voltage_a_valid = false;  // the twin simply misses that sample
      REQUIRE(twin.step(i, z, 1.0) == Status::ok);
      CHECK(ekf.state() == twin.state());
      CHECK(ekf.covariance() == twin.covariance());
    } else {
      REQUIRE(ekf.step(i, z, 1.0) == Status::ok);
      REQUIRE(twin.step(i, z, 1.0) == Status::ok);
      if (k > 100) CHECK(ekf.flags(Channel::voltage_a) == channel_flag::used);
    }
  }
}

TEST_CASE("redundant voltage node and noise scaling through the single entry point") {
  BatteryEkfConfig c;
  c.gate_probability = 1.0;
  BatteryEkf a(c), b(c);
  Measurement z = Measurement::voltage_temperature(3.70, 298.15);
  z.voltage_b_v = 3.70;
  z.voltage_b_valid = true;
  REQUIRE(a.step(1.0, z, 1.0) == Status::ok);
  CHECK(a.flags(Channel::voltage_b) == channel_flag::used);
  CHECK(a.report().fused == 3);
  // R_eff = R * s: the innovation variance grows by exactly (s - 1) R.
  CHECK(b.set_noise_scale(Channel::voltage_b, 9.0) == Status::ok);
  CHECK(b.set_noise_scale(Channel::voltage_b, 0.5) == Status::invalid_argument);
  CHECK(b.set_noise_scale(Channel::voltage_b, std::nan("")) == Status::non_finite_input);
  CHECK(b.noise_scale(Channel::voltage_b) == 9.0);
  REQUIRE(b.step(1.0, z, 1.0) == Status::ok);
  const double r_b = b.innovation_variance(Channel::voltage_b) - a.innovation_variance(Channel::voltage_b);
  // R of voltage_b at dt = 1 s: sensor, model error inflated by its correlation time (300 s / 1 s),
  // current noise through R0.
  const double expected_r = 8.0 * (0.002 * 0.002 + 0.03 * 0.03 * 300.0 + (0.021 * 0.02) * (0.021 * 0.02));
  CHECK(r_b == doctest::Approx(expected_r).epsilon(1e-9));
  CHECK(std::abs(b.soc() - c.soc0) < std::abs(a.soc() - c.soc0));  // trusted less, moved less
}

TEST_CASE("bad input is refused and leaves the estimator unchanged") {
  BatteryEkf ekf{BatteryEkfConfig{}};
  const Measurement z = Measurement::voltage_temperature(3.7, 298.15);
  REQUIRE(ekf.step(1.0, z, 1.0) == Status::ok);
  const battery::StateVector x = ekf.state();
  const battery::StateMatrix p = ekf.covariance();
  CHECK(ekf.step(kNan, z, 1.0) == Status::non_finite_input);
  CHECK(ekf.step(1.0, z, 0.0) == Status::invalid_argument);
  CHECK(ekf.step(1.0, z, -1.0) == Status::invalid_argument);
  CHECK(ekf.step(1.0, z, kNan) == Status::non_finite_input);
  CHECK(ekf.state() == x);
  CHECK(ekf.covariance() == p);
  // A NaN measurement is a missing sample, not an error.
  const Measurement nan_v = Measurement::voltage_temperature(kNan, 298.15);
  CHECK(ekf.step(1.0, nan_v, 1.0) == Status::ok);
  CHECK(ekf.flags(Channel::voltage_a) == channel_flag::non_finite);
  // Construction names the field.
  BatteryEkfConfig bad;
  bad.soc_sigma0 = 0.0;
  CHECK_THROWS_WITH_AS(BatteryEkf{bad}, doctest::Contains("BatteryEkfConfig.soc_sigma0"), std::invalid_argument);
  bad = BatteryEkfConfig{};
  bad.r0_factor0 = 5.0;
  CHECK_THROWS_WITH_AS(BatteryEkf{bad}, doctest::Contains("BatteryEkfConfig.r0_factor0"), std::invalid_argument);
  bad = BatteryEkfConfig{};
  bad.cell.capacity_ah = -1.0;
  CHECK_THROWS_WITH_AS(BatteryEkf{bad}, doctest::Contains("CellParams.capacity_ah"), std::invalid_argument);
}

TEST_CASE("joint estimation: parameters move only when excited and stay in their bounds") {
  Bench b(0.8);
  BatteryEkfConfig c;
  c.soc0 = 0.8;
  c.voltage_model_sigma_v = 0.0;
  c.estimate_params = true;
  c.r0_factor0 = 1.3;  // the plant has factor 1
  BatteryEkf ekf(c);
  // Constant current: no current step, so R0 never moves; capacity waits for a known SOC.
  for (int k = 0; k < 100; ++k) {
    double v = 0.0;
    const double t = b.cell.state().temp_k;
    REQUIRE(b.cell.step(5.0, 1.0, &v) == Status::ok);
    REQUIRE(ekf.step(5.0, Measurement::voltage_temperature(v, t), 1.0) == Status::ok);
    CHECK(ekf.r0_factor() == 1.3);
    CHECK_FALSE(ekf.r0_excited());
    CHECK(ekf.capacity_factor() == 1.0);  // under load: the capacity waits for a rest
    CHECK_FALSE(ekf.capacity_excited());
  }
  // Current steps: R0 learns towards the plant's.
  for (int k = 100; k < 1500; ++k) {
    const double i = Bench::current_at(k);
    double v = 0.0;
    const double t = b.cell.state().temp_k;
    REQUIRE(b.cell.step(i, 1.0, &v) == Status::ok);
    REQUIRE(ekf.step(i, Measurement::voltage_temperature(v + 0.002 * b.n01(b.rng), t), 1.0) == Status::ok);
    CHECK(ekf.r0_factor() >= c.r0_factor_min);
    CHECK(ekf.r0_factor() <= c.r0_factor_max);
    CHECK(ekf.capacity_factor() >= c.capacity_factor_min);
    CHECK(ekf.capacity_factor() <= c.capacity_factor_max);
  }
  CHECK(std::abs(ekf.r0_factor() - 1.0) < 0.05);
  CHECK(ekf.r0_ohm() == doctest::Approx(ekf.r0_factor() * 0.021 *
                                        std::exp(2000.0 * (1.0 / ekf.state()[StateIdx::temp] - 1.0 / 298.15))));
}

TEST_CASE("pack estimator: the same numbers as separate cell estimators; a refused call steps nothing") {
  BatteryEkfConfig c;
  std::vector<BatteryEkfConfig> per(3, c);
  per[1].soc0 = 0.3;
  per[2].soc0 = 0.7;
  PackEstimator pack(per);
  std::vector<BatteryEkf> cells;
  for (const auto& pc : per) cells.emplace_back(pc);
  for (int k = 0; k < 200; ++k) {
    const double i = Bench::current_at(k);
    const double va[3] = {3.60 - 0.02 * i, 3.65, kNan};
    const double tk[3] = {298.0, 299.0, 300.0};
    REQUIRE(pack.step(&i, 1, va, nullptr, tk, 3, 1.0) == Status::ok);
    for (int j = 0; j < 3; ++j) {
      Measurement z = Measurement::voltage_temperature(va[j], tk[j]);
      REQUIRE(cells[j].step(i, z, 1.0) == Status::ok);
      CHECK(pack.group(j).state() == cells[j].state());
      CHECK(pack.group(j).covariance() == cells[j].covariance());
    }
  }
  // The Measurement-array overload gives the same numbers as the column arrays.
  PackEstimator by_struct(per);
  PackEstimator by_columns(per);
  Status statuses[3];
  for (int k = 0; k < 50; ++k) {
    const double i[3] = {1.0, 2.0, -3.0};  // one current per group
    const double va[3] = {3.6, 3.7, 3.8};
    Measurement z[3];
    for (int j = 0; j < 3; ++j) z[j] = Measurement::voltage_temperature(va[j], 298.15);
    const double tk[3] = {298.15, 298.15, 298.15};
    REQUIRE(by_struct.step(i, 3, z, 3, 1.0, statuses) == Status::ok);
    REQUIRE(by_columns.step(i, 3, va, nullptr, tk, 3, 1.0) == Status::ok);
    for (int j = 0; j < 3; ++j) {
      CHECK(statuses[j] == Status::ok);
      CHECK(by_struct.group(j).state() == by_columns.group(j).state());
    }
  }
  double soc[3], sigma[3];
  pack.read(soc, sigma, nullptr, nullptr, nullptr, nullptr);
  for (int j = 0; j < 3; ++j) {
    CHECK(soc[j] == cells[j].soc());
    CHECK(sigma[j] == cells[j].soc_sigma());
  }
  const battery::StateVector x0 = pack.group(0).state();
  const double bad_i[3] = {1.0, kNan, 1.0};
  const double va[3] = {3.6, 3.6, 3.6};
  CHECK(pack.step(bad_i, 3, va, nullptr, nullptr, 3, 1.0) == Status::non_finite_input);
  CHECK(pack.step(bad_i, 2, va, nullptr, nullptr, 3, 1.0) == Status::invalid_argument);
  CHECK(pack.step(bad_i, 1, va, nullptr, nullptr, 4, 1.0) == Status::invalid_argument);
  CHECK(pack.step(bad_i, 1, va, nullptr, nullptr, 3, 0.0) == Status::invalid_argument);
  CHECK(pack.group(0).state() == x0);
  CHECK_THROWS_AS((void)pack.at(3), std::invalid_argument);
  CHECK_THROWS_AS(PackEstimator(c, 0), std::invalid_argument);
}

TEST_CASE("replay: missing values are skipped parts of an update, irregular dt, no allocation") {
  const std::size_t n = 2000;
  std::vector<double> t(n), i(n), v(n), tk(n), soc(n), sigma(n);
  std::vector<std::uint8_t> gated(n), missing(n);
  double time = 0.0;
  for (std::size_t k = 0; k < n; ++k) {
    time += (k % 3 == 0) ? 0.5 : 1.5;  // irregular sampling
    t[k] = time;
    i[k] = Bench::current_at(static_cast<int>(k));
    v[k] = 3.7 - 0.03 * i[k];
    tk[k] = 298.15;
  }
  v[10] = kNan;
  i[20] = kNan;
  tk[30] = std::numeric_limits<double>::infinity();
  BatteryEkf ekf{BatteryEkfConfig{}};
  ReplayInput in{t.data(), i.data(), v.data(), nullptr, tk.data(), n};
  ReplayOutput out;
  out.soc = soc.data();
  out.soc_sigma = sigma.data();
  out.gated = gated.data();
  out.missing = missing.data();
  ReplaySummary summary;
  const long allocs = test::count_allocations([&] { REQUIRE(replay(ekf, in, out, &summary) == Status::ok); });
  CHECK(allocs == 0);
  CHECK(summary.rows_with_missing == 3);
  CHECK(missing[10] == (1u << 0));
  CHECK(missing[20] == kMissingCurrentBit);
  CHECK(missing[30] == (1u << 2));
  CHECK(missing[11] == 0);
  for (std::size_t k = 0; k < n; ++k) REQUIRE(std::isfinite(soc[k]));
  // Times that do not increase are refused before anything runs.
  t[5] = t[4];
  BatteryEkf fresh{BatteryEkfConfig{}};
  CHECK(replay(fresh, in, out, nullptr) == Status::invalid_argument);
}

TEST_CASE("reset_soc: the step-path restart, no allocation, no exception, the configured estimate") {
  BatteryEkfConfig c;
  c.estimate_params = true;  // both filters carry the reset, the 6-state one is in use
  BatteryEkf ekf(c);
  for (int k = 0; k < 50; ++k) REQUIRE(ekf.step(2.0, Measurement::voltage_temperature(3.6, 300.0), 1.0) == Status::ok);
  Status st = Status::not_initialised;
  const long allocs = test::count_allocations([&] { st = ekf.reset_soc(0.42); });
  CHECK(allocs == 0);
  REQUIRE(st == Status::ok);
  // The configured initial estimate with SOC 0.42, from the configuration's own numbers.
  const battery::StateVector x = ekf.state();
  CHECK(x[StateIdx::soc] == 0.42);
  CHECK(x[StateIdx::v_rc1] == c.v1_0_v);
  CHECK(x[StateIdx::v_rc2] == c.v2_0_v);
  CHECK(x[StateIdx::temp] == c.temp0_k);
  const battery::StateMatrix p = ekf.covariance();
  CHECK(p(StateIdx::soc, StateIdx::soc) == doctest::Approx(c.soc_sigma0 * c.soc_sigma0));
  CHECK(p(StateIdx::v_rc1, StateIdx::v_rc1) == doctest::Approx(c.v_rc_sigma0_v * c.v_rc_sigma0_v));
  CHECK(p(StateIdx::temp, StateIdx::temp) == doctest::Approx(c.temp_sigma0_k * c.temp_sigma0_k));
  CHECK(p(StateIdx::soc, StateIdx::temp) == 0.0);
  CHECK(ekf.r0_factor() == c.r0_factor0);
  CHECK(ekf.soc_sigma() == doctest::Approx(c.soc_sigma0));
  // A NaN is refused and changes nothing; the throwing reset(double) says which field.
  CHECK(ekf.reset_soc(kNan) == Status::non_finite_input);
  CHECK(ekf.state() == x);
  CHECK_THROWS_WITH_AS(ekf.reset(kNan), doctest::Contains("BatteryEkf.reset.soc0"), std::invalid_argument);
  CHECK(ekf.state() == x);
}
