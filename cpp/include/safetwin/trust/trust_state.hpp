#pragma once
// Per-node Bayesian trust: the probability that a sensor node is uncompromised, updated once per
// cycle from its attestation verdict and from a CUSUM on its normalised innovation, mapped to a
// noise scale for the node's measurement channels.
//
// Model (a two-state hidden Markov model, filtered exactly). Each node is either good (G) or
// compromised (C). Per cycle:
//   1. predict (the "forgetting"): P(G) <- P(G)(1 - p_compromise) + (1 - P(G)) p_recover.
//      p_recover is the slow drift that lets a node regain trust once it attests cleanly again;
//      it plays the role of the forgetting factor of a Beta posterior, but keeps the quantity
//      the estimator needs (a probability of being uncompromised) exact and bounded.
//   2. attestation evidence (strong): pass / fail with P(pass|G) = p_pass_good,
//      P(pass|C) = p_pass_compromised (< 1: an attacker may hold a valid key). No verdict this
//      cycle is no evidence, but after max_cycles_without_verdict silent cycles every further
//      silent cycle counts as a failed attestation (fail closed: silence is never "last known good").
//   3. residual evidence (weak): the node's CUSUM alarms with P(alarm|G) = the CUSUM's
//      false-alarm rate and P(alarm|C) = p_alarm_compromised; no alarm is the complementary
//      event. Catches non-stealthy faults (bias, drift, freeze, noise) even with a valid key.
//   The posterior is clamped to [trust_min, 1 - trust_min] so that recovery time stays bounded.
// Noise scale: s = 1 / max(trust, trust_eps) >= 1, so R_eff = R / trust: a node at trust 0.01 is
// heard as if its noise variance were 100 times larger (the EKF's set_noise_scale takes s >= 1).
// trust_eps is small (1e-6: s up to 1e6) on purpose: a precise node (2 mV) must be inflated far
// beyond its honest redundant peer's noise (tens of mV or more) before the estimator stops
// leaning on it; with eps = 1e-3 a distrusted 2 mV node still outweighs a 150 mV one.
//
// Events: a node is distrusted when trust < distrust_threshold (the monitor's derate event).
// Timing: step() once per estimator cycle, before the estimator's step; verdicts come from the
// verifier (Python or another thread), which also does the signature checks.
#include <array>
#include <cstddef>
#include <cstdint>

#include "safetwin/status.hpp"
#include "safetwin/trust/cusum.hpp"

namespace safetwin::trust {

constexpr std::size_t kMaxNodes = 32;

enum class Attestation : std::uint8_t { none = 0, pass = 1, fail = 2 };

struct TrustConfig {
  double trust0 = 0.99;                 // prior P(good) at construction / reset
  double p_compromise = 1e-4;           // per cycle, good -> compromised
  double p_recover = 1e-3;              // per cycle, compromised -> good (slow drift back)
  double p_pass_good = 0.999;           // P(attestation passes | good)
  double p_pass_compromised = 0.5;      // P(attestation passes | compromised)
  double p_alarm_compromised = 0.05;    // P(CUSUM alarm in a cycle | compromised)
  CusumConfig cusum{};                  // its false_alarm_rate is P(alarm | good)
  int max_cycles_without_verdict = 10;  // silent cycles tolerated before silence counts as fail
  double trust_min = 1e-9;              // posterior clamp
  double trust_eps = 1e-6;              // noise scale s = 1 / max(trust, trust_eps) <= 1 / trust_eps
  double distrust_threshold = 0.1;      // trust below this: node distrusted (monitor event)
  // EstimatorTrust: where a cell has two voltage nodes, their residual evidence is the cross-node
  // residual (one node's departure from its peer), not the innovation against the twin (which a
  // wrong twin gives both honest nodes alike). See estimator_trust.hpp.
  bool cross_node_residual = true;
  double cross_node_baseline_s = 60.0;  // NodeAttribution's baseline time constant
  void validate() const;                // throws std::invalid_argument naming the field
};

// What happened to one node in the last step.
struct NodeReport {
  double trust = 0.0;
  double noise_scale = 1.0;
  bool alarm = false;           // the CUSUM alarmed this cycle
  bool attestation_failed = false;  // a fail verdict, or silence past max_cycles_without_verdict
  bool residual_missing = false;    // the innovation was non-finite: no residual evidence
  bool distrusted = false;
  int cycles_since_verdict = 0;
};

class TrustState {
 public:
  TrustState(const TrustConfig& config, std::size_t nodes);  // throws std::invalid_argument

  // One cycle for every node. attestation: `count` verdicts (Attestation::none when no round
  // completed this cycle); innovation_z: `count` normalised innovations (N(0,1) when honest), or
  // nullptr when no residuals are available; a non-finite entry is a missing residual.
  // Refuses count != nodes() or a null attestation pointer (invalid_argument, state unchanged).
  [[nodiscard]] Status step(const Attestation* attestation, const double* innovation_z,
                            std::size_t count) noexcept;

  [[nodiscard]] std::size_t nodes() const noexcept { return nodes_; }
  [[nodiscard]] double trust(std::size_t node) const noexcept { return report_[node].trust; }
  [[nodiscard]] double noise_scale(std::size_t node) const noexcept { return report_[node].noise_scale; }
  [[nodiscard]] const NodeReport& report(std::size_t node) const noexcept { return report_[node]; }
  [[nodiscard]] const Cusum& cusum(std::size_t node) const noexcept { return cusum_[node]; }
  [[nodiscard]] bool distrusted(std::size_t node) const noexcept { return report_[node].distrusted; }
  // True when every node whose bit is set in `mask` is distrusted (false for an empty mask):
  // e.g. all voltage nodes distrusted, the monitor's stop condition.
  [[nodiscard]] bool all_distrusted(std::uint32_t mask) const noexcept;
  [[nodiscard]] std::uint32_t distrusted_mask() const noexcept;
  [[nodiscard]] const TrustConfig& config() const noexcept { return config_; }

  void reset() noexcept;                           // every node back to trust0
  void reset_node(std::size_t node) noexcept;      // one node (e.g. after re-provisioning)

 private:
  void update_node(std::size_t i, Attestation a, double z) noexcept;

  TrustConfig config_;
  std::size_t nodes_;
  double p_alarm_good_;
  std::array<Cusum, kMaxNodes> cusum_;
  std::array<NodeReport, kMaxNodes> report_;
};

// s = 1 / max(trust, eps), the map from trust to noise scale.
[[nodiscard]] double noise_scale_from_trust(double trust, double eps) noexcept;

}  // namespace safetwin::trust
