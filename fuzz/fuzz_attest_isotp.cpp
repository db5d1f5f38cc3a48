// libFuzzer harness: the firmware's ISO-TP receiver of a node's attestation answer
// (firmware_sim/src/attest_isotp.cpp) and the quote verifier behind it, on any frame sequence.
// Input byte 0 chooses the mode:
//   even  raw frames: records of 9 bytes, ctrl | 8 data, ctrl bits 0..3 the length (> 8 refused),
//         bits 4..6 the time step (x 40 ms), bit 7 re-opens the round
//   odd   the genuine answer (TPM2B_ATTEST + TPMT_SIGNATURE, 217 bytes, signed by the harness's key
//         on the issued nonce) segmented into FF + CFs, then edited by the input's records:
//         (op, index, value) with op = drop / duplicate / swap with next / xor a byte / delay
// Properties: no crash or UB; a complete message has the length its SF/FF announced; a completed
// answer passes verification only if it is byte for byte the genuine answer; nothing completes
// outside an open round or after its deadline.
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "attest_isotp.hpp"
#include "quote_verifier.hpp"

using namespace safetwin::firmware;
using Bytes = std::vector<std::uint8_t>;

namespace {

#define REQUIRE(c)          \
  do {                      \
    if (!(c)) std::abort(); \
  } while (0)

void put(Bytes& b, std::uint64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put2b(Bytes& b, const std::uint8_t* p, std::size_t n) {
  put(b, n, 2);
  b.insert(b.end(), p, p + n);
}
Bytes sha256(const Bytes& in) {
  Bytes out(32);
  unsigned int len = 0;
  REQUIRE(EVP_Digest(in.data(), in.size(), out.data(), &len, EVP_sha256(), nullptr) == 1);
  return out;
}

struct World {
  QuoteVerifier verifier{QuoteVerifierConfig{}};
  QuoteVerifier::Nonce nonce{};
  Bytes answer;  // TPM2B_ATTEST || TPMT_SIGNATURE
  std::vector<Bytes> frames;

  World() {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    std::uint8_t point[65];
    std::size_t len = 0;
    REQUIRE(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len) == 1);
    Bytes pub;
    put(pub, 0x0023, 2);
    put(pub, 0x000B, 2);
    put(pub, 0x00050072, 4);
    put(pub, 0, 2);
    for (std::uint16_t v : {0x0010, 0x0018, 0x000B, 0x0003, 0x0010}) put(pub, v, 2);
    put2b(pub, point + 1, 32);
    put2b(pub, point + 33, 32);
    const Bytes golden(32, 0x11);
    verifier.enroll(0, pub.data(), pub.size(), 0x1, golden.data());
    Bytes name = {0x00, 0x0B}, qn;
    const Bytes h = sha256(pub);
    name.insert(name.end(), h.begin(), h.end());
    put(qn, 0x4000000B, 4);
    qn.insert(qn.end(), name.begin(), name.end());
    Bytes signer = {0x00, 0x0B};
    const Bytes hq = sha256(qn);
    signer.insert(signer.end(), hq.begin(), hq.end());
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(0xC3 ^ i);
    Bytes a;
    put(a, 0xFF544347u, 4);
    put(a, 0x8018, 2);
    put2b(a, signer.data(), signer.size());
    put2b(a, nonce.data(), nonce.size());
    put(a, 100, 8);
    put(a, 1, 4);
    put(a, 0, 4);
    put(a, 1, 1);
    put(a, 0, 8);
    put(a, 1, 4);
    put(a, 0x000B, 2);
    put(a, 3, 1);
    put(a, 0x01, 1);
    put(a, 0, 1);
    put(a, 0, 1);
    const Bytes d = sha256(golden);
    put2b(a, d.data(), 32);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    REQUIRE(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1);
    REQUIRE(EVP_DigestSign(ctx, nullptr, &len, a.data(), a.size()) == 1);
    Bytes der(len);
    REQUIRE(EVP_DigestSign(ctx, der.data(), &len, a.data(), a.size()) == 1);
    EVP_MD_CTX_free(ctx);
    const unsigned char* p = der.data();
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    std::uint8_t r[32], s[32];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), r, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), s, 32);
    ECDSA_SIG_free(sig);
    EVP_PKEY_free(key);
    put2b(answer, a.data(), a.size());
    put(answer, 0x0018, 2);
    put(answer, 0x000B, 2);
    put2b(answer, r, 32);
    put2b(answer, s, 32);
    frames.push_back({static_cast<std::uint8_t>(0x10 | (answer.size() >> 8)), static_cast<std::uint8_t>(answer.size()),
                      answer[0], answer[1], answer[2], answer[3], answer[4], answer[5]});
    std::uint8_t seq = 1;
    for (std::size_t at = 6; at < answer.size(); at += 7, seq = (seq + 1) & 0x0F) {
      Bytes f{static_cast<std::uint8_t>(0x20 | seq)};
      for (std::size_t k = at; k < at + 7; ++k) f.push_back(k < answer.size() ? answer[k] : 0xCC);
      frames.push_back(f);
    }
  }
};

struct Step {
  Bytes frame;
  std::uint64_t dt_ms = 1;
  bool reopen = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  if (size < 1) return 0;
  std::vector<Step> steps;
  if ((data[0] & 1) == 0) {
    for (std::size_t off = 1; off + 9 <= size && steps.size() < 256; off += 9) {
      const std::uint8_t ctrl = data[off];
      Step s;
      s.frame.assign(data + off + 1, data + off + 1 + std::min<std::size_t>(ctrl & 0x0F, 8));
      if ((ctrl & 0x0F) > 8) s.frame.assign(9, 0);  // an over-long frame: refused by on_frame's len check
      s.dt_ms = 40u * ((ctrl >> 4) & 0x07);
      s.reopen = (ctrl & 0x80) != 0;
      steps.push_back(s);
    }
  } else {
    for (const Bytes& f : w.frames) steps.push_back({f, 1, false});
    for (std::size_t off = 1; off + 3 <= size && !steps.empty(); off += 3) {
      const std::size_t i = data[off + 1] % steps.size();
      switch (data[off] % 5) {
        case 0: steps.erase(steps.begin() + static_cast<std::ptrdiff_t>(i)); break;
        case 1: steps.insert(steps.begin() + static_cast<std::ptrdiff_t>(i), steps[i]); break;
        case 2:
          if (i + 1 < steps.size()) std::swap(steps[i], steps[i + 1]);
          break;
        case 3:
          steps[i].frame[data[off + 2] % steps[i].frame.size()] ^= static_cast<std::uint8_t>(data[off + 2] | 1);
          break;
        default: steps[i].dt_ms = 10u * data[off + 2]; break;
      }
    }
  }
  IsoTpReceiver rx;
  std::uint64_t now = 0;
  REQUIRE(w.verifier.expect_nonce(0, w.nonce, now) == safetwin::Status::ok);
  rx.open(now + 2000);
  std::size_t announced = 0;
  for (const Step& s : steps) {
    now += s.dt_ms;
    if (s.reopen) rx.open(now + 2000);
    const bool could_take = rx.is_open();
    if (!s.frame.empty() && (s.frame[0] >> 4) == 0x0) announced = s.frame[0] & 0x0F;
    if (s.frame.size() >= 2 && (s.frame[0] >> 4) == 0x1)
      announced = static_cast<std::size_t>(s.frame[0] & 0x0F) << 8 | s.frame[1];
    const IsoTpEvent e = rx.on_frame(s.frame.data(), static_cast<std::uint8_t>(s.frame.size()), now);
    if (e != IsoTpEvent::complete) continue;
    REQUIRE(could_take);
    REQUIRE(rx.message_size() == announced);
    const std::uint8_t *attest = nullptr, *sig = nullptr;
    std::size_t na = 0, ns = 0;
    if (split_quote(rx.message(), rx.message_size(), attest, na, sig, ns)) {
      QuoteResult r;
      REQUIRE(w.verifier.reenroll(0) == safetwin::Status::ok);
      REQUIRE(w.verifier.verify(0, attest, na, sig, ns, now, r) == safetwin::Status::ok);
      if (r.reason == AttestReason::pass) {
        REQUIRE(rx.message_size() == w.answer.size() &&
                std::memcmp(rx.message(), w.answer.data(), w.answer.size()) == 0);
        REQUIRE(w.verifier.expect_nonce(0, w.nonce, now) == safetwin::Status::ok);  // the next answer may pass again
      }
    }
    rx.close();
  }
  // Past every deadline nothing completes.
  static const std::uint8_t single[] = {0x03, 1, 2, 3};
  rx.open(now + 10);
  REQUIRE(rx.on_frame(single, sizeof single, now + 11) == IsoTpEvent::ignored);
  return 0;
}
