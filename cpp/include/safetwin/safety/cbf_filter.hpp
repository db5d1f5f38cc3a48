#pragma once
// Discrete-time control barrier function (CBF) safety filter on the twin's model (REF-CELL-1 2RC +
// lumped thermal, spec/reference-problems.md). The decision variable is the scalar cell current I
// (> 0 discharges), so every barrier condition is a set of currents: an interval. The filter
// intersects the intervals and returns the current closest to the request inside the intersection,
// exactly and in closed form (no QP solver is needed or used for a scalar input).
//
// Barriers h(x) >= 0, each tightened by a margin m (uncertainty + model error) and required in the
// discrete-time CBF form  h(x[k+1]) - m >= (1 - gamma) (h(x[k]) - m),  0 < gamma <= 1:
//   voltage_max   h = V_max - V(x, I)   plus the output now: V[k](I) <= V_max - m_v
//   voltage_min   h = V(x, I) - V_min   plus V[k](I) >= V_min + m_v
//   temp_max      h = T_max - T         (T[k+1] quadratic in I through I^2 R0)
//   soc_max       h = soc_max - SOC,    soc_min  h = SOC - soc_min
// Inside its margin a voltage or SOC barrier forbids going further out but never demands the
// opposite current: a full cell (OCV at V_max, SOC within kappa sigma of 1) is normal operation, and
// its filter must neither discharge it into a charger nor refuse the drive that leads out. So these
// intervals always hold 0 and the way out (the recovery condition alone asks for tens to hundreds of
// amperes, which either forces a current nobody asked for or conflicts and stops both directions).
// The temperature barrier has no way out (any current heats): past its margin it conflicts -> 0.
//   current_charge / current_discharge  the input bounds, scaled by the supervisor's derating
// V[k+1](I) uses OCV(SOC[k+1]) exactly (piecewise linear, solved segment by segment) and the
// resistances/time constants evaluated at x[k], as the plant's step does: every coefficient is the
// one cell model's (battery::step_coefficients in cell_model.hpp), none is written here again.
//
// Measurement-based barriers (foxBMS 2's safe operating function beside the model's): the allowed
// current is also derated from the most conservative valid measurement of this cycle (the highest
// redundant cell voltage for the upper limit, the lowest for the lower, the hottest temperature),
// so that a wrong twin (wrong SOC, R0, capacity or cooling) never releases a current the
// measurements say is unsafe. They need no state estimate: the voltage V_m measured under I_m
// moves with a change of current by the step resistance R_s = R0 + R1 (1 - a1) + R2 (1 - a2)
// (the twin's, at x), and the class-K form lets the change use only the fraction gamma of the
// distance left:
//   measured_voltage_max   V_m + R_s (I_m - I) - (V_max - m) <= (1 - gamma)(V_m - (V_max - m))
//                          ->  I >= I_m - gamma (V_max - m - V_m) / R_s
//   measured_voltage_min   I <= I_m + gamma (V_m - V_min - m) / R_s
// with m = measured_voltage_margin_v (the nodes' noise; the state's covariance plays no part). Since the change of
// voltage a current change makes is R_true dI, the condition holds for any true resistance up to R_s / gamma (2x at
// gamma 0.5): robust to resistance growth the twin has not learned. Beside the change of current, the voltage drifts
// over the step under the held current: the OCV with the charge moved (slope x c per ampere, c the SOC per ampere-step)
// and the RC pairs relaxing towards R_i I_m, d0 = sum (1 - a_i)(v_i - R_i I_m) (the twin's coefficients at the
// estimate), so the bounds read
//                          I >= (R_s I_m + max(d0, 0) - gamma room_max) / (R_s + slope c)
//                          I <= (R_s I_m + min(d0, 0) + gamma room_min) / (R_s + slope c)
// with room the distance left to the limit minus m. d0 only ever tightens (a wrong estimate of
// v_i cannot release more than the measurement alone). Without it, a cell with R0 x 1.5-1.8
// unknown to the twin (off_nominal campaign, 14 degC, a 3C charge from SOC 0.2-0.4) spent nearly
// the whole room on the first current steps, and the RC build-up of the next step (~12 mV/s after
// a 12 A step) crossed the limit by 4-7 mV within 4 s. Past the limit the bound
// asks for less current than I_m, never for the opposite sign (as the model's voltage barriers).
// Observed drift: d0 and the OCV term are the twin's, at its SOC, and a twin whose SOC is wrong
// (an internal short drains charge it does not count; a node reading high pulls it up) predicts
// the slope of the wrong part of the OCV curve. Near empty the curve is steep (REF-CELL-1: 15 V per
// unit SOC at 0.015 against 3.4 at 0.08): in the off_nominal campaign such a twin, 6 % SOC high,
// expected 2 mV of drift per step where the cell fell 8, and the class-K form settles where the
// per-step error e balances the room, e / gamma under the margin: 4-11 mV under V_min. So the
// drift the measurements showed over the last steps, at the same current, also bounds the next:
// D_obs = dV_m + R_s dI_m (the change of the reading per step beyond what the change of current explains),
// and d0 in the bounds is replaced by max(d0, D_obs + slope c I_m, 0) (upper) and
// min(d0, D_obs + slope c I_m, 0) (lower), the twin's own OCV term moved to the new current. It
// only tightens; a current step the twin's R_s underestimates (R0 growth) tightens it for a step.
// The margin m is max(measured_voltage_margin_v, kappa sigma) with sigma the noise of the reading
// behind the bound (MeasuredBounds): a 10 mV node governing alone needs 30 mV, not 5.
//   measured_temp_max      T_m + dt/C_th (R0 I^2 + q_rc + h_in) - (T_max - m) <= (1 - gamma)(...)
//                          with m = measured_temp_margin_k and T_max = measured_temp_max_k
// with no credit for cooling (it may have failed): q_rc the RC pairs' heat at the estimate, h_in the
// heat flowing in from a hotter ambient. A NaN bound (no valid reading) drops its barrier.
//
// The adaptive twin (TwinEstimate, per call): the estimator's joint estimates of the R0 factor f
// and the capacity factor c with their posterior sigmas. The filter predicts with the conservative
// end of each, R0 x (f + kappa sigma_f) and Q x max(c - kappa sigma_c, 0.05): a larger R0 raises
// the voltage under charge and lowers it under discharge, heats more and widens the measured
// barriers' step resistance; a smaller Q moves SOC faster. Every barrier is conservative in both,
// so the margins shrink as the posterior narrows (the twin learns), and with no estimates (f = c =
// 1, sigma 0) this is the configured cell. A learned model-error bound (TwinEstimate::model_error_v
// / _k, a high quantile of the innovations, see ControlCycle) replaces the configured one when
// larger: the configured model_error_v / _k are the floor.
//
// The thermal twin (TwinEstimate::extra_heat_w, cooling_factor, from estimation::CoolingEstimator):
// the model's temperature barrier and the measured one add the unexplained heat q_x (never less
// than 0: a sensor reading low must not release current) and the model's credits cooling only up
// to min(c, 1). Beside the next step, the temperature barrier accounts for the heat still to come:
// at 0 A the lumped model settles monotonically at the temperature where the heat the model lacks,
// read as a heat source, is carried away: T_inf = T_amb + Q_u / hA with Q_u = max(q_x, 0) +
// (1 - min(c, 1)) hA (T - T_amb) the total at T. Read so, a lost cooling gives T_inf < T (at 0 A
// the cell does not heat further) and a short its own settling point, whatever the estimator's
// split between q_x and c (weakly identified: dividing by an estimated c amplified its sigma into
// a false 0 A hold of 360 s in a cold 4s2p pack). Once Q_u is detected (Q_u > heat_detect_sigma sigma) and
// T_amb + (Q_u + kappa sigma) / hA >= T_max - m, the cell heats past the limit whatever we do,
// and any current only adds heat to it: the barrier then allows 0 A only (the interval [0, 0]). In
// the off_nominal campaign the internal shorts of 2.4-3.4 ohm settle 0.3-0.7 K under 45 degC at 0 A,
// and a loop that kept charging (derated) for 40 s after the onset carried the cell 0.4-0.7 K over.
//
// Margins: m_v = kappa * sqrt(g' P g) + max(model_error_v, learned) with g = dV/dx (g at k and at k+1, the larger),
// m_k = kappa * sqrt(P_TT) + model_error_k, m_soc = kappa * sqrt(P_ss) + model_error_soc: they shrink
// as the estimate grows certain and grow with P (a sensor losing trust inflates P).
//
// Fail closed: no current in every interval (conflict), a non-finite input or margin -> current 0
// (the defined safe action, decision fallback) with status ok (conflict, and the conflicting
// barriers) or non_finite_input.
// filter() allocates nothing and never throws.
#include <array>
#include <cstdint>
#include <limits>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/battery/state_idx.hpp"
#include "safetwin/status.hpp"

namespace safetwin::safety {

enum class Barrier : std::uint8_t {
  voltage_max = 0,
  voltage_min,
  temp_max,
  soc_max,
  soc_min,
  current_charge,
  current_discharge,
  measured_voltage_max,
  measured_voltage_min,
  measured_temp_max,
};
constexpr int kBarrierCount = 10;
[[nodiscard]] const char* to_string(Barrier b) noexcept;
[[nodiscard]] constexpr std::uint32_t bit(Barrier b) noexcept { return 1u << static_cast<unsigned>(b); }

struct CbfConfig {
  battery::CellParams cell = battery::CellParams::ref_cell_1();  // model and limits (V, T, I)
  battery::CellScaling scaling{};
  double soc_min = 0.0;
  double soc_max = 1.0;
  // Class-K gains (the fraction of the remaining distance to the boundary a step may use).
  std::array<double, kBarrierCount> gamma{0.5, 0.5, 0.1, 0.5, 0.5, 1.0, 1.0, 0.5, 0.5, 0.1};
  bool measured_limits = true;               // the measurement-based barriers (above)
  double measured_voltage_margin_v = 0.005;  // the voltage nodes' noise allowance, V
  double measured_temp_margin_k = 0.5;       // the temperature sensor's noise allowance, K
  // The measured temperature's limit, K (NaN: cell.limits.temp_max_k). A filter that plans to a
  // tightened limit (the firmware's operating tier) still lets the hottest measured cell go to the
  // cell's own limit: past the planning limit the monitor derates, the measurement cuts off.
  double measured_temp_max_k = std::numeric_limits<double>::quiet_NaN();
  double confidence_sigma = 3.0;  // kappa
  double model_error_v = 0.002;   // model-error bounds added to the margins
  double model_error_k = 0.05;
  double model_error_soc = 0.0;
  // The stored-heat bound (above): an unexplained heat counts as detected when q_x exceeds this
  // many of its sigmas.
  double heat_detect_sigma = 2.0;
  void validate() const;  // throws std::invalid_argument naming the field
};

struct CbfVerdict {
  Status status = Status::not_initialised;  // ok, non_finite_input, invalid_argument, numerical_error
  Decision decision = Decision::fallback;   // applied, or fallback (current 0: a conflict or any error)
  double requested_a = 0.0;
  double current_a = 0.0;      // the filtered current: always finite
  bool modified = false;       // current_a != requested_a
  std::uint32_t active = 0;    // barriers whose bound the result sits on (when modified)
  std::uint32_t conflict = 0;  // barriers whose intervals do not intersect (decision fallback)
  double lo_a = 0.0;           // the safe interval [lo_a, hi_a] (lo_a > hi_a: empty)
  double hi_a = 0.0;
  std::array<double, kBarrierCount> barrier_lo_a{};  // each barrier's own interval
  std::array<double, kBarrierCount> barrier_hi_a{};
  double voltage_margin_v = 0.0;
  double temp_margin_k = 0.0;
  double soc_margin = 0.0;
};

// The most conservative valid readings of this cycle, for the measurement-based barriers. NaN: no
// valid reading of that kind (the barrier is dropped). current_a: the current they were taken under.
struct MeasuredBounds {
  double voltage_max_v = std::numeric_limits<double>::quiet_NaN();      // highest valid cell voltage
  double voltage_min_v = std::numeric_limits<double>::quiet_NaN();      // lowest valid cell voltage
  double temperature_max_k = std::numeric_limits<double>::quiet_NaN();  // hottest valid temperature
  double current_a = 0.0;
  // The noise (standard deviation, V) of the reading behind each voltage bound: the voltage
  // barriers keep kappa times it, or measured_voltage_margin_v if larger (0: the configured margin).
  double voltage_max_sigma_v = 0.0;
  double voltage_min_sigma_v = 0.0;
  // The observed drift (header): the change per step of the reading behind each bound, V, and of
  // the measured current under it, A, over the last steps (ControlCycle smooths them over a few).
  // NaN: not observed (no fresh reading then or now).
  double voltage_max_change_v = std::numeric_limits<double>::quiet_NaN();
  double voltage_min_change_v = std::numeric_limits<double>::quiet_NaN();
  double current_change_a = std::numeric_limits<double>::quiet_NaN();
};

// The adaptive twin's parameters and learned model error for one call (defaults: the nominal cell).
struct TwinEstimate {
  double r0_factor = 1.0;
  double r0_factor_sigma = 0.0;
  double capacity_factor = 1.0;
  double capacity_factor_sigma = 0.0;
  double model_error_v = 0.0;  // learned bound on the one-step voltage error, V (0: none)
  double model_error_k = 0.0;  // learned bound on the one-step temperature error, K
  // The thermal estimates (estimation::CoolingEstimator): heat the model does not explain, W, and
  // the cooling factor on the heat transfer (defaults: the nominal cell). extra_heat_sigma_w is the
  // sigma of the total the model lacks at the cell's temperature, q_x + (1 - c) hA (T - T_amb)
  // (CoolingEstimator::unexplained_heat_sigma_w), which the split between q_x and c does not change.
  double extra_heat_w = 0.0;
  double extra_heat_sigma_w = 0.0;
  double cooling_factor = 1.0;
  double cooling_factor_sigma = 0.0;
};

// The one cell model's factors (battery::ModelFactors) of a scaling: R0 x resistance x r0 factor,
// the RC resistances x resistance factor, the capacity x capacity factor (as the plant's Pack).
[[nodiscard]] battery::ModelFactors<double> model_factors(const battery::CellScaling& s) noexcept;

// The conservative scaling of the twin (header): R0 x (f + kappa sigma_f), Q x max(c - kappa sigma_c, 0.05).
[[nodiscard]] battery::CellScaling conservative_scaling(const battery::CellScaling& base, const TwinEstimate& twin,
                                                        double kappa) noexcept;

class CbfFilter {
 public:
  explicit CbfFilter(CbfConfig config);

  // x: estimate [SOC, v1_v, v2_v, temp_k]; P: its covariance; requested_a: the controller's cell
  // current; dt_s: the step; current_scale in [0, 1]: derating of the current limits.
  [[nodiscard]] Status filter(const battery::StateVector& x, const battery::StateMatrix& P, double requested_a,
                              double dt_s, double current_scale, CbfVerdict& out) const noexcept;
  // The same with the measurement-based barriers (config().measured_limits) on these readings.
  [[nodiscard]] Status filter(const battery::StateVector& x, const battery::StateMatrix& P, double requested_a,
                              double dt_s, double current_scale, const MeasuredBounds& measured,
                              CbfVerdict& out) const noexcept;
  // ... and with the adaptive twin's parameters and learned model error (header).
  [[nodiscard]] Status filter(const battery::StateVector& x, const battery::StateMatrix& P, double requested_a,
                              double dt_s, double current_scale, const MeasuredBounds& measured,
                              const TwinEstimate& twin, CbfVerdict& out) const noexcept;

  [[nodiscard]] const CbfConfig& config() const noexcept { return config_; }

 private:
  CbfConfig config_;
};

}  // namespace safetwin::safety
