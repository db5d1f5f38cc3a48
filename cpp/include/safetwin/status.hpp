#pragma once
// Status codes of the step paths of the core. A step never throws: it returns one of these.
// Two kinds of result, as OSQP keeps osqp_error_type apart from osqp_status_type: a Status says
// whether the call worked (invalid or non-finite input, a numerical failure); a Decision says what
// the component decided about its output (its fallback, a refusal, a missed deadline). A call that
// decided to fall back worked: it returns ok and its verdict struct carries the Decision.
#include <cstdint>

namespace safetwin {

enum class Status : std::uint8_t {
  ok = 0,
  invalid_argument,   // an input outside its domain (dt <= 0, index out of range, size mismatch)
  non_finite_input,   // NaN or infinity in an input
  not_initialised,    // the object was not set up before the call
  max_iterations,     // an iterative solver hit its iteration cap (its output is not used)
  primal_infeasible,  // no point satisfies the constraints
  dual_infeasible,    // the problem is unbounded
  numerical_error,    // a factorisation or an update failed numerically
};

// What a component decided (the `decision` field of CbfVerdict, ControllerOutput, BatteryMpcStep,
// SupervisorVerdict, CycleStatus::controller_decision; the C ABI's safetwin_decision_t).
enum class Decision : std::uint8_t {
  applied = 0,      // the component's own result is the output
  fallback,         // the output is the component's defined safe fallback instead of a solution
  rejected,         // the input or the result was refused by a check (prediction, gate, a law declining)
  deadline_missed,  // the output came, or would come, too late to be used
};

[[nodiscard]] constexpr const char* to_string(Status s) noexcept {
  switch (s) {
    case Status::ok: return "ok";
    case Status::invalid_argument: return "invalid_argument";
    case Status::non_finite_input: return "non_finite_input";
    case Status::not_initialised: return "not_initialised";
    case Status::max_iterations: return "max_iterations";
    case Status::primal_infeasible: return "primal_infeasible";
    case Status::dual_infeasible: return "dual_infeasible";
    case Status::numerical_error: return "numerical_error";
  }
  return "unknown";
}

[[nodiscard]] constexpr const char* to_string(Decision d) noexcept {
  switch (d) {
    case Decision::applied: return "applied";
    case Decision::fallback: return "fallback";
    case Decision::rejected: return "rejected";
    case Decision::deadline_missed: return "deadline_missed";
  }
  return "unknown";
}

}  // namespace safetwin
