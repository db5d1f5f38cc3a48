#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "alloc_counter.hpp"
#include "safetwin/battery/ageing.hpp"

using namespace safetwin;
using namespace safetwin::battery;

namespace {
constexpr double kDay = 86400.0;

// Schmalstieg 2014, Table 3, written out here independently of ageing.cpp.
double alpha_cap(double v, double t_k) { return (7.543 * v - 23.75) * 1e6 * std::exp(-6976.0 / t_k); }
double alpha_res(double v, double t_k) { return (5.270 * v - 16.32) * 1e5 * std::exp(-5986.0 / t_k); }
double beta_cap(double v, double dod) { return 7.348e-3 * (v - 3.667) * (v - 3.667) + 7.600e-4 + 4.081e-3 * dod; }
double beta_res(double v, double dod) { return 2.153e-4 * (v - 3.725) * (v - 3.725) - 1.521e-5 + 2.798e-4 * dod; }

AgeingStress storage(double days, double temp_k, double soc) {
  AgeingStress s;
  s.duration_s = days * kDay;
  s.temp_k = temp_k;
  s.soc_mean = soc;
  return s;
}
}  // namespace

TEST_CASE("calendar ageing at fixed T and SOC follows alpha t^0.75 of the paper, interval by interval") {
  const AgeingModel model;
  const double soc = 0.9, temp_k = 323.15;
  const double v = OcvTable::lgm50_chen2020().voltage_v(soc);
  AgeingState st;
  for (int day = 1; day <= 500; ++day) {
    REQUIRE(model.advance(storage(1.0, temp_k, soc), st) == Status::ok);
    if (day % 50 == 0) {
      CHECK(st.cal_cap_fade == doctest::Approx(alpha_cap(v, temp_k) * std::pow(day, 0.75)).epsilon(1e-10));
      CHECK(st.cal_res_growth == doctest::Approx(alpha_res(v, temp_k) * std::pow(day, 0.75)).epsilon(1e-10));
    }
  }
  CHECK(st.cyc_cap_fade == 0.0);
  CHECK(st.elapsed_s == doctest::Approx(500 * kDay));
  // A magnitude check against the paper's Fig. 3 range: tens of percent after 500 days at 50 degC, high SOC.
  CHECK(st.capacity_factor() < 0.9);
  CHECK(st.capacity_factor() > 0.5);
}

TEST_CASE("Arrhenius ratio of calendar fade between two temperatures") {
  const AgeingModel model;
  AgeingState cold, hot;
  REQUIRE(model.advance(storage(200.0, 298.15, 0.5), cold) == Status::ok);
  REQUIRE(model.advance(storage(200.0, 318.15, 0.5), hot) == Status::ok);
  CHECK(hot.cal_cap_fade / cold.cal_cap_fade ==
        doctest::Approx(std::exp(6976.0 / 298.15 - 6976.0 / 318.15)).epsilon(1e-12));
  CHECK(hot.cal_res_growth / cold.cal_res_growth ==
        doctest::Approx(std::exp(5986.0 / 298.15 - 5986.0 / 318.15)).epsilon(1e-12));
}

TEST_CASE("cycle ageing: sqrt of the scaled throughput for capacity, linear for resistance") {
  const AgeingModel model;
  const double soc = 0.5, dod = 0.8;
  const double v = OcvTable::lgm50_chen2020().voltage_v(soc);
  AgeingState st;
  AgeingStress cyc;  // 100 full cycles of 5.15 Ah (charge and discharge) per interval, no time
  cyc.soc_mean = soc;
  cyc.dod = dod;
  cyc.throughput_ah = 100 * 2 * 5.15 * dod;
  for (int k = 1; k <= 10; ++k) REQUIRE(model.advance(cyc, st) == Status::ok);
  const double q_ref = 10 * cyc.throughput_ah * 2.15 / 5.15;
  CHECK(st.cyc_cap_fade == doctest::Approx(beta_cap(v, dod) * std::sqrt(q_ref)).epsilon(1e-10));
  CHECK(st.cyc_res_growth == doctest::Approx(beta_res(v, dod) * q_ref).epsilon(1e-10));
  CHECK(st.cal_cap_fade == 0.0);
  CHECK(st.throughput_ah == doctest::Approx(10 * cyc.throughput_ah));
}

TEST_CASE("changing stress: equivalent-time rule (hand computed)") {
  const AgeingModel model;
  const double v = OcvTable::lgm50_chen2020().voltage_v(0.5);
  AgeingState st;
  REQUIRE(model.advance(storage(100.0, 298.15, 0.5), st) == Status::ok);
  REQUIRE(model.advance(storage(50.0, 313.15, 0.5), st) == Status::ok);
  const double a1 = alpha_cap(v, 298.15), a2 = alpha_cap(v, 313.15);
  const double f1 = a1 * std::pow(100.0, 0.75);
  const double t_eq = std::pow(f1 / a2, 1.0 / 0.75);
  CHECK(st.cal_cap_fade == doctest::Approx(a2 * std::pow(t_eq + 50.0, 0.75)).epsilon(1e-10));
}

TEST_CASE("coefficients outside the fit range are clamped at zero; rate factors scale them") {
  AgeingParams p;
  const AgeingModel model(p);
  // At SOC 0 the OCV is below ~3.1 V where the paper's linear V terms turn negative.
  const AgeingCoefficients c = model.coefficients(298.15, 0.0, 0.0);
  CHECK(c.alpha_cap_per_day_pow == 0.0);
  CHECK(c.alpha_res_per_day_pow == 0.0);
  p.calendar_rate_factor = 1.5;
  p.cycle_rate_factor = 0.5;
  const AgeingModel scaled(p);
  const AgeingCoefficients a = model.coefficients(310.0, 0.7, 0.5), b = scaled.coefficients(310.0, 0.7, 0.5);
  CHECK(b.alpha_cap_per_day_pow == doctest::Approx(1.5 * a.alpha_cap_per_day_pow));
  CHECK(b.beta_cap_per_ah_pow == doctest::Approx(0.5 * a.beta_cap_per_ah_pow));
}

TEST_CASE("a refused interval leaves the state unchanged; bad parameters name the field") {
  const AgeingModel model;
  AgeingState st;
  REQUIRE(model.advance(storage(10.0, 300.0, 0.6), st) == Status::ok);
  const AgeingState before = st;
  AgeingStress bad = storage(1.0, 300.0, 0.6);
  bad.temp_k = std::numeric_limits<double>::quiet_NaN();
  CHECK(model.advance(bad, st) == Status::non_finite_input);
  bad = storage(1.0, 300.0, 1.2);
  CHECK(model.advance(bad, st) == Status::invalid_argument);
  bad = storage(-1.0, 300.0, 0.5);
  CHECK(model.advance(bad, st) == Status::invalid_argument);
  bad = storage(1.0, 300.0, 0.5);
  bad.dod = 1.5;
  CHECK(model.advance(bad, st) == Status::invalid_argument);
  CHECK(st.cal_cap_fade == before.cal_cap_fade);
  CHECK(st.elapsed_s == before.elapsed_s);
  AgeingParams p;
  p.time_exponent = 2.0;
  CHECK_THROWS_WITH_AS(AgeingModel{p}, doctest::Contains("AgeingParams.time_exponent"), std::invalid_argument);
}

TEST_CASE("advance allocates nothing") {
  const AgeingModel model;
  AgeingState st;
  AgeingStress s = storage(1.0, 305.0, 0.6);
  s.throughput_ah = 10.3;
  s.dod = 1.0;
  const long n = test::count_allocations([&] {
    for (int k = 0; k < 10000; ++k) (void)model.advance(s, st);
  });
  CHECK(n == 0);
}
