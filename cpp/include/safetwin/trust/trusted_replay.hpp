#pragma once
// A logged (or simulated) sensor stream of one cell run through BatteryEkf with EstimatorTrust in
// one call, so that benches and the attack demo loop over time in C++. The attestation verdicts
// are inputs: signatures are verified outside (Python), one verdict per node and row.
//
// Row k: time t_s[k], current_a[k] (finite), voltage_a_v / voltage_b_v / temperature_k (NaN: a
// missing sample of that channel; a null column: no such channel), attestation[k * nodes + i].
// Per row: EstimatorTrust::step (residuals of row k-1, verdicts of row k), then the EKF step.
// dt of row k is t_s[k] - t_s[k-1]; times must be finite and strictly increasing.
#include <cstddef>
#include <cstdint>

#include "safetwin/estimation/battery_ekf.hpp"
#include "safetwin/status.hpp"
#include "safetwin/trust/estimator_trust.hpp"

namespace safetwin::trust {

struct TrustedReplayInput {
  const double* t_s = nullptr;          // n, required
  const double* current_a = nullptr;    // n, required
  const double* voltage_a_v = nullptr;  // n or null
  const double* voltage_b_v = nullptr;
  const double* temperature_k = nullptr;
  const std::uint8_t* attestation = nullptr;  // n x nodes (Attestation codes), required
  std::size_t n = 0;
};

struct TrustedReplayOutput {      // each pointer may be null
  double* soc = nullptr;          // n
  double* soc_sigma = nullptr;    // n
  double* nis = nullptr;          // n: joint NIS of the row's update
  std::uint8_t* gated = nullptr;  // n: bit c set when channel c was rejected by the chi-square gate
  double* trust = nullptr;        // n x nodes
  std::uint8_t* alarm = nullptr;  // n x nodes: the node's CUSUM alarmed
  double* residual = nullptr;     // n x nodes: the residual fed to the node's CUSUM (NaN: none)
};

struct TrustedReplaySummary {
  std::size_t rows_gated = 0;        // rows where the chi-square gate rejected some channel
  std::size_t numerical_errors = 0;  // EKF steps that reported numerical_error
};

// invalid_argument (nothing run) when a required pointer is null, the times are not finite and
// strictly increasing, a current is non-finite or a verdict code is unknown; ok otherwise.
[[nodiscard]] Status trusted_replay(estimation::BatteryEkf& ekf, EstimatorTrust& trust, const TrustedReplayInput& in,
                                    const TrustedReplayOutput& out, TrustedReplaySummary* summary = nullptr) noexcept;

}  // namespace safetwin::trust
