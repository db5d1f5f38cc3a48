#pragma once
// Timing helpers for the C++ benchmark executables (cpp/bench/bench_*.cpp). Benchmarks read the
// clock; the core never does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace safetwin::bench {

struct Stats {
  double median_ns, p99_ns, max_ns;
};

// Times `batch` calls of f per sample, `samples` samples; returns per-call statistics in ns.
template <class F>
Stats time_calls(F&& f, int samples, int batch) {
  std::vector<double> t(static_cast<std::size_t>(samples));
  for (auto& x : t) {
    const auto a = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i) f();
    const auto b = std::chrono::steady_clock::now();
    x = std::chrono::duration<double, std::nano>(b - a).count() / batch;
  }
  std::sort(t.begin(), t.end());
  const auto idx = [&](double q) {
    return t[std::min(t.size() - 1, static_cast<std::size_t>(q * static_cast<double>(t.size())))];
  };
  return {idx(0.5), idx(0.99), t.back()};
}

// One machine-readable line per measurement: "name median_ns p99_ns max_ns".
inline void report(const char* name, const Stats& s) {
  std::printf("%s %.3f %.3f %.3f\n", name, s.median_ns, s.p99_ns, s.max_ns);
}

}  // namespace safetwin::bench
