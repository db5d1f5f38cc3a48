#pragma once
// The firmware's verifier of TPM 2.0 quotes from its sensor nodes: TPMS_ATTEST + TPMT_SIGNATURE
// (quote_wire.hpp) checked against each node's enrolment (its attestation key: ECDSA P-256, or
// RSA-2048 with RSASSA-PKCS1-v1_5 or RSAPSS, SHA-256, as a TPM signs; golden PCR
// values, firmware version) and against the nonces the firmware issued to it.
//
// Crypto is OpenSSL's libcrypto (Debian libssl-dev): it is already on every Debian machine the
// bench runs on and in CI, has constant-time P-256 with the x86-64 assembly (verify ~30-50 us,
// well inside the 100 us budget), and is the library the `cryptography` package of the Python
// verifier wraps, so both sides check signatures with the same code. mbedTLS (libmbedtls-dev,
// 2.28) would give a static-arena allocator, but its portable P-256 is several times slower and
// it would be a second crypto stack in the project.
//
// Semantics (issue 17, item 3: the holes of the first Python verifier closed here):
//  * Order: size/wire rules and magic (fail_malformed) -> signature over the exact bytes received
//    (fail_signature) -> only then any state is looked at. An unauthenticated frame can never spend
//    a nonce, move a clock reference or lock a node out.
//  * A nonce is spent, and the node's (resetCount, restartCount, clock) reference moved, only by a
//    quote that is authenticated and passes every check.
//  * Monotonicity with plausibility: counters never go back (fail_replay), and they never jump
//    further than the firmware time elapsed since the reference allows (e = elapsed + the nonce
//    lifetime; clock advance <= floor(e * (1 + drift)) + 1 ms; resetCount/restartCount advance
//    <= 1 + e / min_reboot; the Python verifier's rule and defaults):
//    such a quote is refused (fail) WITHOUT moving the reference, so a key holder signing
//    resetCount = 2^32 - 1 cannot lock the honest node out. reenroll() drops the reference after a
//    legitimate TPM2_Clear.
// Time comes in as the firmware's own milliseconds (lockstep: cycles * dt); nothing here reads a
// clock. After enroll(), expect_nonce()/verify() do not throw, and no code of this file allocates;
// libcrypto's verify allocates internally (ECDSA: its BN_CTX and points; RSA: the BN_CTX and the
// decrypted block; a fixed number per call, counted by test_quote_verifier), which is why
// verification runs between control cycles.
#include <array>
#include <cstddef>
#include <cstdint>

#include "quote_wire.hpp"
#include "safetwin/status.hpp"
#include "safetwin/trust/trust_state.hpp"

// OpenSSL types, opaque here (the header stays free of OpenSSL's).
struct evp_pkey_st;
struct evp_pkey_ctx_st;
struct evp_md_ctx_st;
struct evp_md_st;
struct ECDSA_SIG_st;

namespace safetwin::firmware {

// The verdict's reason, numbered as the trust::Attestation contract of owners.md (issue 17):
// the trust layer weighs each with its own likelihood once the core takes them (to_attestation).
enum class AttestReason : std::uint8_t {
  none = 0,
  pass = 1,
  fail = 2,
  fail_signature = 3,
  fail_pcr = 4,
  fail_replay = 5,
  fail_malformed = 6,
  timeout = 7,
};
[[nodiscard]] const char* to_string(AttestReason r) noexcept;

// The one check that decided the verdict (the first failing one, in the order above).
enum class QuoteCheck : std::uint8_t {
  ok = 0,
  malformed,      // wire rules (truncated, oversized, a value no TPM writes, not a quote)
  magic,          // not TPM_GENERATED_VALUE
  signature,      // not the AK's scheme with SHA-256, or does not verify under the enrolled AK
  signer,         // qualifiedSigner is not the enrolled AK under its hierarchy
  nonce_unknown,  // never issued to this node, or already spent
  nonce_expired,  // issued longer ago than the round's lifetime
  pcr_selection,  // not the enrolled SHA-256 PCR selection
  pcr_digest,     // measured boot differs from the golden values
  firmware_version,
  clock_unsafe,      // TPMS_CLOCK_INFO.safe = NO
  reset_rollback,    // resetCount below the reference
  restart_rollback,  // same resetCount, restartCount below the reference
  clock_rollback,    // same epoch, clock below the reference
  counter_jump,      // resetCount, restartCount or clock ahead of what elapsed time allows
};
[[nodiscard]] const char* to_string(QuoteCheck c) noexcept;
[[nodiscard]] AttestReason reason_of(QuoteCheck c) noexcept;
// The core's trust::Attestation for a reason: the same numbering, each reason weighed by its own
// likelihood in trust::TrustConfig.
[[nodiscard]] trust::Attestation to_attestation(AttestReason r) noexcept;

struct QuoteVerifierConfig {
  std::uint64_t nonce_lifetime_ms = 2000;  // a round: the TPM's quote latency plus the transfer
  // The plausibility bound, the same rule and defaults as the Python verifier (attestation.py): with
  // e = firmware time since the reference + nonce_lifetime_ms, the clock may advance at most
  // floor(e * (1 + clock_drift)) + 1 ms and resetCount / restartCount by 1 + floor(e / min_reboot_ms).
  double clock_drift = 0.15;           // TPM clock vs firmware time, fraction (Verifier.clock_drift)
  std::uint64_t min_reboot_ms = 1000;  // a TPM Reset/Restart takes at least this long (min_reboot_s)
  void validate() const;               // throws std::invalid_argument naming the field
};

struct QuoteResult {
  QuoteCheck check = QuoteCheck::malformed;
  AttestReason reason = AttestReason::fail_malformed;
  std::uint64_t clock_ms = 0;  // the quote's TPM clock when it was authenticated
};

class QuoteVerifier {
 public:
  static constexpr std::size_t kMaxNodes = 8;
  static constexpr std::size_t kNonceBytes = 32;
  static constexpr std::size_t kMaxOutstanding = 4;  // nonces live per node (oldest dropped)
  static constexpr std::size_t kMaxPcrs = 24;
  using Nonce = std::array<std::uint8_t, kNonceBytes>;

  explicit QuoteVerifier(const QuoteVerifierConfig& config);  // throws std::invalid_argument
  ~QuoteVerifier();
  QuoteVerifier(const QuoteVerifier&) = delete;
  QuoteVerifier& operator=(const QuoteVerifier&) = delete;

  // Enrols node `node` (< kMaxNodes) from its AK's TPMT_PUBLIC (ECC P-256 ECDSA-SHA256, or RSA-2048
  // RSASSA/RSAPSS-SHA256: the Python verifier's AK rules; quotes must carry that scheme), the golden SHA-256 values of
  // the PCRs in `pcr_mask` (bit i = PCR i, values in ascending PCR order, 32 bytes each) and optionally its firmware
  // version. Allocates (OpenSSL key and contexts); throws std::invalid_argument naming the field on a bad key or PCR
  // set, leaving the node's previous enrolment in place. The AK is a primary key of `hierarchy`, or, with parent_qn
  // (the parent's Qualified Name, nameAlg || digest, parent_qn_size 34), a child of that parent: an AK made by
  // tpm2_createak under the EK has the EK's QN as parent_qn. The residence itself (credential activation) is proven at
  // enrolment by the Python verifier (Verifier.begin_enrollment); the firmware takes its result.
  void enroll(std::size_t node, const std::uint8_t* ak_public, std::size_t ak_size, std::uint32_t pcr_mask,
              const std::uint8_t* golden_values, bool check_firmware_version = false,
              std::uint64_t firmware_version = 0, std::uint32_t hierarchy = tpm::kRhEndorsement,
              const std::uint8_t* parent_qn = nullptr, std::size_t parent_qn_size = 0);
  [[nodiscard]] bool enrolled(std::size_t node) const noexcept {
    return node < kMaxNodes && nodes_[node].key != nullptr;
  }
  // After a legitimate TPM2_Clear: the counters' reference is dropped (the next valid quote sets it).
  [[nodiscard]] Status reenroll(std::size_t node) noexcept;

  // Registers `nonce` as issued to `node` at now_ms (the firmware's DRBG made it; attest_nonce.hpp).
  [[nodiscard]] Status expect_nonce(std::size_t node, const Nonce& nonce, std::uint64_t now_ms) noexcept;
  // Verifies one quote of `node` received at now_ms. invalid_argument for an unknown node or a null
  // buffer of non-zero size (result untouched); otherwise ok with the verdict in `out`.
  [[nodiscard]] Status verify(std::size_t node, const std::uint8_t* attest, std::size_t attest_size,
                              const std::uint8_t* signature, std::size_t signature_size, std::uint64_t now_ms,
                              QuoteResult& out) noexcept;

  [[nodiscard]] std::size_t outstanding(std::size_t node) const noexcept;
  [[nodiscard]] const QuoteVerifierConfig& config() const noexcept { return config_; }

 private:
  struct Outstanding {
    Nonce nonce{};
    std::uint64_t issued_ms = 0;
    bool live = false;
  };
  struct Node {
    evp_pkey_st* key = nullptr;
    evp_pkey_ctx_st* verify_ctx = nullptr;            // verify-initialised once, reused for every quote
    std::uint16_t sig_alg = 0;                        // the AK's scheme: ECDSA, RSASSA or RSAPSS
    std::array<std::uint8_t, 34> qualified_signer{};  // nameAlg || SHA-256
    std::uint32_t pcr_mask = 0;
    std::array<std::uint8_t, 32> pcr_digest{};
    bool check_firmware_version = false;
    std::uint64_t firmware_version = 0;
    std::array<Outstanding, kMaxOutstanding> outstanding{};
    bool have_reference = false;
    std::uint32_t ref_reset = 0, ref_restart = 0;
    std::uint64_t ref_clock_ms = 0, ref_at_ms = 0;
  };
  [[nodiscard]] QuoteCheck check(Node& n, const std::uint8_t* attest, std::size_t attest_size,
                                 const std::uint8_t* signature, std::size_t signature_size, std::uint64_t now_ms,
                                 std::uint64_t& clock_ms) noexcept;
  [[nodiscard]] bool signature_valid(Node& n, const std::uint8_t* attest, std::size_t attest_size,
                                     const tpm::SignatureView& sig) noexcept;
  [[nodiscard]] QuoteCheck counters(const Node& n, const tpm::AttestView& a, std::uint64_t now_ms) const noexcept;
  [[nodiscard]] static bool import_key(const tpm::PublicView& pub, Node& fresh) noexcept;
  void free_node(Node& n) noexcept;

  QuoteVerifierConfig config_;
  std::array<Node, kMaxNodes> nodes_{};
  evp_md_st* sha256_ = nullptr;          // fetched once
  evp_md_ctx_st* md_ctx_ = nullptr;      // reused for every digest
  ECDSA_SIG_st* sig_ = nullptr;          // r, s preallocated to 66 bytes
  std::array<std::uint8_t, 160> der_{};  // DER of (r, s): at most 2 * (2 + 1 + 66) + 3 bytes
};

}  // namespace safetwin::firmware
