// Safety-layer timings from C++ (run by benchmarks/bench_safety.py, which prints the table):
// the CBF filter step, a monitor check of 50 invariants, the whole control cycle.
#include <chrono>
#include <cmath>
#include <string>
#include <vector>

#include "bench_util.hpp"
#include "safetwin/battery/pack.hpp"
#include "safetwin/cycle/control_cycle.hpp"
#include "safetwin/safety/cbf_filter.hpp"
#include "safetwin/safety/monitor.hpp"
#if __has_include("safetwin/control/battery_mpc.hpp")
#include "safetwin/control/battery_mpc.hpp"
#define SAFETWIN_BENCH_HAS_MPC 1
#endif

using namespace safetwin;

namespace {

constexpr int kSamples = 100000;

// A law that charges at 1C until the filter cuts it (the cycle's cost without an optimiser).
struct ConstantCharge final : control::Controller {
  Status compute(const control::ControllerInput&, control::ControllerOutput& out) noexcept override {
    out.current_a = -5.15;
    return Status::ok;
  }
};

// Times only cycle.step() in closed loop with the reference plant (plant steps outside the clock).
// Charges from soc0 to soc_end, then starts again (plant, estimator and controller reset outside
// the clock), so that every sample is a charging cycle.
bench::Stats time_cycle(cycle::ControlCycle& cyc, control::Controller& law, double soc0, double soc_end) {
  battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{soc0, 0.0, 0.0, 298.15});
  cycle::CycleStatus st;
  double i = 0.0, v = plant.voltage_v(0.0);
  std::vector<double> t(kSamples);
  for (int k = 0; k < kSamples; ++k) {
    cycle::CycleMeasurements m;
    m.time_s = k;
    m.voltage_a_v = m.voltage_b_v = v;
    m.temperature_k = plant.state().temp_k;
    m.current_a = i;
    const auto a = std::chrono::steady_clock::now();
    (void)cyc.step(m, 1.0, st);
    const auto b = std::chrono::steady_clock::now();
    t[static_cast<std::size_t>(k)] = std::chrono::duration<double, std::nano>(b - a).count();
    i = st.command_a;
    (void)plant.step(i, 1.0, &v);
    if (plant.state().soc >= soc_end) {
      plant.set_state(battery::CellState{soc0, 0.0, 0.0, 298.15});
      cyc.estimator().reset(soc0);
      law.reset();
      i = 0.0;
      v = plant.voltage_v(0.0);
    }
  }
  std::sort(t.begin(), t.end());
  return {t[t.size() / 2], t[static_cast<std::size_t>(0.99 * static_cast<double>(t.size()))], t.back()};
}

}  // namespace

int main() {
  // CBF filter: states sweeping SOC, RC voltages and temperature, requests over the whole range.
  {
    safety::CbfFilter f(safety::CbfConfig{});
    safety::CbfVerdict v;
    battery::StateMatrix P = battery::StateMatrix::Identity() * 1e-6;
    int k = 0;
    double sink = 0.0;
    bench::report("cbf_step", bench::time_calls(
                                  [&] {
                                    ++k;
                                    battery::StateVector x;
                                    x << 0.05 + 0.009 * (k % 100), 0.002 * (k % 13) - 0.01, 0.004 * (k % 17) - 0.03,
                                        293.15 + 0.25 * (k % 97);
                                    (void)f.filter(x, P, -20.0 + 0.4 * (k % 101), 1.0, 1.0, v);
                                    sink += v.current_a;
                                  },
                                  kSamples, 1));
    if (!std::isfinite(sink)) return 1;
  }

  // Monitor: 50 invariants of every kind over 8 signals (temporal windows of 10-60 s at 1 s).
  {
    safety::MonitorConfig c;
    c.signals = {"v_a", "v_b", "temp", "current", "soc", "nis", "trust_a", "trust_b"};
    for (int i = 0; i < 50; ++i) {
      safety::InvariantSpec s;
      s.name = "inv" + std::to_string(i);
      s.signal = c.signals[static_cast<std::size_t>(i % 8)];
      s.kind = static_cast<safety::InvariantKind>(i % 6);
      s.lo = -2.0;
      s.hi = 2.0;
      s.window_s = 10.0 * (1 + i % 6);
      s.severity = static_cast<safety::Severity>(1 + i % 3);
      s.set_count = 3;
      s.clear_count = 2;
      c.invariants.push_back(s);
    }
    safety::InvariantMonitor m(c);
    int k = 0;
    bench::report("monitor_check_50", bench::time_calls(
                                          [&] {
                                            ++k;
                                            for (int j = 0; j < 8; ++j)
                                              (void)m.set(j, 2.2 * std::sin(0.001 * k * (j + 1)));
                                            (void)m.check(static_cast<double>(k));
                                          },
                                          kSamples, 1));
  }

  // Whole cycle (EKF + controller + monitor + CBF + supervisor) with a constant-charge law.
  {
    ConstantCharge law;
    cycle::CycleConfig c;
    c.estimator.soc0 = 0.2;
    c.estimator.voltage_model_sigma_v = 0.0;
    safety::InvariantSpec s;
    s.name = "v_always";
    s.signal = "voltage_a_v";
    s.kind = safety::InvariantKind::always_within;
    s.hi = 4.25;
    s.window_s = 10.0;
    c.monitor.invariants.push_back(s);
    cycle::ControlCycle cyc(c, &law);
    bench::report("cycle_constant_law", time_cycle(cyc, law, 0.2, 0.95));
  }

#ifdef SAFETWIN_BENCH_HAS_MPC
  // Whole cycle with the MPC-FC controller at N = 30 (the cycle's own cost is the difference).
  {
    control::BatteryMpcConfig mc;
    mc.horizon = 30;
    control::BatteryMpc mpc(mc);
    cycle::CycleConfig c;
    c.estimator.soc0 = 0.1;
    c.estimator.voltage_model_sigma_v = 0.0;
    cycle::ControlCycle cyc(c, &mpc);
    bench::report("cycle_mpc_n30", time_cycle(cyc, mpc, 0.1, 0.79));
  }
#endif
  return 0;
}
