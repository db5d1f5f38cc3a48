#pragma once
// The controllers the pack cycle's groups call (control::Controller), sharing one charge law.
//
// Why one law for the pack and not one MPC per group: series groups carry one current, so only the
// group that reaches its limits first (while charging: the highest estimated SOC) constrains the
// charge. The law plans on that group; every other group asks for the most it may take and its own
// CBF filter cuts that to what is safe for it; the pack cycle applies the command closest to zero.
// 96 MPC solves per plan would buy nothing but time.
//
// All currents here are per cell (> 0 discharges), as the control cycle sees them.
#include <memory>

#include "measurements.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/control/cccv_charger.hpp"
#include "safetwin/control/controller.hpp"

namespace safetwin::firmware {

// What the vehicle asks this cycle and which group the charge law follows; written by the
// ControlStep before the pack cycle steps.
struct PackRequest {
  RequestMode mode = RequestMode::idle;
  double current_a = 0.0;  // drive: the demand; charge: the charger's available current (< 0)
  int limiting_group = -1;
  double max_cell_voltage_v = 0.0;  // measured, for CC-CV
};

// The charge law of the pack: MPC-FC or CC-CV, re-planned every period_s, held in between.
struct ChargeLaw {
  std::unique_ptr<control::BatteryMpc> mpc;    // null for CC-CV
  std::unique_ptr<control::CcCvCharger> cccv;  // null for the MPC
  double period_s = 1.0;
  double parallel = 1.0;
  bool charging = false;
  double since_plan_s = 0.0;
  double held_a = 0.0;
  Status held_status = Status::not_initialised;
  int iterations = 0;

  // Called by the limiting group's controller once per cycle.
  [[nodiscard]] Status plan(const control::ControllerInput& in, const PackRequest& req, double& out_a) noexcept;
  void stop() noexcept;  // the charge ended (idle, drive or a missing cycle): re-plan on the next charge
};

class GroupController final : public control::Controller {
 public:
  GroupController(int group, ChargeLaw& law, const PackRequest& request) noexcept
      : group_(group), law_(law), request_(request) {}
  [[nodiscard]] Status compute(const control::ControllerInput& in, control::ControllerOutput& out) noexcept override;

 private:
  int group_;
  ChargeLaw& law_;
  const PackRequest& request_;
};

}  // namespace safetwin::firmware
