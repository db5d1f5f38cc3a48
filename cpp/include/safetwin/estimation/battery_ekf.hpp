#pragma once
// SOC / state estimator of one cell (or one parallel group seen as one cell): an extended Kalman
// filter (ekf.hpp) over the one cell model (battery_model.hpp), optionally estimating the R0
// growth factor and the capacity factor jointly. BasicBatteryEkf<S> is the filter of one
// compile-time structure S (1..3 RC pairs, optional hysteresis: battery/cell_structure.hpp), all
// six instantiated in battery_ekf.cpp; BatteryEkf is REF-CELL-1's (2RC). The cell of the
// configuration must have S's structure (the constructor refuses another one).
//
// Inputs per sample: the measured current (A, > 0 discharges) and a Measurement with three
// channels, in this order, each with its own valid flag and base noise:
//   voltage_a    terminal voltage from the cell-monitoring node (V)
//   voltage_b    the same cell's voltage from a second, redundant node (V)
//   temperature  cell temperature (K)
// Timing: call step() once per sample, at any (irregular) interval dt_s since the previous one.
// step() predicts from the previous sample to this one under the previous sample's current
// (zero-order hold, as the plant), then updates with this sample's measurement taken under this
// sample's current. The first step after construction/reset has no previous sample: it only
// updates (the initial estimate is the state at the first sample's time).
//
// Joint parameter estimation (estimate_params): x = [cell state, r0_factor, capacity_factor],
// the parameters a slow random walk, projected back into their bounds after every update. They
// are updated only when the data excite them (their rows of the Kalman gain are zero otherwise;
// the Joseph form keeps P correct for such a gain):
//   r0_factor        when the current changed by >= r0_excitation_a since the previous sample
//                    (a current step moves the voltage by R0·ΔI before the RC pairs can follow);
//   capacity_factor  when the cell is near rest (|current| <= capacity_rest_current_a), at least
//                    capacity_throughput_ah has been moved since the start (or reset), and the SOC
//                    is known (soc_sigma <= capacity_soc_sigma_max). The charge moved builds the
//                    SOC-capacity covariance; the near-rest voltage, where the OCV table holds and
//                    the model's overpotential error is small, then tells the two apart. Under load
//                    the model's voltage error would otherwise be read as a capacity error.
#include <array>
#include <cstdint>

#include "safetwin/battery/cell_params.hpp"
#include "safetwin/battery/state_idx.hpp"
#include "safetwin/estimation/battery_model.hpp"
#include "safetwin/estimation/ekf.hpp"
#include "safetwin/status.hpp"

namespace safetwin::estimation {

enum class Channel : int { voltage_a = 0, voltage_b = 1, temperature = 2 };
constexpr int kChannelCount = 3;

struct Measurement {
  double voltage_a_v = 0.0;
  double voltage_b_v = 0.0;
  double temperature_k = 0.0;
  bool voltage_a_valid = false;
  bool voltage_b_valid = false;
  bool temperature_valid = false;

  // The common case: one voltage node and a temperature sensor.
  static Measurement voltage_temperature(double voltage_v, double temperature_k) noexcept {
    Measurement m;
    m.voltage_a_v = voltage_v;
    m.temperature_k = temperature_k;
    m.voltage_a_valid = m.temperature_valid = true;
    return m;
  }
};

struct BatteryEkfConfig {
  battery::CellParams cell = battery::CellParams::ref_cell_1();

  // Initial estimate (state at the first sample) and its standard deviations.
  double soc0 = 0.5;
  double v1_0_v = 0.0;
  double v2_0_v = 0.0;  // not used by a 1RC structure
  double v3_0_v = 0.0;  // used by a 3RC structure only
  double temp0_k = battery::kReferenceTempK;
  double soc_sigma0 = 0.2;
  double v_rc_sigma0_v = 0.01;
  double temp_sigma0_k = 1.0;
  // Hysteresis structures only: h (dimensionless, in [-1, 1]) and the sign s of the last current.
  // s is set by the measured current at the first non-zero sample (its Jacobian row is then 0), so
  // it carries only a small variance that keeps P positive definite.
  double hysteresis0 = 0.0;
  double hysteresis_sigma0 = 0.5;
  double hysteresis_sign0 = 0.0;
  double hysteresis_sign_sigma0 = 1e-3;
  double hysteresis_rw_per_sqrt_s = 1e-3;
  double hysteresis_sign_rw_per_sqrt_s = 1e-4;
  // A measured current within +-hysteresis_rest_current_a counts as rest for the model (s kept, h
  // held, no charge moved): the current sensor's noise at rest would otherwise flip s (an M0 step of
  // the voltage) at every rest sample. Hysteresis structures only (the 2RC filter is unchanged).
  double hysteresis_rest_current_a = 0.1;

  // Process noise. The current sensor's noise enters Q through the input Jacobian df/dI (and the
  // voltage channels' R through R0); the random walks cover what the model does not (current
  // bias, capacity and RC mismatch, heat exchange), as densities per sqrt(s).
  double current_sigma_a = 0.02;
  double soc_rw_per_sqrt_s = 5e-5;
  double v_rc_rw_v_per_sqrt_s = 1e-4;
  double temp_rw_k_per_sqrt_s = 0.1;

  // Measurement noise (standard deviations). voltage_model_sigma_v is the model's own voltage
  // error (a 2RC model against a real cell or a DFN model: tens of mV), added to both voltage
  // channels. That error is not white: it stays for minutes (voltage_model_correlation_s), so N
  // samples within that time carry about one sample's information about SOC. The update inflates
  // its variance accordingly, sigma^2 * max(1, correlation / dt) (variance inflation for
  // time-correlated errors); the gate uses the per-sample variance sigma^2. Set it to 0 when
  // the data come from this very model.
  double voltage_a_sigma_v = 0.002;
  double voltage_b_sigma_v = 0.002;
  double voltage_model_sigma_v = 0.03;
  double voltage_model_correlation_s = 300.0;
  double temperature_sigma_k = 0.2;
  double gate_probability = 0.9999;  // per-channel chi-square gate; 1 turns it off
  int gate_reset_after = 10;         // consecutive gated samples before one is fused (ekf.hpp); 0: never

  // Joint estimation of the R0 growth factor and the capacity factor.
  bool estimate_params = false;
  double r0_factor0 = 1.0;
  double capacity_factor0 = 1.0;
  double r0_factor_sigma0 = 0.2;
  double capacity_factor_sigma0 = 0.1;
  double r0_factor_rw_per_sqrt_s = 1e-4;
  double capacity_factor_rw_per_sqrt_s = 1e-5;
  double r0_factor_min = 0.5;
  double r0_factor_max = 3.0;
  double capacity_factor_min = 0.5;
  double capacity_factor_max = 1.5;
  double r0_excitation_a = 0.5;
  double capacity_rest_current_a = 0.26;  // about C/20 for REF-CELL-1
  double capacity_throughput_ah = 0.5;    // about 10 % SOC
  double capacity_soc_sigma_max = 0.03;

  // Throws std::invalid_argument naming the first bad field ("BatteryEkfConfig.soc_sigma0").
  // The cell's structure is checked by the filter of that structure, not here.
  void validate() const;
};

// The per-sample measurement variances of the three channels (Channel order) that the filter uses
// at noise scale 1: the sensor's variance, the model error's and the current sensor's noise seen
// through R0 (at 25 degC, mid SOC). The trust layer and the gate read them from here.
[[nodiscard]] std::array<double, kChannelCount> channel_variances(const BatteryEkfConfig& config) noexcept;

template <class S>
class BasicBatteryEkf {
 public:
  using Structure = S;
  using Report = UpdateReport<kChannelCount>;
  using StateVector = Eigen::Matrix<double, S::size, 1>;        // the cell state (S's layout)
  using StateMatrix = Eigen::Matrix<double, S::size, S::size>;  // its covariance
  using JointLayout = FilterLayout<S, true>;

  // Validates (the cell must have S's rc_pairs and hysteresis); throws std::invalid_argument.
  explicit BasicBatteryEkf(BatteryEkfConfig config);

  // One sample: predict over dt_s (skipped on the first step), update with z. Refuses a
  // non-finite current or dt_s (non_finite_input) and dt_s <= 0 (invalid_argument), leaving the
  // filter unchanged. Returns numerical_error when the covariance failed its health check (the
  // last healthy covariance was restored; report().flags says so). Gated channels do not make the
  // step fail: see report() / flags().
  [[nodiscard]] Status step(double current_a, const Measurement& z, double dt_s) noexcept;

  // R_eff = R * s for one channel (s >= 1): the sensor-trust layer's single entry point.
  // Refuses s < 1 (invalid_argument) and NaN/inf (non_finite_input), leaving the scale unchanged.
  [[nodiscard]] Status set_noise_scale(Channel channel, double s) noexcept;
  [[nodiscard]] double noise_scale(Channel channel) const noexcept;

  // Re-initialise from the configured initial estimate with another SOC (throws on bad input).
  void reset(double soc0);
  // The same on a step path (a firmware starting its estimators from the first reading): no
  // allocation, no exception; non_finite_input for a NaN/inf soc0, the filter then unchanged.
  [[nodiscard]] Status reset_soc(double soc0) noexcept;
  // Re-initialise the battery state and its covariance (parameters keep their initial values).
  void reset(const StateVector& x, const StateMatrix& p);

  // Estimate.
  [[nodiscard]] StateVector state() const noexcept;
  [[nodiscard]] StateMatrix covariance() const noexcept;  // the cell state's block
  // Size of the filter's whole state: S::size, or S::size + 2 with joint estimation (JointLayout).
  [[nodiscard]] int full_size() const noexcept { return joint_ ? JointLayout::size : S::size; }
  // The whole state and covariance, row-major into caller arrays of full_size() and
  // full_size()^2 values (either pointer may be null).
  void full_estimate(double* x, double* p_row_major) const noexcept;
  [[nodiscard]] double soc() const noexcept { return state()[S::soc]; }
  [[nodiscard]] double soc_sigma() const noexcept;
  [[nodiscard]] double r0_factor() const noexcept;
  [[nodiscard]] double capacity_factor() const noexcept;
  [[nodiscard]] double r0_factor_sigma() const noexcept;        // 0 without joint estimation
  [[nodiscard]] double capacity_factor_sigma() const noexcept;  // 0 without joint estimation
  [[nodiscard]] double r0_ohm() const noexcept;                 // estimated R0 at the estimated SOC and T
  [[nodiscard]] double capacity_ah() const noexcept;            // estimated capacity
  [[nodiscard]] bool estimates_params() const noexcept { return joint_; }

  // The last step's update, per channel and joint.
  [[nodiscard]] const Report& report() const noexcept;
  [[nodiscard]] double innovation(Channel c) const noexcept { return report().channel.innovation[idx(c)]; }
  [[nodiscard]] double innovation_variance(Channel c) const noexcept {
    return report().channel.innovation_variance[idx(c)];
  }
  [[nodiscard]] double nis(Channel c) const noexcept { return report().channel.nis[idx(c)]; }
  [[nodiscard]] std::uint8_t flags(Channel c) const noexcept { return report().channel.flags[idx(c)]; }
  [[nodiscard]] double nis() const noexcept { return report().nis; }  // joint, report().fused dof
  [[nodiscard]] bool r0_excited() const noexcept { return r0_excited_; }
  [[nodiscard]] bool capacity_excited() const noexcept { return capacity_excited_; }
  [[nodiscard]] double gate_threshold() const noexcept;  // per-channel (1-dof) NIS limit
  // The channel's per-sample measurement variance at noise scale 1 (channel_variances()).
  [[nodiscard]] double channel_variance(Channel c) const noexcept { return r_gate_[idx(c)]; }

  [[nodiscard]] const BatteryEkfConfig& config() const noexcept { return config_; }

 private:
  using Ekf4 = Ekf<S::size, kChannelCount>;            // the cell state
  using Ekf6 = Ekf<JointLayout::size, kChannelCount>;  // with the two parameters
  static constexpr int idx(Channel c) noexcept { return static_cast<int>(c); }
  template <class E>
  [[nodiscard]] Status step_impl(E& ekf, double current_a, const Measurement& z, double dt_s) noexcept;

  BatteryEkfConfig config_;
  bool joint_;
  Ekf4 ekf4_;  // the filter in use when !joint_
  Ekf6 ekf6_;  // the filter in use when joint_
  bool has_previous_ = false;
  double previous_current_a_ = 0.0;
  bool r0_excited_ = false;
  bool capacity_excited_ = false;
  double throughput_ah_ = 0.0;                      // charge moved since construction/reset (for the capacity rule)
  Eigen::Matrix<double, kChannelCount, 1> r_gate_;  // per-sample measurement variances (gate)
  Eigen::Matrix<double, kChannelCount, 1> r_step_;  // variances of the update at the cached inflation
  double cached_inflation_ = 1.0;
};

// REF-CELL-1's structure (2RC, no hysteresis): the filter of the cycle, the trust layer and the C API.
using BatteryEkf = BasicBatteryEkf<battery::RefStructure>;

#define SAFETWIN_BATTERY_EKF_EXTERN(NRC, HYST) extern template class BasicBatteryEkf<battery::CellStructure<NRC, HYST>>;
SAFETWIN_BATTERY_EKF_EXTERN(1, false)
SAFETWIN_BATTERY_EKF_EXTERN(1, true)
SAFETWIN_BATTERY_EKF_EXTERN(2, false)
SAFETWIN_BATTERY_EKF_EXTERN(2, true)
SAFETWIN_BATTERY_EKF_EXTERN(3, false)
SAFETWIN_BATTERY_EKF_EXTERN(3, true)
#undef SAFETWIN_BATTERY_EKF_EXTERN

}  // namespace safetwin::estimation
