#include "attest_isotp.hpp"

#include <cstring>

namespace safetwin::firmware {

const char* to_string(IsoTpEvent e) noexcept {
  switch (e) {
    case IsoTpEvent::none: return "none";
    case IsoTpEvent::complete: return "complete";
    case IsoTpEvent::flow_control: return "flow_control";
    case IsoTpEvent::ignored: return "ignored";
    case IsoTpEvent::error: return "error";
    case IsoTpEvent::overflow: return "overflow";
  }
  return "unknown";
}

void IsoTpReceiver::open(std::uint64_t deadline_ms) noexcept {
  open_ = true;
  receiving_ = false;
  complete_ = false;
  deadline_ms_ = deadline_ms;
  size_ = got_ = 0;
}

void IsoTpReceiver::rearm() noexcept {
  receiving_ = false;
  complete_ = false;
  size_ = got_ = 0;
}

void IsoTpReceiver::close() noexcept {
  open_ = false;
  receiving_ = false;
}

bool IsoTpReceiver::expired(std::uint64_t now_ms) noexcept {
  if (!open_ || complete_ || now_ms <= deadline_ms_) return false;
  close();
  return true;
}

IsoTpEvent IsoTpReceiver::fail(IsoTpEvent e) noexcept {
  ++errors_;
  receiving_ = false;  // the round stays open: the node may start its answer again before the deadline
  return e;
}

void IsoTpReceiver::make_fc(std::uint8_t status) noexcept {
  fc_ = {static_cast<std::uint8_t>(0x30 | status), config_.block_size, config_.st_min_ms, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC};
}

IsoTpEvent IsoTpReceiver::on_frame(const std::uint8_t* data, std::uint8_t len, std::uint64_t now_ms) noexcept {
  if (data == nullptr || len == 0 || len > 8) return fail(IsoTpEvent::error);
  if (!open_ || complete_ || now_ms > deadline_ms_) return IsoTpEvent::ignored;
  const std::uint8_t type = data[0] >> 4;
  switch (type) {
    case 0x0: {  // single frame: length in the low nibble, 1..7 (classic CAN)
      const std::size_t n = data[0] & 0x0F;
      if (n == 0 || n > 7 || n + 1 > len) return fail(IsoTpEvent::error);
      std::memcpy(buf_.data(), data + 1, n);
      size_ = n;
      receiving_ = false;
      complete_ = true;
      return IsoTpEvent::complete;
    }
    case 0x1: {  // first frame: 12-bit length, 8..4095; a message of <= 7 bytes must be an SF
      if (len < 8) return fail(IsoTpEvent::error);
      const std::size_t n = static_cast<std::size_t>(data[0] & 0x0F) << 8 | data[1];
      if (n < 8) return fail(IsoTpEvent::error);
      if (n > buf_.size()) {
        make_fc(0x2);  // FC overflow: the sender aborts
        fail(IsoTpEvent::overflow);
        return IsoTpEvent::overflow;
      }
      std::memcpy(buf_.data(), data + 2, 6);
      size_ = n;
      got_ = 6;
      next_seq_ = 1;
      block_left_ = config_.block_size;
      receiving_ = true;
      last_frame_ms_ = now_ms;
      make_fc(0x0);  // clear to send
      return IsoTpEvent::flow_control;
    }
    case 0x2: {                                     // consecutive frame
      if (!receiving_) return IsoTpEvent::ignored;  // e.g. the tail of an aborted message
      if (now_ms - last_frame_ms_ > config_.n_cr_ms) return fail(IsoTpEvent::error);
      if ((data[0] & 0x0F) != next_seq_) return fail(IsoTpEvent::error);
      const std::size_t want = size_ - got_ < 7 ? size_ - got_ : 7;
      if (static_cast<std::size_t>(len) < 1 + want) return fail(IsoTpEvent::error);
      std::memcpy(buf_.data() + got_, data + 1, want);
      got_ += want;
      next_seq_ = static_cast<std::uint8_t>((next_seq_ + 1) & 0x0F);
      last_frame_ms_ = now_ms;
      if (got_ == size_) {
        receiving_ = false;
        complete_ = true;
        return IsoTpEvent::complete;
      }
      if (config_.block_size != 0 && --block_left_ == 0) {
        block_left_ = config_.block_size;
        make_fc(0x0);
        return IsoTpEvent::flow_control;
      }
      return IsoTpEvent::none;
    }
    default:  // FC frames are the sender's business; 4..F are reserved
      return IsoTpEvent::ignored;
  }
}

bool split_quote(const std::uint8_t* msg, std::size_t size, const std::uint8_t*& attest, std::size_t& attest_size,
                 const std::uint8_t*& sig, std::size_t& sig_size) noexcept {
  if (msg == nullptr || size < 2) return false;
  const std::size_t n = static_cast<std::size_t>(msg[0]) << 8 | msg[1];
  if (n > size - 2) return false;
  attest = msg + 2;
  attest_size = n;
  sig = msg + 2 + n;
  sig_size = size - 2 - n;
  return true;
}

}  // namespace safetwin::firmware
