// libFuzzer harness: the firmware's TPM quote parser and verifier (firmware_sim/src/quote_wire.cpp,
// quote_verifier.cpp), with three enrolled nodes, one per AK kind: ECDSA P-256, RSASSA-2048 and
// RSAPSS-2048. Input byte 0: bits 2..3 choose the node (mod 3), bit 0 the mode:
//   0  raw: bytes 2..k+1 are TPMS_ATTEST, the rest TPMT_SIGNATURE (k = byte 1 * 4)
//   1  structured: the node's genuine quote (made at start-up with the harness's own key on the
//      issued nonce) with (offset, xor) edits from the input and a cut length; with bit 1 set the
//      edited TPMS_ATTEST is re-signed by the key holder, so the checks after the signature
//      (signer, nonce, PCRs, firmware, clock) are reached too.
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
  if (s.sig_alg == tpm::kAlgEcdsa) {
    put2b(b, s.r.data, s.r.size);
    put2b(b, s.s.data, s.s.size);
  } else {
    put2b(b, s.rsa.data, s.rsa.size);
  }
  return b;
}

// The nodes (fuzz_quote_node.hpp: each its own key, PCRs 0 and 7, firmware 7; node k enrolled as k)
// and their genuine quotes on the issued nonce (clock 5000 ms, resetCount 2).
constexpr std::size_t kNodes = 3;

struct World {
  fuzz_quote::QuoteNode node[kNodes] = {fuzz_quote::QuoteNode(0, fuzz_quote::AkKind::ecdsa),
                                        fuzz_quote::QuoteNode(0x40, fuzz_quote::AkKind::rsassa),
                                        fuzz_quote::QuoteNode(0x80, fuzz_quote::AkKind::rsapss)};
  Bytes genuine_attest[kNodes], genuine_sig[kNodes];
  QuoteVerifier::Nonce nonce{};
  QuoteVerifier verifier{QuoteVerifierConfig{}};

  World() {
    fuzz_quote::require_genuine_quotes_pass(node, kNodes);
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(0x5A ^ i);
    for (std::size_t k = 0; k < kNodes; ++k) {
      const fuzz_quote::QuoteNode& n = node[k];
      verifier.enroll(k, n.pub.data(), n.pub.size(), fuzz_quote::QuoteNode::kPcrMask, n.golden.data(), true,
                      fuzz_quote::QuoteNode::kFirmwareVersion);
      genuine_attest[k] = n.attest(nonce.data(), nonce.size(), 5000, 2);
      genuine_sig[k] = n.sign(genuine_attest[k]);
    }
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
  const std::size_t k = ((data[0] >> 2) & 3u) % kNodes;
  const fuzz_quote::QuoteNode& node = w.node[k];
  Bytes attest, sig;
  bool resigned = false;
  if ((data[0] & 1) == 0) {
    const std::size_t cut = std::min<std::size_t>(size - 2, 4u * data[1]);
    attest.assign(data + 2, data + 2 + cut);
    sig.assign(data + 2 + cut, data + size);
  } else {
    attest = w.genuine_attest[k];
    sig = w.genuine_sig[k];
    for (std::size_t off = 2; off + 2 <= size; off += 2) {
      Bytes& target = (data[off] & 0x80) ? sig : attest;
      if (!target.empty()) target[(data[off] & 0x7Fu) * 2u % target.size()] ^= data[off + 1];
      if (!target.empty() && data[off + 1] == 0) target.resize(target.size() - 1);  // xor 0: cut one byte
    }
    resigned = (data[0] & 2) != 0;
    if (resigned) sig = node.sign(attest);
  }
  check_parse(attest, sig);
  REQUIRE(w.verifier.expect_nonce(k, w.nonce, 1000) == safetwin::Status::ok);
  REQUIRE(w.verifier.reenroll(k) == safetwin::Status::ok);
  QuoteResult r;
  REQUIRE(w.verifier.verify(k, attest.data(), attest.size(), sig.data(), sig.size(), 1500, r) == safetwin::Status::ok);
  REQUIRE(reason_of(r.check) == r.reason);
  if (r.reason == AttestReason::pass) {
    if (!resigned) REQUIRE(attest == w.genuine_attest[k]);
    tpm::AttestView a;
    REQUIRE(tpm::parse_attest(attest.data(), attest.size(), a) == tpm::WireStatus::ok);
    REQUIRE(a.magic == tpm::kGeneratedValue && a.type == tpm::kStAttestQuote && a.safe);
    REQUIRE(a.extra_data.size == 32 && std::memcmp(a.extra_data.data, w.nonce.data(), 32) == 0);
    REQUIRE(a.pcr_digest.size == 32 && std::memcmp(a.pcr_digest.data, node.golden_digest.data(), 32) == 0);
    REQUIRE(a.qualified_signer.size == 34 && std::memcmp(a.qualified_signer.data, node.signer.data(), 34) == 0);
    REQUIRE(a.firmware_version == 7 && a.selection_count == 1 && a.selection[0].bits == 0x81);
    tpm::SignatureView s;  // the node's own scheme: no other verifies for its key
    REQUIRE(tpm::parse_signature(sig.data(), sig.size(), s) == tpm::WireStatus::ok);
    REQUIRE(s.sig_alg == static_cast<std::uint16_t>(node.kind) && s.hash_alg == tpm::kAlgSha256);
  }
  return 0;
}
