#pragma once
// The twin's thermal parameters learned from the measured temperature (issue 13, item 6): the
// cooling factor c on the heat transfer hA (1: nominal cooling, 0: cooling lost) and the heat the
// cell model does not explain, q_x (an internal short, an R0 the twin has not learned), in W.
//
// A three-state extended Kalman filter over the lumped thermal model the one cell model uses
// (battery/cell_model.hpp, ThermalInputs):
//   T[k+1]   = T + dt / C_th (h_model + q_x - c hA (T - T_amb))
//   q_x[k+1] = q_x + w_q,   c[k+1] = c + w_c    (random walks)
//   z        = T + v        (the cell's measured temperature, noise sigma_m)
// h_model is the cell model's own heat over the step (R0 I^2, the RC pairs' heat, the reversible
// heat: the caller evaluates it with the twin's parameters); C_th, hA and T_amb are the cell's.
// q_x and c both explain heat that h_model lacks; they separate as T - T_amb moves (a short's heat
// does not grow with the temperature rise, lost cooling does). What the safety layer needs is the
// total, and both are used conservatively (CbfFilter: the unexplained heat never lowers a bound,
// the cooling factor is never credited above 1).
//
// The gate: a reading whose innovation exceeds gate_sigma standard deviations is not fused, but a
// run of gate_reset_after such readings is (a sustained, plausible rise is the thermal model being
// wrong, not the sensor): the filter then re-opens q_x's variance to its prior so it catches up.
//
// Timing contract: step() once per control cycle after the estimator, dt_s the interval just
// measured. Setup (the constructor) validates; step() allocates nothing, never throws.
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/status.hpp"

namespace safetwin::estimation {

struct CoolingEstimatorConfig {
  double heat_capacity_j_per_k = 52.0;  // C_th (the cell's)
  double heat_transfer_w_per_k = 0.3;   // hA at c = 1 (the cell's)
  double ambient_temp_k = 298.15;       // T_amb (the cell's)
  double temp0_k = 298.15;
  double temp_sigma0_k = 1.0;
  double extra_heat_sigma0_w = 0.3;    // prior on q_x (mean 0)
  double cooling_sigma0 = 0.1;         // prior on c (mean 1)
  double measurement_sigma_k = 0.2;    // the temperature sensor's noise
  double temp_rw_k_per_sqrt_s = 0.01;  // the lumped model's own error
  // How fast q_x may move: 0.15 W/sqrt(s) lets a step of a few watts be seen within 10-15 s of
  // 1 Hz readings with 0.2 K noise, at a steady sigma of about 0.5 W.
  double extra_heat_rw_w_per_sqrt_s = 0.15;
  double cooling_rw_per_sqrt_s = 0.002;
  double cooling_min = 0.02;  // c is kept in [cooling_min, cooling_max]
  double cooling_max = 2.0;
  double gate_sigma = 5.0;   // innovation gate in standard deviations (0: no gate)
  int gate_reset_after = 5;  // consecutive gated readings before one is fused
  void validate() const;     // throws std::invalid_argument naming the field
  // The cell's C_th, hA and T_amb, the rest default.
  [[nodiscard]] static CoolingEstimatorConfig for_cell(const battery::CellParams& p, double temp0_k);
};

class CoolingEstimator {
 public:
  explicit CoolingEstimator(CoolingEstimatorConfig config);

  // One step: predict over dt_s with the model's heat, then fuse the reading if valid. A
  // non-finite input or dt_s <= 0 is refused (non_finite_input / invalid_argument), state unchanged.
  [[nodiscard]] Status step(double model_heat_w, double temperature_k, bool temperature_valid, double dt_s) noexcept;

  [[nodiscard]] double temperature_k() const noexcept { return x_[0]; }
  [[nodiscard]] double extra_heat_w() const noexcept { return x_[1]; }
  [[nodiscard]] double extra_heat_sigma_w() const noexcept;
  [[nodiscard]] double cooling_factor() const noexcept { return x_[2]; }
  [[nodiscard]] double cooling_factor_sigma() const noexcept;
  // The heat the model lacks at the estimated temperature, whichever part of it is laid at q_x or at
  // c: q_x + (1 - c) hA (T - T_amb), and its sigma from the joint covariance of q_x and c. The split
  // between the two is weakly identified while T - T_amb moves little; this total is not.
  [[nodiscard]] double unexplained_heat_w() const noexcept;
  [[nodiscard]] double unexplained_heat_sigma_w() const noexcept;
  [[nodiscard]] bool last_gated() const noexcept { return gated_run_ > 0; }
  [[nodiscard]] const CoolingEstimatorConfig& config() const noexcept { return config_; }

 private:
  CoolingEstimatorConfig config_;
  double x_[3];     // T, q_x, c
  double P_[3][3];  // covariance
  int gated_run_ = 0;
};

}  // namespace safetwin::estimation
