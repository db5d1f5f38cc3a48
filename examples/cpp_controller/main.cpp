// A battery controller built on the safetwin core: MPC fast charge, guarded by the CBF filter, the
// invariant monitor and the supervisor, in one ControlCycle; the plant here is the reference cell.
#include <cstdio>

#include "safetwin/battery/pack.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/cycle/control_cycle.hpp"

int main() {
  using namespace safetwin;
  battery::Cell plant(battery::CellParams::ref_cell_1(), battery::CellState{0.10, 0.0, 0.0, 298.15});

  control::BatteryMpc mpc(control::BatteryMpcConfig{});  // MPC-FC, N = 30, target SOC 0.8
  cycle::CycleConfig config;                             // estimator, CBF, supervisor, monitor
  config.estimator.soc0 = 0.15;                          // a wrong first guess: the EKF corrects it
  cycle::ControlCycle controller(config, &mpc);

  double command_a = 0.0, voltage_v = plant.voltage_v(0.0), max_v = 0.0, max_t = 0.0;
  cycle::CycleStatus status;
  for (int k = 0; k < 3600 && plant.state().soc < 0.79; ++k) {
    cycle::CycleMeasurements m;  // what the sensors read last period
    m.time_s = k;
    m.voltage_a_v = m.voltage_b_v = voltage_v;
    m.temperature_k = plant.state().temp_k;
    m.current_a = command_a;
    if (controller.step(m, 1.0, status) != Status::ok && status.mode == safety::Mode::safe_stop) break;
    command_a = status.command_a;  // finite, inside every limit
    if (plant.step(command_a, 1.0, &voltage_v) != Status::ok) return 1;
    max_v = voltage_v > max_v ? voltage_v : max_v;
    max_t = plant.state().temp_k > max_t ? plant.state().temp_k : max_t;
    if (k % 300 == 0)
      std::printf("t %5d s  I %7.2f A  V %.4f V  T %5.2f degC  SOC %.3f (est %.3f)  %s\n", k, command_a, voltage_v,
                  plant.state().temp_k - 273.15, plant.state().soc, status.x[0], safety::to_string(status.mode));
  }
  std::printf("SOC %.3f, max V %.4f V, max T %.2f degC, mode %s\n", plant.state().soc, max_v, max_t - 273.15,
              safety::to_string(status.mode));
  return plant.state().soc >= 0.79 && max_v <= 4.205 && max_t <= 318.25 ? 0 : 1;
}
