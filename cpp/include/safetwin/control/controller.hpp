#pragma once
// The controller interface of the control cycle: the MPC, the CC-CV baseline or a law written in
// Python (through the binding's trampoline) all take this place. Called once per control cycle;
// compute() must not allocate or throw.
#include "safetwin/battery/state_idx.hpp"
#include "safetwin/status.hpp"

namespace safetwin::control {

// What a controller sees each cycle: the twin's estimate of the limiting cell (for a pack, the
// cell or parallel group the cycle selected, expressed per cell) and its uncertainty.
struct ControllerInput {
  double time_s = 0.0;
  double dt_s = 1.0;
  battery::StateVector x = battery::StateVector::Zero();  // [SOC, v1_v, v2_v, temp_k]
  battery::StateMatrix P = battery::StateMatrix::Zero();  // covariance of x
  double last_current_a = 0.0;  // per-cell current applied in the previous cycle (> 0 discharges)
  double current_min_a = 0.0;   // most negative current allowed now (charge limit, derated)
  double current_max_a = 0.0;   // most positive current allowed now (discharge limit, derated)
};

struct ControllerOutput {
  double current_a = 0.0;  // requested per-cell current
  int iterations = 0;      // solver iterations, 0 for a law without a solver
  // applied, or what the law decided instead: fallback (current_a is its defined safe fallback),
  // rejected (it declined), deadline_missed (its output is late). Not applied: a missing output.
  Decision decision = Decision::applied;
};

class Controller {
 public:
  virtual ~Controller() = default;
  // Returns Status::ok with a finite request and out.decision, or another status. A non-ok status
  // or a decision other than applied is a missing output (the cycle then holds and reports it).
  [[nodiscard]] virtual Status compute(const ControllerInput& in, ControllerOutput& out) noexcept = 0;
  virtual void reset() noexcept {}
};

}  // namespace safetwin::control
