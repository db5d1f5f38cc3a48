#include "bindings.hpp"

namespace safetwin::bindings {

void bind_trust(py::module_& /*m*/) {}

}  // namespace safetwin::bindings
