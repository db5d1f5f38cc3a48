"""TPM 2.0 wire format (big-endian) of the structures an attestation quote carries.

Only what a quote needs: ``TPMS_ATTEST`` of type ``TPM_ST_ATTEST_QUOTE``, the ``TPMT_PUBLIC`` of
an attestation key (ECC P-256 with ECDSA, or RSA-2048 with RSASSA-PKCS1-v1_5 or RSAPSS, SHA-256)
or of an endorsement key (to compute Names and qualified Names) and the ``TPMT_SIGNATURE``. Layouts follow TPM 2.0 Library Part 2 (Structures); a quote from a real TPM
parses here byte for byte (tests compare with tpm2-pytss's own unmarshalling of swtpm quotes).

Parsing never trusts a length field: every read is bounds-checked against the buffer and raises
:class:`WireError` (a ``ValueError``) naming the field, so a truncated, padded or oversized blob is
a clean rejection, never an ``IndexError`` or a huge allocation.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

# --- constants (TPM 2.0 Part 2)
TPM_GENERATED_VALUE = 0xFF544347
TPM_ST_ATTEST_QUOTE = 0x8018
TPM_ALG_RSA = 0x0001
TPM_ALG_SHA256 = 0x000B
TPM_ALG_NULL = 0x0010
TPM_ALG_RSASSA = 0x0014
TPM_ALG_RSAPSS = 0x0016
TPM_ALG_ECC = 0x0023
TPM_ALG_ECDSA = 0x0018
SIGNATURE_SCHEMES = {TPM_ALG_ECC: (TPM_ALG_ECDSA,), TPM_ALG_RSA: (TPM_ALG_RSASSA, TPM_ALG_RSAPSS)}
TPM_ECC_NIST_P256 = 0x0003
TPM_RH_OWNER = 0x40000001
TPM_RH_ENDORSEMENT = 0x4000000B
SHA256_SIZE = 32
P256_COORD_SIZE = 32
# TPMA_OBJECT of an attestation key: fixedTPM | fixedParent | sensitiveDataOrigin | userWithAuth
# | restricted | sign. Restricted signing keys only sign TPM-generated data (quotes), which is
# what stops a compromised host from making a key sign a forged TPMS_ATTEST.
AK_OBJECT_ATTRIBUTES = 0x00000002 | 0x00000010 | 0x00000020 | 0x00000040 | 0x00010000 | 0x00040000
# What the verifier requires of an AK (userWithAuth or a policy is the node's business) and of an
# EK (a restricted decryption key that never leaves its TPM: the TCG EK profile's templates).
TPMA_OBJECT_DECRYPT = 0x00020000
AK_REQUIRED_ATTRIBUTES = 0x00000002 | 0x00000010 | 0x00000020 | 0x00010000 | 0x00040000
EK_REQUIRED_ATTRIBUTES = 0x00000002 | 0x00000010 | 0x00000020 | 0x00010000 | TPMA_OBJECT_DECRYPT

# Upper bounds a well-formed quote stays far below (a TPM2B_ATTEST is at most sizeof(TPMS_ATTEST),
# about 2 kB with the largest union member); anything larger is refused before parsing.
MAX_ATTEST_BYTES = 1024
MAX_SIGNATURE_BYTES = 600  # an RSA-4096 TPMT_SIGNATURE is 518 bytes (RSA-2048: 262, ECDSA P-256: 72)
MAX_RSA_MODULUS_BYTES = 512
RSA_AK_BITS = 2048  # the AK sizes accepted at enrolment (EKs may be larger: only their Name is used)
MAX_NAME_BYTES = 2 + 64  # nameAlg + largest digest (SHA-512)
MAX_EXTRA_DATA_BYTES = 64  # TPM2B_DATA holds at most sizeof(TPMT_HA)
MAX_PCR_SELECTIONS = 16
MAX_PCR_SELECT_BYTES = 4  # TPM_PCR_SELECT_MAX for 24..32 PCRs


class WireError(ValueError):
    """A structure is malformed: names the field, what was found and the limit. ``kind`` is
    ``"truncated"`` (a field runs past the end), ``"oversized"`` (too long, or trailing bytes)
    or ``"malformed"`` (a value no TPM writes there)."""

    def __init__(self, message: str, kind: str = "malformed") -> None:
        super().__init__(message)
        self.kind = kind


_U8, _U16, _U32, _U64 = (struct.Struct(f) for f in (">B", ">H", ">I", ">Q"))


class _Reader:
    """Bounds-checked big-endian reader over an immutable buffer (struct.unpack_from: no copies
    until a TPM2B payload is taken)."""

    __slots__ = ("_data", "_pos", "_len")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0
        self._len = len(data)

    def _need(self, n: int, field: str) -> None:
        if self._pos + n > self._len:
            raise WireError(
                f"{field}: needs {n} bytes at offset {self._pos}, only {self._len - self._pos} left (truncated)",
                "truncated")

    def take(self, n: int, field: str) -> bytes:
        self._need(n, field)
        out = self._data[self._pos:self._pos + n]
        self._pos += n
        return out

    def _int(self, st: struct.Struct, field: str) -> int:
        self._need(st.size, field)
        (value,) = st.unpack_from(self._data, self._pos)
        self._pos += st.size
        return value

    def u8(self, field: str) -> int:
        return self._int(_U8, field)

    def u16(self, field: str) -> int:
        return self._int(_U16, field)

    def u32(self, field: str) -> int:
        return self._int(_U32, field)

    def u64(self, field: str) -> int:
        return self._int(_U64, field)

    def tpm2b(self, field: str, max_size: int) -> bytes:
        size = self._int(_U16, field + ".size")
        if size > max_size:
            raise WireError(f"{field}.size = {size}: exceeds maximum {max_size}", "oversized")
        return self.take(size, field + ".buffer")

    def finish(self, what: str) -> None:
        left = self._len - self._pos
        if left:
            raise WireError(f"{what}: {left} trailing bytes after the structure (oversized)", "oversized")


def _tpm2b(payload: bytes) -> bytes:
    return struct.pack(">H", len(payload)) + payload


# --- TPMS_CLOCK_INFO, TPML_PCR_SELECTION, TPMS_ATTEST -------------------------------------------
@dataclass(frozen=True)
class ClockInfo:
    """TPMS_CLOCK_INFO: ``clock`` in ms since the last TPM reset of the clock; ``reset_count``
    increments on every TPM Reset (power cycle), ``restart_count`` on every TPM Restart/Resume."""

    clock_ms: int
    reset_count: int
    restart_count: int
    safe: bool

    def marshal(self) -> bytes:
        return struct.pack(">QIIB", self.clock_ms, self.reset_count, self.restart_count,
                           1 if self.safe else 0)


@dataclass(frozen=True)
class PcrSelection:
    """One TPMS_PCR_SELECTION: a hash bank and the PCR indices selected in it."""

    hash_alg: int
    pcrs: tuple[int, ...]

    def marshal(self) -> bytes:
        bitmap = bytearray(3)  # sizeofSelect = 3 covers PCR 0..23 (PC client profile)
        for idx in self.pcrs:
            if not 0 <= idx < 8 * len(bitmap):
                raise WireError(f"pcr index = {idx}: outside 0..{8 * len(bitmap) - 1}")
            bitmap[idx // 8] |= 1 << (idx % 8)
        return struct.pack(">HB", self.hash_alg, len(bitmap)) + bytes(bitmap)


@dataclass(frozen=True)
class QuoteAttest:
    """TPMS_ATTEST with TPMS_QUOTE_INFO in its ``attested`` union (a TPM2_Quote result)."""

    qualified_signer: bytes  # TPM2B_NAME payload: nameAlg (u16) + digest
    extra_data: bytes  # the verifier's nonce
    clock: ClockInfo
    firmware_version: int
    pcr_select: tuple[PcrSelection, ...]
    pcr_digest: bytes
    magic: int = TPM_GENERATED_VALUE
    type: int = TPM_ST_ATTEST_QUOTE

    def marshal(self) -> bytes:
        out = struct.pack(">IH", self.magic, self.type)
        out += _tpm2b(self.qualified_signer) + _tpm2b(self.extra_data)
        out += self.clock.marshal() + struct.pack(">Q", self.firmware_version)
        out += struct.pack(">I", len(self.pcr_select))
        out += b"".join(sel.marshal() for sel in self.pcr_select)
        return out + _tpm2b(self.pcr_digest)


def parse_attest(data: bytes) -> QuoteAttest:
    """Parse the TPMS_ATTEST bytes a TPM signed; raise :class:`WireError` if not a well-formed quote.

    Magic and type are parsed, not checked here (the verifier names them as failed checks)."""
    if len(data) > MAX_ATTEST_BYTES:
        raise WireError(f"attest size = {len(data)}: exceeds maximum {MAX_ATTEST_BYTES}", "oversized")
    r = _Reader(bytes(data))
    magic = r.u32("magic")
    st_type = r.u16("type")
    if st_type != TPM_ST_ATTEST_QUOTE:
        # Other attestation types carry a different union member; we cannot parse further.
        raise WireError(f"type = {st_type:#06x}: expected TPM_ST_ATTEST_QUOTE {TPM_ST_ATTEST_QUOTE:#06x}",
                        "wrong_type")
    signer = r.tpm2b("qualifiedSigner", MAX_NAME_BYTES)
    extra = r.tpm2b("extraData", MAX_EXTRA_DATA_BYTES)
    clock = ClockInfo(r.u64("clockInfo.clock"), r.u32("clockInfo.resetCount"),
                      r.u32("clockInfo.restartCount"), False)
    safe = r.u8("clockInfo.safe")
    if safe > 1:
        raise WireError(f"clockInfo.safe = {safe}: a TPMI_YES_NO is 0 or 1")
    clock = ClockInfo(clock.clock_ms, clock.reset_count, clock.restart_count, bool(safe))
    firmware = r.u64("firmwareVersion")
    count = r.u32("pcrSelect.count")
    if count > MAX_PCR_SELECTIONS:
        raise WireError(f"pcrSelect.count = {count}: exceeds maximum {MAX_PCR_SELECTIONS}", "oversized")
    selections = []
    for i in range(count):
        alg = r.u16(f"pcrSelect[{i}].hash")
        size = r.u8(f"pcrSelect[{i}].sizeofSelect")
        if size > MAX_PCR_SELECT_BYTES:
            raise WireError(f"pcrSelect[{i}].sizeofSelect = {size}: exceeds maximum {MAX_PCR_SELECT_BYTES}",
                            "oversized")
        bitmap = r.take(size, f"pcrSelect[{i}].pcrSelect")
        pcrs = tuple(8 * b + bit for b in range(size) for bit in range(8) if bitmap[b] >> bit & 1)
        selections.append(PcrSelection(alg, pcrs))
    digest = r.tpm2b("pcrDigest", 64)
    r.finish("TPMS_ATTEST")
    return QuoteAttest(signer, extra, clock, firmware, tuple(selections), digest, magic, st_type)


# --- TPMT_SIGNATURE (ECDSA, RSASSA, RSAPSS) --------------------------------------------------------
@dataclass(frozen=True)
class EcdsaSignature:
    hash_alg: int
    r: int
    s: int
    sig_alg: int = TPM_ALG_ECDSA

    def marshal(self) -> bytes:
        rb = self.r.to_bytes(P256_COORD_SIZE, "big")
        sb = self.s.to_bytes(P256_COORD_SIZE, "big")
        return struct.pack(">HH", self.sig_alg, self.hash_alg) + _tpm2b(rb) + _tpm2b(sb)


@dataclass(frozen=True)
class RsaSignature:
    """TPMS_SIGNATURE_RSA of an RSASSA or RSAPSS signature: the raw signature bytes."""

    sig_alg: int
    hash_alg: int
    sig: bytes

    def marshal(self) -> bytes:
        return struct.pack(">HH", self.sig_alg, self.hash_alg) + _tpm2b(self.sig)


def parse_signature(data: bytes) -> EcdsaSignature | RsaSignature:
    if len(data) > MAX_SIGNATURE_BYTES:
        raise WireError(f"signature size = {len(data)}: exceeds maximum {MAX_SIGNATURE_BYTES}", "oversized")
    r = _Reader(bytes(data))
    sig_alg = r.u16("signature.sigAlg")
    if sig_alg not in (TPM_ALG_ECDSA, TPM_ALG_RSASSA, TPM_ALG_RSAPSS):
        raise WireError(f"signature.sigAlg = {sig_alg:#06x}: only TPM_ALG_ECDSA {TPM_ALG_ECDSA:#06x}, "
                        f"TPM_ALG_RSASSA {TPM_ALG_RSASSA:#06x}, TPM_ALG_RSAPSS {TPM_ALG_RSAPSS:#06x}")
    hash_alg = r.u16("signature.hash")
    if sig_alg == TPM_ALG_ECDSA:
        rb = r.tpm2b("signature.signatureR", 66)
        sb = r.tpm2b("signature.signatureS", 66)
        r.finish("TPMT_SIGNATURE")
        return EcdsaSignature(hash_alg, int.from_bytes(rb, "big"), int.from_bytes(sb, "big"), sig_alg)
    sig = r.tpm2b("signature.sig", MAX_RSA_MODULUS_BYTES)
    r.finish("TPMT_SIGNATURE")
    return RsaSignature(sig_alg, hash_alg, sig)


# --- TPMT_PUBLIC of a P-256 ECDSA attestation key, Names ------------------------------------------
def ecc_ak_public(x: int | None = None, y: int | None = None,
                  object_attributes: int = AK_OBJECT_ATTRIBUTES) -> bytes:
    """TPMT_PUBLIC of a restricted ECDSA-SHA256 P-256 signing key. Without ``x, y`` it is the
    creation template (empty unique point) that TPM2_CreatePrimary takes."""
    out = struct.pack(">HHI", TPM_ALG_ECC, TPM_ALG_SHA256, object_attributes)
    out += _tpm2b(b"")  # authPolicy
    # TPMS_ECC_PARMS: symmetric NULL, scheme ECDSA/SHA256, curve P-256, kdf NULL
    out += struct.pack(">HHHHH", TPM_ALG_NULL, TPM_ALG_ECDSA, TPM_ALG_SHA256, TPM_ECC_NIST_P256, TPM_ALG_NULL)
    if x is None or y is None:
        return out + _tpm2b(b"") + _tpm2b(b"")
    return out + _tpm2b(x.to_bytes(P256_COORD_SIZE, "big")) + _tpm2b(y.to_bytes(P256_COORD_SIZE, "big"))


@dataclass(frozen=True)
class EccPublic:
    name_alg: int
    object_attributes: int
    x: int
    y: int


def parse_ecc_public(data: bytes) -> EccPublic:
    """Parse the TPMT_PUBLIC of a P-256 ECDSA key; refuse any other kind of key."""
    r = _Reader(bytes(data))
    kind = r.u16("public.type")
    if kind != TPM_ALG_ECC:
        raise WireError(f"public.type = {kind:#06x}: expected TPM_ALG_ECC {TPM_ALG_ECC:#06x}")
    name_alg = r.u16("public.nameAlg")
    if name_alg != TPM_ALG_SHA256:
        raise WireError(f"public.nameAlg = {name_alg:#06x}: expected TPM_ALG_SHA256")
    attrs = r.u32("public.objectAttributes")
    r.tpm2b("public.authPolicy", 64)
    sym = r.u16("public.parameters.symmetric")
    if sym != TPM_ALG_NULL:
        raise WireError(f"public.parameters.symmetric = {sym:#06x}: a signing key has TPM_ALG_NULL")
    scheme = r.u16("public.parameters.scheme")
    if scheme != TPM_ALG_ECDSA:
        raise WireError(f"public.parameters.scheme = {scheme:#06x}: expected TPM_ALG_ECDSA")
    scheme_hash = r.u16("public.parameters.scheme.hashAlg")
    if scheme_hash != TPM_ALG_SHA256:
        raise WireError(f"public.parameters.scheme.hashAlg = {scheme_hash:#06x}: expected SHA256")
    curve = r.u16("public.parameters.curveID")
    if curve != TPM_ECC_NIST_P256:
        raise WireError(f"public.parameters.curveID = {curve:#06x}: expected TPM_ECC_NIST_P256")
    r.u16("public.parameters.kdf")
    x = r.tpm2b("public.unique.x", P256_COORD_SIZE)
    y = r.tpm2b("public.unique.y", P256_COORD_SIZE)
    r.finish("TPMT_PUBLIC")
    if len(x) != P256_COORD_SIZE or len(y) != P256_COORD_SIZE:
        raise WireError("public.unique: a P-256 point has 32-byte coordinates")
    return EccPublic(name_alg, attrs, int.from_bytes(x, "big"), int.from_bytes(y, "big"))


@dataclass(frozen=True)
class PublicArea:
    """The parts of any ECC or RSA TPMT_PUBLIC a verifier needs. ``scheme`` / ``scheme_hash`` are
    the signing scheme (TPM_ALG_NULL for a decryption key such as an EK); ``x, y`` for ECC,
    ``n, e`` for RSA (the others 0)."""

    type: int
    name_alg: int
    object_attributes: int
    symmetric: int
    scheme: int
    scheme_hash: int
    curve: int = 0
    x: int = 0
    y: int = 0
    key_bits: int = 0
    n: int = 0
    e: int = 0


def parse_public(data: bytes) -> PublicArea:
    """Parse an ECC or RSA TPMT_PUBLIC (the structure, bounded; no trailing bytes). What a key of
    that kind must be (an AK, an EK) is the caller's check."""
    r = _Reader(bytes(data))
    kind = r.u16("public.type")
    if kind not in (TPM_ALG_ECC, TPM_ALG_RSA):
        raise WireError(f"public.type = {kind:#06x}: expected TPM_ALG_ECC {TPM_ALG_ECC:#06x} "
                        f"or TPM_ALG_RSA {TPM_ALG_RSA:#06x}")
    name_alg = r.u16("public.nameAlg")
    if name_alg != TPM_ALG_SHA256:
        raise WireError(f"public.nameAlg = {name_alg:#06x}: expected TPM_ALG_SHA256")
    attrs = r.u32("public.objectAttributes")
    r.tpm2b("public.authPolicy", 64)
    sym = r.u16("public.parameters.symmetric.algorithm")
    if sym != TPM_ALG_NULL:
        r.u16("public.parameters.symmetric.keyBits")
        r.u16("public.parameters.symmetric.mode")
    scheme = r.u16("public.parameters.scheme")
    scheme_hash = r.u16("public.parameters.scheme.hashAlg") if scheme != TPM_ALG_NULL else TPM_ALG_NULL
    if kind == TPM_ALG_ECC:
        curve = r.u16("public.parameters.curveID")
        kdf = r.u16("public.parameters.kdf.scheme")
        if kdf != TPM_ALG_NULL:
            r.u16("public.parameters.kdf.hashAlg")
        x = r.tpm2b("public.unique.x", 66)
        y = r.tpm2b("public.unique.y", 66)
        r.finish("TPMT_PUBLIC")
        return PublicArea(kind, name_alg, attrs, sym, scheme, scheme_hash, curve=curve,
                          x=int.from_bytes(x, "big"), y=int.from_bytes(y, "big"))
    key_bits = r.u16("public.parameters.keyBits")
    exponent = r.u32("public.parameters.exponent")
    n = r.tpm2b("public.unique.rsa", MAX_RSA_MODULUS_BYTES)
    r.finish("TPMT_PUBLIC")
    if len(n) * 8 != key_bits:
        raise WireError(f"public.unique.rsa has {len(n)} bytes: keyBits = {key_bits} needs {key_bits // 8}")
    return PublicArea(kind, name_alg, attrs, sym, scheme, scheme_hash, key_bits=key_bits,
                      n=int.from_bytes(n, "big"), e=exponent or 65537)  # exponent 0 means 2^16 + 1


def rsa_ak_public(n: int | None = None, scheme: int = TPM_ALG_RSASSA, e: int = 65537,
                  object_attributes: int = AK_OBJECT_ATTRIBUTES) -> bytes:
    """TPMT_PUBLIC of a restricted RSA SHA-256 signing key (RSASSA or RSAPSS; keyBits from ``n``). Without ``n``
    it is the creation template (empty modulus) that TPM2_Create / TPM2_CreatePrimary take."""
    modulus = b"" if n is None else n.to_bytes((n.bit_length() + 7) // 8, "big")
    bits = RSA_AK_BITS if n is None else 8 * len(modulus)
    out = struct.pack(">HHI", TPM_ALG_RSA, TPM_ALG_SHA256, object_attributes) + _tpm2b(b"")
    out += struct.pack(">HHHHI", TPM_ALG_NULL, scheme, TPM_ALG_SHA256, bits, 0 if e == 65537 else e)
    return out + _tpm2b(modulus)


def object_name(public_area: bytes) -> bytes:
    """Name of an object: nameAlg || H_nameAlg(TPMT_PUBLIC) (Part 1, 16 'Names')."""
    return struct.pack(">H", TPM_ALG_SHA256) + hashlib.sha256(public_area).digest()


def qualified_name(public_area: bytes, hierarchy: int) -> bytes:
    """Qualified Name of a primary object: nameAlg || H(QN(parent) || Name), where the QN of a
    hierarchy is its handle. The TPM writes this into TPMS_ATTEST.qualifiedSigner, so the verifier
    can tell under which hierarchy the signing key lives."""
    return child_qualified_name(public_area, struct.pack(">I", hierarchy))


def child_qualified_name(public_area: bytes, parent_qualified_name: bytes) -> bytes:
    """Qualified Name of an ordinary object under a parent: nameAlg || H(QN(parent) || Name).
    An AK made by ``tpm2_createak`` is a child of the EK, whose QN is
    ``qualified_name(ek_public, TPM_RH_ENDORSEMENT)``."""
    return struct.pack(">H", TPM_ALG_SHA256) + hashlib.sha256(
        parent_qualified_name + object_name(public_area)).digest()


def pcr_digest(values: list[bytes]) -> bytes:
    """pcrDigest of a quote: H(concatenation of the selected PCR values in selection order)."""
    return hashlib.sha256(b"".join(values)).digest()


def pcr_extend(old: bytes, measurement: bytes) -> bytes:
    """PCR extend semantics: new = H(old || measurement)."""
    return hashlib.sha256(old + measurement).digest()
