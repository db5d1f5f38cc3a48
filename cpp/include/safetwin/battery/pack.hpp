#pragma once
// The battery plant: Ns series groups of Np parallel cells, each the one cell model (cell_model.hpp:
// 1..3 RC pairs, optional hysteresis, lumped thermal model; REF-CELL-1 by default). The current of
// a parallel group splits between its cells by Kirchhoff's laws at every step; series groups carry
// the pack current. The structure is chosen from the parameters once per step (with_structure).
//
// Timing: step() is the plant's one call per sample (zero-order hold on the current over dt_s).
// It allocates nothing and never throws; a refused input returns a Status and changes nothing.
#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/battery/cell_params.hpp"
#include "safetwin/status.hpp"

namespace safetwin::battery {

// The state of one cell of any structure (fields a structure does not have stay 0); the names are
// CellStructure::name's.
struct CellState {
  double soc = 0.5;
  double v1_v = 0.0;  // voltage over the first RC pair
  double v2_v = 0.0;  // voltage over the second RC pair
  double temp_k = kReferenceTempK;
  double v3_v = 0.0;             // voltage over the third RC pair (rc_pairs == 3)
  double hysteresis = 0.0;       // h in [-1, 1] (with hysteresis)
  double hysteresis_sign = 0.0;  // s: -1 after discharge, +1 after charge, 0 before any current
};

// Cell-to-cell spread, uniform in [1 - rel, 1 + rel] per cell from a seeded generator.
struct SpreadConfig {
  double capacity_rel = 0.0;
  double r0_rel = 0.0;
  std::uint64_t seed = 0;
};

struct PackConfig {
  int series = 1;
  int parallel = 1;
  CellParams cell = CellParams::ref_cell_1();
  SpreadConfig spread{};
  CellState initial{};
  void validate() const;  // throws std::invalid_argument naming the field
};

// Configuration-side checks of step arguments, for callers that raise (the Python binding):
// throw std::invalid_argument naming the argument, its value and the limit.
void check_step_arguments(double current_a, double dt_s);
void check_profile_arguments(const double* current_a, std::size_t n, double dt_s);

// One sample of the pack: values at the start of the step (time k) under the current of step k.
struct PackSample {
  double pack_current_a = 0.0;  // the current that flowed (0 with the contactor open)
  double pack_voltage_v = 0.0;
};

class Pack {
 public:
  explicit Pack(PackConfig config);

  // Advances every cell by dt_s under pack_current_a (> 0 discharges). Fills the per-cell outputs
  // (terminal voltage and current at time k) and *sample, then moves the states to time k+1.
  [[nodiscard]] Status step(double pack_current_a, double dt_s, PackSample* sample = nullptr) noexcept;

  // Simulates a whole current profile (one value per step, held for dt_s). Outputs are written for
  // every step k before the step is taken (so row k holds the state at time k); each pointer may be
  // null; per-cell arrays are row-major n x cells(). The whole profile is checked first: on a
  // refused input nothing is written and the state is unchanged.
  [[nodiscard]] Status simulate(const double* current_a, std::size_t n, double dt_s, double* pack_voltage_v,
                                double* cell_voltage_v, double* cell_temp_k, double* cell_soc,
                                double* cell_current_a) noexcept;

  // State and configuration (configuration calls validate and throw std::invalid_argument).
  [[nodiscard]] int series() const noexcept { return series_; }
  [[nodiscard]] int parallel() const noexcept { return parallel_; }
  [[nodiscard]] std::size_t cells() const noexcept { return states_.size(); }
  [[nodiscard]] const CellParams& params() const noexcept { return params_; }
  [[nodiscard]] const std::vector<CellState>& states() const noexcept { return states_; }
  void set_state(std::size_t cell, const CellState& state);
  void set_all_states(const CellState& state);
  [[nodiscard]] const std::vector<CellScaling>& scaling() const noexcept { return scaling_; }
  void set_scaling(std::size_t cell, const CellScaling& scaling);  // ageing: capacity fade, R growth

  // Plant-side fault hooks.
  void set_leak_resistance(std::size_t cell, double ohm);  // internal short; +inf removes it
  [[nodiscard]] double leak_resistance(std::size_t cell) const;
  void set_cooling_factor(std::size_t cell, double factor);  // 0 = cooling lost, 1 = nominal
  void set_contactor_closed(bool closed) noexcept { contactor_closed_ = closed; }
  [[nodiscard]] bool contactor_closed() const noexcept { return contactor_closed_; }
  void set_ambient_temp_k(double temp_k);

  // Outputs of the last step (time k of that step).
  [[nodiscard]] const std::vector<double>& cell_voltage_v() const noexcept { return cell_voltage_; }
  [[nodiscard]] const std::vector<double>& cell_current_a() const noexcept { return cell_current_; }
  [[nodiscard]] double pack_voltage_v() const noexcept { return pack_voltage_; }
  // Terminal voltage of one cell in its present state under a given cell current (no step taken).
  [[nodiscard]] double cell_voltage_at(std::size_t cell, double cell_current_a) const noexcept;

 private:
  void check_cell(std::size_t cell, const char* what) const;
  template <class S>
  void step_structure(double current, double dt_s, double& pack_voltage) noexcept;
  template <class S>
  [[nodiscard]] double cell_voltage_structure(std::size_t cell, double cell_current_a) const noexcept;
  using Coefficients = RcCoefficients<3>;  // storage for every structure (the first rc_pairs used)

  CellParams params_;
  int series_;
  int parallel_;
  bool contactor_closed_ = true;
  std::vector<CellState> states_;
  std::vector<CellScaling> scaling_;
  std::vector<double> leak_conductance_siemens_;  // 1/R_leak; 0 = no internal short
  std::vector<double> cooling_factor_;
  std::vector<double> cell_voltage_;
  std::vector<double> cell_current_;
  std::vector<Coefficients> coeff_;  // scratch for one step, sized at construction
  std::vector<double> emf_v_;        // scratch: the voltage at zero current per cell
  double pack_voltage_ = 0.0;
  // Fast path for constant parameters (REF-CELL-1): per-cell coefficients at 25 °C are kept (one
  // for discharge, one for charge), so a cell-step costs one Arrhenius exp, and exp(-dt/tau) is
  // computed once per step size.
  void update_base(std::size_t cell) noexcept;
  [[nodiscard]] ModelFactors<double> factors(std::size_t cell) const noexcept;
  bool constant_params_ = false;
  std::vector<std::array<Coefficients, 2>> base_;         // per cell at 25 °C: [discharge, charge]
  std::vector<ModelFactors<double>> factors_;             // per cell, from scaling_
  std::vector<std::array<double, kMaxCellStateSize>> x_;  // scratch: the model's state array per cell
  double cached_dt_s_ = 0.0;
  std::array<std::array<double, 3>, 2> cached_a_{};  // exp(-dt/tau_i): [discharge, charge]
};

// One cell: a 1s1p pack, with the single-cell accessors a test bench wants.
class Cell {
 public:
  explicit Cell(CellParams params = CellParams::ref_cell_1(), CellState initial = {});
  [[nodiscard]] Status step(double current_a, double dt_s, double* voltage_v = nullptr) noexcept;
  [[nodiscard]] const CellState& state() const noexcept { return pack_.states()[0]; }
  void set_state(const CellState& s) { pack_.set_state(0, s); }
  [[nodiscard]] double voltage_v(double current_a) const noexcept { return pack_.cell_voltage_at(0, current_a); }
  [[nodiscard]] Pack& pack() noexcept { return pack_; }
  [[nodiscard]] const Pack& pack() const noexcept { return pack_; }

 private:
  Pack pack_;
};

}  // namespace safetwin::battery
