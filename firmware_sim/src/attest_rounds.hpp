#pragma once
// The firmware's attestation rounds with its nodes, between control cycles: every period_ms each
// node gets a fresh nonce (NonceSource) and its ISO-TP receiver is opened for the round; answer
// frames go to the node's receiver as they arrive (on_frame, any time, cheap); complete answers
// wait in a queue and are verified by service(), which the firmware calls after a control cycle
// has produced its command, at most max_verifies_per_service per call: the ECDSA verify (~75 us
// here) never runs inside the control step's deadline, and its cost per cycle is bounded by count
// (no clock read). take_verdict() hands each node's verdict of this cycle to the trust layer once.
//
// Verdicts per round: pass as soon as a passing answer is verified; otherwise, at the round's
// deadline, the reason of the first failed answer, or timeout when none came. A failed answer
// leaves the round open, so an answer forged on the node's CAN ID (or a sniffed replay) neither
// ends the round nor counts against the node when its own genuine answer passes in the round.
#include <array>
#include <cstddef>
#include <cstdint>

#include "attest_isotp.hpp"
#include "attest_nonce.hpp"
#include "quote_verifier.hpp"
#include "safetwin/status.hpp"

namespace safetwin::firmware {

struct AttestRoundsConfig {
  std::size_t nodes = 1;                     // 1..QuoteVerifier::kMaxNodes
  std::uint64_t period_ms = 5000;            // a round per node this often
  std::uint64_t stagger_ms = 250;            // node k's rounds start k * stagger_ms later
  std::size_t max_verifies_per_service = 1;  // the time budget of one service() call, in verifies
  IsoTpConfig isotp{};
  void validate(std::uint64_t nonce_lifetime_ms) const;  // throws std::invalid_argument naming the field
};

class AttestRounds {
 public:
  // The verifier and the nonce source outlive this object; nodes must be enrolled in the verifier.
  AttestRounds(const AttestRoundsConfig& config, QuoteVerifier& verifier, NonceSource& nonces);

  // Once per control cycle, before the frames of the cycle: starts the rounds due at now_ms (the
  // nonce to send is nonce_request(node) while has_request(node)) and ends expired ones.
  [[nodiscard]] Status tick(std::uint64_t now_ms) noexcept;
  [[nodiscard]] bool has_request(std::size_t node) const noexcept { return node < n_ && request_[node]; }
  [[nodiscard]] const QuoteVerifier::Nonce& nonce_request(std::size_t node) const noexcept { return nonce_[node]; }
  void request_sent(std::size_t node) noexcept {
    if (node < n_) request_[node] = false;
  }

  // One CAN frame of node's answer. Returns the receiver's event; on flow_control/overflow the
  // frame to send back is flow_control(node).
  [[nodiscard]] IsoTpEvent on_frame(std::size_t node, const std::uint8_t* data, std::uint8_t len,
                                    std::uint64_t now_ms) noexcept;
  [[nodiscard]] const std::array<std::uint8_t, 8>& flow_control(std::size_t node) const noexcept {
    return rx_[node].fc();
  }

  // Verifies up to max_verifies_per_service queued answers; returns how many it verified.
  std::size_t service(std::uint64_t now_ms) noexcept;
  [[nodiscard]] std::size_t queued() const noexcept;
  [[nodiscard]] bool answer_queued(std::size_t node) const noexcept { return node < n_ && queued_[node]; }
  [[nodiscard]] std::size_t nodes() const noexcept { return n_; }

  // The node's verdict since the last call (none if no round ended), then cleared.
  [[nodiscard]] AttestReason take_verdict(std::size_t node) noexcept;
  [[nodiscard]] const QuoteResult& last_result(std::size_t node) const noexcept { return last_[node]; }

 private:
  AttestRoundsConfig config_;
  QuoteVerifier& verifier_;
  NonceSource& nonces_;
  std::size_t n_;
  std::array<IsoTpReceiver, QuoteVerifier::kMaxNodes> rx_{};
  std::array<QuoteVerifier::Nonce, QuoteVerifier::kMaxNodes> nonce_{};
  std::array<bool, QuoteVerifier::kMaxNodes> request_{}, queued_{};
  std::array<AttestReason, QuoteVerifier::kMaxNodes> round_failure_{};  // first failure of the open round
  std::array<std::uint64_t, QuoteVerifier::kMaxNodes> next_round_ms_{}, queued_at_ms_{};
  std::array<AttestReason, QuoteVerifier::kMaxNodes> verdict_{};
  std::array<QuoteResult, QuoteVerifier::kMaxNodes> last_{};
  std::size_t next_service_ = 0;  // round-robin start of service()
};

}  // namespace safetwin::firmware
