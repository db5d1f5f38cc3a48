// safetwin._core's exception classes (re-exported by safetwin.errors), one per kind of error of
// errors.hpp. Every class keeps ValueError among its bases: before them every refused call raised
// ValueError, and callers that catch it (the CLI's one-line exit 2 among them) keep working. The
// numerical and set-up errors are RuntimeErrors as well: the input was valid, the computation or
// the object's state was not.
#include "bindings.hpp"
#include "errors.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::bindings {

namespace {
PyObject* invalid_argument_class = nullptr;  // for the translator below (a plain function)
PyObject* non_finite_class = nullptr;
}  // namespace

void bind_errors(py::module_& m) {
  // register_exception passes its base to PyErr_NewException, which takes a tuple of bases too.
  // Translators run last-registered first: the base class (CoreError) is registered first so that
  // each derived type reaches its own class.
  auto& base = py::register_exception<CoreError>(m, "SafetwinError", PyExc_Exception);
  auto& invalid = py::register_exception<InvalidArgumentError>(m, "InvalidArgumentError",
                                                               py::make_tuple(base, py::handle(PyExc_ValueError)));
  auto& non_finite = py::register_exception<NonFiniteInputError>(m, "NonFiniteInputError", py::make_tuple(invalid));
  py::register_exception<NotInitialisedError>(
      m, "NotInitialisedError", py::make_tuple(base, py::handle(PyExc_RuntimeError), py::handle(PyExc_ValueError)));
  py::register_exception<NumericalError>(
      m, "NumericalError", py::make_tuple(base, py::handle(PyExc_RuntimeError), py::handle(PyExc_ValueError)));
  m.def(
      "raise_for_status", [](Status s, const std::string& call) { throw_status(s, call); }, py::arg("status"),
      py::arg("call"),
      "Raises the safetwin.errors exception of a status, as every binding does on a refused call "
      "(nothing for Status.ok): for the statuses that step methods return instead of raising");
  // The core's construction-time validation (validate.hpp) throws std::invalid_argument naming the
  // field, the value and the limit (NonFiniteArgument for a NaN or infinite value): an
  // InvalidArgumentError or NonFiniteInputError too (pybind11 alone makes it a plain ValueError).
  invalid_argument_class = invalid.inc_ref().ptr();  // kept for the process, as the module keeps them
  non_finite_class = non_finite.inc_ref().ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const NonFiniteArgument& e) {
      PyErr_SetString(non_finite_class, e.what());
    } catch (const std::invalid_argument& e) { PyErr_SetString(invalid_argument_class, e.what()); }
  });
}

}  // namespace safetwin::bindings
