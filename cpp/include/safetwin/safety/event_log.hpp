#pragma once
// A fixed-capacity ring buffer of records: the newest overwrites the oldest once full, nothing is
// allocated after construction. The monitor's events and the supervisor's mode transitions use it;
// firmware reads it oldest first with copy_to(), Python through the binding.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace safetwin::safety {

template <class Record>
class EventLog {
 public:
  explicit EventLog(std::size_t capacity) : records_(capacity == 0 ? 1 : capacity) {}

  void push(const Record& r) noexcept {
    records_[next_] = r;
    next_ = (next_ + 1) % records_.size();
    if (size_ < records_.size()) ++size_;
    ++total_;
  }
  // Copies up to max records, oldest first; returns how many were written.
  std::size_t copy_to(Record* out, std::size_t max) const noexcept {
    const std::size_t n = size_ < max ? size_ : max;
    const std::size_t first = (next_ + records_.size() - size_) % records_.size();
    for (std::size_t i = 0; i < n; ++i) out[i] = records_[(first + i) % records_.size()];
    return n;
  }
  // The i-th record held, oldest first (i < size()).
  [[nodiscard]] const Record& operator[](std::size_t i) const noexcept {
    return records_[(next_ + records_.size() - size_ + i) % records_.size()];
  }
  void clear() noexcept {
    next_ = 0;
    size_ = 0;
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity() const noexcept { return records_.size(); }
  [[nodiscard]] std::uint64_t total() const noexcept { return total_; }            // ever pushed
  [[nodiscard]] std::uint64_t dropped() const noexcept { return total_ - size_; }  // overwritten

 private:
  std::vector<Record> records_;
  std::size_t next_ = 0;
  std::size_t size_ = 0;
  std::uint64_t total_ = 0;
};

}  // namespace safetwin::safety
