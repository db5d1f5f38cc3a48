#pragma once
// The estimator's view of the one cell model (battery/cell_model.hpp, any structure: 1..3 RC
// pairs, optional hysteresis, lumped thermal) with its Jacobians, for the Kalman filters. State x
// = the structure's cell state (REF-CELL-1: [SOC, v1, v2, T], battery::StateIdx), optionally
// augmented with [r0_factor, capacity_factor] (FilterLayout, ParamIdx for REF-CELL-1): the
// estimated R0 is r0_factor times the cell's R0(SOC, T), the estimated capacity capacity_factor
// times capacity_ah. The equations and their Jacobians are the model's (dual numbers); nothing is
// written a second time here. The estimator is never given the plant object, only a CellParams of
// its own.
//
// SOC outside the OCV table (the filter may push it a little below 0 or above 1): the model
// extrapolates the OCV linearly with the end segment's slope, so that h(x) and its Jacobian stay
// consistent and SOC stays observable; parameter surfaces clamp at their edges. The SOC state is
// not clamped (clamping a Gaussian mean would bias it).
#include <Eigen/Core>

#include "safetwin/battery/cell_params.hpp"
#include "safetwin/battery/cell_structure.hpp"
#include "safetwin/battery/state_idx.hpp"

namespace safetwin::estimation {

// Indices of a filter over structure S (battery/cell_structure.hpp), the cell state optionally
// augmented with [r0_factor, capacity_factor] after it.
template <class S, bool JOINT>
struct FilterLayout {
  static constexpr int cell_size = S::size;
  static constexpr int r0_factor = S::size;
  static constexpr int capacity_factor = S::size + 1;
  static constexpr int size = S::size + (JOINT ? 2 : 0);
};

// REF-CELL-1's joint layout, [SOC, v1, v2, T, r0_factor, capacity_factor].
struct ParamIdx {
  static constexpr int r0_factor = FilterLayout<battery::RefStructure, true>::r0_factor;
  static constexpr int capacity_factor = FilterLayout<battery::RefStructure, true>::capacity_factor;
  static constexpr int size = FilterLayout<battery::RefStructure, true>::size;  // state size with parameters
};
static_assert(ParamIdx::r0_factor == 4 && ParamIdx::capacity_factor == 5, "parameters follow [SOC, v1, v2, T]");

// Time update of the battery model of structure S over dt_s under current_a (> 0 discharges).
// NX = S::size, or S::size + 2 with the parameters. x_next = f(x), F = df/dx, g = df/dI (the
// input Jacobian: current-sensor noise enters through it).
template <int NX, class S = battery::RefStructure>
void battery_transition(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                        double dt_s, Eigen::Matrix<double, NX, 1>& x_next, Eigen::Matrix<double, NX, NX>& f,
                        Eigen::Matrix<double, NX, 1>& g) noexcept;

// Terminal voltage h(x) under current_a and its gradient dh/dx.
template <int NX, class S = battery::RefStructure>
double battery_voltage(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                       Eigen::Matrix<double, 1, NX>& dh_dx) noexcept;

// Both are instantiated in battery_model.cpp for every structure, with and without parameters.
#define SAFETWIN_BATTERY_MODEL_EXTERN(NRC, HYST, NX)                                                                  \
  extern template void battery_transition<NX, battery::CellStructure<NRC, HYST>>(                                     \
      const battery::CellParams&, const Eigen::Matrix<double, NX, 1>&, double, double, Eigen::Matrix<double, NX, 1>&, \
      Eigen::Matrix<double, NX, NX>&, Eigen::Matrix<double, NX, 1>&) noexcept;                                        \
  extern template double battery_voltage<NX, battery::CellStructure<NRC, HYST>>(                                      \
      const battery::CellParams&, const Eigen::Matrix<double, NX, 1>&, double,                                        \
      Eigen::Matrix<double, 1, NX>&) noexcept;
#define SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(NRC, HYST)                                 \
  SAFETWIN_BATTERY_MODEL_EXTERN(NRC, HYST, (battery::CellStructure<NRC, HYST>::size)) \
  SAFETWIN_BATTERY_MODEL_EXTERN(NRC, HYST, (battery::CellStructure<NRC, HYST>::size + 2))
SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(1, false)
SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(1, true)
SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(2, false)
SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(2, true)
SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(3, false)
SAFETWIN_BATTERY_MODEL_EXTERN_BOTH(3, true)
#undef SAFETWIN_BATTERY_MODEL_EXTERN_BOTH
#undef SAFETWIN_BATTERY_MODEL_EXTERN

}  // namespace safetwin::estimation
