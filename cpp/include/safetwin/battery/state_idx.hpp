#pragma once
// Layout of the battery state vector shared by the estimator, the controllers and the safety
// layer: x = [SOC, v1 (V), v2 (V), T (K)], REF-CELL-1's structure in cell_structure.hpp (the one
// spec of every structure's indices and names).
#include <Eigen/Core>

#include "safetwin/battery/cell_structure.hpp"

namespace safetwin::battery {

struct StateIdx {
  static constexpr int soc = RefStructure::soc;
  static constexpr int v_rc1 = RefStructure::v_rc(0);
  static constexpr int v_rc2 = RefStructure::v_rc(1);
  static constexpr int temp = RefStructure::temp;
  static constexpr int size = RefStructure::size;
};
static_assert(StateIdx::temp + 1 == StateIdx::size, "state indices must be contiguous");

using StateVector = Eigen::Matrix<double, StateIdx::size, 1>;
using StateMatrix = Eigen::Matrix<double, StateIdx::size, StateIdx::size>;

}  // namespace safetwin::battery
