// The C++ cell-file reader: the shipped REF-CELL-1 file gives the built-in cell, the LFP file its
// structure and tables, and bad files are refused naming the file, the key and the reason or limit
// (the same good and bad files go through both loaders in tests/test_cell_file_agreement.py).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <string>

#include "safetwin/battery/cell_file.hpp"

using namespace safetwin::battery;

namespace {

const std::string kCells = SAFETWIN_CELLS_DIR;

const char* kOneRc = R"(
[cell]
name = "one RC"
capacity_ah = 3.0
[ocv]
soc = [0.0, 0.5, 1.0]
voltage_v = [3.0, 3.6, 4.1]
[resistance]
r0_ohm = 0.018
rc_pairs = [{ r_ohm = 0.01, tau_s = 20.0 }]
[thermal]
heat_capacity_j_per_k = 40.0
heat_transfer_w_per_k = 0.4
ambient_c = 20.0
[limits]
voltage_min_v = 2.5
voltage_max_v = 4.2
temperature_max_c = 60.0
charge_current_max_a = 10.0
discharge_current_max_a = 20.0
)";

std::string refusal(const std::string& text) {
  try {
    (void)parse_cell_file(text, "x.toml");
  } catch (const CellFileError& e) { return e.what(); }
  return "accepted";
}

std::string replaced(std::string s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("the shipped REF-CELL-1 file is the built-in cell") {
  REQUIRE(cell_file_supported());
  const CellFile f = load_cell_file(kCells + "/ref_cell_1.toml");
  const CellParams b = CellParams::ref_cell_1();
  CHECK(f.params.capacity_ah == b.capacity_ah);
  CHECK(f.params.ocv.soc() == b.ocv.soc());
  CHECK(f.params.ocv.ocv_v() == b.ocv.ocv_v());
  CHECK(f.params.rc_pairs == 2);
  CHECK(f.params.r0_ohm.at(0.5, 298.15) == b.r0_ohm.at(0.5, 298.15));
  CHECK(f.params.r2_ohm.at(0.5, 298.15) == b.r2_ohm.at(0.5, 298.15));
  // the file gives tau = R C in decimal: C comes back within the rounding of its digits
  CHECK(f.params.c1_f.at(0.5, 298.15) == doctest::Approx(b.c1_f.at(0.5, 298.15)).epsilon(1e-12));
  CHECK(f.params.arrhenius_k == b.arrhenius_k);
  CHECK(f.params.limits.temp_max_k == doctest::Approx(b.limits.temp_max_k).epsilon(1e-14));
  CHECK(f.params.limits.voltage_max_v == b.limits.voltage_max_v);
  CHECK(!f.params.hysteresis);
  CHECK(structure_name(f.params) == "2 RC pairs");
}

TEST_CASE("the shipped LFP file: 1 RC pair, hysteresis, tables, charge side, entropic") {
  const CellFile f = load_cell_file(kCells + "/lfp_a123_26650.toml");
  const CellParams& p = f.params;
  CHECK(p.rc_pairs == 1);
  REQUIRE(p.hysteresis);
  CHECK(p.hysteresis->gamma == 100.0);
  CHECK(p.hysteresis->m_v == 0.02);
  CHECK(!p.r0_ohm.is_constant());
  // R0 table corner values (soc 0.5, 0 and 45 degC): bilinear at the grid points gives them back
  CHECK(p.r0_ohm.at(0.5, 273.15) == doctest::Approx(0.020).epsilon(1e-12));
  CHECK(p.r0_ohm.at(0.5, 318.15) == doctest::Approx(0.007).epsilon(1e-12));
  // tau 30 s over R 6 mOhm: C = 5000 F
  CHECK(p.c1_f.at(0.5, 298.15) == doctest::Approx(5000.0).epsilon(1e-12));
  CHECK(p.limits.voltage_max_v == 3.6);
  CHECK(structure_name(p) == "1 RC pair + hysteresis + charge-side resistance + entropic dU/dT");
}

TEST_CASE("a 1 RC file: values, defaults and the name") {
  const CellFile f = parse_cell_file(kOneRc, "dir/one.toml");
  CHECK(f.name == "one RC");
  CHECK(f.params.coulombic_efficiency == 1.0);  // default
  CHECK(f.params.arrhenius_k == 0.0);           // absent: no Arrhenius factor (not the struct's 2000)
  CHECK(f.params.limits.temp_min_k == doctest::Approx(253.15).epsilon(1e-14));
  CHECK(f.params.ambient_temp_k == doctest::Approx(293.15).epsilon(1e-14));
  CHECK(f.params.c1_f.at(0.3, 300.0) == doctest::Approx(2000.0).epsilon(1e-12));
  const CellFile unnamed = parse_cell_file(replaced(kOneRc, "name = \"one RC\"\n", ""), "dir/one.toml");
  CHECK(unnamed.name == "one");
}

TEST_CASE("bad files are refused naming the file, the key and the reason or the limit") {
  CHECK(refusal(replaced(kOneRc, "capacity_ah = 3.0", "capacity_ah = -3")) ==
        "x.toml: cell.capacity_ah: = -3.0 must be > 0.0");
  CHECK(refusal(replaced(kOneRc, "soc = [0.0, 0.5, 1.0]", "soc = [0.0, 0.5, 0.25]")) ==
        "x.toml: ocv.soc: must be strictly increasing ([2] = 0.25 after 0.5)");
  CHECK(refusal(replaced(kOneRc, "voltage_max_v = 4.2", "voltage_max_v = 2.0")) ==
        "x.toml: limits.voltage_max_v: = 2.0 must be > 2.5");
  CHECK(refusal(replaced(kOneRc, "ambient_c = 20.0", "ambient_c = \"warm\"")) ==
        "x.toml: thermal.ambient_c: must be a number, got 'warm'");
  CHECK(refusal(replaced(kOneRc, "[thermal]", "[thermals]")) ==
        "x.toml: [thermals]: unknown section (known: cell, ocv, resistance, hysteresis, thermal, limits, fit)");
  CHECK(refusal(replaced(kOneRc, "r0_ohm = 0.018", "r0_ohms = 0.018")) ==
        "x.toml: resistance.r0_ohms: unknown key (known: arrhenius_k, exchange_current_a, r0_charge_ohm, r0_ohm, "
        "rc_pairs)");
  CHECK(refusal(replaced(kOneRc, "tau_s = 20.0", "tau_s = 0")) ==
        "x.toml: resistance.rc_pairs[0].tau_s: = 0.0 must be finite and > 0");
  CHECK(refusal(replaced(kOneRc, "rc_pairs = [{ r_ohm = 0.01, tau_s = 20.0 }]", "rc_pairs = []")) ==
        "x.toml: resistance.rc_pairs: must be an array of 1 to 3 pairs {r_ohm = ..., tau_s = ...}");
  CHECK(refusal(std::string(kOneRc) + "[hysteresis]\ngamma = 1.0\nm_v = 2.0\n") ==
        "x.toml: hysteresis.m_v: = 2.0 must be <= 1.0");
  // numbers as Python prints them
  CHECK(refusal(replaced(kOneRc, "capacity_ah = 3.0", "capacity_ah = -1e-5")) ==
        "x.toml: cell.capacity_ah: = -1e-05 must be > 0.0");
  CHECK(refusal(replaced(kOneRc, "capacity_ah = 3.0", "capacity_ah = -0.0001")) ==
        "x.toml: cell.capacity_ah: = -0.0001 must be > 0.0");
  CHECK(refusal(replaced(kOneRc, "capacity_ah = 3.0", "capacity_ah = -1.5e16")) ==
        "x.toml: cell.capacity_ah: = -1.5e+16 must be > 0.0");
  CHECK(refusal(replaced(kOneRc, "capacity_ah = 3.0", "capacity_ah = -123456.75")) ==
        "x.toml: cell.capacity_ah: = -123456.75 must be > 0.0");
  CHECK(refusal(replaced(kOneRc, "[limits]\n", "")).find("unknown key") != std::string::npos);
  CHECK(refusal("[cell\ncapacity_ah = 1").rfind("x.toml: not valid TOML: ", 0) == 0);
  std::string missing;
  try {
    (void)load_cell_file("/nonexistent/nope.toml");
  } catch (const CellFileError& e) { missing = e.what(); }
  CHECK(missing == "/nonexistent/nope.toml: no such file");
}
