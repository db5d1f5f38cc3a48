// Battery plant timings from C++ (run by benchmarks/bench_battery.py, which prints the table).
#include <vector>

#include "bench_util.hpp"
#include "safetwin/battery/pack.hpp"

using namespace safetwin;
using namespace safetwin::battery;

int main() {
  // One REF-CELL-1 step (alternating current keeps the cell in range over many calls).
  Cell cell(CellParams::ref_cell_1(), CellState{0.5, 0.0, 0.0, kReferenceTempK});
  double sign = 1.0;
  bench::report("cell_step", bench::time_calls(
                                 [&] {
                                   sign = -sign;
                                   (void)cell.step(5.0 * sign, 1.0);
                                 },
                                 2001, 1000));

  // PACK-96: one hour at dt = 1 s through Pack::simulate (voltages and SOC recorded).
  PackConfig cfg;
  cfg.series = 96;
  cfg.spread = {0.03, 0.10, 1};
  cfg.initial = {0.5, 0.0, 0.0, kReferenceTempK};
  std::vector<double> current(3600), pack_v(3600), cell_v(3600 * 96), soc(3600 * 96);
  for (std::size_t k = 0; k < current.size(); ++k) current[k] = (k / 60) % 2 ? -5.0 : 5.0;
  bench::report("pack96_hour", bench::time_calls(
                                   [&] {
                                     Pack pack(cfg);
                                     (void)pack.simulate(current.data(), current.size(), 1.0, pack_v.data(),
                                                         cell_v.data(), nullptr, soc.data(), nullptr);
                                   },
                                   21, 1));

  // One step of a 96-cell pack with the parallel split (48s2p) and without (96s1p).
  cfg.series = 48;
  cfg.parallel = 2;
  Pack p2(cfg);
  bench::report("pack48s2p_step", bench::time_calls(
                                      [&] {
                                        sign = -sign;
                                        (void)p2.step(10.0 * sign, 1.0);
                                      },
                                      2001, 100));
  cfg.series = 96;
  cfg.parallel = 1;
  Pack p1(cfg);
  bench::report("pack96s1p_step", bench::time_calls(
                                      [&] {
                                        sign = -sign;
                                        (void)p1.step(5.0 * sign, 1.0);
                                      },
                                      2001, 100));
  return 0;
}
