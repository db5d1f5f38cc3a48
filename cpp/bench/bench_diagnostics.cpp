// Diagnostics timings from C++ (run by benchmarks/bench_diagnostics.py, which prints the table):
// the anomaly score per cell-step beside the EKF step it watches, in the same run, and the ageing
// model per interval.
#include <cmath>

#include "bench_util.hpp"
#include "safetwin/battery/ageing.hpp"
#include "safetwin/diagnostics/anomaly_score.hpp"
#include "safetwin/diagnostics/score_replay.hpp"
#include "safetwin/estimation/battery_ekf.hpp"

using namespace safetwin;
using namespace safetwin::estimation;

int main() {
  int k = 0;
  const auto current = [&k] { return 5.0 * std::sin(0.05 * k); };
  BatteryEkfConfig c;
  c.soc0 = 0.5;
  c.estimate_params = true;
  BatteryEkf ekf(c);
  diagnostics::AnomalyScoreConfig sc;
  sc.threshold = 5.0;
  diagnostics::AnomalyScore score(sc);
  diagnostics::AnomalyResult r;

  bench::report("ekf_step_joint", bench::time_calls(
                                      [&] {
                                        ++k;
                                        const double i = current();
                                        (void)ekf.step(i, Measurement::voltage_temperature(3.70 - 0.03 * i, 298.15),
                                                       1.0);
                                      },
                                      2001, 1000));
  // The score alone on the innovations of the last EKF step (what the cycle adds per cell).
  const diagnostics::Innovations in = diagnostics::innovations_of(ekf, 1.0);
  bench::report("score_step", bench::time_calls([&] { (void)score.step(in, r); }, 2001, 1000));
  // Reading the innovations out of the EKF report and scoring them.
  bench::report("innovations_and_score_step",
                bench::time_calls([&] { (void)score.step(diagnostics::innovations_of(ekf, 1.0), r); }, 2001, 1000));

  const battery::AgeingModel ageing;
  battery::AgeingState st;
  battery::AgeingStress s;
  s.duration_s = 3600.0;
  s.temp_k = 305.0;
  s.soc_mean = 0.6;
  s.throughput_ah = 10.3;  // one full cycle of REF-CELL-1, charge and discharge
  s.dod = 1.0;
  bench::report("ageing_100_intervals", bench::time_calls(
                                            [&] {
                                              st = battery::AgeingState{};
                                              for (int j = 0; j < 100; ++j) (void)ageing.advance(s, st);
                                            },
                                            2001, 10));
  return 0;
}
