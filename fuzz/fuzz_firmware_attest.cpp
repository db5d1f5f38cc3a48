// libFuzzer harness: the wired attestation path of the firmware end to end, from raw CAN frames:
// Firmware::on_frame on ATTEST_QUOTE_k -> the node's ISO-TP receiver (attest_isotp.cpp) -> the
// answer queue -> the quote parser and verifier after the control step (quote_wire.cpp,
// quote_verifier.cpp) -> the round's verdict -> that node's trust in the pack cycle. Three nodes are
// enrolled, one per AK kind (ECDSA P-256, RSASSA-2048, RSAPSS-2048; each with its own key,
// fuzz_quote_node.hpp) on a 3-cell pack, and a round per node is open after three cycles of 0.25 s
// (rounds every 5 s, staggered by 0.25 s, lifetime 3 s), so the inputs reach reassembly, parse and verify.
// A fresh firmware per input (the nonces come from the seeded DRBG: the same per input).
// Input: records of 10 bytes: op | arg | 8 data bytes; node k = (arg bit 0 + 2 * arg bit 7) % 3; op % 4 =
//   0  raw frame on ATTEST_QUOTE_k, length (arg >> 1) & 0x0F (> 8: 8), the 8 data bytes
//   1  node k's genuine answer on its live nonce, with up to 4 (offset, xor) edits from the
//      data bytes (xor 0: skip); arg bit 1: re-signed after the edits by the node's key (so the
//      checks after the signature are reached); arg bit 2: drop consecutive frame data[7] % 32;
//      bit 3: the nonce of the next node, (k + 1) % 3; segmented into ISO-TP frames and sent
//   2  a control cycle of 0.1 * (1 + arg % 16) s (the verify runs after its control step), after
//      the plant's nominal measurement frames unless arg bit 7 is set (then they are missing)
//   3  any other DBC message (index arg), E2E-protected, with the 8 data bytes
// Properties: no crash or UB; after every cycle the command is finite and inside the cycle's safe
// interval; an answer of node k verifies as pass (ATTEST_RESULT) only after the harness sent node
// k a genuine or re-signed answer (no input can forge the ECDSA signature of a key made at start-up).
#include <cmath>
#include <cstdint>
#include <cstring>

#include "firmware.hpp"
#include "fuzz_quote_node.hpp"
#include "hil_e2e.h"
#include "safetwin_hil.h"
#include "safetwin_hil_table.h"

using namespace safetwin::firmware;
using fuzz_quote::Bytes;
using fuzz_quote::require;

namespace {

constexpr std::size_t kNodes = 3;
constexpr int kCells = 3;  // the smallest pack with a group per node: the control cycles are most of an input's time

struct World {
  fuzz_quote::QuoteNode node[kNodes] = {fuzz_quote::QuoteNode(0, fuzz_quote::AkKind::ecdsa),
                                        fuzz_quote::QuoteNode(0x40, fuzz_quote::AkKind::rsassa),
                                        fuzz_quote::QuoteNode(0x80, fuzz_quote::AkKind::rsapss)};
  FirmwareConfig config;
  World() {
    fuzz_quote::require_genuine_quotes_pass(node, kNodes);
    config.series = kCells;  // node k weighs group k + 1
    config.control.period_s = 0.1;
    config.control.controller = ControllerKind::cccv;  // the MPC's setup per input would dominate the run
    config.attest.every_s = 5.0;
    config.attest.seed = 17;
    config.attest.verifier.nonce_lifetime_ms = 3000;
    config.attest.isotp.n_cr_ms = 1500;
    for (const auto& n : node) {
      std::string spec;
      static const char* hex = "0123456789abcdef";
      for (std::uint8_t b : n.pub) spec += {hex[b >> 4], hex[b & 15]};
      spec += ":81:";
      for (std::uint8_t b : n.golden) spec += {hex[b >> 4], hex[b & 15]};
      spec += ":" + std::to_string(fuzz_quote::QuoteNode::kFirmwareVersion);
      add_attest_node(config, "fuzz", spec);
    }
  }
};

void check_command(const Firmware& fw) {
  const auto& cmd = fw.command();
  require(std::isfinite(cmd.current_a));
  require(std::isfinite(cmd.current_min_a) && std::isfinite(cmd.current_max_a));
  require(cmd.current_a >= cmd.current_min_a - 1e-9 && cmd.current_a <= cmd.current_max_a + 1e-9);
}

// The ATTEST_RESULT answers of the last cycle that passed, per node (bit k).
unsigned passed_answers(const Firmware& fw) {
  unsigned bits = 0;
  double phys[HIL_MAX_SIGNALS];
  const int index = hil_message_index(SAFETWIN_HIL_ATTEST_RESULT_FRAME_ID);
  for (std::size_t i = 0; i < fw.output_count(); ++i) {
    const Frame& f = fw.output(i);
    if (f.id != SAFETWIN_HIL_ATTEST_RESULT_FRAME_ID) continue;
    require(hil_decode(index, f.data, 8, phys) == 0);
    // signals: E2E_CRC, E2E_COUNTER, RESULT_NODE, RESULT_KIND, RESULT_REASON, ...
    if (phys[3] == 0.0 && phys[4] == static_cast<double>(AttestReason::pass))
      bits |= 1u << static_cast<unsigned>(phys[2]);
  }
  return bits;
}

// The plant's nominal frames of one cycle (kCells cells at 3.7 V and 25 C, no current), E2E-protected
// with advancing counters, so the control step runs and the verdicts reach the pack cycle's trust.
class NominalPlant {
 public:
  void send(Firmware& fw, double t_s) {
    double phys[HIL_MAX_SIGNALS];
    for (double& p : phys) p = NAN;
    phys[2] = t_s;
    phys[3] = 1;
    put(fw, SAFETWIN_HIL_PLANT_HEARTBEAT_FRAME_ID, 0, phys);
    phys[2] = 0.0;
    phys[3] = kCells * 3.7;
    phys[4] = 1;
    put(fw, SAFETWIN_HIL_PACK_MEAS_FRAME_ID, 0, phys);
    phys[2] = 0.0;
    phys[3] = 0;
    put(fw, SAFETWIN_HIL_LOAD_REQUEST_FRAME_ID, 0, phys);
    for (double& p : phys) p = NAN;
    phys[2] = 0;  // cells 1-3: one CELL_V_A frame (multiplexer 0), one CELL_T frame
    for (int k = 0; k < kCells; ++k) phys[3 + k] = 3.7;
    put(fw, SAFETWIN_HIL_CELL_V_A_FRAME_ID, 0, phys);
    for (double& p : phys) p = NAN;
    phys[2] = 0;
    for (int k = 0; k < kCells; ++k) phys[3 + k] = 25.0;
    put(fw, SAFETWIN_HIL_CELL_T_FRAME_ID, 0, phys);
  }

 private:
  void put(Firmware& fw, std::uint32_t id, int mux, double* phys) {
    std::uint8_t& c = counters_[(id & 0xFFu) * 16u + static_cast<unsigned>(mux)];
    phys[0] = 0;
    phys[1] = c;
    c = static_cast<std::uint8_t>((c + 1) & 0x0F);
    std::uint8_t frame[8];
    require(hil_encode(hil_message_index(id), phys, frame, 8) == 8);
    hil_e2e_protect(id, frame, 8);
    fw.on_frame(id, frame, 8);
  }
  std::uint8_t counters_[256 * 16] = {};
};

void send_quote_frame(Firmware& fw, std::size_t node, const std::uint8_t* data, std::uint8_t len) {
  fw.on_frame(SAFETWIN_HIL_ATTEST_QUOTE_0_FRAME_ID + static_cast<std::uint32_t>(node), data, len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const World w;
  Firmware fw(w.config);
  NominalPlant plant;
  for (int i = 0; i < 3; ++i) {  // cycles of 0.25 s open the rounds of nodes 0, 1, 2 (staggered by 0.25 s)
    plant.send(fw, 0.25 * i);
    (void)fw.cycle(0.25);
  }
  require(fw.attest_rounds() != nullptr);
  unsigned genuine_sent = 0;  // bit k: node k was sent a genuine or re-signed answer
  for (std::size_t off = 0; off + 10 <= size && off < 10 * 64; off += 10) {
    const std::uint8_t op = data[off] % 4, arg = data[off + 1];
    const std::uint8_t* d = data + off + 2;
    const std::size_t k = ((arg & 1u) | ((arg >> 6) & 2u)) % kNodes;
    if (op == 0) {
      const std::uint8_t len = static_cast<std::uint8_t>(std::min((arg >> 1) & 0x0F, 8));
      send_quote_frame(fw, k, d, len);
    } else if (op == 1) {
      const QuoteVerifier::Nonce& nonce = fw.attest_rounds()->nonce_request((arg & 8u) ? (k + 1) % kNodes : k);
      const auto clock_ms = static_cast<std::uint64_t>(1000 + fw.now_ms());
      const Bytes genuine_attest = w.node[k].attest(nonce.data(), nonce.size(), clock_ms, 1);
      const Bytes genuine_sig = w.node[k].sign(genuine_attest);
      Bytes attest = genuine_attest, sig = genuine_sig;
      for (int e = 0; e < 4; ++e) {
        const std::uint8_t at = d[2 * e], x = d[2 * e + 1];
        if (x == 0) continue;
        Bytes& target = (at & 0x80u) ? sig : attest;
        target[(at & 0x7Fu) % target.size()] ^= x;
      }
      if (arg & 2u) sig = w.node[k].sign(attest);
      // An answer that is re-signed, or byte for byte the genuine one (edits may cancel), may pass.
      if ((arg & 2u) || (attest == genuine_attest && sig == genuine_sig)) genuine_sent |= 1u << k;
      const std::vector<Bytes> frames = fuzz_quote::segment(fuzz_quote::answer(attest, sig));
      const std::size_t drop = (arg & 4u) ? 1 + d[7] % 32 : frames.size();
      for (std::size_t i = 0; i < frames.size(); ++i)
        if (i != drop) send_quote_frame(fw, k, frames[i].data(), static_cast<std::uint8_t>(frames[i].size()));
    } else if (op == 2) {
      if (!(arg & 0x80u)) plant.send(fw, 1e-3 * static_cast<double>(fw.now_ms()));
      require(fw.cycle(0.1 * (1 + arg % 16)) != safetwin::Status::invalid_argument);
      check_command(fw);
      require((passed_answers(fw) & ~genuine_sent) == 0);
    } else {
      const std::uint32_t id = hil_messages[arg % HIL_N_MESSAGES].frame_id;
      const std::uint8_t len = hil_messages[arg % HIL_N_MESSAGES].length;
      std::uint8_t frame[8];
      std::memcpy(frame, d, 8);
      hil_e2e_protect(id, frame, len);
      fw.on_frame(id, frame, len);
    }
  }
  return 0;
}
