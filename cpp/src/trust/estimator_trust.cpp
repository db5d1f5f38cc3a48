#include "safetwin/trust/estimator_trust.hpp"

#include <cmath>
#include <limits>
#include <string>

#include "safetwin/validate.hpp"

namespace safetwin::trust {

using estimation::BatteryEkf;
using estimation::Channel;
namespace cf = estimation::channel_flag;

namespace {
constexpr std::array<Channel, estimation::kChannelCount> kChannels{Channel::voltage_a, Channel::voltage_b,
                                                                   Channel::temperature};
int node_of(const ChannelNodes& m, Channel c) noexcept {
  switch (c) {
    case Channel::voltage_a: return m.voltage_a;
    case Channel::voltage_b: return m.voltage_b;
    case Channel::temperature: return m.temperature;
  }
  return kNoNode;
}
}  // namespace

std::array<double, estimation::kChannelCount> nominal_channel_variances(
    const estimation::BatteryEkfConfig& c) noexcept {
  return estimation::channel_variances(c);  // the filter's own formula, not a copy of it
}

EstimatorTrust::EstimatorTrust(const TrustConfig& config, std::size_t nodes, std::vector<ChannelNodes> map,
                               const std::vector<estimation::BatteryEkfConfig>& estimator_configs, bool weighting)
    : state_(config, nodes), map_(std::move(map)), weighting_(weighting), cross_(config.cross_node_residual) {
  if (map_.empty()) throw_invalid("map", "must have one entry per estimator group");
  if (estimator_configs.size() != 1 && estimator_configs.size() != map_.size())
    throw_invalid("estimator_configs", static_cast<double>(estimator_configs.size()),
                  "must hold 1 or " + std::to_string(map_.size()) + " configurations");
  for (std::size_t g = 0; g < map_.size(); ++g) {
    for (Channel c : kChannels) {
      const int n = node_of(map_[g], c);
      if (n != kNoNode && (n < 0 || static_cast<std::size_t>(n) >= nodes))
        throw_invalid("map[" + std::to_string(g) + "].channel " + std::to_string(static_cast<int>(c)), n,
                      "node index must be in [0, " + std::to_string(nodes) + ") or -1");
    }
    const auto& ec = estimator_configs[estimator_configs.size() == 1 ? 0 : g];
    r_sample_.push_back(nominal_channel_variances(ec));
    model_var_.push_back(ec.voltage_model_sigma_v * ec.voltage_model_sigma_v);
    model_corr_s_.push_back(ec.voltage_model_correlation_s);
    pair_var_.push_back(ec.voltage_a_sigma_v * ec.voltage_a_sigma_v + ec.voltage_b_sigma_v * ec.voltage_b_sigma_v);
    attribution_.emplace_back(config.cross_node_baseline_s);
  }
  z_.fill(std::numeric_limits<double>::quiet_NaN());
}

double model_error_inflation(double correlation_s, double dt_s) noexcept {
  return std::fmax(1.0, correlation_s / dt_s);
}

double EstimatorTrust::sample_variance(std::size_t group, Channel c) const noexcept {
  return r_sample_[group][static_cast<std::size_t>(c)];
}

double EstimatorTrust::update_variance(std::size_t group, Channel c, double dt_s) const noexcept {
  const double r = sample_variance(group, c);
  if (c == Channel::temperature) return r;
  return r + model_var_[group] * (model_error_inflation(model_corr_s_[group], dt_s) - 1.0);
}

void EstimatorTrust::accumulate(const BatteryEkf& ekf, std::size_t group, double dt_s) noexcept {
  const ChannelNodes& mp = map_[group];
  const auto has_innovation = [&ekf](Channel c) {
    return (ekf.flags(c) & (cf::used | cf::gated)) != 0 && std::isfinite(ekf.innovation(c));
  };
  bool cross = false;  // the voltage channels were judged against each other (header)
  if (cross_ && mp.voltage_a != kNoNode && mp.voltage_b != kNoNode && mp.voltage_a != mp.voltage_b &&
      has_innovation(Channel::voltage_a) && has_innovation(Channel::voltage_b) && pair_var_[group] > 0.0) {
    const double ya = ekf.innovation(Channel::voltage_a), yb = ekf.innovation(Channel::voltage_b);
    const double z = (ya - yb) / std::sqrt(pair_var_[group]);
    const Suspect who = attribution_[group].update(ya, yb, std::abs(z) <= 2.5, dt_s);
    zsum_[static_cast<std::size_t>(mp.voltage_a)] += who != Suspect::b ? z : 0.0;
    zsum_[static_cast<std::size_t>(mp.voltage_b)] += who != Suspect::a ? -z : 0.0;
    zn_[static_cast<std::size_t>(mp.voltage_a)] += 1;
    zn_[static_cast<std::size_t>(mp.voltage_b)] += 1;
    cross = true;
  }
  for (Channel c : kChannels) {
    const int node = node_of(mp, c);
    if (node == kNoNode) continue;
    if (cross && c != Channel::temperature) continue;
    const std::uint8_t f = ekf.flags(c);
    if ((f & (cf::used | cf::gated)) == 0) continue;  // missing / non-finite / not evaluated
    const double s = ekf.noise_scale(c);
    const double s0 = ekf.innovation_variance(c) - s * update_variance(group, c, dt_s) + sample_variance(group, c);
    const double y = ekf.innovation(c);
    if (!(s0 > 0.0) || !std::isfinite(y)) continue;
    zsum_[static_cast<std::size_t>(node)] += y / std::sqrt(s0);
    zn_[static_cast<std::size_t>(node)] += 1;
  }
}

Status EstimatorTrust::apply(BatteryEkf& ekf, std::size_t group) noexcept {
  Status out = Status::ok;
  for (Channel c : kChannels) {
    const int node = node_of(map_[group], c);
    if (node == kNoNode) continue;
    const Status st = ekf.set_noise_scale(c, state_.noise_scale(static_cast<std::size_t>(node)));
    if (st != Status::ok && out == Status::ok) out = st;
  }
  return out;
}

Status EstimatorTrust::cycle(const Attestation* verdicts, std::size_t count) noexcept {
  const std::size_t n = state_.nodes();
  for (std::size_t i = 0; i < n; ++i)
    z_[i] = zn_[i] > 0 ? zsum_[i] / std::sqrt(static_cast<double>(zn_[i])) : std::numeric_limits<double>::quiet_NaN();
  zsum_.fill(0.0);
  zn_.fill(0);
  return state_.step(verdicts, z_.data(), count);
}

namespace {
bool valid_verdicts(const Attestation* v, std::size_t n) noexcept {
  if (v == nullptr) return false;
  for (std::size_t i = 0; i < n; ++i)
    if (!is_valid_attestation(static_cast<std::uint8_t>(v[i]))) return false;
  return true;
}
}  // namespace

template <class GroupEkf>
Status EstimatorTrust::step_groups(const Attestation* verdicts, std::size_t count, std::size_t groups, GroupEkf&& ekf,
                                   double last_dt_s) noexcept {
  if (groups != map_.size() || count != state_.nodes() || !valid_verdicts(verdicts, count) ||
      !(std::isfinite(last_dt_s) && last_dt_s > 0.0))
    return Status::invalid_argument;
  for (std::size_t g = 0; g < groups; ++g) accumulate(ekf(g), g, last_dt_s);
  const Status st = cycle(verdicts, count);
  if (st != Status::ok || !weighting_) return st;
  Status out = Status::ok;
  for (std::size_t g = 0; g < groups; ++g) {
    const Status a = apply(ekf(g), g);
    if (a != Status::ok && out == Status::ok) out = a;
  }
  return out;
}

Status EstimatorTrust::step(const Attestation* verdicts, std::size_t count, estimation::PackEstimator& est,
                            double last_dt_s) noexcept {
  return step_groups(
      verdicts, count, est.size(), [&est](std::size_t g) -> BatteryEkf& { return est.group(g); }, last_dt_s);
}

Status EstimatorTrust::step(const Attestation* verdicts, std::size_t count, BatteryEkf& ekf,
                            double last_dt_s) noexcept {
  return step_groups(
      verdicts, count, 1, [&ekf](std::size_t) -> BatteryEkf& { return ekf; }, last_dt_s);
}

Status EstimatorTrust::step(const Attestation* verdicts, std::size_t count, BatteryEkf* const* ekfs, std::size_t groups,
                            double last_dt_s) noexcept {
  if (ekfs == nullptr) return Status::invalid_argument;
  for (std::size_t g = 0; g < groups; ++g)
    if (ekfs[g] == nullptr) return Status::invalid_argument;
  return step_groups(
      verdicts, count, groups, [ekfs](std::size_t g) -> BatteryEkf& { return *ekfs[g]; }, last_dt_s);
}

}  // namespace safetwin::trust
