#pragma once
// Online anomaly score of one cell: the mean squared whitened innovation over a sliding window.
//
// Each sample brings the estimator's innovations y_i with their variances S_ii. Under the twin's
// own nominal behaviour z_i = y_i / sqrt(S_ii) is about standard normal, so the window mean of
// z_i^2 is the negative log-likelihood of the window's innovations up to an affine map
// (NLL per channel-sample = 0.5 (score + log 2 pi)). The innovations of a real estimator are
// neither white nor exactly unit-variance (model error, correlated over minutes), so the
// threshold is not a chi-square quantile: it is the (1 - alpha) quantile of the hourly maximum of
// the score over simulated nominal operation (safetwin.diagnostics.calibration), handed in here.
//
// Channels are counted whether the estimator fused or gated them: an anomaly is exactly what the
// innovation gate rejects, so a gated channel's innovation must count. Missing or non-finite ones
// do not. Each z^2 is capped (z2_cap) so that one wild sample cannot hold the window for ever.
// No alarm before the window is full (a partly filled window is a noisier statistic); an alarm is
// raised while score > threshold, and `alarm_started` marks the sample it began (the event).
//
// step() is the step path: no allocation, no exception; the ring buffer has a fixed maximum size.
#include <array>
#include <cstddef>
#include <cstdint>

#include "safetwin/status.hpp"

namespace safetwin::diagnostics {

constexpr int kMaxScoreChannels = 3;           // the BatteryEkf's channels: voltage_a, voltage_b, temperature
constexpr std::size_t kMaxScoreWindow = 3600;  // one hour at 1 s

struct AnomalyScoreConfig {
  std::size_t window_samples = 300;
  double threshold = 1e300;         // from the calibration file; the default never alarms
  std::uint8_t channel_mask = 0x7;  // bit c: channel c enters the score
  double z2_cap = 100.0;            // cap of one channel's squared whitened innovation
  // Throws std::invalid_argument naming the first bad field ("AnomalyScoreConfig.window_samples").
  void validate() const;
};

// One sample of the estimator's innovations (the BatteryEkf report, channel by channel).
struct Innovations {
  std::array<double, kMaxScoreChannels> innovation{};
  std::array<double, kMaxScoreChannels> variance{};
  std::array<bool, kMaxScoreChannels> evaluated{};  // innovation computed (fused or gated)
};

struct AnomalyResult {
  double score = 0.0;  // window mean of z^2 (0 before any channel was seen)
  bool window_full = false;
  bool alarm = false;          // score > threshold with a full window
  bool alarm_started = false;  // alarm now, not at the previous sample
  int channels = 0;            // channels counted in this sample
};

class AnomalyScore {
 public:
  explicit AnomalyScore(AnomalyScoreConfig config = {});  // validates; throws std::invalid_argument

  // One sample. A channel flagged evaluated with a non-finite innovation or a variance <= 0 or
  // non-finite is refused (non_finite_input / invalid_argument) and nothing changes.
  [[nodiscard]] Status step(const Innovations& in, AnomalyResult& out) noexcept;
  void reset() noexcept;

  [[nodiscard]] const AnomalyScoreConfig& config() const noexcept { return config_; }
  [[nodiscard]] double score() const noexcept;
  // Sets the threshold (a new calibration). Refuses NaN and values <= 0; state unchanged.
  [[nodiscard]] Status set_threshold(double threshold) noexcept;

 private:
  AnomalyScoreConfig config_;
  std::array<double, kMaxScoreWindow> z2_sum_{};  // per-sample sum of z^2 over counted channels
  std::array<std::uint8_t, kMaxScoreWindow> count_{};
  std::size_t head_ = 0;    // next slot to write
  std::size_t filled_ = 0;  // samples in the window
  double sum_ = 0.0;        // running sums over the window
  long channel_count_ = 0;
  bool alarm_ = false;
};

}  // namespace safetwin::diagnostics
