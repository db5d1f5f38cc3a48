// The allocation counter that every "allocates nothing" test relies on: it must see every way a
// step path could reach the heap (Eigen's dynamic temporaries go through malloc, the standard
// containers through operator new, C code through the malloc family), and see nothing where no
// allocation happens. Each count is known exactly from the code it counts.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include <Eigen/Cholesky>
#include <Eigen/Core>

#include "alloc_counter.hpp"

using safetwin::test::count_allocations;

namespace {

// Makes p observable so that the compiler cannot elide an allocation/free pair it can see.
inline void escape(const void* p) { asm volatile("" : : "g"(p) : "memory"); }

struct alignas(64) CacheLine {
  double v[8];
};

}  // namespace

TEST_CASE("an Eigen dynamic temporary is counted") {
  const Eigen::VectorXd a = Eigen::VectorXd::LinSpaced(32, 0.0, 1.0);
  const Eigen::VectorXd b = Eigen::VectorXd::Constant(32, 2.0);
  double sum = 0.0;
  const long n = count_allocations([&] {
    const Eigen::VectorXd t = a + b;  // one heap block for the 32 doubles
    escape(t.data());
    sum = t.sum();
  });
  CHECK(n == 1);
  CHECK(sum == doctest::Approx(32 * 2.0 + 16.0));

  // Constructing a matrix from a product evaluates straight into it (no aliasing possible): one block.
  const Eigen::MatrixXd A = Eigen::MatrixXd::Identity(8, 8) * 3.0;
  const long m = count_allocations([&] {
    const Eigen::MatrixXd B = A * A;
    escape(B.data());
    sum = B.trace();
  });
  CHECK(m == 1);
  CHECK(sum == doctest::Approx(8 * 9.0));
}

TEST_CASE("a std::vector is counted once per buffer") {
  double sum = 0.0;
  const long n = count_allocations([&] {
    std::vector<double> v(16, 1.5);
    escape(v.data());
    sum = v[3] + v[15];
  });
  CHECK(n == 1);
  CHECK(sum == 3.0);

  // push_back from empty: capacities 1, 2, 4, 8 (libstdc++ doubles), so 4 buffers for 5..8 items.
  const long grows = count_allocations([&] {
    std::vector<int> v;
    for (int i = 0; i < 8; ++i) v.push_back(i);
    escape(v.data());
  });
  CHECK(grows == 4);
}

TEST_CASE("every form of new and of the malloc family is counted") {
  CHECK(count_allocations([] {
          auto p = std::make_unique<double>(1.0);
          escape(p.get());
        }) == 1);
  CHECK(count_allocations([] {
          double* p = new (std::nothrow) double[4];
          escape(p);
          delete[] p;
        }) == 1);
  CHECK(count_allocations([] {  // aligned new (C++17): alignof(CacheLine) > the default 16
          auto* p = new CacheLine{};
          escape(p);
          delete p;
        }) == 1);
  CHECK(count_allocations([] {
          auto* p = new (std::nothrow) CacheLine[2];
          escape(p);
          delete[] p;
        }) == 1);
  CHECK(count_allocations([] {
          void* p = std::malloc(24);
          escape(p);
          p = std::realloc(p, 4096);  // a realloc is an allocator call too
          escape(p);
          std::free(p);
        }) == 2);
  CHECK(count_allocations([] {
          void* p = std::calloc(3, 8);
          escape(p);
          std::free(p);
        }) == 1);
  CHECK(count_allocations([] {
          void* p = std::aligned_alloc(64, 128);
          escape(p);
          std::free(p);
        }) == 1);
  CHECK(count_allocations([] {
          void* p = nullptr;
          REQUIRE(posix_memalign(&p, 32, 100) == 0);
          escape(p);
          std::free(p);
        }) == 1);
  CHECK(count_allocations([] {  // inside glibc: strdup calls malloc through the dynamic linker
          char* s = strdup("cell");
          escape(s);
          std::free(s);
        }) == 1);
}

TEST_CASE("aligned and posix_memalign blocks honour their alignment, bad alignments are refused") {
  void* p = std::aligned_alloc(256, 512);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<std::uintptr_t>(p) % 256 == 0);
  std::free(p);
  auto* c = new CacheLine{};
  CHECK(reinterpret_cast<std::uintptr_t>(c) % 64 == 0);
  delete c;
#ifndef SAFETWIN_TEST_ASAN  // ASan's own posix_memalign reports a bad alignment as an error
  void* q = nullptr;
  CHECK(posix_memalign(&q, 24, 64) == EINVAL);  // not a power of two
  CHECK(q == nullptr);
#endif
}

TEST_CASE("fixed-size Eigen expressions allocate nothing") {
  Eigen::Matrix<double, 6, 6> M = Eigen::Matrix<double, 6, 6>::Identity() * 2.0;
  M(0, 1) = M(1, 0) = 0.5;
  const Eigen::Matrix<double, 6, 1> b = Eigen::Matrix<double, 6, 1>::Constant(1.0);
  Eigen::Matrix<double, 6, 1> x;
  const long n = count_allocations([&] {
    for (int k = 0; k < 100; ++k) {
      const Eigen::Matrix<double, 6, 6> P = M * M.transpose() + M;  // product into a fixed temporary
      x = P.llt().solve(b);
      escape(x.data());
    }
  });
  CHECK(n == 0);
  const Eigen::Matrix<double, 6, 6> P = M * M.transpose() + M;
  CHECK((P * x - b).norm() < 1e-12);
}
