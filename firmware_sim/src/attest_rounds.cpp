#include "attest_rounds.hpp"

#include <stdexcept>
#include <string>

namespace safetwin::firmware {

void AttestRoundsConfig::validate(std::uint64_t nonce_lifetime_ms) const {
  const auto bad = [](const char* field, std::uint64_t v, const std::string& limit) {
    throw std::invalid_argument(std::string("AttestRoundsConfig.") + field + " = " + std::to_string(v) + ": " + limit);
  };
  if (nodes == 0 || nodes > QuoteVerifier::kMaxNodes) bad("nodes", nodes, "must be in 1..8");
  if (period_ms <= nonce_lifetime_ms)
    bad("period_ms", period_ms, "must exceed the round's lifetime (" + std::to_string(nonce_lifetime_ms) + " ms)");
  if (max_verifies_per_service == 0) bad("max_verifies_per_service", 0, "must be >= 1");
}

AttestRounds::AttestRounds(const AttestRoundsConfig& config, QuoteVerifier& verifier, NonceSource& nonces)
    : config_(config), verifier_(verifier), nonces_(nonces), n_(config.nodes) {
  config_.validate(verifier.config().nonce_lifetime_ms);
  for (std::size_t k = 0; k < n_; ++k) {
    if (!verifier.enrolled(k))
      throw std::invalid_argument("AttestRounds: node " + std::to_string(k) + " is not enrolled");
    rx_[k] = IsoTpReceiver(config_.isotp);
    next_round_ms_[k] = k * config_.stagger_ms;
  }
}

Status AttestRounds::tick(std::uint64_t now_ms) noexcept {
  Status st = Status::ok;
  for (std::size_t k = 0; k < n_; ++k) {
    // A round past its deadline without a passing answer: the first failure seen in it, or a
    // timeout when nothing complete arrived.
    if (!queued_[k] && rx_[k].expired(now_ms)) {
      verdict_[k] = round_failure_[k] != AttestReason::none ? round_failure_[k] : AttestReason::timeout;
      round_failure_[k] = AttestReason::none;
    }
    if (now_ms < next_round_ms_[k]) continue;
    next_round_ms_[k] += config_.period_ms * (1 + (now_ms - next_round_ms_[k]) / config_.period_ms);
    if (nonces_.generate(nonce_[k].data(), nonce_[k].size()) != Status::ok ||
        verifier_.expect_nonce(k, nonce_[k], now_ms) != Status::ok) {
      st = Status::numerical_error;  // no round this period: silence counts against the node
      continue;
    }
    rx_[k].open(now_ms + verifier_.config().nonce_lifetime_ms);
    request_[k] = true;
    round_failure_[k] = AttestReason::none;
  }
  return st;
}

IsoTpEvent AttestRounds::on_frame(std::size_t node, const std::uint8_t* data, std::uint8_t len,
                                  std::uint64_t now_ms) noexcept {
  if (node >= n_) return IsoTpEvent::ignored;
  if (queued_[node]) return IsoTpEvent::ignored;  // one answer per node waits at a time
  const IsoTpEvent e = rx_[node].on_frame(data, len, now_ms);
  if (e == IsoTpEvent::complete) {
    queued_[node] = true;
    queued_at_ms_[node] = now_ms;
  }
  return e;
}

std::size_t AttestRounds::queued() const noexcept {
  std::size_t q = 0;
  for (std::size_t k = 0; k < n_; ++k) q += queued_[k] ? 1 : 0;
  return q;
}

std::size_t AttestRounds::service(std::uint64_t now_ms) noexcept {
  (void)now_ms;
  std::size_t done = 0;
  for (std::size_t i = 0; i < n_ && done < config_.max_verifies_per_service; ++i) {
    const std::size_t k = (next_service_ + i) % n_;
    if (!queued_[k]) continue;
    const std::uint8_t *attest = nullptr, *sig = nullptr;
    std::size_t na = 0, ns = 0;
    QuoteResult r;  // sizes that do not add up: malformed
    // Verified at the time the answer completed (the lifetime covers the transfer, not our queue).
    if (split_quote(rx_[k].message(), rx_[k].message_size(), attest, na, sig, ns))
      (void)verifier_.verify(k, attest, na, sig, ns, queued_at_ms_[k], r);
    last_[k] = r;
    queued_[k] = false;
    ++done;
    if (r.reason == AttestReason::pass) {
      rx_[k].close();
      verdict_[k] = AttestReason::pass;
      round_failure_[k] = AttestReason::none;  // forgeries on this node's ID do not count against it
    } else {
      rx_[k].rearm();
      if (round_failure_[k] == AttestReason::none) round_failure_[k] = r.reason;
    }
    next_service_ = (k + 1) % n_;
  }
  return done;
}

AttestReason AttestRounds::take_verdict(std::size_t node) noexcept {
  if (node >= n_) return AttestReason::none;
  const AttestReason v = verdict_[node];
  verdict_[node] = AttestReason::none;
  return v;
}

}  // namespace safetwin::firmware
