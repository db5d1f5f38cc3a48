#include "safetwin/battery/ocv_table.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include "safetwin/validate.hpp"

namespace safetwin::battery {

OcvTable::OcvTable(std::vector<double> soc, std::vector<double> ocv_v) : soc_(std::move(soc)), ocv_(std::move(ocv_v)) {
  if (soc_.size() != ocv_.size())
    throw_invalid("OcvTable.ocv_v",
                  "has " + std::to_string(ocv_.size()) + " points but soc has " + std::to_string(soc_.size()));
  if (soc_.size() < 2) throw_invalid("OcvTable.soc", "needs at least 2 points, got " + std::to_string(soc_.size()));
  for (std::size_t i = 0; i < soc_.size(); ++i) {
    require_finite("OcvTable.soc[" + std::to_string(i) + "]", soc_[i]);
    require_finite("OcvTable.ocv_v[" + std::to_string(i) + "]", ocv_[i]);
    if (i > 0 && !(soc_[i] > soc_[i - 1]))
      throw_invalid("OcvTable.soc[" + std::to_string(i) + "]", soc_[i],
                    "must be strictly greater than soc[" + std::to_string(i - 1) +
                        "] = " + std::to_string(soc_[i - 1]) + " (SOC strictly increasing)");
  }
  const double step = (soc_.back() - soc_.front()) / static_cast<double>(soc_.size() - 1);
  uniform_ = true;
  for (std::size_t i = 1; i < soc_.size(); ++i)
    if (std::abs((soc_[i] - soc_[i - 1]) - step) > 1e-9 * step) uniform_ = false;
  inv_step_ = 1.0 / step;
}

OcvTable OcvTable::from_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw_invalid("OcvTable.from_csv", "cannot open " + path);
  std::string line;
  std::getline(in, line);  // header soc,ocv_v
  std::vector<double> soc, ocv;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::istringstream row(line);
    double s = 0.0, v = 0.0;
    char comma = 0;
    if (!(row >> s >> comma >> v) || comma != ',')
      throw_invalid("OcvTable.from_csv", "cannot parse line '" + line + "' of " + path);
    soc.push_back(s);
    ocv.push_back(v);
  }
  return OcvTable(std::move(soc), std::move(ocv));
}

std::size_t OcvTable::segment(double soc) const noexcept {
  const std::size_t last = soc_.size() - 2;
  if (!(soc > soc_.front())) return 0;  // also catches NaN
  if (soc >= soc_.back()) return last;
  if (uniform_) {
    const auto i = static_cast<std::size_t>((soc - soc_.front()) * inv_step_);
    return std::min(i, last);
  }
  const auto it = std::upper_bound(soc_.begin(), soc_.end(), soc);
  return std::min(static_cast<std::size_t>(it - soc_.begin()) - 1, last);
}

double OcvTable::voltage_v(double soc) const noexcept {
  if (soc <= soc_.front()) return ocv_.front();
  if (soc >= soc_.back()) return ocv_.back();
  const std::size_t i = segment(soc);
  const double w = uniform_ ? (soc - soc_[i]) * inv_step_ : (soc - soc_[i]) / (soc_[i + 1] - soc_[i]);
  return ocv_[i] + w * (ocv_[i + 1] - ocv_[i]);
}

double OcvTable::slope_v(double soc) const noexcept {
  const std::size_t i = segment(soc);
  return (ocv_[i + 1] - ocv_[i]) / (soc_[i + 1] - soc_[i]);
}

double OcvTable::soc_at_voltage(double voltage_v) const noexcept {
  if (!(voltage_v > ocv_.front())) return soc_.front();
  if (voltage_v >= ocv_.back()) return soc_.back();
  for (std::size_t i = 0; i + 1 < ocv_.size(); ++i) {
    if (voltage_v <= ocv_[i + 1] && ocv_[i + 1] > ocv_[i]) {
      const double w = (voltage_v - ocv_[i]) / (ocv_[i + 1] - ocv_[i]);
      return soc_[i] + w * (soc_[i + 1] - soc_[i]);
    }
  }
  return soc_.back();
}

}  // namespace safetwin::battery
