// libFuzzer harness: the firmware's ISO-TP receiver of a node's attestation answer
// (firmware_sim/src/attest_isotp.cpp) and the quote verifier behind it, on any frame sequence.
// Input byte 0 chooses the mode:
//   even  raw frames: records of 9 bytes, ctrl | 8 data, ctrl bits 0..3 the length (> 8 refused),
//         bits 4..6 the time step (x 40 ms), bit 7 re-opens the round
//   odd   the genuine answer (TPM2B_ATTEST + TPMT_SIGNATURE, 219 bytes, signed by the harness's key
//         on the issued nonce) segmented into FF + CFs, then edited by the input's records:
//         (op, index, value) with op = drop / duplicate / swap with next / xor a byte / delay
// Properties: no crash or UB; a complete message has the length its SF/FF announced; a completed
// answer passes verification only if it is byte for byte the genuine answer; nothing completes
// outside an open round or after its deadline.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "attest_isotp.hpp"
#include "fuzz_quote_node.hpp"
#include "quote_verifier.hpp"

using namespace safetwin::firmware;
using fuzz_quote::Bytes;

namespace {

#define REQUIRE(c) fuzz_quote::require(c)

// The node (fuzz_quote_node.hpp), its genuine answer on the issued nonce (clock 100 ms,
// resetCount 1) and that answer's ISO-TP frames.
struct World {
  QuoteVerifier verifier{QuoteVerifierConfig{}};
  QuoteVerifier::Nonce nonce{};
  Bytes answer;  // TPM2B_ATTEST || TPMT_SIGNATURE
  std::vector<Bytes> frames;

  World() {
    const fuzz_quote::QuoteNode node;
    verifier.enroll(0, node.pub.data(), node.pub.size(), fuzz_quote::QuoteNode::kPcrMask, node.golden.data(), true,
                    fuzz_quote::QuoteNode::kFirmwareVersion);
    for (std::size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<std::uint8_t>(0xC3 ^ i);
    const Bytes a = node.attest(nonce.data(), nonce.size(), 100, 1);
    answer = fuzz_quote::answer(a, node.sign(a));
    frames = fuzz_quote::segment(answer);
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
