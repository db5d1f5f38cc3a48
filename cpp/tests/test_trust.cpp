#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>

#include "alloc_counter.hpp"
#include "safetwin/trust/cusum.hpp"
#include "safetwin/trust/trust_state.hpp"

using namespace safetwin;
using namespace safetwin::trust;

namespace {
constexpr double kNan = std::numeric_limits<double>::quiet_NaN();

// The same two-state filter written the textbook way (transition matrix, diagonal likelihood,
// normalisation), to check TrustState's scalar arithmetic against.
struct ReferenceHmm {
  double pg;  // P(good)
  TrustConfig c;
  void step(Attestation a, bool has_z, bool alarm) {
    const double T[2][2] = {{1 - c.p_compromise, c.p_compromise}, {c.p_recover, 1 - c.p_recover}};
    double prior[2] = {pg * T[0][0] + (1 - pg) * T[1][0], pg * T[0][1] + (1 - pg) * T[1][1]};
    double like[2] = {1.0, 1.0};
    if (a == Attestation::pass) {
      like[0] = c.p_pass_good;
      like[1] = c.p_pass_compromised;
    } else if (a == Attestation::fail) {
      like[0] = 1 - c.p_pass_good;
      like[1] = 1 - c.p_pass_compromised;
    }
    if (has_z) {
      like[0] *= alarm ? c.cusum.false_alarm_rate : 1 - c.cusum.false_alarm_rate;
      like[1] *= alarm ? c.p_alarm_compromised : 1 - c.p_alarm_compromised;
    }
    const double post_g = prior[0] * like[0], post_b = prior[1] * like[1];
    pg = post_g / (post_g + post_b);
  }
};
}  // namespace

TEST_CASE("CUSUM: hand-computed trace with k = 0.5") {
  CusumConfig cfg;
  cfg.shift_sigma = 1.0;
  Cusum c(cfg);
  CHECK(c.k() == 0.5);
  // g+ : 0 -> max(0, 0+1.5-0.5)=1 -> 1+2-0.5=2.5 -> 2.5-1-0.5=1 ; g- stays 0 then 0.5
  CHECK_FALSE(c.update(1.5));
  CHECK(c.g_pos() == 1.0);
  CHECK_FALSE(c.update(2.0));
  CHECK(c.g_pos() == 2.5);
  CHECK_FALSE(c.update(-1.0));
  CHECK(c.g_pos() == 1.0);
  CHECK(c.g_neg() == 0.5);
  CHECK_FALSE(c.update(kNan));  // a missing residual leaves the sums alone
  CHECK(c.g_pos() == 1.0);
  // Push g+ past h: it alarms exactly when the sum exceeds h, then restarts.
  const double h = c.h();
  double g = c.g_pos();
  int n = 0;
  while (g + 3.0 - 0.5 <= h) {
    CHECK_FALSE(c.update(3.0));
    g += 2.5;
    ++n;
  }
  CHECK(c.update(3.0));
  CHECK(c.g_pos() == 0.0);
  CHECK(c.g_neg() == 0.0);
}

TEST_CASE("CUSUM threshold meets Siegmund's ARL and the empirical false-alarm rate") {
  for (double rate : {1e-2, 1e-3}) {
    CusumConfig cfg;
    cfg.false_alarm_rate = rate;
    Cusum c(cfg);
    CHECK(cusum_arl_one_sided(c.k(), c.h()) == doctest::Approx(2.0 / rate).epsilon(1e-9));
    // Monte Carlo: honest N(0,1) innovations. Siegmund's formula is accurate to a few percent (5 % allowed)
    // for these run lengths; 20 000 expected alarms at 1e-2 give a 0.7 % sampling error.
    std::mt19937_64 rng(42);
    std::normal_distribution<double> normal(0.0, 1.0);
    const long samples = rate == 1e-2 ? 2'000'000 : 5'000'000;
    long alarms = 0;
    for (long i = 0; i < samples; ++i) alarms += c.update(normal(rng)) ? 1 : 0;
    const double empirical = static_cast<double>(alarms) / static_cast<double>(samples);
    MESSAGE("rate ", rate, " h ", c.h(), " empirical ", empirical);
    CHECK(empirical == doctest::Approx(rate).epsilon(0.05));
  }
}

TEST_CASE("CUSUM: a 1-sigma bias alarms within tens of samples") {
  Cusum c;
  int n = 0;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> normal(1.0, 1.0);
  while (!c.update(normal(rng))) ++n;
  CHECK(n < 40);  // ARL1 of (k = 0.5, h ~ 4.4) at a 1-sigma shift is about 10
}

TEST_CASE("trust matches the textbook HMM forward filter, step by step") {
  TrustConfig cfg;
  TrustState ts(cfg, 1);
  ReferenceHmm ref{cfg.trust0, cfg};
  std::mt19937_64 rng(3);
  std::normal_distribution<double> normal(0.0, 1.0);
  Cusum shadow(cfg.cusum);
  for (int k = 0; k < 400; ++k) {
    const Attestation a = k % 7 == 0 ? Attestation::none : (k > 200 && k < 210 ? Attestation::fail : Attestation::pass);
    const double z = normal(rng) + (k > 300 ? 2.0 : 0.0);
    REQUIRE(ts.step(&a, &z, 1) == Status::ok);
    const bool alarm = shadow.update(z);
    CHECK(ts.report(0).alarm == alarm);
    ref.step(a, true, alarm);
    CHECK(ts.trust(0) == doctest::Approx(std::fmax(ref.pg, cfg.trust_min)).epsilon(1e-12));
  }
}

TEST_CASE("trust < 0.1 within 3 cycles of a failed attestation, recovers after clean attestation") {
  TrustConfig cfg;
  TrustState ts(cfg, 2);
  std::array<Attestation, 2> att{Attestation::pass, Attestation::pass};
  std::array<double, 2> z{0.0, 0.0};
  for (int k = 0; k < 200; ++k) REQUIRE(ts.step(att.data(), z.data(), 2) == Status::ok);
  CHECK(ts.trust(0) > 0.9999);
  CHECK(ts.noise_scale(0) == doctest::Approx(1.0).epsilon(1e-3));
  att[0] = Attestation::fail;
  int cycles = 0;
  while (ts.trust(0) >= 0.1) {
    REQUIRE(ts.step(att.data(), z.data(), 2) == Status::ok);
    ++cycles;
    REQUIRE(cycles <= 3);
  }
  MESSAGE("cycles to trust < 0.1: ", cycles);
  CHECK(ts.distrusted(0));
  CHECK_FALSE(ts.distrusted(1));
  CHECK(ts.distrusted_mask() == 1U);
  CHECK(ts.report(0).attestation_failed);
  for (int k = 0; k < 20; ++k) REQUIRE(ts.step(att.data(), z.data(), 2) == Status::ok);
  // The floor of repeated failures: prediction lifts P(good) to about p_recover, a failed quote
  // multiplies the odds by (1 - p_pass_good) / (1 - p_pass_compromised) = 0.002.
  CHECK(ts.trust(0) == doctest::Approx(cfg.p_recover * 0.002).epsilon(0.01));
  CHECK(ts.noise_scale(0) == doctest::Approx(1.0 / ts.trust(0)));
  CHECK(ts.noise_scale(0) > 1e5);
  // Clean again: the drift and the passing quotes bring it back, but not at once.
  att[0] = Attestation::pass;
  int back = 0;
  while (ts.trust(0) < 0.9) {
    REQUIRE(ts.step(att.data(), z.data(), 2) == Status::ok);
    ++back;
    REQUIRE(back < 100);
  }
  MESSAGE("cycles to regain trust 0.9: ", back);
  CHECK(back >= 5);
  CHECK_FALSE(ts.distrusted(0));
  CHECK(ts.trust(1) > 0.9999);
}

TEST_CASE("silence fails closed after max_cycles_without_verdict") {
  TrustConfig cfg;
  cfg.max_cycles_without_verdict = 3;
  TrustState ts(cfg, 1);
  const Attestation none = Attestation::none;
  for (int k = 0; k < 3; ++k) {
    REQUIRE(ts.step(&none, nullptr, 1) == Status::ok);
    CHECK_FALSE(ts.report(0).attestation_failed);
  }
  REQUIRE(ts.step(&none, nullptr, 1) == Status::ok);
  CHECK(ts.report(0).attestation_failed);
  CHECK(ts.report(0).residual_missing);
  for (int k = 0; k < 3; ++k) REQUIRE(ts.step(&none, nullptr, 1) == Status::ok);
  CHECK(ts.distrusted(0));
}

TEST_CASE("CUSUM alarms lower trust more weakly than failed attestation") {
  TrustConfig cfg;
  TrustState by_alarm(cfg, 1), by_fail(cfg, 1);
  const Attestation pass = Attestation::pass, fail = Attestation::fail;
  const double big = 50.0, zero = 0.0;  // one huge innovation alarms at once
  REQUIRE(by_alarm.step(&pass, &big, 1) == Status::ok);
  REQUIRE(by_fail.step(&fail, &zero, 1) == Status::ok);
  CHECK(by_alarm.report(0).alarm);
  CHECK(by_alarm.trust(0) < cfg.trust0);
  CHECK(by_fail.trust(0) < by_alarm.trust(0));
}

TEST_CASE("all_distrusted over a node mask (the monitor's stop condition)") {
  TrustState ts(TrustConfig{}, 3);
  std::array<Attestation, 3> att{Attestation::fail, Attestation::fail, Attestation::pass};
  for (int k = 0; k < 5; ++k) REQUIRE(ts.step(att.data(), nullptr, 3) == Status::ok);
  CHECK(ts.all_distrusted(0b011));
  CHECK_FALSE(ts.all_distrusted(0b111));
  CHECK_FALSE(ts.all_distrusted(0));
}

TEST_CASE("bad input refused, state unchanged; bad config names the field") {
  TrustState ts(TrustConfig{}, 2);
  std::array<Attestation, 2> att{Attestation::fail, Attestation::fail};
  const double before = ts.trust(0);
  CHECK(ts.step(att.data(), nullptr, 1) == Status::invalid_argument);
  CHECK(ts.step(nullptr, nullptr, 2) == Status::invalid_argument);
  att[1] = static_cast<Attestation>(8);  // first code past the reasons
  CHECK(ts.step(att.data(), nullptr, 2) == Status::invalid_argument);
  CHECK(ts.trust(0) == before);

  auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) { return std::string(e.what()); }
    return std::string("no throw");
  };
  TrustConfig c;
  c.p_pass_compromised = 0.9999;
  CHECK(message([&] { TrustState t(c, 1); }).find("TrustConfig.p_pass_compromised") != std::string::npos);
  c = TrustConfig{};
  c.trust_eps = 0.0;
  CHECK(message([&] { TrustState t(c, 1); }).find("TrustConfig.trust_eps") != std::string::npos);
  c = TrustConfig{};
  c.cusum.false_alarm_rate = 0.9;
  CHECK(message([&] { TrustState t(c, 1); }).find("CusumConfig.false_alarm_rate") != std::string::npos);
  CHECK(message([&] { TrustState t(TrustConfig{}, 0); }).find("nodes") != std::string::npos);
  CHECK(message([&] { TrustState t(TrustConfig{}, kMaxNodes + 1); }).find("nodes") != std::string::npos);
}

TEST_CASE("noise scale map: 1 / max(trust, eps), never below 1") {
  CHECK(noise_scale_from_trust(1.0, 1e-3) == 1.0);
  CHECK(noise_scale_from_trust(0.5, 1e-3) == 2.0);
  CHECK(noise_scale_from_trust(1e-6, 1e-3) == doctest::Approx(1000.0));
}

TEST_CASE("trust step allocates nothing") {
  TrustState ts(TrustConfig{}, kMaxNodes);
  std::array<Attestation, kMaxNodes> att{};
  std::array<double, kMaxNodes> z{};
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (double& v : z) v = normal(rng);
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 100000; ++k) {
      att[k % kMaxNodes] = static_cast<Attestation>(k % 3);
      z[k % kMaxNodes] = normal(rng);
      (void)ts.step(att.data(), z.data(), kMaxNodes);
    }
  });
  CHECK(n == 0);
}

TEST_CASE("TrustState: every failure reason weighs its own likelihood pair (hand-computed posteriors)") {
  // One step from trust0 = 0.99 with no transition and no residual: the posterior is
  // 0.99 Lg / (0.99 Lg + 0.01 Lc), computed here by hand from the documented defaults.
  TrustConfig c;
  c.p_compromise = 0.0;
  c.p_recover = 0.0;
  struct Case {
    Attestation a;
    double lg, lc, expected;
  };
  const Case cases[] = {
      {Attestation::pass, 0.999, 0.5, 0.98901 / (0.98901 + 0.005)},
      {Attestation::fail, 0.001, 0.5, 0.00099 / (0.00099 + 0.005)},             // 0.16528...
      {Attestation::fail_signature, 1e-6, 0.1, 0.99e-6 / (0.99e-6 + 0.001)},    // 9.89e-4
      {Attestation::fail_pcr, 1e-5, 0.05, 0.99e-5 / (0.99e-5 + 0.0005)},        // 0.01942
      {Attestation::fail_replay, 1e-5, 0.1, 0.99e-5 / (0.99e-5 + 0.001)},       // 0.00980
      {Attestation::fail_malformed, 1e-4, 0.02, 0.99e-4 / (0.99e-4 + 0.0002)},  // 0.3311
      {Attestation::timeout, 8e-4, 0.01, 0.000792 / (0.000792 + 0.0001)},       // 0.8879
  };
  double after[8] = {};
  for (const auto& k : cases) {
    TrustState s(c, 1);
    CHECK(s.likelihood(k.a).good == doctest::Approx(k.lg).epsilon(1e-15));
    CHECK(s.likelihood(k.a).compromised == doctest::Approx(k.lc).epsilon(1e-15));
    REQUIRE(s.step(&k.a, nullptr, 1) == Status::ok);
    CHECK(s.trust(0) == doctest::Approx(k.expected).epsilon(1e-12));
    CHECK(s.report(0).verdict == k.a);
    CHECK(s.report(0).attestation_failed == (k.a != Attestation::pass));
    after[static_cast<int>(k.a)] = s.trust(0);
  }
  // The documented order: a timeout weighs least, then malformed, generic fail, pcr, replay, signature.
  CHECK(after[7] > after[6]);
  CHECK(after[6] > after[2]);
  CHECK(after[2] > after[4]);
  CHECK(after[4] > after[5]);
  CHECK(after[5] > after[3]);
  TrustState s(c, 1);
  const Attestation bad = static_cast<Attestation>(8);
  CHECK(s.step(&bad, nullptr, 1) == Status::invalid_argument);
  CHECK(s.trust(0) == 0.99);  // state unchanged after a refused call
}

TEST_CASE("TrustState: silence past the limit weighs as a generic failure, not as a timeout") {
  TrustConfig c;
  c.p_compromise = 0.0;
  c.p_recover = 0.0;
  c.max_cycles_without_verdict = 2;
  TrustState s(c, 1);
  const Attestation none = Attestation::none;
  for (int k = 0; k < 2; ++k) REQUIRE(s.step(&none, nullptr, 1) == Status::ok);
  CHECK(s.trust(0) == 0.99);
  REQUIRE(s.step(&none, nullptr, 1) == Status::ok);
  CHECK(s.report(0).verdict == Attestation::fail);
  CHECK(s.trust(0) == doctest::Approx(0.00099 / (0.00099 + 0.005)).epsilon(1e-12));
}

TEST_CASE("TrustConfig: failure reasons are validated by name") {
  auto expect_error = [](TrustConfig c, const std::string& field) {
    try {
      c.validate();
      FAIL("accepted");
    } catch (const std::invalid_argument& e) { CHECK(std::string(e.what()).find(field) != std::string::npos); }
  };
  TrustConfig c;
  c.fail_pcr = {0.05, 1e-5};  // evidence pointing the wrong way
  expect_error(c, "TrustConfig.fail_pcr.compromised");
  c = TrustConfig{};
  c.fail_replay.good = 0.0;
  expect_error(c, "TrustConfig.fail_replay.good");
  c = TrustConfig{};
  c.timeout = {0.01, 0.02};  // good likelihoods now sum above 1 - p_pass_good = 1e-3
  expect_error(c, "above 1 - p_pass_good");
  c = TrustConfig{};
  c.fail_signature.compromised = 0.45;  // compromised ones above 1 - p_pass_compromised = 0.5
  expect_error(c, "above 1 - p_pass_compromised");
  TrustConfig{}.validate();  // the defaults are consistent
}
