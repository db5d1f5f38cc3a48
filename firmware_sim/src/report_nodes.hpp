#pragma once
// The firmware's side of self-triggered reporting (issue 18): the sensor nodes on the bus decide
// when they report, the firmware tells them when they must. A node is one measurement frame of the
// DBC: node n < 16 is CELL_V_A mux n (cells 3n+1..3n+3), 16 <= n < 32 CELL_V_B mux n-16 (cells
// 49+3(n-16)..), 32 <= n < 48 CELL_T mux n-32 (cells 6(n-32)+1..6(n-32)+6).
//
// The core's ReportScheduler keeps each cell's schedule (one series group each; voltage node a
// and the temperature node; no redundant voltage node on this link). Per cycle, at firmware time t:
//   receive()  before the control step: a cell whose frame arrived this cycle reported (fresh);
//              one whose report was due and did not arrive missed it: its value stays NaN
//              (silence, fail closed: the firmware's freshness supervision holds the command and
//              stops past meas_loss_timeout_s); any other gets its last report, held (not fresh:
//              the estimator predicts only, the monitor checks the held value).
//   schedule() after the step: each cell's next report time from the safe horizon under the
//              command just released; a node's time is the earliest of its cells' and its event
//              threshold the smallest.
// REPORT_SCHEDULE (pending()) tells a node an interval: report REPORT_IN after this cycle, and
// after each report again REPORT_IN later, until the next frame; and an event threshold. The
// firmware follows what each node was told (its due time: last frame or last report + interval),
// and sends a frame only when the node must change: its due time would come after the wanted one
// (it would be late: a frame pulls it earlier), or it reported and the interval it wants now
// differs from the one it was told, or the wanted threshold fell below the one told (the frame
// then tells 0.8 of it, so that a slow approach to a limit does not send a frame per report) or
// rose above 1.5 times it. REPORT_IN is rounded down to the frame's 0.01 s: never late. A stable
// schedule (every step near a limit, the ceiling at rest) sends no frames.
// every_step: nothing here runs (the link's behaviour before issue 18, bit for bit).
// Allocation: at construction only; receive/schedule never throw.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

#include "measurements.hpp"
#include "safetwin/cycle/pack_cycle.hpp"
#include "safetwin/cycle/report_schedule.hpp"
#include "safetwin_hil_layout.h"

namespace safetwin::firmware {

// The sensor nodes of REPORT_SCHEDULE.SCHED_NODE: CELL_V_A's mux values, CELL_V_B's, CELL_T's.
inline constexpr std::size_t kTempNode0 = HIL_CELL_V_A_MUX_VALUES + HIL_CELL_V_B_MUX_VALUES;
inline constexpr std::size_t kReportNodes = kTempNode0 + HIL_CELL_T_MUX_VALUES;
static_assert(kReportNodes == static_cast<std::size_t>(HIL_REPORT_SCHEDULE_SCHED_NODE_MAX) + 1,
              "SCHED_NODE numbers every measurement frame");

// "every-step" | "periodic:T" (T in s, > 0) | "self-triggered"; throws std::invalid_argument
// naming key and value.
cycle::ReportingConfig parse_reporting(const std::string& key, const std::string& spec);

struct ScheduleFrame {
  std::uint8_t node = 0;
  double report_in_s = 0.0;  // from the cycle that sends it
  double threshold = 0.0;    // V (voltage nodes) or K (temperature nodes)
};

class ReportNodes {
 public:
  // cells: series groups in use; cell_cycle: a group's cycle (its CBF's cell, limits, SOC window and
  // model-error floors, its EKF's noise: the safe horizon's model, as the closed-loop runner takes
  // them); dt_s: the nominal cycle period. Throws std::invalid_argument.
  ReportNodes(const cycle::ReportingConfig& config, std::size_t cells, double dt_s,
              const cycle::CycleConfig& cell_cycle);

  // v_arrived[j] / t_arrived[j]: cell j's voltage / temperature frame arrived valid this cycle.
  // Replaces m's values as the header says and sets m's freshness flags.
  void receive(double t, Measurements& m, const bool* v_arrived, const bool* t_arrived) noexcept;
  void schedule(double t, const cycle::PackCycle& pc, double cell_current_a) noexcept;

  void clear_pending() noexcept { n_pending_ = 0; }  // a cycle not stepped schedules nothing
  [[nodiscard]] std::size_t pending() const noexcept { return n_pending_; }
  [[nodiscard]] const ScheduleFrame& frame(std::size_t i) const noexcept { return pending_[i]; }
  [[nodiscard]] std::size_t missed_reports() const noexcept { return missed_; }
  [[nodiscard]] const cycle::ReportScheduler& scheduler() const noexcept { return scheduler_; }

 private:
  std::size_t cells_;
  cycle::ReportScheduler scheduler_;
  // What each node was told and so does: its due time, interval and threshold (inf: none yet).
  std::array<double, kReportNodes> node_due_s_{};
  std::array<double, kReportNodes> node_interval_s_{};
  std::array<double, kReportNodes> node_threshold_{};
  std::array<bool, kReportNodes> arrived_{};  // the node reported this cycle
  std::array<ScheduleFrame, kReportNodes> pending_{};
  std::size_t n_pending_ = 0;
  std::size_t missed_ = 0;  // cell-reports due that did not arrive
};

}  // namespace safetwin::firmware
