#pragma once
// Counts heap allocations in a test binary at the malloc level, so that nothing that reaches the
// heap is missed: Eigen's dynamic matrices (Eigen::aligned_malloc calls std::malloc), C code,
// and every form of operator new / new[] (plain, nothrow, aligned, aligned nothrow).
//
// How. On glibc the executable defines malloc, calloc, realloc, reallocarray, free, memalign,
// aligned_alloc, posix_memalign, valloc and pvalloc itself; the dynamic linker resolves every
// call in the process (libstdc++, Eigen code in the core, glibc's own strdup, ...) to these, and
// they forward to glibc's real allocator (__libc_malloc and friends) after counting. The operator
// new forms are replaced as well and go to the uncounted allocator directly, so that one new is
// counted once, whatever the standard library's new is built on.
// Under AddressSanitizer, which owns malloc and operator new, the counter installs ASan's
// allocation hook instead (it sees both).
//
// Include it in exactly one translation unit per test executable (each cpp/tests/test_*.cpp is
// one binary). count_allocations() counts every thread's allocations: run f on one thread.
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__SANITIZE_ADDRESS__)
#define SAFETWIN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SAFETWIN_TEST_ASAN 1
#endif
#endif

#if !defined(SAFETWIN_TEST_ASAN) && !defined(__GLIBC__)
#error "alloc_counter.hpp counts at the malloc level through glibc's __libc_malloc (or ASan's hooks)"
#endif

// GCC sees the replaced operator new and the standard library's operator delete inline and
// mistakes the malloc/free pairs below for a mismatch; the pairs are correct by construction.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace safetwin::test {
inline std::atomic<long> g_allocations{0};

inline void count_one() noexcept { g_allocations.fetch_add(1, std::memory_order_relaxed); }

// Number of allocations made while running f.
template <class F>
long count_allocations(F&& f) {
  const long before = g_allocations.load();
  f();
  return g_allocations.load() - before;
}
}  // namespace safetwin::test

#if defined(SAFETWIN_TEST_ASAN)
// ASan calls the hook on every allocation of its allocator (malloc family and operator new).
// Declared here: <sanitizer/allocator_interface.h> comes with clang, not with every GCC.
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*, std::size_t),
                                                         void (*free_hook)(const volatile void*));
namespace safetwin::test::detail {
inline void on_malloc(const volatile void*, std::size_t) { count_one(); }
inline void on_free(const volatile void*) {}
inline const int g_hooks_installed = __sanitizer_install_malloc_and_free_hooks(on_malloc, on_free);
}  // namespace safetwin::test::detail
#else
extern "C" {
void* __libc_malloc(std::size_t);
void* __libc_calloc(std::size_t, std::size_t);
void* __libc_realloc(void*, std::size_t);
void* __libc_memalign(std::size_t, std::size_t);
void __libc_free(void*);
}
namespace safetwin::test::detail {
inline void* raw_malloc(std::size_t n) noexcept { return __libc_malloc(n); }
inline void* raw_aligned(std::size_t align, std::size_t n) noexcept { return __libc_memalign(align, n); }
inline void raw_free(void* p) noexcept { __libc_free(p); }
inline bool valid_alignment(std::size_t a) noexcept { return a != 0 && (a & (a - 1)) == 0; }
}  // namespace safetwin::test::detail

extern "C" {
void* malloc(std::size_t n) noexcept {
  safetwin::test::count_one();
  return __libc_malloc(n);
}
void* calloc(std::size_t count, std::size_t n) noexcept {
  safetwin::test::count_one();
  return __libc_calloc(count, n);
}
void* realloc(void* p, std::size_t n) noexcept {
  safetwin::test::count_one();
  return __libc_realloc(p, n);
}
void* reallocarray(void* p, std::size_t count, std::size_t n) noexcept {
  std::size_t bytes = 0;
  if (__builtin_mul_overflow(count, n, &bytes)) {
    errno = ENOMEM;
    return nullptr;
  }
  return realloc(p, bytes);
}
void free(void* p) noexcept { __libc_free(p); }
void* memalign(std::size_t align, std::size_t n) noexcept {
  safetwin::test::count_one();
  return __libc_memalign(align, n);
}
void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  if (!safetwin::test::detail::valid_alignment(align)) {
    errno = EINVAL;
    return nullptr;
  }
  return memalign(align, n);
}
int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (!safetwin::test::detail::valid_alignment(align) || align % sizeof(void*) != 0) return EINVAL;
  void* p = memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
void* valloc(std::size_t n) noexcept { return memalign(4096, n); }
void* pvalloc(std::size_t n) noexcept { return memalign(4096, (n + 4095) & ~std::size_t{4095}); }
}

// The replaced operators are never inlined: a tool that substitutes its own allocator by symbol
// (valgrind replaces operator new/delete) then sees every new and its delete, not a new paired
// with an inlined __libc_free (a false "mismatched free() / delete").
namespace safetwin::test::detail {
inline void* counted_new(std::size_t n) noexcept {
  count_one();
  return raw_malloc(n == 0 ? 1 : n);
}
inline void* counted_aligned_new(std::size_t n, std::align_val_t a) noexcept {
  count_one();
  return raw_aligned(static_cast<std::size_t>(a), n == 0 ? 1 : n);
}
}  // namespace safetwin::test::detail

[[gnu::noinline]] void* operator new(std::size_t n) {
  if (void* p = safetwin::test::detail::counted_new(n)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n) { return operator new(n); }
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return safetwin::test::detail::counted_new(n);
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return safetwin::test::detail::counted_new(n);
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = safetwin::test::detail::counted_aligned_new(n, a)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return safetwin::test::detail::counted_aligned_new(n, a);
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return safetwin::test::detail::counted_aligned_new(n, a);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete(void* p, const std::nothrow_t&) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete[](void* p, const std::nothrow_t&) noexcept {
  safetwin::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t) noexcept { safetwin::test::detail::raw_free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  safetwin::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  safetwin::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  safetwin::test::detail::raw_free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  safetwin::test::detail::raw_free(p);
}
#endif  // SAFETWIN_TEST_ASAN
