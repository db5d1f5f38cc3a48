#pragma once
// The TOML cell file (docs: src/safetwin/cellfile.py, which loads the same files in Python) read
// into a CellParams, for C++ programs (the firmware's --cell, a controller's start-up). Parsed with
// toml++; never on a step path: it allocates and throws.
//
// Every refusal throws CellFileError whose message is "FILE: KEY: reason", a refused value naming
// its limit ("FILE: cell.capacity_ah: = -3.0 must be > 0.0"). The checks, their order and their
// messages are the Python loader's (tests/test_cell_file_agreement.py loads the same good and bad
// files with both and compares values and refusals); numbers are printed as Python prints them.
#include <stdexcept>
#include <string>
#include <string_view>

#include "safetwin/battery/cell_params.hpp"

namespace safetwin::battery {

struct CellFileError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

struct CellFile {
  std::string name;  // [cell] name, or the file's stem when it has none
  CellParams params;
};

constexpr int kCellFileMaxRcPairs = 3;

// Reads and checks a cell file. Throws CellFileError ("FILE: no such file", "FILE: not valid TOML:
// ...", "FILE: KEY: reason").
[[nodiscard]] CellFile load_cell_file(const std::string& path);
// The same from the file's text; `path` is only used in messages.
[[nodiscard]] CellFile parse_cell_file(std::string_view text, const std::string& path);

// The model structure of a cell in words, for refusals by consumers that support only some
// structures: "2 RC pairs", "1 RC pair + hysteresis + charge-side resistance + entropic dU/dT".
[[nodiscard]] std::string structure_name(const CellParams& p);

// True when this build has the loader (toml++ was found at configure time); without it both
// functions above throw CellFileError naming the missing library.
[[nodiscard]] bool cell_file_supported() noexcept;

}  // namespace safetwin::battery
