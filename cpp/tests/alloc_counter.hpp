#pragma once
// Counts heap allocations in a test binary by replacing the global operator new. Include it in
// exactly one translation unit per test executable (each cpp/tests/test_*.cpp is one binary).
#include <atomic>
#include <cstdlib>
#include <new>

// GCC sees the replaced operator new and the standard library's operator delete inline and
// mistakes the malloc/free pair below for a mismatch; the pair is correct by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace safetwin::test {
inline std::atomic<long> g_allocations{0};

// Number of allocations made while running f.
template <class F>
long count_allocations(F&& f) {
  const long before = g_allocations.load();
  f();
  return g_allocations.load() - before;
}
}  // namespace safetwin::test

void* operator new(std::size_t n) {
  safetwin::test::g_allocations.fetch_add(1);
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  safetwin::test::g_allocations.fetch_add(1);
  return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
