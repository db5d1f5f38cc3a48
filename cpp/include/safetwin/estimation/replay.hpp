#pragma once
// Offline replay of a logged sequence through the estimator of any cell structure
// (BasicBatteryEkf<S>: 1..3 RC pairs, optional hysteresis), in one call (the `safetwin estimate`
// tool and the Python binding run whole logs here, not in a Python loop).
//
// Row k of the log is one sample: time t_s[k], current_a[k], and the measured channels. Rules:
//  - dt of row k is t_s[k] - t_s[k-1] (irregular steps are fine); times must be finite and
//    strictly increasing (checked before anything runs: invalid_argument, nothing written).
//  - A NaN/inf measurement is a missing sample: that channel is not fused in that row.
//  - A NaN/inf current is a missing sample too: the previous current is held (zero-order hold,
//    as the plant does between samples) and no measurement of that row is fused.
// Each output pointer may be null; outputs of row k are the estimate after row k's update.
#include <cstddef>
#include <cstdint>

#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/pack_estimator.hpp"

namespace safetwin::estimation {

struct ReplayInput {
  const double* t_s = nullptr;          // required
  const double* current_a = nullptr;    // required
  const double* voltage_a_v = nullptr;  // null: no such channel in the log
  const double* voltage_b_v = nullptr;
  const double* temperature_k = nullptr;
  std::size_t n = 0;
};

struct ReplayOutput {
  double* soc = nullptr;
  double* soc_sigma = nullptr;
  double* v1_v = nullptr;  // the first RC pair's voltage
  double* v2_v = nullptr;  // the second's (NaN in every row for a 1RC cell)
  // The whole cell state, n x S::size row-major in S's layout (CellStructure: SOC, v_1..v_NRC,
  // (h, s), T): the columns a structure has beyond v1_v/v2_v (a third pair, the hysteresis).
  double* state = nullptr;
  double* temp_k = nullptr;
  double* r0_ohm = nullptr;
  double* capacity_ah = nullptr;
  double* nis = nullptr;            // joint NIS of the row's update (0 if nothing fused)
  double* innovation_v = nullptr;   // voltage_a innovation (0 if not evaluated)
  std::uint8_t* gated = nullptr;    // bit c set: channel c rejected by the gate in that row
  std::uint8_t* missing = nullptr;  // bit c set: channel c missing/non-finite; bit 7: current
};

struct ReplaySummary {
  std::size_t rows_with_missing = 0;  // rows where some value was missing (skipped update parts)
  std::size_t rows_gated = 0;         // rows where some channel was rejected by the gate
  std::size_t numerical_errors = 0;   // steps that reported numerical_error (covariance recovered)
};

constexpr std::uint8_t kMissingCurrentBit = 1u << 7;

// Runs the log through ekf (continuing from its present state). Returns invalid_argument when a
// required pointer is null or the times are not finite and strictly increasing (nothing run);
// ok otherwise (numerical errors are counted in the summary, never fatal to the replay).
// Instantiated in replay.cpp for the six structures of battery_ekf.hpp.
template <class S>
[[nodiscard]] Status replay(BasicBatteryEkf<S>& ekf, const ReplayInput& in, const ReplayOutput& out,
                            ReplaySummary* summary = nullptr) noexcept;

}  // namespace safetwin::estimation

namespace safetwin::estimation {

// ---- Pack logs -------------------------------------------------------------------------------
// Row-major logs of a pack: n rows (samples) x size() groups. current_a has current_stride values
// per row: 1 (series current) or size(). A NaN voltage/temperature is a missing sample.
struct PackReplayInput {
  const double* t_s = nullptr;        // n, required
  const double* current_a = nullptr;  // n x current_stride, required, finite
  std::size_t current_stride = 1;
  const double* voltage_a_v = nullptr;  // n x groups or null
  const double* voltage_b_v = nullptr;
  const double* temperature_k = nullptr;
  std::size_t n = 0;
};

struct PackReplayOutput {  // each n x groups, may be null
  double* soc = nullptr;
  double* soc_sigma = nullptr;
  double* temp_k = nullptr;
  double* nis = nullptr;
};

// Returns invalid_argument / non_finite_input (nothing run) when times are not strictly
// increasing, a current is not finite or a stride is wrong; ok otherwise.
[[nodiscard]] Status replay_pack(PackEstimator& pack, const PackReplayInput& in, const PackReplayOutput& out,
                                 std::size_t* numerical_errors = nullptr) noexcept;

}  // namespace safetwin::estimation
