#include "safety_calibration.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::firmware {

namespace {

using safety::InvariantKind;
using safety::InvariantSpec;
using safety::Severity;

constexpr double kMaxNisSamples = 6000.0;

int samples(double seconds, double period_s) {
  return std::max(1, static_cast<int>(std::ceil(seconds / period_s - 1e-9)));
}

// hysteresis: the clear threshold lies this far inside the set limit (on its finite side).
InvariantSpec range(const std::string& name, const std::string& signal, double lo, double hi, Severity sev,
                    const SafetyCalibration& cal, double period_s, double hysteresis = 0.0) {
  InvariantSpec s;
  s.name = name;
  s.signal = signal;
  s.kind = InvariantKind::range;
  s.lo = lo;
  s.hi = hi;
  s.severity = sev;
  s.set_count = samples(cal.set_s, period_s);
  s.clear_count = samples(cal.clear_s, period_s);
  if (hysteresis > 0.0) {
    if (std::isfinite(lo)) s.clear_lo = lo + hysteresis;
    if (std::isfinite(hi)) s.clear_hi = hi - hysteresis;
  }
  return s;
}

}  // namespace

void SafetyCalibration::validate() const {
  if (!(temp_stop_k >= 0.0 && temp_stop_k < temp_derate_k && temp_derate_k < temp_warning_k &&
        std::isfinite(temp_warning_k)))
    throw_invalid("SafetyCalibration.temp_derate_k", temp_derate_k,
                  "needs 0 <= temp_stop_k < temp_derate_k < temp_warning_k (margins below T_max)");
  if (!(voltage_warning_v >= 0.0 && voltage_warning_v < voltage_derate_v && voltage_derate_v < voltage_stop_v &&
        std::isfinite(voltage_stop_v)))
    throw_invalid(
        "SafetyCalibration.voltage_derate_v", voltage_derate_v,
        "needs 0 <= voltage_warning_v < voltage_derate_v < voltage_stop_v (margins outside the voltage window)");
  require_in_range("SafetyCalibration.temp_hysteresis_k", temp_hysteresis_k, 0.0, 10.0);
  require_in_range("SafetyCalibration.voltage_hysteresis_v", voltage_hysteresis_v, 0.0, 0.5);
  require_positive("SafetyCalibration.set_s", set_s);
  require_positive("SafetyCalibration.clear_s", clear_s);
  require_positive("SafetyCalibration.nis_window_s", nis_window_s);
  require_positive("SafetyCalibration.nis_max", nis_max);
  require_in_range("SafetyCalibration.derate_factor", derate_factor, 0.0, 1.0);
  require_positive("SafetyCalibration.hold_max_s", hold_max_s);
  require_non_negative("SafetyCalibration.anomaly_threshold", anomaly_threshold);
  require_in_range("SafetyCalibration.soc_sigma0", soc_sigma0, 1e-4, 1.0);
  require_positive("SafetyCalibration.attest_timeout_s", attest_timeout_s);
  if (!(distrust_threshold > 0.0 && distrust_threshold < 1.0))
    throw_invalid("SafetyCalibration.distrust_threshold", distrust_threshold, "must be in (0, 1)");
  if (trust_nodes < 1 || static_cast<std::size_t>(trust_nodes) > trust::kMaxNodes)
    throw_invalid("SafetyCalibration.trust_nodes", trust_nodes,
                  "must be in [1, " + std::to_string(trust::kMaxNodes) + "]");
  for (std::size_t g = 0; g < voltage_nodes.size(); ++g)
    if (voltage_nodes[g] < trust::kNoNode || voltage_nodes[g] >= trust_nodes)
      throw_invalid("SafetyCalibration.voltage_nodes[" + std::to_string(g) + "]", voltage_nodes[g],
                    "must be a trust node in [0, trust_nodes) or -1 (none)");
}

cycle::PackCycleConfig pack_cycle_config(int series, int parallel, const battery::CellLimits& limits, double period_s,
                                         const SafetyCalibration& cal) {
  cal.validate();
  require_positive("ControlStepConfig.period_s", period_s);
  cycle::PackCycleConfig pc;
  pc.series = series;
  pc.parallel = parallel;
  cycle::CycleConfig& c = pc.cell;
  c.estimator.cell.limits = limits;
  // The estimators start from the OCV of a rested reading (ControlStep): a few % SOC, not the
  // filter's default ignorance, so the CBF's 3-sigma margins do not block the first minutes.
  c.estimator.soc_sigma0 = cal.soc_sigma0;
  c.cbf.cell.limits = limits;
  // The filter keeps every group inside the operating temperature limit (the warning tier), as the
  // MPC plans to: the tiers above it are the monitor's, for what the twin did not foresee.
  c.cbf.cell.limits.temp_max_k = limits.temp_max_k - cal.temp_warning_k;
  c.cbf.measured_temp_max_k = limits.temp_max_k;  // the measured hottest cell: the cell's own limit
  c.supervisor.cell.limits = limits;
  c.supervisor.derate_factor = cal.derate_factor;
  c.supervisor.hold_max_s = cal.hold_max_s;

  safety::MonitorConfig& m = c.monitor;
  m.sample_period_s = period_s;
  const double inf = safety::kNoLimit;
  const double t_max = limits.temp_max_k, v_max = limits.voltage_max_v, v_min = limits.voltage_min_v;
  m.invariants = {
      range("temperature.operating", "temperature_k", -inf, t_max - cal.temp_warning_k, Severity::warning, cal,
            period_s, cal.temp_hysteresis_k),
      range("temperature.recommended", "temperature_k", -inf, t_max - cal.temp_derate_k, Severity::derate, cal,
            period_s, cal.temp_hysteresis_k),
      range("temperature.maximum", "temperature_k", -inf, t_max - cal.temp_stop_k, Severity::stop, cal, period_s,
            cal.temp_hysteresis_k),
      range("voltage_high.operating", "voltage_a_v", -inf, v_max + cal.voltage_warning_v, Severity::warning, cal,
            period_s, cal.voltage_hysteresis_v),
      range("voltage_high.recommended", "voltage_a_v", -inf, v_max + cal.voltage_derate_v, Severity::derate, cal,
            period_s, cal.voltage_hysteresis_v),
      range("voltage_high.maximum", "voltage_a_v", -inf, v_max + cal.voltage_stop_v, Severity::stop, cal, period_s,
            cal.voltage_hysteresis_v),
      range("voltage_low.operating", "voltage_a_v", v_min - cal.voltage_warning_v, inf, Severity::warning, cal,
            period_s, cal.voltage_hysteresis_v),
      range("voltage_low.recommended", "voltage_a_v", v_min - cal.voltage_derate_v, inf, Severity::derate, cal,
            period_s, cal.voltage_hysteresis_v),
      range("voltage_low.maximum", "voltage_a_v", v_min - cal.voltage_stop_v, inf, Severity::stop, cal, period_s,
            cal.voltage_hysteresis_v),
  };
  InvariantSpec nis;
  nis.name = "estimator.consistency";
  nis.signal = "nis";
  nis.kind = InvariantKind::nis_window;
  nis.hi = cal.nis_max;
  // Each cell's monitor holds the window as a ring of samples: at most kMaxNisSamples of them (60 s
  // at 100 Hz; at 1 kHz the window shortens to 6 s rather than take 46 MB for 96 cells).
  nis.window_s = std::min(cal.nis_window_s, kMaxNisSamples * period_s);
  nis.severity = Severity::warning;
  m.invariants.push_back(nis);
  m.event_capacity = 256;
  if (cal.anomaly_threshold > 0.0) {  // the cycle adds its invariant "diagnostics.anomaly_score"
    c.anomaly.enabled = true;
    c.anomaly.score.window_samples = 300;
    c.anomaly.score.channel_mask = 0x5;
    c.anomaly.score.z2_cap = 100.0;
    c.anomaly.score.threshold = cal.anomaly_threshold;
  }

  if (cal.trust) {
    // Per group: the trust of the node behind its own voltage channel (PackCycle's
    // "trust_voltage_a"), so a distrusted node derates (and FW_EVENT names) only its own groups.
    m.signals = {"trust_voltage_a", "trusted_voltage_nodes"};
    m.invariants.push_back(
        range("trust.cell_monitor", "trust_voltage_a", cal.distrust_threshold, inf, Severity::derate, cal, period_s));
    InvariantSpec none = range("trust.voltage_nodes", "trusted_voltage_nodes", 0.5, inf, Severity::stop, cal, period_s);
    none.set_count = 1;  // no trusted voltage source: nothing to debounce against
    m.invariants.push_back(none);
    cycle::PackTrustConfig& t = pc.trust;
    t.enabled = true;
    t.nodes = cal.trust_nodes;
    t.channels.assign(static_cast<std::size_t>(series), trust::ChannelNodes{0, trust::kNoNode, trust::kNoNode});
    for (std::size_t g = 0; g < cal.voltage_nodes.size() && g < t.channels.size(); ++g)
      t.channels[g].voltage_a = cal.voltage_nodes[g];
    // TrustConfig's probabilities are per cycle; these are its defaults per second, scaled to the
    // period so that the trust dynamics do not depend on the cycle rate.
    trust::TrustConfig& tc = t.config;
    tc.p_compromise = std::min(1e-4 * period_s, 0.5);
    tc.p_recover = std::min(1e-3 * period_s, 0.5);
    tc.cusum.false_alarm_rate = std::min(1e-3 * period_s, 0.1);
    tc.p_alarm_compromised = std::min(0.05 * period_s, 0.5);
    tc.max_cycles_without_verdict = samples(cal.attest_timeout_s, period_s);
    tc.distrust_threshold = cal.distrust_threshold;
  }
  return pc;
}

InvariantEvent invariant_event(const std::string& name) noexcept {
  if (name == "temperature.maximum") return InvariantEvent::over_temp;
  if (name == "voltage_high.maximum") return InvariantEvent::over_voltage;
  if (name == "voltage_low.maximum") return InvariantEvent::under_voltage;
  if (name == "trust.cell_monitor" || name == "trust.voltage_nodes") return InvariantEvent::sensor_distrusted;
  if (name == "diagnostics.anomaly_score") return InvariantEvent::diag_anomaly;
  if (name.size() > 12 && name.compare(name.size() - 12, 12, ".recommended") == 0) return InvariantEvent::safety_derate;
  return InvariantEvent::none;
}

}  // namespace safetwin::firmware
