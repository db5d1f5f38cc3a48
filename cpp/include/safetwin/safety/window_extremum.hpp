#pragma once
// Sliding-window minimum or maximum over the last n + 1 samples in constant amortised time:
// a monotone deque (Lemire 2006) held in a ring of fixed capacity n + 1, storage handed over at
// construction. The temporal operators of the invariant monitor are built on it:
//   historically[0, n] φ  (robustness = min over the window),  once[0, n] φ  (max over the window).
// A NaN robustness is stored as -inf: a value that cannot be judged counts as violated.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace safetwin::safety {

struct WindowSlot {
  std::int64_t index;
  double value;
};

class WindowExtremum {
 public:
  WindowExtremum() = default;
  // slots: storage of at least window + 1 entries that outlives this object.
  WindowExtremum(WindowSlot* slots, std::size_t window, bool maximum) noexcept
      : slots_(slots), capacity_(window + 1), window_(static_cast<std::int64_t>(window)), maximum_(maximum) {}

  // Adds the sample of index k (k increases by one per call) and returns the extremum over the
  // samples of indices [k - window, k] seen so far.
  double push(std::int64_t k, double value) noexcept {
    if (std::isnan(value)) value = -std::numeric_limits<double>::infinity();
    // Drop from the back every sample the new one dominates: it can never be the extremum again.
    while (size_ > 0) {
      const double back = at(size_ - 1).value;
      if (maximum_ ? back <= value : back >= value)
        --size_;
      else
        break;
    }
    // Drop from the front what left the window (at most one per push once the window is full).
    while (size_ > 0 && at(0).index < k - window_) {
      head_ = (head_ + 1) % capacity_;
      --size_;
    }
    at(size_) = WindowSlot{k, value};
    ++size_;
    return at(0).value;
  }
  void clear() noexcept {
    head_ = 0;
    size_ = 0;
  }

 private:
  WindowSlot& at(std::size_t i) noexcept { return slots_[(head_ + i) % capacity_]; }

  WindowSlot* slots_ = nullptr;
  std::size_t capacity_ = 1;
  std::int64_t window_ = 0;
  bool maximum_ = false;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

}  // namespace safetwin::safety
