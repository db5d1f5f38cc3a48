#pragma once
// Offline replay of a logged sequence through a BatteryEkf and an AnomalyScore, in one call: the
// calibration of the threshold (thousands of simulated nominal hours) and `safetwin diagnose` run
// whole logs here, not in a Python loop. The log rules are those of estimation/replay.hpp (NaN
// measurement = missing sample; NaN current = held, nothing fused).
#include <cstddef>
#include <cstdint>

#include "safetwin/diagnostics/anomaly_score.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/replay.hpp"

namespace safetwin::diagnostics {

// Innovations of the estimator's last update (a step of dt_s): fused and gated channels count as
// evaluated. The variance is the per-sample one the innovation gate uses, H P H' + R: the update
// itself inflates the voltage channels' model-error variance by correlation / dt (variance
// inflation for time-correlated errors, battery_ekf.hpp), which would whiten a fault away; that
// inflation (voltage_model_sigma_v^2 (max(1, correlation / dt) - 1), times the channel's trust
// noise scale) is taken off again here.
[[nodiscard]] Innovations innovations_of(const estimation::BatteryEkf& ekf, double dt_s) noexcept;

struct ScoreReplayOutput {
  double* score = nullptr;            // n, may be null
  std::uint8_t* alarm = nullptr;      // n, may be null
  double* capacity_factor = nullptr;  // n: the EKF's estimate (joint estimation), may be null
  double* capacity_factor_sigma = nullptr;
  double* r0_factor = nullptr;
  double* r0_factor_sigma = nullptr;
};

struct ScoreReplaySummary {
  double max_score = 0.0;                                  // over samples with a full window
  std::size_t alarm_events = 0;                            // alarm starts
  std::size_t first_alarm = static_cast<std::size_t>(-1);  // row of the first alarm start
};

// Runs the log through ekf and score (both continue from their present state). invalid_argument
// (nothing run) for null required pointers or times not finite and strictly increasing.
[[nodiscard]] Status score_replay(estimation::BatteryEkf& ekf, AnomalyScore& score, const estimation::ReplayInput& in,
                                  const ScoreReplayOutput& out, ScoreReplaySummary* summary = nullptr) noexcept;

}  // namespace safetwin::diagnostics
