#include "quote_wire.hpp"

namespace safetwin::firmware::tpm {

const char* to_string(WireStatus s) noexcept {
  switch (s) {
    case WireStatus::ok: return "ok";
    case WireStatus::truncated: return "truncated";
    case WireStatus::oversized: return "oversized";
    case WireStatus::malformed: return "malformed";
    case WireStatus::wrong_type: return "wrong_type";
  }
  return "unknown";
}

namespace {

// Bounds-checked big-endian reader; the first failure sticks (later reads return zeros), so the
// parsers read straight through and look at status() where a value decides what follows.
class Reader {
 public:
  Reader(const std::uint8_t* d, std::size_t n) noexcept : d_(d), n_(n) {}
  [[nodiscard]] bool ok() const noexcept { return st_ == WireStatus::ok; }
  [[nodiscard]] WireStatus status() const noexcept { return st_; }
  void fail(WireStatus s) noexcept {
    if (ok()) st_ = s;
  }
  [[nodiscard]] std::uint64_t uint(std::size_t bytes) noexcept {
    if (!need(bytes)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < bytes; ++i) v = v << 8 | d_[pos_ + i];
    pos_ += bytes;
    return v;
  }
  [[nodiscard]] Bytes take(std::size_t n) noexcept {
    if (!need(n)) return {};
    Bytes b{d_ + pos_, n};
    pos_ += n;
    return b;
  }
  [[nodiscard]] Bytes tpm2b(std::size_t max_size) noexcept {
    const auto size = static_cast<std::size_t>(uint(2));
    if (!ok()) return {};
    if (size > max_size) {
      fail(WireStatus::oversized);
      return {};
    }
    return take(size);
  }
  void finish() noexcept {
    if (ok() && pos_ != n_) fail(WireStatus::oversized);  // trailing bytes
  }

 private:
  [[nodiscard]] bool need(std::size_t k) noexcept {
    if (!ok()) return false;
    if (k > n_ - pos_) {
      fail(WireStatus::truncated);
      return false;
    }
    return true;
  }
  const std::uint8_t* d_;
  std::size_t n_;
  std::size_t pos_ = 0;
  WireStatus st_ = WireStatus::ok;
};

}  // namespace

WireStatus parse_attest(const std::uint8_t* data, std::size_t size, AttestView& out) noexcept {
  if (data == nullptr && size != 0) return WireStatus::malformed;
  if (size > kMaxAttestBytes) return WireStatus::oversized;
  Reader r(data, size);
  out.magic = static_cast<std::uint32_t>(r.uint(4));
  out.type = static_cast<std::uint16_t>(r.uint(2));
  if (!r.ok()) return r.status();
  // Other attestation types carry another union member: nothing further can be parsed.
  if (out.type != kStAttestQuote) return WireStatus::wrong_type;
  out.qualified_signer = r.tpm2b(kMaxNameBytes);
  out.extra_data = r.tpm2b(kMaxExtraDataBytes);
  out.clock_ms = r.uint(8);
  out.reset_count = static_cast<std::uint32_t>(r.uint(4));
  out.restart_count = static_cast<std::uint32_t>(r.uint(4));
  const auto safe = r.uint(1);
  if (r.ok() && safe > 1) r.fail(WireStatus::malformed);  // a TPMI_YES_NO is 0 or 1
  out.safe = safe == 1;
  out.firmware_version = r.uint(8);
  const auto count = r.uint(4);
  if (r.ok() && count > kMaxPcrSelections) r.fail(WireStatus::oversized);
  if (!r.ok()) return r.status();
  out.selection_count = static_cast<std::uint32_t>(count);
  for (std::uint32_t i = 0; i < out.selection_count && r.ok(); ++i) {
    PcrSelectionView& sel = out.selection[i];
    sel.hash_alg = static_cast<std::uint16_t>(r.uint(2));
    sel.size_of_select = static_cast<std::uint8_t>(r.uint(1));
    if (r.ok() && sel.size_of_select > kMaxPcrSelectBytes) r.fail(WireStatus::oversized);
    const Bytes bitmap = r.take(sel.size_of_select);
    sel.bits = 0;
    for (std::size_t b = 0; b < bitmap.size; ++b) sel.bits |= static_cast<std::uint32_t>(bitmap.data[b]) << (8 * b);
  }
  out.pcr_digest = r.tpm2b(kMaxPcrDigestBytes);
  r.finish();
  return r.status();
}

WireStatus parse_signature(const std::uint8_t* data, std::size_t size, SignatureView& out) noexcept {
  if (data == nullptr && size != 0) return WireStatus::malformed;
  if (size > kMaxSignatureBytes) return WireStatus::oversized;
  Reader r(data, size);
  out.sig_alg = static_cast<std::uint16_t>(r.uint(2));
  const bool ecdsa = out.sig_alg == kAlgEcdsa;
  if (r.ok() && !ecdsa && out.sig_alg != kAlgRsassa && out.sig_alg != kAlgRsapss) r.fail(WireStatus::malformed);
  out.hash_alg = static_cast<std::uint16_t>(r.uint(2));
  if (ecdsa) {
    out.r = r.tpm2b(kMaxSignatureCoordBytes);
    out.s = r.tpm2b(kMaxSignatureCoordBytes);
  } else {
    out.rsa = r.tpm2b(kMaxRsaModulusBytes);
  }
  r.finish();
  return r.status();
}

WireStatus parse_public(const std::uint8_t* data, std::size_t size, PublicView& out) noexcept {
  if (data == nullptr && size != 0) return WireStatus::malformed;
  if (size > kMaxPublicBytes) return WireStatus::oversized;
  Reader r(data, size);
  out.type = static_cast<std::uint16_t>(r.uint(2));
  if (r.ok() && out.type != kAlgEcc && out.type != kAlgRsa) r.fail(WireStatus::malformed);
  if (r.uint(2) != kAlgSha256) r.fail(WireStatus::malformed);  // nameAlg
  out.object_attributes = static_cast<std::uint32_t>(r.uint(4));
  (void)r.tpm2b(64);            // authPolicy
  if (r.uint(2) != kAlgNull) {  // symmetric: keyBits and mode follow (a storage key's; refused as an AK later)
    (void)r.uint(2);
    (void)r.uint(2);
  }
  out.scheme = static_cast<std::uint16_t>(r.uint(2));
  out.scheme_hash = out.scheme != kAlgNull ? static_cast<std::uint16_t>(r.uint(2)) : kAlgNull;
  if (out.type == kAlgEcc) {
    out.curve = static_cast<std::uint16_t>(r.uint(2));
    if (r.uint(2) != kAlgNull) (void)r.uint(2);  // kdf scheme, its hash
    out.x = r.tpm2b(kMaxSignatureCoordBytes);
    out.y = r.tpm2b(kMaxSignatureCoordBytes);
  } else {
    out.key_bits = static_cast<std::uint16_t>(r.uint(2));
    const auto exponent = static_cast<std::uint32_t>(r.uint(4));
    out.exponent = exponent == 0 ? 65537u : exponent;
    out.n = r.tpm2b(kMaxRsaModulusBytes);
    if (r.ok() && out.n.size * 8 != out.key_bits) r.fail(WireStatus::malformed);  // unique must be keyBits long
  }
  r.finish();
  return r.status();
}

}  // namespace safetwin::firmware::tpm
