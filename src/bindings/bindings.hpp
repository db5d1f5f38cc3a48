#pragma once
// Shared declarations of the binding files. Bindings stay thin: numpy in and out, no logic that
// the core lacks.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <optional>
#include <stdexcept>
#include <string>

#include "errors.hpp"
#include "safetwin/estimation/replay.hpp"
#include "safetwin/status.hpp"

namespace safetwin::bindings {

namespace py = pybind11;

// A C-contiguous float64 array; other dtypes are converted, as numpy users expect.
using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;

// A measured log's columns (numpy, the safetwin estimate layout) as the core's ReplayInput: each
// column 1-D of t_s's length or absent, t_s finite and strictly increasing; raises naming the column
// or the sample. The arrays must outlive the returned input (it points into them).
estimation::ReplayInput replay_input(const DoubleArray& t_s, const DoubleArray& current_a,
                                     const std::optional<DoubleArray>& voltage_a_v,
                                     const std::optional<DoubleArray>& voltage_b_v,
                                     const std::optional<DoubleArray>& temperature_k);

void bind_errors(py::module_& m);
void bind_common(py::module_& m);
void bind_battery(py::module_& m);
void bind_estimation(py::module_& m);
void bind_control(py::module_& m);
void bind_safety(py::module_& m);
void bind_trust(py::module_& m);
void bind_pack_cycle(py::module_& m);
void bind_closed_loop(py::module_& m);
void bind_diagnostics(py::module_& m);
void bind_reporting(py::module_& m);  // the safe horizon (bind_reporting.cpp)
void bind_cell_file(py::module_& m);  // the C++ cell-file reader (bind_cell_file.cpp)

// Turns a non-ok status into its safetwin.errors exception naming the call and the status
// (errors.hpp; Python-side calls only).
inline void raise_on_error(Status s, const std::string& call) { throw_status(s, call); }

}  // namespace safetwin::bindings
