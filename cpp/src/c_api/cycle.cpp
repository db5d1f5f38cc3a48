// C ABI of the guarded control cycle (safetwin_c.h): a handle that owns the controller (the
// built-in MPC or an adapter around a C callback) and the cycle::ControlCycle that uses it.
#include <cmath>
#include <limits>
#include <memory>

#include "c_api_internal.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/cycle/control_cycle.hpp"

namespace safetwin::c_api {
namespace {

// A control law written in C behind control::Controller. C code cannot throw, so compute() keeps
// the noexcept contract; a non-ok return of the law (decision rejected) or a non-finite request is
// the cycle's "missing output".
class CallbackLaw final : public control::Controller {
 public:
  CallbackLaw(safetwin_control_law_fn law, void* user_data) : law_(law), user_data_(user_data) {}
  [[nodiscard]] Status compute(const control::ControllerInput& in, control::ControllerOutput& out) noexcept override {
    safetwin_controller_input_t c{};
    c.time_s = in.time_s;
    c.dt_s = in.dt_s;
    for (int i = 0; i < 4; ++i) {
      c.x[i] = in.x[i];
      for (int j = 0; j < 4; ++j) c.p[4 * i + j] = in.P(i, j);
    }
    c.last_current_a = in.last_current_a;
    c.current_min_a = in.current_min_a;
    c.current_max_a = in.current_max_a;
    double current_a = std::numeric_limits<double>::quiet_NaN();
    const int st = law_(user_data_, &c, &current_a);
    out.current_a = current_a;
    out.iterations = 0;
    out.decision = st == SAFETWIN_OK ? Decision::applied : Decision::rejected;  // rejected: the law declined
    if (st != SAFETWIN_OK) return Status::ok;
    return std::isfinite(current_a) ? Status::ok : Status::non_finite_input;
  }

 private:
  safetwin_control_law_fn law_;
  void* user_data_;
};

}  // namespace

// No default: a Mode added in supervisor.hpp fails to compile here until the ABI names it.
safetwin_mode_t to_c(safety::Mode m) noexcept {
  switch (m) {
    case safety::Mode::normal: return SAFETWIN_MODE_NORMAL;
    case safety::Mode::derated: return SAFETWIN_MODE_DERATED;
    case safety::Mode::safe_stop: return SAFETWIN_MODE_SAFE_STOP;
  }
  return SAFETWIN_MODE_SAFE_STOP;
}

namespace {

cycle::CycleConfig cycle_config_to_cpp(const safetwin_cycle_config_t& c) {
  cycle::CycleConfig config;
  config.estimator = to_cpp(c.estimator);
  // One cell model for the whole cycle: the filter and the supervisor predict with the estimator's.
  config.cbf.cell = config.estimator.cell;
  config.supervisor.cell = config.estimator.cell;
  config.supervisor.derate_factor = c.derate_factor;
  config.supervisor.hold_max_s = c.hold_max_s;
  return config;  // ControlCycle's constructor validates
}

}  // namespace
}  // namespace safetwin::c_api

struct safetwin_cycle {
  // Declared before the cycle: the controller outlives the ControlCycle that points at it.
  std::unique_ptr<safetwin::control::Controller> controller;
  safetwin::cycle::ControlCycle cycle;
  safetwin_cycle(std::unique_ptr<safetwin::control::Controller> c, safetwin::cycle::CycleConfig config)
      : controller(std::move(c)), cycle(std::move(config), controller.get()) {}
};

extern "C" void safetwin_cycle_config_default(safetwin_cycle_config_t* config) {
  if (config == nullptr) return;
  *config = safetwin_cycle_config_t{};
  safetwin_ekf_config_default(&config->estimator);
  try {
    const safetwin::control::BatteryMpcConfig mpc;
    const safetwin::safety::SupervisorConfig supervisor;
    config->controller = SAFETWIN_CONTROLLER_MPC;
    config->mpc_horizon = mpc.horizon;
    config->mpc_dt_s = mpc.dt_s;
    config->mpc_soc_target = mpc.soc_target;
    config->mpc_current_min_a = mpc.current_min_a;
    config->derate_factor = supervisor.derate_factor;
    config->hold_max_s = supervisor.hold_max_s;
  } catch (...) {
    *config = safetwin_cycle_config_t{};  // refused by safetwin_cycle_create
  }
}

extern "C" safetwin_status_t safetwin_cycle_create(const safetwin_cycle_config_t* config, safetwin_cycle_t** out,
                                                   char* msg, size_t msg_size) {
  using namespace safetwin;
  if (config == nullptr) {
    c_api::write_message(msg, msg_size, "config: NULL (fill one with safetwin_cycle_config_default)");
    if (out != nullptr) *out = nullptr;
    return SAFETWIN_INVALID_ARGUMENT;
  }
  return c_api::create(out, msg, msg_size, [&] {
    cycle::CycleConfig cycle_config = c_api::cycle_config_to_cpp(*config);
    std::unique_ptr<control::Controller> controller;
    if (config->controller == SAFETWIN_CONTROLLER_MPC) {
      control::BatteryMpcConfig mpc;
      mpc.horizon = config->mpc_horizon;
      mpc.max_horizon = config->mpc_horizon > mpc.max_horizon ? config->mpc_horizon : mpc.max_horizon;
      mpc.dt_s = config->mpc_dt_s;
      mpc.soc_target = config->mpc_soc_target;
      mpc.current_min_a = config->mpc_current_min_a;
      mpc.cell = cycle_config.estimator.cell;
      controller = std::make_unique<control::BatteryMpc>(mpc);  // validates
    } else if (config->controller == SAFETWIN_CONTROLLER_CALLBACK) {
      if (config->law == nullptr)
        throw std::invalid_argument("safetwin_cycle_config_t.law: NULL with controller = SAFETWIN_CONTROLLER_CALLBACK");
      controller = std::make_unique<c_api::CallbackLaw>(config->law, config->user_data);
    } else {
      throw std::invalid_argument("safetwin_cycle_config_t.controller = " + std::to_string(config->controller) +
                                  ": must be SAFETWIN_CONTROLLER_MPC (0) or SAFETWIN_CONTROLLER_CALLBACK (1)");
    }
    return new safetwin_cycle(std::move(controller), std::move(cycle_config));
  });
}

extern "C" void safetwin_cycle_destroy(safetwin_cycle_t* cycle) { delete cycle; }

extern "C" safetwin_status_t safetwin_cycle_step(safetwin_cycle_t* cycle, const safetwin_cycle_measurements_t* m,
                                                 double dt_s, safetwin_cycle_output_t* out) {
  using namespace safetwin;
  if (cycle == nullptr || m == nullptr || out == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  cycle::CycleMeasurements cm;
  cm.time_s = m->time_s;
  cm.voltage_a_v = m->voltage_a_v;
  cm.voltage_b_v = m->voltage_b_v;
  cm.temperature_k = m->temperature_k;
  cm.current_a = m->current_a;
  cm.voltage_a_valid = m->voltage_a_valid != 0;
  cm.voltage_b_valid = m->voltage_b_valid != 0;
  cm.temperature_valid = m->temperature_valid != 0;
  cycle::CycleStatus s;
  const Status st = cycle->cycle.step(cm, dt_s, s);
  out->status = c_api::to_c(s.status);
  out->command_a = s.command_a;
  out->contactor_closed = s.contactor_closed ? 1 : 0;
  out->mode = c_api::to_c(s.mode);
  out->requested_a = s.requested_a;
  out->estimator_status = c_api::to_c(s.estimator_status);
  out->controller_status = c_api::to_c(s.controller_status);
  out->supervisor_status = c_api::to_c(s.supervisor_status);
  for (int i = 0; i < 4; ++i) {
    out->x[i] = s.x[i];
    for (int j = 0; j < 4; ++j) out->p[4 * i + j] = s.P(i, j);
  }
  out->controller_decision = c_api::to_c(s.controller_decision);
  out->cbf_decision = c_api::to_c(s.cbf.decision);
  out->supervisor_decision = c_api::to_c(s.supervisor.decision);
  return c_api::to_c(st);
}

extern "C" safetwin_status_t safetwin_cycle_mode(const safetwin_cycle_t* cycle, safetwin_mode_t* mode) {
  if (cycle == nullptr || mode == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  *mode = safetwin::c_api::to_c(cycle->cycle.supervisor().mode());
  return SAFETWIN_OK;
}

extern "C" safetwin_status_t safetwin_cycle_reset(safetwin_cycle_t* cycle, double time_s) {
  if (cycle == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  if (!std::isfinite(time_s)) return SAFETWIN_NON_FINITE_INPUT;
  cycle->cycle.reset(time_s);
  return SAFETWIN_OK;
}
