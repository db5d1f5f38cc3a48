#pragma once
// The firmware's safety calibration: the invariants its monitor checks on every series group, the
// supervisor's derating, and the trust weighting of the attested sensor nodes. A production BMS
// compiles these in (they are part of its safety case), so they live here in code, with the
// margins settable from the firmware's configuration.
//
// Tiers as in production BMSs (operating limit -> warning, recommended safety limit -> derate,
// maximum safety limit -> stop, latched), on the measured group voltage and the hottest cell's
// temperature, placed relative to the cell limits:
//   temperature   warning T_max - temp_warning_k, derate T_max - temp_derate_k, stop T_max - temp_stop_k.
//                 The MPC plans up to the operating limit (warning tier) and every group's CBF
//                 filter holds its estimate there. The stop lies 2 K below
//                 T_max: a pack this warm has lost its cooling (the twin's thermal model assumes it
//                 works), and a cell keeps heating after the current stops while its RC
//                 polarisation relaxes (about 2 K from 3C with no cooling, hil/scenarios/
//                 cooling_failure_charge.toml), so the stop must come before the cell limit.
//   voltage high  warning V_max + voltage_warning_v, derate + voltage_derate_v, stop + voltage_stop_v
//   voltage low   the same below V_min
//   hysteresis    each tier clears only once its value is temp_hysteresis_k / voltage_hysteresis_v
//                 back inside its limit (the clear threshold), so a reading at a limit does not chatter
//   estimator     the mean NIS over nis_window_s (at most 6000 samples) above nis_max: warning
//   trust         (trust on) the trust of the group's own voltage node below the distrust threshold:
//                 derate that group; no voltage node trusted: stop
// Debounce in seconds (converted to samples of period_s): set_s of net violation to set an
// invariant, clear_s of satisfied samples to clear it.
#include <cstdint>
#include <string>
#include <vector>

#include "safetwin/battery/cell_params.hpp"
#include "safetwin/cycle/pack_cycle.hpp"

namespace safetwin::firmware {

// FW_EVENT codes the monitor's invariants raise (hil/safetwin_hil.dbc); 0 = none.
enum class InvariantEvent : std::uint8_t {
  none = 0,
  over_voltage = 5,
  under_voltage = 6,
  over_temp = 7,
  safety_derate = 14,
  sensor_distrusted = 15,
  diag_anomaly = 17  // the anomaly score's invariant (diag_events.hpp)
};

struct SafetyCalibration {
  double temp_warning_k = 5.0;
  double temp_derate_k = 3.5;
  double temp_stop_k = 2.0;
  double voltage_warning_v = 0.01;
  double voltage_derate_v = 0.03;
  double voltage_stop_v = 0.06;
  double temp_hysteresis_k = 1.0;
  double voltage_hysteresis_v = 0.01;
  double set_s = 2.0;
  double clear_s = 10.0;
  double nis_window_s = 60.0;
  double nis_max = 8.0;
  double derate_factor = 0.5;  // the supervisor's current scale in DERATED
  double hold_max_s = 2.5;
  // The estimators' initial SOC sigma: the OCV of a rested reading (a few %, not the filter's
  // default ignorance, or the CBF's SOC margins would forbid discharging the lower half of the
  // window and charging the upper half until the filter converged).
  double soc_sigma0 = 0.05;  // longest hold of the last command without a controller output
  // Trust of the attested sensor nodes, on when the firmware has enrolled nodes: trust_nodes of
  // them, voltage_nodes[g] the node whose readings feed group g's voltage channel (trust::kNoNode:
  // not weighted; empty: node 0 feeds every group). A group whose own node falls below the
  // distrust threshold derates; no trusted voltage node at all stops.
  bool trust = false;
  int trust_nodes = 1;
  std::vector<int> voltage_nodes;
  double attest_timeout_s = 30.0;  // no attestation verdict for this long counts as a failed one
  double distrust_threshold = 0.1;
  // The anomaly score (CycleConfig::anomaly, safetwin.diagnostics.calibration): 0 = off, else its
  // calibrated threshold, with the shipped calibration's window (300 samples), channels (voltage a
  // and temperature) and cap.
  double anomaly_threshold = 0.0;
  void validate() const;  // throws std::invalid_argument naming the field
};

// The pack cycle's configuration for `series` groups of `parallel` cells with these limits, a
// sample period of period_s, and the calibration.
[[nodiscard]] cycle::PackCycleConfig pack_cycle_config(int series, int parallel, const battery::CellLimits& limits,
                                                       double period_s, const SafetyCalibration& cal);

// The FW_EVENT code of the firmware's invariant with this name (none for warnings).
[[nodiscard]] InvariantEvent invariant_event(const std::string& name) noexcept;

}  // namespace safetwin::firmware
