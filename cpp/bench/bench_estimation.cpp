// Estimator timings from C++ (run by benchmarks/bench_estimation.py, which prints the table).
#include <cmath>
#include <vector>

#include "bench_util.hpp"
#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/estimation/pack_estimator.hpp"

using namespace safetwin;
using namespace safetwin::estimation;

int main() {
  // A changing current and plausible measurements keep the filter in its normal regime.
  int k = 0;
  const auto current = [&k] { return 5.0 * std::sin(0.05 * k); };

  BatteryEkfConfig c;
  c.soc0 = 0.5;
  BatteryEkf cell(c);
  bench::report("cell_step", bench::time_calls(
                                 [&] {
                                   ++k;
                                   const double i = current();
                                   (void)cell.step(i, Measurement::voltage_temperature(3.70 - 0.03 * i, 298.15), 1.0);
                                 },
                                 2001, 1000));

  BatteryEkfConfig cj = c;
  cj.estimate_params = true;
  BatteryEkf joint(cj);
  bench::report("cell_step_joint", bench::time_calls(
                                       [&] {
                                         ++k;
                                         const double i = current();
                                         (void)joint.step(i, Measurement::voltage_temperature(3.70 - 0.03 * i, 298.15),
                                                          1.0);
                                       },
                                       2001, 1000));

  PackEstimator pack(c, 96);
  std::vector<double> va(96), tk(96, 298.15);
  bench::report("pack96_step", bench::time_calls(
                                   [&] {
                                     ++k;
                                     const double i = current();
                                     for (std::size_t j = 0; j < 96; ++j)
                                       va[j] = 3.70 - 0.03 * i + 1e-4 * static_cast<double>(j);
                                     (void)pack.step(&i, 1, va.data(), nullptr, tk.data(), 96, 1.0);
                                   },
                                   2001, 20));
  return 0;
}
