// The generic Ekf<NX, NZ>: against a textbook Kalman filter written out here, missing samples,
// the chi-square gate (quantiles against scipy.stats.chi2.ppf), lock-out recovery, noise scaling,
// covariance health and recovery, held states, bad settings, zero allocations.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include <Eigen/LU>

#include "alloc_counter.hpp"
#include "safetwin/estimation/chi_square.hpp"
#include "safetwin/estimation/ekf.hpp"

using namespace safetwin;
using namespace safetwin::estimation;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

using Ekf22 = Ekf<2, 2>;
using M2 = Eigen::Matrix2d;
using V2 = Eigen::Vector2d;

// Constant-velocity model, dt = 0.5 s; position and velocity measured (position twice as noisy).
const M2 kF = (M2() << 1.0, 0.5, 0.0, 1.0).finished();
const M2 kQ = (M2() << 0.01, 0.002, 0.002, 0.02).finished();
const M2 kH = (M2() << 1.0, 0.0, 0.3, 1.0).finished();

Ekf22::Config config22(double gate_probability = 1.0) {
  Ekf22::Config c;
  c.x0 << 1.0, -0.5;
  c.p0 << 2.0, 0.3, 0.3, 1.0;
  c.r << 0.04, 0.01;
  c.gate_probability = gate_probability;
  return c;
}

auto linear_model() {
  return [](const V2& x, V2& xn, M2& f, M2& q) noexcept {
    xn = kF * x;
    f = kF;
    q = kQ;
    return true;
  };
}
auto linear_obs() {
  return [](const V2& x, V2& zp, M2& h) noexcept {
    zp = kH * x;
    h = kH;
    return true;
  };
}

template <class A, class B>
double max_abs_diff(const A& a, const B& b) {
  return (a - b).cwiseAbs().maxCoeff();
}

std::string message_of(void (*f)()) {
  try {
    f();
  } catch (const std::invalid_argument& e) { return e.what(); }
  return "";
}
}  // namespace

TEST_CASE("chi-square quantiles equal scipy.stats.chi2.ppf (values printed by scipy 1.17)") {
  struct Ref {
    double p;
    double q[3];
  };
  const Ref refs[] = {
      {0.5, {0.454936423119572, 1.386294361119891, 2.3659738843753377}},
      {0.95, {3.841458820694124, 5.991464547107979, 7.814727903251179}},
      {0.99, {6.6348966010212145, 9.21034037197618, 11.344866730144373}},
      {0.999, {10.827566170662733, 13.815510557964274, 16.26623619623813}},
      {0.9999, {15.136705226623606, 18.420680743952584, 21.107513466160444}},
  };
  for (const auto& r : refs)
    for (int d = 1; d <= 3; ++d) CHECK(chi_square_quantile(r.p, d) == doctest::Approx(r.q[d - 1]).epsilon(1e-12));
  // dof 2 is the exponential distribution: quantile = -2 ln(1 - p), exactly.
  for (double p : {0.1, 0.63, 0.9, 0.99999})
    CHECK(chi_square_quantile(p, 2) == doctest::Approx(-2.0 * std::log1p(-p)).epsilon(1e-12));
  CHECK(chi_square_cdf(3.0, 1) == doctest::Approx(0.9167354833364496).epsilon(1e-13));
  CHECK(chi_square_cdf(7.5, 3) == doctest::Approx(0.9424415480273636).epsilon(1e-13));
  CHECK(chi_square_cdf(0.1, 2) == doctest::Approx(0.04877057549928599).epsilon(1e-13));
  CHECK(std::isinf(chi_square_quantile(1.0, 1)));
  CHECK_THROWS_AS((void)chi_square_quantile(0.0, 1), std::invalid_argument);
  CHECK_THROWS_AS((void)chi_square_quantile(1.5, 1), std::invalid_argument);
  CHECK_THROWS_AS((void)chi_square_quantile(kNan, 1), std::invalid_argument);
  CHECK_THROWS_AS((void)chi_square_quantile(0.9, 0), std::invalid_argument);
}

TEST_CASE("linear system: equals the textbook Kalman filter step by step") {
  Ekf22 ekf(config22());
  V2 x(1.0, -0.5);
  M2 p = config22().p0;
  const M2 r = M2(config22().r.asDiagonal());
  for (int k = 0; k < 50; ++k) {
    const V2 z(std::sin(0.1 * k), 0.2 * std::cos(0.3 * k));
    REQUIRE(ekf.predict(linear_model()) == Status::ok);
    REQUIRE(ekf.update(z, Ekf22::kAllChannels, linear_obs()) == Status::ok);
    // Textbook: predict, gain with an explicit inverse, short-form covariance update.
    x = kF * x;
    p = kF * p * kF.transpose() + kQ;
    const M2 s = kH * p * kH.transpose() + r;
    const M2 gain = p * kH.transpose() * s.inverse();
    const V2 y = z - kH * x;
    x = x + gain * y;
    p = (M2::Identity() - gain * kH) * p;
    CHECK(max_abs_diff(ekf.state(), x) < 1e-12);
    CHECK(max_abs_diff(ekf.covariance(), p) < 1e-12);
    CHECK(ekf.report().nis == doctest::Approx(y.dot(s.inverse() * y)).epsilon(1e-10));
    CHECK(ekf.report().channel.innovation_variance[1] == doctest::Approx(s(1, 1)).epsilon(1e-12));
    CHECK(ekf.report().fused == 2);
  }
}

TEST_CASE("a missing channel is skipped exactly: same as a filter without that channel") {
  Ekf22 two(config22());
  Ekf<2, 1>::Config c1;
  c1.x0 = config22().x0;
  c1.p0 = config22().p0;
  c1.r << 0.04;
  c1.gate_probability = 1.0;
  Ekf<2, 1> one(c1);
  for (int k = 0; k < 20; ++k) {
    REQUIRE(two.predict(linear_model()) == Status::ok);
    REQUIRE(one.predict(linear_model()) == Status::ok);
    const V2 z(0.1 * k, kNan);  // channel 1: NaN on odd steps, absent from the mask on even steps
    const Ekf22::ChannelMask mask = (k % 2 == 0) ? 0x1u : 0x3u;
    REQUIRE(two.update(z, mask, linear_obs()) == Status::ok);
    REQUIRE(one.update(Eigen::Matrix<double, 1, 1>(z[0]), 0x1u,
                       [](const V2& x, Eigen::Matrix<double, 1, 1>& zp, Eigen::Matrix<double, 1, 2>& h) noexcept {
                         zp[0] = kH.row(0).dot(x);
                         h = kH.row(0);
                         return true;
                       }) == Status::ok);
    CHECK(max_abs_diff(two.state(), one.state()) < 1e-14);
    CHECK(max_abs_diff(two.covariance(), one.covariance()) < 1e-14);
    CHECK(two.report().channel.flags[1] == (k % 2 == 0 ? channel_flag::missing : channel_flag::non_finite));
    CHECK(two.report().channel.flags[0] == channel_flag::used);
    CHECK(two.report().fused == 1);
  }
  // Nothing valid: the prediction stands untouched.
  REQUIRE(two.predict(linear_model()) == Status::ok);
  const V2 x = two.state();
  const M2 p = two.covariance();
  REQUIRE(two.update(V2(1.0, 1.0), 0x0u, linear_obs()) == Status::ok);
  CHECK(two.state() == x);
  CHECK(two.covariance() == p);
}

TEST_CASE("gate: an outlier is rejected, reported, and leaves the estimate as without it") {
  Ekf22 gated(config22(0.999));
  Ekf22 without(config22(0.999));
  const double q1 = chi_square_quantile(0.999, 1);
  CHECK(gated.gate_threshold(1) == q1);
  REQUIRE(gated.predict(linear_model()) == Status::ok);
  REQUIRE(without.predict(linear_model()) == Status::ok);
  const V2 zp = kH * gated.state();
  const double s0 = (kH.row(0) * gated.covariance() * kH.row(0).transpose())(0, 0) + 0.04;
  // Channel 0 just outside the gate, channel 1 a plain sample.
  const double y0 = std::sqrt(q1 * s0) * 1.0001;
  const V2 z(zp[0] + y0, zp[1] + 0.05);
  REQUIRE(gated.update(z, 0x3u, linear_obs()) == Status::ok);
  REQUIRE(without.update(z, 0x2u, linear_obs()) == Status::ok);
  CHECK(gated.report().channel.flags[0] == channel_flag::gated);
  CHECK(gated.report().channel.innovation[0] == doctest::Approx(y0));
  CHECK(gated.report().channel.nis[0] == doctest::Approx(q1 * 1.0001 * 1.0001));
  CHECK(gated.report().any_gated());
  CHECK(max_abs_diff(gated.state(), without.state()) == 0.0);
  CHECK(max_abs_diff(gated.covariance(), without.covariance()) == 0.0);
  // Just inside the gate: fused.
  Ekf22 inside(config22(0.999));
  REQUIRE(inside.predict(linear_model()) == Status::ok);
  REQUIRE(inside.update(V2(zp[0] + y0 / 1.0002, zp[1]), 0x3u, linear_obs()) == Status::ok);
  CHECK(inside.report().channel.flags[0] == channel_flag::used);
}

TEST_CASE("gate lock-out recovery: after gate_reset_after rejections in a row the next sample is fused") {
  auto c = config22(0.99);
  c.gate_reset_after = 3;
  Ekf22 ekf(c);
  const auto outlier = [&] { return V2(ekf.state()[0] + 100.0, kNan); };
  for (int k = 0; k < 3; ++k) {
    REQUIRE(ekf.update(outlier(), 0x1u, linear_obs()) == Status::ok);
    CHECK(ekf.report().channel.flags[0] == channel_flag::gated);
  }
  REQUIRE(ekf.update(outlier(), 0x1u, linear_obs()) == Status::ok);
  CHECK(ekf.report().channel.flags[0] == (channel_flag::gate_reset | channel_flag::used));
  // The run restarts: the next outlier is gated again.
  REQUIRE(ekf.update(outlier(), 0x1u, linear_obs()) == Status::ok);
  CHECK(ekf.report().channel.flags[0] == channel_flag::gated);
}

TEST_CASE("noise scale: R_eff = R * s; refused values leave it unchanged") {
  Ekf22 ekf(config22());
  CHECK(ekf.set_noise_scale(0, 4.0) == Status::ok);
  CHECK(ekf.set_noise_scale(0, 0.999) == Status::invalid_argument);
  CHECK(ekf.set_noise_scale(0, kNan) == Status::non_finite_input);
  CHECK(ekf.set_noise_scale(0, kInf) == Status::non_finite_input);
  CHECK(ekf.set_noise_scale(2, 2.0) == Status::invalid_argument);
  CHECK(ekf.set_noise_scale(-1, 2.0) == Status::invalid_argument);
  CHECK(ekf.noise_scale(0) == 4.0);
  CHECK(ekf.noise_scale(1) == 1.0);
  CHECK(ekf.set_noise_scale(1, 1.0) == Status::ok);  // s = 1: the boundary is allowed
  const M2 p = ekf.covariance();
  REQUIRE(ekf.update(V2(1.0, 0.0), 0x3u, linear_obs()) == Status::ok);
  const double hph = (kH.row(0) * p * kH.row(0).transpose())(0, 0);
  CHECK(ekf.report().channel.innovation_variance[0] == doctest::Approx(hph + 4.0 * 0.04).epsilon(1e-14));
}

TEST_CASE("held states (gain row mask) do not move; Joseph form keeps P symmetric positive definite") {
  Ekf22 ekf(config22());
  const V2 keep_velocity(1.0, 0.0);
  for (int k = 0; k < 100; ++k) {
    REQUIRE(ekf.predict(linear_model()) == Status::ok);
    const double v_before = ekf.state()[1];
    REQUIRE(ekf.update(V2(0.3 * k, 1.0), 0x3u, linear_obs(), &keep_velocity) == Status::ok);
    CHECK(ekf.state()[1] == v_before);
    CHECK(Ekf22::is_positive_definite(ekf.covariance()));
    CHECK(ekf.covariance()(0, 1) == ekf.covariance()(1, 0));
  }
}

TEST_CASE("covariance health: a broken prediction is detected, flagged, and the last healthy P restored") {
  Ekf22 ekf(config22());
  REQUIRE(ekf.predict(linear_model()) == Status::ok);
  const M2 healthy = ekf.covariance();
  const V2 x = ekf.state();
  // A process noise that destroys positive definiteness.
  const auto bad_q = [](const V2& xi, V2& xn, M2& f, M2& q) noexcept {
    xn = xi;
    f.setIdentity();
    q << -100.0, 0.0, 0.0, 0.0;
    return true;
  };
  CHECK(ekf.predict(bad_q) == Status::numerical_error);
  CHECK((ekf.report().flags & filter_flag::covariance_recovered) != 0);
  CHECK(ekf.covariance() == healthy);
  // A model that returns NaN: nothing moves.
  const auto nan_model = [](const V2&, V2& xn, M2& f, M2& q) noexcept {
    xn << kNan, 0.0;
    f.setIdentity();
    q.setZero();
    return true;
  };
  CHECK(ekf.predict(nan_model) == Status::numerical_error);
  CHECK((ekf.report().flags & filter_flag::model_failed) != 0);
  CHECK(ekf.state() == x);
  CHECK(ekf.covariance() == healthy);
  // A model that says it failed.
  CHECK(ekf.predict([](const V2&, V2&, M2&, M2&) noexcept { return false; }) == Status::numerical_error);
  // Recovered: the filter works on.
  CHECK(ekf.predict(linear_model()) == Status::ok);
  CHECK(ekf.update(V2(0.0, 0.0), 0x3u, linear_obs()) == Status::ok);
}

TEST_CASE("bad settings are refused at construction, naming the field") {
  CHECK(message_of([] {
          auto c = config22();
          c.p0(0, 1) = 0.9;
          Ekf22 e(c);
        }).find("Ekf.p0") != std::string::npos);
  CHECK(message_of([] {
          auto c = config22();
          c.p0 << 1.0, 2.0, 2.0, 1.0;
          Ekf22 e(c);
        }).find("positive definite") != std::string::npos);
  CHECK(message_of([] {
          auto c = config22();
          c.r[1] = 0.0;
          Ekf22 e(c);
        }).find("Ekf.r[1]") != std::string::npos);
  CHECK(message_of([] {
          auto c = config22();
          c.x0[0] = kNan;
          Ekf22 e(c);
        }).find("Ekf.x0[0]") != std::string::npos);
  CHECK(message_of([] {
          auto c = config22();
          c.gate_probability = 0.0;
          Ekf22 e(c);
        }).find("probability") != std::string::npos);
  CHECK(message_of([] {
          auto c = config22();
          c.gate_reset_after = -1;
          Ekf22 e(c);
        }).find("gate_reset_after") != std::string::npos);
  // reset() refuses and keeps the state.
  Ekf22 e(config22());
  const V2 x = e.state();
  CHECK_THROWS_AS(e.reset(V2(0.0, 0.0), M2::Zero()), std::invalid_argument);
  CHECK(e.state() == x);
}

TEST_CASE("predict and update allocate nothing") {
  Ekf22 ekf(config22(0.99));
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 10000; ++k) {
      (void)ekf.predict(linear_model());
      (void)ekf.update(V2(std::sin(0.01 * k), k % 50 == 0 ? 1e3 : 0.0), 0x3u, linear_obs());
    }
  });
  CHECK(n == 0);
}

TEST_CASE("try_reset: reset()'s checks as a status, the filter unchanged on refusal, no allocation") {
  Ekf22 e(config22());
  const V2 x = e.state();
  const M2 p = e.covariance();
  Status a = Status::ok, b = Status::ok, c = Status::ok, d = Status::not_initialised;
  const long allocs = test::count_allocations([&] {
    a = e.try_reset(V2(std::numeric_limits<double>::quiet_NaN(), 0.0), M2::Identity());
    b = e.try_reset(V2(0.0, 0.0), (M2() << 1.0, 2.0, 2.0, 1.0).finished());  // indefinite (eigenvalues 3, -1)
    c = e.try_reset(V2(0.0, 0.0), (M2() << 1.0, 0.5, 0.0, 1.0).finished());  // not symmetric
  });
  CHECK(allocs == 0);
  CHECK(a == Status::non_finite_input);
  CHECK(b == Status::invalid_argument);
  CHECK(c == Status::invalid_argument);
  CHECK(e.state() == x);
  CHECK(e.covariance() == p);
  d = e.try_reset(V2(1.5, -2.0), (M2() << 2.0, 0.5, 0.5, 1.0).finished());
  CHECK(d == Status::ok);
  CHECK(e.state() == V2(1.5, -2.0));
  CHECK(e.covariance() == (M2() << 2.0, 0.5, 0.5, 1.0).finished());
}
