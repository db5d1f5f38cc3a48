// The firmware's attestation rounds (attest_rounds.hpp) with two nodes that quote like a TPM
// (quote_test_node.hpp): two hours of lockstep at 10 Hz with a round every 5 s give 1440 passes per
// node and nothing else; a forged answer on a node's ID before its genuine one costs the node
// nothing; a forged answer alone, a replay, a tampered node and a silent one each end their round
// with their reason; the per-call verify budget holds; no allocation outside libcrypto's verify.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <memory>

#include "alloc_counter.hpp"
#include "attest_rounds.hpp"
#include "quote_test_node.hpp"

using namespace safetwin::firmware;
using namespace quote_test;

namespace {

struct Bench {
  QuoteVerifier verifier{QuoteVerifierConfig{}};
  NonceSource nonces{2026};
  TestNode a{1}, b{2};
  std::unique_ptr<AttestRounds> rounds;
  std::uint64_t now = 0;
  std::map<AttestReason, int> verdicts[2];

  explicit Bench(std::size_t budget = 1) {
    for (std::size_t k = 0; k < 2; ++k) {
      const TestNode& n = k == 0 ? a : b;
      const Bytes g = n.golden();
      verifier.enroll(k, n.pub.data(), n.pub.size(), kPcrMask, g.data(), true, n.firmware);
    }
    AttestRoundsConfig c;
    c.nodes = 2;
    c.max_verifies_per_service = budget;
    rounds = std::make_unique<AttestRounds>(c, verifier, nonces);
  }
  void send(std::size_t k, const Bytes& payload) {
    for (const Bytes& f : segment(payload))
      (void)rounds->on_frame(k, f.data(), static_cast<std::uint8_t>(f.size()), now);
  }
  Bytes genuine(std::size_t k) {
    TestNode& n = k == 0 ? a : b;
    n.clock_ms = 1000 + now;  // the TPM clock runs with time
    const Bytes at = n.attest(bytes_of(rounds->nonce_request(k)));
    return answer(at, n.sign(at));
  }
  static Bytes bytes_of(const QuoteVerifier::Nonce& x) { return Bytes(x.begin(), x.end()); }
  // One 100 ms cycle: rounds due, the nodes' answers (answer(k) decides; empty = silent),
  // verification after the cycle, verdicts taken.
  template <class Answer>
  void cycle(Answer&& answer_of) {
    REQUIRE(rounds->tick(now) == safetwin::Status::ok);
    for (std::size_t k = 0; k < 2; ++k) {
      if (!rounds->has_request(k)) continue;
      rounds->request_sent(k);
      const Bytes p = answer_of(k);
      if (!p.empty()) send(k, p);
    }
    (void)rounds->service(now);
    for (std::size_t k = 0; k < 2; ++k) {
      const AttestReason v = rounds->take_verdict(k);
      if (v != AttestReason::none) ++verdicts[k][v];
    }
    now += 100;
  }
};

}  // namespace

TEST_CASE("nominal: 2 h of lockstep at 10 Hz, a round every 5 s: 1440 passes per node, nothing else") {
  Bench bench;
  for (int i = 0; i < 2 * 3600 * 10; ++i) bench.cycle([&](std::size_t k) { return bench.genuine(k); });
  for (int k = 0; k < 2; ++k) {
    CHECK(bench.verdicts[k].size() == 1);
    CHECK(bench.verdicts[k][AttestReason::pass] == 1440);
  }
}

TEST_CASE("a forged answer before the genuine one costs the node nothing; alone it is fail_signature") {
  Bench bench;
  TestNode forger{1};
  bool forged_only = false;
  for (int i = 0; i < 200; ++i) {  // 20 s: 4 rounds per node
    bench.cycle([&](std::size_t k) {
      if (k != 0) return bench.genuine(k);
      const Bytes at = bench.a.attest(Bench::bytes_of(bench.rounds->nonce_request(0)));
      bench.send(0, answer(at, forger.sign(at)));  // the forgery arrives first ...
      (void)bench.rounds->service(bench.now);
      return forged_only ? Bytes{} : bench.genuine(0);  // ... the node's own answer after it
    });
    if (i == 99) forged_only = true;
  }
  CHECK(bench.verdicts[0][AttestReason::pass] == 2);
  CHECK(bench.verdicts[0][AttestReason::fail_signature] == 2);
  CHECK(bench.verdicts[0].size() == 2);
  CHECK(bench.verdicts[1][AttestReason::pass] == 4);
}

TEST_CASE("replay, tampered node, silence: each round ends with its reason") {
  Bench bench;
  Bytes old;
  int round = 0;
  for (int i = 0; i < 300; ++i) {  // 30 s: 6 rounds of node 0
    bench.cycle([&](std::size_t k) -> Bytes {
      if (k != 0) return Bytes{};  // node 1 stays silent throughout
      ++round;
      if (round == 1) return old = bench.genuine(0);
      if (round == 2) return old;  // the answer of round 1 again
      if (round == 3) {
        bench.a.pcrs[0] = sha256({7});  // firmware measurement changed
        return bench.genuine(0);
      }
      bench.a.pcrs[0] = sha256({1, 0});  // restored (TestNode{1}'s PCR 0)
      return bench.genuine(0);
    });
  }
  CHECK(bench.verdicts[0][AttestReason::pass] == 4);
  CHECK(bench.verdicts[0][AttestReason::fail_replay] == 1);
  CHECK(bench.verdicts[0][AttestReason::fail_pcr] == 1);
  CHECK(bench.verdicts[1][AttestReason::timeout] == 6);
  CHECK(bench.verdicts[1].size() == 1);
}

TEST_CASE("the budget: one verify per service call, the other answer waits for the next call") {
  Bench bench(1);
  AttestRoundsConfig c;
  c.nodes = 2;
  c.stagger_ms = 0;  // both rounds in the same cycle
  AttestRounds rounds(c, bench.verifier, bench.nonces);
  REQUIRE(rounds.tick(0) == safetwin::Status::ok);
  for (std::size_t k = 0; k < 2; ++k) {
    TestNode& n = k == 0 ? bench.a : bench.b;
    const QuoteVerifier::Nonce& x = rounds.nonce_request(k);
    const Bytes at = n.attest(Bytes(x.begin(), x.end()));
    for (const Bytes& f : segment(answer(at, n.sign(at))))
      (void)rounds.on_frame(k, f.data(), static_cast<std::uint8_t>(f.size()), 5);
  }
  CHECK(rounds.queued() == 2);
  CHECK(rounds.service(10) == 1);
  CHECK(rounds.queued() == 1);
  CHECK(rounds.service(110) == 1);
  CHECK(rounds.take_verdict(0) == AttestReason::pass);
  CHECK(rounds.take_verdict(1) == AttestReason::pass);
  CHECK(rounds.take_verdict(1) == AttestReason::none);
  AttestRoundsConfig bad = c;
  bad.period_ms = 2000;
  CHECK_THROWS_WITH_AS(AttestRounds(bad, bench.verifier, bench.nonces),
                       "AttestRoundsConfig.period_ms = 2000: must exceed the round's lifetime (2000 ms)",
                       std::invalid_argument);
}

TEST_CASE("no allocation in tick and on_frame, the per-cycle paths") {
  Bench bench;
  bench.cycle([&](std::size_t k) { return bench.genuine(k); });  // warm
  const Bytes p = bench.genuine(0);
  const auto frames = segment(p);
  const long n = safetwin::test::count_allocations([&] {
    for (int i = 0; i < 100; ++i) (void)bench.rounds->tick(bench.now + static_cast<std::uint64_t>(i) * 100);
    for (const Bytes& f : frames)
      (void)bench.rounds->on_frame(1, f.data(), static_cast<std::uint8_t>(f.size()), bench.now);
  });
  CHECK(n == 0);
}
