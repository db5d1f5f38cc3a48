#include "quote_verifier.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/params.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <string>

namespace safetwin::firmware {

const char* to_string(AttestReason r) noexcept {
  switch (r) {
    case AttestReason::none: return "none";
    case AttestReason::pass: return "pass";
    case AttestReason::fail: return "fail";
    case AttestReason::fail_signature: return "fail_signature";
    case AttestReason::fail_pcr: return "fail_pcr";
    case AttestReason::fail_replay: return "fail_replay";
    case AttestReason::fail_malformed: return "fail_malformed";
    case AttestReason::timeout: return "timeout";
  }
  return "unknown";
}

const char* to_string(QuoteCheck c) noexcept {
  switch (c) {
    case QuoteCheck::ok: return "ok";
    case QuoteCheck::malformed: return "malformed";
    case QuoteCheck::magic: return "magic";
    case QuoteCheck::signature: return "signature";
    case QuoteCheck::signer: return "signer";
    case QuoteCheck::nonce_unknown: return "nonce_unknown";
    case QuoteCheck::nonce_expired: return "nonce_expired";
    case QuoteCheck::pcr_selection: return "pcr_selection";
    case QuoteCheck::pcr_digest: return "pcr_digest";
    case QuoteCheck::firmware_version: return "firmware_version";
    case QuoteCheck::clock_unsafe: return "clock_unsafe";
    case QuoteCheck::reset_rollback: return "reset_rollback";
    case QuoteCheck::restart_rollback: return "restart_rollback";
    case QuoteCheck::clock_rollback: return "clock_rollback";
    case QuoteCheck::counter_jump: return "counter_jump";
  }
  return "unknown";
}

AttestReason reason_of(QuoteCheck c) noexcept {
  switch (c) {
    case QuoteCheck::ok: return AttestReason::pass;
    case QuoteCheck::malformed:
    case QuoteCheck::magic: return AttestReason::fail_malformed;
    case QuoteCheck::signature: return AttestReason::fail_signature;
    case QuoteCheck::nonce_unknown:  // an old quote, or one made for another round: a replay
    case QuoteCheck::reset_rollback:
    case QuoteCheck::restart_rollback:
    case QuoteCheck::clock_rollback:
    case QuoteCheck::counter_jump: return AttestReason::fail_replay;  // as the Python verifier: not fresh
    case QuoteCheck::nonce_expired: return AttestReason::timeout;     // the answer came too late
    case QuoteCheck::pcr_selection:
    case QuoteCheck::pcr_digest: return AttestReason::fail_pcr;
    case QuoteCheck::signer:
    case QuoteCheck::firmware_version:
    case QuoteCheck::clock_unsafe: return AttestReason::fail;
  }
  return AttestReason::fail;
}

// The two enums are one numbering (owners.md contract, issue 17): checked here at compile time.
static_assert(static_cast<int>(AttestReason::fail_signature) == static_cast<int>(trust::Attestation::fail_signature) &&
                  static_cast<int>(AttestReason::fail_pcr) == static_cast<int>(trust::Attestation::fail_pcr) &&
                  static_cast<int>(AttestReason::fail_replay) == static_cast<int>(trust::Attestation::fail_replay) &&
                  static_cast<int>(AttestReason::fail_malformed) ==
                      static_cast<int>(trust::Attestation::fail_malformed) &&
                  static_cast<int>(AttestReason::timeout) == static_cast<int>(trust::Attestation::timeout),
              "AttestReason and trust::Attestation must number the reasons alike");

trust::Attestation to_attestation(AttestReason r) noexcept {
  switch (r) {
    case AttestReason::none: return trust::Attestation::none;
    case AttestReason::pass: return trust::Attestation::pass;
    case AttestReason::fail: return trust::Attestation::fail;
    case AttestReason::fail_signature: return trust::Attestation::fail_signature;
    case AttestReason::fail_pcr: return trust::Attestation::fail_pcr;
    case AttestReason::fail_replay: return trust::Attestation::fail_replay;
    case AttestReason::fail_malformed: return trust::Attestation::fail_malformed;
    case AttestReason::timeout: return trust::Attestation::timeout;
  }
  return trust::Attestation::fail;
}

void QuoteVerifierConfig::validate() const {
  const auto bad = [](const char* field, const std::string& value, const char* limit) {
    throw std::invalid_argument(std::string("QuoteVerifierConfig.") + field + " = " + value + ": " + limit);
  };
  if (nonce_lifetime_ms == 0) bad("nonce_lifetime_ms", "0", "must be > 0");
  if (!(std::isfinite(clock_drift) && clock_drift >= 0.0 && clock_drift <= 1.0))
    bad("clock_drift", std::to_string(clock_drift), "must be in [0, 1]");
  if (min_reboot_ms == 0) bad("min_reboot_ms", "0", "must be > 0");
}

namespace {

void check_openssl(bool ok, const char* what) {
  if (!ok) {
    ERR_clear_error();
    throw std::invalid_argument(std::string("QuoteVerifier: OpenSSL ") + what + " failed");
  }
}

}  // namespace

QuoteVerifier::QuoteVerifier(const QuoteVerifierConfig& config) : config_(config) {
  config_.validate();
  sha256_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  md_ctx_ = EVP_MD_CTX_new();
  sig_ = ECDSA_SIG_new();
  BIGNUM* r = BN_new();
  BIGNUM* s = BN_new();
  const bool ok = sha256_ && md_ctx_ && sig_ && r && s && ECDSA_SIG_set0(sig_, r, s) == 1;
  if (!ok) {
    BN_free(r);
    BN_free(s);
    ECDSA_SIG_free(sig_);
    EVP_MD_CTX_free(md_ctx_);
    EVP_MD_free(sha256_);
    check_openssl(false, "context allocation");
  }
  // Grow r and s to the largest coordinate the wire admits, so that BN_bin2bn never reallocates.
  const BIGNUM *pr = nullptr, *ps = nullptr;
  ECDSA_SIG_get0(sig_, &pr, &ps);
  check_openssl(BN_set_bit(const_cast<BIGNUM*>(pr), 8 * tpm::kMaxSignatureCoordBytes + 8) == 1 &&
                    BN_set_bit(const_cast<BIGNUM*>(ps), 8 * tpm::kMaxSignatureCoordBytes + 8) == 1,
                "BN_set_bit");
  BN_zero(const_cast<BIGNUM*>(pr));
  BN_zero(const_cast<BIGNUM*>(ps));
  // The first digest initialises the context's algorithm data once.
  unsigned char scratch[32];
  unsigned int len = 0;
  check_openssl(EVP_DigestInit_ex2(md_ctx_, sha256_, nullptr) == 1 && EVP_DigestFinal_ex(md_ctx_, scratch, &len) == 1,
                "SHA-256");
}

QuoteVerifier::~QuoteVerifier() {
  for (Node& n : nodes_) free_node(n);
  ECDSA_SIG_free(sig_);
  EVP_MD_CTX_free(md_ctx_);
  EVP_MD_free(sha256_);
}

void QuoteVerifier::free_node(Node& n) noexcept {
  EVP_PKEY_CTX_free(n.verify_ctx);
  EVP_PKEY_free(n.key);
  n = Node{};
}

// The AK's public key in OpenSSL, and its verify context set up once for the enrolled scheme:
// ECDSA over SHA-256; RSASSA-PKCS1-v1_5 with SHA-256; RSAPSS with SHA-256, MGF1-SHA-256 and the
// salt length read from the signature (TPMs use the digest size or the maximum; the Python
// verifier's PSS.AUTO accepts either). Returns false on any refusal (the caller frees the node).
bool QuoteVerifier::import_key(const tpm::PublicView& pub, Node& fresh) noexcept {
  EVP_PKEY_CTX* import = nullptr;
  bool imported = false;
  if (pub.type == tpm::kAlgEcc) {
    // From the uncompressed point; the import checks that the point is on the curve.
    std::uint8_t point[65];
    point[0] = 0x04;
    std::memcpy(point + 1, pub.x.data, 32);
    std::memcpy(point + 33, pub.y.data, 32);
    char group[] = "prime256v1";
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, group, 0),
                           OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point),
                           OSSL_PARAM_construct_end()};
    import = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
    imported = import && EVP_PKEY_fromdata_init(import) == 1 &&
               EVP_PKEY_fromdata(import, &fresh.key, EVP_PKEY_PUBLIC_KEY, params) == 1;
  } else {
    BIGNUM* n = BN_bin2bn(pub.n.data, static_cast<int>(pub.n.size), nullptr);
    BIGNUM* e = BN_new();
    OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM* params = nullptr;
    if (n && e && bld && BN_set_word(e, pub.exponent) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) == 1 &&
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) == 1)
      params = OSSL_PARAM_BLD_to_param(bld);
    import = params ? EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr) : nullptr;
    imported = import && EVP_PKEY_fromdata_init(import) == 1 &&
               EVP_PKEY_fromdata(import, &fresh.key, EVP_PKEY_PUBLIC_KEY, params) == 1;
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    BN_free(e);
    BN_free(n);
  }
  EVP_PKEY_CTX_free(import);
  if (!imported) return false;
  fresh.verify_ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, fresh.key, nullptr);
  if (!fresh.verify_ctx || EVP_PKEY_verify_init(fresh.verify_ctx) != 1 ||
      EVP_PKEY_CTX_set_signature_md(fresh.verify_ctx, EVP_sha256()) != 1)
    return false;
  if (fresh.sig_alg == tpm::kAlgRsassa) return EVP_PKEY_CTX_set_rsa_padding(fresh.verify_ctx, RSA_PKCS1_PADDING) == 1;
  if (fresh.sig_alg == tpm::kAlgRsapss)
    return EVP_PKEY_CTX_set_rsa_padding(fresh.verify_ctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(fresh.verify_ctx, EVP_sha256()) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(fresh.verify_ctx, RSA_PSS_SALTLEN_AUTO) == 1;
  return true;
}

void QuoteVerifier::enroll(std::size_t node, const std::uint8_t* ak_public, std::size_t ak_size, std::uint32_t pcr_mask,
                           const std::uint8_t* golden_values, bool check_firmware_version,
                           std::uint64_t firmware_version, std::uint32_t hierarchy, const std::uint8_t* parent_qn,
                           std::size_t parent_qn_size) {
  if (parent_qn != nullptr && parent_qn_size != 34)
    throw std::invalid_argument("enroll: parent_qn: " + std::to_string(parent_qn_size) +
                                " bytes, a SHA-256 Qualified Name has 34 (nameAlg || digest)");
  if (node >= kMaxNodes)
    throw std::invalid_argument("enroll: node = " + std::to_string(node) + ": must be < " + std::to_string(kMaxNodes));
  tpm::PublicView pub;
  const tpm::WireStatus ws = ak_public ? tpm::parse_public(ak_public, ak_size, pub) : tpm::WireStatus::malformed;
  if (ws != tpm::WireStatus::ok)
    throw std::invalid_argument(
        std::string("enroll: ak_public: not an ECC or RSA TPMT_PUBLIC with a SHA-256 nameAlg (") + tpm::to_string(ws) +
        ")");
  // What an AK must be: the Python verifier's rules (Verifier._node_state), with the same limits.
  if ((pub.object_attributes & tpm::kAkRequiredAttributes) != tpm::kAkRequiredAttributes ||
      (pub.object_attributes & tpm::kObjectDecrypt) != 0)
    throw std::invalid_argument("enroll: ak_public.objectAttributes = " + std::to_string(pub.object_attributes) +
                                ": an AK must be a fixedTPM restricted signing key, no decrypt");
  const bool ecc = pub.type == tpm::kAlgEcc;
  const bool scheme_ok =
      ecc ? pub.scheme == tpm::kAlgEcdsa : (pub.scheme == tpm::kAlgRsassa || pub.scheme == tpm::kAlgRsapss);
  if (!scheme_ok || pub.scheme_hash != tpm::kAlgSha256)
    throw std::invalid_argument("enroll: ak_public.parameters.scheme = " + std::to_string(pub.scheme) + "/" +
                                std::to_string(pub.scheme_hash) +
                                ": an AK signs with ECDSA (ECC) or RSASSA/RSAPSS (RSA), SHA-256");
  if (ecc && (pub.curve != tpm::kEccNistP256 || pub.x.size != 32 || pub.y.size != 32))
    throw std::invalid_argument("enroll: ak_public.parameters.curveID = " + std::to_string(pub.curve) +
                                ": expected NIST P-256 (3) with 32-byte coordinates");
  // A 2048-bit modulus: keyBits 2048 and its top bit set (not a short one padded with zeros).
  if (!ecc && (pub.key_bits != tpm::kRsaAkBits || (pub.n.data[0] & 0x80u) == 0))
    throw std::invalid_argument("enroll: ak_public.parameters.keyBits = " + std::to_string(pub.key_bits) +
                                ": expected a 2048-bit RSA modulus");
  if (pcr_mask == 0 || (pcr_mask >> kMaxPcrs) != 0 || golden_values == nullptr)
    throw std::invalid_argument("enroll: pcr_mask = " + std::to_string(pcr_mask) +
                                ": at least one PCR in 0..23, with its golden values");

  Node fresh;
  fresh.sig_alg = pub.scheme;
  if (!import_key(pub, fresh)) {
    free_node(fresh);
    ERR_clear_error();
    throw std::invalid_argument(ecc ? "enroll: ak_public.unique: not a point of P-256"
                                    : "enroll: ak_public.unique.rsa: OpenSSL refused the RSA public key");
  }

  // qualifiedSigner = nameAlg || H(QN(parent) || Name), Name = nameAlg || H(TPMT_PUBLIC); the QN of
  // a hierarchy is its handle.
  unsigned int len = 0;
  std::uint8_t name[34] = {0x00, 0x0B};
  std::uint8_t handle[4] = {static_cast<std::uint8_t>(hierarchy >> 24), static_cast<std::uint8_t>(hierarchy >> 16),
                            static_cast<std::uint8_t>(hierarchy >> 8), static_cast<std::uint8_t>(hierarchy)};
  fresh.qualified_signer[0] = 0x00;
  fresh.qualified_signer[1] = 0x0B;
  bool ok = EVP_Digest(ak_public, ak_size, name + 2, &len, sha256_, nullptr) == 1 &&
            EVP_DigestInit_ex2(md_ctx_, sha256_, nullptr) == 1 &&
            (parent_qn != nullptr ? EVP_DigestUpdate(md_ctx_, parent_qn, parent_qn_size)
                                  : EVP_DigestUpdate(md_ctx_, handle, 4)) == 1 &&
            EVP_DigestUpdate(md_ctx_, name, sizeof name) == 1 &&
            EVP_DigestFinal_ex(md_ctx_, fresh.qualified_signer.data() + 2, &len) == 1;
  // pcrDigest = H(the selected PCR values in ascending order).
  std::size_t n_pcrs = 0;
  for (std::size_t i = 0; i < kMaxPcrs; ++i) n_pcrs += (pcr_mask >> i) & 1u;
  ok = ok && EVP_Digest(golden_values, 32 * n_pcrs, fresh.pcr_digest.data(), &len, sha256_, nullptr) == 1;
  if (!ok) {
    free_node(fresh);
    check_openssl(false, "SHA-256");
  }
  fresh.pcr_mask = pcr_mask;
  fresh.check_firmware_version = check_firmware_version;
  fresh.firmware_version = firmware_version;
  free_node(nodes_[node]);
  nodes_[node] = fresh;
}

Status QuoteVerifier::reenroll(std::size_t node) noexcept {
  if (!enrolled(node)) return Status::invalid_argument;
  nodes_[node].have_reference = false;
  return Status::ok;
}

Status QuoteVerifier::expect_nonce(std::size_t node, const Nonce& nonce, std::uint64_t now_ms) noexcept {
  if (!enrolled(node)) return Status::invalid_argument;
  auto& slots = nodes_[node].outstanding;
  // A free slot, else the oldest is dropped (its quote then finds its nonce unknown).
  std::size_t at = 0;
  for (std::size_t i = 0; i < slots.size(); ++i) {
    if (!slots[i].live) {
      at = i;
      break;
    }
    if (slots[i].issued_ms < slots[at].issued_ms) at = i;
  }
  slots[at] = Outstanding{nonce, now_ms, true};
  return Status::ok;
}

std::size_t QuoteVerifier::outstanding(std::size_t node) const noexcept {
  if (!enrolled(node)) return 0;
  std::size_t n = 0;
  for (const Outstanding& o : nodes_[node].outstanding) n += o.live ? 1 : 0;
  return n;
}

Status QuoteVerifier::verify(std::size_t node, const std::uint8_t* attest, std::size_t attest_size,
                             const std::uint8_t* signature, std::size_t signature_size, std::uint64_t now_ms,
                             QuoteResult& out) noexcept {
  if (!enrolled(node) || (attest == nullptr && attest_size != 0) || (signature == nullptr && signature_size != 0))
    return Status::invalid_argument;
  std::uint64_t clock_ms = 0;
  const QuoteCheck c = check(nodes_[node], attest, attest_size, signature, signature_size, now_ms, clock_ms);
  out.check = c;
  out.reason = reason_of(c);
  out.clock_ms = clock_ms;
  return Status::ok;
}

bool QuoteVerifier::signature_valid(Node& n, const std::uint8_t* attest, std::size_t attest_size,
                                    const tpm::SignatureView& sig) noexcept {
  // The AK signs with its enrolled scheme only (the Python verifier's rule): an RSASSA signature
  // of an RSAPSS key, or an ECDSA one of an RSA key, does not verify whatever its bytes.
  if (sig.hash_alg != tpm::kAlgSha256 || sig.sig_alg != n.sig_alg) return false;
  const unsigned char* der = sig.rsa.data;  // RSA: the signature as it came
  std::size_t der_size = sig.rsa.size;
  if (sig.sig_alg == tpm::kAlgEcdsa) {  // ECDSA: (r, s) re-encoded as the DER that OpenSSL takes
    const BIGNUM *pr = nullptr, *ps = nullptr;
    ECDSA_SIG_get0(sig_, &pr, &ps);
    if (BN_bin2bn(sig.r.data, static_cast<int>(sig.r.size), const_cast<BIGNUM*>(pr)) == nullptr ||
        BN_bin2bn(sig.s.data, static_cast<int>(sig.s.size), const_cast<BIGNUM*>(ps)) == nullptr) {
      ERR_clear_error();
      return false;
    }
    const int size = i2d_ECDSA_SIG(sig_, nullptr);
    if (size <= 0 || static_cast<std::size_t>(size) > der_.size()) return false;
    unsigned char* p = der_.data();
    if (i2d_ECDSA_SIG(sig_, &p) != size) return false;
    der = der_.data();
    der_size = static_cast<std::size_t>(size);
  }
  if (der == nullptr) return false;  // an empty RSA signature
  // The digest of exactly the bytes received: the buffer is read once, by this hash and the parser.
  unsigned char digest[32];
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(md_ctx_, sha256_, nullptr) != 1 || EVP_DigestUpdate(md_ctx_, attest, attest_size) != 1 ||
      EVP_DigestFinal_ex(md_ctx_, digest, &len) != 1) {
    ERR_clear_error();
    return false;
  }
  const int v = EVP_PKEY_verify(n.verify_ctx, der, der_size, digest, sizeof digest);
  if (v != 1) ERR_clear_error();  // 0: does not verify; < 0: not even a valid signature
  return v == 1;
}

QuoteCheck QuoteVerifier::counters(const Node& n, const tpm::AttestView& a, std::uint64_t now_ms) const noexcept {
  if (!n.have_reference) return QuoteCheck::ok;
  if (a.reset_count < n.ref_reset) return QuoteCheck::reset_rollback;
  if (a.reset_count == n.ref_reset) {
    if (a.restart_count < n.ref_restart) return QuoteCheck::restart_rollback;
    if (a.restart_count == n.ref_restart && a.clock_ms < n.ref_clock_ms) return QuoteCheck::clock_rollback;
  }
  // Plausibility against the firmware time elapsed since the reference was taken, plus the round's
  // lifetime (the quote may have been made that much earlier): the Python verifier's bound, to the ms
  // (its 1e-6 keeps floor() from losing a whole ms to binary rounding of e.g. 12 s * 1.15).
  const std::uint64_t elapsed = (now_ms >= n.ref_at_ms ? now_ms - n.ref_at_ms : 0) + config_.nonce_lifetime_ms;
  const double max_advance_ms = std::floor(static_cast<double>(elapsed) * (1.0 + config_.clock_drift) + 1e-6) + 1.0;
  const std::uint64_t max_epochs = 1 + elapsed / config_.min_reboot_ms;
  if (a.reset_count != n.ref_reset) {
    if (static_cast<std::uint64_t>(a.reset_count - n.ref_reset) > max_epochs) return QuoteCheck::counter_jump;
    // The clock restarted from 0 at the reset.
    return static_cast<double>(a.clock_ms) <= max_advance_ms ? QuoteCheck::ok : QuoteCheck::counter_jump;
  }
  if (a.restart_count != n.ref_restart && static_cast<std::uint64_t>(a.restart_count - n.ref_restart) > max_epochs)
    return QuoteCheck::counter_jump;
  // A TPM Restart keeps the clock running (it only counts), so within one reset the clock's advance
  // is bounded by elapsed time whatever restartCount did.
  if (static_cast<double>(a.clock_ms - std::min(a.clock_ms, n.ref_clock_ms)) > max_advance_ms)
    return QuoteCheck::counter_jump;
  return QuoteCheck::ok;
}

QuoteCheck QuoteVerifier::check(Node& n, const std::uint8_t* attest, std::size_t attest_size,
                                const std::uint8_t* signature, std::size_t signature_size, std::uint64_t now_ms,
                                std::uint64_t& clock_ms) noexcept {
  tpm::AttestView a;
  tpm::SignatureView sig;
  if (tpm::parse_attest(attest, attest_size, a) != tpm::WireStatus::ok) return QuoteCheck::malformed;
  if (tpm::parse_signature(signature, signature_size, sig) != tpm::WireStatus::ok) return QuoteCheck::malformed;
  if (a.magic != tpm::kGeneratedValue) return QuoteCheck::magic;
  if (!signature_valid(n, attest, attest_size, sig)) return QuoteCheck::signature;
  // Authenticated from here on: only now is the node's state consulted.
  clock_ms = a.clock_ms;
  if (a.qualified_signer.size != n.qualified_signer.size() ||
      CRYPTO_memcmp(a.qualified_signer.data, n.qualified_signer.data(), n.qualified_signer.size()) != 0)
    return QuoteCheck::signer;
  Outstanding* slot = nullptr;
  if (a.extra_data.size == kNonceBytes) {
    for (Outstanding& o : n.outstanding)
      if (o.live && CRYPTO_memcmp(o.nonce.data(), a.extra_data.data, kNonceBytes) == 0) slot = &o;
  }
  if (slot == nullptr) return QuoteCheck::nonce_unknown;
  if (now_ms < slot->issued_ms || now_ms - slot->issued_ms > config_.nonce_lifetime_ms) {
    slot->live = false;  // a late answer: this round is over, its nonce can never pass again
    return QuoteCheck::nonce_expired;
  }
  if (a.selection_count != 1 || a.selection[0].hash_alg != tpm::kAlgSha256 || a.selection[0].bits != n.pcr_mask)
    return QuoteCheck::pcr_selection;
  if (a.pcr_digest.size != n.pcr_digest.size() ||
      CRYPTO_memcmp(a.pcr_digest.data, n.pcr_digest.data(), n.pcr_digest.size()) != 0)
    return QuoteCheck::pcr_digest;
  if (n.check_firmware_version && a.firmware_version != n.firmware_version) return QuoteCheck::firmware_version;
  if (!a.safe) return QuoteCheck::clock_unsafe;
  const QuoteCheck c = counters(n, a, now_ms);
  if (c != QuoteCheck::ok) return c;
  // Fully valid: spend the nonce, move the reference.
  slot->live = false;
  n.have_reference = true;
  n.ref_reset = a.reset_count;
  n.ref_restart = a.restart_count;
  n.ref_clock_ms = a.clock_ms;
  n.ref_at_ms = now_ms;
  return QuoteCheck::ok;
}

}  // namespace safetwin::firmware
