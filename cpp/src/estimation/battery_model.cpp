#include "safetwin/estimation/battery_model.hpp"

#include "safetwin/battery/cell_model.hpp"

namespace safetwin::estimation {

using battery::RefStructure;
using battery::StateIdx;

namespace {
constexpr int kFactors = ParamIdx::size - StateIdx::size;  // [r0_factor, capacity_factor]

battery::ModelFactors<double> factors_of(const double* x, bool joint) noexcept {
  battery::ModelFactors<double> f;
  if (joint) {
    f.r0 = x[ParamIdx::r0_factor];
    f.capacity = x[ParamIdx::capacity_factor];
  }
  return f;
}
}  // namespace

template <int NX>
void battery_transition(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                        double dt_s, Eigen::Matrix<double, NX, 1>& x_next, Eigen::Matrix<double, NX, NX>& f,
                        Eigen::Matrix<double, NX, 1>& g) noexcept {
  static_assert(NX == StateIdx::size || NX == ParamIdx::size, "battery state: 4, or 6 with parameters");
  constexpr bool joint = NX == ParamIdx::size;
  constexpr int np = joint ? kFactors : 0;
  battery::StepLinearisation<RefStructure, np> lin;
  battery::linearise_step<RefStructure, np>(p, x.data(), current_a, dt_s, factors_of(x.data(), joint), lin);
  constexpr int n = StateIdx::size;
  x_next = x;  // parameters: random walk (identity)
  x_next.template head<n>() = lin.x_next;
  f.setIdentity();
  f.template topLeftCorner<n, n>() = lin.f;
  g.setZero();
  g.template head<n>() = lin.g;
  if constexpr (joint) f.template block<n, kFactors>(0, n) = lin.f_factor;
}

template <int NX>
double battery_voltage(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                       Eigen::Matrix<double, 1, NX>& dh_dx) noexcept {
  constexpr bool joint = NX == ParamIdx::size;
  constexpr int np = joint ? kFactors : 0;
  battery::VoltageLinearisation<RefStructure, np> vl;
  battery::linearise_voltage<RefStructure, np>(p, x.data(), current_a, factors_of(x.data(), joint), vl);
  dh_dx.template head<StateIdx::size>() = vl.dv_dx;
  if constexpr (joint) dh_dx.template tail<kFactors>() = vl.dv_dfactor;
  return vl.v;
}

template void battery_transition<4>(const battery::CellParams&, const Eigen::Matrix<double, 4, 1>&, double, double,
                                    Eigen::Matrix<double, 4, 1>&, Eigen::Matrix<double, 4, 4>&,
                                    Eigen::Matrix<double, 4, 1>&) noexcept;
template void battery_transition<6>(const battery::CellParams&, const Eigen::Matrix<double, 6, 1>&, double, double,
                                    Eigen::Matrix<double, 6, 1>&, Eigen::Matrix<double, 6, 6>&,
                                    Eigen::Matrix<double, 6, 1>&) noexcept;
template double battery_voltage<4>(const battery::CellParams&, const Eigen::Matrix<double, 4, 1>&, double,
                                   Eigen::Matrix<double, 1, 4>&) noexcept;
template double battery_voltage<6>(const battery::CellParams&, const Eigen::Matrix<double, 6, 1>&, double,
                                   Eigen::Matrix<double, 1, 6>&) noexcept;

}  // namespace safetwin::estimation
