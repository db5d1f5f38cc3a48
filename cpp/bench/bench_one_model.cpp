// The one model's consumers, timed (run by benchmarks/bench_one_model.py, which builds this file
// against a baseline tree and the working tree and prints both side by side). Only public API
// that both trees have, so that the same source measures before and after.
//   ekf_step_2rc        one BatteryEkf::step, REF-CELL-1 (2RC), state only
//   ekf_step_2rc_joint  the same with the joint R0 / capacity factors (6 states)
//   mpc_n30             one BatteryMpc::compute of MPC-FC (N = 30) over a whole charge from SOC 0.10
//                       to 0.79 on the plant (the cold first call left out): median over the calls
//   pack_step_per_cell  one Pack::step of a 96s1p pack, divided by 96
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/estimation/battery_ekf.hpp"

using namespace safetwin;

namespace {

// Counting mode (second argument N >= 0, for callgrind): each figure makes N calls untimed and
// prints zeros (mpc_n30: at most N, until the charge ends, and prints the calls made);
// benchmarks/bench_one_model.py --instructions takes (I(N) - I(1)) / (calls - 1).
int g_calls = -1;

template <class F>
bench::Stats measure(F&& f, int samples, int batch) {
  if (g_calls < 0) return bench::time_calls(f, samples, batch);
  for (int i = 0; i < g_calls; ++i) f();
  return {0.0, 0.0, 0.0};
}

bench::Stats mpc_charge(int repeats) {
  std::vector<double> t;
  for (int r = 0; r < repeats; ++r) {
    control::BatteryMpcConfig cfg;
    cfg.horizon = 30;
    control::BatteryMpc mpc(cfg);
    battery::Cell cell(battery::CellParams::ref_cell_1(), battery::CellState{0.10, 0.0, 0.0, 298.15});
    control::ControllerInput in;
    in.current_min_a = -15.0;
    in.current_max_a = 0.0;
    control::ControllerOutput out;
    for (int k = 0; k < (g_calls >= 0 ? g_calls : 3600) && cell.state().soc < 0.79; ++k) {
      const auto& s = cell.state();
      in.x << s.soc, s.v1_v, s.v2_v, s.temp_k;
      in.last_current_a = out.current_a;
      const auto a = std::chrono::steady_clock::now();
      (void)mpc.compute(in, out);
      const auto b = std::chrono::steady_clock::now();
      if (k > 0) t.push_back(std::chrono::duration<double, std::nano>(b - a).count());
      (void)cell.step(out.current_a, 1.0);
    }
  }
  if (g_calls >= 0) return {static_cast<double>(t.size() + 1), 0.0, 0.0};  // counting: the calls made
  if (t.empty()) return {0.0, 0.0, 0.0};
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[std::min(t.size() - 1, t.size() * 99 / 100)], t.back()};
}

}  // namespace

int main(int argc, char** argv) {
  // `bench_one_model [FIGURE [N]]`: only that figure ("" = all), and with N the counting mode.
  const std::string only = argc > 1 ? argv[1] : "";
  const auto wanted = [&only](const char* name) { return only.empty() || only == name; };
  if (argc > 2) g_calls = std::atoi(argv[2]);
  int k = 0;
  const auto current = [&k] { return 5.0 * std::sin(0.05 * k); };
  estimation::BatteryEkfConfig c;
  c.soc0 = 0.5;
  estimation::BatteryEkf ekf(c);
  if (wanted("ekf_step_2rc"))
    bench::report("ekf_step_2rc",
                  measure(
                      [&] {
                        ++k;
                        const double i = current();
                        (void)ekf.step(i, estimation::Measurement::voltage_temperature(3.70 - 0.03 * i, 298.15), 1.0);
                      },
                      2001, 1000));
  c.estimate_params = true;
  estimation::BatteryEkf joint(c);
  if (wanted("ekf_step_2rc_joint"))
    bench::report("ekf_step_2rc_joint",
                  measure(
                      [&] {
                        ++k;
                        const double i = current();
                        (void)joint.step(i, estimation::Measurement::voltage_temperature(3.70 - 0.03 * i, 298.15), 1.0);
                      },
                      2001, 1000));

  if (wanted("mpc_n30")) bench::report("mpc_n30", mpc_charge(g_calls >= 0 ? 1 : 3));

  battery::PackConfig pc;
  pc.series = 96;
  pc.spread = {0.03, 0.10, 1};
  pc.initial = {0.5, 0.0, 0.0, battery::kReferenceTempK};
  battery::Pack pack(pc);
  double sign = 1.0;
  if (!wanted("pack_step_per_cell")) return 0;
  bench::Stats s = measure(
      [&] {
        sign = -sign;
        (void)pack.step(5.0 * sign, 1.0);
      },
      2001, 100);
  bench::report("pack_step_per_cell", {s.median_ns / 96.0, s.p99_ns / 96.0, s.max_ns / 96.0});
  return 0;
}
