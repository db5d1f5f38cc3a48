// C ABI of the estimator (safetwin_c.h): a handle around estimation::BatteryEkf.
#include <cmath>

#include "c_api_internal.hpp"

struct safetwin_ekf {
  safetwin::estimation::BatteryEkf ekf;
};

namespace safetwin::c_api {
namespace {
estimation::Measurement measurement_to_cpp(const safetwin_measurement_t& z) noexcept {
  estimation::Measurement m;
  m.voltage_a_v = z.voltage_a_v;
  m.voltage_b_v = z.voltage_b_v;
  m.temperature_k = z.temperature_k;
  m.voltage_a_valid = z.voltage_a_valid != 0;
  m.voltage_b_valid = z.voltage_b_valid != 0;
  m.temperature_valid = z.temperature_valid != 0;
  return m;
}
}  // namespace
}  // namespace safetwin::c_api

extern "C" safetwin_status_t safetwin_ekf_create(const safetwin_ekf_config_t* config, safetwin_ekf_t** out, char* msg,
                                                 size_t msg_size) {
  using namespace safetwin;
  return c_api::create(out, msg, msg_size, [&] {
    estimation::BatteryEkfConfig c = config != nullptr ? c_api::to_cpp(*config) : estimation::BatteryEkfConfig{};
    return new safetwin_ekf{estimation::BatteryEkf(std::move(c))};
  });
}

extern "C" void safetwin_ekf_destroy(safetwin_ekf_t* ekf) { delete ekf; }

extern "C" safetwin_status_t safetwin_ekf_step(safetwin_ekf_t* ekf, double current_a, const safetwin_measurement_t* z,
                                               double dt_s) {
  if (ekf == nullptr || z == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  return safetwin::c_api::to_c(ekf->ekf.step(current_a, safetwin::c_api::measurement_to_cpp(*z), dt_s));
}

extern "C" safetwin_status_t safetwin_ekf_estimate(const safetwin_ekf_t* ekf, safetwin_estimate_t* estimate) {
  if (ekf == nullptr || estimate == nullptr) return SAFETWIN_INVALID_ARGUMENT;
  const auto x = ekf->ekf.state();
  const auto p = ekf->ekf.covariance();
  for (int i = 0; i < 4; ++i) {
    estimate->x[i] = x[i];
    estimate->sigma[i] = std::sqrt(p(i, i));
    for (int j = 0; j < 4; ++j) estimate->p[4 * i + j] = p(i, j);
  }
  estimate->nis = ekf->ekf.nis();
  return SAFETWIN_OK;
}
