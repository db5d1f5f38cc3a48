#pragma once
// Shared pieces of the C ABI (safetwin_c.h): the Status mapping, the message buffer, the
// conversions of the plain C structs to the C++ configurations, and the one place where
// construction exceptions are caught so that none crosses into C.
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>

#include "safetwin/battery/cell_params.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/status.hpp"
#include "safetwin_c.h"

namespace safetwin::c_api {

// No default case: a Status added or removed in status.hpp fails to compile here (-Wswitch
// -Werror), so the ABI's numbers are revisited instead of silently shifting.
[[nodiscard]] inline safetwin_status_t to_c(Status s) noexcept {
  switch (s) {
    case Status::ok: return SAFETWIN_OK;
    case Status::invalid_argument: return SAFETWIN_INVALID_ARGUMENT;
    case Status::non_finite_input: return SAFETWIN_NON_FINITE_INPUT;
    case Status::not_initialised: return SAFETWIN_NOT_INITIALISED;
    case Status::max_iterations: return SAFETWIN_MAX_ITERATIONS;
    case Status::primal_infeasible: return SAFETWIN_PRIMAL_INFEASIBLE;
    case Status::dual_infeasible: return SAFETWIN_DUAL_INFEASIBLE;
    case Status::numerical_error: return SAFETWIN_NUMERICAL_ERROR;
  }
  return SAFETWIN_INTERNAL_ERROR;
}

// No default case, as above: a Decision added in status.hpp fails to compile here.
[[nodiscard]] inline safetwin_decision_t to_c(Decision d) noexcept {
  switch (d) {
    case Decision::applied: return SAFETWIN_DECISION_APPLIED;
    case Decision::fallback: return SAFETWIN_DECISION_FALLBACK;
    case Decision::rejected: return SAFETWIN_DECISION_REJECTED;
    case Decision::deadline_missed: return SAFETWIN_DECISION_DEADLINE_MISSED;
  }
  return SAFETWIN_DECISION_FALLBACK;  // unreachable: fail closed
}

// Copies text into msg[0..msg_size), truncated and always NUL-terminated (nothing if msg is null).
inline void write_message(char* msg, std::size_t msg_size, const char* text) noexcept {
  if (msg == nullptr || msg_size == 0) return;
  const std::size_t n = std::strlen(text) < msg_size - 1 ? std::strlen(text) : msg_size - 1;
  std::memcpy(msg, text, n);
  msg[n] = '\0';
}

// Runs make() (which returns a new handle) and stores it in *out; every exception becomes a status
// and a message. make() runs all of the C++ construction and validation.
template <class Handle, class Make>
safetwin_status_t create(Handle** out, char* msg, std::size_t msg_size, Make&& make) noexcept {
  write_message(msg, msg_size, "");
  if (out == nullptr) {
    write_message(msg, msg_size, "out: the handle pointer is NULL");
    return SAFETWIN_INVALID_ARGUMENT;
  }
  *out = nullptr;
  try {
    *out = make();
    return SAFETWIN_OK;
  } catch (const std::bad_alloc&) {
    write_message(msg, msg_size, "out of memory");
    return SAFETWIN_OUT_OF_MEMORY;
  } catch (const std::invalid_argument& e) {
    write_message(msg, msg_size, e.what());
    return SAFETWIN_INVALID_ARGUMENT;
  } catch (const std::exception& e) {
    write_message(msg, msg_size, e.what());
    return SAFETWIN_INTERNAL_ERROR;
  } catch (...) {
    write_message(msg, msg_size, "unknown exception");
    return SAFETWIN_INTERNAL_ERROR;
  }
}

// The C cell parameters are REF-CELL-1's OCV table with constant resistances and capacitances.
battery::CellParams to_cpp(const safetwin_cell_params_t& c);
safetwin_cell_params_t to_c(const battery::CellParams& p) noexcept;
estimation::BatteryEkfConfig to_cpp(const safetwin_ekf_config_t& c);
safetwin_ekf_config_t to_c(const estimation::BatteryEkfConfig& p) noexcept;

}  // namespace safetwin::c_api
