#pragma once
// A cell parameter that is either a constant or a table over SOC and temperature
// (bilinear interpolation, clamped at the edges), as production ECMs are parameterised.
#include <cstddef>
#include <string>
#include <vector>

namespace safetwin::battery {

class ParamSurface {
 public:
  ParamSurface() = default;  // the constant 0 (CellParams::validate refuses it where it matters)
  static ParamSurface constant(double value);
  // values are row-major over (soc, temperature): values[i * temp_k.size() + j] at (soc[i], temp_k[j]).
  // Each axis must be strictly increasing with at least one point (one point: constant along it).
  // `name` is used in error messages. Throws std::invalid_argument on a bad table.
  static ParamSurface table(std::vector<double> soc, std::vector<double> temp_k, std::vector<double> values,
                            const std::string& name = "table");

  [[nodiscard]] double at(double soc, double temp_k) const noexcept {
    return soc_.empty() ? values_[0] : interpolate(soc, temp_k);
  }
  // The value and the derivatives of the interpolation along SOC and T (0 where clamped; on a grid
  // line, the slope of the cell above it). The cell model's Jacobians use them.
  [[nodiscard]] double at(double soc, double temp_k, double* d_soc, double* d_temp) const noexcept;
  [[nodiscard]] bool is_constant() const noexcept { return values_.size() == 1 && soc_.empty(); }
  [[nodiscard]] double min_value() const noexcept;
  [[nodiscard]] double max_value() const noexcept;

  [[nodiscard]] const std::vector<double>& soc_axis() const noexcept { return soc_; }
  [[nodiscard]] const std::vector<double>& temp_axis_k() const noexcept { return temp_; }
  [[nodiscard]] const std::vector<double>& values() const noexcept { return values_; }

 private:
  [[nodiscard]] double interpolate(double soc, double temp_k, double* d_soc = nullptr,
                                   double* d_temp = nullptr) const noexcept;

  std::vector<double> soc_;
  std::vector<double> temp_;
  std::vector<double> values_{0.0};
};

}  // namespace safetwin::battery
