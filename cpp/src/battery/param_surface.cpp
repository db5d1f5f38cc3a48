#include "safetwin/battery/param_surface.hpp"

#include <algorithm>
#include <cmath>

#include "safetwin/validate.hpp"

namespace safetwin::battery {

namespace {

void check_axis(const std::string& field, const std::vector<double>& axis) {
  if (axis.empty()) throw_invalid(field, "needs at least 1 point");
  for (std::size_t i = 0; i < axis.size(); ++i) {
    require_finite(field + "[" + std::to_string(i) + "]", axis[i]);
    if (i > 0 && !(axis[i] > axis[i - 1]))
      throw_invalid(field + "[" + std::to_string(i) + "]", axis[i], "must be strictly increasing");
  }
}

// Index of the cell [axis[i], axis[i+1]] holding x, the weight of axis[i+1] and dw/dx, clamped
// (dw/dx = 0 outside the axis).
inline void locate(const std::vector<double>& axis, double x, std::size_t& i, double& w, double& dw) noexcept {
  const std::size_t n = axis.size();
  dw = 0.0;
  if (n == 1 || !(x >= axis.front())) {
    i = 0;
    w = 0.0;
    return;
  }
  if (x > axis.back()) {
    i = n - 2;
    w = 1.0;
    return;
  }
  i = std::min(static_cast<std::size_t>(std::upper_bound(axis.begin(), axis.end(), x) - axis.begin()) - 1, n - 2);
  dw = 1.0 / (axis[i + 1] - axis[i]);
  w = (x - axis[i]) * dw;
}

}  // namespace

ParamSurface ParamSurface::constant(double value) {
  ParamSurface s;
  s.values_ = {value};
  return s;
}

ParamSurface ParamSurface::table(std::vector<double> soc, std::vector<double> temp_k, std::vector<double> values,
                                 const std::string& name) {
  check_axis(name + ".soc", soc);
  check_axis(name + ".temp_k", temp_k);
  if (values.size() != soc.size() * temp_k.size())
    throw_invalid(name + ".values", "has " + std::to_string(values.size()) + " entries, expected " +
                                        std::to_string(soc.size()) + " x " + std::to_string(temp_k.size()));
  for (std::size_t i = 0; i < values.size(); ++i)
    require_finite(name + ".values[" + std::to_string(i) + "]", values[i]);
  ParamSurface s;
  s.soc_ = std::move(soc);
  s.temp_ = std::move(temp_k);
  s.values_ = std::move(values);
  return s;
}

double ParamSurface::interpolate(double soc, double temp_k, double* d_soc, double* d_temp) const noexcept {
  std::size_t i = 0, j = 0;
  double wi = 0.0, wj = 0.0, dwi = 0.0, dwj = 0.0;
  locate(soc_, soc, i, wi, dwi);
  locate(temp_, temp_k, j, wj, dwj);
  const std::size_t nt = temp_.size();
  const std::size_t i1 = soc_.size() == 1 ? i : i + 1;
  const std::size_t j1 = nt == 1 ? j : j + 1;
  const double v00 = values_[i * nt + j], v01 = values_[i * nt + j1];
  const double v10 = values_[i1 * nt + j], v11 = values_[i1 * nt + j1];
  const double lo = (1.0 - wj) * v00 + wj * v01, hi = (1.0 - wj) * v10 + wj * v11;
  if (d_soc != nullptr) *d_soc = dwi * (hi - lo);
  if (d_temp != nullptr) *d_temp = dwj * ((1.0 - wi) * (v01 - v00) + wi * (v11 - v10));
  return (1.0 - wi) * lo + wi * hi;
}

double ParamSurface::at(double soc, double temp_k, double* d_soc, double* d_temp) const noexcept {
  if (soc_.empty()) {
    *d_soc = *d_temp = 0.0;
    return values_[0];
  }
  return interpolate(soc, temp_k, d_soc, d_temp);
}

double ParamSurface::min_value() const noexcept { return *std::min_element(values_.begin(), values_.end()); }
double ParamSurface::max_value() const noexcept { return *std::max_element(values_.begin(), values_.end()); }

}  // namespace safetwin::battery
