#include "group_controller.hpp"

#include <algorithm>
#include <cmath>

namespace safetwin::firmware {

void ChargeLaw::stop() noexcept {
  charging = false;
  if (mpc) mpc->reset();
  if (cccv) cccv->reset();
}

Status ChargeLaw::plan(const control::ControllerInput& in, const PackRequest& req, double& out_a) noexcept {
  if (!charging) {
    charging = true;
    since_plan_s = period_s;  // the first cycle of a charge plans at once
  }
  since_plan_s += in.dt_s;
  if (since_plan_s + 1e-9 < period_s) {
    out_a = held_a;
    return held_status;
  }
  since_plan_s = 0.0;
  if (mpc) {
    control::ControllerInput mi = in;
    mi.dt_s = period_s;      // the MPC's own step; the cycle's dt may be shorter
    mi.current_max_a = 0.0;  // a charging MPC
    control::ControllerOutput mo;
    held_status = mpc->compute(mi, mo);
    iterations = mo.iterations;
    held_a = mo.current_a;
  } else {
    held_status = Status::ok;
    held_a = cccv->current_a(req.max_cell_voltage_v) / parallel;  // the charger works on the pack current
    iterations = 0;
  }
  out_a = held_a;
  return held_status;
}

Status GroupController::compute(const control::ControllerInput& in, control::ControllerOutput& out) noexcept {
  out.iterations = 0;
  switch (request_.mode) {
    case RequestMode::idle: out.current_a = 0.0; return Status::ok;
    case RequestMode::drive:
      out.current_a = std::clamp(request_.current_a, in.current_min_a, in.current_max_a);
      return Status::ok;
    case RequestMode::charge: break;
  }
  // The charger's available current bounds every group (a non-negative offer charges nothing).
  const double available = std::min(request_.current_a, 0.0);
  double request = in.current_min_a;  // the most this group may take: its CBF filter cuts it
  Status st = Status::ok;
  if (group_ == request_.limiting_group) {
    st = law_.plan(in, request_, request);
    out.iterations = law_.iterations;
  }
  out.current_a = std::isfinite(request) ? std::clamp(std::max(request, available), in.current_min_a, 0.0) : request;
  return st;
}

}  // namespace safetwin::firmware
