#pragma once
// Open-circuit voltage as a function of state of charge: a table with linear interpolation.
// The table is data handed to the core (it never reads files on a step path).
#include <cstddef>
#include <string>
#include <vector>

namespace safetwin::battery {

class OcvTable {
 public:
  // Validates: at least two points, SOC strictly increasing, every value finite.
  // Throws std::invalid_argument naming the field on a bad table.
  OcvTable(std::vector<double> soc, std::vector<double> ocv_v);

  // The reference table of the LG M50 cell (Chen 2020), compiled in (see ocv_lgm50_chen2020.cpp).
  static OcvTable lgm50_chen2020();
  // Reads a CSV file with the columns soc,ocv_v (a header line first). Not for a step path.
  static OcvTable from_csv(const std::string& path);

  // Linear interpolation; clamped to the end values outside the table.
  [[nodiscard]] double voltage_v(double soc) const noexcept;
  // dOCV/dSOC of the segment that holds soc; outside the table, the slope of the end segment
  // (the estimator and the MPC linearise with it; the plant clamps the voltage itself).
  [[nodiscard]] double slope_v(double soc) const noexcept;
  // Inverse lookup for a rested voltage (the table must rise with SOC there); clamped to the ends.
  [[nodiscard]] double soc_at_voltage(double voltage_v) const noexcept;

  [[nodiscard]] const std::vector<double>& soc() const noexcept { return soc_; }
  [[nodiscard]] const std::vector<double>& ocv_v() const noexcept { return ocv_; }
  [[nodiscard]] std::size_t size() const noexcept { return soc_.size(); }

 private:
  // Index i of the segment [soc_[i], soc_[i+1]] used for soc (clamped to the first/last segment).
  [[nodiscard]] std::size_t segment(double soc) const noexcept;

  std::vector<double> soc_;
  std::vector<double> ocv_;
  bool uniform_ = false;  // equal SOC steps: the segment is found by one division
  double inv_step_ = 0.0;
};

}  // namespace safetwin::battery
