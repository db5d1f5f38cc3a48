#pragma once
// Trust applied to the battery estimator: which sensor node feeds which measurement channel of
// which cell, the residual evidence each node's channels give, and the noise scales written into
// the estimator through its single entry point, BatteryEkf::set_noise_scale.
//
// One cycle (call step() once per sample, before the estimator's step):
//   1. residuals: for each node, the normalised innovations z = y / sqrt(S_0) of its channels in
//      the estimator's last update, combined as sum(z) / sqrt(n) (N(0,1) for an honest node).
//      S_0 = H P H' + R_sample is the per-sample innovation variance at noise scale 1: from the
//      reported S = H P H' + s R_update, S_0 = S - s R_update + R_sample (R_update carries the
//      model-error inflation for short dt, see BatteryEkfConfig). So a distrusted node's
//      residuals are not shrunk by its own inflated noise (otherwise a distrusted bias would fall
//      silent and regain trust, then alarm again).
//      Channels that were missing or non-finite give nothing; gated ones count (their innovation
//      is reported). The residuals therefore lag the verdicts by one cycle.
//      Cross-node residual (TrustConfig::cross_node_residual, on by default): where a cell's two
//      voltage channels come from two nodes and both have an innovation, the twin's prediction
//      cancels from their difference, d = y_a - y_b = reading_a - reading_b, whose variance while
//      both are honest is sigma_a^2 + sigma_b^2 (the sensors' own noise; the twin's model error and
//      the current sensor's noise are common to both). z = d / sqrt(sigma_a^2 + sigma_b^2) is laid
//      at the node that departed (NodeAttribution: the innovation that left its own baseline), the
//      other node gets z = 0 (it agrees with where the pair was). So a node is distrusted when it
//      departs from its redundant peer, not when both agree with each other and disagree with the
//      twin: that is model error, for the twin to adapt to. A voltage channel without a peer and
//      the temperature channel keep the innovation against the twin.
//   2. TrustState::step with this cycle's attestation verdicts and those residuals.
//   3. unless weighting is off, every mapped channel gets s = the node's noise scale.
// With weighting off the trust is still computed (to report it) but the scales stay at 1: the
// baseline the attack demo compares against.
//
// The nominal channel variances are those BatteryEkf builds from its config (sigma^2 of the
// channel + model sigma^2 (times the correlation inflation for R_update) + (R0 * current
// sigma)^2 for the voltages); a test checks them against the filter's own innovation variances
// at two scales, so a change of the estimator's noise model fails that test.
#include <cstddef>
#include <vector>

#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/pack_estimator.hpp"
#include "safetwin/status.hpp"
#include "safetwin/trust/node_attribution.hpp"
#include "safetwin/trust/trust_state.hpp"

namespace safetwin::trust {

constexpr int kNoNode = -1;

// The node behind each channel of one cell's estimator (kNoNode: not weighted by trust).
struct ChannelNodes {
  int voltage_a = 0;
  int voltage_b = 1;
  int temperature = kNoNode;
};

class EstimatorTrust {
 public:
  // One ChannelNodes per estimator group (a single BatteryEkf: one entry). `estimator_configs`
  // gives the nominal channel variances (one per group, or one for all). Throws
  // std::invalid_argument naming the field (a node index outside [0, nodes), sizes).
  EstimatorTrust(const TrustConfig& config, std::size_t nodes, std::vector<ChannelNodes> map,
                 const std::vector<estimation::BatteryEkfConfig>& estimator_configs, bool weighting = true);

  // One cycle for a pack (est.size() must equal the map's size) or a single cell (map size 1).
  // verdicts: nodes() entries. Returns invalid_argument (nothing changed) on a size mismatch;
  // otherwise the first non-ok status of writing a scale (never expected: s >= 1 and finite).
  // last_dt_s: the dt_s of the estimator step whose residuals are read (sets R_update).
  [[nodiscard]] Status step(const Attestation* verdicts, std::size_t count, estimation::PackEstimator& est,
                            double last_dt_s = 1.0) noexcept;
  [[nodiscard]] Status step(const Attestation* verdicts, std::size_t count, estimation::BatteryEkf& ekf,
                            double last_dt_s = 1.0) noexcept;
  // The same for estimators held elsewhere (a PackCycle's groups): ekfs[g] for g < groups.
  [[nodiscard]] Status step(const Attestation* verdicts, std::size_t count, estimation::BatteryEkf* const* ekfs,
                            std::size_t groups, double last_dt_s = 1.0) noexcept;

  [[nodiscard]] const TrustState& state() const noexcept { return state_; }
  [[nodiscard]] std::size_t nodes() const noexcept { return state_.nodes(); }
  [[nodiscard]] std::size_t groups() const noexcept { return map_.size(); }
  [[nodiscard]] bool weighting() const noexcept { return weighting_; }
  // The residual fed to node i in the last step (NaN when none of its channels had one).
  [[nodiscard]] double node_residual(std::size_t node) const noexcept { return z_[node]; }
  // Nominal (scale 1) variances of a channel of group g: per sample, and in an update after dt_s.
  [[nodiscard]] double sample_variance(std::size_t group, estimation::Channel c) const noexcept;
  [[nodiscard]] double update_variance(std::size_t group, estimation::Channel c, double dt_s) const noexcept;

 private:
  void accumulate(const estimation::BatteryEkf& ekf, std::size_t group, double dt_s) noexcept;
  [[nodiscard]] Status apply(estimation::BatteryEkf& ekf, std::size_t group) noexcept;
  [[nodiscard]] Status cycle(const Attestation* verdicts, std::size_t count) noexcept;
  template <class GroupEkf>
  [[nodiscard]] Status step_groups(const Attestation* verdicts, std::size_t count, std::size_t groups, GroupEkf&& ekf,
                                   double last_dt_s) noexcept;

  TrustState state_;
  std::vector<ChannelNodes> map_;
  std::vector<std::array<double, estimation::kChannelCount>> r_sample_;
  std::vector<double> model_var_;             // voltage model-error variance per group
  std::vector<double> model_corr_s_;          // its correlation time
  std::vector<double> pair_var_;              // sigma_a^2 + sigma_b^2 per group (cross-node residual)
  std::vector<NodeAttribution> attribution_;  // per group: which voltage node departed
  bool weighting_;
  bool cross_;
  std::array<double, kMaxNodes> zsum_{};
  std::array<int, kMaxNodes> zn_{};
  std::array<double, kMaxNodes> z_{};
};

// Per-sample variances of the three channels for one estimator configuration (see above).
[[nodiscard]] std::array<double, estimation::kChannelCount> nominal_channel_variances(
    const estimation::BatteryEkfConfig& c) noexcept;
// Variance inflation of the model error in an update after dt_s: max(1, correlation / dt).
[[nodiscard]] double model_error_inflation(double correlation_s, double dt_s) noexcept;

}  // namespace safetwin::trust
