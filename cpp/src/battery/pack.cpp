#include "safetwin/battery/pack.hpp"

#include <cmath>
#include <limits>

#include "safetwin/validate.hpp"

namespace safetwin::battery {

namespace {

// splitmix64, uniform in [0, 1) from the top 53 bits: the same numbers on every standard library
// (std::uniform_real_distribution is not specified bit for bit), enough for a seeded spread.
struct SplitMix64 {
  std::uint64_t s;
  double next() noexcept {
    std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return static_cast<double>(z >> 11) * 0x1.0p-53;
  }
};

void check_state(const std::string& owner, const CellState& s) {
  require_in_range(owner + ".soc", s.soc, 0.0, 1.0);
  require_finite(owner + ".v1_v", s.v1_v);
  require_finite(owner + ".v2_v", s.v2_v);
  require_positive(owner + ".temp_k", s.temp_k);
}

}  // namespace

void check_step_arguments(double current_a, double dt_s) {
  require_finite("current_a", current_a);
  require_positive("dt_s", dt_s);
}

void check_profile_arguments(const double* current_a, std::size_t n, double dt_s) {
  require_positive("dt_s", dt_s);
  for (std::size_t k = 0; k < n; ++k) require_finite("current_a[" + std::to_string(k) + "]", current_a[k]);
}

void PackConfig::validate() const {
  if (series < 1) throw_invalid("PackConfig.series", series, "must be >= 1");
  if (parallel < 1) throw_invalid("PackConfig.parallel", parallel, "must be >= 1");
  cell.validate();
  require_in_range("PackConfig.spread.capacity_rel", spread.capacity_rel, 0.0, 0.5);
  require_in_range("PackConfig.spread.r0_rel", spread.r0_rel, 0.0, 0.5);
  check_state("PackConfig.initial", initial);
}

Pack::Pack(PackConfig config)
    : params_((config.validate(), std::move(config.cell))),
      series_(config.series),
      parallel_(config.parallel) {
  const auto n = static_cast<std::size_t>(series_) * static_cast<std::size_t>(parallel_);
  states_.assign(n, config.initial);
  scaling_.assign(n, CellScaling{});
  SplitMix64 rng{config.spread.seed};
  for (auto& s : scaling_) {
    s.capacity_factor = 1.0 + config.spread.capacity_rel * (2.0 * rng.next() - 1.0);
    s.r0_factor = 1.0 + config.spread.r0_rel * (2.0 * rng.next() - 1.0);
  }
  leak_conductance_s_.assign(n, 0.0);
  cooling_factor_.assign(n, 1.0);
  cell_voltage_.assign(n, 0.0);
  cell_current_.assign(n, 0.0);
  coeff_.assign(n, CellCoefficients{});
  emf_v_.assign(n, 0.0);
  constant_params_ = params_.r0_ohm.is_constant() && params_.r1_ohm.is_constant() &&
                     params_.c1_f.is_constant() && params_.r2_ohm.is_constant() && params_.c2_f.is_constant();
  base_.assign(n, CellCoefficients{});
  for (std::size_t i = 0; i < n; ++i) update_base(i);
  for (std::size_t i = 0; i < n; ++i) cell_voltage_[i] = cell_voltage_at(i, 0.0);
}

void Pack::update_base(std::size_t cell) noexcept {
  base_[cell] = coefficients(params_, scaling_[cell], 0.5, kReferenceTempK);
}

CellCoefficients Pack::cell_coefficients(std::size_t cell) const noexcept {
  const CellState& x = states_[cell];
  if (!constant_params_) return coefficients(params_, scaling_[cell], x.soc, x.temp_k);
  const double arrhenius = std::exp(params_.arrhenius_k * (1.0 / x.temp_k - 1.0 / kReferenceTempK));
  CellCoefficients c = base_[cell];
  c.r0_ohm *= arrhenius;
  c.r1_ohm *= arrhenius;
  c.r2_ohm *= arrhenius;
  return c;
}

Status Pack::step(double pack_current_a, double dt_s, PackSample* sample) noexcept {
  if (!std::isfinite(pack_current_a) || !std::isfinite(dt_s)) return Status::non_finite_input;
  if (!(dt_s > 0.0)) return Status::invalid_argument;
  const double current = contactor_closed_ ? pack_current_a : 0.0;
  const auto np = static_cast<std::size_t>(parallel_);
  const double charge_per_as = params_.coulombic_efficiency * dt_s / (3600.0 * params_.capacity_ah);
  const double dt_per_cth = dt_s / params_.heat_capacity_j_per_k;
  double pack_voltage = 0.0;
  if (constant_params_ && dt_s != cached_dt_s_) {
    cached_a1_ = std::exp(-dt_s / base_[0].tau1_s);
    cached_a2_ = std::exp(-dt_s / base_[0].tau2_s);
    cached_dt_s_ = dt_s;
  }

  for (std::size_t g = 0; g < static_cast<std::size_t>(series_); ++g) {
    const std::size_t first = g * np;
    // Kirchhoff: every cell of the group sees the same terminal voltage V and the cell currents
    // (E_j - V)/R0_j plus the leak currents V*G_leak_j sum to the group current.
    double sum_ge = 0.0, sum_g = 0.0;
    for (std::size_t j = first; j < first + np; ++j) {
      const CellState& x = states_[j];
      coeff_[j] = cell_coefficients(j);
      emf_v_[j] = params_.ocv.voltage_v(x.soc) - x.v1_v - x.v2_v;
      const double g0 = 1.0 / coeff_[j].r0_ohm;
      sum_ge += g0 * emf_v_[j];
      sum_g += g0 + leak_conductance_s_[j];
    }
    const double v_group = (sum_ge - current) / sum_g;
    pack_voltage += v_group;

    for (std::size_t j = first; j < first + np; ++j) {
      CellState& x = states_[j];
      const CellCoefficients& c = coeff_[j];
      const double i_cell = (emf_v_[j] - v_group) / c.r0_ohm;  // through the cell's own circuit
      cell_voltage_[j] = v_group;
      cell_current_[j] = i_cell - v_group * leak_conductance_s_[j];  // at the cell's terminals
      const double a1 = constant_params_ ? cached_a1_ : std::exp(-dt_s / c.tau1_s);
      const double a2 = constant_params_ ? cached_a2_ : std::exp(-dt_s / c.tau2_s);
      const double heat_w = i_cell * i_cell * c.r0_ohm + x.v1_v * x.v1_v / c.r1_ohm +
                            x.v2_v * x.v2_v / c.r2_ohm +
                            v_group * v_group * leak_conductance_s_[j] -
                            params_.heat_transfer_w_per_k * cooling_factor_[j] *
                                (x.temp_k - params_.ambient_temp_k);
      x.soc -= i_cell * charge_per_as / scaling_[j].capacity_factor;
      x.v1_v = a1 * x.v1_v + c.r1_ohm * (1.0 - a1) * i_cell;
      x.v2_v = a2 * x.v2_v + c.r2_ohm * (1.0 - a2) * i_cell;
      x.temp_k += dt_per_cth * heat_w;
    }
  }
  pack_voltage_ = pack_voltage;
  if (sample != nullptr) {
    sample->pack_current_a = current;
    sample->pack_voltage_v = pack_voltage;
  }
  return Status::ok;
}

Status Pack::simulate(const double* current_a, std::size_t n, double dt_s, double* pack_voltage_v,
                      double* cell_voltage_v, double* cell_temp_k, double* cell_soc,
                      double* cell_current_a) noexcept {
  if (!std::isfinite(dt_s)) return Status::non_finite_input;
  if (!(dt_s > 0.0)) return Status::invalid_argument;
  if (n > 0 && current_a == nullptr) return Status::invalid_argument;
  for (std::size_t k = 0; k < n; ++k)
    if (!std::isfinite(current_a[k])) return Status::non_finite_input;
  const std::size_t m = cells();
  for (std::size_t k = 0; k < n; ++k) {
    if (cell_temp_k != nullptr || cell_soc != nullptr) {
      for (std::size_t j = 0; j < m; ++j) {
        if (cell_temp_k != nullptr) cell_temp_k[k * m + j] = states_[j].temp_k;
        if (cell_soc != nullptr) cell_soc[k * m + j] = states_[j].soc;
      }
    }
    (void)step(current_a[k], dt_s);  // inputs checked above: cannot be refused
    if (pack_voltage_v != nullptr) pack_voltage_v[k] = pack_voltage_;
    for (std::size_t j = 0; j < m; ++j) {
      if (cell_voltage_v != nullptr) cell_voltage_v[k * m + j] = cell_voltage_[j];
      if (cell_current_a != nullptr) cell_current_a[k * m + j] = cell_current_[j];
    }
  }
  return Status::ok;
}

double Pack::cell_voltage_at(std::size_t cell, double cell_current_a) const noexcept {
  const CellState& x = states_[cell];
  const CellCoefficients c = cell_coefficients(cell);
  return params_.ocv.voltage_v(x.soc) - c.r0_ohm * cell_current_a - x.v1_v - x.v2_v;
}

void Pack::check_cell(std::size_t cell, const char* what) const {
  if (cell >= cells())
    throw_invalid(std::string("Pack.") + what + ".cell", static_cast<double>(cell),
                  "must be < cells() = " + std::to_string(cells()));
}

void Pack::set_state(std::size_t cell, const CellState& state) {
  check_cell(cell, "set_state");
  check_state("CellState", state);
  states_[cell] = state;
}

void Pack::set_all_states(const CellState& state) {
  check_state("CellState", state);
  for (auto& s : states_) s = state;
}

void Pack::set_scaling(std::size_t cell, const CellScaling& scaling) {
  check_cell(cell, "set_scaling");
  scaling.validate("CellScaling");
  scaling_[cell] = scaling;
  update_base(cell);
}

void Pack::set_leak_resistance(std::size_t cell, double ohm) {
  check_cell(cell, "set_leak_resistance");
  if (!(ohm > 0.0)) throw_invalid("Pack.set_leak_resistance.ohm", ohm, "must be > 0 (+inf: no short)");
  leak_conductance_s_[cell] = std::isinf(ohm) ? 0.0 : 1.0 / ohm;
}

double Pack::leak_resistance(std::size_t cell) const {
  check_cell(cell, "leak_resistance");
  const double g = leak_conductance_s_[cell];
  return g > 0.0 ? 1.0 / g : std::numeric_limits<double>::infinity();
}

void Pack::set_cooling_factor(std::size_t cell, double factor) {
  check_cell(cell, "set_cooling_factor");
  require_non_negative("Pack.set_cooling_factor.factor", factor);
  cooling_factor_[cell] = factor;
}

void Pack::set_ambient_temp_k(double temp_k) {
  require_positive("Pack.set_ambient_temp_k.temp_k", temp_k);
  params_.ambient_temp_k = temp_k;
}

Cell::Cell(CellParams params, CellState initial)
    : pack_(PackConfig{1, 1, std::move(params), SpreadConfig{}, initial}) {}

Status Cell::step(double current_a, double dt_s, double* voltage_v) noexcept {
  const Status st = pack_.step(current_a, dt_s);
  if (st == Status::ok && voltage_v != nullptr) *voltage_v = pack_.cell_voltage_v()[0];
  return st;
}

}  // namespace safetwin::battery
