// libFuzzer harness: the firmware's frame handling (Firmware::on_frame, on_datagram) and the
// control cycle it feeds, on any sequence of frames, with and without a valid E2E CRC (so that
// inputs get past the CRC to the decoder and the frame dispatch). Properties: no crash, no UB
// (a NaN cast to an integer is UB and UBSan reports it), and after every cycle the command is
// finite and inside the cycle's own safe interval (DESIGN.md: never a NaN reaching a command).
// A fresh firmware per input, so that every crash reproduces from its input alone.
// Input: records of 10 bytes: selector | flags | 8 data bytes, where
//   selector   message index (mod the DBC's count) or, with flags bit 7, the raw CAN ID byte
//   flags      bit 0: protect (write the right CRC), bits 1..4: length (> 8: the message's),
//              bit 5: send as one datagram instead, bit 6: run a control cycle of 0.1 s after it.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "firmware.hpp"
#include "hil_e2e.h"
#include "hil_wire.h"
#include "safetwin_hil_table.h"

namespace {

#define REQUIRE(c)          \
  do {                      \
    if (!(c)) std::abort(); \
  } while (0)

safetwin::firmware::FirmwareConfig make_config() {
  safetwin::firmware::FirmwareConfig c;
  c.series = 6;  // a small pack: construction per input stays cheap; frames for cells 7..96 must be ignored
  // The MPC's Hessian is factored at construction, O(horizon^3): a third of an input's time at 30.
  c.control.horizon = 10;
  return c;
}

void check_command(const safetwin::firmware::Firmware& fw) {
  const auto& cmd = fw.command();
  REQUIRE(std::isfinite(cmd.current_a));
  REQUIRE(std::isfinite(cmd.current_min_a) && std::isfinite(cmd.current_max_a));
  REQUIRE(cmd.current_a >= cmd.current_min_a - 1e-9 && cmd.current_a <= cmd.current_max_a + 1e-9);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const safetwin::firmware::FirmwareConfig config = make_config();
  safetwin::firmware::Firmware fw(config);
  for (std::size_t off = 0; off + 10 <= size && off < 10 * 64; off += 10) {
    const std::uint8_t sel = data[off], flags = data[off + 1];
    const std::uint32_t id = (flags & 0x80u) ? sel : hil_messages[sel % HIL_N_MESSAGES].frame_id;
    const int index = hil_message_index(id);
    std::uint8_t len = static_cast<std::uint8_t>((flags >> 1) & 0x0Fu);
    if (len > 8) len = index >= 0 ? hil_messages[index].length : 8;
    std::uint8_t frame[8];
    std::memcpy(frame, data + off + 2, 8);
    if ((flags & 0x01u) && len >= 1) hil_e2e_protect(id, frame, len);
    if (flags & 0x20u) {
      std::uint8_t dgram[HIL_WIRE_HEADER_BYTES + HIL_WIRE_FRAME_BYTES];
      hil_wire_header(dgram, 1);
      hil_wire_put_frame(dgram, 0, id, frame, len);
      REQUIRE(fw.on_datagram(dgram, sizeof dgram) == safetwin::Status::ok);
    } else {
      fw.on_frame(id, frame, len);
    }
    if (flags & 0x40u) {
      (void)fw.cycle(0.1);
      check_command(fw);
    }
  }
  // Any bytes as a datagram: refused or taken, never a crash.
  (void)fw.on_datagram(data, size);
  return 0;
}
