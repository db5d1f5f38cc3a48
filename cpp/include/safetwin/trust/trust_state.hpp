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
//      P(pass|C) = p_pass_compromised (< 1: an attacker may hold a valid key). A failed verdict
//      carries its reason (Attestation below), each with its own likelihood pair (ReasonLikelihood);
//      the generic `fail` (reason unknown) is the whole failure mass, 1 - p_pass. No verdict this
//      cycle is no evidence, but after max_cycles_without_verdict silent cycles every further
//      silent cycle counts as a generic failed attestation (fail closed: silence is never "last
//      known good").
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

// The verdict of one node's attestation round in one cycle, with the reason of a failure. The
// numbers are a contract with the firmware's verifier and the Python verifier (owners.md):
// safetwin.trust.Reason has the same names and codes.
enum class Attestation : std::uint8_t {
  none = 0,            // no round completed this cycle (no evidence, until silence runs too long)
  pass = 1,            // authenticated, fresh, golden PCRs
  fail = 2,            // failed, reason unknown (or a generic one: node error, unsafe clock)
  fail_signature = 3,  // not signed by the enrolled AK, or not TPM-generated: a forgery
  fail_pcr = 4,        // authentic, but measured boot / firmware differ from golden
  fail_replay = 5,     // authentic but not fresh: spent/unknown nonce, clock or counter rollback/jump
  fail_malformed = 6,  // does not parse as a quote (a corrupted transfer, or a fuzzing attacker)
  timeout = 7,         // the round's answer did not arrive in time (lost frames, TPM latency)
};
constexpr std::uint8_t kAttestationMaxCode = 7;
[[nodiscard]] constexpr bool is_valid_attestation(std::uint8_t code) noexcept { return code <= kAttestationMaxCode; }

// Likelihood of one failure reason in one round, for a good and for a compromised node.
struct ReasonLikelihood {
  double good = 0.0;         // P(reason | good)
  double compromised = 0.0;  // P(reason | compromised); > good: every failure is evidence against
};

struct TrustConfig {
  double trust0 = 0.99;               // prior P(good) at construction / reset
  double p_compromise = 1e-4;         // per cycle, good -> compromised
  double p_recover = 1e-3;            // per cycle, compromised -> good (slow drift back)
  double p_pass_good = 0.999;         // P(attestation passes | good)
  double p_pass_compromised = 0.5;    // P(attestation passes | compromised)
  double p_alarm_compromised = 0.05;  // P(CUSUM alarm in a cycle | compromised)
  // Failure reasons: disjoint parts of the failure mass, so their good likelihoods sum to at most
  // 1 - p_pass_good (1e-3) and their compromised ones to at most 1 - p_pass_compromised (0.5).
  // What moves the posterior is the ratio compromised / good (odds of good divided by it):
  //  - timeout 12.5: an honest node loses frames (bus load, error frames, TPM latency), the most
  //    common honest failure (8e-4 of rounds); an attacker gains little by going silent (1e-2).
  //    One lost round takes trust 0.99 to 0.89, not to 0.17 as a generic failure (ratio 500) does.
  //  - malformed 200: a transfer corrupted past the CAN CRC is rare (1e-4) but not impossible.
  //  - pcr 5000: an honest node rarely boots unmeasured firmware (1e-5, e.g. an update missing
  //    from the golden set); a tampered one usually does (5e-2). Authentic, so not a forgery.
  //  - replay 1e4: an honest TPM never rolls its clock back and answers each nonce once; a late
  //    duplicate frame is the only honest source (1e-5); replaying old quotes is an attack (0.1).
  //  - signature 1e5: an honest node's quote is signed by its AK, a bad signature means someone
  //    forged it (1e-6 for the good node: bit errors the CRC missed; 0.1 for the compromised).
  ReasonLikelihood fail_signature{1e-6, 0.1};
  ReasonLikelihood fail_pcr{1e-5, 0.05};
  ReasonLikelihood fail_replay{1e-5, 0.1};
  ReasonLikelihood fail_malformed{1e-4, 0.02};
  ReasonLikelihood timeout{8e-4, 0.01};
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
  bool alarm = false;                       // the CUSUM alarmed this cycle
  bool attestation_failed = false;          // a fail verdict, or silence past max_cycles_without_verdict
  Attestation verdict = Attestation::none;  // this cycle's verdict (fail when silence ran too long)
  bool residual_missing = false;            // the innovation was non-finite: no residual evidence
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
  [[nodiscard]] Status step(const Attestation* attestation, const double* innovation_z, std::size_t count) noexcept;

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

  // The likelihood pair (good, compromised) a verdict of this code weighs with (none: (1, 1)).
  [[nodiscard]] ReasonLikelihood likelihood(Attestation a) const noexcept;

  void reset() noexcept;                       // every node back to trust0
  void reset_node(std::size_t node) noexcept;  // one node (e.g. after re-provisioning)

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
