#pragma once
// Semi-empirical calendar + cycle ageing of an NMC/graphite cell: capacity fade and resistance
// growth as functions of time, temperature, SOC and charge throughput.
//
// Model: M. Schmalstieg, S. Käbitz, M. Ecker, D. U. Sauer, "A holistic aging model for
// Li(NiMnCo)O2 based 18650 lithium-ion batteries", J. Power Sources 257 (2014) 325-334,
// eqs. (5)-(10) with the fitted parameters of its Table 3 (Sanyo UR18650E, 2.15 Ah):
//   capacity   C/C0 = 1 - alpha_cap(V, T) t^0.75 - beta_cap(Vavg, DOD) sqrt(Q)
//   resistance R/R0 = 1 + alpha_res(V, T) t^0.75 + beta_res(Vavg, DOD) Q
//   alpha_cap = (7.543 V - 23.75) 1e6 exp(-6976 / T)      [1/day^0.75]
//   alpha_res = (5.270 V - 16.32) 1e5 exp(-5986 / T)      [1/day^0.75]
//   beta_cap  = 7.348e-3 (Vavg - 3.667)^2 + 7.600e-4 + 4.081e-3 DOD    [1/Ah^0.5]
//   beta_res  = 2.153e-4 (Vavg - 3.725)^2 - 1.521e-5 + 2.798e-4 DOD    [1/Ah]
// with t in days, T in K, V the storage voltage, Vavg the mean voltage of the cycles, DOD a
// fraction and Q the charge throughput in Ah of the paper's 2.15 Ah cell. Here V and Vavg are the
// open-circuit voltage at the interval's mean SOC (the cell's own OCV table), and the throughput
// of a cell of another capacity is scaled to the paper's cell by equivalent full cycles
// (Q_ref = Q * reference_capacity_ah / capacity_ah), so that one full cycle ages both alike.
// Outside the paper's fit range a coefficient can turn negative (alpha below ~3.1 V, beta_res at
// shallow cycles near 3.7 V); it is clamped at zero: ageing never heals a cell.
//
// Varying stress: the laws are not additive in t^0.75 and sqrt(Q). Each of the four fade terms is
// advanced by the equivalent-time rule (the usual way to apply such laws under changing stress):
// the present fade f under the new coefficient k corresponds to an equivalent time
// t_eq = (f / k)^(1/0.75) (resp. throughput Q_eq = (f / k)^2), and the interval adds to that.
// At constant stress this reproduces the closed form exactly.
//
// advance() is the step path: no allocation, no exception, status codes; a refused call leaves
// the state unchanged.
#include "safetwin/battery/ocv_table.hpp"
#include "safetwin/status.hpp"

namespace safetwin::battery {

struct AgeingParams {
  // Calendar ageing (Schmalstieg 2014, eqs. 7-8).
  double cal_cap_v_slope = 7.543;
  double cal_cap_v_offset = -23.75;
  double cal_cap_scale = 1e6;
  double cal_cap_activation_k = 6976.0;
  double cal_res_v_slope = 5.270;
  double cal_res_v_offset = -16.32;
  double cal_res_scale = 1e5;
  double cal_res_activation_k = 5986.0;
  double time_exponent = 0.75;
  // Cycle ageing (eqs. 9-10).
  double cyc_cap_v_quad = 7.348e-3;
  double cyc_cap_v_center = 3.667;
  double cyc_cap_offset = 7.600e-4;
  double cyc_cap_dod = 4.081e-3;
  double cyc_res_v_quad = 2.153e-4;
  double cyc_res_v_center = 3.725;
  double cyc_res_offset = -1.521e-5;
  double cyc_res_dod = 2.798e-4;
  double throughput_exponent = 0.5;
  // Throughput scaling between the paper's cell and this one (equivalent full cycles).
  double reference_capacity_ah = 2.15;
  double capacity_ah = 5.15;  // REF-CELL-1
  // Per-cell multipliers of the fade rates (cell-to-cell spread of ageing; 1 = the paper's cell).
  double calendar_rate_factor = 1.0;
  double cycle_rate_factor = 1.0;

  // Throws std::invalid_argument naming the first bad field ("AgeingParams.time_exponent").
  void validate() const;
};

// Aggregated stress of one interval.
struct AgeingStress {
  double duration_s = 0.0;     // length of the interval (>= 0)
  double temp_k = 298.15;      // mean cell temperature
  double soc_mean = 0.5;       // mean SOC (storage voltage and mean cycle voltage from the OCV)
  double throughput_ah = 0.0;  // charge moved, charge and discharge counted, integral of |I| dt (>= 0)
  double dod = 0.0;            // depth of the interval's cycles, a fraction in [0, 1]
};

// The four fade terms (fractions of the fresh value) and the totals they came from.
struct AgeingState {
  double cal_cap_fade = 0.0;
  double cyc_cap_fade = 0.0;
  double cal_res_growth = 0.0;
  double cyc_res_growth = 0.0;
  double elapsed_s = 0.0;
  double throughput_ah = 0.0;

  [[nodiscard]] double capacity_factor() const noexcept { return 1.0 - cal_cap_fade - cyc_cap_fade; }
  [[nodiscard]] double resistance_factor() const noexcept { return 1.0 + cal_res_growth + cyc_res_growth; }
};

// The four coefficients of the laws at one stress (already clamped at zero and rate-scaled).
struct AgeingCoefficients {
  double alpha_cap_per_day_pow;  // 1/day^time_exponent
  double alpha_res_per_day_pow;
  double beta_cap_per_ah_pow;  // 1/Ah^throughput_exponent (throughput of the reference cell)
  double beta_res_per_ah;      // 1/Ah
};

class AgeingModel {
 public:
  // Validates params (throws std::invalid_argument naming the field).
  explicit AgeingModel(AgeingParams params = {}, OcvTable ocv = OcvTable::lgm50_chen2020());

  // The coefficients at a stress (no validation of the stress; NaN in gives NaN out).
  [[nodiscard]] AgeingCoefficients coefficients(double temp_k, double soc_mean, double dod) const noexcept;

  // Advances state over one interval. Refuses a non-finite field (non_finite_input) and a field
  // outside its domain (invalid_argument: duration or throughput < 0, temp_k <= 0, SOC or DOD
  // outside [0, 1]), leaving state unchanged.
  [[nodiscard]] Status advance(const AgeingStress& stress, AgeingState& state) const noexcept;

  [[nodiscard]] const AgeingParams& params() const noexcept { return params_; }

 private:
  AgeingParams params_;
  OcvTable ocv_;
};

}  // namespace safetwin::battery
