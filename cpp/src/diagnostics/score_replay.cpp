#include "safetwin/diagnostics/score_replay.hpp"

#include <algorithm>
#include <cmath>

namespace safetwin::diagnostics {

using estimation::BatteryEkf;
using estimation::Channel;
using estimation::Measurement;

Innovations innovations_of(const BatteryEkf& ekf) noexcept {
  const BatteryEkf::Report& r = ekf.report();
  Innovations in;
  for (int c = 0; c < kMaxScoreChannels; ++c) {
    const std::uint8_t f = r.channel.flags[c];
    in.evaluated[c] = (f & (estimation::channel_flag::used | estimation::channel_flag::gated)) != 0 &&
                      r.channel.innovation_variance[c] > 0.0;
    in.innovation[c] = r.channel.innovation[c];
    in.variance[c] = r.channel.innovation_variance[c];
  }
  return in;
}

Status score_replay(BatteryEkf& ekf, AnomalyScore& score, const estimation::ReplayInput& in,
                    const ScoreReplayOutput& out, ScoreReplaySummary* summary) noexcept {
  if (in.n > 0 && (in.t_s == nullptr || in.current_a == nullptr)) return Status::invalid_argument;
  for (std::size_t k = 0; k < in.n; ++k) {
    if (!std::isfinite(in.t_s[k])) return Status::invalid_argument;
    if (k > 0 && !(in.t_s[k] > in.t_s[k - 1])) return Status::invalid_argument;
  }
  ScoreReplaySummary s{};
  double held_current_a = 0.0;
  for (std::size_t k = 0; k < in.n; ++k) {
    Measurement z;
    const auto channel = [&](const double* col, double& value, bool& valid) {
      if (col == nullptr) return;
      value = col[k];
      valid = std::isfinite(value);
    };
    channel(in.voltage_a_v, z.voltage_a_v, z.voltage_a_valid);
    channel(in.voltage_b_v, z.voltage_b_v, z.voltage_b_valid);
    channel(in.temperature_k, z.temperature_k, z.temperature_valid);
    double current = in.current_a[k];
    if (!std::isfinite(current)) {  // held, nothing fused (as estimation::replay)
      current = held_current_a;
      z.voltage_a_valid = z.voltage_b_valid = z.temperature_valid = false;
    }
    held_current_a = current;
    const double dt = k > 0 ? in.t_s[k] - in.t_s[k - 1] : 1.0;
    (void)ekf.step(current, z, dt);  // a recovered covariance is no reason to stop scoring
    AnomalyResult r;
    if (score.step(innovations_of(ekf), r) != Status::ok) r = AnomalyResult{score.score()};
    if (r.window_full) s.max_score = std::max(s.max_score, r.score);
    if (r.alarm_started) {
      if (s.alarm_events == 0) s.first_alarm = k;
      ++s.alarm_events;
    }
    if (out.score != nullptr) out.score[k] = r.score;
    if (out.alarm != nullptr) out.alarm[k] = r.alarm ? 1 : 0;
    if (out.capacity_factor != nullptr) out.capacity_factor[k] = ekf.capacity_factor();
    if (out.capacity_factor_sigma != nullptr) out.capacity_factor_sigma[k] = ekf.capacity_factor_sigma();
    if (out.r0_factor != nullptr) out.r0_factor[k] = ekf.r0_factor();
    if (out.r0_factor_sigma != nullptr) out.r0_factor_sigma[k] = ekf.r0_factor_sigma();
  }
  if (summary != nullptr) *summary = s;
  return Status::ok;
}

}  // namespace safetwin::diagnostics
