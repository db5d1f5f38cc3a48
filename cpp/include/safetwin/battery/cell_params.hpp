#pragma once
// Parameters of one cell of the equivalent-circuit model (1..3 RC pairs, optional one-state
// hysteresis) with a lumped thermal model; the defaults are REF-CELL-1 (spec/reference-problems.md,
// 2 RC pairs). The equations are in cell_model.hpp. SI units; current > 0 discharges.
#include <optional>

#include "safetwin/battery/ocv_table.hpp"
#include "safetwin/battery/param_surface.hpp"

namespace safetwin::battery {

constexpr double kZeroCelsiusK = 273.15;
constexpr double kReferenceTempK = 298.15;  // 25 °C: where constant resistances are given
// Largest exchange current a cell file may give (A): far above any cell's (a few A for an 18650),
// so that a value in mA or a typo is refused rather than silently removing the charge transfer.
constexpr double kMaxExchangeCurrentA = 1e4;

struct CellLimits {
  double voltage_min_v = 2.5;
  double voltage_max_v = 4.2;
  double temp_max_k = 45.0 + kZeroCelsiusK;
  double temp_min_k = -20.0 + kZeroCelsiusK;
  double charge_current_max_a = 15.0;     // magnitude of the most negative current allowed
  double discharge_current_max_a = 25.0;  // the most positive current allowed
};

// One-state hysteresis (Plett vol. 1 sec. 3.10): V += m_v h + m0_v s.
struct HysteresisParams {
  double gamma = 0.0;  // rate constant (dimensionless): h moves by |I| gamma dt / (3600 Q)
  double m_v = 0.0;    // dynamic hysteresis voltage (V)
  double m0_v = 0.0;   // instantaneous hysteresis voltage (V)
};

struct CellParams {
  double capacity_ah = 5.15;
  double coulombic_efficiency = 1.0;
  OcvTable ocv = OcvTable::lgm50_chen2020();
  // A constant resistance is its value at 25 °C and is scaled by the Arrhenius factor
  // exp(arrhenius_k * (1/T - 1/298.15)); a constant capacitance scales inversely, so the time
  // constant R·C stays fixed. A table over (SOC, T) already holds the temperature dependence and is
  // used as it is.
  ParamSurface r0_ohm = ParamSurface::constant(0.021);
  ParamSurface r1_ohm = ParamSurface::constant(0.0075);
  ParamSurface c1_f = ParamSurface::constant(1733.0);
  ParamSurface r2_ohm = ParamSurface::constant(0.023);
  ParamSurface c2_f = ParamSurface::constant(5652.0);
  // RC pairs in use (1..3): r1/c1, r2/c2, r3/c3; the model's structure (cell_model.hpp) must match.
  int rc_pairs = 2;
  ParamSurface r3_ohm = ParamSurface::constant(0.01);
  ParamSurface c3_f = ParamSurface::constant(1e4);
  // Optional charge-side resistances, used when the current is < 0 (the time constant is the
  // charge-side R times the pair's C). Absent: the surface above serves both directions.
  std::optional<ParamSurface> r0_charge_ohm, r1_charge_ohm, r2_charge_ohm, r3_charge_ohm;
  // Optional entropic coefficient dU/dT (V/K) over SOC (a surface; its temperature axis may be a
  // single point): the OCV gains dU/dT (T - 298.15 K), the heat the reversible term -I T dU/dT.
  std::optional<ParamSurface> entropic_v_per_k;
  // Optional one-state hysteresis (an LFP cell); present: the model's structure has h and s.
  std::optional<HysteresisParams> hysteresis;
  // Optional Butler–Volmer charge transfer in series with R0: its exchange current I0 (A, > 0), a
  // constant or a table over (SOC, T) used as it is (no Arrhenius factor: the overpotential's R T / F
  // carries the cell's temperature). Present: the voltage loses eta(I) = (2 R T / F) asinh(I / (2 I0))
  // on top of R0 I (cell_model.hpp), a resistance that falls with the current. Absent: none.
  std::optional<ParamSurface> exchange_current_a;
  double arrhenius_k = 2000.0;
  double heat_capacity_j_per_k = 52.0;
  double heat_transfer_w_per_k = 0.3;
  double ambient_temp_k = 25.0 + kZeroCelsiusK;
  CellLimits limits{};

  // REF-CELL-1: the LG M50 reference cell of the reference problems.
  static CellParams ref_cell_1();

  // The surfaces of a direction (charging: current < 0) and pair (0-based); no bounds check.
  [[nodiscard]] const ParamSurface& r0_surface(bool charging) const noexcept {
    return charging && r0_charge_ohm ? *r0_charge_ohm : r0_ohm;
  }
  [[nodiscard]] const ParamSurface& rc_resistance(int pair, bool charging) const noexcept {
    const std::optional<ParamSurface>& c = pair == 0 ? r1_charge_ohm : pair == 1 ? r2_charge_ohm : r3_charge_ohm;
    if (charging && c) return *c;
    return pair == 0 ? r1_ohm : pair == 1 ? r2_ohm : r3_ohm;
  }
  [[nodiscard]] const ParamSurface& rc_capacitance(int pair) const noexcept {
    return pair == 0 ? c1_f : pair == 1 ? c2_f : c3_f;
  }
  [[nodiscard]] bool all_constant() const noexcept;  // every resistance/capacitance surface constant
  // Throws std::invalid_argument naming the first bad field (e.g. "CellParams.r0_ohm").
  void validate() const;
};

// Manufacturing spread and ageing of one cell, as factors on the parameters above.
struct CellScaling {
  double capacity_factor = 1.0;    // capacity fade (ageing) times spread: Q = capacity_ah * factor
  double resistance_factor = 1.0;  // resistance growth (ageing): scales R0, R1, R2 (time constants kept)
  double r0_factor = 1.0;          // cell-to-cell spread of R0 alone
  void validate(const std::string& owner) const;
};

// Resistances and time constants of one cell at one operating point.
struct CellCoefficients {
  double r0_ohm;
  double r1_ohm;
  double r2_ohm;
  double tau1_s;
  double tau2_s;
};

// Evaluates the parameter surfaces at (soc, temp_k), with Arrhenius scaling of constant
// resistances and the cell's scaling factors. No allocation, no exception.
[[nodiscard]] CellCoefficients coefficients(const CellParams& p, const CellScaling& s, double soc,
                                            double temp_k) noexcept;

}  // namespace safetwin::battery
