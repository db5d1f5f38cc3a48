#pragma once
// Shared declarations of the binding files. Bindings stay thin: numpy in and out, no logic that
// the core lacks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <stdexcept>
#include <string>

#include "safetwin/status.hpp"

namespace safetwin::bindings {

namespace py = pybind11;

// A C-contiguous float64 array; other dtypes are converted, as numpy users expect.
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

void bind_common(py::module_& m);
void bind_battery(py::module_& m);
void bind_estimation(py::module_& m);
void bind_control(py::module_& m);
void bind_safety(py::module_& m);
void bind_trust(py::module_& m);
void bind_pack_cycle(py::module_& m);
void bind_closed_loop(py::module_& m);
void bind_diagnostics(py::module_& m);

// Turns a refused step into a ValueError that says what was refused (Python-side calls only).
inline void raise_on_error(Status s, const std::string& call) {
  if (s != Status::ok) throw std::invalid_argument(call + " refused: " + to_string(s));
}

}  // namespace safetwin::bindings
