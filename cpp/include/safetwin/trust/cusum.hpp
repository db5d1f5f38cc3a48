#pragma once
// Two-sided CUSUM (Page 1954) on a normalised innovation z (N(0,1) while the sensor is honest):
//   g+ <- max(0, g+ + z - k),   g- <- max(0, g- - z - k),   alarm when g+ > h or g- > h,
// and both sums restart from 0 after an alarm, so that a persistent fault alarms repeatedly
// (every alarm is one piece of evidence for the trust state).
//
// k = shift_sigma / 2 is the optimal reference for detecting a mean shift of shift_sigma (in
// units of the innovation's standard deviation). h is chosen at construction for a target
// false-alarm rate per sample (1 / ARL0) with Siegmund's approximation of the one-sided run
// length, ARL(h) = (exp(2 k b) - 2 k b - 1) / (2 k^2), b = h + 1.166, halved for two sides.
// A variance increase (noise attack) also drives g+ / g- over h: large |z| excursions
// outweigh the -k drift.
//
// Call update() once per sample; it never allocates or throws.
#include <cstdint>

namespace safetwin::trust {

struct CusumConfig {
  double shift_sigma = 1.0;        // mean shift to detect, in innovation standard deviations
  double false_alarm_rate = 1e-3;  // target alarms per sample while honest (1 / ARL0)
  void validate() const;           // throws std::invalid_argument naming the field
};

// Threshold h giving a two-sided false-alarm rate `false_alarm_rate` for reference k.
[[nodiscard]] double cusum_threshold(double k, double false_alarm_rate);
// Siegmund's approximate in-control run length of the one-sided CUSUM (k, h).
[[nodiscard]] double cusum_arl_one_sided(double k, double h) noexcept;

class Cusum {
 public:
  explicit Cusum(const CusumConfig& config = {});  // validates; throws std::invalid_argument

  // One sample. Returns true on an alarm (and restarts). A non-finite z is not a sample: the
  // sums stay unchanged and false is returned (the caller counts missing residuals).
  [[nodiscard]] bool update(double z) noexcept;
  void reset() noexcept { g_pos_ = g_neg_ = 0.0; }

  [[nodiscard]] double k() const noexcept { return k_; }
  [[nodiscard]] double h() const noexcept { return h_; }
  [[nodiscard]] double g_pos() const noexcept { return g_pos_; }
  [[nodiscard]] double g_neg() const noexcept { return g_neg_; }

 private:
  double k_;
  double h_;
  double g_pos_ = 0.0;
  double g_neg_ = 0.0;
};

}  // namespace safetwin::trust
