#include "safetwin/trust/trust_state.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "safetwin/validate.hpp"

namespace safetwin::trust {

void TrustConfig::validate() const {
  require_in_range("TrustConfig.trust_min", trust_min, 1e-300, 1e-3);
  require_in_range("TrustConfig.trust0", trust0, trust_min, 1.0 - trust_min);
  require_in_range("TrustConfig.p_compromise", p_compromise, 0.0, 0.5);
  require_in_range("TrustConfig.p_recover", p_recover, 0.0, 0.5);
  require_in_range("TrustConfig.p_pass_good", p_pass_good, 1e-6, 1.0 - 1e-12);
  require_in_range("TrustConfig.p_pass_compromised", p_pass_compromised, 1e-12, 1.0 - 1e-12);
  // Evidence must point the right way: passing must be likelier for a good node.
  if (!(p_pass_good > p_pass_compromised))
    throw_invalid("TrustConfig.p_pass_compromised", p_pass_compromised,
                  "must be < p_pass_good = " + std::to_string(p_pass_good));
  // Each failure reason: a likelihood in (0, 1), likelier for a compromised node, and together a
  // part of the failure mass (disjoint outcomes of one round).
  const std::pair<const char*, const ReasonLikelihood*> reasons[] = {{"fail_signature", &fail_signature},
                                                                     {"fail_pcr", &fail_pcr},
                                                                     {"fail_replay", &fail_replay},
                                                                     {"fail_malformed", &fail_malformed},
                                                                     {"timeout", &timeout}};
  double sum_good = 0.0, sum_compromised = 0.0;
  for (const auto& [name, r] : reasons) {
    const std::string field = std::string("TrustConfig.") + name;
    require_in_range(field + ".good", r->good, 1e-12, 1.0 - 1e-12);
    require_in_range(field + ".compromised", r->compromised, 1e-12, 1.0 - 1e-12);
    if (!(r->compromised > r->good))
      throw_invalid(field + ".compromised", r->compromised,
                    "must be > " + field + ".good = " + std::to_string(r->good));
    sum_good += r->good;
    sum_compromised += r->compromised;
  }
  if (sum_good > 1.0 - p_pass_good + 1e-15)
    throw_invalid("TrustConfig.timeout.good", timeout.good,
                  "the failure reasons' good likelihoods sum to " + std::to_string(sum_good) +
                      ", above 1 - p_pass_good = " + std::to_string(1.0 - p_pass_good));
  if (sum_compromised > 1.0 - p_pass_compromised + 1e-15)
    throw_invalid("TrustConfig.timeout.compromised", timeout.compromised,
                  "the failure reasons' compromised likelihoods sum to " + std::to_string(sum_compromised) +
                      ", above 1 - p_pass_compromised = " + std::to_string(1.0 - p_pass_compromised));
  cusum.validate();
  require_positive("TrustConfig.cross_node_baseline_s", cross_node_baseline_s);
  require_in_range("TrustConfig.p_alarm_compromised", p_alarm_compromised, 1e-12, 1.0 - 1e-12);
  if (!(p_alarm_compromised > cusum.false_alarm_rate))
    throw_invalid("TrustConfig.p_alarm_compromised", p_alarm_compromised,
                  "must be > cusum.false_alarm_rate = " + std::to_string(cusum.false_alarm_rate));
  require_in_range("TrustConfig.max_cycles_without_verdict", max_cycles_without_verdict, 0, 1e6);
  require_in_range("TrustConfig.trust_eps", trust_eps, 1e-9, 1.0);
  require_in_range("TrustConfig.distrust_threshold", distrust_threshold, 0.0, 1.0);
}

double noise_scale_from_trust(double trust, double eps) noexcept { return 1.0 / std::fmax(std::fmin(trust, 1.0), eps); }

TrustState::TrustState(const TrustConfig& config, std::size_t nodes) : config_(config), nodes_(nodes) {
  config_.validate();
  if (nodes == 0 || nodes > kMaxNodes)
    throw_invalid("nodes", static_cast<double>(nodes), "must be in [1, " + std::to_string(kMaxNodes) + "]");
  p_alarm_good_ = config_.cusum.false_alarm_rate;
  const Cusum prototype(config_.cusum);
  cusum_.fill(prototype);
  reset();
}

void TrustState::reset_node(std::size_t node) noexcept {
  if (node >= nodes_) return;
  cusum_[node].reset();
  NodeReport r;
  r.trust = config_.trust0;
  r.noise_scale = noise_scale_from_trust(r.trust, config_.trust_eps);
  r.distrusted = r.trust < config_.distrust_threshold;
  report_[node] = r;
}

void TrustState::reset() noexcept {
  for (std::size_t i = 0; i < nodes_; ++i) reset_node(i);
}

ReasonLikelihood TrustState::likelihood(Attestation a) const noexcept {
  const TrustConfig& c = config_;
  switch (a) {
    case Attestation::pass: return {c.p_pass_good, c.p_pass_compromised};
    case Attestation::fail: return {1.0 - c.p_pass_good, 1.0 - c.p_pass_compromised};
    case Attestation::fail_signature: return c.fail_signature;
    case Attestation::fail_pcr: return c.fail_pcr;
    case Attestation::fail_replay: return c.fail_replay;
    case Attestation::fail_malformed: return c.fail_malformed;
    case Attestation::timeout: return c.timeout;
    case Attestation::none: break;
  }
  return {1.0, 1.0};
}

Status TrustState::step(const Attestation* attestation, const double* innovation_z, std::size_t count) noexcept {
  if (attestation == nullptr || count != nodes_) return Status::invalid_argument;
  for (std::size_t i = 0; i < count; ++i)
    if (!is_valid_attestation(static_cast<std::uint8_t>(attestation[i]))) return Status::invalid_argument;
  for (std::size_t i = 0; i < count; ++i) {
    const double z = innovation_z != nullptr ? innovation_z[i] : std::nan("");
    update_node(i, attestation[i], z);
  }
  return Status::ok;
}

void TrustState::update_node(std::size_t i, Attestation a, double z) noexcept {
  NodeReport& r = report_[i];
  const TrustConfig& c = config_;
  // 1. Markov prediction.
  double g = r.trust * (1.0 - c.p_compromise) + (1.0 - r.trust) * c.p_recover;
  double b = 1.0 - g;
  // 2. Attestation evidence, weighed by its reason; silence past the limit fails closed.
  if (a == Attestation::none) {
    r.cycles_since_verdict = std::min(r.cycles_since_verdict + 1, 1 << 30);
    if (r.cycles_since_verdict > c.max_cycles_without_verdict) a = Attestation::fail;
  } else {
    r.cycles_since_verdict = 0;
  }
  const bool failed = a != Attestation::none && a != Attestation::pass;
  const ReasonLikelihood l = likelihood(a);
  g *= l.good;
  b *= l.compromised;
  // 3. Residual evidence (skipped when the residual is missing).
  r.residual_missing = !std::isfinite(z);
  r.alarm = false;
  if (!r.residual_missing) {
    r.alarm = cusum_[i].update(z);
    g *= r.alarm ? p_alarm_good_ : 1.0 - p_alarm_good_;
    b *= r.alarm ? c.p_alarm_compromised : 1.0 - c.p_alarm_compromised;
  }
  // Normalise; g + b > 0 always (every likelihood is > 0), clamp keeps recovery time bounded.
  const double t = g / (g + b);
  r.trust = std::clamp(t, c.trust_min, 1.0 - c.trust_min);
  r.attestation_failed = failed;
  r.verdict = a;
  r.noise_scale = noise_scale_from_trust(r.trust, c.trust_eps);
  r.distrusted = r.trust < c.distrust_threshold;
}

bool TrustState::all_distrusted(std::uint32_t mask) const noexcept {
  bool any = false;
  for (std::size_t i = 0; i < nodes_; ++i) {
    if ((mask >> i & 1U) == 0) continue;
    any = true;
    if (!report_[i].distrusted) return false;
  }
  return any;
}

std::uint32_t TrustState::distrusted_mask() const noexcept {
  std::uint32_t m = 0;
  for (std::size_t i = 0; i < nodes_; ++i)
    if (report_[i].distrusted) m |= 1U << i;
  return m;
}

}  // namespace safetwin::trust
