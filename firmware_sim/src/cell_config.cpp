#include "cell_config.hpp"

#include <stdexcept>

#include "safetwin/battery/cell_file.hpp"
#include "safetwin/control/battery_mpc.hpp"
#include "safetwin/estimation/battery_ekf.hpp"

namespace safetwin::firmware {

namespace {

// The consumers' own structure checks (their validate()), so that this refusal follows them when a
// consumer learns a new structure.
void require_supported(const FirmwareConfig& c, const battery::CellParams& cell, const std::string& name,
                       const std::string& what) {
  const auto refuse = [&](const char* consumer, const std::exception& e) {
    throw std::invalid_argument(what + ": cell '" + name + "' has " + battery::structure_name(cell) +
                                ", which the firmware's " + consumer + " does not support (" + e.what() + ")");
  };
  try {
    estimation::BatteryEkfConfig ekf;
    ekf.cell = cell;
    ekf.validate();
  } catch (const std::invalid_argument& e) { refuse("estimator", e); }
  if (c.control.controller == ControllerKind::mpc) {
    try {
      control::BatteryMpcConfig mpc;
      mpc.cell = cell;
      mpc.validate();
    } catch (const std::invalid_argument& e) { refuse("MPC", e); }
  }
}

}  // namespace

void use_cell(FirmwareConfig& c, const battery::CellParams& cell, const std::string& name, const std::string& what,
              const std::set<std::string>& given) {
  try {
    cell.validate();
  } catch (const std::invalid_argument& e) { throw std::invalid_argument(what + ": " + e.what()); }
  require_supported(c, cell, name, what);
  ControlStepConfig& k = c.control;
  k.cell = cell;
  k.limits = cell.limits;
  const auto unset = [&](const char* key) { return given.count(key) == 0; };
  if (unset("charge-current-a")) k.charge_current_a = cell.capacity_ah;  // 1C, as REF-CELL-1's 5.15 A
  if (unset("cv-voltage-v")) k.cv_voltage_v = cell.limits.voltage_max_v;
  if (unset("cutoff-current-a")) k.cutoff_current_a = cell.capacity_ah / 20.0;
  k.resistance_ohm = cell.r0_ohm.at(0.5, battery::kReferenceTempK);
}

void use_cell_file(FirmwareConfig& c, const std::string& path, const std::string& what,
                   const std::set<std::string>& given) {
  battery::CellFile f;
  try {
    f = battery::load_cell_file(path);
  } catch (const battery::CellFileError& e) { throw std::invalid_argument(what + " " + e.what()); }
  use_cell(c, f.params, f.name, what + " " + path, given);
}

}  // namespace safetwin::firmware
