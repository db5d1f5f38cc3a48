#pragma once
// What the firmware knows about the pack at the start of a control cycle, after the link layer has
// checked every frame: a value is either fresh and E2E-valid, or NaN (missing). SI units.
#include <array>
#include <cstddef>
#include <cstdint>

#include "safetwin/safety/supervisor.hpp"

namespace safetwin::firmware {

inline constexpr std::size_t kMaxCells = 96;  // what the DBC carries

enum class RequestMode : unsigned char { idle = 0, charge = 1, drive = 2 };

struct Measurements {
  std::size_t n_cells = 0;                         // series groups in use
  std::array<double, kMaxCells> cell_voltage_v{};  // NaN = missing
  std::array<double, kMaxCells> cell_temp_k{};     // NaN = missing
  double pack_current_a = 0.0;                     // > 0 discharges; NaN = missing
  double pack_voltage_v = 0.0;
  bool contactor_closed = false;
  RequestMode request_mode = RequestMode::idle;  // idle when the request frame is missing
  double request_current_a = 0.0;
  // Self-triggered or periodic reporting (report_nodes.hpp): which cell values are new this cycle
  // (1) and which are a node's last report, held (0). Without it every value is new.
  bool has_freshness = false;
  std::array<std::uint8_t, kMaxCells> cell_voltage_fresh{};
  std::array<std::uint8_t, kMaxCells> cell_temp_fresh{};
};

// What the control step decides each cycle.
struct Command {
  double current_a = 0.0;      // pack current command, > 0 discharges
  double current_min_a = 0.0;  // the pack's safe interval this cycle (the CBF filters' intersection)
  double current_max_a = 0.0;
  bool contactor_closed = true;              // the guarded cycle's contactor request
  safety::Mode mode = safety::Mode::normal;  // the guarded cycle's mode (most severe group)
  bool derated = false;                      // mode != NORMAL
};

}  // namespace safetwin::firmware
