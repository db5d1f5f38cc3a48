#pragma once
// The safe horizon: how long the twin can go without a new measurement. From the estimate x, its
// covariance P, the planned current sequence and the model-error bound, it predicts the uncertainty
// tube of the cell's voltage, temperature and SOC with the one cell model (battery/cell_model.hpp:
// the mean with its step, the covariance with its Jacobians) and returns the longest time tau, up
// to max_horizon_s, for which the whole tube stays inside every barrier's limits tightened by the
// configured guard bands. The cycle tells each sensor node to report again after tau.
//
// Tube after j prediction steps of step_s (j = 1 .. max_horizon_s / step_s), for an output y with
// gradient c (dV/d[x, factors], or a unit vector for T and SOC):
//   y_hat_j  +/-  ( kappa * sqrt(c' Pa_j c)  +  max(j, 1) * e_y )
//   Pa_{j+1} = Fa Pa_j Fa' + Q,  Fa = [F  F_f; 0  I]   (F = dx'/dx, F_f = dx'/d[R0 factor, capacity factor])
//   Pa_0 = [P 0; 0 diag(sigma_r0^2, sigma_Q^2)]         (the twin's parameter posterior, TwinEstimate)
// e_y is the one-step model-error bound (the larger of the configured floor and the learned one,
// TwinEstimate::model_error_v / _k, a high quantile of the innovations: WindowQuantile). It grows
// linearly with the steps predicted: j one-step errors that all add up, none cancelling (a
// worst-case accumulation; a stable model does not amplify an error, so the sum bounds it).
// Voltage is checked at the start of each step under its current (when the current changes) and at
// its end; T and SOC at the end. Limits: V in [V_min, V_max], T in [T_min, T_max] (the cell's),
// SOC in [soc_min, soc_max], each tightened by its guard band (voltage_margin_v / _k / _soc).
//
// The tube's probability: with a Gaussian estimation error and the linearised propagation, each
// output lies inside mean +/- kappa sigma with probability 1 - erfc(kappa / sqrt 2) at each
// instant, and all three with at least 1 - 3 erfc(kappa / sqrt 2) (union bound): 99.935 % at the
// default kappa 3.7. The model-error term is a bound, not a distribution: it carries the
// probability of the bound it was learned as (WindowQuantile's header). Pointwise in time.
//
// Two tubes, two report times: the voltage nodes' tube ends at the first V or SOC limit (only the
// voltage informs the SOC), the temperature node's at the first T limit; each gets its own tau and
// event (tau_voltage_s, tau_temp_s), and tau_s / tube_s / event / limit are those of the earlier. A
// node reporting later than its peers is sound: each tube bounds its own output from this
// estimate with no measurement at all, so a report of the other kind only adds information.
//
// Minimum inter-report time: tau is never below min_interval_s, except by an explicit event — when
// the tube already leaves the limits before min_interval_s, `event` is set and tau is the tube's
// own time (0 when the present state is outside): the cycle must then hear from the node at once.
//
// The plan: plan_a[n] is the cell current (> 0 discharges) of prediction step n; past the end of
// the plan its last value is held. compute() allocates nothing and never throws; non-finite input
// gives Status::non_finite_input, an empty plan or an invalid covariance Status::invalid_argument
// (tau 0, event set: fail closed, the cycle asks for a report now).
#include <array>
#include <cstddef>
#include <cstdint>

#include "safetwin/battery/cell_params.hpp"
#include "safetwin/battery/state_idx.hpp"
#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/status.hpp"

namespace safetwin::safety {

// The most prediction steps one call may take (max_horizon_s / step_s is refused above it).
constexpr int kSafeHorizonMaxSteps = 600;

// What ended the tube: the first limit it crossed, or none (tau reached max_horizon_s).
enum class HorizonLimit : std::uint8_t { none = 0, voltage_max, voltage_min, temp_max, temp_min, soc_max, soc_min };
[[nodiscard]] const char* to_string(HorizonLimit l) noexcept;

struct SafeHorizonConfig {
  battery::CellParams cell = battery::CellParams::ref_cell_1();  // model and limits
  battery::CellScaling scaling{};                                // the twin's cell
  double soc_min = 0.0;
  double soc_max = 1.0;
  double step_s = 1.0;            // prediction step
  double max_horizon_s = 30.0;    // tau's ceiling
  double min_interval_s = 1.0;    // the guaranteed minimum inter-report time (<= max_horizon_s)
  double confidence_sigma = 3.7;  // kappa (header: 99.935 % for the three outputs)
  double voltage_margin_v = 0.0;  // guard bands inside the limits
  double temp_margin_k = 0.0;
  double soc_margin = 0.0;
  double model_error_v = 0.002;  // one-step model-error floors (the learned bound replaces them when larger)
  double model_error_k = 0.05;
  double model_error_soc = 0.0;
  battery::StateVector process_noise_var = battery::StateVector::Zero();  // Q per prediction step (the EKF's)
  void validate() const;                         // throws std::invalid_argument naming the field
  [[nodiscard]] int max_steps() const noexcept;  // max_horizon_s / step_s, rounded up
};

struct SafeHorizonResult {
  Status status = Status::not_initialised;
  double tau_s = 0.0;   // the next report time from now (header)
  double tube_s = 0.0;  // how long the tube stays inside (before the minimum is applied)
  bool event = false;   // the tube leaves before min_interval_s (or the call failed): report now
  int steps = 0;        // prediction steps computed
  HorizonLimit limit = HorizonLimit::none;
  // Per node kind (header): the voltage nodes' tube (V and SOC) and the temperature node's.
  double tau_voltage_s = 0.0;
  double tube_voltage_s = 0.0;
  bool event_voltage = true;
  double tau_temp_s = 0.0;
  double tube_temp_s = 0.0;
  bool event_temp = true;
  double probability = 0.0;  // the tube's stated probability (header)
  // The tube's half-widths (kappa sigma + model error) at the last step inside.
  double half_width_v = 0.0;
  double half_width_k = 0.0;
  double half_width_soc = 0.0;
};

class SafeHorizon {
 public:
  explicit SafeHorizon(SafeHorizonConfig config);  // throws std::invalid_argument naming the field

  // x: [SOC, v1_v, v2_v, temp_k]; P its covariance; plan_a: plan_len >= 1 cell currents.
  [[nodiscard]] Status compute(const battery::StateVector& x, const battery::StateMatrix& P, const double* plan_a,
                               std::size_t plan_len, const TwinEstimate& twin, SafeHorizonResult& out) const noexcept;

  [[nodiscard]] const SafeHorizonConfig& config() const noexcept { return config_; }
  // 1 - 3 erfc(kappa / sqrt 2), clamped at 0.
  [[nodiscard]] static double tube_probability(double kappa) noexcept;

 private:
  SafeHorizonConfig config_;
  // exp(-step_s / tau_i) of the fixed RC time constants, per direction (battery::fixed_decays).
  std::array<double, battery::RefStructure::rc_pairs> fixed_a_charge_, fixed_a_discharge_;
};

}  // namespace safetwin::safety
