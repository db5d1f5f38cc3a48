#pragma once
// Layout of the battery state vector shared by the estimator, the controllers and the safety
// layer: x = [SOC, v1 (V), v2 (V), T (K)].
#include <Eigen/Core>

namespace safetwin::battery {

struct StateIdx {
  static constexpr int soc = 0;
  static constexpr int v_rc1 = 1;
  static constexpr int v_rc2 = 2;
  static constexpr int temp = 3;
  static constexpr int size = 4;
};
static_assert(StateIdx::temp + 1 == StateIdx::size, "state indices must be contiguous");

using StateVector = Eigen::Matrix<double, StateIdx::size, 1>;
using StateMatrix = Eigen::Matrix<double, StateIdx::size, StateIdx::size>;

}  // namespace safetwin::battery
