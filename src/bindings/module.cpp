// The compiled module safetwin._core: one bind_<layer> function per layer, each in its own file.
#include <pybind11/pybind11.h>

#include "bindings.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "safetwin C++ core (private: import from the safetwin package instead)";
  safetwin::bindings::bind_common(m);
  safetwin::bindings::bind_errors(m);  // after Status (raise_for_status takes one)
  safetwin::bindings::bind_battery(m);
  safetwin::bindings::bind_estimation(m);
  safetwin::bindings::bind_control(m);
  safetwin::bindings::bind_safety(m);
  safetwin::bindings::bind_reporting(m);  // before the closed loop, whose spec holds a ReportingConfig
  safetwin::bindings::bind_trust(m);
  safetwin::bindings::bind_pack_cycle(m);
  safetwin::bindings::bind_closed_loop(m);
  safetwin::bindings::bind_diagnostics(m);
  safetwin::bindings::bind_cell_file(m);
}
