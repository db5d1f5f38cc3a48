#include "firmware.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "hil_wire.h"
#include "safetwin/validate.hpp"
#include "safetwin_hil.h"
#include "safetwin_hil_layout.h"
#include "safetwin_hil_table.h"

namespace safetwin::firmware {

namespace {
constexpr double kZeroCelsiusK = 273.15;

// The link's layout is the DBC's (generated safetwin_hil_layout.h): frame IDs, each signal's index
// in the hil_encode/hil_decode arrays, the multiplexed blocks. What the code below assumes of it:
static_assert(static_cast<int>(Mode::normal) == HIL_FW_STATUS_FW_MODE_NORMAL &&
                  static_cast<int>(Mode::derated) == HIL_FW_STATUS_FW_MODE_DERATED &&
                  static_cast<int>(Mode::safe_stop) == HIL_FW_STATUS_FW_MODE_SAFE_STOP &&
                  HIL_FW_COMMAND_CMD_MODE_SAFE_STOP == HIL_FW_STATUS_FW_MODE_SAFE_STOP,
              "FW_MODE and CMD_MODE carry safety::Mode");
static_assert(HIL_CELL_V_A_MUX_VALUES * HIL_CELL_V_A_PER_MUX + HIL_CELL_V_B_MUX_VALUES * HIL_CELL_V_B_PER_MUX ==
                      static_cast<int>(kMaxCells) &&
                  HIL_CELL_T_MUX_VALUES * HIL_CELL_T_PER_MUX == static_cast<int>(kMaxCells),
              "the DBC carries kMaxCells cell voltages and temperatures");
static_assert(HIL_LOAD_REQUEST_REQ_MODE_IDLE == static_cast<int>(RequestMode::idle) &&
                  HIL_LOAD_REQUEST_REQ_MODE_CHARGE == static_cast<int>(RequestMode::charge) &&
                  HIL_LOAD_REQUEST_REQ_MODE_DRIVE == static_cast<int>(RequestMode::drive),
              "LOAD_REQUEST.REQ_MODE is a RequestMode");
// Every message starts with E2E_CRC and E2E_COUNTER (hil_e2e_protect writes them).
static_assert(HIL_FW_COMMAND_E2E_CRC == 0 && HIL_FW_COMMAND_E2E_COUNTER == 1 && HIL_ATTEST_RESULT_E2E_COUNTER == 1 &&
                  HIL_ATTEST_NONCE_0_E2E_COUNTER == 1,
              "E2E bytes first");

// The attestation frames of node k are k IDs above node 0's.
constexpr std::uint32_t kNonceId0 = HIL_ATTEST_NONCE_0;
constexpr std::uint32_t kQuoteId0 = HIL_ATTEST_QUOTE_0;
constexpr std::uint32_t kFcId0 = HIL_ATTEST_FC_0;
static_assert(HIL_ATTEST_NONCE_COUNT == QuoteVerifier::kMaxNodes &&
                  HIL_ATTEST_QUOTE_COUNT == QuoteVerifier::kMaxNodes && HIL_ATTEST_FC_COUNT == QuoteVerifier::kMaxNodes,
              "the DBC carries one frame of each attestation family per node");
static_assert(Firmware::kMaxOutputFrames == HIL_WIRE_MAX_FRAMES, "one cycle's outputs are one datagram");
static_assert(16 + kReportNodes <= Firmware::kMaxOutputFrames, "the schedule frames always fit");
constexpr std::size_t kNonceFragments = HIL_ATTEST_NONCE_0_MUX_VALUES;  // 6 bytes each, the last carries bytes 30..31
constexpr std::size_t kNonceFragmentBytes = 6;
static_assert(kNonceFragments * kNonceFragmentBytes >= 32, "a 32-byte nonce");

// A multiplexed block of readings (mux value v carries per signals from first + per * v) into
// out[per * v ..], plus offset (degC -> K). The decoder has checked v against its range.
void store_block(const double* phys, int mux, int first, int per, double offset, double* out) noexcept {
  const int v = static_cast<int>(phys[mux]);
  for (int k = 0; k < per; ++k) out[per * v + k] = phys[first + per * v + k] + offset;
}

// A value on a signal's grid (round to its scale) and inside its declared range: what the encoder
// accepts, whatever the value (a NaN stays NaN and is refused or sent as not available).
// (Steps per unit, 1 / scale, are exact for the link's scales: 100, 2, 1e6.)
double on_grid(double v, double scale, double lo, double hi) noexcept {
  const double per_unit = 1.0 / scale;
  return std::clamp(std::round(v * per_unit) / per_unit, lo, hi);
}

std::uint64_t to_ms(double s) { return static_cast<std::uint64_t>(std::llround(s * 1000.0)); }

std::vector<std::uint8_t> from_hex(const std::string& key, const char* part, const std::string& hex) {
  if (hex.empty() || hex.size() % 2 != 0 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
    throw std::invalid_argument(key + ": " + part + " = '" + hex.substr(0, 80) +
                                "': an even number of hexadecimal digits");
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<std::uint8_t>(std::stoul(hex.substr(2 * i, 2), nullptr, 16));
  return out;
}
}  // namespace

void AttestConfig::validate() const {
  if (nodes.size() > QuoteVerifier::kMaxNodes)
    throw_invalid("FirmwareConfig.attest.nodes", static_cast<double>(nodes.size()), "at most 8 (the DBC's nodes)");
  if (nodes.empty()) return;
  require_positive("FirmwareConfig.attest.every_s", every_s);
  require_non_negative("FirmwareConfig.attest.stagger_s", stagger_s);
  if (stagger_s * static_cast<double>(nodes.size()) >= every_s)
    throw_invalid("FirmwareConfig.attest.stagger_s", stagger_s, "times the node count must stay below every_s");
  verifier.validate();
}

void add_attest_node(FirmwareConfig& c, const std::string& key, const std::string& spec) {
  std::vector<std::string> part;
  for (std::size_t b = 0;;) {
    const std::size_t e = spec.find(':', b);
    part.push_back(spec.substr(b, e == std::string::npos ? std::string::npos : e - b));
    if (e == std::string::npos) break;
    b = e + 1;
  }
  if (part.size() < 3 || part.size() > 5)
    throw std::invalid_argument(key + " = '" + spec.substr(0, 80) +
                                "...': AK_PUBLIC_HEX:PCR_MASK_HEX:GOLDEN_HEX[:FIRMWARE_VERSION[:PARENT_QN_HEX]]");
  AttestNode n;
  n.ak_public = from_hex(key, "AK_PUBLIC_HEX", part[0]);
  std::size_t used = 0;
  unsigned long mask = 0;
  try {
    mask = std::stoul(part[1], &used, 16);
  } catch (const std::exception&) { used = 0; }
  if (used != part[1].size() || mask == 0 || mask > 0xFFFFFFul)
    throw std::invalid_argument(key + ": PCR_MASK_HEX = '" + part[1] + "': a hexadecimal mask of PCRs 0..23, not 0");
  n.pcr_mask = static_cast<std::uint32_t>(mask);
  n.golden = from_hex(key, "GOLDEN_HEX", part[2]);
  std::size_t pcrs = 0;
  for (std::uint32_t m = n.pcr_mask; m != 0; m &= m - 1) ++pcrs;
  if (n.golden.size() != 32 * pcrs)
    throw std::invalid_argument(key + ": GOLDEN_HEX has " + std::to_string(n.golden.size()) + " bytes: the mask's " +
                                std::to_string(pcrs) + " PCRs need " + std::to_string(32 * pcrs));
  if (part.size() >= 4 && !part[3].empty()) {  // an empty version with a parent QN: not checked
    try {
      n.firmware_version = std::stoull(part[3], &used, 10);
    } catch (const std::exception&) { used = 0; }
    if (used != part[3].size() || part[3].empty())
      throw std::invalid_argument(key + ": FIRMWARE_VERSION = '" + part[3] + "': a decimal integer");
    n.check_firmware_version = true;
  }
  if (part.size() == 5) {  // an AK that is a child of this parent (tpm2_createak: the EK's QN)
    n.parent_qn = from_hex(key, "PARENT_QN_HEX", part[4]);
    if (n.parent_qn.size() != 34)
      throw std::invalid_argument(key + ": PARENT_QN_HEX has " + std::to_string(n.parent_qn.size()) +
                                  " bytes: a Qualified Name is 34 (nameAlg SHA-256 || digest)");
  }
  if (c.attest.nodes.size() >= QuoteVerifier::kMaxNodes)
    throw std::invalid_argument(key + ": a 9th node; the DBC carries 8");
  c.attest.nodes.push_back(std::move(n));
}

void set_attest_node_groups(FirmwareConfig& c, const std::string& key, const std::string& spec) {
  int v[3] = {0, 0, 0};
  std::size_t b = 0;
  for (int i = 0; i < 3; ++i) {
    const std::size_t e = spec.find(':', b);
    const std::string part = spec.substr(b, e == std::string::npos ? std::string::npos : e - b);
    std::size_t used = 0;
    try {
      v[i] = std::stoi(part, &used, 10);
    } catch (const std::exception&) { used = 0; }
    if (used != part.size() || part.empty() || (i < 2) == (e == std::string::npos) || v[i] < 0)
      throw std::invalid_argument(key + " = '" + spec + "': NODE:FIRST_GROUP:GROUP_COUNT, non-negative integers");
    b = e + 1;
  }
  if (static_cast<std::size_t>(v[0]) >= c.attest.nodes.size())
    throw std::invalid_argument(key + " = '" + spec + "': node " + std::to_string(v[0]) + " is not enrolled (" +
                                std::to_string(c.attest.nodes.size()) + " --attest-node given before it)");
  if (v[2] < 1) throw std::invalid_argument(key + " = '" + spec + "': GROUP_COUNT must be at least 1");
  c.attest.nodes[static_cast<std::size_t>(v[0])].first_group = v[1];
  c.attest.nodes[static_cast<std::size_t>(v[0])].group_count = v[2];
}

std::vector<int> attest_voltage_nodes(const AttestConfig& a, int series) {
  std::vector<int> node_of(static_cast<std::size_t>(series), trust::kNoNode);
  const int n = static_cast<int>(a.nodes.size());
  for (int k = 0; k < n; ++k) {
    const AttestNode& node = a.nodes[static_cast<std::size_t>(k)];
    const int first = node.group_count > 0 ? node.first_group : k * series / n;
    const int count = node.group_count > 0 ? node.group_count : (k + 1) * series / n - k * series / n;
    const std::string field = "FirmwareConfig.attest.nodes[" + std::to_string(k) + "]";
    if (first < 0 || first + count > series)
      throw_invalid(field + ".first_group", first,
                    "with group_count " + std::to_string(count) + " must lie within the " + std::to_string(series) +
                        " series groups");
    for (int g = first; g < first + count; ++g) {
      if (node_of[static_cast<std::size_t>(g)] != trust::kNoNode)
        throw_invalid(field + ".first_group", first,
                      "group " + std::to_string(g) + " is already measured by node " +
                          std::to_string(node_of[static_cast<std::size_t>(g)]));
      node_of[static_cast<std::size_t>(g)] = k;
    }
  }
  return node_of;
}

void FirmwareConfig::validate() const {
  if (series < 1 || series > static_cast<int>(kMaxCells))
    throw_invalid("FirmwareConfig.series", series, "must be in [1, 96] (the cells the DBC carries)");
  ControlStepConfig c = control;
  c.series = series;
  c.validate();
  require_positive("FirmwareConfig.plant_heartbeat_timeout_s", plant_heartbeat_timeout_s);
  require_positive("FirmwareConfig.meas_loss_timeout_s", meas_loss_timeout_s);
  if (meas_max_age_cycles < 0) throw_invalid("FirmwareConfig.meas_max_age_cycles", meas_max_age_cycles, "must be >= 0");
  if (e2e_max_delta < 1 || e2e_max_delta > 14)
    throw_invalid("FirmwareConfig.e2e_max_delta", e2e_max_delta, "must be in [1, 14]");
  require_positive("FirmwareConfig.stuck_time_s", stuck_time_s);
  require_non_negative("FirmwareConfig.stuck_min_current_a", stuck_min_current_a);
  require_positive("FirmwareConfig.imbalance_v", imbalance_v);
  require_positive("FirmwareConfig.imbalance_time_s", imbalance_time_s);
  diag.validate();
  attest.validate();
  if (reporting.mode != cycle::ReportingMode::every_step) reporting.validate(control.period_s);
  if (!attest.nodes.empty()) (void)attest_voltage_nodes(attest, series);
}

namespace {
ControlStepConfig control_config(const FirmwareConfig& c) {
  ControlStepConfig cc = c.control;
  cc.series = c.series;  // one group of the pack cycle per cell channel
  cc.safety.trust = !c.attest.nodes.empty();
  cc.safety.anomaly_threshold = c.diag.anomaly_threshold;
  if (cc.safety.trust) {
    cc.safety.trust_nodes = static_cast<int>(c.attest.nodes.size());
    cc.safety.voltage_nodes = attest_voltage_nodes(c.attest, c.series);
  }
  return cc;
}
}  // namespace

Firmware::Firmware(const FirmwareConfig& config)
    : config_((config.validate(), config)),
      control_(control_config(config)),
      diag_(config_.diag, static_cast<std::size_t>(config_.series),
            config_.control.cell.capacity_ah * config_.control.parallel) {
  meas_.n_cells = static_cast<std::size_t>(config_.series);
  rx_cell_v_.fill(NAN);
  rx_cell_t_k_.fill(NAN);
  last_v_.fill(NAN);
  const safety::InvariantMonitor& mon = control_.pack_cycle().group(0).monitor();
  for (std::size_t i = 0; i < mon.invariant_count() && i < invariant_code_.size(); ++i)
    invariant_code_[i] = static_cast<std::uint8_t>(invariant_event(mon.spec(static_cast<int>(i)).name));
  const AttestConfig& a = config_.attest;
  if (!a.nodes.empty()) {
    verifier_ = std::make_unique<QuoteVerifier>(a.verifier);
    for (std::size_t k = 0; k < a.nodes.size(); ++k) {
      const AttestNode& n = a.nodes[k];
      verifier_->enroll(k, n.ak_public.data(), n.ak_public.size(), n.pcr_mask, n.golden.data(),
                        n.check_firmware_version, n.firmware_version, tpm::kRhEndorsement,
                        n.parent_qn.empty() ? nullptr : n.parent_qn.data(), n.parent_qn.size());
    }
    nonces_ = a.os_entropy ? std::make_unique<NonceSource>() : std::make_unique<NonceSource>(a.seed);
    AttestRoundsConfig rc;
    rc.nodes = a.nodes.size();
    rc.period_ms = to_ms(a.every_s);
    rc.stagger_ms = to_ms(a.stagger_s);
    rc.max_verifies_per_service = a.max_verifies_per_cycle;
    rc.isotp = a.isotp;
    rounds_ = std::make_unique<AttestRounds>(rc, *verifier_, *nonces_);
  }
  if (config_.reporting.mode != cycle::ReportingMode::every_step)
    reports_ = std::make_unique<ReportNodes>(config_.reporting, meas_.n_cells, config_.control.period_s,
                                             control_.pack_cycle().group(0).config());
}

std::uint64_t Firmware::now_ms() const noexcept { return to_ms(time_s_); }

bool Firmware::fresh(const Element& e) const noexcept {
  return e.valid && (cycle_ + 1 - e.stamp) <= static_cast<std::uint32_t>(config_.meas_max_age_cycles);
}

void Firmware::on_frame(std::uint32_t can_id, const std::uint8_t* data, std::uint8_t len) noexcept {
  const int index = hil_message_index(can_id);
  if (index < 0 || data == nullptr) return;  // not a frame of the link: ignored, as on a shared bus
  // A node's ISO-TP answer: byte 0 is the PCI, the quote's signature authenticates (no E2E).
  if (can_id >= kQuoteId0 && can_id < kQuoteId0 + QuoteVerifier::kMaxNodes) {
    on_attest_frame(can_id - kQuoteId0, data, len);
    return;
  }
  if (can_id >= kFcId0 && can_id < kFcId0 + QuoteVerifier::kMaxNodes) return;  // our own flow control
  if (len != hil_messages[index].length) {
    ++e2e_errors_;
    e2e_error_pending_ = true;
    return;
  }
  double phys[HIL_MAX_SIGNALS];
  const bool crc_ok = data[0] == hil_e2e_crc(can_id, data, len);
  // hil_decode refuses a raw value outside its declared DBC range (-ERANGE), the multiplexer too.
  if (!crc_ok || hil_decode(index, data, len, phys) != 0) {
    ++e2e_errors_;
    e2e_error_pending_ = true;
    return;
  }
  Element* el = nullptr;
  switch (can_id) {
    case HIL_PLANT_TICK:
      // A re-sent tick (the harness lost our answer) is not a repetition error: answer it again.
      if (have_acked_ && static_cast<std::uint32_t>(phys[HIL_PLANT_TICK_TICK_SEQ]) == acked_seq_) {
        tick_pending_ = true;
        tick_seq_ = acked_seq_;
        return;
      }
      el = &tick_el_;
      break;
    case HIL_PLANT_HEARTBEAT: el = &hb_el_; break;
    case HIL_PACK_MEAS: el = &pack_el_; break;
    case HIL_LOAD_REQUEST: el = &load_el_; break;
    case HIL_CELL_V_A: el = &cell_v_el_[static_cast<std::size_t>(phys[HIL_CELL_V_A_MUX])]; break;
    case HIL_CELL_V_B:
      el = &cell_v_el_[HIL_CELL_V_A_MUX_VALUES + static_cast<std::size_t>(phys[HIL_CELL_V_B_MUX])];
      break;
    case HIL_CELL_T: el = &cell_t_el_[static_cast<std::size_t>(phys[HIL_CELL_T_MUX])]; break;
    default: return;  // our own output frames echoed back: not ours to check
  }
  const hil_e2e_status_t st =
      hil_e2e_check(&el->e2e, can_id, data, len, static_cast<std::uint8_t>(config_.e2e_max_delta));
  if (!hil_e2e_valid(st)) {
    ++e2e_errors_;
    e2e_error_pending_ = true;
    return;
  }
  el->valid = true;
  el->stamp = cycle_ + 1;
  switch (can_id) {
    case HIL_PLANT_TICK:
      tick_pending_ = true;
      tick_seq_ = static_cast<std::uint32_t>(phys[HIL_PLANT_TICK_TICK_SEQ]);
      tick_dt_s_ = phys[HIL_PLANT_TICK_TICK_DT];
      break;
    case HIL_PLANT_HEARTBEAT: break;
    case HIL_PACK_MEAS:
      rx_pack_i_ = phys[HIL_PACK_MEAS_PACK_CURRENT];
      rx_pack_v_ = phys[HIL_PACK_MEAS_PACK_VOLTAGE];
      rx_contactor_ = phys[HIL_PACK_MEAS_CONTACTOR_CLOSED] != 0.0;
      break;
    case HIL_LOAD_REQUEST: {
      rx_req_i_ = phys[HIL_LOAD_REQUEST_REQ_CURRENT];
      // SNA (NaN) is no valid mode: -1, never a NaN cast to int (undefined behaviour).
      const double m = phys[HIL_LOAD_REQUEST_REQ_MODE];
      rx_req_mode_ = std::isnan(m) ? -1 : static_cast<int>(m);
      break;
    }
    case HIL_CELL_V_A:
      store_block(phys, HIL_CELL_V_A_MUX, HIL_CELL_V_A_FIRST_MUXED, HIL_CELL_V_A_PER_MUX, 0.0, rx_cell_v_.data());
      break;
    case HIL_CELL_V_B:
      store_block(phys, HIL_CELL_V_B_MUX, HIL_CELL_V_B_FIRST_MUXED, HIL_CELL_V_B_PER_MUX, 0.0,
                  rx_cell_v_.data() + HIL_CELL_V_A_MUX_VALUES * HIL_CELL_V_A_PER_MUX);
      break;
    case HIL_CELL_T:
      store_block(phys, HIL_CELL_T_MUX, HIL_CELL_T_FIRST_MUXED, HIL_CELL_T_PER_MUX, kZeroCelsiusK, rx_cell_t_k_.data());
      break;
    default: break;
  }
}

Status Firmware::on_datagram(const std::uint8_t* buf, std::size_t size) noexcept {
  const int n = buf == nullptr ? -1 : hil_wire_count(buf, size);
  if (n < 0) {
    ++e2e_errors_;
    e2e_error_pending_ = true;
    return Status::invalid_argument;
  }
  for (int i = 0; i < n; ++i) {
    std::uint32_t id = 0;
    std::uint8_t len = 0;
    const std::uint8_t* data = hil_wire_frame(buf, static_cast<std::size_t>(i), &id, &len);
    on_frame(id & ~HIL_CAN_EFF_FLAG, data, len);
  }
  return Status::ok;
}

void Firmware::set_fault(Fault f, bool active, std::uint8_t cell) noexcept {
  set_code(static_cast<std::uint8_t>(f), active, cell);
}

void Firmware::set_code(std::uint8_t code, bool active, std::uint8_t cell) noexcept {
  const std::uint32_t bit = 1u << (code - 1u);
  if (active && !(flags_ & bit) && n_events_ < events_.size()) events_[n_events_++] = Event{code, cell};
  flags_ = active ? flags_ | bit : flags_ & ~bit;
}

void Firmware::report_diagnostics(double dt_s) noexcept {
  // The online diagnostics on this cycle's measurements and estimators: each code that became
  // active raises its event with its group; its flag stays (they latch).
  diag_.step(meas_, control_.pack_cycle(), meas_.pack_current_a / config_.control.parallel, dt_s);
  for (std::size_t k = 0; k < diag_.events(); ++k)
    set_code(static_cast<std::uint8_t>(diag_.event(k).code), true, diag_.event(k).cell);
}

void Firmware::on_attest_frame(std::size_t node, const std::uint8_t* data, std::uint8_t len) noexcept {
  if (!rounds_) return;
  const IsoTpEvent e = rounds_->on_frame(node, data, len, now_ms());
  if (e == IsoTpEvent::flow_control || e == IsoTpEvent::overflow) fc_pending_[node] = true;
}

const trust::Attestation* Firmware::attestation_round() noexcept {
  // Before the control step: start the rounds due now, end the expired ones; each node's ended
  // round is reported, and its verdict goes to that node's trust with its reason.
  n_outcomes_ = 0;
  if (!rounds_) return nullptr;
  (void)rounds_->tick(now_ms());  // a DRBG failure: no round this period, silence counts
  bool any = false;
  for (std::size_t k = 0; k < rounds_->nodes(); ++k) {
    const AttestReason v = rounds_->take_verdict(k);
    verdicts_[k] = v == AttestReason::none ? trust::Attestation::none : to_attestation(v);
    if (v == AttestReason::none) continue;
    any = true;
    const QuoteCheck c = rounds_->last_result(k).check;
    outcomes_[n_outcomes_++] =
        AttestOutcome{static_cast<std::uint8_t>(k), 1, static_cast<std::uint8_t>(v),
                      v == AttestReason::timeout ? std::uint8_t{0} : static_cast<std::uint8_t>(c)};
  }
  return any ? verdicts_.data() : nullptr;
}

void Firmware::attestation_service() noexcept {
  // After the control step: the queued answers' verifies, within the cycle's budget.
  if (!rounds_) return;
  std::array<bool, QuoteVerifier::kMaxNodes> was{};
  for (std::size_t k = 0; k < rounds_->nodes(); ++k) was[k] = rounds_->answer_queued(k);
  if (rounds_->service(now_ms()) == 0) return;
  for (std::size_t k = 0; k < rounds_->nodes(); ++k) {
    if (!was[k] || rounds_->answer_queued(k) || n_outcomes_ >= outcomes_.size()) continue;
    const QuoteResult& r = rounds_->last_result(k);
    outcomes_[n_outcomes_++] = AttestOutcome{static_cast<std::uint8_t>(k), 0, static_cast<std::uint8_t>(r.reason),
                                             static_cast<std::uint8_t>(r.check)};
  }
}

void Firmware::report_invariants() noexcept {
  // Every invariant of the guarded cycle that became active in a group raises its FW_EVENT code with
  // the group; the code's FAULT_FLAGS bit stays set while any group has one of its invariants active.
  std::uint32_t any_code = 0;                 // bit c: code c active somewhere
  std::array<std::uint8_t, 33> first_cell{};  // per code: the first group (1-based) where it became active
  const cycle::PackCycle& pc = control_.pack_cycle();
  for (std::size_t g = 0; g < pc.groups(); ++g) {
    const safety::InvariantMonitor& mon = pc.group(g).monitor();
    std::uint32_t now = 0;
    for (std::size_t i = 0; i < mon.invariant_count() && i < invariant_code_.size(); ++i) {
      const std::uint8_t code = invariant_code_[i];
      if (code == 0 || !mon.active(static_cast<int>(i))) continue;
      now |= 1u << i;
      any_code |= 1u << code;
      if (!(invariant_active_[g] & (1u << i)) && first_cell[code] == 0)
        first_cell[code] = static_cast<std::uint8_t>(g + 1);
    }
    invariant_active_[g] = now;
  }
  for (const auto code :
       {InvariantEvent::over_voltage, InvariantEvent::under_voltage, InvariantEvent::over_temp,
        InvariantEvent::safety_derate, InvariantEvent::sensor_distrusted, InvariantEvent::diag_anomaly}) {
    const auto c = static_cast<std::uint8_t>(code);
    set_code(c, (any_code >> c) & 1u, first_cell[c]);
  }
}

void Firmware::report_timing(double cycle_time_s, double jitter_s, bool deadline_missed) noexcept {
  last_cycle_time_s_ = cycle_time_s;
  last_jitter_s_ = jitter_s;
  deadline_miss_pending_ = deadline_miss_pending_ || deadline_missed;
}

void Firmware::supervise(double dt_s) noexcept {
  const std::size_t n = meas_.n_cells;
  // Heartbeat watchdog.
  // Timeouts compare with a 1 ns allowance: a float sum of dt_s must not trip a cycle early.
  hb_age_s_ = fresh(hb_el_) ? 0.0 : hb_age_s_ + dt_s;
  const bool hb_lost = hb_age_s_ > config_.plant_heartbeat_timeout_s + 1e-9;
  set_fault(Fault::plant_heartbeat_lost, hb_lost);
  if (hb_lost) safe_stop_latched_ = true;

  // Measurements: fresh and E2E-valid, or NaN.
  bool v_missing = false, t_missing = false;
  std::array<bool, kMaxCells> v_arrived{}, t_arrived{};
  for (std::size_t j = 0; j < n; ++j) {
    v_arrived[j] = fresh(cell_v_el_[j / 3]);
    t_arrived[j] = fresh(cell_t_el_[j / 6]);
    meas_.cell_voltage_v[j] = v_arrived[j] ? rx_cell_v_[j] : NAN;
    meas_.cell_temp_k[j] = t_arrived[j] ? rx_cell_t_k_[j] : NAN;
  }
  // Scheduled reporting: a node not due holds its last report; a due one that is silent stays NaN.
  if (reports_) reports_->receive(time_s_, meas_, v_arrived.data(), t_arrived.data());
  for (std::size_t j = 0; j < n; ++j) {
    v_missing = v_missing || !std::isfinite(meas_.cell_voltage_v[j]);
    t_missing = t_missing || !std::isfinite(meas_.cell_temp_k[j]);
  }
  const bool pack_ok = fresh(pack_el_);
  meas_.pack_current_a = pack_ok ? rx_pack_i_ : NAN;
  meas_.pack_voltage_v = pack_ok ? rx_pack_v_ : NAN;
  meas_.contactor_closed = pack_ok && rx_contactor_;
  const bool load_ok = fresh(load_el_) && rx_req_mode_ >= 0 && rx_req_mode_ <= HIL_LOAD_REQUEST_REQ_MODE_DRIVE;
  meas_.request_mode = load_ok ? static_cast<RequestMode>(rx_req_mode_) : RequestMode::idle;
  meas_.request_current_a = load_ok ? rx_req_i_ : 0.0;
  const bool pack_missing = !std::isfinite(meas_.pack_current_a) || !std::isfinite(meas_.pack_voltage_v);
  set_fault(Fault::cell_voltage_missing, v_missing);
  set_fault(Fault::cell_temp_missing, t_missing);
  set_fault(Fault::pack_meas_missing, pack_missing);
  const bool any_missing = v_missing || t_missing || pack_missing;
  meas_missing_s_ = any_missing ? meas_missing_s_ + dt_s : 0.0;
  if (meas_missing_s_ > config_.meas_loss_timeout_s + 1e-9) safe_stop_latched_ = true;

  // Plausibility on what is there.
  // (The voltage and temperature limits are the guarded cycle's invariants, per group.)
  double v_max = -INFINITY, v_min = INFINITY, v_sum = 0.0;
  std::size_t nv = 0;
  for (std::size_t j = 0; j < n; ++j) {
    const double v = meas_.cell_voltage_v[j];
    if (!std::isfinite(v)) continue;
    v_max = std::max(v_max, v);
    v_min = std::min(v_min, v);
    v_sum += v;
    ++nv;
    // A held report says nothing about the sensor. Only reports count, one cycle each: a sensor is
    // stuck after stuck_time_s / dt identical reports in a row, as when every step reports (counting
    // the held time too would make one identical pair of reports 5 s apart a stuck sensor).
    if (meas_.has_freshness && !meas_.cell_voltage_fresh[j]) continue;
    const bool same = v == last_v_[j] && std::fabs(meas_.pack_current_a) > config_.stuck_min_current_a;
    stuck_s_[j] = same ? stuck_s_[j] + dt_s : 0.0;
    if (stuck_s_[j] >= config_.stuck_time_s - 1e-9) latched_ |= 1u << (static_cast<unsigned>(Fault::sensor_stuck) - 1u);
    last_v_[j] = v;
  }
  if (nv > 1) {
    const double mean = v_sum / static_cast<double>(nv);
    const bool apart = std::max(v_max - mean, mean - v_min) > config_.imbalance_v;
    imbalance_s_ = apart ? imbalance_s_ + dt_s : 0.0;
    if (imbalance_s_ >= config_.imbalance_time_s - 1e-9)
      latched_ |= 1u << (static_cast<unsigned>(Fault::cell_imbalance) - 1u);
  }
  set_fault(Fault::sensor_stuck, latched_ & (1u << (static_cast<unsigned>(Fault::sensor_stuck) - 1u)));
  set_fault(Fault::cell_imbalance, latched_ & (1u << (static_cast<unsigned>(Fault::cell_imbalance) - 1u)));
  set_fault(Fault::e2e_error, e2e_error_pending_);
  set_fault(Fault::deadline_missed, deadline_miss_pending_);
  set_fault(Fault::tick_sequence, tick_out_of_order_);
  e2e_error_pending_ = false;
  deadline_miss_pending_ = false;
}

Status Firmware::run_cycle(double dt_s) noexcept {
  n_events_ = 0;
  if (!std::isfinite(dt_s) || !(dt_s > 0.0)) {
    set_fault(Fault::controller_fault, true);
    safe_stop_latched_ = true;
    command_ = Command{};
    mode_ = Mode::safe_stop;
    ++cycle_;
    return Status::invalid_argument;
  }
  supervise(dt_s);
  // The control-cycle call: one place.
  const Status st = control_.compute(meas_, dt_s, attestation_round(), command_);
  attestation_service();
  const bool missing = st == Status::non_finite_input;
  if (!missing) report_invariants();
  if (!missing && control_.report().started) report_diagnostics(dt_s);
  // A controller output the guarded cycle had to replace (held, then SAFE_STOP past its hold time).
  bool holding = false;
  for (std::size_t g = 0; g < control_.pack_cycle().groups() && !missing; ++g)
    holding = holding || control_.pack_cycle().group_status(g).supervisor.holding;
  set_fault(Fault::controller_fault, holding);
  const bool cycle_stop = command_.mode == safety::Mode::safe_stop;
  set_fault(Fault::safety_stop, cycle_stop);
  // The guarded cycle's non-ok statuses (an MPC fallback, a CBF conflict) are handled inside it:
  // its command is safe. A missing measurement or a latched pack-level fault holds 0 here.
  const bool hold = latched_ != 0 || missing || diag_.active(DiagCode::internal_short);
  if (safe_stop_latched_ || cycle_stop || hold || !std::isfinite(command_.current_a)) {
    command_.current_a = 0.0;
    command_.current_min_a = command_.current_max_a = 0.0;
  }
  // A diagnosed loose connection, lost cooling or jumping sensor: the supervisor's derate.
  if (diag_.active(DiagCode::connection_resistance) || diag_.active(DiagCode::cooling_loss) ||
      diag_.active(DiagCode::sensor_fault)) {
    const double f = config_.control.safety.derate_factor;
    command_.current_a *= f;
    command_.current_min_a *= f;
    command_.current_max_a *= f;
    command_.derated = true;
  }
  if (reports_ && !missing && control_.report().started)  // the nodes' next reports under this command
    reports_->schedule(time_s_, control_.pack_cycle(), command_.current_a / config_.control.parallel);
  else if (reports_)
    reports_->clear_pending();
  mode_ = (safe_stop_latched_ || cycle_stop)          ? Mode::safe_stop
          : (flags_ != 0 || command_.derated || hold) ? Mode::derated
                                                      : Mode::normal;
  ++cycle_;
  time_s_ += dt_s;
  return missing ? Status::ok : st;
}

Status Firmware::cycle(double dt_s) noexcept {
  const Status st = run_cycle(dt_s);
  build_outputs(false);
  return st;
}

bool Firmware::lockstep_step() noexcept {
  if (!tick_pending_) return false;
  tick_pending_ = false;
  if (have_acked_ && tick_seq_ == acked_seq_) return true;  // re-send the same answer
  tick_out_of_order_ = have_acked_ && tick_seq_ != acked_seq_ + 1;
  (void)run_cycle(tick_dt_s_);
  have_acked_ = true;
  acked_seq_ = tick_seq_;
  build_outputs(true);
  return true;
}

void Firmware::build_outputs(bool with_ack) noexcept {
  n_out_ = 0;
  double phys[HIL_MAX_SIGNALS];
  auto emit = [&](std::uint32_t id) {
    if (n_out_ >= out_.size()) return;
    const int index = hil_message_index(id);
    std::uint8_t& ctr = tx_counter_[id & 0xFFu];
    phys[HIL_FW_COMMAND_E2E_CRC] = 0.0;
    phys[HIL_FW_COMMAND_E2E_COUNTER] = ctr;
    Frame& f = out_[n_out_];
    if (hil_encode(index, phys, f.data, sizeof f.data) < 0) return;  // never on in-range values
    hil_e2e_protect(id, f.data, sizeof f.data);
    f.id = id;
    ctr = static_cast<std::uint8_t>((ctr + 1u) & 0x0Fu);
    ++n_out_;
  };
  phys[HIL_FW_COMMAND_CURRENT_CMD] = on_grid(command_.current_a, HIL_FW_COMMAND_CURRENT_CMD_SCALE,
                                             HIL_FW_COMMAND_CURRENT_CMD_MIN, HIL_FW_COMMAND_CURRENT_CMD_MAX);
  phys[HIL_FW_COMMAND_CONTACTOR_REQ] = contactor_request() ? 1.0 : 0.0;
  phys[HIL_FW_COMMAND_CMD_MODE] = static_cast<double>(mode_);
  emit(HIL_FW_COMMAND);
  phys[HIL_FW_STATUS_FW_MODE] = static_cast<double>(mode_);
  phys[HIL_FW_STATUS_FAULT_FLAGS] = fault_flags();
  phys[HIL_FW_STATUS_DIAG_FLAGS] = diag_flags();
  const double soc_pct = control_.report().soc_mean * 100.0;
  phys[HIL_FW_STATUS_EST_SOC] =
      !control_.report().started || !std::isfinite(soc_pct)
          ? NAN
          : on_grid(soc_pct, HIL_FW_STATUS_EST_SOC_SCALE, HIL_FW_STATUS_EST_SOC_MIN, HIL_FW_STATUS_EST_SOC_MAX);
  phys[HIL_FW_STATUS_E2E_ERRORS] = std::min<double>(e2e_errors_, HIL_FW_STATUS_E2E_ERRORS_MAX);
  emit(HIL_FW_STATUS);
  for (std::size_t k = 0; k < n_events_; ++k) {
    phys[HIL_FW_EVENT_EVENT_CODE] = events_[k].code;
    phys[HIL_FW_EVENT_EVENT_CYCLE] = static_cast<double>(cycle_ + 1);
    phys[HIL_FW_EVENT_EVENT_CELL] = events_[k].cell;
    emit(HIL_FW_EVENT);
  }
  phys[HIL_FW_HEARTBEAT_FW_UPTIME] = static_cast<double>(cycle_ + 1);
  phys[HIL_FW_HEARTBEAT_FW_JITTER] = on_grid(last_jitter_s_, HIL_FW_HEARTBEAT_FW_JITTER_SCALE,
                                             HIL_FW_HEARTBEAT_FW_JITTER_MIN, HIL_FW_HEARTBEAT_FW_JITTER_MAX);
  emit(HIL_FW_HEARTBEAT);
  if (with_ack) {
    phys[HIL_FW_TICK_ACK_ACK_SEQ] = static_cast<double>(acked_seq_);
    phys[HIL_FW_TICK_ACK_CYCLE_TIME] = on_grid(last_cycle_time_s_, HIL_FW_TICK_ACK_CYCLE_TIME_SCALE,
                                               HIL_FW_TICK_ACK_CYCLE_TIME_MIN, HIL_FW_TICK_ACK_CYCLE_TIME_MAX);
    emit(HIL_FW_TICK_ACK);
  }
  for (std::size_t i = 0; reports_ && i < reports_->pending(); ++i) {
    const ScheduleFrame& f = reports_->frame(i);
    phys[HIL_REPORT_SCHEDULE_SCHED_NODE] = f.node;
    phys[HIL_REPORT_SCHEDULE_REPORT_IN] = f.report_in_s;
    phys[HIL_REPORT_SCHEDULE_EVENT_THRESHOLD] = f.threshold;
    emit(HIL_REPORT_SCHEDULE);
  }
  build_attest_outputs(phys);
}

void Firmware::build_attest_outputs(double* phys) noexcept {
  if (!rounds_) return;
  const auto put = [&](std::uint32_t id, std::uint8_t counter) -> Frame* {
    if (n_out_ >= out_.size()) return nullptr;
    phys[HIL_ATTEST_RESULT_E2E_CRC] = 0.0;
    phys[HIL_ATTEST_RESULT_E2E_COUNTER] = counter;
    Frame& f = out_[n_out_];
    if (hil_encode(hil_message_index(id), phys, f.data, sizeof f.data) < 0) return nullptr;
    hil_e2e_protect(id, f.data, sizeof f.data);
    f.id = id;
    ++n_out_;
    return &f;
  };
  for (std::size_t k = 0; k < rounds_->nodes(); ++k) {
    // Flow control back to a node mid-transfer: ISO-TP's own bytes, no E2E.
    if (fc_pending_[k] && n_out_ < out_.size()) {
      Frame& f = out_[n_out_++];
      f.id = kFcId0 + static_cast<std::uint32_t>(k);
      std::copy(rounds_->flow_control(k).begin(), rounds_->flow_control(k).end(), f.data);
      fc_pending_[k] = false;
    }
    if (!rounds_->has_request(k)) continue;
    const QuoteVerifier::Nonce& nonce = rounds_->nonce_request(k);
    bool sent = true;
    for (std::size_t g = 0; g < kNonceFragments; ++g) {
      std::fill(phys, phys + HIL_ATTEST_NONCE_0_N_SIGNALS, 0.0);
      phys[HIL_ATTEST_NONCE_0_NONCE_FRAG] = static_cast<double>(g);
      std::uint64_t v = 0;
      for (std::size_t b = 0; b < kNonceFragmentBytes && kNonceFragmentBytes * g + b < nonce.size(); ++b)
        v |= std::uint64_t{nonce[kNonceFragmentBytes * g + b]} << (8 * b);
      phys[HIL_ATTEST_NONCE_0_FIRST_MUXED + HIL_ATTEST_NONCE_0_PER_MUX * g] = static_cast<double>(v);  // < 2^48: exact
      std::uint8_t& ctr = nonce_counter_[k * kNonceFragments + g];
      sent = sent && put(kNonceId0 + static_cast<std::uint32_t>(k), ctr) != nullptr;
      ctr = static_cast<std::uint8_t>((ctr + 1u) & 0x0Fu);
    }
    if (sent) rounds_->request_sent(k);
  }
  std::uint8_t& ctr = tx_counter_[HIL_ATTEST_RESULT & 0xFFu];
  for (std::size_t i = 0; i < n_outcomes_; ++i) {
    phys[HIL_ATTEST_RESULT_RESULT_NODE] = outcomes_[i].node;
    phys[HIL_ATTEST_RESULT_RESULT_KIND] = outcomes_[i].kind;
    phys[HIL_ATTEST_RESULT_RESULT_REASON] = outcomes_[i].reason;
    phys[HIL_ATTEST_RESULT_RESULT_CHECK] = outcomes_[i].check;
    phys[HIL_ATTEST_RESULT_RESULT_CYCLE] =
        static_cast<double>(cycle_ % (static_cast<std::uint32_t>(HIL_ATTEST_RESULT_RESULT_CYCLE_MAX) + 1u));
    if (put(HIL_ATTEST_RESULT, ctr) != nullptr) ctr = static_cast<std::uint8_t>((ctr + 1u) & 0x0Fu);
  }
}

std::size_t Firmware::output_datagram(std::uint8_t* buf, std::size_t cap) const noexcept {
  const std::size_t size = HIL_WIRE_HEADER_BYTES + n_out_ * HIL_WIRE_FRAME_BYTES;
  if (buf == nullptr || cap < size) return 0;
  hil_wire_header(buf, static_cast<std::uint16_t>(n_out_));
  for (std::size_t i = 0; i < n_out_; ++i) hil_wire_put_frame(buf, i, out_[i].id, out_[i].data, 8);
  return size;
}

}  // namespace safetwin::firmware
