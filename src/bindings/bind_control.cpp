#include "bindings.hpp"

namespace safetwin::bindings {

void bind_control(py::module_& /*m*/) {}

}  // namespace safetwin::bindings
