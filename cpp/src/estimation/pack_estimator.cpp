#include "safetwin/estimation/pack_estimator.hpp"

#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::estimation {

PackEstimator::PackEstimator(const BatteryEkfConfig& config, std::size_t groups) {
  if (groups < 1) throw_invalid("PackEstimator.groups", static_cast<double>(groups), "must be >= 1");
  groups_.reserve(groups);
  for (std::size_t i = 0; i < groups; ++i) groups_.emplace_back(config);
}

PackEstimator::PackEstimator(const std::vector<BatteryEkfConfig>& per_group) {
  if (per_group.empty()) throw_invalid("PackEstimator.per_group", "must hold at least one configuration");
  groups_.reserve(per_group.size());
  for (const auto& c : per_group) groups_.emplace_back(c);
}

Status PackEstimator::check(const double* current_a, std::size_t current_count, std::size_t count,
                            double dt_s) const noexcept {
  if (count != groups_.size() || current_a == nullptr) return Status::invalid_argument;
  if (current_count != 1 && current_count != count) return Status::invalid_argument;
  if (!std::isfinite(dt_s)) return Status::non_finite_input;
  if (!(dt_s > 0.0)) return Status::invalid_argument;
  for (std::size_t i = 0; i < current_count; ++i)
    if (!std::isfinite(current_a[i])) return Status::non_finite_input;
  return Status::ok;
}

Status PackEstimator::step(const double* current_a, std::size_t current_count, const double* voltage_a_v,
                           const double* voltage_b_v, const double* temperature_k, std::size_t count, double dt_s,
                           Status* status_out) noexcept {
  // Check everything first, so that a refused call steps no group at all.
  const Status ok = check(current_a, current_count, count, dt_s);
  if (ok != Status::ok) return ok;
  Status result = Status::ok;
  for (std::size_t i = 0; i < count; ++i) {
    Measurement z;
    z.voltage_a_valid = voltage_a_v != nullptr;
    z.voltage_b_valid = voltage_b_v != nullptr;
    z.temperature_valid = temperature_k != nullptr;
    if (z.voltage_a_valid) z.voltage_a_v = voltage_a_v[i];
    if (z.voltage_b_valid) z.voltage_b_v = voltage_b_v[i];
    if (z.temperature_valid) z.temperature_k = temperature_k[i];
    const Status st = groups_[i].step(current_a[current_count == 1 ? 0 : i], z, dt_s);
    if (status_out != nullptr) status_out[i] = st;
    if (st != Status::ok && result == Status::ok) result = st;
  }
  return result;
}

Status PackEstimator::step(const double* current_a, std::size_t current_count, const Measurement* z, std::size_t count,
                           double dt_s, Status* status_out) noexcept {
  const Status ok = check(current_a, current_count, count, dt_s);
  if (ok != Status::ok) return ok;
  if (z == nullptr) return Status::invalid_argument;
  Status result = Status::ok;
  for (std::size_t i = 0; i < count; ++i) {
    const Status st = groups_[i].step(current_a[current_count == 1 ? 0 : i], z[i], dt_s);
    if (status_out != nullptr) status_out[i] = st;
    if (st != Status::ok && result == Status::ok) result = st;
  }
  return result;
}

void PackEstimator::read(double* soc, double* soc_sigma, double* v1_v, double* v2_v, double* temp_k, double* nis,
                         double* r0_ohm, double* capacity_ah) const noexcept {
  for (std::size_t i = 0; i < groups_.size(); ++i) {
    const BatteryEkf& g = groups_[i];
    const battery::StateVector x = g.state();
    if (soc != nullptr) soc[i] = x[battery::StateIdx::soc];
    if (soc_sigma != nullptr) soc_sigma[i] = g.soc_sigma();
    if (v1_v != nullptr) v1_v[i] = x[battery::StateIdx::v_rc1];
    if (v2_v != nullptr) v2_v[i] = x[battery::StateIdx::v_rc2];
    if (temp_k != nullptr) temp_k[i] = x[battery::StateIdx::temp];
    if (nis != nullptr) nis[i] = g.nis();
    if (r0_ohm != nullptr) r0_ohm[i] = g.r0_ohm();
    if (capacity_ah != nullptr) capacity_ah[i] = g.capacity_ah();
  }
}

const BatteryEkf& PackEstimator::at(std::size_t i) const {
  if (i >= groups_.size())
    throw_invalid("PackEstimator.at.index", static_cast<double>(i),
                  "must be < size() = " + std::to_string(groups_.size()));
  return groups_[i];
}

BatteryEkf& PackEstimator::at(std::size_t i) {
  return const_cast<BatteryEkf&>(static_cast<const PackEstimator&>(*this).at(i));
}

}  // namespace safetwin::estimation
