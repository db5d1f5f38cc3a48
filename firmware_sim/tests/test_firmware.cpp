// The firmware logic without a process: frames in, one cycle, frames out. Zero allocations per
// cycle, E2E rejection, watchdog boundaries, lockstep repetition, fail-closed commands, the guarded
// cycle's tiers and the attestation digest reaching FW_STATUS / FW_EVENT.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "alloc_counter.hpp"
#include "firmware.hpp"
#include "hil_e2e.h"
#include "hil_wire.h"
#include "quote_test_node.hpp"
#include "safetwin_hil.h"
#include "safetwin_hil_table.h"

using namespace safetwin::firmware;

namespace {

// The plant side in miniature: packs one cycle of frames with the generated table, as the
// harness's Cython codec does.
class Plant {
 public:
  explicit Plant(int n) : n_(n) {}
  double cell_v = 3.7, cell_t_c = 25.0, pack_i = 0.0, req_i = 0.0;
  int req_mode = 0;
  bool heartbeat = true, tick = true;
  int corrupt_cell_frame = -1;  // index of the cell-voltage frame to corrupt, -1 none
  int silent_cell_frame = -1;   // index of the cell-voltage frame (sensor node) that sends nothing, -1 none
  int hot_cell = -1;            // this cell reads hot_cell_c instead of cell_t_c
  double hot_cell_c = 25.0;
  std::vector<std::pair<std::uint32_t, std::vector<std::uint8_t>>> raw;  // sent as they are before the tick

  std::size_t cycle(std::uint32_t seq, double dt, std::uint8_t* buf) {
    n_frames_ = 0;
    double phys[HIL_MAX_SIGNALS];
    if (heartbeat) {
      phys[2] = seq * dt;
      phys[3] = 1;
      put(SAFETWIN_HIL_PLANT_HEARTBEAT_FRAME_ID, 0, phys, buf);
    }
    phys[2] = pack_i;
    phys[3] = cell_v * n_;
    phys[4] = 1;
    put(SAFETWIN_HIL_PACK_MEAS_FRAME_ID, 0, phys, buf);
    phys[2] = req_i;
    phys[3] = req_mode;
    put(SAFETWIN_HIL_LOAD_REQUEST_FRAME_ID, 0, phys, buf);
    for (int g = 0; g < (n_ + 2) / 3; ++g) {
      if (g == silent_cell_frame) continue;
      for (double& p : phys) p = NAN;
      phys[2] = g % 16;
      for (int k = 0; k < 3; ++k)
        if (g * 3 + k < n_) phys[3 + (g % 16) * 3 + k] = cell_v;
      const std::size_t at = n_frames_;
      put(g < 16 ? SAFETWIN_HIL_CELL_V_A_FRAME_ID : SAFETWIN_HIL_CELL_V_B_FRAME_ID, g, phys, buf);
      if (g == corrupt_cell_frame) buf[HIL_WIRE_HEADER_BYTES + at * HIL_WIRE_FRAME_BYTES + 8 + 3] ^= 0x04;
    }
    for (int g = 0; g < (n_ + 5) / 6; ++g) {
      for (double& p : phys) p = NAN;
      phys[2] = g;
      for (int k = 0; k < 6; ++k)
        if (g * 6 + k < n_) phys[3 + g * 6 + k] = g * 6 + k == hot_cell ? hot_cell_c : cell_t_c;
      put(SAFETWIN_HIL_CELL_T_FRAME_ID, g, phys, buf);
    }
    for (const auto& [id, bytes] : raw) hil_wire_put_frame(buf, n_frames_++, id, bytes.data(), 8);
    raw.clear();
    if (tick) {
      phys[2] = seq;
      phys[3] = dt;
      put(SAFETWIN_HIL_PLANT_TICK_FRAME_ID, 0, phys, buf);
    }
    hil_wire_header(buf, static_cast<std::uint16_t>(n_frames_));
    return HIL_WIRE_HEADER_BYTES + n_frames_ * HIL_WIRE_FRAME_BYTES;
  }

 private:
  void put(std::uint32_t id, int mux, double* phys, std::uint8_t* buf) {
    std::uint8_t data[8];
    std::uint8_t& c = counters_[(id & 0xFFu) * 16u + static_cast<unsigned>(mux)];
    phys[0] = 0;
    phys[1] = c;
    c = static_cast<std::uint8_t>((c + 1) & 0x0F);
    REQUIRE(hil_encode(hil_message_index(id), phys, data, 8) == 8);
    hil_e2e_protect(id, data, 8);
    hil_wire_put_frame(buf, n_frames_++, id, data, 8);
  }
  int n_;
  std::size_t n_frames_ = 0;
  std::array<std::uint8_t, 256 * 16> counters_{};
};

struct Decoded {
  double current_a = NAN;
  int contactor = -1, mode = -1, flags = -1;
  std::int64_t ack = -1;
  std::vector<std::pair<int, int>> events;  // (code, cell)
};

Decoded decode(const Firmware& fw) {
  Decoded d;
  double phys[HIL_MAX_SIGNALS];
  for (std::size_t i = 0; i < fw.output_count(); ++i) {
    const Frame& f = fw.output(i);
    if (f.id >= SAFETWIN_HIL_ATTEST_FC_0_FRAME_ID && f.id <= SAFETWIN_HIL_ATTEST_FC_7_FRAME_ID) continue;  // ISO-TP
    REQUIRE(f.data[0] == hil_e2e_crc(f.id, f.data, 8));
    REQUIRE(hil_decode(hil_message_index(f.id), f.data, 8, phys) == 0);
    if (f.id == SAFETWIN_HIL_FW_COMMAND_FRAME_ID) {
      d.current_a = phys[2];
      d.contactor = static_cast<int>(phys[3]);
    } else if (f.id == SAFETWIN_HIL_FW_STATUS_FRAME_ID) {
      d.mode = static_cast<int>(phys[2]);
      d.flags = static_cast<int>(phys[4]);  // FAULT_FLAGS, after DIAG_FLAGS (start bit 18) in the table order
    } else if (f.id == SAFETWIN_HIL_FW_TICK_ACK_FRAME_ID) {
      d.ack = static_cast<std::int64_t>(phys[2]);
    } else if (f.id == SAFETWIN_HIL_FW_EVENT_FRAME_ID) {
      d.events.emplace_back(static_cast<int>(phys[2]), static_cast<int>(phys[4]));
    }
  }
  return d;
}

constexpr int kBit(Fault f) { return 1 << (static_cast<int>(f) - 1); }

bool has_event(const Decoded& d, Fault f, int cell) {
  for (const auto& [code, c] : d.events)
    if (code == static_cast<int>(f) && c == cell) return true;
  return false;
}

// One lockstep cycle: the plant's frames in, the firmware's answer decoded.
Decoded step(Firmware& fw, Plant& plant, std::uint32_t seq, double dt) {
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
  REQUIRE(fw.on_datagram(buf.data(), plant.cycle(seq, dt, buf.data())) == safetwin::Status::ok);
  REQUIRE(fw.lockstep_step());
  return decode(fw);
}

}  // namespace

TEST_CASE("a lockstep cycle over a 96-cell pack allocates nothing") {
  FirmwareConfig cfg;
  cfg.series = 96;
  Firmware fw(cfg);
  Plant plant(96);
  plant.req_mode = 2;
  plant.req_i = 10.0;
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES), out(HIL_WIRE_MAX_BYTES);
  // Counted from the first cycle on: the estimators' start from the first readings included.
  long allocs = 0;
  for (std::uint32_t seq = 1; seq < 5000; ++seq) {
    const std::size_t n = plant.cycle(seq, 0.01, buf.data());
    allocs += safetwin::test::count_allocations([&] {
      (void)fw.on_datagram(buf.data(), n);
      (void)fw.lockstep_step();
      (void)fw.output_datagram(out.data(), out.size());
    });
  }
  CHECK(allocs == 0);
  const Decoded d = decode(fw);
  CHECK(d.ack == 4999);
  CHECK(d.current_a == doctest::Approx(10.0));
  CHECK(d.flags == 0);
  CHECK(fw.cycles() == 4999);
  CHECK(fw.e2e_errors() == 0);
}

TEST_CASE("charging through the estimator and the MPC allocates nothing either") {
  for (const ControllerKind kind : {ControllerKind::mpc, ControllerKind::cccv}) {
    FirmwareConfig cfg;
    cfg.series = 96;
    cfg.control.controller = kind;
    Firmware fw(cfg);
    Plant plant(96);
    plant.req_mode = 1;
    plant.req_i = -15.0;
    plant.cell_v = 3.6;
    std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
    long allocs = 0;
    double first_cmd = NAN;
    for (std::uint32_t seq = 1; seq < 300; ++seq) {
      const std::size_t n = plant.cycle(seq, 1.0, buf.data());
      const long a = safetwin::test::count_allocations([&] {
        (void)fw.on_datagram(buf.data(), n);
        (void)fw.lockstep_step();
      });
      allocs += a;  // the first cycle too
      const Decoded d = decode(fw);
      if (seq == 1) first_cmd = d.current_a;
      plant.pack_i = d.current_a;  // the plant draws what is commanded
      CHECK(d.current_a <= 0.0);
      CHECK(d.current_a >= -15.0);
    }
    CHECK(allocs == 0);
    CHECK(first_cmd < -1.0);  // a charge starts at once
    CHECK(fw.control_report().started);
    CHECK(fw.control_report().limiting_group >= 0);
    // the charge law planned (on the limiting group) and succeeded
    CHECK(fw.control_report().controller == safetwin::Status::ok);
    CHECK(fw.control_report().cycle == safetwin::Status::ok);
    // The guarded cycle stays NORMAL (the firmware itself latches SENSOR_STUCK on this plant's
    // constant voltages under current).
    CHECK(fw.control_report().mode == safetwin::safety::Mode::normal);
    CHECK(fw.control_report().soc_mean == doctest::Approx(0.2).epsilon(0.5));  // OCV(3.6 V) of the LG M50
  }
}

TEST_CASE("a corrupted cell-voltage frame is a missing measurement: command 0 for that cycle") {
  FirmwareConfig cfg;
  cfg.series = 12;
  Firmware fw(cfg);
  Plant plant(12);
  plant.req_mode = 2;
  plant.req_i = 5.0;
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
  for (std::uint32_t seq = 1; seq <= 3; ++seq) {
    plant.corrupt_cell_frame = seq == 2 ? 1 : -1;
    (void)fw.on_datagram(buf.data(), plant.cycle(seq, 0.1, buf.data()));
    REQUIRE(fw.lockstep_step());
    const Decoded d = decode(fw);
    if (seq == 2) {
      CHECK(d.current_a == 0.0);
      CHECK((d.flags & kBit(Fault::cell_voltage_missing)) != 0);
      CHECK((d.flags & kBit(Fault::e2e_error)) != 0);
      CHECK(std::isnan(fw.measurements().cell_voltage_v[3]));
      CHECK(fw.measurements().cell_voltage_v[2] == doctest::Approx(3.7));
    } else {
      CHECK(d.current_a == doctest::Approx(5.0));
      CHECK(d.flags == 0);
    }
  }
  CHECK(fw.e2e_errors() == 1);
}

TEST_CASE("plant heartbeat watchdog trips one cycle past its timeout, not at it") {
  FirmwareConfig cfg;
  cfg.series = 6;
  cfg.plant_heartbeat_timeout_s = 0.05;
  Firmware fw(cfg);
  Plant plant(6);
  plant.req_mode = 2;
  plant.req_i = 3.0;
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
  std::uint32_t seq = 1;
  (void)fw.on_datagram(buf.data(), plant.cycle(seq++, 0.01, buf.data()));
  REQUIRE(fw.lockstep_step());
  plant.heartbeat = false;
  for (int silent = 1; silent <= 5; ++silent) {  // 5 x 10 ms = exactly the timeout: still alive
    (void)fw.on_datagram(buf.data(), plant.cycle(seq++, 0.01, buf.data()));
    REQUIRE(fw.lockstep_step());
    CHECK(fw.mode() != Mode::safe_stop);
    CHECK(decode(fw).current_a == doctest::Approx(3.0));
  }
  (void)fw.on_datagram(buf.data(), plant.cycle(seq++, 0.01, buf.data()));
  REQUIRE(fw.lockstep_step());
  const Decoded d = decode(fw);
  CHECK(fw.mode() == Mode::safe_stop);
  CHECK(d.current_a == 0.0);
  CHECK(d.contactor == 0);
  CHECK((d.flags & kBit(Fault::plant_heartbeat_lost)) != 0);
  // latched: a heartbeat that comes back does not release SAFE_STOP
  plant.heartbeat = true;
  (void)fw.on_datagram(buf.data(), plant.cycle(seq++, 0.01, buf.data()));
  REQUIRE(fw.lockstep_step());
  CHECK(fw.mode() == Mode::safe_stop);
  CHECK(decode(fw).current_a == 0.0);
}

TEST_CASE("a repeated tick re-sends the same answer without running a cycle") {
  FirmwareConfig cfg;
  cfg.series = 3;
  Firmware fw(cfg);
  Plant plant(3);
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES), a(HIL_WIRE_MAX_BYTES), b(HIL_WIRE_MAX_BYTES);
  const std::size_t n = plant.cycle(1, 0.1, buf.data());
  (void)fw.on_datagram(buf.data(), n);
  REQUIRE(fw.lockstep_step());
  const std::size_t na = fw.output_datagram(a.data(), a.size());
  (void)fw.on_datagram(buf.data(), n);  // the harness lost our answer and re-sends the same datagram
  REQUIRE(fw.lockstep_step());
  const std::size_t nb = fw.output_datagram(b.data(), b.size());
  CHECK(fw.cycles() == 1);
  REQUIRE(na == nb);
  CHECK(std::equal(a.begin(), a.begin() + static_cast<long>(na), b.begin()));
  CHECK(decode(fw).ack == 1);
  // no tick, no cycle
  plant.tick = false;
  (void)fw.on_datagram(buf.data(), plant.cycle(2, 0.1, buf.data()));
  CHECK_FALSE(fw.lockstep_step());
}

TEST_CASE("the guarded cycle's voltage tiers: derate inside the stop margin, SAFE_STOP past it") {
  // Cell 2 reads V_max + dv on every cycle; the monitor (sample period 1 s, debounce set_s = 2 s,
  // two samples) derates at V_max + 0.03 V and stops at V_max + 0.06 V.
  for (const double dv : {0.0599, 0.0601}) {
    FirmwareConfig cfg;
    cfg.series = 3;
    cfg.control.period_s = 1.0;
    Firmware fw(cfg);
    Plant plant(3);
    plant.cell_v = 4.2 + dv;
    plant.req_mode = 1;
    plant.req_i = -10.0;
    Decoded d;
    bool derate_event = false, stop_event = false;
    for (std::uint32_t seq = 1; seq <= 3; ++seq) {
      d = step(fw, plant, seq, 1.0);
      CHECK(d.current_a == 0.0);  // above V_max the CBF allows no charge in either case
      derate_event = derate_event || has_event(d, Fault::safety_derate, 1);
      stop_event = stop_event || has_event(d, Fault::over_voltage, 1);
    }
    CHECK(derate_event);  // raised once, with the first group in which it became active
    CHECK(stop_event == (dv > 0.06));
    CHECK((fw.mode() == Mode::safe_stop) == (dv > 0.06));
    CHECK(((d.flags & kBit(Fault::safety_stop)) != 0) == (dv > 0.06));
    CHECK(d.contactor == (dv > 0.06 ? 0 : 1));
  }
}

TEST_CASE("a hot cell derates the pack through the supervisor's current scale") {
  // Cell 4 at 42 degC: past the derate tier (T_max - 3.5 K = 41.5 degC), below the stop tier (43 degC).
  FirmwareConfig cfg;
  cfg.series = 6;
  cfg.control.period_s = 1.0;
  Firmware fw(cfg);
  Plant plant(6);
  plant.req_mode = 2;
  plant.req_i = 20.0;
  plant.hot_cell = 4;
  plant.hot_cell_c = 42.0;
  Decoded d = step(fw, plant, 1, 1.0);
  CHECK(d.current_a == doctest::Approx(20.0));  // debounce: one sample is not yet a derate
  CHECK(fw.mode() == Mode::normal);
  d = step(fw, plant, 2, 1.0);
  CHECK(has_event(d, Fault::safety_derate, 5));
  CHECK(fw.mode() == Mode::derated);
  d = step(fw, plant, 3, 1.0);
  // DERATED: the discharge limit 25 A scaled by derate_factor 0.5
  CHECK(d.current_a > 0.0);
  CHECK(d.current_a <= 12.5 + 0.005);
  CHECK(d.mode == static_cast<int>(Mode::derated));
  CHECK((d.flags & kBit(Fault::safety_derate)) != 0);
}

namespace {
std::string hex_of(const quote_test::Bytes& b) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (const std::uint8_t x : b) {
    s += digits[x >> 4];
    s += digits[x & 15];
  }
  return s;
}

// ISO-TP frames of an answer (out of line: GCC 12's -Warray-bounds misreads segment() inlined here).
[[gnu::noinline]] std::vector<quote_test::Bytes> frames_of(const quote_test::Bytes& answer) {
  return quote_test::segment(answer);
}

// The nonce of node 0's round if the firmware's outputs carry all six ATTEST_NONCE_0 fragments.
quote_test::Bytes nonce_out(const Firmware& fw) {
  quote_test::Bytes nonce(32);
  unsigned seen = 0;
  double phys[HIL_MAX_SIGNALS];
  for (std::size_t i = 0; i < fw.output_count(); ++i) {
    const Frame& f = fw.output(i);
    if (f.id != SAFETWIN_HIL_ATTEST_NONCE_0_FRAME_ID) continue;
    REQUIRE(f.data[0] == hil_e2e_crc(f.id, f.data, 8));
    REQUIRE(hil_decode(hil_message_index(f.id), f.data, 8, phys) == 0);
    const auto g = static_cast<std::size_t>(phys[2]);
    auto v = static_cast<std::uint64_t>(phys[3 + g]);
    for (std::size_t b = 0; b < 6 && 6 * g + b < 32; ++b, v >>= 8) nonce[6 * g + b] = static_cast<std::uint8_t>(v);
    seen |= 1u << g;
  }
  return seen == 0x3Fu ? nonce : quote_test::Bytes{};
}

// (kind, reason) of the ATTEST_RESULT frames of the firmware's outputs for node 0.
std::vector<std::pair<int, int>> results_out(const Firmware& fw) {
  std::vector<std::pair<int, int>> r;
  double phys[HIL_MAX_SIGNALS];
  for (std::size_t i = 0; i < fw.output_count(); ++i) {
    const Frame& f = fw.output(i);
    if (f.id != SAFETWIN_HIL_ATTEST_RESULT_FRAME_ID) continue;
    REQUIRE(hil_decode(hil_message_index(f.id), f.data, 8, phys) == 0);
    if (phys[2] == 0.0) r.emplace_back(static_cast<int>(phys[3]), static_cast<int>(phys[4]));
  }
  return r;
}
}  // namespace

TEST_CASE("quotes over ISO-TP drive the cell monitor's trust: a tampered node (PCR change) stops the pack") {
  using quote_test::TestNode;
  for (const bool tampered : {false, true}) {
    TestNode node(1);
    FirmwareConfig cfg;
    cfg.series = 4;
    cfg.control.period_s = 1.0;
    cfg.attest.seed = 7;
    cfg.attest.verifier.nonce_lifetime_ms = 3000;  // 1 s cycles: nonce out, FF in, CFs in
    cfg.attest.isotp.n_cr_ms = 1500;
    add_attest_node(cfg, "attest_node",
                    hex_of(node.pub) + ":87:" + hex_of(node.golden()) + ":" + std::to_string(node.firmware));
    Firmware fw(cfg);
    Plant plant(4);
    plant.req_mode = 2;
    plant.req_i = 5.0;
    bool distrusted = false;
    Decoded d;
    std::map<int, int> rounds;  // reason -> rounds ended with it
    quote_test::Bytes pending;  // the answer to send next cycle
    std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
    int verifies = 0;
    for (std::uint32_t seq = 1; seq <= 30; ++seq) {
      if (!pending.empty()) {
        for (const quote_test::Bytes& f : frames_of(pending)) {
          std::vector<std::uint8_t> frame(8, 0xCC);
          std::copy(f.begin(), f.end(), frame.begin());
          plant.raw.emplace_back(SAFETWIN_HIL_ATTEST_QUOTE_0_FRAME_ID, frame);
        }
        pending.clear();
      }
      const std::size_t n = plant.cycle(seq, 1.0, buf.data());
      const long allocs = safetwin::test::count_allocations([&] {
        (void)fw.on_datagram(buf.data(), n);
        (void)fw.lockstep_step();
      });
      d = decode(fw);
      distrusted = distrusted || has_event(d, Fault::sensor_distrusted, 1);
      bool verified = false;
      for (const auto& [kind, reason] : results_out(fw)) {
        if (kind == 1) ++rounds[reason];
        verified = verified || kind == 0;
      }
      // Only libcrypto's ECDSA verify allocates (quote_verifier.hpp), after the control step.
      if (!verified) CHECK(allocs == 0);
      verifies += verified ? 1 : 0;
      const quote_test::Bytes nonce = nonce_out(fw);
      if (!nonce.empty()) {
        if (tampered && seq > 6) node.pcrs[3] = quote_test::sha256(node.pcrs[3]);  // measured boot changed
        node.clock_ms = 1000 + 1000 * seq;
        const quote_test::Bytes at = node.attest(nonce);
        pending = quote_test::answer(at, node.sign(at));
      }
    }
    const double trust = fw.control().pack_cycle().trust()->state().trust(0);
    CHECK(verifies == 6);  // one answer per round at 0, 5, ..., 25 s
    if (tampered) {
      CHECK(rounds[static_cast<int>(AttestReason::pass)] == 2);  // the rounds at 0 s and 5 s
      CHECK(rounds[static_cast<int>(AttestReason::fail_pcr)] >= 2);
      CHECK(trust < 0.01);
      CHECK(distrusted);
      CHECK(fw.mode() == Mode::safe_stop);  // no trusted voltage node left
      CHECK(d.current_a == 0.0);
    } else {
      CHECK(rounds.size() == 1);
      CHECK(rounds[static_cast<int>(AttestReason::pass)] == 6);  // rounds at 0, 5, ..., 25 s
      CHECK(trust > 0.9);
      CHECK_FALSE(distrusted);
      CHECK(fw.mode() == Mode::normal);
      CHECK(d.current_a == doctest::Approx(5.0));
    }
  }
  FirmwareConfig cfg;
  CHECK_THROWS_WITH_AS(add_attest_node(cfg, "attest_node", "abc:87:00"),
                       doctest::Contains("attest_node: AK_PUBLIC_HEX = 'abc'"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(add_attest_node(cfg, "attest_node", "0011:87:00"), doctest::Contains("GOLDEN_HEX has 1 bytes"),
                       std::invalid_argument);
  CHECK(cfg.attest.nodes.empty());
}

TEST_CASE("--attest-node with a parent's Qualified Name enrols an EK-child AK: its quotes pass, not without it") {
  using quote_test::TestNode;
  TestNode node(1);
  node.parent_qn = quote_test::cat({0x00, 0x0B}, quote_test::sha256({'e', 'k'}));  // the EK's QN
  const std::string base = hex_of(node.pub) + ":87:" + hex_of(node.golden()) + ":" + std::to_string(node.firmware);
  for (const bool with_parent : {true, false}) {
    FirmwareConfig cfg;
    cfg.series = 4;
    cfg.control.period_s = 1.0;
    cfg.attest.verifier.nonce_lifetime_ms = 3000;
    cfg.attest.isotp.n_cr_ms = 1500;
    add_attest_node(cfg, "attest_node", with_parent ? base + ":" + hex_of(node.parent_qn) : base);
    Firmware fw(cfg);
    Plant plant(4);
    std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
    std::vector<std::pair<int, int>> answers;  // (kind, reason) of node 0
    for (std::uint32_t seq = 1; seq <= 3; ++seq) {
      (void)fw.on_datagram(buf.data(), plant.cycle(seq, 1.0, buf.data()));
      (void)fw.lockstep_step();
      for (const auto& r : results_out(fw)) answers.push_back(r);
      const quote_test::Bytes nonce = nonce_out(fw);
      if (nonce.empty()) continue;
      node.clock_ms = 1000 + 1000 * seq;
      const quote_test::Bytes at = node.attest(nonce);
      for (const quote_test::Bytes& f : frames_of(quote_test::answer(at, node.sign(at)))) {
        std::vector<std::uint8_t> frame(8, 0xCC);
        std::copy(f.begin(), f.end(), frame.begin());
        plant.raw.emplace_back(SAFETWIN_HIL_ATTEST_QUOTE_0_FRAME_ID, frame);
      }
    }
    REQUIRE(!answers.empty());
    // without the parent the qualifiedSigner is not the enrolled AK's: check `signer`, reason fail
    CHECK(answers[0] ==
          std::pair<int, int>{0, static_cast<int>(with_parent ? AttestReason::pass : AttestReason::fail)});
  }
  FirmwareConfig cfg;
  CHECK_THROWS_WITH_AS(add_attest_node(cfg, "attest_node", base + ":00ff"),
                       doctest::Contains("PARENT_QN_HEX has 2 bytes: a Qualified Name is 34"), std::invalid_argument);
  CHECK(cfg.attest.nodes.empty());
}

TEST_CASE("each attestation node weighs the voltages of its own groups: default blocks, explicit groups, refusals") {
  AttestConfig a;
  a.nodes.resize(3);
  // default split of 10 groups over 3 nodes: [0, 3), [3, 6), [6, 10) (k * series / N)
  CHECK(attest_voltage_nodes(a, 10) == std::vector<int>{0, 0, 0, 1, 1, 1, 2, 2, 2, 2});
  a.nodes.resize(1);
  CHECK(attest_voltage_nodes(a, 4) == std::vector<int>{0, 0, 0, 0});  // one node: every group
  FirmwareConfig cfg;
  cfg.series = 6;
  cfg.attest.nodes.resize(2);
  set_attest_node_groups(cfg, "--attest-node-groups", "1:0:2");
  set_attest_node_groups(cfg, "--attest-node-groups", "0:3:2");
  // groups 2 and 5 are measured by no attested node: not weighted by trust
  CHECK(attest_voltage_nodes(cfg.attest, 6) ==
        std::vector<int>{1, 1, safetwin::trust::kNoNode, 0, 0, safetwin::trust::kNoNode});
  const FirmwareConfig before = cfg;
  CHECK_THROWS_WITH_AS(set_attest_node_groups(cfg, "--attest-node-groups", "2:0:1"),
                       doctest::Contains("node 2 is not enrolled"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(set_attest_node_groups(cfg, "--attest-node-groups", "1:0"),
                       doctest::Contains("NODE:FIRST_GROUP:GROUP_COUNT"), std::invalid_argument);
  CHECK_THROWS_WITH_AS(set_attest_node_groups(cfg, "--attest-node-groups", "1:0:0"),
                       doctest::Contains("GROUP_COUNT must be at least 1"), std::invalid_argument);
  CHECK(cfg.attest.nodes[1].first_group == before.attest.nodes[1].first_group);
  CHECK(cfg.attest.nodes[1].group_count == before.attest.nodes[1].group_count);
  cfg.attest.nodes[1].first_group = 2;
  cfg.attest.nodes[1].group_count = 2;
  CHECK_THROWS_WITH_AS(attest_voltage_nodes(cfg.attest, 6),
                       doctest::Contains("attest.nodes[1].first_group = 2: group 3 is already measured by node 0"),
                       std::invalid_argument);
  cfg.attest.nodes[1].first_group = 5;
  CHECK_THROWS_WITH_AS(attest_voltage_nodes(cfg.attest, 6),
                       doctest::Contains("with group_count 2 must lie within the 6 series groups"),
                       std::invalid_argument);
}

TEST_CASE("non-finite or non-positive dt fails closed") {
  FirmwareConfig cfg;
  cfg.series = 3;
  Firmware fw(cfg);
  CHECK(fw.cycle(NAN) == safetwin::Status::invalid_argument);
  CHECK(fw.mode() == Mode::safe_stop);
  CHECK(decode(fw).current_a == 0.0);
  CHECK(fw.cycle(0.01) == safetwin::Status::ok);
  CHECK(fw.mode() == Mode::safe_stop);
}

TEST_CASE("construction refuses bad configuration naming the field") {
  FirmwareConfig cfg;
  cfg.series = 97;
  CHECK_THROWS_WITH_AS(Firmware{cfg}, doctest::Contains("FirmwareConfig.series = 97"), std::invalid_argument);
  cfg = FirmwareConfig{};
  cfg.plant_heartbeat_timeout_s = -1.0;
  CHECK_THROWS_WITH_AS(Firmware{cfg}, doctest::Contains("FirmwareConfig.plant_heartbeat_timeout_s"),
                       std::invalid_argument);
  cfg = FirmwareConfig{};
  cfg.control.cv_voltage_v = 4.3;
  CHECK_THROWS_WITH_AS(Firmware{cfg}, doctest::Contains("ControlStepConfig.cv_voltage_v"), std::invalid_argument);
}

TEST_CASE("a charge at 100 Hz starts within the first cycles (the law's period is not the cycle's)") {
  FirmwareConfig cfg;
  cfg.series = 4;
  cfg.control.period_s = 0.01;
  Firmware fw(cfg);
  Plant plant(4);
  plant.req_mode = 1;
  plant.req_i = -15.0;
  plant.cell_v = 3.4;
  Decoded d;
  for (std::uint32_t seq = 1; seq <= 10; ++seq) {
    d = step(fw, plant, seq, 0.01);
    const auto& gs = fw.control().pack_cycle().group_status(0);
    INFO("seq " << seq << " law " << static_cast<int>(fw.control_report().controller) << " cycle "
                << static_cast<int>(fw.control_report().cycle) << " req " << gs.requested_a << " cbf [" << gs.cbf.lo_a
                << ", " << gs.cbf.hi_a << "] sup " << static_cast<int>(gs.supervisor_status) << " pred "
                << gs.supervisor.predictive_refused << " hold " << gs.supervisor.holding);
    CHECK(d.current_a < -1.0);
  }
}

namespace {
// One E2E-protected frame from the generated pack function, which masks bits but does not check
// the DBC range (as a faulty or hostile sender would not), alone in a datagram.
template <class Msg, class Pack>
std::size_t raw_datagram(std::uint32_t id, Msg msg, Pack pack, std::uint8_t* buf) {
  std::uint8_t data[8] = {};
  REQUIRE(pack(data, &msg, sizeof data) == 8);
  hil_e2e_protect(id, data, 8);
  hil_wire_header(buf, 1);
  hil_wire_put_frame(buf, 0, id, data, 8);
  return HIL_WIRE_HEADER_BYTES + HIL_WIRE_FRAME_BYTES;
}
}  // namespace

TEST_CASE("the decoder enforces every declared DBC range: out-of-range frames are E2E errors") {
  FirmwareConfig cfg;
  cfg.series = 6;
  Firmware fw(cfg);
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
  // TICK_DT: 16 bits of 0.1 ms declared [0.0001, 6.5535] s; raw 0 (a zero step) is below the range.
  safetwin_hil_plant_tick_t t{};
  t.tick_seq = 1;
  t.tick_dt = 0;
  std::size_t n = raw_datagram(SAFETWIN_HIL_PLANT_TICK_FRAME_ID, t, safetwin_hil_plant_tick_pack, buf.data());
  REQUIRE(fw.on_datagram(buf.data(), n) == safetwin::Status::ok);
  CHECK(fw.e2e_errors() == 1);
  t.tick_dt = 1;  // 0.1 ms, the bottom of the range
  n = raw_datagram(SAFETWIN_HIL_PLANT_TICK_FRAME_ID, t, safetwin_hil_plant_tick_pack, buf.data());
  REQUIRE(fw.on_datagram(buf.data(), n) == safetwin::Status::ok);
  CHECK(fw.e2e_errors() == 1);

  // CELL_V_001: 16 bits of 0.1 mV declared [0, 6.5534]; raw 65535 is the SNA value (NaN, not a
  // range error), 65534 is the top of the range.
  safetwin_hil_cell_v_a_t v{};
  v.cell_v_a_mux = 0;
  v.cell_v_001 = 65534;
  v.cell_v_002 = 65535;
  v.cell_v_003 = 37000;
  n = raw_datagram(SAFETWIN_HIL_CELL_V_A_FRAME_ID, v, safetwin_hil_cell_v_a_pack, buf.data());
  REQUIRE(fw.on_datagram(buf.data(), n) == safetwin::Status::ok);
  CHECK(fw.e2e_errors() == 1);
  // REQ_MODE: 2 bits declared [0, 2] with raw 3 as its SNA value: "not available" (NaN), which
  // must not reach an integer cast (undefined behaviour): the request is then no request.
  safetwin_hil_load_request_t r{};
  r.req_mode = 3;
  r.req_current = 500;
  n = raw_datagram(SAFETWIN_HIL_LOAD_REQUEST_FRAME_ID, r, safetwin_hil_load_request_pack, buf.data());
  REQUIRE(fw.on_datagram(buf.data(), n) == safetwin::Status::ok);
  CHECK(fw.e2e_errors() == 1);
}

TEST_CASE("self-triggered reporting: schedules without allocating; a silent node is missing once due, not before") {
  FirmwareConfig cfg;
  cfg.series = 12;
  cfg.control.period_s = 1.0;  // lockstep at 1 s (the horizon's step)
  cfg.reporting.mode = safetwin::cycle::ReportingMode::self_triggered;
  Firmware fw(cfg);
  Plant plant(12);  // at rest: 3.7 V, 25 degC, 0 A; it sends every frame, as a node not yet scheduled does
  std::vector<std::uint8_t> buf(HIL_WIRE_MAX_BYTES);
  long allocs = 0;
  double interval_node0 = NAN;  // the last REPORT_IN told to node 0 (CELL_V_A mux 0)
  int schedule_frames = 0;
  std::uint32_t seq = 1;
  for (; seq <= 40; ++seq) {
    const std::size_t n = plant.cycle(seq, 1.0, buf.data());
    allocs += safetwin::test::count_allocations([&] {
      (void)fw.on_datagram(buf.data(), n);
      (void)fw.lockstep_step();
    });
    double phys[HIL_MAX_SIGNALS];
    for (std::size_t i = 0; i < fw.output_count(); ++i) {
      const Frame& f = fw.output(i);
      if (f.id != SAFETWIN_HIL_REPORT_SCHEDULE_FRAME_ID) continue;
      REQUIRE(hil_decode(hil_message_index(f.id), f.data, 8, phys) == 0);
      ++schedule_frames;
      if (phys[2] == 0.0) interval_node0 = phys[3];
    }
    CHECK(decode(fw).flags == 0);
  }
  CHECK(allocs == 0);
  CHECK(schedule_frames > 0);
  CHECK(interval_node0 > 1.0);  // at rest, far from every limit: longer than a step
  CHECK(interval_node0 <= cfg.reporting.max_interval_s);
  REQUIRE(fw.report_nodes() != nullptr);
  // Node 0 falls silent: its cells are held (no fault) until its next report is due, then missing.
  double due_s = INFINITY;  // the node's: the earliest of its cells' (1..3)
  for (std::size_t j = 0; j < 3; ++j)
    due_s = std::min(due_s, fw.report_nodes()->scheduler().next_report_s(j, safetwin::cycle::ReportNode::voltage_a));
  plant.silent_cell_frame = 0;
  bool missing = false;
  for (; seq <= 120 && !missing; ++seq) {
    const double t = static_cast<double>(seq - 1);  // the firmware's time at this cycle
    const Decoded d = step(fw, plant, seq, 1.0);
    missing = (d.flags & kBit(Fault::cell_voltage_missing)) != 0;
    if (t + 1e-9 < due_s) CHECK_FALSE(missing);
    if (missing) {
      CHECK(t == doctest::Approx(std::ceil(due_s - 1e-9)));
      CHECK(d.current_a == 0.0);  // held at 0 (fail closed)
    }
  }
  CHECK(missing);
  CHECK(fw.report_nodes()->missed_reports() > 0);
}
