#pragma once
// Status codes of the step paths of the core. A step never throws: it returns one of these.
// Component verdicts (what an algorithm decided) live in each component's own result struct.
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
  fallback,           // the component returned its defined safe fallback instead of a solution
  rejected,           // the input was refused by a check (gate, CRC, attestation)
  deadline_missed,    // an input arrived too late to be used
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
    case Status::fallback: return "fallback";
    case Status::rejected: return "rejected";
    case Status::deadline_missed: return "deadline_missed";
  }
  return "unknown";
}

}  // namespace safetwin
