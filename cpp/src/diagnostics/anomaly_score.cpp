// Sliding-window anomaly score (see anomaly_score.hpp).
#include "safetwin/diagnostics/anomaly_score.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::diagnostics {

void AnomalyScoreConfig::validate() const {
  const std::string p = "AnomalyScoreConfig.";
  require_in_range(p + "window_samples", static_cast<double>(window_samples), 1.0,
                   static_cast<double>(kMaxScoreWindow));
  require_positive(p + "threshold", threshold);
  if (channel_mask == 0 || channel_mask > 0x7)
    throw_invalid(p + "channel_mask", channel_mask, "must name at least one of the 3 channels (1..7)");
  require_positive(p + "z2_cap", z2_cap);
}

AnomalyScore::AnomalyScore(AnomalyScoreConfig config) : config_(config) { config_.validate(); }

void AnomalyScore::reset() noexcept {
  z2_sum_.fill(0.0);
  count_.fill(0);
  head_ = filled_ = 0;
  sum_ = 0.0;
  channel_count_ = 0;
  alarm_ = false;
}

double AnomalyScore::score() const noexcept {
  return channel_count_ > 0 ? sum_ / static_cast<double>(channel_count_) : 0.0;
}

Status AnomalyScore::set_threshold(double threshold) noexcept {
  if (std::isnan(threshold)) return Status::non_finite_input;
  if (!(threshold > 0.0)) return Status::invalid_argument;
  config_.threshold = threshold;
  return Status::ok;
}

Status AnomalyScore::step(const Innovations& in, AnomalyResult& out) noexcept {
  double z2 = 0.0;
  int n = 0;
  for (int c = 0; c < kMaxScoreChannels; ++c) {
    if (!in.evaluated[c] || !(config_.channel_mask & (1u << c))) continue;
    if (!std::isfinite(in.innovation[c]) || !std::isfinite(in.variance[c])) return Status::non_finite_input;
    if (!(in.variance[c] > 0.0)) return Status::invalid_argument;
    z2 += std::min(config_.z2_cap, in.innovation[c] * in.innovation[c] / in.variance[c]);
    ++n;
  }
  const std::size_t w = config_.window_samples;
  if (filled_ == w) {  // drop the oldest sample
    sum_ -= z2_sum_[head_];
    channel_count_ -= count_[head_];
  } else {
    ++filled_;
  }
  z2_sum_[head_] = z2;
  count_[head_] = static_cast<std::uint8_t>(n);
  sum_ += z2;
  channel_count_ += n;
  head_ = head_ + 1 == w ? 0 : head_ + 1;
  if (head_ == 0) {
    // Once per window the running sum is recomputed exactly, so that rounding cannot accumulate
    // over a long run (amortised O(1); the result stays deterministic).
    double s = 0.0;
    for (std::size_t i = 0; i < filled_; ++i) s += z2_sum_[i];
    sum_ = s;
  }
  out.score = score();
  out.window_full = filled_ == w;
  out.channels = n;
  const bool alarm = out.window_full && out.score > config_.threshold;
  out.alarm_started = alarm && !alarm_;
  out.alarm = alarm_ = alarm;
  return Status::ok;
}

}  // namespace safetwin::diagnostics
