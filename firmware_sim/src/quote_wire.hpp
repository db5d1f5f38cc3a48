#pragma once
// TPM 2.0 wire format of what a quote carries, parsed in place (no copies, no allocation):
// TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE and an ECDSA TPMT_SIGNATURE. The bounds are those of the
// Python verifier (src/safetwin/trust/tpm_wire.py) so that both accept and refuse the same bytes:
// every length field is checked against the buffer and against its own maximum before it is used,
// a structure must end exactly at the end of its buffer, and a value no TPM writes is refused.
#include <cstddef>
#include <cstdint>

namespace safetwin::firmware::tpm {

constexpr std::uint32_t kGeneratedValue = 0xFF544347u;  // TPM_GENERATED_VALUE
constexpr std::uint16_t kStAttestQuote = 0x8018;
constexpr std::uint16_t kAlgSha256 = 0x000B;
constexpr std::uint16_t kAlgNull = 0x0010;
constexpr std::uint16_t kAlgEcc = 0x0023;
constexpr std::uint16_t kAlgEcdsa = 0x0018;
constexpr std::uint16_t kEccNistP256 = 0x0003;
constexpr std::uint32_t kRhOwner = 0x40000001u;
constexpr std::uint32_t kRhEndorsement = 0x4000000Bu;
// fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth | restricted | sign
constexpr std::uint32_t kAkObjectAttributes =
    0x00000002u | 0x00000010u | 0x00000020u | 0x00000040u | 0x00010000u | 0x00040000u;

constexpr std::size_t kMaxAttestBytes = 1024;
constexpr std::size_t kMaxSignatureBytes = 128;
constexpr std::size_t kMaxNameBytes = 2 + 64;
constexpr std::size_t kMaxExtraDataBytes = 64;
constexpr std::size_t kMaxPcrSelections = 16;
constexpr std::size_t kMaxPcrSelectBytes = 4;
constexpr std::size_t kMaxPcrDigestBytes = 64;
constexpr std::size_t kMaxSignatureCoordBytes = 66;
constexpr std::size_t kMaxPublicBytes = 256;

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
  Bytes r, s;
};

struct EccPublicView {
  std::uint32_t object_attributes = 0;
  Bytes x, y;  // 32 bytes each
};

// Each parses the whole buffer; on anything but ok the view is unspecified.
[[nodiscard]] WireStatus parse_attest(const std::uint8_t* data, std::size_t size, AttestView& out) noexcept;
[[nodiscard]] WireStatus parse_signature(const std::uint8_t* data, std::size_t size, SignatureView& out) noexcept;
// TPMT_PUBLIC of a P-256 ECDSA-SHA256 signing key (enrolment); any other key is malformed.
[[nodiscard]] WireStatus parse_ecc_public(const std::uint8_t* data, std::size_t size, EccPublicView& out) noexcept;

}  // namespace safetwin::firmware::tpm
