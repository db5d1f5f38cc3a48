// libFuzzer harness: the C++ cell-file reader (battery::parse_cell_file, toml++ underneath) on any
// text, seeded with the shipped cell files (src/safetwin/data/cells/*.toml). The reader runs at a
// controller's start-up on a file a user brought, so its contract is checked, not only "no crash":
//   - it accepts, or throws CellFileError whose message starts with the file's name ("FILE: ...",
//     cell_file.hpp); any other exception escaping (toml++'s own, std::out_of_range, ...) aborts;
//   - an accepted file is a valid cell: CellParams::validate() passes, 1..3 RC pairs, a structure
//     name; the one cell model of its structure gives a finite open-circuit voltage over SOC 0..1 and a finite terminal
//     voltage at rest and at both current limits, and one step of 1 s from there is finite (the first thing any
//     consumer does with it);
//   - parsing the same text again gives the same cell (the reader keeps no state between files).
// No sanitizer report (ASan + UBSan, fuzz/CMakeLists.txt) is allowed either.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "safetwin/battery/cell_file.hpp"
#include "safetwin/battery/cell_model.hpp"

namespace {

#define REQUIRE(c)          \
  do {                      \
    if (!(c)) std::abort(); \
  } while (0)

namespace sb = safetwin::battery;

const std::string kPath = "fuzz.toml";

template <class S>
void check_model(const sb::CellParams& p) {
  double x[S::size] = {};
  x[S::soc] = 0.5;
  x[S::temp] = p.ambient_temp_k;
  if constexpr (S::hysteresis) x[S::hyst_sign] = -1.0;
  const sb::ModelFactors<double> f{};
  for (int k = 0; k <= 10; ++k) REQUIRE(std::isfinite(sb::open_circuit_voltage(p, 0.1 * k, p.ambient_temp_k)));
  const double currents[] = {0.0, -p.limits.charge_current_max_a, p.limits.discharge_current_max_a};
  for (double i : currents) {
    REQUIRE(std::isfinite(sb::terminal_voltage<S>(p, x, i, f)));
    double next[S::size];
    sb::step<S>(p, x, i, 1.0, f, next);
    for (double v : next) REQUIRE(std::isfinite(v));
  }
}

void check_accepted(const sb::CellFile& cf) {
  const sb::CellParams& p = cf.params;
  try {
    p.validate();
  } catch (const std::invalid_argument&) {
    std::abort();  // the reader returned a cell the core refuses
  }
  REQUIRE(!sb::structure_name(p).empty());
  REQUIRE(p.rc_pairs >= 1 && p.rc_pairs <= sb::kCellFileMaxRcPairs);
  const bool h = p.hysteresis.has_value();
  switch (p.rc_pairs) {
    case 1: h ? check_model<sb::CellStructure<1, true>>(p) : check_model<sb::CellStructure<1, false>>(p); break;
    case 2: h ? check_model<sb::CellStructure<2, true>>(p) : check_model<sb::CellStructure<2, false>>(p); break;
    default: h ? check_model<sb::CellStructure<3, true>>(p) : check_model<sb::CellStructure<3, false>>(p); break;
  }
}

// The same text read twice gives the same cell (compared through values every consumer reads).
void check_deterministic(std::string_view text, const sb::CellFile& first) {
  const sb::CellFile again = sb::parse_cell_file(text, kPath);
  const sb::CellParams& a = first.params;
  const sb::CellParams& b = again.params;
  REQUIRE(again.name == first.name);
  REQUIRE(a.rc_pairs == b.rc_pairs && a.hysteresis.has_value() == b.hysteresis.has_value());
  REQUIRE(a.capacity_ah == b.capacity_ah && a.ambient_temp_k == b.ambient_temp_k);
  REQUIRE(a.limits.voltage_min_v == b.limits.voltage_min_v && a.limits.voltage_max_v == b.limits.voltage_max_v);
  REQUIRE(sb::open_circuit_voltage(a, 0.37, a.ambient_temp_k) == sb::open_circuit_voltage(b, 0.37, b.ambient_temp_k));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  sb::CellFile cf;
  try {
    cf = sb::parse_cell_file(text, kPath);
  } catch (const sb::CellFileError& e) {
    const std::string msg = e.what();
    REQUIRE(msg.compare(0, kPath.size() + 2, kPath + ": ") == 0 && msg.size() > kPath.size() + 2);
    return 0;
  } catch (...) {
    std::abort();  // only CellFileError may leave the reader
  }
  check_accepted(cf);
  check_deterministic(text, cf);
  return 0;
}
