#include "safetwin/battery/pack.hpp"

#include <cmath>
#include <limits>

#include "safetwin/validate.hpp"

namespace safetwin::battery {

namespace {

// The parallel split's fixed-point iteration with a charge transfer (step_structure): at most this
// many passes (a bound on the step's work), ending early once the group voltage moves less than
// kSplitToleranceV. Three fixed passes left the cells' voltage equations off by up to 45 uV (test_battery).
constexpr int kChargeTransferSplitPasses = 50;
constexpr double kSplitToleranceV = 1e-12;

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
  require_finite(owner + ".v3_v", s.v3_v);
  require_in_range(owner + ".hysteresis", s.hysteresis, -1.0, 1.0);
  if (!(s.hysteresis_sign == -1.0 || s.hysteresis_sign == 0.0 || s.hysteresis_sign == 1.0))
    throw_invalid(owner + ".hysteresis_sign", s.hysteresis_sign, "must be -1, 0 or +1");
}

// CellState <-> the model's state array of structure S.
template <class S>
void to_array(const CellState& c, double* x) noexcept {
  const double v[3] = {c.v1_v, c.v2_v, c.v3_v};
  x[S::soc] = c.soc;
  for (int i = 0; i < S::rc_pairs; ++i) x[S::v_rc(i)] = v[i];
  if constexpr (S::hysteresis) {
    x[S::hyst] = c.hysteresis;
    x[S::hyst_sign] = c.hysteresis_sign;
  }
  x[S::temp] = c.temp_k;
}

template <class S>
void from_array(const double* x, CellState& c) noexcept {
  double* v[3] = {&c.v1_v, &c.v2_v, &c.v3_v};
  c.soc = x[S::soc];
  for (int i = 0; i < S::rc_pairs; ++i) *v[i] = x[S::v_rc(i)];
  if constexpr (S::hysteresis) {
    c.hysteresis = x[S::hyst];
    c.hysteresis_sign = x[S::hyst_sign];
  }
  c.temp_k = x[S::temp];
}

template <int NRC>
RcCoefficients<NRC> first_pairs(const RcCoefficients<3>& c) noexcept {
  RcCoefficients<NRC> r;
  r.r0_ohm = c.r0_ohm;
  for (int i = 0; i < NRC; ++i) {
    r.r_ohm[i] = c.r_ohm[i];
    r.tau_s[i] = c.tau_s[i];
  }
  return r;
}

template <int NRC>
RcCoefficients<3> widen(const RcCoefficients<NRC>& c) noexcept {
  RcCoefficients<3> r;
  r.r0_ohm = c.r0_ohm;
  for (int i = 0; i < NRC; ++i) {
    r.r_ohm[i] = c.r_ohm[i];
    r.tau_s[i] = c.tau_s[i];
  }
  return r;
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
    : params_((config.validate(), std::move(config.cell))), series_(config.series), parallel_(config.parallel) {
  const auto n = static_cast<std::size_t>(series_) * static_cast<std::size_t>(parallel_);
  states_.assign(n, config.initial);
  scaling_.assign(n, CellScaling{});
  SplitMix64 rng{config.spread.seed};
  for (auto& s : scaling_) {
    s.capacity_factor = 1.0 + config.spread.capacity_rel * (2.0 * rng.next() - 1.0);
    s.r0_factor = 1.0 + config.spread.r0_rel * (2.0 * rng.next() - 1.0);
  }
  leak_conductance_siemens_.assign(n, 0.0);
  cooling_factor_.assign(n, 1.0);
  cell_voltage_.assign(n, 0.0);
  cell_current_.assign(n, 0.0);
  coeff_.assign(n, Coefficients{});
  emf_v_.assign(n, 0.0);
  constant_params_ = params_.all_constant();
  base_.assign(n, {});
  factors_.assign(n, ModelFactors<double>{});
  x_.assign(n, {});
  for (std::size_t i = 0; i < n; ++i) update_base(i);
  for (std::size_t i = 0; i < n; ++i) cell_voltage_[i] = cell_voltage_at(i, 0.0);
}

ModelFactors<double> Pack::factors(std::size_t cell) const noexcept {
  const CellScaling& s = scaling_[cell];
  return ModelFactors<double>{s.resistance_factor * s.r0_factor, s.capacity_factor, s.resistance_factor};
}

void Pack::update_base(std::size_t cell) noexcept {
  factors_[cell] = factors(cell);
  for (int side = 0; side < 2; ++side)
    base_[cell][static_cast<std::size_t>(side)] =
        rc_coefficients<3>(params_, 0.5, kReferenceTempK, side == 1, factors(cell), 0.0);
}

template <class S>
void Pack::step_structure(double current, double dt_s, double& pack_voltage) noexcept {
  constexpr int nrc = S::rc_pairs;
  const auto np = static_cast<std::size_t>(parallel_);
  // The direction of every cell of a group is the group's (the charge-side surfaces and the
  // hysteresis sign are chosen by it before the split is known).
  const bool charging = current < 0.0;
  const auto side = static_cast<std::size_t>(charging ? 1 : 0);
  if (constant_params_ && dt_s != cached_dt_s_) {
    for (std::size_t d = 0; d < 2; ++d) {
      const auto a = rc_decay(first_pairs<nrc>(base_[0][d]), dt_s);
      for (int i = 0; i < nrc; ++i) cached_a_[d][static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)];
    }
    cached_dt_s_ = dt_s;
  }
  double xn[S::size];
  const bool transfer = params_.exchange_current_a.has_value();
  const double current_share = current / static_cast<double>(np);  // the charge-transfer chord's first guess
  for (std::size_t g = 0; g < static_cast<std::size_t>(series_); ++g) {
    const std::size_t first = g * np;
    // Kirchhoff: every cell of the group sees the same terminal voltage V and the cell currents
    // (E_j - V)/R0_j plus the leak currents V*G_leak_j sum to the group current.
    double sum_ge = 0.0, sum_g = 0.0;
    for (std::size_t j = first; j < first + np; ++j) {
      double* x = x_[j].data();
      to_array<S>(states_[j], x);
      if (constant_params_) {
        coeff_[j] = constant_coefficients_at(base_[j][side], arrhenius_factor(params_, x[S::temp]));
      } else {
        coeff_[j] = widen(rc_coefficients<nrc>(params_, x[S::soc], x[S::temp], charging, factors_[j], current_share));
      }
      if (transfer) coeff_[j].r0_ohm = r0_at(params_, x[S::soc], x[S::temp], charging, factors_[j], current_share);
      emf_v_[j] = emf_v<S>(params_, x, current);
      const double g0 = 1.0 / coeff_[j].r0_ohm;
      sum_ge += g0 * emf_v_[j];
      sum_g += g0 + leak_conductance_siemens_[j];
    }
    double v_group = (sum_ge - current) / sum_g;
    // With a charge transfer each cell's resistance depends on its own current, which the split
    // decides: a fixed number of passes re-evaluates it at the last split's currents (a fixed-point
    // iteration; exact from the first pass for one cell per group without leak, whose current is
    // the group's, and otherwise converging as fast as the chord varies over the cells' spread).
    for (int pass = 0; transfer && pass < kChargeTransferSplitPasses; ++pass) {
      sum_ge = 0.0;
      sum_g = 0.0;
      for (std::size_t j = first; j < first + np; ++j) {
        const double* x = x_[j].data();
        const double i_cell = (emf_v_[j] - v_group) / coeff_[j].r0_ohm;
        coeff_[j].r0_ohm = r0_at(params_, x[S::soc], x[S::temp], charging, factors_[j], i_cell);
        const double g0 = 1.0 / coeff_[j].r0_ohm;
        sum_ge += g0 * emf_v_[j];
        sum_g += g0 + leak_conductance_siemens_[j];
      }
      const double v_next = (sum_ge - current) / sum_g;
      const bool converged = std::abs(v_next - v_group) < kSplitToleranceV;
      v_group = v_next;
      if (converged) break;
    }
    pack_voltage += v_group;

    for (std::size_t j = first; j < first + np; ++j) {
      const RcCoefficients<nrc> c = first_pairs<nrc>(coeff_[j]);
      const double i_cell = (emf_v_[j] - v_group) / c.r0_ohm;  // through the cell's own circuit
      cell_voltage_[j] = v_group;
      cell_current_[j] = i_cell - v_group * leak_conductance_siemens_[j];  // at the cell's terminals
      std::array<double, nrc> a;
      if (constant_params_) {
        for (int i = 0; i < nrc; ++i) a[static_cast<std::size_t>(i)] = cached_a_[side][static_cast<std::size_t>(i)];
      } else {
        a = rc_decay(c, dt_s);
      }
      const ThermalInputs th{cooling_factor_[j], v_group * v_group * leak_conductance_siemens_[j]};
      step_with<S>(params_, c, a, x_[j].data(), i_cell, dt_s, factors_[j], th, xn);
      from_array<S>(xn, states_[j]);
    }
  }
}

Status Pack::step(double pack_current_a, double dt_s, PackSample* sample) noexcept {
  if (!std::isfinite(pack_current_a) || !std::isfinite(dt_s)) return Status::non_finite_input;
  if (!(dt_s > 0.0)) return Status::invalid_argument;
  const double current = contactor_closed_ ? pack_current_a : 0.0;
  double pack_voltage = 0.0;
  with_structure(params_, [&](auto s) { step_structure<decltype(s)>(current, dt_s, pack_voltage); });
  pack_voltage_ = pack_voltage;
  if (sample != nullptr) {
    sample->pack_current_a = current;
    sample->pack_voltage_v = pack_voltage;
  }
  return Status::ok;
}

Status Pack::simulate(const double* current_a, std::size_t n, double dt_s, double* pack_voltage_v,
                      double* cell_voltage_v, double* cell_temp_k, double* cell_soc, double* cell_current_a) noexcept {
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

template <class S>
double Pack::cell_voltage_structure(std::size_t cell, double cell_current_a) const noexcept {
  double x[S::size];
  to_array<S>(states_[cell], x);
  return terminal_voltage<S>(params_, x, cell_current_a, factors(cell));
}

double Pack::cell_voltage_at(std::size_t cell, double cell_current_a) const noexcept {
  double v = 0.0;
  with_structure(params_, [&](auto s) { v = cell_voltage_structure<decltype(s)>(cell, cell_current_a); });
  return v;
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
  leak_conductance_siemens_[cell] = std::isinf(ohm) ? 0.0 : 1.0 / ohm;
}

double Pack::leak_resistance(std::size_t cell) const {
  check_cell(cell, "leak_resistance");
  const double g = leak_conductance_siemens_[cell];
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
