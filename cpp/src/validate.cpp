#include "safetwin/validate.hpp"

#include <sstream>

namespace safetwin {

void throw_invalid(const std::string& field, double value, const std::string& limit) {
  std::ostringstream msg;
  msg.precision(17);
  msg << field << " = " << value << ": " << limit;
  if (!std::isfinite(value)) throw NonFiniteArgument(msg.str());
  throw std::invalid_argument(msg.str());
}

void throw_invalid(const std::string& field, const std::string& what) {
  throw std::invalid_argument(field + ": " + what);
}

}  // namespace safetwin
