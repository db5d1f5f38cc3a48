#pragma once
// A forward-mode dual number with N derivative directions, fixed at compile time: the cell model
// (cell_model.hpp) is written once, templated on its scalar, and evaluated with Dual<N> to get its
// value and its Jacobian in the same pass. No allocation, no exception: a value and an array.
//
// Only the operations the cell model uses are defined. Functions that are not differentiable at a
// point (abs at 0, sign) take the derivative of the branch the value lies on, as the model's
// piecewise definitions do.
#include <array>
#include <cmath>

// The model and its dual arithmetic are small functions that must be inlined into one body for
// the compiler to keep the lanes in registers (out of line, every dual crosses memory: measured
// 2-4x slower Jacobians).
#if defined(__GNUC__) || defined(__clang__)
#define SAFETWIN_MODEL_INLINE [[gnu::always_inline]] inline
#else
#define SAFETWIN_MODEL_INLINE inline
#endif

namespace safetwin::battery {

template <int N>
struct Dual {
  // The value, and the derivatives in an even number of lanes (the last one 0 when N is odd) so
  // that every operation on them is whole vector instructions. The value is never mixed into a
  // vector, and a seed copies its unit vector whole: scalar stores read back as vectors stall.
  static constexpr int kLanes = (N + 1) / 2 * 2;
  double v;
  std::array<double, kLanes> d;

  // Left uninitialised, as a double is: every dual the model declares is assigned before it is
  // read, and zeroing the outputs and coefficients it overwrites was a tenth of a linearisation.
  Dual() noexcept {}  // NOLINT(modernize-use-equals-default): `= default` would zero on `{}`
  constexpr Dual(double value) noexcept : v(value), d{} {}  // NOLINT: a constant has zero derivatives
  // The variable number `direction` of N with the value `value` (its derivative is the unit vector).
  // The direction is a template argument: the unit vector is a constant copied whole.
  template <int Direction>
  SAFETWIN_MODEL_INLINE static Dual variable(double value) noexcept {
    static_assert(Direction >= 0 && Direction < N, "direction");
    static constexpr std::array<double, kLanes> kUnit = unit(Direction);
    Dual x(value);
    x.d = kUnit;
    return x;
  }
  [[nodiscard]] double value() const noexcept { return v; }
  [[nodiscard]] double derivative(int direction) const noexcept { return d[static_cast<std::size_t>(direction)]; }

  SAFETWIN_MODEL_INLINE Dual& operator+=(const Dual& b) noexcept {
    v += b.v;
    for (int i = 0; i < kLanes; ++i) d[i] += b.d[i];
    return *this;
  }
  SAFETWIN_MODEL_INLINE Dual& operator-=(const Dual& b) noexcept {
    v -= b.v;
    for (int i = 0; i < kLanes; ++i) d[i] -= b.d[i];
    return *this;
  }
  SAFETWIN_MODEL_INLINE Dual& operator*=(const Dual& b) noexcept {
    for (int i = 0; i < kLanes; ++i) d[i] = d[i] * b.v + v * b.d[i];
    v *= b.v;
    return *this;
  }
  SAFETWIN_MODEL_INLINE Dual& operator*=(double b) noexcept {
    v *= b;
    for (int i = 0; i < kLanes; ++i) d[i] *= b;
    return *this;
  }

 private:
  static constexpr std::array<double, kLanes> unit(int direction) noexcept {
    std::array<double, kLanes> e{};
    e[static_cast<std::size_t>(direction)] = 1.0;
    return e;
  }
};

template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator-(Dual<N> a) noexcept {
  a *= -1.0;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator+(Dual<N> a, const Dual<N>& b) noexcept {
  a += b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator+(Dual<N> a, double b) noexcept {
  a.v += b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator+(double a, Dual<N> b) noexcept {
  b.v += a;
  return b;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator-(Dual<N> a, const Dual<N>& b) noexcept {
  a -= b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator-(Dual<N> a, double b) noexcept {
  a.v -= b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator-(double a, const Dual<N>& b) noexcept {
  Dual<N> r = -b;
  r.v += a;
  return r;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator*(Dual<N> a, const Dual<N>& b) noexcept {
  a *= b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator*(Dual<N> a, double b) noexcept {
  a *= b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator*(double a, Dual<N> b) noexcept {
  b *= a;
  return b;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator/(const Dual<N>& a, const Dual<N>& b) noexcept {
  // (u / w)' = (u' - (u / w) w') / w
  const double inv = 1.0 / b.v;
  Dual<N> r(a.v * inv);
  for (int i = 0; i < Dual<N>::kLanes; ++i) r.d[i] = (a.d[i] - r.v * b.d[i]) * inv;
  return r;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator/(Dual<N> a, double b) noexcept {
  a *= 1.0 / b;
  return a;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> operator/(double a, const Dual<N>& b) noexcept {
  return Dual<N>(a) / b;
}

template <int N>
SAFETWIN_MODEL_INLINE Dual<N> exp(const Dual<N>& a) noexcept {
  Dual<N> r(std::exp(a.v));
  for (int i = 0; i < Dual<N>::kLanes; ++i) r.d[i] = r.v * a.d[i];
  return r;
}
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> abs(const Dual<N>& a) noexcept {
  return a.v < 0.0 ? -a : a;
}

// The value of a scalar (double or Dual) for branches and table lookups.
SAFETWIN_MODEL_INLINE double value_of(double x) noexcept { return x; }
template <int N>
SAFETWIN_MODEL_INLINE double value_of(const Dual<N>& x) noexcept {
  return x.v;
}

// f(x) for a function given by its value f0 and slope at value_of(x): f0 + slope * dx (chain rule).
SAFETWIN_MODEL_INLINE double chain(double f0, double /*slope*/, double /*x*/) noexcept { return f0; }
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> chain(double f0, double slope, const Dual<N>& x) noexcept {
  Dual<N> r(f0);
  for (int i = 0; i < Dual<N>::kLanes; ++i) r.d[i] = slope * x.d[i];
  return r;
}
// f(x, y) of two arguments from its value and both partial derivatives.
SAFETWIN_MODEL_INLINE double chain2(double f0, double, double, double, double) noexcept { return f0; }
template <int N>
SAFETWIN_MODEL_INLINE Dual<N> chain2(double f0, double dfx, const Dual<N>& x, double dfy, const Dual<N>& y) noexcept {
  Dual<N> r(f0);
  for (int i = 0; i < Dual<N>::kLanes; ++i) r.d[i] = dfx * x.d[i] + dfy * y.d[i];
  return r;
}

}  // namespace safetwin::battery
