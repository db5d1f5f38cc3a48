// The firmware's ISO-TP receiver against frames written out here by hand from ISO 15765-2's PCI
// layouts (SF 0x0N, FF 0x1L LL, CF 0x2S, FC 0x3S BS STmin): a 217-byte quote answer in 1 FF + 31
// CFs, block-size flow control, each refusal (sequence, gap past N_Cr, overflow, closed round,
// deadline) and the allocation count.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cstdint>
#include <vector>

#include "alloc_counter.hpp"
#include "attest_isotp.hpp"

using namespace safetwin::firmware;
using Frame = std::vector<std::uint8_t>;

namespace {

std::vector<Frame> segment(const std::vector<std::uint8_t>& msg) {
  std::vector<Frame> out;
  if (msg.size() <= 7) {
    Frame f{static_cast<std::uint8_t>(msg.size())};
    f.insert(f.end(), msg.begin(), msg.end());
    out.push_back(f);
    return out;
  }
  out.push_back({static_cast<std::uint8_t>(0x10 | (msg.size() >> 8)), static_cast<std::uint8_t>(msg.size() & 0xFF),
                 msg[0], msg[1], msg[2], msg[3], msg[4], msg[5]});
  std::uint8_t seq = 1;
  for (std::size_t at = 6; at < msg.size(); at += 7, seq = (seq + 1) & 0x0F) {
    Frame f{static_cast<std::uint8_t>(0x20 | seq)};
    for (std::size_t k = at; k < at + 7; ++k) f.push_back(k < msg.size() ? msg[k] : 0xCC);
    out.push_back(f);
  }
  return out;
}

std::vector<std::uint8_t> message(std::size_t n) {
  std::vector<std::uint8_t> m(n);
  for (std::size_t i = 0; i < n; ++i) m[i] = static_cast<std::uint8_t>(i * 7 + 3);
  return m;
}

IsoTpEvent feed(IsoTpReceiver& rx, const Frame& f, std::uint64_t t) {
  return rx.on_frame(f.data(), static_cast<std::uint8_t>(f.size()), t);
}

}  // namespace

TEST_CASE("a 217-byte answer: FF, FC(CTS, BS 0), 31 CFs, complete and byte-exact") {
  IsoTpReceiver rx;
  rx.open(2000);
  const auto msg = message(217);
  const auto frames = segment(msg);
  REQUIRE(frames.size() == 1 + 31);  // 6 + 31 * 7 = 223 >= 217
  CHECK(feed(rx, frames[0], 10) == IsoTpEvent::flow_control);
  CHECK(rx.fc()[0] == 0x30);
  CHECK(rx.fc()[1] == 0);
  for (std::size_t i = 1; i + 1 < frames.size(); ++i) CHECK(feed(rx, frames[i], 10 + i) == IsoTpEvent::none);
  CHECK(feed(rx, frames.back(), 50) == IsoTpEvent::complete);
  REQUIRE(rx.message_size() == 217);
  CHECK(std::vector<std::uint8_t>(rx.message(), rx.message() + 217) == msg);
  CHECK(feed(rx, frames[1], 51) == IsoTpEvent::ignored);  // complete: nothing more is taken
}

TEST_CASE("single frames and the sequence number wrapping past 15") {
  IsoTpReceiver rx;
  rx.open(100);
  CHECK(feed(rx, {0x03, 1, 2, 3}, 0) == IsoTpEvent::complete);
  CHECK(rx.message_size() == 3);
  rx.open(1000);
  const auto msg = message(6 + 7 * 20);  // sequence numbers 1..15, 0..4
  const auto frames = segment(msg);
  IsoTpEvent last = IsoTpEvent::none;
  for (const auto& f : frames) last = feed(rx, f, 1);
  CHECK(last == IsoTpEvent::complete);
  CHECK(rx.message_size() == msg.size());
}

TEST_CASE("block size 4: a flow control after every 4th CF") {
  IsoTpConfig c;
  c.block_size = 4;
  IsoTpReceiver rx(c);
  rx.open(1000);
  const auto frames = segment(message(6 + 7 * 9));
  int fcs = 0;
  for (const auto& f : frames) fcs += feed(rx, f, 1) == IsoTpEvent::flow_control ? 1 : 0;
  CHECK(fcs == 1 + 2);  // after the FF, after CF 4 and CF 8; CF 9 completes
  CHECK(rx.message_size() == 6 + 7 * 9);
}

TEST_CASE("refusals: wrong sequence, gap past N_Cr, overflow, bad PCI; the round stays open for a restart") {
  IsoTpReceiver rx;
  rx.open(5000);
  auto frames = segment(message(100));
  CHECK(feed(rx, frames[0], 0) == IsoTpEvent::flow_control);
  CHECK(feed(rx, frames[2], 1) == IsoTpEvent::error);    // CF 2 before CF 1
  CHECK(feed(rx, frames[1], 2) == IsoTpEvent::ignored);  // no message in progress any more
  CHECK(feed(rx, frames[0], 3) == IsoTpEvent::flow_control);
  CHECK(feed(rx, frames[1], 3 + 250) == IsoTpEvent::none);                       // N_Cr = 250 ms: exactly in
  CHECK(feed(rx, frames[2], 3 + 250 + 251) == IsoTpEvent::error);                // late
  CHECK(feed(rx, {0x1F, 0xFF, 0, 0, 0, 0, 0, 0}, 600) == IsoTpEvent::overflow);  // 4095 > 1626
  CHECK(rx.fc()[0] == 0x32);
  CHECK(feed(rx, {0x16, 0x5B, 0, 0, 0, 0, 0, 0}, 600) == IsoTpEvent::overflow);      // 1627: one past
  CHECK(feed(rx, {0x16, 0x5A, 0, 0, 0, 0, 0, 0}, 600) == IsoTpEvent::flow_control);  // 1626 fits
  CHECK(feed(rx, {0x10, 0x07, 0, 0, 0, 0, 0, 0}, 600) == IsoTpEvent::error);         // 7 bytes must be an SF
  CHECK(feed(rx, {0x00}, 600) == IsoTpEvent::error);                                 // SF of length 0
  CHECK(feed(rx, {0x05, 1, 2}, 600) == IsoTpEvent::error);                           // SF longer than the frame
  CHECK(feed(rx, {0x10, 100, 1, 2}, 600) == IsoTpEvent::error);                      // short FF
  CHECK(rx.errors() == 8);
  CHECK(rx.is_open());
  IsoTpEvent last = IsoTpEvent::none;
  for (const auto& f : frames) last = feed(rx, f, 700);
  CHECK(last == IsoTpEvent::complete);
}

TEST_CASE("bound to the round: nothing before open(), nothing after the deadline, which is a timeout once") {
  IsoTpReceiver rx;
  const auto frames = segment(message(40));
  CHECK(feed(rx, frames[0], 0) == IsoTpEvent::ignored);
  rx.open(2000);
  CHECK(feed(rx, frames[0], 1990) == IsoTpEvent::flow_control);
  CHECK(feed(rx, frames[1], 2000) == IsoTpEvent::none);
  CHECK_FALSE(rx.expired(2000));
  CHECK(feed(rx, frames[2], 2001) == IsoTpEvent::ignored);
  CHECK(rx.expired(2001));
  CHECK_FALSE(rx.expired(2002));
  CHECK_FALSE(rx.is_open());
  CHECK(rx.message_size() == 0);
}

TEST_CASE("rearm: a failed answer is dropped and the round stays open for the next one") {
  IsoTpReceiver rx;
  rx.open(1000);
  CHECK(feed(rx, {0x02, 9, 9}, 0) == IsoTpEvent::complete);
  rx.rearm();
  CHECK(rx.message_size() == 0);
  CHECK(rx.is_open());
  CHECK(feed(rx, {0x02, 1, 2}, 10) == IsoTpEvent::complete);
  CHECK(rx.message()[0] == 1);
}

TEST_CASE("no allocation while receiving") {
  IsoTpReceiver rx;
  const auto frames = segment(message(217));
  const long n = safetwin::test::count_allocations([&] {
    rx.open(1000);
    for (const auto& f : frames) (void)rx.on_frame(f.data(), static_cast<std::uint8_t>(f.size()), 1);
  });
  CHECK(n == 0);
  CHECK(rx.message_size() == 217);
}

TEST_CASE("split_quote: TPM2B_ATTEST then TPMT_SIGNATURE") {
  const std::uint8_t m[] = {0x00, 0x02, 0xAA, 0xBB, 0x01, 0x02, 0x03};
  const std::uint8_t *a = nullptr, *s = nullptr;
  std::size_t na = 0, ns = 0;
  REQUIRE(split_quote(m, sizeof m, a, na, s, ns));
  CHECK(na == 2);
  CHECK(a[0] == 0xAA);
  CHECK(ns == 3);
  CHECK(s[0] == 0x01);
  const std::uint8_t bad[] = {0x00, 0x09, 0xAA};
  CHECK_FALSE(split_quote(bad, sizeof bad, a, na, s, ns));
  CHECK_FALSE(split_quote(m, 1, a, na, s, ns));
}
