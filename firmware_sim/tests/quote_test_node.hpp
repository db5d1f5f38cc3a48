#pragma once
// A sensor node for the firmware's attestation tests: its own OpenSSL key (P-256 ECDSA, or RSA-2048
// signing RSASSA-PKCS1-v1_5 or RSAPSS with a digest-sized salt, as TPMs do), its AK's
// TPMT_PUBLIC, PCR values and TPM clock, and quotes (TPMS_ATTEST + TPMT_SIGNATURE) marshalled here
// field by field from TPM 2.0 Part 2, independently of the parser under test.
#include <doctest/doctest.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <cstdint>
#include <vector>

namespace quote_test {

using Bytes = std::vector<std::uint8_t>;

inline void put(Bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
inline void put2b(Bytes& b, const Bytes& payload) {
  put(b, payload.size(), 2);
  b.insert(b.end(), payload.begin(), payload.end());
}
inline Bytes sha256(const Bytes& in) {
  Bytes out(32);
  unsigned int len = 0;
  REQUIRE(EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}
inline Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

constexpr std::uint32_t kPcrMask = 0x87;  // PCRs 0, 1, 2, 7

constexpr std::uint16_t kEcdsa = 0x0018, kRsassa = 0x0014, kRsapss = 0x0016;

// A node: its own key (scheme kEcdsa: P-256; kRsassa / kRsapss: RSA-2048), its AK's TPMT_PUBLIC,
// its PCR values and clock.
struct TestNode {
  EVP_PKEY* key = nullptr;
  std::uint16_t scheme = kEcdsa;
  Bytes pub;
  std::array<Bytes, 4> pcrs;
  std::uint64_t clock_ms = 1000;
  std::uint32_t reset = 3, restart = 0;
  bool safe = true;
  std::uint64_t firmware = 0x0001000000000000ull;
  std::uint32_t hierarchy = 0x4000000Bu;

  explicit TestNode(int seed, std::uint16_t sig_scheme = kEcdsa) : scheme(sig_scheme) {
    if (scheme == kEcdsa) {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      REQUIRE(key != nullptr);
      std::uint8_t point[65];
      std::size_t len = 0;
      REQUIRE(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) == 1);
      REQUIRE(len == 65);
      put(pub, 0x0023, 2);
      put(pub, 0x000B, 2);
      put(pub, 0x00050072, 4);  // fixedTPM fixedParent sensitiveDataOrigin userWithAuth restricted sign
      put2b(pub, {});
      for (std::uint16_t v : {0x0010, 0x0018, 0x000B, 0x0003, 0x0010}) put(pub, v, 2);
      put2b(pub, Bytes(point + 1, point + 33));
      put2b(pub, Bytes(point + 33, point + 65));
    } else {
      key = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(2048));
      REQUIRE(key != nullptr);
      BIGNUM* n = nullptr;
      REQUIRE(EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) == 1);
      Bytes modulus(256);
      REQUIRE(BN_bn2binpad(n, modulus.data(), 256) == 256);
      BN_free(n);
      put(pub, 0x0001, 2);  // TPM_ALG_RSA
      put(pub, 0x000B, 2);
      put(pub, 0x00050072, 4);
      put2b(pub, {});
      for (std::uint16_t v : {std::uint16_t{0x0010}, scheme, std::uint16_t{0x000B}, std::uint16_t{2048}})
        put(pub, v, 2);
      put(pub, 0, 4);  // exponent 0: 2^16 + 1, what OpenSSL generates
      put2b(pub, modulus);
    }
    for (std::size_t i = 0; i < pcrs.size(); ++i)
      pcrs[i] = sha256({static_cast<std::uint8_t>(seed), static_cast<std::uint8_t>(i)});
  }
  ~TestNode() { EVP_PKEY_free(key); }
  TestNode(const TestNode&) = delete;
  TestNode& operator=(const TestNode&) = delete;

  Bytes golden() const { return cat(cat(cat(pcrs[0], pcrs[1]), pcrs[2]), pcrs[3]); }
  Bytes parent_qn;  // empty: a primary key of `hierarchy`; else the parent's Qualified Name (a child AK)
  Bytes qualified_signer() const {
    Bytes name = cat({0x00, 0x0B}, sha256(pub));
    Bytes h;
    put(h, hierarchy, 4);
    return cat({0x00, 0x0B}, sha256(cat(parent_qn.empty() ? h : parent_qn, name)));
  }
  Bytes attest(const Bytes& nonce, std::uint32_t mask = kPcrMask) const {
    Bytes a;
    put(a, 0xFF544347u, 4);
    put(a, 0x8018, 2);
    put2b(a, qualified_signer());
    put2b(a, nonce);
    put(a, clock_ms, 8);
    put(a, reset, 4);
    put(a, restart, 4);
    put(a, safe ? 1 : 0, 1);
    put(a, firmware, 8);
    put(a, 1, 4);  // one selection: SHA-256, 3 bytes of bitmap
    put(a, 0x000B, 2);
    put(a, 3, 1);
    put(a, mask & 0xFF, 1);
    put(a, (mask >> 8) & 0xFF, 1);
    put(a, (mask >> 16) & 0xFF, 1);
    put2b(a, sha256(golden()));
    return a;
  }
  Bytes sign(const Bytes& data) const {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    std::size_t len = 0;
    REQUIRE(EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1);
    if (scheme == kRsassa) REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1);
    if (scheme == kRsapss) {
      REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
      REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    }
    REQUIRE(EVP_DigestSign(ctx, nullptr, &len, data.data(), data.size()) == 1);
    Bytes der(len);
    REQUIRE(EVP_DigestSign(ctx, der.data(), &len, data.data(), data.size()) == 1);
    EVP_MD_CTX_free(ctx);
    der.resize(len);
    Bytes out;
    put(out, scheme, 2);
    put(out, 0x000B, 2);
    if (scheme != kEcdsa) {  // TPMS_SIGNATURE_RSA: the signature as it is
      put2b(out, der);
      return out;
    }
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    REQUIRE(sig != nullptr);
    Bytes r(32), s(32);
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), r.data(), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), s.data(), 32);
    ECDSA_SIG_free(sig);
    put2b(out, r);
    put2b(out, s);
    return out;
  }
};

// ISO 15765-2 segmentation of a message into SF or FF + CFs (8-byte classic CAN frames).
inline std::vector<Bytes> segment(const Bytes& msg) {
  std::vector<Bytes> out;
  if (msg.size() <= 7) {
    Bytes f{static_cast<std::uint8_t>(msg.size())};
    f.insert(f.end(), msg.begin(), msg.end());
    out.push_back(f);
    return out;
  }
  out.push_back({static_cast<std::uint8_t>(0x10 | (msg.size() >> 8)), static_cast<std::uint8_t>(msg.size() & 0xFF),
                 msg[0], msg[1], msg[2], msg[3], msg[4], msg[5]});
  std::uint8_t seq = 1;
  for (std::size_t at = 6; at < msg.size(); at += 7, seq = (seq + 1) & 0x0F) {
    Bytes f{static_cast<std::uint8_t>(0x20 | seq)};
    for (std::size_t k = at; k < at + 7; ++k) f.push_back(k < msg.size() ? msg[k] : 0xCC);
    out.push_back(f);
  }
  return out;
}

// TPM2B_ATTEST || TPMT_SIGNATURE, the answer's layout on the link.
inline Bytes answer(const Bytes& attest, const Bytes& sig) {
  Bytes out;
  put2b(out, attest);
  out.insert(out.end(), sig.begin(), sig.end());
  return out;
}

}  // namespace quote_test
