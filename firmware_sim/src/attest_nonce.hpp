#pragma once
// The nonces the firmware challenges its nodes with: OpenSSL's NIST SP 800-90A CTR-DRBG (AES-256,
// with derivation function) through EVP_RAND. In lockstep it is seeded from the scenario seed (its
// entropy input comes from OpenSSL's TEST-RAND, fed the seed's SHA-256 expansion), so that a run is
// reproducible bit for bit; in real time its parent is libcrypto's primary DRBG, seeded from the OS.
// Time-based and count-based reseeding are off in lockstep (a reseed would read the clock and
// exhaust the fixed entropy); the real-time DRBG keeps OpenSSL's defaults.
#include <cstddef>
#include <cstdint>

#include "safetwin/status.hpp"

struct evp_rand_ctx_st;

namespace safetwin::firmware {

class NonceSource {
 public:
  // Deterministic from `seed` (lockstep). Throws std::invalid_argument if the DRBG cannot start.
  explicit NonceSource(std::uint64_t seed);
  // From the operating system's entropy (real time).
  NonceSource();
  ~NonceSource();
  NonceSource(const NonceSource&) = delete;
  NonceSource& operator=(const NonceSource&) = delete;

  // Fills out[0..n) (n <= 64); numerical_error if the DRBG refused (never partial output used).
  [[nodiscard]] Status generate(std::uint8_t* out, std::size_t n) noexcept;

 private:
  evp_rand_ctx_st* parent_ = nullptr;  // TEST-RAND in lockstep, none in real time
  evp_rand_ctx_st* drbg_ = nullptr;
};

}  // namespace safetwin::firmware
