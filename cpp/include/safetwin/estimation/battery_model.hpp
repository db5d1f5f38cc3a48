#pragma once
// The estimator's view of the one cell model (battery/cell_model.hpp, REF-CELL-1's structure
// 2RC + lumped thermal) with its Jacobians, for the Kalman filters. State x = [SOC, v1, v2, T]
// (battery::StateIdx), optionally augmented with [r0_factor, capacity_factor] (ParamIdx): the
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
#include "safetwin/battery/state_idx.hpp"

namespace safetwin::estimation {

// Indices of the augmented parameter states (after the battery state).
struct ParamIdx {
  static constexpr int r0_factor = battery::StateIdx::size;
  static constexpr int capacity_factor = battery::StateIdx::size + 1;
  static constexpr int size = battery::StateIdx::size + 2;  // state size with parameters
};
static_assert(ParamIdx::r0_factor == 4 && ParamIdx::capacity_factor == 5, "parameters follow [SOC, v1, v2, T]");

// Time update of the battery model over dt_s under current_a (> 0 discharges). NX = 4 or 6.
// x_next = f(x), F = df/dx, g = df/dI (the input Jacobian: current-sensor noise enters through it).
template <int NX>
void battery_transition(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                        double dt_s, Eigen::Matrix<double, NX, 1>& x_next, Eigen::Matrix<double, NX, NX>& f,
                        Eigen::Matrix<double, NX, 1>& g) noexcept;

// Terminal voltage h(x) under current_a and its gradient dh/dx.
template <int NX>
double battery_voltage(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                       Eigen::Matrix<double, 1, NX>& dh_dx) noexcept;

extern template void battery_transition<4>(const battery::CellParams&, const Eigen::Matrix<double, 4, 1>&, double,
                                           double, Eigen::Matrix<double, 4, 1>&, Eigen::Matrix<double, 4, 4>&,
                                           Eigen::Matrix<double, 4, 1>&) noexcept;
extern template void battery_transition<6>(const battery::CellParams&, const Eigen::Matrix<double, 6, 1>&, double,
                                           double, Eigen::Matrix<double, 6, 1>&, Eigen::Matrix<double, 6, 6>&,
                                           Eigen::Matrix<double, 6, 1>&) noexcept;
extern template double battery_voltage<4>(const battery::CellParams&, const Eigen::Matrix<double, 4, 1>&, double,
                                          Eigen::Matrix<double, 1, 4>&) noexcept;
extern template double battery_voltage<6>(const battery::CellParams&, const Eigen::Matrix<double, 6, 1>&, double,
                                          Eigen::Matrix<double, 1, 6>&) noexcept;

}  // namespace safetwin::estimation
