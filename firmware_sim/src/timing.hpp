#pragma once
// Allocation-free timing statistics for the real-time loop: a histogram in 1 us bins up to 100 ms
// (anything longer lands in the last bin), so percentiles cost nothing on the loop.
#include <algorithm>
#include <array>
#include <cstdint>
#include <string>

namespace safetwin::firmware {

class Histogram {
 public:
  static constexpr std::size_t kBins = 100000;  // 1 us each
  void add(double seconds) noexcept {
    const double us = seconds * 1e6;
    const auto bin = us <= 0.0 ? std::size_t{0} : std::min<std::size_t>(static_cast<std::size_t>(us), kBins - 1);
    ++bins_[bin];
    ++count_;
    max_s_ = std::max(max_s_, seconds);
  }
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] double max_s() const noexcept { return max_s_; }
  // Upper edge of the bin holding quantile q, in seconds.
  [[nodiscard]] double quantile_s(double q) const noexcept {
    if (count_ == 0) return 0.0;
    const auto target = static_cast<std::uint64_t>(q * static_cast<double>(count_ - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < kBins; ++b) {
      seen += bins_[b];
      if (seen >= target) return static_cast<double>(b + 1) * 1e-6;
    }
    return max_s_;
  }
  [[nodiscard]] std::string json() const {
    return "{\"p50_us\": " + std::to_string(quantile_s(0.5) * 1e6) +
           ", \"p99_us\": " + std::to_string(quantile_s(0.99) * 1e6) + ", \"max_us\": " + std::to_string(max_s_ * 1e6) +
           ", \"count\": " + std::to_string(count_) + "}";
  }

 private:
  std::array<std::uint64_t, kBins> bins_{};
  std::uint64_t count_ = 0;
  double max_s_ = 0.0;
};

}  // namespace safetwin::firmware
