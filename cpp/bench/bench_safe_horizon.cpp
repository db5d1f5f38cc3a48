// The safe horizon per cell (run by benchmarks/bench_safe_horizon.py, which prints the table): the
// whole tube to the 30 s ceiling at rest (30 prediction steps, the worst case of the default
// configuration), a 10 s ceiling, a fast charge near V_max (the tube ends after a few steps), and
// the CBF filter step and the joint EKF step (6 states, the twin's own filter) in the same run as
// anchors.
#include <cmath>

#include "bench_util.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/safety/safe_horizon.hpp"

using namespace safetwin;

int main() {
  constexpr int kSamples = 20000, kBatch = 5;
  battery::StateMatrix P = battery::StateMatrix::Zero();
  P.diagonal() << 1e-4, 1e-5, 1e-5, 0.04;
  safety::TwinEstimate twin;
  twin.r0_factor_sigma = 0.05;
  twin.capacity_factor_sigma = 0.02;
  twin.model_error_v = 0.003;
  safety::SafeHorizonResult r;
  double sink = 0.0;
  const auto run = [&](const char* name, const safety::SafeHorizon& h, const battery::StateVector& x, double current) {
    const double plan[1] = {current};
    bench::report(name, bench::time_calls(
                            [&] {
                              (void)h.compute(x, P, plan, 1, twin, r);
                              sink += r.tau_s;
                            },
                            kSamples, kBatch));
  };
  safety::SafeHorizonConfig c30;
  safety::SafeHorizonConfig c10 = c30;
  c10.max_horizon_s = 10.0;
  const safety::SafeHorizon h30(c30), h10(c10);
  battery::StateVector rest, charge;
  rest << 0.5, 0.0, 0.0, 298.15;
  charge << 0.7, -0.02, -0.03, 303.15;
  run("safe_horizon_rest_30_steps", h30, rest, 0.0);
  run("safe_horizon_rest_10_steps", h10, rest, 0.0);
  run("safe_horizon_fast_charge", h30, charge, -15.0);
  std::printf("steps_fast_charge %d %d %d\n", r.steps, r.steps, r.steps);
  const safety::CbfFilter cbf{safety::CbfConfig{}};
  safety::CbfVerdict v;
  bench::report("cbf_step_anchor", bench::time_calls(
                                       [&] {
                                         (void)cbf.filter(rest, P, -5.0, 1.0, 1.0, v);
                                         sink += v.current_a;
                                       },
                                       kSamples, kBatch));
  estimation::BatteryEkfConfig ec;
  ec.soc0 = 0.5;
  ec.estimate_params = true;
  estimation::BatteryEkf ekf(ec);
  int k = 0;
  bench::report("ekf_step_joint_anchor",
                bench::time_calls(
                    [&] {
                      const double i = 5.0 * std::sin(0.05 * ++k);
                      (void)ekf.step(i, estimation::Measurement::voltage_temperature(3.70 - 0.03 * i, 298.15), 1.0);
                    },
                    kSamples, kBatch));
  return std::isfinite(sink) ? 0 : 1;
}
