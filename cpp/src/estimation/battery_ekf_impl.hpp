#pragma once
// The members of BasicBatteryEkf<S> (battery_ekf.hpp), included by the two files that instantiate
// them: battery_ekf.cpp the 2RC filter alone, battery_ekf_structures.cpp the five other
// structures. Why two units: with all six in one, GCC stopped inlining Eigen kernels that the
// instantiations share (callgrind over 2000 steps: about +390 instructions per 2RC step, +9.5 %, in
// out-of-line 4x4 copies and comparisons); apart, the 2RC step is main's 4093 instructions again.
#include "safetwin/estimation/battery_ekf.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/battery/cell_model.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::estimation {

namespace {

// Measurement variances of the three channels. correlation_factor multiplies the model-error
// variance (1: the per-sample variance, channel_variances()).
Eigen::Matrix<double, kChannelCount, 1> measurement_variance(const BatteryEkfConfig& c,
                                                             double correlation_factor) noexcept {
  const double r0_noise_v = c.cell.r0_ohm.at(0.5, battery::kReferenceTempK) * c.current_sigma_a;
  const double common_v2 =
      c.voltage_model_sigma_v * c.voltage_model_sigma_v * correlation_factor + r0_noise_v * r0_noise_v;
  Eigen::Matrix<double, kChannelCount, 1> r;
  r[static_cast<int>(Channel::voltage_a)] = c.voltage_a_sigma_v * c.voltage_a_sigma_v + common_v2;
  r[static_cast<int>(Channel::voltage_b)] = c.voltage_b_sigma_v * c.voltage_b_sigma_v + common_v2;
  r[static_cast<int>(Channel::temperature)] = c.temperature_sigma_k * c.temperature_sigma_k;
  return r;
}

// Initial estimate of the NX-state filter of structure S from the battery configuration, with SOC soc0.
template <class S, int NX>
void initial_estimate(const BatteryEkfConfig& c, double soc0, typename Ekf<NX, kChannelCount>::StateVector& x0,
                      typename Ekf<NX, kChannelCount>::StateMatrix& p0) noexcept {
  using L = FilterLayout<S, true>;
  const double v_rc0[3] = {c.v1_0_v, c.v2_0_v, c.v3_0_v};
  x0.setZero();
  p0.setZero();
  x0[S::soc] = soc0;
  p0(S::soc, S::soc) = c.soc_sigma0 * c.soc_sigma0;
  for (int i = 0; i < S::rc_pairs; ++i) {
    x0[S::v_rc(i)] = v_rc0[i];
    p0(S::v_rc(i), S::v_rc(i)) = c.v_rc_sigma0_v * c.v_rc_sigma0_v;
  }
  if constexpr (S::hysteresis) {
    x0[S::hyst] = c.hysteresis0;
    x0[S::hyst_sign] = c.hysteresis_sign0;
    p0(S::hyst, S::hyst) = c.hysteresis_sigma0 * c.hysteresis_sigma0;
    p0(S::hyst_sign, S::hyst_sign) = c.hysteresis_sign_sigma0 * c.hysteresis_sign_sigma0;
  }
  x0[S::temp] = c.temp0_k;
  p0(S::temp, S::temp) = c.temp_sigma0_k * c.temp_sigma0_k;
  if constexpr (NX == L::size) {
    x0[L::r0_factor] = c.r0_factor0;
    x0[L::capacity_factor] = c.capacity_factor0;
    p0(L::r0_factor, L::r0_factor) = c.r0_factor_sigma0 * c.r0_factor_sigma0;
    p0(L::capacity_factor, L::capacity_factor) = c.capacity_factor_sigma0 * c.capacity_factor_sigma0;
  }
}

// Filter settings of the NX-state filter of structure S from the battery configuration.
template <class S, int NX>
typename Ekf<NX, kChannelCount>::Config ekf_config(const BatteryEkfConfig& c) {
  typename Ekf<NX, kChannelCount>::Config e;
  initial_estimate<S, NX>(c, c.soc0, e.x0, e.p0);
  e.r = measurement_variance(c, 1.0);
  e.gate_probability = c.gate_probability;
  e.gate_reset_after = c.gate_reset_after;
  return e;
}

// The configuration, validated, with a cell of structure S.
template <class S>
BatteryEkfConfig validated_for(BatteryEkfConfig config) {
  config.validate();
  if (config.cell.rc_pairs != S::rc_pairs)
    throw_invalid("BatteryEkfConfig.cell.rc_pairs", config.cell.rc_pairs,
                  "must be " + std::to_string(S::rc_pairs) + " (the filter's structure)");
  if (config.cell.hysteresis.has_value() != S::hysteresis)
    throw_invalid("BatteryEkfConfig.cell.hysteresis", S::hysteresis
                                                          ? "must be present (the filter's structure has h)"
                                                          : "must be absent (the filter's structure has no h)");
  return config;
}

}  // namespace

template <class S>
BasicBatteryEkf<S>::BasicBatteryEkf(BatteryEkfConfig config)
    : config_(validated_for<S>(std::move(config))),
      joint_(config_.estimate_params),
      ekf4_(ekf_config<S, S::size>(config_)),
      ekf6_(ekf_config<S, JointLayout::size>(config_)),
      r_gate_(measurement_variance(config_, 1.0)),
      r_step_(r_gate_) {}

template <class S>
template <class E>
Status BasicBatteryEkf<S>::step_impl(E& ekf, double current_a, const Measurement& z, double dt_s) noexcept {
  constexpr int nx = E::StateVector::RowsAtCompileTime;
  using X = typename E::StateVector;
  using M = typename E::StateMatrix;
  const BatteryEkfConfig& c = config_;
  const battery::CellParams& cell = c.cell;

  Status result = Status::ok;
  if (has_previous_) {
    const double i_prev = previous_current_a_;
    throughput_ah_ += std::abs(i_prev) * dt_s / 3600.0;
    const Status st = ekf.predict([&](const X& x, X& xn, M& f, M& q) noexcept {
      X g;
      battery_transition<nx, S>(cell, x, i_prev, dt_s, xn, f, g);
      q = (c.current_sigma_a * c.current_sigma_a) * (g * g.transpose());
      q(S::soc, S::soc) += c.soc_rw_per_sqrt_s * c.soc_rw_per_sqrt_s * dt_s;
      for (int i = 0; i < S::rc_pairs; ++i)
        q(S::v_rc(i), S::v_rc(i)) += c.v_rc_rw_v_per_sqrt_s * c.v_rc_rw_v_per_sqrt_s * dt_s;
      if constexpr (S::hysteresis) {
        q(S::hyst, S::hyst) += c.hysteresis_rw_per_sqrt_s * c.hysteresis_rw_per_sqrt_s * dt_s;
        q(S::hyst_sign, S::hyst_sign) += c.hysteresis_sign_rw_per_sqrt_s * c.hysteresis_sign_rw_per_sqrt_s * dt_s;
      }
      q(S::temp, S::temp) += c.temp_rw_k_per_sqrt_s * c.temp_rw_k_per_sqrt_s * dt_s;
      if constexpr (nx == JointLayout::size) {
        q(JointLayout::r0_factor, JointLayout::r0_factor) +=
            c.r0_factor_rw_per_sqrt_s * c.r0_factor_rw_per_sqrt_s * dt_s;
        q(JointLayout::capacity_factor, JointLayout::capacity_factor) +=
            c.capacity_factor_rw_per_sqrt_s * c.capacity_factor_rw_per_sqrt_s * dt_s;
      }
      return true;
    });
    if (st != Status::ok) {
      previous_current_a_ = current_a;
      if (ekf.report().flags & filter_flag::model_failed) return st;  // nothing moved
      result = st;  // covariance recovered: the state moved, go on with the update
    }
  }

  typename E::MeasVector zv;
  zv << z.voltage_a_v, z.voltage_b_v, z.temperature_k;
  typename E::ChannelMask valid = 0;
  if (z.voltage_a_valid) valid |= 1u << idx(Channel::voltage_a);
  if (z.voltage_b_valid) valid |= 1u << idx(Channel::voltage_b);
  if (z.temperature_valid) valid |= 1u << idx(Channel::temperature);
  const auto obs = [&](const X& x, typename E::MeasVector& zp, typename E::ObsMatrix& h) noexcept {
    Eigen::Matrix<double, 1, nx> dv;
    const double v = battery_voltage<nx, S>(cell, x, current_a, dv);
    zp << v, v, x[S::temp];
    h.row(idx(Channel::voltage_a)) = dv;
    h.row(idx(Channel::voltage_b)) = dv;
    h.row(idx(Channel::temperature)).setZero();
    h(idx(Channel::temperature), S::temp) = 1.0;
    return true;
  };

  // Inflated variance for the update when dt is shorter than the model error's correlation time.
  const double inflation = std::max(1.0, c.voltage_model_correlation_s / dt_s);
  if (inflation != cached_inflation_) {
    cached_inflation_ = inflation;
    r_step_ = r_gate_;
    const double m2 = c.voltage_model_sigma_v * c.voltage_model_sigma_v * (inflation - 1.0);
    r_step_[idx(Channel::voltage_a)] += m2;
    r_step_[idx(Channel::voltage_b)] += m2;
  }

  Status st = Status::ok;
  if constexpr (nx == JointLayout::size) {
    using L = JointLayout;
    // Excitation rule (header): parameter rows of the gain only when the data excite them.
    r0_excited_ = has_previous_ && std::abs(current_a - previous_current_a_) >= c.r0_excitation_a;
    capacity_excited_ = std::abs(current_a) <= c.capacity_rest_current_a &&
                        throughput_ah_ >= c.capacity_throughput_ah &&
                        std::sqrt(ekf.covariance()(S::soc, S::soc)) <= c.capacity_soc_sigma_max;
    X mask = X::Ones();
    mask[L::r0_factor] = r0_excited_ ? 1.0 : 0.0;
    mask[L::capacity_factor] = capacity_excited_ ? 1.0 : 0.0;
    st = ekf.update(zv, valid, obs, &mask, &r_step_, &r_gate_);
    // Bounds: project the parameter means back into their physical range.
    const X& x = ekf.state();
    (void)ekf.set_state_component(L::r0_factor, std::clamp(x[L::r0_factor], c.r0_factor_min, c.r0_factor_max));
    (void)ekf.set_state_component(L::capacity_factor,
                                  std::clamp(x[L::capacity_factor], c.capacity_factor_min, c.capacity_factor_max));
  } else {
    st = ekf.update(zv, valid, obs, nullptr, &r_step_, &r_gate_);
  }
  has_previous_ = true;
  previous_current_a_ = current_a;
  return st != Status::ok ? st : result;
}

template <class S>
Status BasicBatteryEkf<S>::step(double current_a, const Measurement& z, double dt_s) noexcept {
  if (!std::isfinite(current_a) || !std::isfinite(dt_s)) return Status::non_finite_input;
  if (!(dt_s > 0.0)) return Status::invalid_argument;
  if constexpr (S::hysteresis)  // the rest band of the hysteresis (BatteryEkfConfig)
    if (std::abs(current_a) <= config_.hysteresis_rest_current_a) current_a = 0.0;
  return joint_ ? step_impl(ekf6_, current_a, z, dt_s) : step_impl(ekf4_, current_a, z, dt_s);
}

template <class S>
Status BasicBatteryEkf<S>::set_noise_scale(Channel channel, double s) noexcept {
  // Both filters carry the scale so that it survives a switch of mode; the checks are the same.
  const Status st = ekf4_.set_noise_scale(idx(channel), s);
  if (st != Status::ok) return st;
  return ekf6_.set_noise_scale(idx(channel), s);
}

template <class S>
double BasicBatteryEkf<S>::noise_scale(Channel channel) const noexcept {
  return ekf4_.noise_scale(idx(channel));
}

template <class S>
void BasicBatteryEkf<S>::reset(double soc0) {
  require_finite("BatteryEkf.reset.soc0", soc0);
  (void)reset_soc(soc0);  // cannot refuse a finite soc0: the rest was validated at construction
}

template <class S>
Status BasicBatteryEkf<S>::reset_soc(double soc0) noexcept {
  if (!std::isfinite(soc0)) return Status::non_finite_input;
  // The configuration's initial estimate with this SOC, built in place: a copy of the
  // configuration would copy the cell's tables (heap).
  typename Ekf4::StateVector x4;
  typename Ekf4::StateMatrix p4;
  typename Ekf6::StateVector x6;
  typename Ekf6::StateMatrix p6;
  initial_estimate<S, S::size>(config_, soc0, x4, p4);
  initial_estimate<S, JointLayout::size>(config_, soc0, x6, p6);
  // Both covariances are the validated configuration's, so neither filter can refuse them.
  if (const Status st = ekf4_.try_reset(x4, p4); st != Status::ok) return st;
  if (const Status st = ekf6_.try_reset(x6, p6); st != Status::ok) return st;
  config_.soc0 = soc0;
  has_previous_ = false;
  r0_excited_ = capacity_excited_ = false;
  throughput_ah_ = 0.0;
  return Status::ok;
}

template <class S>
void BasicBatteryEkf<S>::reset(const StateVector& x, const StateMatrix& p) {
  Ekf4::check_covariance("BatteryEkf.reset.p", p);
  for (int i = 0; i < S::size; ++i) require_finite("BatteryEkf.reset.x[" + std::to_string(i) + "]", x[i]);
  const auto e6 = ekf_config<S, JointLayout::size>(config_);
  typename Ekf6::StateVector x6 = e6.x0;
  typename Ekf6::StateMatrix p6 = e6.p0;
  x6.template head<S::size>() = x;
  p6.template topLeftCorner<S::size, S::size>() = p;
  ekf4_.reset(x, p);
  ekf6_.reset(x6, p6);
  has_previous_ = false;
  r0_excited_ = capacity_excited_ = false;
  throughput_ah_ = 0.0;
}

template <class S>
typename BasicBatteryEkf<S>::StateVector BasicBatteryEkf<S>::state() const noexcept {
  return joint_ ? StateVector(ekf6_.state().template head<S::size>()) : ekf4_.state();
}

template <class S>
typename BasicBatteryEkf<S>::StateMatrix BasicBatteryEkf<S>::covariance() const noexcept {
  return joint_ ? StateMatrix(ekf6_.covariance().template topLeftCorner<S::size, S::size>()) : ekf4_.covariance();
}

template <class S>
void BasicBatteryEkf<S>::full_estimate(double* x, double* p_row_major) const noexcept {
  const auto copy = [&](const auto& e) {
    const int n = static_cast<int>(e.state().size());
    for (int i = 0; i < n; ++i) {
      if (x != nullptr) x[i] = e.state()[i];
      for (int j = 0; j < n && p_row_major != nullptr; ++j) p_row_major[i * n + j] = e.covariance()(i, j);
    }
  };
  if (joint_)
    copy(ekf6_);
  else
    copy(ekf4_);
}

template <class S>
double BasicBatteryEkf<S>::soc_sigma() const noexcept {
  const double v = joint_ ? ekf6_.covariance()(S::soc, S::soc) : ekf4_.covariance()(S::soc, S::soc);
  return std::sqrt(v);
}

template <class S>
double BasicBatteryEkf<S>::r0_factor() const noexcept {
  return joint_ ? ekf6_.state()[JointLayout::r0_factor] : 1.0;
}
template <class S>
double BasicBatteryEkf<S>::capacity_factor() const noexcept {
  return joint_ ? ekf6_.state()[JointLayout::capacity_factor] : 1.0;
}
template <class S>
double BasicBatteryEkf<S>::r0_factor_sigma() const noexcept {
  return joint_ ? std::sqrt(ekf6_.covariance()(JointLayout::r0_factor, JointLayout::r0_factor)) : 0.0;
}
template <class S>
double BasicBatteryEkf<S>::capacity_factor_sigma() const noexcept {
  return joint_ ? std::sqrt(ekf6_.covariance()(JointLayout::capacity_factor, JointLayout::capacity_factor)) : 0.0;
}

template <class S>
double BasicBatteryEkf<S>::r0_ohm() const noexcept {
  const StateVector x = state();
  return battery::r0_at(config_.cell, x[S::soc], x[S::temp], false, battery::ModelFactors<double>{}, 0.0) * r0_factor();
}

template <class S>
double BasicBatteryEkf<S>::capacity_ah() const noexcept {
  return config_.cell.capacity_ah * capacity_factor();
}

template <class S>
const typename BasicBatteryEkf<S>::Report& BasicBatteryEkf<S>::report() const noexcept {
  return joint_ ? ekf6_.report() : ekf4_.report();
}

template <class S>
double BasicBatteryEkf<S>::gate_threshold() const noexcept {
  return ekf4_.gate_threshold(1);
}

}  // namespace safetwin::estimation
