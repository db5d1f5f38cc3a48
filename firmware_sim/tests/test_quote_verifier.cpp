// The firmware's quote verifier against quotes this test marshals itself (TPM 2.0 Part 2 layouts,
// written out field by field below) and signs with its own OpenSSL P-256 keys: every check's verdict
// and reason, the fixed semantics (a forged frame burns no nonce, a jump locks nobody out, a
// re-enrolment after TPM2_Clear), the DRBG's determinism, and the allocations of the verify path.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <set>
#include <stdexcept>
#include <vector>

#include "alloc_counter.hpp"
#include "attest_nonce.hpp"
#include "quote_test_node.hpp"
#include "quote_verifier.hpp"

using namespace safetwin::firmware;

using namespace quote_test;

namespace {

QuoteVerifier::Nonce nonce_of(std::uint8_t fill) {
  QuoteVerifier::Nonce n{};
  n.fill(fill);
  n[0] = 0xA5;
  return n;
}
Bytes bytes_of(const QuoteVerifier::Nonce& n) { return Bytes(n.begin(), n.end()); }

struct Rig {
  QuoteVerifier v{QuoteVerifierConfig{}};
  TestNode node{1};
  explicit Rig(const QuoteVerifierConfig& c = {}) : v(c) {
    const Bytes g = node.golden();
    v.enroll(0, node.pub.data(), node.pub.size(), kPcrMask, g.data(), true, node.firmware);
  }
  QuoteResult run(const Bytes& attest, const Bytes& sig, std::uint64_t now_ms) {
    QuoteResult r;
    REQUIRE(v.verify(0, attest.data(), attest.size(), sig.data(), sig.size(), now_ms, r) == safetwin::Status::ok);
    return r;
  }
  // A fresh round: nonce issued at now_ms, the node's quote on it, verified at now_ms + latency.
  QuoteResult round(std::uint8_t fill, std::uint64_t now_ms, std::uint64_t latency_ms = 50) {
    const auto n = nonce_of(fill);
    REQUIRE(v.expect_nonce(0, n, now_ms) == safetwin::Status::ok);
    const Bytes a = node.attest(bytes_of(n));
    return run(a, node.sign(a), now_ms + latency_ms);
  }
};

}  // namespace

TEST_CASE("a genuine quote passes once; its nonce is spent, a replay of it is fail_replay") {
  Rig rig;
  const auto n = nonce_of(1);
  REQUIRE(rig.v.expect_nonce(0, n, 0) == safetwin::Status::ok);
  const Bytes a = rig.node.attest(bytes_of(n));
  const Bytes s = rig.node.sign(a);
  const QuoteResult r = rig.run(a, s, 100);
  CHECK(r.check == QuoteCheck::ok);
  CHECK(r.reason == AttestReason::pass);
  CHECK(r.clock_ms == 1000);
  CHECK(rig.v.outstanding(0) == 0);
  const QuoteResult again = rig.run(a, s, 200);
  CHECK(again.check == QuoteCheck::nonce_unknown);
  CHECK(again.reason == AttestReason::fail_replay);
}

TEST_CASE("forgeries are fail_signature and burn no nonce: the honest quote still passes") {
  Rig rig;
  TestNode attacker{1};  // same PCRs, another key
  const auto n = nonce_of(2);
  REQUIRE(rig.v.expect_nonce(0, n, 0) == safetwin::Status::ok);
  const Bytes honest = rig.node.attest(bytes_of(n));
  Bytes forged = honest;
  CHECK(rig.run(forged, attacker.sign(forged), 10).check == QuoteCheck::signature);
  Bytes sig = rig.node.sign(honest);
  Bytes flipped = sig;
  flipped[10] ^= 0x01;  // inside r
  CHECK(rig.run(honest, flipped, 20).reason == AttestReason::fail_signature);
  Bytes edited = honest;
  edited[edited.size() - 40] ^= 0x01;  // firmwareVersion changed after signing
  CHECK(rig.run(edited, sig, 30).check == QuoteCheck::signature);
  Bytes sha1 = sig;
  sha1[3] = 0x04;  // signature.hash = SHA-1
  CHECK(rig.run(honest, sha1, 40).check == QuoteCheck::signature);
  CHECK(rig.v.outstanding(0) == 1);
  CHECK(rig.run(honest, sig, 50).check == QuoteCheck::ok);
}

TEST_CASE("wire rules: truncation, trailing bytes, wrong magic, type and oversize are fail_malformed") {
  Rig rig;
  const auto n = nonce_of(3);
  REQUIRE(rig.v.expect_nonce(0, n, 0) == safetwin::Status::ok);
  const Bytes a = rig.node.attest(bytes_of(n));
  const Bytes s = rig.node.sign(a);
  for (std::size_t cut : {std::size_t{0}, std::size_t{5}, a.size() / 2, a.size() - 1}) {
    const Bytes t(a.begin(), a.begin() + static_cast<std::ptrdiff_t>(cut));
    CHECK(rig.run(t, s, 1).check == QuoteCheck::malformed);
  }
  CHECK(rig.run(cat(a, {0}), s, 1).check == QuoteCheck::malformed);
  CHECK(rig.run(a, cat(s, {0}), 1).check == QuoteCheck::malformed);
  CHECK(rig.run(a, Bytes(s.begin(), s.end() - 1), 1).check == QuoteCheck::malformed);
  Bytes magic = a;
  magic[0] = 0x00;
  CHECK(rig.run(magic, rig.node.sign(magic), 1).check == QuoteCheck::magic);
  CHECK(rig.run(magic, rig.node.sign(magic), 1).reason == AttestReason::fail_malformed);
  Bytes type = a;
  type[5] = 0x17;  // TPM_ST_ATTEST_CERTIFY
  CHECK(rig.run(type, rig.node.sign(type), 1).check == QuoteCheck::malformed);
  Bytes safe = a;
  safe[4 + 2 + 36 + 34 + 16] = 2;  // clockInfo.safe = 2 is no TPMI_YES_NO
  CHECK(rig.run(safe, rig.node.sign(safe), 1).check == QuoteCheck::malformed);
  CHECK(rig.run(Bytes(1025, 0), s, 1).check == QuoteCheck::malformed);
  CHECK(rig.v.outstanding(0) == 1);
  CHECK(rig.run(a, s, 2).check == QuoteCheck::ok);
}

TEST_CASE("measured boot: another PCR digest is fail_pcr, another selection too") {
  Rig rig;
  rig.node.pcrs[3] = sha256({9, 9});  // PCR 7: secure-boot policy changed
  CHECK(rig.round(4, 0).check == QuoteCheck::pcr_digest);
  CHECK(rig.round(5, 0).reason == AttestReason::fail_pcr);
  Rig sel;
  const auto n = nonce_of(6);
  REQUIRE(sel.v.expect_nonce(0, n, 0) == safetwin::Status::ok);
  const Bytes a = sel.node.attest(bytes_of(n), 0x07);
  CHECK(sel.run(a, sel.node.sign(a), 1).check == QuoteCheck::pcr_selection);
}

TEST_CASE("the other checks: signer hierarchy, firmware version, unsafe clock, unknown nonce, expiry") {
  Rig rig;
  rig.node.hierarchy = 0x40000001u;  // the AK under the owner hierarchy
  CHECK(rig.round(7, 0).check == QuoteCheck::signer);
  rig.node.hierarchy = 0x4000000Bu;
  rig.node.firmware = 2;
  CHECK(rig.round(8, 0).check == QuoteCheck::firmware_version);
  rig.node.firmware = 0x0001000000000000ull;
  rig.node.safe = false;
  CHECK(rig.round(9, 0).check == QuoteCheck::clock_unsafe);
  rig.node.safe = true;
  const Bytes never = rig.node.attest(bytes_of(nonce_of(10)));
  CHECK(rig.run(never, rig.node.sign(never), 0).check == QuoteCheck::nonce_unknown);
  // The round's lifetime (2000 ms): 2000 is in, 2001 is late (timeout), and the late nonce is dead.
  CHECK(rig.round(11, 0, 2000).check == QuoteCheck::ok);
  const QuoteResult late = rig.round(12, 10000, 2001);
  CHECK(late.check == QuoteCheck::nonce_expired);
  CHECK(late.reason == AttestReason::timeout);
  // Live: the nonces of the three failed rounds (a failure spends nothing); 11 spent, 12 dead.
  CHECK(rig.v.outstanding(0) == 3);
}

TEST_CASE("monotonicity: rollbacks are fail_replay; jumps are refused without locking the node out") {
  Rig rig;
  REQUIRE(rig.round(20, 0).check == QuoteCheck::ok);  // reference: reset 3, restart 0, clock 1000 at t = 50
  rig.node.clock_ms = 999;
  CHECK(rig.round(21, 100).check == QuoteCheck::clock_rollback);
  rig.node.clock_ms = 1000;
  rig.node.reset = 2;
  CHECK(rig.round(22, 100).check == QuoteCheck::reset_rollback);
  CHECK(rig.round(23, 100).reason == AttestReason::fail_replay);
  // Someone holding the key signs resetCount = 2^32 - 1: refused, the reference stays.
  rig.node.reset = 0xFFFFFFFFu;
  CHECK(rig.round(24, 200).check == QuoteCheck::counter_jump);
  // Clock 60 s ahead after 5 s of firmware time: refused. Verified 4950 ms after the reference, with
  // the 2000 ms round lifetime e = 6950 ms: floor(6950 * 1.15) + 1 = 7993 ms ahead is the limit
  // (7994 out, 7993 in), the Python verifier's rule and defaults.
  rig.node.reset = 3;
  rig.node.clock_ms = 1000 + 60000;
  CHECK(rig.round(25, 5000).check == QuoteCheck::counter_jump);
  rig.node.clock_ms = 1000 + 7994;
  CHECK(rig.round(26, 4950).check == QuoteCheck::counter_jump);
  rig.node.clock_ms = 1000 + 7993;
  CHECK(rig.round(126, 4950).check == QuoteCheck::ok);
  // A reboot (resetCount + 1, clock from 0) after 3 s passes; four resets 0.5 s later do not: e =
  // 500 + 2000 ms allows 1 + floor(2500 / 1000) = 3.
  rig.node.reset = 4;
  rig.node.clock_ms = 2000;
  CHECK(rig.round(27, 7950).check == QuoteCheck::ok);
  rig.node.reset = 8;
  rig.node.clock_ms = 100;
  CHECK(rig.round(28, 8450).check == QuoteCheck::counter_jump);
  rig.node.reset = 5;
  CHECK(rig.round(29, 8450).check == QuoteCheck::ok);
}

TEST_CASE("after a legitimate TPM2_Clear (resetCount back to 0), reenroll lets the node pass") {
  Rig rig;
  REQUIRE(rig.round(30, 0).check == QuoteCheck::ok);
  rig.node.reset = 0;
  rig.node.clock_ms = 10;
  CHECK(rig.round(31, 1000).check == QuoteCheck::reset_rollback);
  REQUIRE(rig.v.reenroll(0) == safetwin::Status::ok);
  CHECK(rig.round(32, 1000).check == QuoteCheck::ok);
  CHECK(rig.v.reenroll(5) == safetwin::Status::invalid_argument);
}

TEST_CASE("refused calls: unknown node, null buffers, bad enrolment and config name the field") {
  Rig rig;
  QuoteResult r;
  r.check = QuoteCheck::counter_jump;
  const std::uint8_t b[1] = {0};
  CHECK(rig.v.verify(3, b, 1, b, 1, 0, r) == safetwin::Status::invalid_argument);
  CHECK(rig.v.verify(0, nullptr, 4, b, 1, 0, r) == safetwin::Status::invalid_argument);
  CHECK(r.check == QuoteCheck::counter_jump);  // untouched
  CHECK(rig.v.expect_nonce(QuoteVerifier::kMaxNodes, nonce_of(1), 0) == safetwin::Status::invalid_argument);
  const Bytes g = rig.node.golden();
  Bytes pub = rig.node.pub;
  pub[40] ^= 0x01;  // x no longer on the curve
  CHECK_THROWS_WITH_AS(rig.v.enroll(0, pub.data(), pub.size(), kPcrMask, g.data()),
                       "enroll: ak_public.unique: not a point of P-256", std::invalid_argument);
  CHECK(rig.round(40, 0).check == QuoteCheck::ok);  // the previous enrolment stays
  CHECK_THROWS_AS(rig.v.enroll(0, rig.node.pub.data(), rig.node.pub.size(), 0, g.data()), std::invalid_argument);
  CHECK_THROWS_AS(rig.v.enroll(9, rig.node.pub.data(), rig.node.pub.size(), kPcrMask, g.data()), std::invalid_argument);
  QuoteVerifierConfig c;
  c.nonce_lifetime_ms = 0;
  CHECK_THROWS_WITH_AS(QuoteVerifier{c}, "QuoteVerifierConfig.nonce_lifetime_ms = 0: must be > 0",
                       std::invalid_argument);
}

TEST_CASE("allocations: none in parse, nonce issue and the verifier's own code; libcrypto's per verify is fixed") {
  Rig rig;
  const auto n = nonce_of(50);
  const Bytes a = rig.node.attest(bytes_of(n));
  const Bytes s = rig.node.sign(a);
  REQUIRE(rig.v.expect_nonce(0, n, 0) == safetwin::Status::ok);
  REQUIRE(rig.run(a, s, 0).check == QuoteCheck::ok);  // warm
  tpm::AttestView view;
  CHECK(safetwin::test::count_allocations([&] { (void)tpm::parse_attest(a.data(), a.size(), view); }) == 0);
  CHECK(safetwin::test::count_allocations([&] { (void)rig.v.expect_nonce(0, n, 0); }) == 0);
  // Refused before the signature (malformed, magic) and replays of a spent nonce after it: 0 from
  // this code; a full verify allocates only inside EVP_PKEY_verify, the same number every time.
  const Bytes t(a.begin(), a.end() - 1);
  QuoteResult r;
  CHECK(safetwin::test::count_allocations(
            [&] { (void)rig.v.verify(0, t.data(), t.size(), s.data(), s.size(), 0, r); }) == 0);
  std::set<long> per_verify;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(rig.v.expect_nonce(0, n, 0) == safetwin::Status::ok);
    per_verify.insert(static_cast<long>(safetwin::test::count_allocations(
        [&] { (void)rig.v.verify(0, a.data(), a.size(), s.data(), s.size(), 0, r); })));
    REQUIRE(r.check == QuoteCheck::ok);
  }
  CHECK(per_verify.size() == 1);
  MESSAGE("libcrypto allocations per ECDSA verify: " << *per_verify.begin());
  CHECK(*per_verify.begin() < 64);
}

TEST_CASE("RSA-2048 AKs: RSASSA and RSAPSS quotes pass; forged, wrong-scheme and cut signatures fail_signature") {
  for (const std::uint16_t scheme : {kRsassa, kRsapss}) {
    CAPTURE(scheme);
    QuoteVerifier v{QuoteVerifierConfig{}};
    TestNode node{7, scheme}, other{7, scheme};
    const Bytes g = node.golden();
    v.enroll(0, node.pub.data(), node.pub.size(), kPcrMask, g.data(), true, node.firmware);
    const auto verify = [&](const Bytes& a, const Bytes& s) {
      QuoteResult r;
      REQUIRE(v.verify(0, a.data(), a.size(), s.data(), s.size(), 10, r) == safetwin::Status::ok);
      return r;
    };
    const auto n = nonce_of(60);
    REQUIRE(v.expect_nonce(0, n, 0) == safetwin::Status::ok);
    const Bytes a = node.attest(bytes_of(n));
    const Bytes s = node.sign(a);
    CHECK(s.size() == 2 + 2 + 2 + 256);                              // TPMT_SIGNATURE of RSA-2048
    CHECK(verify(a, other.sign(a)).check == QuoteCheck::signature);  // another key: burns no nonce
    Bytes flipped = s;
    flipped[100] ^= 0x01;
    CHECK(verify(a, flipped).check == QuoteCheck::signature);
    Bytes mislabelled = s;  // the same bytes called the other RSA scheme
    mislabelled[1] = static_cast<std::uint8_t>(scheme == kRsassa ? kRsapss : kRsassa);
    CHECK(verify(a, mislabelled).check == QuoteCheck::signature);
    Bytes cut(s.begin(), s.end() - 1);  // one byte short: the TPM2B's size no longer matches
    CHECK(verify(a, cut).check == QuoteCheck::malformed);
    Bytes short_sig = s;  // a consistent TPM2B of 255 bytes: not a 2048-bit signature
    short_sig.pop_back();
    short_sig[4] = 0x00;
    short_sig[5] = 0xFF;
    CHECK(verify(a, short_sig).check == QuoteCheck::signature);
    CHECK(verify(a, s).check == QuoteCheck::ok);
    CHECK(verify(a, s).check == QuoteCheck::nonce_unknown);  // spent by the pass only
    // RSA's libcrypto allocations per verify are fixed too.
    std::set<long> per_verify;
    QuoteResult r;
    for (int i = 0; i < 10; ++i) {
      REQUIRE(v.expect_nonce(0, n, 0) == safetwin::Status::ok);
      per_verify.insert(static_cast<long>(
          safetwin::test::count_allocations([&] { (void)v.verify(0, a.data(), a.size(), s.data(), s.size(), 0, r); })));
      REQUIRE(r.check == QuoteCheck::ok);
    }
    CHECK(per_verify.size() == 1);
    MESSAGE("libcrypto allocations per RSA verify (scheme " << scheme << "): " << *per_verify.begin());
  }
}

TEST_CASE("RSA enrolment: the Python verifier's AK rules name the field") {
  QuoteVerifier v{QuoteVerifierConfig{}};
  TestNode node{8, kRsassa};
  const Bytes g = node.golden();
  Bytes pub = node.pub;
  pub[24] &= 0x7F;  // the modulus' top byte (after type..exponent, its size): a short key padded to 256 bytes: a short
                    // key padded to 256 bytes
  CHECK_THROWS_WITH_AS(v.enroll(0, pub.data(), pub.size(), kPcrMask, g.data()),
                       "enroll: ak_public.parameters.keyBits = 2048: expected a 2048-bit RSA modulus",
                       std::invalid_argument);
  pub = node.pub;
  pub[12] = 0x00;  // scheme RSASSA -> NULL: no signing scheme, and then no scheme hash follows
  pub[13] = 0x10;
  pub.erase(pub.begin() + 14, pub.begin() + 16);
  CHECK_THROWS_WITH_AS(v.enroll(0, pub.data(), pub.size(), kPcrMask, g.data()),
                       "enroll: ak_public.parameters.scheme = 16/16: an AK signs with ECDSA (ECC) or RSASSA/RSAPSS "
                       "(RSA), SHA-256",
                       std::invalid_argument);
  pub = node.pub;
  pub[5] |= 0x02;  // decrypt (0x00020000): a storage key, not an AK
  CHECK_THROWS_AS(v.enroll(0, pub.data(), pub.size(), kPcrMask, g.data()), std::invalid_argument);
  CHECK_FALSE(v.enrolled(0));
  v.enroll(0, node.pub.data(), node.pub.size(), kPcrMask, g.data());
  CHECK(v.enrolled(0));
}

TEST_CASE("the nonce DRBG: deterministic per seed, different across seeds and calls") {
  NonceSource a(42), b(42), c(43), os;
  std::set<Bytes> seen;
  for (int i = 0; i < 100; ++i) {
    Bytes x(32), y(32), z(32), w(32);
    REQUIRE(a.generate(x.data(), 32) == safetwin::Status::ok);
    REQUIRE(b.generate(y.data(), 32) == safetwin::Status::ok);
    REQUIRE(c.generate(z.data(), 32) == safetwin::Status::ok);
    REQUIRE(os.generate(w.data(), 32) == safetwin::Status::ok);
    CHECK(x == y);
    CHECK(x != z);
    seen.insert(x);
    seen.insert(z);
    seen.insert(w);
  }
  CHECK(seen.size() == 300);
  std::uint8_t big[65];
  CHECK(a.generate(big, sizeof big) == safetwin::Status::invalid_argument);
}
