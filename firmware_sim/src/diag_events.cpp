#include "diag_events.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/cycle/pack_cycle.hpp"
#include "safetwin/diagnostics/score_replay.hpp"
#include "safetwin/validate.hpp"

namespace safetwin::firmware {

namespace {
constexpr int kTemperatureChannel = 2;
constexpr double kMinBalanceS = 600.0;  // the BatteryEkf's channels: voltage_a, voltage_b, temperature

// Median of the first n values of a (a copy is partially sorted; n <= kMaxCells).
double median(const std::array<double, kMaxCells>& a, std::size_t n) noexcept {
  std::array<double, kMaxCells> s = a;
  const std::size_t h = n / 2;
  std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(h), s.begin() + static_cast<std::ptrdiff_t>(n));
  const double hi = s[h];
  if (n % 2 == 1) return hi;
  return 0.5 * (hi + *std::max_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(h)));
}
}  // namespace

void DiagConfig::validate() const {
  require_non_negative("DiagConfig.anomaly_threshold", anomaly_threshold);
  require_positive("DiagConfig.rest_current_a", rest_current_a);
  require_positive("DiagConfig.rest_min_s", rest_min_s);
  require_positive("DiagConfig.short_leak_a", short_leak_a);
  require_positive("DiagConfig.resistance_window_s", resistance_window_s);
  require_positive("DiagConfig.min_current_sd_a", min_current_sd_a);
  require_positive("DiagConfig.resistance_step_ohm", resistance_step_ohm);
  require_positive("DiagConfig.sensor_step_v", sensor_step_v);
  require_positive("DiagConfig.cooling_window_s", cooling_window_s);
  require_positive("DiagConfig.cooling_z", cooling_z);
  require_positive("DiagConfig.debounce_s", debounce_s);
}

DiagEvents::DiagEvents(const DiagConfig& config, std::size_t groups, double group_capacity_ah)
    : config_((config.validate(), config)), n_(std::min(groups, kMaxCells)), capacity_as_(group_capacity_ah * 3600.0) {
  require_positive("DiagEvents.group_capacity_ah", group_capacity_ah);
}

void DiagEvents::raise(DiagCode c, std::size_t group_1based) noexcept {
  const std::uint32_t b = 1u << bit(c);
  if (active_ & b) return;
  active_ |= b;
  if (n_events_ < events_.size()) events_[n_events_++] = DiagEvent{c, static_cast<std::uint8_t>(group_1based)};
}

void DiagEvents::step(const Measurements& m, const cycle::PackCycle& pack, double cell_current_a,
                      double dt_s) noexcept {
  n_events_ = 0;
  if (!config_.enabled || n_ < 2 || !(dt_s > 0.0) || !std::isfinite(cell_current_a)) return;
  std::array<double, kMaxCells> v{}, soc{};
  for (std::size_t g = 0; g < n_; ++g) {
    v[g] = m.cell_voltage_v[g];
    soc[g] = pack.group(g).estimator().soc();
    if (!std::isfinite(v[g]) || !std::isfinite(soc[g])) return;  // a missing value: skip the cycle
  }
  const double v_med = median(v, n_), soc_med = median(soc, n_);
  const bool rest = std::fabs(m.pack_current_a) < config_.rest_current_a;

  // Internal short: charge balance over the rest, from rest_min_s after it began.
  rest_s_ = rest ? rest_s_ + dt_s : 0.0;
  if (rest_s_ < config_.rest_min_s) {
    s1_ = stt_ = sum_t_ = 0.0;
    st_.fill(0.0);
    sy_.fill(0.0);
    sty_.fill(0.0);
    leak_a_.fill(0.0);
    short_s_.fill(0.0);
  } else {
    const double t = rest_s_ - config_.rest_min_s;
    s1_ += 1.0;
    sum_t_ += t;
    stt_ += t * t;
    const double den = s1_ * stt_ - sum_t_ * sum_t_;
    for (std::size_t g = 0; g < n_; ++g) {
      const double y = soc[g] - soc_med;
      sy_[g] += y;
      sty_[g] += t * y;
      // A slope needs a spread of times: 10 minutes of balance (at 60 samples a nominal resting
      // pack showed 'leaks' past 20 mA from the estimators' noise).
      leak_a_[g] = t >= kMinBalanceS && den > 0.0 ? -capacity_as_ * (s1_ * sty_[g] - sum_t_ * sy_[g]) / den : 0.0;
      short_s_[g] = leak_a_[g] > config_.short_leak_a ? short_s_[g] + dt_s : 0.0;
      if (short_s_[g] >= config_.debounce_s - 1e-9) raise(DiagCode::internal_short, g + 1);
    }
  }

  // Connection resistance: (v_g - median) against the cell current, exponentially weighted.
  const double lam = std::exp(-dt_s / config_.resistance_window_s);
  w_ = lam * w_ + 1.0;
  wi_ = lam * wi_ + cell_current_a;
  wii_ = lam * wii_ + cell_current_a * cell_current_a;
  const double mean_i = wi_ / w_;
  const double var_i = wii_ / w_ - mean_i * mean_i;
  const bool excited = var_i >= config_.min_current_sd_a * config_.min_current_sd_a;
  for (std::size_t g = 0; g < n_; ++g) {
    const double d = v[g] - v_med;
    wd_[g] = lam * wd_[g] + d;
    wid_[g] = lam * wid_[g] + cell_current_a * d;
    // Voltage falls with discharge current (> 0): a higher resistance makes the slope more negative.
    r_ohm_[g] = excited ? -(wid_[g] / w_ - mean_i * wd_[g] / w_) / var_i : 0.0;
    resistance_s_[g] = r_ohm_[g] > config_.resistance_step_ohm ? resistance_s_[g] + dt_s : 0.0;
    if (resistance_s_[g] >= config_.debounce_s - 1e-9) raise(DiagCode::connection_resistance, g + 1);
  }

  // Sensor fault: a step of (v_g - median) between two reports at rest.
  const bool rest_both = rest && have_last_ && std::fabs(last_i_) < config_.rest_current_a;
  for (std::size_t g = 0; g < n_; ++g) {
    if (m.has_freshness && !m.cell_voltage_fresh[g]) continue;  // a held report did not move
    const double d = v[g] - v_med;
    if (rest_both && std::fabs(d - last_d_[g]) > config_.sensor_step_v) raise(DiagCode::sensor_fault, g + 1);
    last_d_[g] = d;
  }
  have_last_ = true;
  last_i_ = m.pack_current_a;

  // Cooling loss: the groups' whitened temperature innovations, averaged, then over time.
  double z_sum = 0.0;
  int z_n = 0;
  for (std::size_t g = 0; g < n_; ++g) {
    const diagnostics::Innovations in = diagnostics::innovations_of(pack.group(g).estimator(), dt_s);
    const double y = in.innovation[kTemperatureChannel], s = in.variance[kTemperatureChannel];
    if (!in.evaluated[kTemperatureChannel] || !std::isfinite(y) || !(s > 0.0)) continue;
    z_sum += y / std::sqrt(s);
    ++z_n;
  }
  if (z_n > 0) {
    const double a = 1.0 - std::exp(-dt_s / config_.cooling_window_s);
    cooling_mean_ += a * (z_sum / z_n - cooling_mean_);
    cooling_s_ = cooling_mean_ > config_.cooling_z ? cooling_s_ + dt_s : 0.0;
    if (cooling_s_ >= config_.debounce_s - 1e-9) raise(DiagCode::cooling_loss, 0);
  }
}

}  // namespace safetwin::firmware
