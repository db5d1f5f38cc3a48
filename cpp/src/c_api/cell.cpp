// C ABI of the cell model (safetwin_c.h): a handle around battery::Cell.
#include <cmath>
#include <utility>

#include "c_api_internal.hpp"
#include "safetwin/battery/pack.hpp"

struct safetwin_cell {
  safetwin::battery::Cell cell;
};

extern "C" safetwin_status_t safetwin_cell_create(const safetwin_cell_params_t* params,
                                                  const safetwin_cell_state_t* initial, safetwin_cell_t** out,
                                                  char* msg, size_t msg_size) {
  using namespace safetwin;
  return c_api::create(out, msg, msg_size, [&] {
    battery::CellParams p = params != nullptr ? c_api::to_cpp(*params) : battery::CellParams::ref_cell_1();
    battery::CellState s{};
    if (initial != nullptr) s = battery::CellState{initial->soc, initial->v1_v, initial->v2_v, initial->temp_k};
    return new safetwin_cell{battery::Cell(std::move(p), s)};  // Pack validates the initial state
  });
}

extern "C" void safetwin_cell_destroy(safetwin_cell_t* cell) { delete cell; }

extern "C" safetwin_status_t safetwin_cell_step(safetwin_cell_t* cell, double current_a, double dt_s,
                                                double* voltage_v) {
  if (cell == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  return safetwin::c_api::to_c(cell->cell.step(current_a, dt_s, voltage_v));
}

extern "C" safetwin_status_t safetwin_cell_state(const safetwin_cell_t* cell, safetwin_cell_state_t* state) {
  if (cell == nullptr || state == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  const auto& s = cell->cell.state();
  *state = safetwin_cell_state_t{s.soc, s.v1_v, s.v2_v, s.temp_k};
  return SAFETWIN_OK;
}

extern "C" safetwin_status_t safetwin_cell_voltage(const safetwin_cell_t* cell, double current_a, double* voltage_v) {
  if (cell == nullptr || voltage_v == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  if (!std::isfinite(current_a)) return SAFETWIN_NON_FINITE_INPUT;
  *voltage_v = cell->cell.voltage_v(current_a);
  return SAFETWIN_OK;
}
