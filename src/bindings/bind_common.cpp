#include "bindings.hpp"

namespace safetwin::bindings {

void bind_common(py::module_& m) {
  py::enum_<Status>(m, "Status", "Status code of a step of the core")
      .value("ok", Status::ok)
      .value("invalid_argument", Status::invalid_argument)
      .value("non_finite_input", Status::non_finite_input)
      .value("not_initialised", Status::not_initialised)
      .value("max_iterations", Status::max_iterations)
      .value("primal_infeasible", Status::primal_infeasible)
      .value("dual_infeasible", Status::dual_infeasible)
      .value("numerical_error", Status::numerical_error);
  py::enum_<Decision>(m, "Decision",
                      "What a component decided about its output (the decision fields of the verdicts), apart "
                      "from whether the call worked (Status)")
      .value("applied", Decision::applied)
      .value("fallback", Decision::fallback)
      .value("rejected", Decision::rejected)
      .value("deadline_missed", Decision::deadline_missed);
}

}  // namespace safetwin::bindings
