#pragma once
// One BatteryEkf per cell or parallel group of a pack, stepped together in one call.
// Timing: step() once per sample of the pack (irregular dt_s allowed), as BatteryEkf::step.
// The step takes plain arrays (pointer + count) and allocates nothing.
#include <cstddef>
#include <vector>

#include "safetwin/estimation/battery_ekf.hpp"

namespace safetwin::estimation {

class PackEstimator {
 public:
  // `groups` identical estimators (each its own copy of the configuration).
  PackEstimator(const BatteryEkfConfig& config, std::size_t groups);
  // One configuration per group (e.g. each group's own capacity and R0).
  explicit PackEstimator(const std::vector<BatteryEkfConfig>& per_group);

  // One sample of every group. current_a: current_count values, either 1 (the series current of
  // every group) or size() (one per group). voltage_a_v, voltage_b_v, temperature_k: size()
  // values each, or nullptr when the pack has no such channel; a NaN entry is a missing sample
  // (flagged non_finite, not fused). count must equal size(). status_out (optional, size()
  // entries) receives each group's status. Returns ok when every group stepped; otherwise the
  // first refusal (invalid_argument / non_finite_input: then nothing was stepped) or the first
  // group's numerical_error.
  [[nodiscard]] Status step(const double* current_a, std::size_t current_count, const double* voltage_a_v,
                            const double* voltage_b_v, const double* temperature_k, std::size_t count, double dt_s,
                            Status* status_out = nullptr) noexcept;
  // The same with one Measurement per group.
  [[nodiscard]] Status step(const double* current_a, std::size_t current_count, const Measurement* z, std::size_t count,
                            double dt_s, Status* status_out = nullptr) noexcept;

  // Copies per-group results into caller arrays of size() entries (each pointer may be null).
  void read(double* soc, double* soc_sigma, double* v1_v, double* v2_v, double* temp_k, double* nis,
            double* r0_ohm = nullptr, double* capacity_ah = nullptr) const noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return groups_.size(); }
  [[nodiscard]] const BatteryEkf& group(std::size_t i) const noexcept { return groups_[i]; }
  [[nodiscard]] BatteryEkf& group(std::size_t i) noexcept { return groups_[i]; }  // e.g. set_noise_scale
  [[nodiscard]] const BatteryEkf& at(std::size_t i) const;  // throws std::invalid_argument if out of range
  [[nodiscard]] BatteryEkf& at(std::size_t i);

 private:
  [[nodiscard]] Status check(const double* current_a, std::size_t current_count, std::size_t count,
                             double dt_s) const noexcept;
  std::vector<BatteryEkf> groups_;
};

}  // namespace safetwin::estimation
