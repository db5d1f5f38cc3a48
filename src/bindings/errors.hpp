#pragma once
// The C++ side of safetwin.errors: one exception type per kind of error a Status reports, thrown by
// raise_on_error and turned into its own Python class by bind_errors (py::register_exception).
// Decisions (safetwin::Decision: fallback, rejected, deadline_missed) are not errors of the call:
// they come with Status::ok in the verdict's decision field and never raise.
#include <stdexcept>
#include <string>

#include "safetwin/status.hpp"

namespace safetwin::bindings {

// Base of every error below (Python: SafetwinError). Not derived from std::invalid_argument, so
// that the translator of std::invalid_argument (InvalidArgumentError) does not shadow these.
struct CoreError : std::runtime_error {
  CoreError(const std::string& what, Status s) : std::runtime_error(what), status(s) {}
  Status status;
};
struct InvalidArgumentError : CoreError {
  using CoreError::CoreError;
};  // invalid_argument
struct NonFiniteInputError : CoreError {
  using CoreError::CoreError;
};  // non_finite_input
struct NotInitialisedError : CoreError {
  using CoreError::CoreError;
};  // not_initialised
// max_iterations, primal_infeasible, dual_infeasible, numerical_error
struct NumericalError : CoreError {
  using CoreError::CoreError;
};

// Throws the exception of s (nothing for ok); the message names the call and the status.
inline void throw_status(Status s, const std::string& call) {
  const std::string what = call + " failed: " + to_string(s);
  switch (s) {
    case Status::ok: return;
    case Status::invalid_argument: throw InvalidArgumentError(what, s);
    case Status::non_finite_input: throw NonFiniteInputError(what, s);
    case Status::not_initialised: throw NotInitialisedError(what, s);
    case Status::max_iterations:
    case Status::primal_infeasible:
    case Status::dual_infeasible:
    case Status::numerical_error: throw NumericalError(what, s);
  }
  throw CoreError(call + " returned an unknown status " + std::to_string(static_cast<int>(s)), s);
}

}  // namespace safetwin::bindings
