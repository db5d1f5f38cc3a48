#include "safetwin/estimation/replay.hpp"

#include <cmath>
#include <limits>

namespace safetwin::estimation {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}  // namespace

template <class S>
Status replay(BasicBatteryEkf<S>& ekf, const ReplayInput& in, const ReplayOutput& out,
              ReplaySummary* summary) noexcept {
  if (in.n > 0 && (in.t_s == nullptr || in.current_a == nullptr)) return Status::invalid_argument;
  for (std::size_t k = 0; k < in.n; ++k) {
    if (!std::isfinite(in.t_s[k])) return Status::invalid_argument;
    if (k > 0 && !(in.t_s[k] > in.t_s[k - 1])) return Status::invalid_argument;
  }
  ReplaySummary s{};
  double held_current_a = 0.0;
  for (std::size_t k = 0; k < in.n; ++k) {
    Measurement z;
    std::uint8_t missing = 0;
    const auto channel = [&](const double* col, double& value, bool& valid, Channel c) {
      if (col == nullptr) return;
      value = col[k];
      valid = std::isfinite(value);
      if (!valid) missing |= static_cast<std::uint8_t>(1u << static_cast<int>(c));
    };
    channel(in.voltage_a_v, z.voltage_a_v, z.voltage_a_valid, Channel::voltage_a);
    channel(in.voltage_b_v, z.voltage_b_v, z.voltage_b_valid, Channel::voltage_b);
    channel(in.temperature_k, z.temperature_k, z.temperature_valid, Channel::temperature);
    double current = in.current_a[k];
    if (!std::isfinite(current)) {
      missing |= kMissingCurrentBit;
      current = held_current_a;
      z.voltage_a_valid = z.voltage_b_valid = z.temperature_valid = false;
    }
    held_current_a = current;
    // The first row's dt is never used (no prediction before the first sample); 1 s keeps it valid.
    const double dt = k > 0 ? in.t_s[k] - in.t_s[k - 1] : 1.0;
    if (ekf.step(current, z, dt) == Status::numerical_error) ++s.numerical_errors;

    const typename BasicBatteryEkf<S>::Report& r = ekf.report();
    std::uint8_t gated = 0;
    for (int c = 0; c < kChannelCount; ++c)
      if (r.channel.flags[c] & channel_flag::gated) gated |= static_cast<std::uint8_t>(1u << c);
    if (missing != 0) ++s.rows_with_missing;
    if (gated != 0) ++s.rows_gated;
    const typename BasicBatteryEkf<S>::StateVector x = ekf.state();
    if (out.soc != nullptr) out.soc[k] = x[S::soc];
    if (out.soc_sigma != nullptr) out.soc_sigma[k] = ekf.soc_sigma();
    if (out.v1_v != nullptr) out.v1_v[k] = x[S::v_rc(0)];
    if (out.v2_v != nullptr) {
      if constexpr (S::rc_pairs >= 2)
        out.v2_v[k] = x[S::v_rc(1)];
      else
        out.v2_v[k] = kNaN;
    }
    if (out.temp_k != nullptr) out.temp_k[k] = x[S::temp];
    if (out.state != nullptr)
      for (int i = 0; i < S::size; ++i) out.state[k * S::size + static_cast<std::size_t>(i)] = x[i];
    if (out.r0_ohm != nullptr) out.r0_ohm[k] = ekf.r0_ohm();
    if (out.capacity_ah != nullptr) out.capacity_ah[k] = ekf.capacity_ah();
    if (out.nis != nullptr) out.nis[k] = r.nis;
    if (out.innovation_v != nullptr) out.innovation_v[k] = r.channel.innovation[static_cast<int>(Channel::voltage_a)];
    if (out.gated != nullptr) out.gated[k] = gated;
    if (out.missing != nullptr) out.missing[k] = missing;
  }
  if (summary != nullptr) *summary = s;
  return Status::ok;
}

#define SAFETWIN_REPLAY_INSTANCE(NRC, HYST)                                                                            \
  template Status replay(BasicBatteryEkf<battery::CellStructure<NRC, HYST>>&, const ReplayInput&, const ReplayOutput&, \
                         ReplaySummary*) noexcept;
SAFETWIN_REPLAY_INSTANCE(1, false)
SAFETWIN_REPLAY_INSTANCE(1, true)
SAFETWIN_REPLAY_INSTANCE(2, false)
SAFETWIN_REPLAY_INSTANCE(2, true)
SAFETWIN_REPLAY_INSTANCE(3, false)
SAFETWIN_REPLAY_INSTANCE(3, true)
#undef SAFETWIN_REPLAY_INSTANCE

}  // namespace safetwin::estimation

namespace safetwin::estimation {

Status replay_pack(PackEstimator& pack, const PackReplayInput& in, const PackReplayOutput& out,
                   std::size_t* numerical_errors) noexcept {
  const std::size_t g = pack.size();
  if (in.n > 0 && (in.t_s == nullptr || in.current_a == nullptr)) return Status::invalid_argument;
  if (in.current_stride != 1 && in.current_stride != g) return Status::invalid_argument;
  for (std::size_t k = 0; k < in.n; ++k) {
    if (!std::isfinite(in.t_s[k]) || (k > 0 && !(in.t_s[k] > in.t_s[k - 1]))) return Status::invalid_argument;
    for (std::size_t j = 0; j < in.current_stride; ++j)
      if (!std::isfinite(in.current_a[k * in.current_stride + j])) return Status::non_finite_input;
  }
  std::size_t errors = 0;
  const auto row = [&](const double* p, std::size_t k) { return p == nullptr ? nullptr : p + k * g; };
  for (std::size_t k = 0; k < in.n; ++k) {
    const double dt = k > 0 ? in.t_s[k] - in.t_s[k - 1] : 1.0;  // first row: no prediction
    const Status st = pack.step(in.current_a + k * in.current_stride, in.current_stride, row(in.voltage_a_v, k),
                                row(in.voltage_b_v, k), row(in.temperature_k, k), g, dt);
    if (st == Status::numerical_error) ++errors;
    pack.read(out.soc ? out.soc + k * g : nullptr, out.soc_sigma ? out.soc_sigma + k * g : nullptr, nullptr, nullptr,
              out.temp_k ? out.temp_k + k * g : nullptr, out.nis ? out.nis + k * g : nullptr);
  }
  if (numerical_errors != nullptr) *numerical_errors = errors;
  return Status::ok;
}

}  // namespace safetwin::estimation
