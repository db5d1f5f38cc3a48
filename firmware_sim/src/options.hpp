#pragma once
// Configuration of the firmware process: a file of `key = value` lines (# comments; the keys are
// the long flag names with '_' for '-') read first, then command-line flags on top.
#include <set>
#include <string>

#include "firmware.hpp"

namespace safetwin::firmware {

struct Options {
  FirmwareConfig firmware{};
  bool lockstep = false;
  double rate_hz = 100.0;
  std::string listen = "127.0.0.1:47100";  // where the firmware receives plant frames
  std::string peer = "127.0.0.1:47101";    // where it sends its frames
  std::string report;                      // JSON timing report written at exit ("" = stderr)
  double duration_s = 0.0;                 // stop after this long (0 = until SIGTERM/SIGINT)
  bool help = false;
  std::string cell;             // --cell FILE: the TOML cell file (cell_config.hpp); "" = REF-CELL-1
  std::set<std::string> given;  // the keys set explicitly (a cell file's defaults leave them alone)
};

// Throws std::invalid_argument naming the flag (or file:line and key), the value and the reason.
Options parse_options(int argc, char** argv);
std::string usage();

}  // namespace safetwin::firmware
