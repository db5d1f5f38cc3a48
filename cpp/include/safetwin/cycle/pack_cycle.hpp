#pragma once
// The control cycle of a pack of `series` groups of `parallel` cells: one ControlCycle per group
// (estimator, controller, CBF filter, supervisor and monitor on the per-cell view of the group:
// the group's voltage, its hottest cell's temperature, the pack current / parallel), and one pack
// command that every group accepts.
//
// Why the most conservative command is safe for every group: series groups carry one current, and
// each group's released command c_g lies in that group's safe interval of currents, which holds 0
// (a cell at rest stays inside its limits). Any current between 0 and c_g is then safe for group g,
// so when all c_g have one sign, the one closest to 0 is safe for all (the "minimum over cells" rule
// of BMS power limits). Groups that disagree in sign get 0. A group in SAFE_STOP stops the pack.
//
// Parallel groups: the cells of a group share its terminal voltage, so its current splits by
// their resistances (Kirchhoff), not evenly: I_j = I_group (1/R_j) / sum_i (1/R_i). With the cells'
// resistances within a relative spread s of the estimate (parallel_resistance_spread), the worst
// cell is the one at R (1 - s) beside parallel - 1 cells at R (1 + s):
//   share = (1 + s) / ((1 + s) + (parallel - 1)(1 - s))  of the group current, i.e.
//   current_share = parallel * share >= 1 times the even per-cell current (1.3 for 2p at s = 0.3).
// Every group's cycle divides its current limits by current_share (CycleConfig::current_share), so
// the pack's released current respects the worst cell's limit.
//
// Trust (optional, trust.enabled): sensor nodes feed the groups' measurement channels
// (trust.channels, one ChannelNodes per group); each step first updates every node's trust from
// this cycle's attestation verdicts and the residuals of the estimators' last update, and writes
// the noise scales into the groups' estimators (trust::EstimatorTrust), then steps the groups. The
// trust values reach every group's monitor as the signals "trust_<node>",
// "trust_voltage_a" (the trust of the node behind this group's own voltage_a channel, so that one
// invariant over it flags exactly the groups a distrusted node feeds) and "trusted_voltage_nodes"
// (the number of voltage nodes at or above the distrust threshold), when the monitor
// configuration declares them, so invariants over them raise derate or stop events.
//
// Timing: step() once per control period, with the sample of the interval that just ended (as
// ControlCycle::step). No allocation, no exception after construction.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/trust/estimator_trust.hpp"

namespace safetwin::cycle {

struct PackTrustConfig {
  bool enabled = false;
  bool weighting = true;  // false: trust is computed and reported, noise scales stay at 1
  int nodes = 2;
  std::vector<trust::ChannelNodes> channels;  // per group; empty = every group {a: 0, b: 1}
  trust::TrustConfig config{};
};

struct PackCycleConfig {
  int series = 1;
  int parallel = 1;
  CycleConfig cell{};  // the per-cell cycle every group runs (estimator, CBF, supervisor, monitor)
  // Relative spread of the cells' resistances within a parallel group, in [0, 1) (see above).
  double parallel_resistance_spread = 0.3;
  PackTrustConfig trust{};
  void validate() const;  // throws std::invalid_argument naming the field
};

// The largest share of the even per-cell current one cell of `parallel` may carry (header).
[[nodiscard]] double worst_cell_current_share(int parallel, double resistance_spread) noexcept;

// One sample of the pack. Arrays hold `series` entries; a null validity array means all valid, a
// null voltage_b_v means the redundant channel is absent.
struct PackMeasurements {
  double time_s = 0.0;
  double pack_current_a = 0.0;            // measured pack current in the interval
  const double* voltage_a_v = nullptr;    // group voltage, cell-monitoring node
  const double* voltage_b_v = nullptr;    // group voltage, redundant node
  const double* temperature_k = nullptr;  // hottest cell of the group
  const std::uint8_t* voltage_a_valid = nullptr;
  const std::uint8_t* voltage_b_valid = nullptr;
  const std::uint8_t* temperature_valid = nullptr;
  // Self-triggered reporting: 0 = the group's node did not report this step (CycleMeasurements'
  // *_fresh: a held value); null = every reading fresh.
  const std::uint8_t* voltage_a_fresh = nullptr;
  const std::uint8_t* voltage_b_fresh = nullptr;
  const std::uint8_t* temperature_fresh = nullptr;
  // Attestation verdicts of this cycle, one per trust node; null = no round completed this cycle.
  const trust::Attestation* attestation = nullptr;
};

struct PackCycleStatus {
  Status status = Status::not_initialised;  // ok, or the first non-ok status of the groups
  double command_a = 0.0;                   // pack current to apply (finite; 0 when stopped)
  bool contactor_closed = false;
  safety::Mode mode = safety::Mode::normal;  // the most severe mode of the groups
  int limiting_group = -1;                   // the group whose command was applied (-1: none)
};

class PackCycle {
 public:
  // One controller per group (not owned; null entries count as missing outputs). Throws
  // std::invalid_argument on a bad config or a controller count other than series.
  PackCycle(PackCycleConfig config, const std::vector<control::Controller*>& controllers);

  // Refuses null voltage_a_v / temperature_k (invalid_argument, nothing changed).
  [[nodiscard]] Status step(const PackMeasurements& m, double dt_s, PackCycleStatus& out) noexcept;

  [[nodiscard]] std::size_t groups() const noexcept { return cycles_.size(); }
  [[nodiscard]] ControlCycle& group(std::size_t g) noexcept { return *cycles_[g]; }
  [[nodiscard]] const ControlCycle& group(std::size_t g) const noexcept { return *cycles_[g]; }
  [[nodiscard]] const CycleStatus& group_status(std::size_t g) const noexcept { return status_[g]; }
  [[nodiscard]] const PackCycleConfig& config() const noexcept { return config_; }
  void reset(double time_s) noexcept;  // explicit reset of every group's monitor and supervisor

  [[nodiscard]] bool has_trust() const noexcept { return trust_ != nullptr; }
  [[nodiscard]] const trust::EstimatorTrust* trust() const noexcept { return trust_.get(); }

 private:
  [[nodiscard]] Status update_trust(const PackMeasurements& m) noexcept;

  PackCycleConfig config_;
  std::unique_ptr<trust::EstimatorTrust> trust_;
  std::vector<estimation::BatteryEkf*> estimators_;    // the groups' estimators, for the trust step
  std::vector<trust::Attestation> no_verdicts_;        // Attestation::none per node
  std::vector<std::vector<int>> trust_signals_;        // per group: "trust_<node>" indices (-1: absent)
  std::vector<int> trusted_signal_;                    // per group: "trusted_voltage_nodes" index
  std::vector<int> own_voltage_signal_;                // per group: "trust_voltage_a" index (-1: absent)
  std::vector<int> own_voltage_node_;                  // per group: the node of voltage_a (kNoNode: none)
  std::vector<std::uint8_t> voltage_node_;             // per node: feeds a voltage channel
  double last_dt_s_ = 0.0;                             // dt of the previous step (0: none yet)
  std::vector<std::unique_ptr<ControlCycle>> cycles_;  // ControlCycle is not copyable
  std::vector<CycleStatus> status_;
};

}  // namespace safetwin::cycle
