#include "safetwin/estimation/battery_model.hpp"

#include "safetwin/battery/cell_model.hpp"

namespace safetwin::estimation {

namespace {
constexpr int kFactors = 2;  // [r0_factor, capacity_factor]

template <class S>
battery::ModelFactors<double> factors_of(const double* x, bool joint) noexcept {
  battery::ModelFactors<double> f;
  if (joint) {
    f.r0 = x[FilterLayout<S, true>::r0_factor];
    f.capacity = x[FilterLayout<S, true>::capacity_factor];
  }
  return f;
}
}  // namespace

template <int NX, class S>
void battery_transition(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                        double dt_s, Eigen::Matrix<double, NX, 1>& x_next, Eigen::Matrix<double, NX, NX>& f,
                        Eigen::Matrix<double, NX, 1>& g) noexcept {
  static_assert(NX == S::size || NX == S::size + kFactors, "battery state, or with the two parameters");
  constexpr bool joint = NX == FilterLayout<S, true>::size;
  constexpr int np = joint ? kFactors : 0;
  battery::StepLinearisation<S, np> lin;
  battery::linearise_step<S, np>(p, x.data(), current_a, dt_s, factors_of<S>(x.data(), joint), lin);
  constexpr int n = S::size;
  x_next = x;  // parameters: random walk (identity)
  x_next.template head<n>() = lin.x_next;
  f.setIdentity();
  f.template topLeftCorner<n, n>() = lin.f;
  g.setZero();
  g.template head<n>() = lin.g;
  if constexpr (joint) f.template block<n, kFactors>(0, n) = lin.f_factor;
}

template <int NX, class S>
double battery_voltage(const battery::CellParams& p, const Eigen::Matrix<double, NX, 1>& x, double current_a,
                       Eigen::Matrix<double, 1, NX>& dh_dx) noexcept {
  constexpr bool joint = NX == FilterLayout<S, true>::size;
  constexpr int np = joint ? kFactors : 0;
  battery::VoltageLinearisation<S, np> vl;
  battery::linearise_voltage<S, np>(p, x.data(), current_a, factors_of<S>(x.data(), joint), vl);
  dh_dx.template head<S::size>() = vl.dv_dx;
  if constexpr (joint) dh_dx.template tail<kFactors>() = vl.dv_dfactor;
  return vl.v;
}

#define SAFETWIN_BATTERY_MODEL_INSTANTIATE(NRC, HYST, NX)                                                             \
  template void battery_transition<NX, battery::CellStructure<NRC, HYST>>(                                            \
      const battery::CellParams&, const Eigen::Matrix<double, NX, 1>&, double, double, Eigen::Matrix<double, NX, 1>&, \
      Eigen::Matrix<double, NX, NX>&, Eigen::Matrix<double, NX, 1>&) noexcept;                                        \
  template double battery_voltage<NX, battery::CellStructure<NRC, HYST>>(const battery::CellParams&,                  \
                                                                         const Eigen::Matrix<double, NX, 1>&, double, \
                                                                         Eigen::Matrix<double, 1, NX>&) noexcept;
#define SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(NRC, HYST)                                 \
  SAFETWIN_BATTERY_MODEL_INSTANTIATE(NRC, HYST, (battery::CellStructure<NRC, HYST>::size)) \
  SAFETWIN_BATTERY_MODEL_INSTANTIATE(NRC, HYST, (battery::CellStructure<NRC, HYST>::size + 2))
SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(1, false)
SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(1, true)
SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(2, false)
SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(2, true)
SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(3, false)
SAFETWIN_BATTERY_MODEL_INSTANTIATE_BOTH(3, true)

}  // namespace safetwin::estimation
