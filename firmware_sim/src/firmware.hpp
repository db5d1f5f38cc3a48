#pragma once
// The firmware of the controller: the link layer (generated DBC codec + E2E checks on every frame),
// the firmware's own supervision of the link and of the pack as a whole (heartbeat watchdog,
// measurement freshness, a stuck sensor, cell imbalance), the attestation rounds with the sensor
// nodes (attest_rounds.hpp: nonce, ISO-TP answer, quote verify between cycles), and the control step
// (control_step.hpp: the core's guarded pack cycle, whose invariant monitor and supervisor own the
// limits and the mode), behind two calls:
//
//   on_frame()/on_datagram()  any time: decode, check E2E, store the value with the cycle it
//                             arrived for; a frame that fails its check only counts an error.
//   cycle(dt_s)               once per control cycle (every period_s in real time, once per
//                             PLANT_TICK in lockstep): supervise, control, build the output frames.
//
// Lockstep: a PLANT_TICK with sequence number s makes lockstep_step() run one cycle of the tick's
// TICK_DT and answer FW_TICK_ACK(s); a repeated s (the harness re-sent a lost datagram) re-sends the
// last outputs without running a cycle, so runs are deterministic and immune to datagram loss.
//
// Nothing here throws, reads a clock or does I/O after construction, and nothing of this file
// allocates: time comes in as dt_s, frames come in as bytes, outputs go out as bytes. (libcrypto's
// ECDSA verify allocates inside; it runs after the control step, at most
// attest.max_verifies_per_cycle per cycle: quote_verifier.hpp.)
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "attest_rounds.hpp"
#include "control_step.hpp"
#include "diag_events.hpp"
#include "hil_e2e.h"
#include "measurements.hpp"
#include "report_nodes.hpp"
#include "safetwin/safety/supervisor.hpp"
#include "safetwin/status.hpp"
#include "safetwin_hil_layout.h"

namespace safetwin::firmware {

// The firmware's mode is the guarded cycle's (FW_MODE and CMD_MODE carry its values: firmware.cpp
// checks them against the DBC's value table).
using Mode = safety::Mode;

// Fault codes of FW_EVENT.EVENT_CODE: the DBC's value table (generated safetwin_hil_layout.h);
// FAULT_FLAGS bit (code - 1).
enum class Fault : std::uint8_t {
  plant_heartbeat_lost = HIL_FW_EVENT_EVENT_CODE_PLANT_HEARTBEAT_LOST,
  cell_voltage_missing = HIL_FW_EVENT_EVENT_CODE_CELL_VOLTAGE_MISSING,
  cell_temp_missing = HIL_FW_EVENT_EVENT_CODE_CELL_TEMP_MISSING,
  pack_meas_missing = HIL_FW_EVENT_EVENT_CODE_PACK_MEAS_MISSING,
  over_voltage = HIL_FW_EVENT_EVENT_CODE_OVER_VOLTAGE,
  under_voltage = HIL_FW_EVENT_EVENT_CODE_UNDER_VOLTAGE,
  over_temp = HIL_FW_EVENT_EVENT_CODE_OVER_TEMP,
  sensor_stuck = HIL_FW_EVENT_EVENT_CODE_SENSOR_STUCK,
  cell_imbalance = HIL_FW_EVENT_EVENT_CODE_CELL_IMBALANCE,
  e2e_error = HIL_FW_EVENT_EVENT_CODE_E2E_ERROR,
  deadline_missed = HIL_FW_EVENT_EVENT_CODE_DEADLINE_MISSED,
  tick_sequence = HIL_FW_EVENT_EVENT_CODE_TICK_SEQUENCE,
  controller_fault = HIL_FW_EVENT_EVENT_CODE_CONTROLLER_FAULT,
  safety_derate = HIL_FW_EVENT_EVENT_CODE_SAFETY_DERATE,  // a derate-tier invariant of the guarded cycle is active
                                                          // (EVENT_CELL: the group)
  sensor_distrusted =
      HIL_FW_EVENT_EVENT_CODE_SENSOR_DISTRUSTED,      // the cell-monitor node's trust fell below the threshold
  safety_stop = HIL_FW_EVENT_EVENT_CODE_SAFETY_STOP,  // the guarded cycle's supervisor is in SAFE_STOP
};
// Codes 17-21 are the diagnostics' (DiagCode, diag_events.hpp); their bits (code - 17) go in
// FW_STATUS DIAG_FLAGS.
// OVER_VOLTAGE, UNDER_VOLTAGE and OVER_TEMP are raised by the guarded cycle's stop-tier invariants.

// One enrolled sensor node: it answers ATTEST_NONCE_k on ATTEST_QUOTE_k (k = its index).
struct AttestNode {
  std::vector<std::uint8_t> ak_public;  // the AK's TPMT_PUBLIC (ECDSA P-256)
  std::uint32_t pcr_mask = 0;           // bit i = PCR i of the SHA-256 bank
  std::vector<std::uint8_t> golden;     // 32 bytes per PCR of the mask, ascending
  bool check_firmware_version = false;
  std::uint64_t firmware_version = 0;
  // Empty: the AK is a primary key of the endorsement hierarchy. Otherwise the Qualified Name
  // (34 bytes) of the AK's parent: a tpm2_createak AK is a child of the EK.
  std::vector<std::uint8_t> parent_qn;
  // The series groups whose cell voltages this node measures: [first_group, first_group +
  // group_count). group_count 0 = the default split: node k of N takes the contiguous block
  // [k * series / N, (k + 1) * series / N) (one node: every group). Set with --attest-node-groups.
  int first_group = 0;
  int group_count = 0;
};

// The attestation of the sensor nodes (issue 17): a round per node every every_s (node k starts
// k * stagger_s later), nonce from the CTR-DRBG (seeded from `seed` in lockstep, from the OS with
// os_entropy), answer over ISO-TP, verified after the control step. Every node is a trust node of
// the pack cycle: its round verdicts, with their reason, drive the trust weighting of the voltage
// channels of its own groups (AttestNode::first_group/group_count), a group whose node is
// distrusted derates (SENSOR_DISTRUSTED names its first group), no trusted node stops the pack.
struct AttestConfig {
  std::vector<AttestNode> nodes;
  double every_s = 5.0;
  double stagger_s = 0.25;
  std::uint64_t seed = 0;
  bool os_entropy = false;
  std::size_t max_verifies_per_cycle = 1;
  QuoteVerifierConfig verifier{};
  IsoTpConfig isotp{};
  void validate() const;  // throws std::invalid_argument naming the field
};

// Adds an enrolled node from "AK_HEX:PCR_MASK:GOLDEN_HEX[:FIRMWARE_VERSION[:PARENT_QN_HEX]]" (PCR
// mask in hex, e.g. 0x7; the firmware version decimal, empty = not checked; the parent's Qualified
// Name for an AK that is a child of it); throws std::invalid_argument naming key and the part.
struct FirmwareConfig;
void add_attest_node(FirmwareConfig& c, const std::string& key, const std::string& spec);
// Sets node K's groups from "K:FIRST:COUNT" (FIRST 0-based); throws std::invalid_argument naming key.
void set_attest_node_groups(FirmwareConfig& c, const std::string& key, const std::string& spec);
// Per series group, the attestation node that measures its voltage (trust::kNoNode: none); throws
// std::invalid_argument naming the node when two nodes claim a group or a group lies past `series`.
[[nodiscard]] std::vector<int> attest_voltage_nodes(const AttestConfig& a, int series);

struct FirmwareConfig {
  int series = 96;  // cell voltage / temperature channels (1..96)
  ControlStepConfig control{};
  double plant_heartbeat_timeout_s = 0.1;  // SAFE_STOP when no valid PLANT_HEARTBEAT for longer
  double meas_loss_timeout_s = 1.0;        // SAFE_STOP when a measurement stays missing longer
  int meas_max_age_cycles = 0;             // a value is fresh if it arrived at most this many cycles ago
  int e2e_max_delta = 2;                   // alive-counter jump still accepted (frames lost in between)
  AttestConfig attest{};                   // no nodes: no attestation, no trust weighting
  // When the sensor nodes report (report_nodes.hpp): every step (default), periodic or self-triggered.
  cycle::ReportingConfig reporting{};
  double stuck_time_s = 5.0;  // a cell reading identical for this long under current: stuck
  double stuck_min_current_a = 1.0;
  double imbalance_v = 0.05;  // a cell this far from the pack mean for imbalance_time_s
  double imbalance_time_s = 5.0;
  DiagConfig diag{};      // online diagnostics (diag_events.hpp): off by default
  void validate() const;  // throws std::invalid_argument naming the field
};

struct Frame {
  std::uint32_t id = 0;
  std::uint8_t data[8] = {};
};

class Firmware {
 public:
  // The wire's most (HIL_WIRE_MAX_FRAMES): 16 of the control cycle and 48 REPORT_SCHEDULE always
  // fit; the attestation's (per node 6 nonce fragments, 1 flow control, 2 results) take the rest
  // (a nonce that does not fit is sent next cycle).
  static constexpr std::size_t kMaxOutputFrames = 128;
  static constexpr std::size_t kMaxEventsPerCycle = 8;

  explicit Firmware(const FirmwareConfig& config);

  void on_frame(std::uint32_t can_id, const std::uint8_t* data, std::uint8_t len) noexcept;
  // A whole datagram of the UDP framing (firmware_sim/link/hil_wire.h); invalid_argument if malformed.
  [[nodiscard]] Status on_datagram(const std::uint8_t* buf, std::size_t size) noexcept;

  // Runs one control cycle of dt_s and builds the outputs (without a tick acknowledgement).
  [[nodiscard]] Status cycle(double dt_s) noexcept;
  // Lockstep: if a new tick is pending, runs its cycle and appends FW_TICK_ACK; if the pending tick
  // repeats the last one, keeps the outputs. Returns true when the outputs are to be sent.
  [[nodiscard]] bool lockstep_step() noexcept;
  // Real time reports its measured timing; it goes into FW_TICK_ACK / FW_HEARTBEAT and a
  // deadline miss raises DEADLINE_MISSED in the next cycle.
  void report_timing(double cycle_time_s, double jitter_s, bool deadline_missed) noexcept;

  // Outputs of the last cycle.
  [[nodiscard]] std::size_t output_count() const noexcept { return n_out_; }
  [[nodiscard]] const Frame& output(std::size_t i) const noexcept { return out_[i]; }
  // The outputs as one datagram; returns its size, 0 if cap is too small.
  [[nodiscard]] std::size_t output_datagram(std::uint8_t* buf, std::size_t cap) const noexcept;

  [[nodiscard]] Mode mode() const noexcept { return mode_; }
  [[nodiscard]] const Command& command() const noexcept { return command_; }
  [[nodiscard]] bool contactor_request() const noexcept { return mode_ != Mode::safe_stop; }
  [[nodiscard]] std::uint16_t fault_flags() const noexcept { return static_cast<std::uint16_t>(flags_ & 0xFFFFu); }
  [[nodiscard]] std::uint8_t diag_flags() const noexcept { return static_cast<std::uint8_t>(flags_ >> 16); }
  [[nodiscard]] const DiagEvents& diagnostics() const noexcept { return diag_; }
  [[nodiscard]] std::uint32_t cycles() const noexcept { return cycle_; }
  [[nodiscard]] std::uint32_t e2e_errors() const noexcept { return e2e_errors_; }
  [[nodiscard]] const Measurements& measurements() const noexcept { return meas_; }
  [[nodiscard]] const FirmwareConfig& config() const noexcept { return config_; }
  [[nodiscard]] const ControlReport& control_report() const noexcept { return control_.report(); }
  [[nodiscard]] const ControlStep& control() const noexcept { return control_; }
  // The attestation rounds (nullptr without enrolled nodes) and the firmware's time, ms.
  [[nodiscard]] const AttestRounds* attest_rounds() const noexcept { return rounds_.get(); }
  [[nodiscard]] std::uint64_t now_ms() const noexcept;
  // The sensor nodes' schedule (nullptr when every node reports every step).
  [[nodiscard]] const ReportNodes* report_nodes() const noexcept { return reports_.get(); }

 private:
  struct Element {  // one data element's receiver state and the cycle its value arrived for
    hil_e2e_rx_state_t e2e{};
    std::uint32_t stamp = 0;
    bool valid = false;
  };
  void set_fault(Fault f, bool active, std::uint8_t cell = 0) noexcept;
  void set_code(std::uint8_t code, bool active, std::uint8_t cell) noexcept;
  void report_diagnostics(double dt_s) noexcept;
  void report_invariants() noexcept;
  [[nodiscard]] const trust::Attestation* attestation_round() noexcept;
  void attestation_service() noexcept;
  void on_attest_frame(std::size_t node, const std::uint8_t* data, std::uint8_t len) noexcept;
  void build_attest_outputs(double* phys) noexcept;
  void supervise(double dt_s) noexcept;
  void build_outputs(bool with_ack) noexcept;
  [[nodiscard]] Status run_cycle(double dt_s) noexcept;
  [[nodiscard]] bool fresh(const Element& e) const noexcept;

  FirmwareConfig config_;
  ControlStep control_;
  Measurements meas_{};
  Command command_{};
  Mode mode_ = Mode::normal;
  bool safe_stop_latched_ = false;
  std::uint32_t flags_ = 0;    // bit (code - 1): FAULT_FLAGS the low 16, DIAG_FLAGS the next 5
  std::uint16_t latched_ = 0;  // faults that stay once raised (stuck sensor, imbalance)
  std::uint32_t cycle_ = 0;    // cycles completed; frames received now are for cycle_ + 1
  std::uint32_t e2e_errors_ = 0;
  bool e2e_error_pending_ = false;
  bool deadline_miss_pending_ = false;
  double last_cycle_time_s_ = 0.0;
  double last_jitter_s_ = 0.0;

  // received values and their elements
  std::array<double, kMaxCells> rx_cell_v_{};
  std::array<double, kMaxCells> rx_cell_t_k_{};
  std::array<Element, HIL_CELL_V_A_MUX_VALUES + HIL_CELL_V_B_MUX_VALUES> cell_v_el_{};  // CELL_V_A mux, then B's
  std::array<Element, HIL_CELL_T_MUX_VALUES> cell_t_el_{};
  Element pack_el_{}, load_el_{}, hb_el_{}, tick_el_{};
  double rx_pack_i_ = 0.0, rx_pack_v_ = 0.0, rx_req_i_ = 0.0;
  int rx_req_mode_ = 0;
  bool rx_contactor_ = false;

  // attestation (built at construction when nodes are enrolled)
  std::unique_ptr<QuoteVerifier> verifier_;
  std::unique_ptr<NonceSource> nonces_;
  std::unique_ptr<AttestRounds> rounds_;
  double time_s_ = 0.0;  // firmware time: the sum of the cycles' dt
  std::array<bool, QuoteVerifier::kMaxNodes> fc_pending_{};
  std::array<trust::Attestation, QuoteVerifier::kMaxNodes> verdicts_{};  // this cycle's, per node
  struct AttestOutcome {
    std::uint8_t node, kind, reason, check;  // kind 0 = an answer verified, 1 = a round ended
  };
  std::array<AttestOutcome, 2 * QuoteVerifier::kMaxNodes> outcomes_{};
  std::size_t n_outcomes_ = 0;
  std::array<std::uint8_t, QuoteVerifier::kMaxNodes * HIL_ATTEST_NONCE_0_MUX_VALUES>
      nonce_counter_{};  // alive counter per fragment

  // reporting (built at construction unless every step)
  std::unique_ptr<ReportNodes> reports_;

  // lockstep
  bool tick_pending_ = false;
  std::uint32_t tick_seq_ = 0;
  double tick_dt_s_ = 0.0;
  bool have_acked_ = false;
  bool tick_out_of_order_ = false;
  std::uint32_t acked_seq_ = 0;

  // supervision timers
  double hb_age_s_ = 0.0;
  double meas_missing_s_ = 0.0;
  std::array<double, kMaxCells> stuck_s_{};
  std::array<double, kMaxCells> last_v_{};
  double imbalance_s_ = 0.0;

  // the guarded cycle's invariants: FW_EVENT code per invariant, active ones per group (bit i)
  std::array<std::uint8_t, 32> invariant_code_{};
  std::array<std::uint32_t, kMaxCells> invariant_active_{};

  DiagEvents diag_;

  // outputs
  std::array<Frame, kMaxOutputFrames> out_{};
  std::size_t n_out_ = 0;
  struct Event {
    std::uint8_t code;
    std::uint8_t cell;  // 1-based series group, 0 = the pack
  };
  std::array<Event, kMaxEventsPerCycle> events_{};
  std::size_t n_events_ = 0;
  std::array<std::uint8_t, 256> tx_counter_{};  // alive counter per (frame id & 0xFF)
};

}  // namespace safetwin::firmware
