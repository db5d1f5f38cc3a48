#pragma once
// When the sensor nodes report: every step (the default), periodic(T), or self-triggered, where the
// twin tells each group's nodes their next report time from the safe horizon
// (safety/safe_horizon.hpp) and an event threshold, and a node also reports early when its reading
// departs from its last report by more than that threshold. ClosedLoop runs one per scenario; the
// firmware's schedule (firmware_sim/) carries the same two numbers per node in REPORT_SCHEDULE.
//
// Nodes: per series group the voltage node a, the redundant voltage node b (when present) and the
// temperature node. The pack current is measured by the master itself (its shunt, every step) and
// is not a bus frame. A frame is one report of one node.
//
// Per step, before the cycle (decide):
//   - a node reports when it is due (t >= its next report time) or, self-triggered, on its local
//     event (|reading - last report| > threshold); an event at one voltage node also polls its
//     redundant peer in the same step (plausibility compares the two at one instant)
//   - a node that reports gives the cycle a fresh reading (the estimator fuses it)
//   - a node that does not report gives its last report, held (CycleMeasurements::*_fresh = false):
//     the monitor keeps checking it, the estimator predicts only
//   - a due node whose reading is invalid (a dropout) missed its report: the cycle gets an invalid
//     reading this step (silence: fail closed, as a dropout every step) and the node stays due
// After the cycle (schedule), self-triggered: each node's next report time is now + tau of the safe
// horizon under the command just released, held (tau from this step's predicted estimate and
// covariance): the voltage nodes' tau from the V and SOC tube, the temperature node's from the T
// tube but never later than the voltage nodes' (the T tube knows no heat the model lacks: on its
// own tube the temperature node reported too rarely for the thermal twin to see an internal short);
// an explicit event (the node's tube leaves before min_interval_s) asks for the next step.
// So does a measurement that binds (cbf, the cycle's filter verdict of this step): when one of the
// CBF filter's measurement-based barriers cuts the current interval its model barriers and the
// current limits allow, the model is optimistic there (an aged cell the twin has not learned yet),
// and holding the reading would drop that barrier and release the current the measurement forbids
// (a 3C charge of a cell with R0 x 1.77 went from 12.6 A to 15 A at the first held reading and to
// 4.30 V): that node kind reports again at the next step. It
// replaces the time of the nodes that reported and can only pull the others' earlier (a schedule
// frame, downlink, counted when a group's time changes). Thresholds: half the distance of the last
// report to the nearest limit, between the configured floor and ceiling.
//
// Periodic(T) with T < dt: a node sends dt / T frames per step, the cycle uses the last (the loop
// resolves time by dt); frames are counted as sent. Allocation: at construction only.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "safetwin/battery/state_idx.hpp"
#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/safety/safe_horizon.hpp"
#include "safetwin/status.hpp"

namespace safetwin::cycle {

enum class ReportingMode : std::uint8_t { every_step = 0, periodic, self_triggered };
[[nodiscard]] const char* to_string(ReportingMode m) noexcept;

enum class ReportNode : std::uint8_t { voltage_a = 0, voltage_b, temperature };
constexpr int kReportNodeKinds = 3;

struct ReportingConfig {
  ReportingMode mode = ReportingMode::every_step;
  double period_s = 1.0;  // periodic
  // Self-triggered: the safe horizon (its cell, step and SOC window are the cycle's, set by the
  // runner; its ceiling, minimum interval, kappa and guard bands are these).
  double max_interval_s = 30.0;
  double min_interval_s = 1.0;
  double confidence_sigma = 3.7;
  double voltage_margin_v = 0.0;
  double temp_margin_k = 0.0;
  double soc_margin = 0.0;
  double threshold_max_v = 0.05;  // event thresholds sent to the nodes: ceiling and floor
  double threshold_min_v = 0.005;
  double threshold_max_k = 2.0;
  double threshold_min_k = 0.3;
  void validate(double dt_s) const;  // throws std::invalid_argument naming the field
};

struct ReportCounts {
  std::array<std::size_t, kReportNodeKinds> frames{};  // reports sent, per node kind (all groups)
  std::size_t event_reports = 0;                       // of them, early on a local event (or polled with one)
  std::size_t missed_reports = 0;                      // node-steps due whose reading was invalid (silence)
  std::size_t schedule_frames = 0;                     // REPORT_SCHEDULE updates sent (downlink)
  std::size_t horizon_events = 0;                      // schedules from a tube that left before min_interval_s
  std::size_t measured_binding = 0;                    // schedules where a measured barrier bound the filter
  double tau_sum_s = 0.0;                              // sum of the scheduled intervals (mean = / schedules computed)
  std::size_t schedules = 0;
  [[nodiscard]] std::size_t total_frames() const noexcept { return frames[0] + frames[1] + frames[2]; }
};

// One group's readings of this step, changed in place by decide(): values (held reports where a
// node did not report), validity (0 on a missed report) and freshness.
struct GroupReadings {
  double* value[kReportNodeKinds];
  std::uint8_t* valid[kReportNodeKinds];
  std::uint8_t* fresh[kReportNodeKinds];
};

// The safe horizon of a cycle: its model, limits, SOC window and model-error floors (the CBF's), and
// its process noise (the estimator's random walks over dt_s). The closed-loop runner and the
// firmware build their schedulers' horizons with it.
[[nodiscard]] safety::SafeHorizonConfig safe_horizon_config(const CycleConfig& cc, double dt_s);

class ReportScheduler {
 public:
  // groups: series groups; node_b: the redundant voltage node exists; horizon: the safe horizon's
  // model and SOC window (its ceiling etc. are taken from `config`). Throws std::invalid_argument.
  ReportScheduler(ReportingConfig config, std::size_t groups, bool node_b, double dt_s,
                  safety::SafeHorizonConfig horizon);

  void decide(double t, std::size_t group, const GroupReadings& r) noexcept;
  // Self-triggered only (a no-op otherwise): the next report time of the group's nodes.
  [[nodiscard]] Status schedule(double t, std::size_t group, const battery::StateVector& x,
                                const battery::StateMatrix& P, double command_a, const safety::TwinEstimate& twin,
                                const safety::CbfVerdict* cbf = nullptr) noexcept;

  [[nodiscard]] const ReportCounts& counts() const noexcept { return counts_; }
  [[nodiscard]] const ReportingConfig& config() const noexcept { return config_; }
  [[nodiscard]] double next_report_s(std::size_t group, ReportNode n) const noexcept {
    return nodes_[group][static_cast<std::size_t>(n)].next_s;
  }
  [[nodiscard]] double threshold(std::size_t group, ReportNode n) const noexcept {
    return nodes_[group][static_cast<std::size_t>(n)].threshold;
  }

  // The firmware's side (firmware_sim/src/report_nodes.*), where the nodes decide and their reports
  // arrive over the bus. receive(): node n of the group reported `value` at t (due, or early on its
  // local event); bookkept as a report in decide(). due(): the node's report is due at t (a due node
  // whose report did not arrive missed it: silence). last_report(): its last report (held).
  void receive(double t, std::size_t group, ReportNode n, double value) noexcept;
  [[nodiscard]] bool due(double t, std::size_t group, ReportNode n) const noexcept;
  [[nodiscard]] double last_report(std::size_t group, ReportNode n) const noexcept {
    return nodes_[group][static_cast<std::size_t>(n)].last;
  }

 private:
  struct Node {
    double next_s = 0.0;  // due at or after this time
    double last = 0.0;    // last report
    bool has_report = false;
    double threshold = 0.0;  // event threshold (self-triggered)
    bool reported = false;   // reported in this step's decide()
  };
  void update_threshold(Node& n, ReportNode kind) const noexcept;

  ReportingConfig config_;
  double dt_s_;
  bool node_b_;
  safety::SafeHorizon horizon_;
  std::vector<std::array<Node, kReportNodeKinds>> nodes_;
  ReportCounts counts_{};
};

}  // namespace safetwin::cycle
