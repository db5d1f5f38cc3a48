#pragma once
// A sensor node for the fuzz harnesses that feed quotes to the firmware: its own OpenSSL P-256 key
// (generated at start-up, so no input can carry a valid signature the harness did not make), its
// AK's TPMT_PUBLIC and Qualified Name, golden PCRs 0 and 7, and genuine quotes (TPMS_ATTEST +
// TPMT_SIGNATURE, marshalled here field by field from TPM 2.0 Part 2, independently of the parser
// under test) on any nonce, with the answer's ISO-TP segmentation (FF + CFs, ISO 15765-2).
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <vector>

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

struct QuoteNode {
  static constexpr std::uint32_t kPcrMask = 0x81;  // PCRs 0 and 7
  static constexpr std::uint64_t kFirmwareVersion = 7;
  EVP_PKEY* key = nullptr;
  Bytes pub, golden, golden_digest, signer;

  explicit QuoteNode(std::uint8_t pcr_seed = 0) {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    std::uint8_t point[65];
    std::size_t len = 0;
    require(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) == 1);
    put(pub, 0x0023, 2);      // TPM_ALG_ECC
    put(pub, 0x000B, 2);      // nameAlg SHA-256
    put(pub, 0x00050072, 4);  // fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign
    put(pub, 0, 2);           // no auth policy
    for (std::uint16_t v : {0x0010, 0x0018, 0x000B, 0x0003, 0x0010}) put(pub, v, 2);  // ECDSA SHA-256 P-256
    put2b(pub, point + 1, 32);
    put2b(pub, point + 33, 32);
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

  // TPMT_SIGNATURE (ECDSA, SHA-256) over data.
  Bytes sign(const Bytes& data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    require(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
    require(EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size()) == 1);
    Bytes der(len);
    require(EVP_DigestSign(ctx, der.data(), &len, data.data(), data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    std::uint8_t r[32], s[32];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, 32);
    ECDSA_SIG_free(sig);
    Bytes out;
    put(out, 0x0018, 2);  // TPM_ALG_ECDSA
    put(out, 0x000B, 2);
    put2b(out, r, 32);
    put2b(out, s, 32);
    return out;
  }
};

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
