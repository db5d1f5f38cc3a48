#include "safetwin/control/charge_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::control {

void ChargeLoopConfig::validate() const {
  require_positive("ChargeLoopConfig.dt_s", dt_s);
  require_in_range("ChargeLoopConfig.soc_stop", soc_stop, 0.0, 1.0);
  require_positive("ChargeLoopConfig.max_time_s", max_time_s);
  if (!covariance.allFinite()) throw_invalid("ChargeLoopConfig.covariance", "must be finite");
}

Status run_charge_loop(battery::Cell& plant, Controller& controller, const ChargeLoopConfig& config,
                       std::size_t max_steps, const ChargeTrace& trace, ChargeLoopResult* result) noexcept {
  if (result == nullptr || !(config.dt_s > 0.0) || !std::isfinite(config.dt_s)) return Status::invalid_argument;
  *result = ChargeLoopResult{};
  const auto& lim = plant.pack().params().limits;
  ControllerInput in;
  in.dt_s = config.dt_s;
  in.P = config.covariance;
  in.current_min_a = -lim.charge_current_max_a;
  in.current_max_a = lim.discharge_current_max_a;
  ControllerOutput out;
  double last_current = 0.0;
  std::size_t k = 0;
  for (; k < max_steps && static_cast<double>(k) * config.dt_s < config.max_time_s; ++k) {
    const battery::CellState& s = plant.state();
    in.time_s = static_cast<double>(k) * config.dt_s;
    in.x << s.soc, s.v1_v, s.v2_v, s.temp_k;
    in.last_current_a = last_current;
    const auto t0 = std::chrono::steady_clock::now();
    out.decision = Decision::applied;  // a law that does not set it has applied its own output
    const Status st = controller.compute(in, out);
    const auto t1 = std::chrono::steady_clock::now();
    if (st != Status::ok || out.decision != Decision::applied) ++result->non_ok_steps;
    if (!std::isfinite(out.current_a)) {
      result->steps = k;
      return Status::non_finite_input;
    }
    const double soc_before = s.soc;
    double voltage = 0.0;
    const Status ps = plant.step(out.current_a, config.dt_s, &voltage);
    if (ps != Status::ok) {
      result->steps = k;
      return ps;
    }
    last_current = out.current_a;
    const battery::CellState& after = plant.state();
    if (trace.current_a != nullptr) trace.current_a[k] = out.current_a;
    if (trace.voltage_v != nullptr) trace.voltage_v[k] = voltage;
    if (trace.temp_k != nullptr) trace.temp_k[k] = after.temp_k;
    if (trace.soc != nullptr) trace.soc[k] = after.soc;
    if (trace.solve_time_s != nullptr) trace.solve_time_s[k] = std::chrono::duration<double>(t1 - t0).count();
    if (trace.iterations != nullptr) trace.iterations[k] = out.iterations;
    if (trace.status != nullptr) trace.status[k] = static_cast<std::uint8_t>(st);
    if (trace.decision != nullptr) trace.decision[k] = static_cast<std::uint8_t>(out.decision);
    if (after.soc >= config.soc_stop) {
      // SOC is linear in time within a step (constant current): interpolate the crossing.
      const double frac = (config.soc_stop - soc_before) / (after.soc - soc_before);
      result->reached = true;
      result->time_to_stop_s = (static_cast<double>(k) + std::clamp(frac, 0.0, 1.0)) * config.dt_s;
      ++k;
      break;
    }
  }
  result->steps = k;
  return Status::ok;
}

}  // namespace safetwin::control
