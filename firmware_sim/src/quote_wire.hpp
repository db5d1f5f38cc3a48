#pragma once
// TPM 2.0 wire format of what a quote carries, parsed in place (no copies, no allocation):
// TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE and a TPMT_SIGNATURE (ECDSA, RSASSA or RSAPSS). The bounds are those of the
// Python verifier (src/safetwin/trust/tpm_wire.py) so that both accept and refuse the same bytes:
// every length field is checked against the buffer and against its own maximum before it is used,
// a structure must end exactly at the end of its buffer, and a value no TPM writes is refused.
#include <cstddef>
#include <cstdint>

namespace safetwin::firmware::tpm {

constexpr std::uint32_t kGeneratedValue = 0xFF544347u;  // TPM_GENERATED_VALUE
constexpr std::uint16_t kStAttestQuote = 0x8018;
constexpr std::uint16_t kAlgRsa = 0x0001;
constexpr std::uint16_t kAlgSha256 = 0x000B;
constexpr std::uint16_t kAlgNull = 0x0010;
constexpr std::uint16_t kAlgEcc = 0x0023;
constexpr std::uint16_t kAlgEcdsa = 0x0018;
constexpr std::uint16_t kAlgRsassa = 0x0014;
constexpr std::uint16_t kAlgRsapss = 0x0016;
constexpr std::uint16_t kEccNistP256 = 0x0003;
constexpr std::uint32_t kRhOwner = 0x40000001u;
constexpr std::uint32_t kRhEndorsement = 0x4000000Bu;
// fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign
constexpr std::uint32_t kAkObjectAttributes =
    0x00000002u | 0x00000010u | 0x00000020u | 0x00000040u | 0x00010000u | 0x00040000u;

constexpr std::size_t kMaxAttestBytes = 1024;
constexpr std::size_t kMaxSignatureBytes = 600;  // RSA-4096 TPMT_SIGNATURE: 518 (RSA-2048 262, P-256 72)
constexpr std::size_t kMaxRsaModulusBytes = 512;
constexpr std::size_t kMaxNameBytes = 2 + 64;
constexpr std::size_t kMaxExtraDataBytes = 64;
constexpr std::size_t kMaxPcrSelections = 16;
constexpr std::size_t kMaxPcrSelectBytes = 4;
constexpr std::size_t kMaxPcrDigestBytes = 64;
constexpr std::size_t kMaxSignatureCoordBytes = 66;
constexpr std::size_t kMaxPublicBytes = 1024;  // an RSA-4096 TPMT_PUBLIC with a SHA-512 policy: 600
constexpr std::uint16_t kRsaAkBits = 2048;     // the RSA AK size accepted at enrolment (tpm_wire.RSA_AK_BITS)
// An AK's required TPMA_OBJECT (userWithAuth or a policy is the node's business) and the bit it must
// not have: tpm_wire.AK_REQUIRED_ATTRIBUTES and TPMA_OBJECT_DECRYPT.
constexpr std::uint32_t kAkRequiredAttributes = 0x00000002u | 0x00000010u | 0x00000020u | 0x00010000u | 0x00040000u;
constexpr std::uint32_t kObjectDecrypt = 0x00020000u;

// Why a structure was refused (the Python WireError kinds).
enum class WireStatus : std::uint8_t { ok = 0, truncated, oversized, malformed, wrong_type };
[[nodiscard]] const char* to_string(WireStatus s) noexcept;

struct Bytes {  // a view into the parsed buffer
  const std::uint8_t* data = nullptr;
  std::size_t size = 0;
};

struct PcrSelectionView {
  std::uint16_t hash_alg = 0;
  std::uint8_t size_of_select = 0;
  std::uint32_t bits = 0;  // bit i: PCR i selected (sizeofSelect <= 4 bytes)
};

struct AttestView {
  std::uint32_t magic = 0;
  std::uint16_t type = 0;
  Bytes qualified_signer, extra_data;
  std::uint64_t clock_ms = 0;
  std::uint32_t reset_count = 0, restart_count = 0;
  bool safe = false;
  std::uint64_t firmware_version = 0;
  std::uint32_t selection_count = 0;
  PcrSelectionView selection[kMaxPcrSelections];
  Bytes pcr_digest;
};

struct SignatureView {
  std::uint16_t sig_alg = 0, hash_alg = 0;
  Bytes r, s;  // ECDSA
  Bytes rsa;   // RSASSA / RSAPSS: the signature, as long as the modulus
};

// The parts of an ECC or RSA TPMT_PUBLIC a verifier needs (tpm_wire.PublicArea): scheme and
// scheme_hash are TPM_ALG_NULL for a key without a signing scheme; x, y for ECC, n and exponent
// (0 on the wire means 2^16 + 1, already substituted) for RSA.
struct PublicView {
  std::uint16_t type = 0;
  std::uint32_t object_attributes = 0;
  std::uint16_t scheme = 0, scheme_hash = 0;
  std::uint16_t curve = 0;
  Bytes x, y;
  std::uint16_t key_bits = 0;
  std::uint32_t exponent = 0;
  Bytes n;
};

// Each parses the whole buffer; on anything but ok the view is unspecified.
[[nodiscard]] WireStatus parse_attest(const std::uint8_t* data, std::size_t size, AttestView& out) noexcept;
[[nodiscard]] WireStatus parse_signature(const std::uint8_t* data, std::size_t size, SignatureView& out) noexcept;
// An ECC or RSA TPMT_PUBLIC with a SHA-256 nameAlg (the structure, bounded; tpm_wire.parse_public):
// what a key of that kind must be to serve as an AK is the verifier's check at enrolment.
[[nodiscard]] WireStatus parse_public(const std::uint8_t* data, std::size_t size, PublicView& out) noexcept;

}  // namespace safetwin::firmware::tpm
