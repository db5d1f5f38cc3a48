#pragma once
// A sensor node for the fuzz harnesses that feed quotes to the firmware: its own OpenSSL key, an
// ECDSA P-256 or an RSA-2048 one signing RSASSA-PKCS1-v1_5 or RSAPSS (the three AK kinds the
// firmware enrols; generated at start-up, so no input can carry a valid signature the harness did
// not make), its AK's TPMT_PUBLIC and Qualified Name, golden PCRs 0 and 7, and genuine quotes
// (TPMS_ATTEST + TPMT_SIGNATURE, marshalled here field by field from TPM 2.0 Part 2, independently
// of the parser under test) on any nonce, with the answer's ISO-TP segmentation (FF + CFs, ISO 15765-2).
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

#include "quote_verifier.hpp"

namespace fuzz_quote {

using Bytes = std::vector<std::uint8_t>;

inline void require(bool c) {
  if (!c) std::abort();
}
inline void put(Bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put2b(Bytes& b, const std::uint8_t* p, std::size_t n) {
  put(b, n, 2);
  b.insert(b.end(), p, p + n);
}
inline Bytes sha256(const Bytes& in) {
  Bytes out(32);
  unsigned int len = 0;
  require(EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

// The AK's signing scheme (TPM_ALG_ID of TPMT_SIGNATURE.sigAlg).
enum class AkKind : std::uint16_t { ecdsa = 0x0018, rsassa = 0x0014, rsapss = 0x0016 };

struct QuoteNode {
  static constexpr std::uint32_t kPcrMask = 0x81;  // PCRs 0 and 7
  static constexpr std::uint64_t kFirmwareVersion = 7;
  static constexpr std::size_t kRsaBytes = 256;  // RSA-2048: modulus and signature
  AkKind kind;
  EVP_PKEY* key = nullptr;
  Bytes pub, golden, golden_digest, signer;

  explicit QuoteNode(std::uint8_t pcr_seed = 0, AkKind k = AkKind::ecdsa) : kind(k) {
    // TPMT_PUBLIC: type, nameAlg SHA-256, fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth |
    // restricted | sign, no auth policy, then the parameters and the unique field of the key's type.
    const bool ecc = kind == AkKind::ecdsa;
    put(pub, ecc ? 0x0023 : 0x0001, 2);  // TPM_ALG_ECC / TPM_ALG_RSA
    put(pub, 0x000B, 2);
    put(pub, 0x00050072, 4);
    put(pub, 0, 2);
    if (ecc) {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      std::uint8_t point[65];
      std::size_t len = 0;
      require(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) == 1);
      // symmetric NULL, scheme ECDSA with SHA-256, curve P-256, kdf NULL; unique: x, y
      for (std::uint16_t v : {0x0010, 0x0018, 0x000B, 0x0003, 0x0010}) put(pub, v, 2);
      put2b(pub, point + 1, 32);
      put2b(pub, point + 33, 32);
    } else {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(8 * kRsaBytes));
      BIGNUM* n = nullptr;
      require(key != nullptr && EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
      std::uint8_t modulus[kRsaBytes];
      require(BN_bn2binpad(n, modulus, kRsaBytes) == static_cast<int>(kRsaBytes));
      BN_free(n);
      // symmetric NULL, scheme with SHA-256, keyBits 2048, exponent 0 (= 2^16 + 1, OpenSSL's default); unique: n
      for (std::uint16_t v : {std::uint16_t{0x0010}, static_cast<std::uint16_t>(kind), std::uint16_t{0x000B},
                              static_cast<std::uint16_t>(8 * kRsaBytes)})
        put(pub, v, 2);
      put(pub, 0, 4);
      put2b(pub, modulus, kRsaBytes);
    }
    require(key != nullptr);
    for (int i = 0; i < 2 * 32; ++i) golden.push_back(static_cast<std::uint8_t>(pcr_seed + i));
    golden_digest = sha256(golden);
    Bytes name = {0x00, 0x0B};
    const Bytes h = sha256(pub);
    name.insert(name.end(), h.begin(), h.end());
    Bytes qn;
    put(qn, 0x4000000B, 4);  // the AK is a primary key of the endorsement hierarchy (the verifier default)
    qn.insert(qn.end(), name.begin(), name.end());
    signer = {0x00, 0x0B};
    const Bytes hq = sha256(qn);
    signer.insert(signer.end(), hq.begin(), hq.end());
  }
  QuoteNode(const QuoteNode&) = delete;
  QuoteNode& operator=(const QuoteNode&) = delete;
  ~QuoteNode() { EVP_PKEY_free(key); }

  // TPMS_ATTEST of a quote on nonce over the golden PCRs.
  Bytes attest(const std::uint8_t* nonce, std::size_t nonce_size, std::uint64_t clock_ms,
               std::uint32_t reset_count) const {
    Bytes a;
    put(a, 0xFF544347u, 4);  // TPM_GENERATED_VALUE
    put(a, 0x8018, 2);       // TPM_ST_ATTEST_QUOTE
    put2b(a, signer.data(), signer.size());
    put2b(a, nonce, nonce_size);
    put(a, clock_ms, 8);
    put(a, reset_count, 4);
    put(a, 0, 4);  // restartCount
    put(a, 1, 1);  // safe
    put(a, kFirmwareVersion, 8);
    put(a, 1, 4);  // one PCR selection: SHA-256, 3 bytes, PCRs 0 and 7
    put(a, 0x000B, 2);
    put(a, 3, 1);
    put(a, kPcrMask, 1);
    put(a, 0, 1);
    put(a, 0, 1);
    put2b(a, golden_digest.data(), 32);
    return a;
  }

  // TPMT_SIGNATURE (the node's scheme, SHA-256) over data.
  Bytes sign(const Bytes& data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    std::size_t len = 0;
    require(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1);
    if (kind == AkKind::rsassa) require(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1);
    if (kind == AkKind::rsapss)  // salt as long as the digest, as FIPS 186-4 TPMs sign (the verifier takes any length)
      require(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    require(EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size()) == 1);
    Bytes der(len);
    require(EVP_DigestSign(ctx, der.data(), &len, data.data(), data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    Bytes out;
    put(out, static_cast<std::uint16_t>(kind), 2);
    put(out, 0x000B, 2);
    if (kind != AkKind::ecdsa) {  // RSA: the signature as it is, as long as the modulus
      require(len == kRsaBytes);
      put2b(out, der.data(), len);
      return out;
    }
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    std::uint8_t r[32], s[32];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, 32);
    ECDSA_SIG_free(sig);
    put2b(out, r, 32);
    put2b(out, s, 32);
    return out;
  }
};

// The harness's own check of its nodes, once at start-up: each node's genuine quote passes a
// verifier that enrolled it, and the same quote with one signature byte changed does not (a node
// whose quotes never pass would leave every check after the signature unreached, silently).
inline void require_genuine_quotes_pass(const QuoteNode* nodes, std::size_t count) {
  using safetwin::firmware::AttestReason;
  safetwin::firmware::QuoteVerifier v{safetwin::firmware::QuoteVerifierConfig{}};
  safetwin::firmware::QuoteVerifier::Nonce nonce{};
  for (std::size_t k = 0; k < count; ++k) {
    const QuoteNode& n = nodes[k];
    v.enroll(k, n.pub.data(), n.pub.size(), QuoteNode::kPcrMask, n.golden.data(), true, QuoteNode::kFirmwareVersion);
    const Bytes attest = n.attest(nonce.data(), nonce.size(), 5000, 2);
    Bytes sig = n.sign(attest);
    for (int tamper = 0; tamper < 2; ++tamper) {
      if (tamper) sig.back() ^= 0x01;
      require(v.reenroll(k) == safetwin::Status::ok && v.expect_nonce(k, nonce, 1000) == safetwin::Status::ok);
      safetwin::firmware::QuoteResult r;
      require(v.verify(k, attest.data(), attest.size(), sig.data(), sig.size(), 1500, r) == safetwin::Status::ok);
      require((r.reason == AttestReason::pass) == (tamper == 0));
    }
  }
}

// The answer on the link: TPM2B_ATTEST || TPMT_SIGNATURE.
inline Bytes answer(const Bytes& attest, const Bytes& sig) {
  Bytes out;
  put2b(out, attest.data(), attest.size());
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

// ISO-TP segmentation of msg (8 < size < 4096): a first frame with the 12-bit length, then
// consecutive frames with the sequence number mod 16, the last padded with 0xCC.
inline std::vector<Bytes> segment(const Bytes& msg) {
  std::vector<Bytes> frames;
  frames.push_back({static_cast<std::uint8_t>(0x10 | (msg.size() >> 8)), static_cast<std::uint8_t>(msg.size()), msg[0],
                    msg[1], msg[2], msg[3], msg[4], msg[5]});
  std::uint8_t seq = 1;
  for (std::size_t at = 6; at < msg.size(); at += 7, seq = (seq + 1) & 0x0F) {
    Bytes f{static_cast<std::uint8_t>(0x20 | seq)};
    for (std::size_t k = at; k < at + 7; ++k) f.push_back(k < msg.size() ? msg[k] : 0xCC);
    frames.push_back(f);
  }
  return frames;
}

}  // namespace fuzz_quote
