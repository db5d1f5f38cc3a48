// Bindings of the C++ cell-file reader (battery/cell_file.hpp): the Python package loads cell files
// with its own reader (safetwin.cellfile); this one is bound so that tests can hold the two to the
// same values and refusals, and so that Python can see what a C++ program (the firmware) reads.
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "safetwin/battery/cell_file.hpp"

namespace safetwin::bindings {

void bind_cell_file(py::module_& m) {
  m.def(
      "load_cell_file_cpp",
      [](const std::string& path) {
        battery::CellFile f = battery::load_cell_file(path);
        return py::make_tuple(f.name, f.params);
      },
      py::arg("path"),
      "(name, CellParams) of a TOML cell file read by the C++ reader (toml++); raises ValueError "
      "'FILE: KEY: reason' as safetwin.cellfile does");
  m.def("cell_file_cpp_supported", &battery::cell_file_supported,
        "True when the C++ cell-file reader was built (toml++ found at build time)");
  m.def("cell_structure_name", &battery::structure_name, py::arg("cell"),
        "The cell's model structure in words ('2 RC pairs', '1 RC pair + hysteresis', ...)");
}

}  // namespace safetwin::bindings
