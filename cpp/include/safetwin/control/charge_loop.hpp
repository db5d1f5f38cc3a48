#pragma once
// A closed-loop charge on the plant: any Controller (the MPC, a Python law) drives one cell until
// its SOC reaches soc_stop or max_time_s has passed. The controller sees the plant's true state as
// its estimate (covariance `covariance`, zero by default): MPC-FC of the reference problems.
//
// This is a test-bench function, not a step path of a controller: it times each compute() call
// with the steady clock (per-step solve times for the benchmark and `safetwin charge`).
#include <cstddef>
#include <cstdint>

#include "safetwin/battery/pack.hpp"
#include "safetwin/control/controller.hpp"
#include "safetwin/status.hpp"

namespace safetwin::control {

struct ChargeLoopConfig {
  double dt_s = 1.0;
  double soc_stop = 0.79;
  double max_time_s = 3600.0;
  battery::StateMatrix covariance = battery::StateMatrix::Zero();  // handed to the controller
  void validate() const;                                           // throws std::invalid_argument naming the field
};

// Per-step outputs, each pointer may be null; each array holds max_steps entries.
// Row k: current of step k, terminal voltage under it, and the state at the end of the step.
struct ChargeTrace {
  double* current_a = nullptr;
  double* voltage_v = nullptr;
  double* temp_k = nullptr;        // after step k
  double* soc = nullptr;           // after step k
  double* solve_time_s = nullptr;  // wall time of the controller's compute()
  int* iterations = nullptr;
  std::uint8_t* status = nullptr;    // safetwin::Status of compute()
  std::uint8_t* decision = nullptr;  // safetwin::Decision of compute() (ControllerOutput::decision)
};

struct ChargeLoopResult {
  std::size_t steps = 0;
  bool reached = false;          // SOC reached soc_stop
  double time_to_stop_s = 0.0;   // crossing time, interpolated within the step (if reached)
  std::size_t non_ok_steps = 0;  // controller returned another status than ok or another decision
                                 // than applied (the loop applied its fallback command)
};

// Runs the loop. Returns ok, or the plant's refusal of a command (a non-finite current cannot
// reach it: the loop refuses it first with non_finite_input).
[[nodiscard]] Status run_charge_loop(battery::Cell& plant, Controller& controller, const ChargeLoopConfig& config,
                                     std::size_t max_steps, const ChargeTrace& trace,
                                     ChargeLoopResult* result) noexcept;

}  // namespace safetwin::control
