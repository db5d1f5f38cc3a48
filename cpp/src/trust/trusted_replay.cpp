#include "safetwin/trust/trusted_replay.hpp"

#include <cmath>

namespace safetwin::trust {

using estimation::Channel;
namespace cf = estimation::channel_flag;

namespace {
bool check(const EstimatorTrust& trust, const TrustedReplayInput& in) noexcept {
  if (in.t_s == nullptr || in.current_a == nullptr || in.attestation == nullptr || trust.groups() != 1) return false;
  for (std::size_t k = 0; k < in.n; ++k) {
    if (!std::isfinite(in.t_s[k]) || !std::isfinite(in.current_a[k])) return false;
    if (k > 0 && !(in.t_s[k] > in.t_s[k - 1])) return false;
  }
  const std::size_t cells = in.n * trust.nodes();
  for (std::size_t i = 0; i < cells; ++i)
    if (!is_valid_attestation(in.attestation[i])) return false;
  return true;
}

void take(const double* column, std::size_t k, double& value, bool& valid) noexcept {
  if (column == nullptr) return;
  value = column[k];
  valid = std::isfinite(value);
}
}  // namespace

Status trusted_replay(estimation::BatteryEkf& ekf, EstimatorTrust& trust, const TrustedReplayInput& in,
                      const TrustedReplayOutput& out, TrustedReplaySummary* summary) noexcept {
  if (!check(trust, in)) return Status::invalid_argument;
  const std::size_t nodes = trust.nodes();
  TrustedReplaySummary sum;
  for (std::size_t k = 0; k < in.n; ++k) {
    const auto* verdicts = reinterpret_cast<const Attestation*>(in.attestation + k * nodes);
    const double last_dt_s = k < 2 ? 1.0 : in.t_s[k - 1] - in.t_s[k - 2];  // dt of the step whose residuals are read
    (void)trust.step(verdicts, nodes, ekf, last_dt_s);                     // inputs checked above: cannot be refused
    estimation::Measurement z;
    take(in.voltage_a_v, k, z.voltage_a_v, z.voltage_a_valid);
    take(in.voltage_b_v, k, z.voltage_b_v, z.voltage_b_valid);
    take(in.temperature_k, k, z.temperature_k, z.temperature_valid);
    const double dt_s = k == 0 ? 1.0 : in.t_s[k] - in.t_s[k - 1];  // the first step only updates
    if (ekf.step(in.current_a[k], z, dt_s) == Status::numerical_error) ++sum.numerical_errors;
    std::uint8_t gated = 0;
    for (int c = 0; c < estimation::kChannelCount; ++c)
      if (ekf.flags(static_cast<Channel>(c)) & cf::gated) gated |= static_cast<std::uint8_t>(1u << c);
    if (gated != 0) ++sum.rows_gated;
    if (out.soc != nullptr) out.soc[k] = ekf.soc();
    if (out.soc_sigma != nullptr) out.soc_sigma[k] = ekf.soc_sigma();
    if (out.nis != nullptr) out.nis[k] = ekf.nis();
    if (out.gated != nullptr) out.gated[k] = gated;
    const TrustState& ts = trust.state();
    for (std::size_t i = 0; i < nodes; ++i) {
      if (out.trust != nullptr) out.trust[k * nodes + i] = ts.trust(i);
      if (out.alarm != nullptr) out.alarm[k * nodes + i] = ts.report(i).alarm ? 1 : 0;
      if (out.residual != nullptr) out.residual[k * nodes + i] = trust.node_residual(i);
    }
  }
  if (summary != nullptr) *summary = sum;
  return Status::ok;
}

}  // namespace safetwin::trust
