#include "bindings.hpp"

namespace safetwin::bindings {

void bind_safety(py::module_& /*m*/) {}

}  // namespace safetwin::bindings
