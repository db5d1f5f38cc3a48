#include "bindings.hpp"

namespace safetwin::bindings {

void bind_estimation(py::module_& /*m*/) {}

}  // namespace safetwin::bindings
