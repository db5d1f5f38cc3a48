#pragma once
// Sliding-window upper quantile of a non-negative signal (|innovation|) in constant time per sample:
// the values are binned on a logarithmic grid (kBins bins from floor to ceiling, about 13 % wide)
// and the window is a ring of bin indices, so adding a sample and dropping the oldest are one
// counter each; the quantile is the upper edge of the bin that holds it (never below the true
// order statistic: conservative by at most one bin width). Values under the floor count as the
// floor, above the ceiling (and NaN) as the ceiling.
//
// What the bound stands for: for samples that are exchangeable over the window (a stationary
// model error), the next sample exceeds the k-th smallest of the last n with probability
// (n + 1 - k) / (n + 1); with k = ceil(q n) that is at most 1 - q + 1 / (n + 1) (q = 0.99,
// n = 600: 1.2 % per step). The ring is sized at construction; push() and quantile() allocate
// nothing and never throw.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace safetwin::safety {

class WindowQuantile {
 public:
  static constexpr int kBins = 64;

  // window: samples held (>= 1); q in (0, 1]; 0 < floor < ceiling.
  WindowQuantile(std::size_t window, double q, double floor, double ceiling)
      : ring_(window == 0 ? 1 : window, 0), q_(q), floor_(floor), log_ratio_(std::log(ceiling / floor) / (kBins - 1)) {}

  void push(double value) noexcept {
    int b = kBins - 1;
    if (!std::isnan(value)) {
      b = value <= floor_ ? 0 : static_cast<int>(std::ceil(std::log(value / floor_) / log_ratio_ - 1e-12));
      if (b > kBins - 1) b = kBins - 1;
      if (b < 0) b = 0;
    }
    if (count_ == ring_.size())
      --bins_[ring_[pos_]];
    else
      ++count_;
    ring_[pos_] = static_cast<std::uint8_t>(b);
    ++bins_[static_cast<std::size_t>(b)];
    pos_ = (pos_ + 1) % ring_.size();
  }

  // The q-quantile of the samples in the window (upper bin edge); NaN before the first sample.
  [[nodiscard]] double quantile() const noexcept {
    if (count_ == 0) return std::nan("");
    const auto k = static_cast<std::size_t>(std::ceil(q_ * static_cast<double>(count_) - 1e-9));  // k-th smallest
    std::size_t below = 0;
    for (int b = 0; b < kBins; ++b) {
      below += bins_[static_cast<std::size_t>(b)];
      if (below >= k) return edge(b);
    }
    return edge(kBins - 1);
  }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }
  [[nodiscard]] double edge(int bin) const noexcept { return floor_ * std::exp(log_ratio_ * bin); }

 private:
  std::vector<std::uint8_t> ring_;
  std::array<std::uint32_t, kBins> bins_{};
  std::size_t count_ = 0;
  std::size_t pos_ = 0;
  double q_;
  double floor_;
  double log_ratio_;
};

}  // namespace safetwin::safety
