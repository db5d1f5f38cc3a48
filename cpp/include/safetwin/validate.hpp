#pragma once
// Validation helpers for construction and configuration calls (never the step path): a refused
// value throws std::invalid_argument whose message names the field, the value and the limit; a NaN
// or infinite one throws its subclass NonFiniteArgument (the bindings' NonFiniteInputError, as
// Status::non_finite_input is on the step path).
#include <cmath>
#include <stdexcept>
#include <string>

namespace safetwin {

struct NonFiniteArgument : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

[[noreturn]] void throw_invalid(const std::string& field, double value, const std::string& limit);
[[noreturn]] void throw_invalid(const std::string& field, const std::string& what);

inline void require_finite(const std::string& field, double value) {
  if (!std::isfinite(value)) throw_invalid(field, value, "must be finite");
}
inline void require_positive(const std::string& field, double value) {
  if (!(std::isfinite(value) && value > 0.0)) throw_invalid(field, value, "must be finite and > 0");
}
inline void require_non_negative(const std::string& field, double value) {
  if (!(std::isfinite(value) && value >= 0.0)) throw_invalid(field, value, "must be finite and >= 0");
}
inline void require_in_range(const std::string& field, double value, double lo, double hi) {
  if (!(value >= lo && value <= hi))
    throw_invalid(field, value, "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

}  // namespace safetwin
