#pragma once
// ISO 15765-2 (ISO-TP) receiver of one node's attestation answer on classic CAN: normal addressing,
// 8-byte frames, single frame (SF) or first frame (FF) + consecutive frames (CF) with flow control
// (FC) from this side. One receiver per node, on that node's own CAN ID, so a reassembly is bound
// to the node by construction; it is bound to the round by open(): only a receiver opened for an
// issued nonce accepts a first frame, and only until the round's deadline (the TPM's quote latency
// plus the transfer), after which the partial message is dropped and the round is a timeout.
//
// Why not a library: no maintained C/C++ ISO-TP implementation is packaged in Debian or PyPI (the
// kernel's can-isotp is a SocketCAN protocol, and the firmware's link is UDP-framed CAN, not a
// socket); the bench side uses the maintained Python `can-isotp` package. This receiver is the
// minimal subset the quote needs, bounded everywhere: fixed buffer, 12-bit FF length checked
// against it (FC overflow otherwise), sequence numbers checked, N_Cr timeout, no allocation.
#include <array>
#include <cstddef>
#include <cstdint>

namespace safetwin::firmware {

struct IsoTpConfig {
  std::uint8_t block_size = 0;  // FC.BS: 0 = all CFs without further FC
  std::uint8_t st_min_ms = 0;   // FC.STmin
  std::uint64_t n_cr_ms = 250;  // max gap between consecutive frames (ISO 15765-2 N_Cr: 1000 max)
};

enum class IsoTpEvent : std::uint8_t {
  none = 0,      // frame consumed, nothing complete yet
  complete,      // message() holds one whole message
  flow_control,  // fc() holds a flow-control frame to send back now
  ignored,       // no round open for this node, or padding/unknown frame: dropped
  error,         // bad PCI, length, sequence or a gap past N_Cr: the message is dropped
  overflow,      // FF announced more than the buffer: FC(overflow) in fc(), message dropped
};
[[nodiscard]] const char* to_string(IsoTpEvent e) noexcept;

class IsoTpReceiver {
 public:
  static constexpr std::size_t kCapacity = 2 + 1024 + 600;  // TPM2B_ATTEST + TPMT_SIGNATURE maxima (quote_wire.hpp)

  IsoTpReceiver() noexcept = default;
  explicit IsoTpReceiver(const IsoTpConfig& config) noexcept : config_(config) {}

  // A round for this node is open from now on until deadline_ms (a new open() restarts it).
  void open(std::uint64_t deadline_ms) noexcept;
  void close() noexcept;
  // After a complete answer failed verification: drop it and keep the round open until its
  // deadline, so that a forged answer cannot end the round before the honest node's arrives.
  void rearm() noexcept;
  [[nodiscard]] bool is_open() const noexcept { return open_; }
  // True (and the round closed) when the round's deadline passed without a complete message.
  [[nodiscard]] bool expired(std::uint64_t now_ms) noexcept;

  // One CAN frame of this node's ID (len <= 8).
  [[nodiscard]] IsoTpEvent on_frame(const std::uint8_t* data, std::uint8_t len, std::uint64_t now_ms) noexcept;

  [[nodiscard]] const std::uint8_t* message() const noexcept { return buf_.data(); }
  [[nodiscard]] std::size_t message_size() const noexcept { return complete_ ? size_ : 0; }
  [[nodiscard]] const std::array<std::uint8_t, 8>& fc() const noexcept { return fc_; }
  [[nodiscard]] std::uint32_t errors() const noexcept { return errors_; }

 private:
  IsoTpEvent fail(IsoTpEvent e) noexcept;
  void make_fc(std::uint8_t status) noexcept;

  IsoTpConfig config_;
  std::array<std::uint8_t, kCapacity> buf_{};
  std::array<std::uint8_t, 8> fc_{};
  bool open_ = false, receiving_ = false, complete_ = false;
  std::uint64_t deadline_ms_ = 0, last_frame_ms_ = 0;
  std::size_t size_ = 0, got_ = 0;
  std::uint8_t next_seq_ = 1, block_left_ = 0;
  std::uint32_t errors_ = 0;
};

// The answer's layout on the link: TPM2B_ATTEST (u16 size + TPMS_ATTEST) followed by the
// TPMT_SIGNATURE, as tpm2_quote writes its -m and -s files back to back. Splits a message into
// the two views; false when the sizes do not add up.
[[nodiscard]] bool split_quote(const std::uint8_t* msg, std::size_t size, const std::uint8_t*& attest,
                               std::size_t& attest_size, const std::uint8_t*& sig, std::size_t& sig_size) noexcept;

}  // namespace safetwin::firmware
