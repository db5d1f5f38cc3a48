#pragma once
// The firmware's cell from a TOML cell file (--cell FILE; battery/cell_file.hpp reads it): at
// start-up only, never in a cycle. The cell replaces REF-CELL-1 in every part of the control step
// (estimators, charge law, CBF filter, supervisor, the monitor's limits), and the charge law's
// cell-derived settings follow it unless they were given explicitly.
#include <set>
#include <string>

#include "firmware.hpp"
#include "safetwin/battery/cell_params.hpp"

namespace safetwin::firmware {

// Uses `cell` (named `name` in messages) in c.control. `given` holds the option keys set explicitly
// ('-' spelling: "charge-current-a", ...): those keep their values; the others become the cell's:
// charge-current-a = 1C, cv-voltage-v = its voltage_max_v, cutoff-current-a = C/20 and the CV law's
// ohmic correction its R0 at 25 degC. A cell whose structure the firmware's estimator or charge law
// does not support is refused in one line naming the structure (std::invalid_argument, `what`
// first: "--cell FILE: ...").
void use_cell(FirmwareConfig& c, const battery::CellParams& cell, const std::string& name, const std::string& what,
              const std::set<std::string>& given = {});

// Reads the cell file at `path` (CellFileError naming the file, the key and the reason) and uses it.
void use_cell_file(FirmwareConfig& c, const std::string& path, const std::string& what,
                   const std::set<std::string>& given = {});

}  // namespace safetwin::firmware
