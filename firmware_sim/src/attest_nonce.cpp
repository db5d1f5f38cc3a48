#include "attest_nonce.hpp"

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace safetwin::firmware {

namespace {

evp_rand_ctx_st* new_ctr_drbg(evp_rand_ctx_st* parent, bool deterministic) {
  EVP_RAND* alg = EVP_RAND_fetch(nullptr, "CTR-DRBG", nullptr);
  EVP_RAND_CTX* ctx = alg ? EVP_RAND_CTX_new(alg, parent) : nullptr;
  EVP_RAND_free(alg);
  if (!ctx) return nullptr;
  char cipher[] = "AES-256-CTR";
  unsigned int zero = 0;
  std::uint64_t zero_time = 0;
  OSSL_PARAM params[4];
  std::size_t k = 0;
  params[k++] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, cipher, 0);
  if (deterministic) {
    params[k++] = OSSL_PARAM_construct_uint(OSSL_DRBG_PARAM_RESEED_REQUESTS, &zero);
    params[k++] = OSSL_PARAM_construct_uint64(OSSL_DRBG_PARAM_RESEED_TIME_INTERVAL, &zero_time);
  }
  params[k] = OSSL_PARAM_construct_end();
  static const unsigned char personal[] = "safetwin firmware attestation nonce";
  if (EVP_RAND_CTX_set_params(ctx, params) != 1 ||
      EVP_RAND_instantiate(ctx, 256, 0, personal, sizeof personal - 1, nullptr) != 1) {
    EVP_RAND_CTX_free(ctx);
    return nullptr;
  }
  return ctx;
}

}  // namespace

NonceSource::NonceSource(std::uint64_t seed) {
  // Entropy input and nonce of the instantiation: SHA-256 of (label, seed), 2 blocks + 1 block.
  unsigned char entropy[64], nonce[32], in[16];
  for (int i = 0; i < 8; ++i) in[8 + i] = static_cast<unsigned char>(seed >> (8 * (7 - i)));
  unsigned int len = 0;
  bool ok = true;
  for (int block = 0; block < 3; ++block) {
    std::memcpy(in, "stnonce", 7);
    in[7] = static_cast<unsigned char>(block);
    ok = ok && EVP_Digest(in, sizeof in, block < 2 ? entropy + 32 * block : nonce, &len, EVP_sha256(), nullptr) == 1;
  }
  EVP_RAND* test = ok ? EVP_RAND_fetch(nullptr, "TEST-RAND", nullptr) : nullptr;
  parent_ = test ? EVP_RAND_CTX_new(test, nullptr) : nullptr;
  EVP_RAND_free(test);
  unsigned int strength = 256;
  OSSL_PARAM params[] = {OSSL_PARAM_construct_uint(OSSL_RAND_PARAM_STRENGTH, &strength),
                         OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_ENTROPY, entropy, sizeof entropy),
                         OSSL_PARAM_construct_octet_string(OSSL_RAND_PARAM_TEST_NONCE, nonce, sizeof nonce),
                         OSSL_PARAM_construct_end()};
  ok = parent_ && EVP_RAND_CTX_set_params(parent_, params) == 1 &&
       EVP_RAND_instantiate(parent_, strength, 0, nullptr, 0, nullptr) == 1;
  if (ok) drbg_ = new_ctr_drbg(parent_, true);
  if (!drbg_) {
    EVP_RAND_CTX_free(parent_);
    ERR_clear_error();
    throw std::invalid_argument("NonceSource: OpenSSL CTR-DRBG (seeded through TEST-RAND) did not start");
  }
}

NonceSource::NonceSource() {
  drbg_ = new_ctr_drbg(RAND_get0_primary(nullptr), false);
  if (!drbg_) {
    ERR_clear_error();
    throw std::invalid_argument("NonceSource: OpenSSL CTR-DRBG (OS-seeded) did not start");
  }
}

NonceSource::~NonceSource() {
  EVP_RAND_CTX_free(drbg_);
  EVP_RAND_CTX_free(parent_);
}

Status NonceSource::generate(std::uint8_t* out, std::size_t n) noexcept {
  if (out == nullptr || n == 0 || n > 64) return Status::invalid_argument;
  if (EVP_RAND_generate(drbg_, out, n, 256, 0, nullptr, 0) != 1) {
    ERR_clear_error();
    std::memset(out, 0, n);
    return Status::numerical_error;
  }
  return Status::ok;
}

}  // namespace safetwin::firmware
