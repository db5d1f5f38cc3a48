#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "alloc_counter.hpp"
#include "safetwin/battery/cell_model.hpp"
#include "safetwin/battery/pack.hpp"

using namespace safetwin;
using namespace safetwin::battery;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// An isothermal REF-CELL-1 (no heating, no Arrhenius): the electrical part alone.
CellParams isothermal_cell() {
  CellParams p = CellParams::ref_cell_1();
  p.arrhenius_k = 0.0;
  p.heat_capacity_j_per_k = 1e12;
  return p;
}
}  // namespace

TEST_CASE("compiled OCV table equals the shipped CSV") {
  const OcvTable compiled = OcvTable::lgm50_chen2020();
  const OcvTable csv = OcvTable::from_csv(SAFETWIN_OCV_CSV);
  REQUIRE(compiled.size() == 101);
  REQUIRE(csv.size() == 101);
  for (std::size_t i = 0; i < csv.size(); ++i) {
    CHECK(compiled.soc()[i] == csv.soc()[i]);
    CHECK(compiled.ocv_v()[i] == csv.ocv_v()[i]);
  }
}

TEST_CASE("OCV interpolation: at table points, between them, clamped outside") {
  const OcvTable t = OcvTable::lgm50_chen2020();
  CHECK(t.voltage_v(0.0) == 2.5);
  CHECK(t.voltage_v(1.0) == doctest::Approx(4.2).epsilon(1e-12));
  CHECK(t.voltage_v(0.03) == doctest::Approx(2.971191).epsilon(1e-12));
  // halfway between 0.02 (2.862492) and 0.03 (2.971191)
  CHECK(t.voltage_v(0.025) == doctest::Approx(0.5 * (2.862492 + 2.971191)).epsilon(1e-12));
  CHECK(t.slope_v(0.025) == doctest::Approx((2.971191 - 2.862492) / 0.01).epsilon(1e-9));
  CHECK(t.voltage_v(-0.5) == 2.5);
  CHECK(t.voltage_v(1.7) == t.voltage_v(1.0));
  // slope outside the table is the end segment's slope
  CHECK(t.slope_v(-0.1) == doctest::Approx(t.slope_v(0.005)));
  CHECK(t.slope_v(1.1) == doctest::Approx(t.slope_v(0.995)));
  // inverse lookup round-trips
  for (double s : {0.05, 0.1, 0.37, 0.8, 0.99})
    CHECK(t.soc_at_voltage(t.voltage_v(s)) == doctest::Approx(s).epsilon(1e-9));
  // a non-uniform table uses the binary search path and gives the same line
  const OcvTable nu({0.0, 0.1, 0.5, 1.0}, {3.0, 3.2, 3.6, 4.2});
  CHECK(nu.voltage_v(0.3) == doctest::Approx(3.4));
  CHECK(nu.voltage_v(0.75) == doctest::Approx(3.9));
}

TEST_CASE("bad OCV tables are refused with the field named") {
  CHECK_THROWS_WITH_AS(OcvTable({0.0}, {3.0}), doctest::Contains("OcvTable.soc"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(OcvTable({0.0, 0.5, 0.5}, {3.0, 3.5, 3.6}), doctest::Contains("strictly"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(OcvTable({0.0, 1.0}, {3.0, kNan}), doctest::Contains("OcvTable.ocv_v[1]"),
                       std::invalid_argument);
  CHECK_THROWS_AS(OcvTable({0.0, 1.0}, {3.0}), std::invalid_argument);
}

TEST_CASE("parameter surface: bilinear inside, clamped at the edges") {
  // f(s, T) = 1 + 2 s + 0.01 (T - 273.15) is reproduced exactly by bilinear interpolation
  std::vector<double> soc{0.0, 0.5, 1.0}, temp{273.15, 298.15, 323.15}, v;
  for (double s : soc)
    for (double T : temp) v.push_back(1.0 + 2.0 * s + 0.01 * (T - 273.15));
  const auto f = ParamSurface::table(soc, temp, v, "r0");
  CHECK(f.at(0.3, 290.0) == doctest::Approx(1.0 + 0.6 + 0.01 * (290.0 - 273.15)));
  CHECK(f.at(-1.0, 200.0) == doctest::Approx(1.0));
  CHECK(f.at(2.0, 400.0) == doctest::Approx(1.0 + 2.0 + 0.5));
  CHECK_THROWS_WITH_AS(ParamSurface::table(soc, temp, {1.0, 2.0}, "r0"), doctest::Contains("r0.values"),
                       std::invalid_argument);
}

TEST_CASE("RC pair step response matches the analytic solution") {
  // Constant current from rest: v_i(t) = R_i I (1 - exp(-t/tau_i)); the discretisation is exact.
  Cell cell(isothermal_cell(), CellState{0.5, 0.0, 0.0, kReferenceTempK});
  const double current = 5.0, dt = 0.5;
  for (int k = 1; k <= 200; ++k) {
    REQUIRE(cell.step(current, dt) == Status::ok);
    const double t = k * dt;
    CHECK(cell.state().v1_v ==
          doctest::Approx(0.0075 * current * (1.0 - std::exp(-t / (0.0075 * 1733.0)))).epsilon(1e-12));
    CHECK(cell.state().v2_v ==
          doctest::Approx(0.023 * current * (1.0 - std::exp(-t / (0.023 * 5652.0)))).epsilon(1e-12));
  }
}

TEST_CASE("coulomb counting matches the SOC integral") {
  Cell cell(CellParams::ref_cell_1(), CellState{0.9, 0.0, 0.0, kReferenceTempK});
  // a sine current integrates to a known charge: int_0^T A sin(w t) dt with ZOH sampling
  const double dt = 1.0, a = 10.0, w = 2.0 * M_PI / 600.0;
  double charge_c = 0.0;
  for (int k = 0; k < 1800; ++k) {
    const double i = a * std::sin(w * k * dt) + 3.0;
    charge_c += i * dt;
    REQUIRE(cell.step(i, dt) == Status::ok);
  }
  CHECK(cell.state().soc == doctest::Approx(0.9 - charge_c / (3600.0 * 5.15)).epsilon(1e-12));
  CHECK(charge_c == doctest::Approx(3.0 * 1800.0).epsilon(1e-9));
}

TEST_CASE("thermal steady state equals ambient + I^2 R / hA") {
  // Constant resistance (no Arrhenius), SOC held by a huge capacity: T_ss = T_amb + P / hA with
  // P = I^2 (R0 + R1 + R2) once the RC pairs have settled (v_i = R_i I, v_i^2/R_i = I^2 R_i).
  CellParams p = CellParams::ref_cell_1();
  p.arrhenius_k = 0.0;
  p.capacity_ah = 1e9;
  Cell cell(p, CellState{0.5, 0.0, 0.0, kReferenceTempK});
  const double i = 8.0;
  for (int k = 0; k < 20000; ++k) REQUIRE(cell.step(i, 1.0) == Status::ok);
  const double expected = p.ambient_temp_k + i * i * (0.021 + 0.0075 + 0.023) / 0.3;
  CHECK(cell.state().temp_k == doctest::Approx(expected).epsilon(1e-9));
}

TEST_CASE("terminal voltage follows V = OCV - R0(T) I - v1 - v2 with Arrhenius R0") {
  Cell cell(CellParams::ref_cell_1(), CellState{0.4, 0.01, 0.02, 308.15});
  const double r0 = 0.021 * std::exp(2000.0 * (1.0 / 308.15 - 1.0 / 298.15));
  double v = 0.0;
  REQUIRE(cell.step(-10.0, 1.0, &v) == Status::ok);
  CHECK(v == doctest::Approx(OcvTable::lgm50_chen2020().voltage_v(0.4) + r0 * 10.0 - 0.03).epsilon(1e-12));
}

TEST_CASE("pack: series current equality, parallel split by Kirchhoff") {
  PackConfig cfg;
  cfg.series = 3;
  cfg.parallel = 4;
  cfg.spread = {0.03, 0.10, 42};
  cfg.initial = {0.6, 0.0, 0.0, kReferenceTempK};
  Pack pack(cfg);
  const double i_pack = -12.0;
  for (int k = 0; k < 300; ++k) {
    PackSample sample;
    REQUIRE(pack.step(k < 150 ? i_pack : 20.0, 1.0, &sample) == Status::ok);
    const double i_group = k < 150 ? i_pack : 20.0;
    double v_sum = 0.0;
    for (int g = 0; g < 3; ++g) {
      double sum = 0.0;
      for (int j = 0; j < 4; ++j) {
        sum += pack.cell_current_a()[g * 4 + j];
        // KVL: every cell of a group sees the group voltage
        CHECK(pack.cell_voltage_v()[g * 4 + j] == doctest::Approx(pack.cell_voltage_v()[g * 4]).epsilon(1e-14));
      }
      CHECK(sum == doctest::Approx(i_group).epsilon(1e-12));  // KCL in every group = series current
      v_sum += pack.cell_voltage_v()[g * 4];
    }
    CHECK(sample.pack_voltage_v == doctest::Approx(v_sum).epsilon(1e-14));
  }
  // cells with different R0 do not share equally
  CHECK(std::abs(pack.cell_current_a()[0] - pack.cell_current_a()[1]) > 1e-3);
}

TEST_CASE("pack: a cell's voltage equation holds with its own current (KVL per cell)") {
  PackConfig cfg;
  cfg.series = 1;
  cfg.parallel = 3;
  cfg.spread = {0.03, 0.10, 7};
  cfg.initial = {0.5, 0.0, 0.0, kReferenceTempK};
  Pack pack(cfg);
  for (int k = 0; k < 50; ++k) REQUIRE(pack.step(-9.0, 1.0) == Status::ok);
  const auto before = pack.states();
  REQUIRE(pack.step(-9.0, 1.0) == Status::ok);
  for (std::size_t j = 0; j < 3; ++j) {
    const CellCoefficients c = coefficients(pack.params(), pack.scaling()[j], before[j].soc, before[j].temp_k);
    const double v = pack.params().ocv.voltage_v(before[j].soc) - c.r0_ohm * pack.cell_current_a()[j] - before[j].v1_v -
                     before[j].v2_v;
    CHECK(pack.cell_voltage_v()[j] == doctest::Approx(v).epsilon(1e-12));
  }
}

TEST_CASE("pack: identical cells share equally") {
  PackConfig cfg;
  cfg.series = 2;
  cfg.parallel = 5;
  Pack pack(cfg);
  for (int k = 0; k < 10; ++k) REQUIRE(pack.step(-10.0, 1.0) == Status::ok);
  for (double i : pack.cell_current_a()) CHECK(i == doctest::Approx(-2.0).epsilon(1e-12));
}

TEST_CASE("internal short drains the cell at rest; open contactor carries no current") {
  PackConfig cfg;
  cfg.parallel = 2;
  cfg.initial = {0.5, 0.0, 0.0, kReferenceTempK};
  Pack pack(cfg);
  pack.set_leak_resistance(1, 1.0);  // 1 ohm across cell 1
  pack.set_contactor_closed(false);
  for (int k = 0; k < 100; ++k) REQUIRE(pack.step(-10.0, 1.0) == Status::ok);
  // The healthy cell feeds the short: both lose charge with no current at the terminals.
  CHECK(pack.states()[0].soc < 0.5);
  CHECK(pack.states()[1].soc < 0.5);
  CHECK(pack.cell_current_a()[0] + pack.cell_current_a()[1] == doctest::Approx(0.0).epsilon(1e-12));
  // leak current ~ V / 1 ohm ~ 3.7 A over 100 s
  const double lost = (0.5 - pack.states()[0].soc) + (0.5 - pack.states()[1].soc);
  CHECK(lost * 3600.0 * 5.15 == doctest::Approx(100.0 * 3.68).epsilon(0.02));
}

TEST_CASE("bad inputs are refused and leave the state unchanged") {
  Cell cell(CellParams::ref_cell_1(), CellState{0.5, 0.0, 0.0, kReferenceTempK});
  REQUIRE(cell.step(3.0, 1.0) == Status::ok);
  const CellState before = cell.state();
  CHECK(cell.step(kNan, 1.0) == Status::non_finite_input);
  CHECK(cell.step(kInf, 1.0) == Status::non_finite_input);
  CHECK(cell.step(1.0, 0.0) == Status::invalid_argument);
  CHECK(cell.step(1.0, -1.0) == Status::invalid_argument);
  CHECK(cell.step(1.0, kNan) == Status::non_finite_input);
  const double profile[] = {1.0, 2.0, kNan};
  double v[3] = {};
  CHECK(cell.pack().simulate(profile, 3, 1.0, v, nullptr, nullptr, nullptr, nullptr) == Status::non_finite_input);
  CHECK(cell.state().soc == before.soc);
  CHECK(cell.state().v1_v == before.v1_v);
  CHECK(cell.state().temp_k == before.temp_k);
  CHECK(v[0] == 0.0);
  CHECK_THROWS_WITH_AS(cell.set_state(CellState{1.2, 0, 0, 300}), doctest::Contains("soc"), std::invalid_argument);
  CHECK(cell.state().soc == before.soc);

  PackConfig cfg;
  cfg.series = 0;
  CHECK_THROWS_WITH_AS(Pack{cfg}, doctest::Contains("PackConfig.series"), std::invalid_argument);
  cfg.series = 1;
  cfg.parallel = 0;
  CHECK_THROWS_WITH_AS(Pack{cfg}, doctest::Contains("PackConfig.parallel"), std::invalid_argument);
  cfg.parallel = 1;
  cfg.cell.r1_ohm = ParamSurface::constant(-0.01);
  CHECK_THROWS_WITH_AS(Pack{cfg}, doctest::Contains("CellParams.r1_ohm"), std::invalid_argument);
  cfg.cell = CellParams::ref_cell_1();
  cfg.cell.c2_f = ParamSurface::constant(0.0);
  CHECK_THROWS_WITH_AS(Pack{cfg}, doctest::Contains("CellParams.c2_f"), std::invalid_argument);
}

TEST_CASE("the pack step allocates nothing") {
  PackConfig cfg;
  cfg.series = 96;
  cfg.spread = {0.03, 0.10, 1};
  Pack pack(cfg);
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 10000; ++k) (void)pack.step(k % 2 ? -5.0 : 5.0, 1.0);
  });
  CHECK(n == 0);
}

TEST_CASE("ageing: capacity fade and resistance growth scale the model") {
  PackConfig cfg;
  cfg.parallel = 1;
  cfg.series = 2;
  cfg.initial = {0.5, 0.0, 0.0, kReferenceTempK};
  Pack pack(cfg);
  pack.set_scaling(1, CellScaling{0.8, 1.5, 1.0});  // 80 % capacity, 150 % resistance
  REQUIRE(pack.step(10.0, 1.0) == Status::ok);
  const double dsoc_new = 0.5 - pack.states()[0].soc, dsoc_aged = 0.5 - pack.states()[1].soc;
  CHECK(dsoc_aged == doctest::Approx(dsoc_new / 0.8).epsilon(1e-12));
  const double ocv = pack.params().ocv.voltage_v(0.5);
  CHECK(ocv - pack.cell_voltage_v()[0] == doctest::Approx(0.021 * 10.0).epsilon(1e-12));
  CHECK(ocv - pack.cell_voltage_v()[1] == doctest::Approx(1.5 * 0.021 * 10.0).epsilon(1e-12));
  // the time constants are kept: v1 after one step is R1 (1 - exp(-dt/tau1)) I, scaled by 1.5
  CHECK(pack.states()[1].v1_v == doctest::Approx(1.5 * pack.states()[0].v1_v).epsilon(1e-12));
  CHECK_THROWS_WITH_AS(pack.set_scaling(0, CellScaling{0.0, 1.0, 1.0}), doctest::Contains("capacity_factor"),
                       std::invalid_argument);
  CHECK_THROWS_WITH_AS(pack.set_scaling(5, CellScaling{}), doctest::Contains("cell"), std::invalid_argument);
}

TEST_CASE("R0 given as a table over SOC and temperature is used as it is (no Arrhenius)") {
  CellParams p = CellParams::ref_cell_1();
  // R0(soc, T) = 0.02 + 0.01 soc - 0.0001 (T - 298.15): bilinear interpolation reproduces it exactly
  std::vector<double> soc{0.0, 1.0}, temp{273.15, 323.15}, v;
  for (double s : soc)
    for (double T : temp) v.push_back(0.02 + 0.01 * s - 0.0001 * (T - 298.15));
  p.r0_ohm = ParamSurface::table(soc, temp, v, "r0");
  Cell cell(p, CellState{0.3, 0.0, 0.0, 303.15});
  double volts = 0.0;
  REQUIRE(cell.step(-8.0, 1.0, &volts) == Status::ok);
  const double r0 = 0.02 + 0.003 - 0.0005;
  CHECK(volts - p.ocv.voltage_v(0.3) == doctest::Approx(8.0 * r0).epsilon(1e-12));
}

TEST_CASE("pack with a charge transfer: each cell's voltage holds its own current's Butler-Volmer drop") {
  // The parallel split is a fixed-point iteration on the cells' current-dependent resistances
  // (pack.cpp): after it, KCL holds to rounding and every cell's voltage equation, with the
  // overpotential at its own current, to well below a microvolt.
  PackConfig cfg;
  cfg.series = 2;
  cfg.parallel = 3;
  cfg.spread = {0.03, 0.10, 7};
  cfg.cell.exchange_current_a = ParamSurface::constant(0.9);
  cfg.initial = {0.5, 0.0, 0.0, kReferenceTempK};
  Pack pack(cfg);
  for (double i_pack : {-9.0, 24.0, 0.3}) {
    for (int k = 0; k < 20; ++k) REQUIRE(pack.step(i_pack, 1.0) == Status::ok);
    const auto before = pack.states();
    REQUIRE(pack.step(i_pack, 1.0) == Status::ok);
    for (std::size_t g = 0; g < 2; ++g) {
      double sum = 0.0;
      for (std::size_t j = g * 3; j < g * 3 + 3; ++j) {
        const CellScaling& s = pack.scaling()[j];
        const ModelFactors<double> f{s.resistance_factor * s.r0_factor, s.capacity_factor, s.resistance_factor};
        const double x[4] = {before[j].soc, before[j].v1_v, before[j].v2_v, before[j].temp_k};
        const double i = pack.cell_current_a()[j];
        INFO("I_pack = ", i_pack, " cell ", j, " I = ", i);
        CHECK(std::abs(pack.cell_voltage_v()[j] - terminal_voltage<RefStructure>(pack.params(), x, i, f)) < 1e-7);
        sum += i;
      }
      CHECK(sum == doctest::Approx(i_pack).epsilon(1e-12));
    }
  }
}
