#include "safetwin/diagnostics/score_replay.hpp"

#include <algorithm>
#include <cmath>

namespace safetwin::diagnostics {

using estimation::BatteryEkf;
using estimation::Channel;
using estimation::Measurement;

Innovations innovations_of(const BatteryEkf& ekf, double dt_s) noexcept {
  const BatteryEkf::Report& r = ekf.report();
  const estimation::BatteryEkfConfig& c = ekf.config();
  const double inflation = dt_s > 0.0 ? std::max(1.0, c.voltage_model_correlation_s / dt_s) : 1.0;
  const double m2 = c.voltage_model_sigma_v * c.voltage_model_sigma_v * (inflation - 1.0);
  Innovations in;
  for (int ch = 0; ch < kMaxScoreChannels; ++ch) {
    const std::uint8_t f = r.channel.flags[ch];
    const auto channel = static_cast<Channel>(ch);
    const bool voltage = channel == Channel::voltage_a || channel == Channel::voltage_b;
    const double s = r.channel.innovation_variance[ch] - (voltage ? m2 * ekf.noise_scale(channel) : 0.0);
    in.evaluated[ch] = (f & (estimation::channel_flag::used | estimation::channel_flag::gated)) != 0 && s > 0.0;
    in.innovation[ch] = r.channel.innovation[ch];
    in.variance[ch] = s;
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
    if (score.step(innovations_of(ekf, dt), r) != Status::ok) r = AnomalyResult{score.score()};
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
