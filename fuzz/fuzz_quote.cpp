// libFuzzer harness: the firmware's TPM quote parser and verifier (firmware_sim/src/quote_wire.cpp,
// quote_verifier.cpp). Input byte 0 chooses the mode:
//   even  raw: bytes 1..k are TPMS_ATTEST, the rest TPMT_SIGNATURE (k = byte 1 * 4)
//   odd   structured: a genuine quote (made at start-up with the harness's own key on the issued
//         nonce) with (offset, xor) edits from the input and a cut length; with bit 1 set the
//         edited TPMS_ATTEST is re-signed by the key holder, so the checks after the signature
//         (signer, nonce, PCRs, firmware, clock) are reached too.
// Properties: no crash or UB; a structure that parses re-marshals to exactly its input bytes; a
// quote that was not re-signed passes only if it is byte for byte the genuine one; a pass always
// carries the issued nonce, the golden PCR digest, the enrolled signer, magic and safe = YES.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "fuzz_quote_node.hpp"
#include "quote_verifier.hpp"
#include "quote_wire.hpp"

using namespace safetwin::firmware;
using fuzz_quote::Bytes;
using fuzz_quote::put;

namespace {

#define REQUIRE(c) fuzz_quote::require(c)

void put2b(Bytes& b, const std::uint8_t* p, std::size_t n) { fuzz_quote::put2b(b, p, n); }

// Re-marshal from the views (TPM 2.0 Part 2 order), independent of the parser's reader.
Bytes marshal(const tpm::AttestView& a) {
  Bytes b;
  put(b, a.magic, 4);
  put(b, a.type, 2);
  put2b(b, a.qualified_signer.data, a.qualified_signer.size);
  put2b(b, a.extra_data.data, a.extra_data.size);
  put(b, a.clock_ms, 8);
  put(b, a.reset_count, 4);
  put(b, a.restart_count, 4);
  put(b, a.safe ? 1 : 0, 1);
  put(b, a.firmware_version, 8);
  put(b, a.selection_count, 4);
  for (std::uint32_t i = 0; i < a.selection_count; ++i) {
    put(b, a.selection[i].hash_alg, 2);
    put(b, a.selection[i].size_of_select, 1);
    for (int k = 0; k < a.selection[i].size_of_select; ++k) put(b, (a.selection[i].bits >> (8 * k)) & 0xFF, 1);
  }
  put2b(b, a.pcr_digest.data, a.pcr_digest.size);
  return b;
}
Bytes marshal(const tpm::SignatureView& s) {
  Bytes b;
  put(b, s.sig_alg, 2);
  put(b, s.hash_alg, 2);
  put2b(b, s.r.data, s.r.size);
  put2b(b, s.s.data, s.s.size);
  return b;
}

// The node (fuzz_quote_node.hpp: its key, PCRs 0 and 7, firmware 7) and its genuine quote on the
// issued nonce (clock 5000 ms, resetCount 2).
struct World {
  fuzz_quote::QuoteNode node;
  Bytes& golden_digest = node.golden_digest;
  Bytes& signer = node.signer;
  Bytes genuine_attest, genuine_sig;
  QuoteVerifier::Nonce nonce{};
  QuoteVerifier verifier{QuoteVerifierConfig{}};

  Bytes sign(const Bytes& data) const { return node.sign(data); }

  World() {
    verifier.enroll(0, node.pub.data(), node.pub.size(), fuzz_quote::QuoteNode::kPcrMask, node.golden.data(), true,
                    fuzz_quote::QuoteNode::kFirmwareVersion);
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(0x5A ^ i);
    genuine_attest = node.attest(nonce.data(), nonce.size(), 5000, 2);
    genuine_sig = sign(genuine_attest);
  }
};

void check_parse(const Bytes& attest, const Bytes& sig) {
  tpm::AttestView a;
  if (tpm::parse_attest(attest.data(), attest.size(), a) == tpm::WireStatus::ok) REQUIRE(marshal(a) == attest);
  tpm::SignatureView s;
  if (tpm::parse_signature(sig.data(), sig.size(), s) == tpm::WireStatus::ok) REQUIRE(marshal(s) == sig);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static World w;
  if (size < 2) return 0;
  Bytes attest, sig;
  bool resigned = false;
  if ((data[0] & 1) == 0) {
    const std::size_t k = std::min<std::size_t>(size - 2, 4u * data[1]);
    attest.assign(data + 2, data + 2 + k);
    sig.assign(data + 2 + k, data + size);
  } else {
    attest = w.genuine_attest;
    sig = w.genuine_sig;
    for (std::size_t off = 2; off + 2 <= size; off += 2) {
      Bytes& target = (data[off] & 0x80) ? sig : attest;
      if (!target.empty()) target[(data[off] & 0x7Fu) * 2u % target.size()] ^= data[off + 1];
      if (!target.empty() && data[off + 1] == 0) target.resize(target.size() - 1);  // xor 0: cut one byte
    }
    resigned = (data[0] & 2) != 0;
    if (resigned) sig = w.sign(attest);
  }
  check_parse(attest, sig);
  REQUIRE(w.verifier.expect_nonce(0, w.nonce, 1000) == safetwin::Status::ok);
  REQUIRE(w.verifier.reenroll(0) == safetwin::Status::ok);
  QuoteResult r;
  REQUIRE(w.verifier.verify(0, attest.data(), attest.size(), sig.data(), sig.size(), 1500, r) == safetwin::Status::ok);
  REQUIRE(reason_of(r.check) == r.reason);
  if (r.reason == AttestReason::pass) {
    if (!resigned) REQUIRE(attest == w.genuine_attest);
    tpm::AttestView a;
    REQUIRE(tpm::parse_attest(attest.data(), attest.size(), a) == tpm::WireStatus::ok);
    REQUIRE(a.magic == tpm::kGeneratedValue && a.type == tpm::kStAttestQuote && a.safe);
    REQUIRE(a.extra_data.size == 32 && std::memcmp(a.extra_data.data, w.nonce.data(), 32) == 0);
    REQUIRE(a.pcr_digest.size == 32 && std::memcmp(a.pcr_digest.data, w.golden_digest.data(), 32) == 0);
    REQUIRE(a.qualified_signer.size == 34 && std::memcmp(a.qualified_signer.data, w.signer.data(), 34) == 0);
    REQUIRE(a.firmware_version == 7 && a.selection_count == 1 && a.selection[0].bits == 0x81);
  }
  return 0;
}
