#pragma once
// A generic extended Kalman filter with sizes fixed at compile time: NX states, NZ measurement
// channels. The model is handed in as callables that return the prediction (or the predicted
// measurement) together with its Jacobian, so one filter serves every model of the core.
//
// What it does beyond the textbook EKF, all without heap allocation or exceptions after
// construction:
//  - Joseph-form covariance update, P = (I-KH) P (I-KH)' + K R K', symmetrised after every step;
//    it stays valid for any gain, including one with rows switched off (gain_row_mask).
//  - Missing samples: a channel not in the valid mask (or with a non-finite value) is skipped.
//    Skipping is exact: its row of H is zeroed, so its column of K is zero.
//  - Per-channel chi-square gate: channel i is rejected when y_i^2 / S_ii exceeds the 1-dof
//    quantile of the configured probability (precomputed at construction); S_ii may use its own
//    measurement variance (r_gate). The report says which
//    channel was gated and why (flags), with its innovation, variance and normalised innovation.
//  - Noise scaling per channel, R_eff = R * s with s >= 1 (one entry point: set_noise_scale).
//  - Covariance health: after predict and update, P must be finite and positive definite (a
//    Cholesky factorisation succeeds). Otherwise P is re-initialised from the last healthy
//    covariance, the report is flagged covariance_recovered and the call returns numerical_error.
#include <Eigen/Core>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "safetwin/estimation/chi_square.hpp"
#include "safetwin/estimation/small_cholesky.hpp"
#include "safetwin/status.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::estimation {

// Per-channel flags of one update (a bit set).
namespace channel_flag {
constexpr std::uint8_t used = 1u << 0;        // the measurement was fused
constexpr std::uint8_t missing = 1u << 1;     // not in the valid mask: skipped (no innovation)
constexpr std::uint8_t non_finite = 1u << 2;  // marked valid but NaN/inf: skipped (no innovation)
constexpr std::uint8_t gated = 1u << 3;       // rejected by the chi-square gate (innovation reported)
constexpr std::uint8_t gate_reset = 1u << 4;  // fused although outside the gate: the channel had been
                                              // gated gate_reset_after times in a row (lock-out recovery)
}  // namespace channel_flag

// Filter-level flags of the last call (a bit set).
namespace filter_flag {
constexpr std::uint32_t covariance_recovered = 1u << 0;  // P failed the health check: last healthy P restored
constexpr std::uint32_t model_failed = 1u << 1;          // the model returned false or non-finite values
constexpr std::uint32_t innovation_singular = 1u << 2;   // S could not be factorised: no update made
}  // namespace filter_flag

template <int NZ>
struct ChannelReport {
  std::array<double, NZ> innovation{};           // y_i = z_i - h_i(x) (0 when missing)
  std::array<double, NZ> innovation_variance{};  // S_ii (0 when missing)
  std::array<double, NZ> nis{};                  // y_i^2 / S_ii (0 when missing)
  std::array<std::uint8_t, NZ> flags{};          // channel_flag bits
};

// What the last predict + update did (predict starts a fresh report; update fills the channels).
template <int NZ>
struct UpdateReport {
  ChannelReport<NZ> channel{};
  double nis = 0.0;         // joint NIS y' S^-1 y over the fused channels (chi-square, `fused` dof)
  int fused = 0;            // number of channels fused
  std::uint32_t flags = 0;  // filter_flag bits
  [[nodiscard]] bool any_gated() const noexcept {
    for (auto f : channel.flags)
      if (f & channel_flag::gated) return true;
    return false;
  }
};

template <int NX, int NZ>
class Ekf {
  static_assert(NX >= 1 && NZ >= 1 && NZ <= 32, "Ekf sizes: NX >= 1, 1 <= NZ <= 32");

 public:
  using StateVector = Eigen::Matrix<double, NX, 1>;
  using StateMatrix = Eigen::Matrix<double, NX, NX>;
  using MeasVector = Eigen::Matrix<double, NZ, 1>;
  using MeasMatrix = Eigen::Matrix<double, NZ, NZ>;
  using ObsMatrix = Eigen::Matrix<double, NZ, NX>;
  using GainMatrix = Eigen::Matrix<double, NX, NZ>;
  using ChannelMask = std::uint32_t;  // bit i: channel i holds a sample
  static constexpr ChannelMask kAllChannels = (NZ == 32) ? 0xFFFFFFFFu : ((1u << NZ) - 1u);

  struct Config {
    StateVector x0 = StateVector::Zero();
    StateMatrix p0 = StateMatrix::Identity();
    MeasVector r = MeasVector::Ones();  // measurement noise variance of each channel (diagonal R)
    double gate_probability = 0.9999;   // chi-square gate per channel; 1 turns the gate off
    // Lock-out recovery: after this many consecutive gated samples of a channel, its next sample
    // is fused whatever its innovation (flagged gate_reset), so that an estimate that has drifted
    // out of the gate can come back (as PX4's EKF resets after a run of failed checks). A single
    // outlier stays rejected. 0: never (a channel may then stay locked out).
    int gate_reset_after = 0;
  };

  // Validates (x0 finite, p0 symmetric positive definite, r > 0, probability in (0, 1]) and
  // precomputes the gate quantiles. Throws std::invalid_argument naming the field.
  explicit Ekf(const Config& c) {
    for (int i = 0; i < NX; ++i) require_finite("Ekf.x0[" + std::to_string(i) + "]", c.x0[i]);
    for (int i = 0; i < NZ; ++i) require_positive("Ekf.r[" + std::to_string(i) + "]", c.r[i]);
    check_covariance("Ekf.p0", c.p0);
    for (int d = 1; d <= NZ; ++d) quantile_[d - 1] = chi_square_quantile(c.gate_probability, d);
    if (c.gate_reset_after < 0) throw_invalid("Ekf.gate_reset_after", c.gate_reset_after, "must be >= 0");
    gate_reset_after_ = c.gate_reset_after;
    gate_probability_ = c.gate_probability;
    x_ = c.x0;
    p_ = 0.5 * (c.p0 + c.p0.transpose());
    healthy_p_ = p_;
    r_ = c.r;
    scale_.setOnes();
  }

  // Throws unless p is finite, symmetric (relative 1e-9) and positive definite.
  static void check_covariance(const std::string& field, const StateMatrix& p) {
    if (!p.allFinite()) throw_invalid(field, "must be finite");
    const double tol = 1e-9 * std::max(1.0, p.cwiseAbs().maxCoeff());
    if (!((p - p.transpose()).cwiseAbs().maxCoeff() <= tol)) throw_invalid(field, "must be symmetric");
    if (!is_positive_definite(p)) throw_invalid(field, "must be positive definite");
  }

  // Re-initialise (configuration call: validates, throws naming the field, leaves the filter
  // unchanged on refusal).
  void reset(const StateVector& x, const StateMatrix& p) {
    for (int i = 0; i < NX; ++i) require_finite("Ekf.reset.x[" + std::to_string(i) + "]", x[i]);
    check_covariance("Ekf.reset.p", p);
    (void)try_reset(x, p);
  }

  // Re-initialise on a step path: the checks of reset() as a status, no allocation, no exception.
  // non_finite_input for a NaN/inf in x or p, invalid_argument for a p that is not symmetric
  // positive definite; the filter is unchanged on refusal.
  [[nodiscard]] Status try_reset(const StateVector& x, const StateMatrix& p) noexcept {
    if (!x.allFinite() || !p.allFinite()) return Status::non_finite_input;
    const double tol = 1e-9 * std::max(1.0, p.cwiseAbs().maxCoeff());
    if (!((p - p.transpose()).cwiseAbs().maxCoeff() <= tol) || !is_positive_definite(p))
      return Status::invalid_argument;
    x_ = x;
    p_ = 0.5 * (p + p.transpose());
    healthy_p_ = p_;
    report_ = UpdateReport<NZ>{};
    gated_run_.fill(0);
    return Status::ok;
  }

  // Time update. model(x, x_next, F, Q) -> bool fills the predicted state, its Jacobian and the
  // process noise; it must not allocate or throw. Returns numerical_error (state unchanged, flag
  // model_failed) if the model fails or returns non-finite values.
  template <class Model>
  [[nodiscard]] Status predict(Model&& model) noexcept {
    report_ = UpdateReport<NZ>{};  // a new cycle: the report covers this predict and the next update
    StateVector xn;
    StateMatrix f, q;
    if (!model(x_, xn, f, q) || !xn.allFinite() || !f.allFinite() || !q.allFinite()) {
      report_.flags |= filter_flag::model_failed;
      return Status::numerical_error;
    }
    x_ = xn;
    p_ = f * p_ * f.transpose() + q;
    return finish_covariance(x_);
  }

  // Measurement update. obs(x, z_pred, H) -> bool fills the predicted measurement and its
  // Jacobian. valid: bit i set when channel i holds a sample. gain_row_mask (optional): 1 keeps
  // row j of the gain, 0 holds state j (its value does not move; Joseph form keeps P right).
  // r_step (optional): this step's base variances instead of the configured R (e.g. when they
  // depend on the step size); r_gate (optional): base variances used in the gate's S_ii instead
  // (e.g. the per-sample error where r_step is inflated for time-correlated errors). The noise
  // scales apply to both. Returns ok when the update ran (whether or not channels were gated: see
  // report()), numerical_error when the model or the covariance failed (then x is unchanged and P
  // is the last healthy one).
  template <class Obs>
  [[nodiscard]] Status update(const MeasVector& z, ChannelMask valid, Obs&& obs,
                              const StateVector* gain_row_mask = nullptr, const MeasVector* r_step = nullptr,
                              const MeasVector* r_gate = nullptr) noexcept {
    report_.channel = ChannelReport<NZ>{};
    report_.nis = 0.0;
    report_.fused = 0;
    MeasVector zp;
    ObsMatrix h;
    if (!obs(x_, zp, h) || !zp.allFinite() || !h.allFinite()) {
      report_.flags |= filter_flag::model_failed;
      return Status::numerical_error;
    }
    const MeasVector r_eff = (r_step != nullptr ? *r_step : r_).cwiseProduct(scale_);
    const MeasVector r_gate_eff = r_gate != nullptr ? MeasVector(r_gate->cwiseProduct(scale_)) : r_eff;
    const Eigen::Matrix<double, NX, NZ> pht = p_ * h.transpose();
    // Per-channel gate on the marginal innovation variance S_ii = H_i P H_i' + R_ii.
    MeasVector y = MeasVector::Zero();
    ObsMatrix hm = ObsMatrix::Zero();
    int fused = 0;
    for (int i = 0; i < NZ; ++i) {
      auto& ch = report_.channel;
      if (!(valid & (1u << i))) {
        ch.flags[i] = channel_flag::missing;
        continue;
      }
      if (!std::isfinite(z[i])) {
        ch.flags[i] = channel_flag::non_finite;
        continue;
      }
      const double yi = z[i] - zp[i];
      const double hph = h.row(i).dot(pht.col(i));
      const double si = hph + r_eff[i];
      ch.innovation[i] = yi;
      ch.innovation_variance[i] = si;
      ch.nis[i] = yi * yi / si;
      if (!(yi * yi / (hph + r_gate_eff[i]) <= quantile_[0])) {
        if (gate_reset_after_ == 0 || gated_run_[i] < gate_reset_after_) {
          ch.flags[i] = channel_flag::gated;
          ++gated_run_[i];
          continue;
        }
        ch.flags[i] = channel_flag::gate_reset;
      }
      gated_run_[i] = 0;
      ch.flags[i] |= channel_flag::used;
      y[i] = yi;
      hm.row(i) = h.row(i);
      ++fused;
    }
    report_.fused = fused;
    if (fused == 0) return Status::ok;

    // Skipped channels have zero rows in hm: S is block diagonal, their gain columns are zero.
    // P Hm' is P H' with the columns of skipped channels zeroed (no second product).
    Eigen::Matrix<double, NX, NZ> phm = pht;
    for (int i = 0; i < NZ; ++i)
      if (!(report_.channel.flags[i] & channel_flag::used)) phm.col(i).setZero();
    MeasMatrix s = hm * phm;
    s.diagonal() += r_eff;
    MeasMatrix l, s_inv;
    if (!cholesky_factor<NZ>(s, l)) {
      report_.flags |= filter_flag::innovation_singular;
      return Status::numerical_error;
    }
    spd_inverse<NZ>(l, s_inv);
    GainMatrix k = phm * s_inv;  // K = P H' S^-1 (S symmetric positive definite, checked above)
    if (gain_row_mask != nullptr) k = gain_row_mask->asDiagonal() * k;
    report_.nis = y.dot(s_inv * y);
    const StateVector x_prior = x_;
    x_ += k * y;
    const StateMatrix ikh = StateMatrix::Identity() - k * hm;
    p_ = ikh * p_ * ikh.transpose() + k * r_eff.asDiagonal() * k.transpose();
    const Status st = finish_covariance(x_);
    if (st != Status::ok) x_ = x_prior;
    return st;
  }

  // R_eff = R * s for one channel, s >= 1. Refuses s < 1 (invalid_argument), NaN or infinity
  // (non_finite_input) or a channel out of range (invalid_argument), leaving the scale unchanged.
  [[nodiscard]] Status set_noise_scale(int channel, double s) noexcept {
    if (channel < 0 || channel >= NZ) return Status::invalid_argument;
    if (!std::isfinite(s)) return Status::non_finite_input;
    if (!(s >= 1.0)) return Status::invalid_argument;
    scale_[channel] = s;
    return Status::ok;
  }
  [[nodiscard]] double noise_scale(int channel) const noexcept {
    return (channel >= 0 && channel < NZ) ? scale_[channel] : std::numeric_limits<double>::quiet_NaN();
  }

  // Sets one state component (used by callers that project a bounded state back into its range).
  // Refuses an index out of range or a non-finite value.
  [[nodiscard]] Status set_state_component(int i, double value) noexcept {
    if (i < 0 || i >= NX) return Status::invalid_argument;
    if (!std::isfinite(value)) return Status::non_finite_input;
    x_[i] = value;
    return Status::ok;
  }

  [[nodiscard]] const StateVector& state() const noexcept { return x_; }
  [[nodiscard]] const StateMatrix& covariance() const noexcept { return p_; }
  [[nodiscard]] const UpdateReport<NZ>& report() const noexcept { return report_; }
  [[nodiscard]] const MeasVector& measurement_noise() const noexcept { return r_; }
  [[nodiscard]] double gate_probability() const noexcept { return gate_probability_; }
  // chi-square quantile of the gate probability for dof = 1..NZ (the per-channel gate uses dof 1).
  [[nodiscard]] double gate_threshold(int dof = 1) const noexcept {
    return (dof >= 1 && dof <= NZ) ? quantile_[dof - 1] : std::numeric_limits<double>::quiet_NaN();
  }

  [[nodiscard]] static bool is_positive_definite(const StateMatrix& p) noexcept {
    return p.allFinite() && estimation::is_positive_definite<NX>(p);
  }

 private:
  // Symmetrise, then check health; on failure fall back to the last healthy covariance.
  [[nodiscard]] Status finish_covariance(const StateVector& x) noexcept {
    // Into a temporary first: p_ = p_ + p_.transpose() would alias (Eigen writes while it reads).
    const StateMatrix sym = 0.5 * (p_ + p_.transpose());
    p_ = sym;
    if (x.allFinite() && is_positive_definite(p_)) {
      healthy_p_ = p_;
      return Status::ok;
    }
    p_ = healthy_p_;
    report_.flags |= filter_flag::covariance_recovered;
    return Status::numerical_error;
  }

  StateVector x_;
  StateMatrix p_;
  StateMatrix healthy_p_;  // last covariance that passed the health check
  MeasVector r_;
  MeasVector scale_;
  std::array<double, NZ> quantile_{};
  std::array<int, NZ> gated_run_{};  // consecutive gated samples per channel
  int gate_reset_after_ = 0;
  double gate_probability_ = 1.0;
  UpdateReport<NZ> report_{};
};

}  // namespace safetwin::estimation
