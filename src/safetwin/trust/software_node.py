"""In-process software sensor node: the fast attestation backend.

It behaves like a node with a TPM as far as the verifier can tell: a SHA-256 PCR bank with extend
semantics filled by a measured boot, a simulated TPM clock (ms, resetCount, restartCount, safe),
an ECDSA P-256 attestation key (``cryptography``) whose TPMT_PUBLIC, Name and qualified Name under
the endorsement hierarchy are computed as a TPM computes them, and quotes in TPMS_ATTEST wire
format. What it cannot do is protect its key: tests use that to model an attacker holding a valid
key (``sign_anything``).
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from . import tpm_wire as wire
from .attestation import Enrollment, Quote

DEFAULT_PCRS = (0, 1, 2, 7)  # firmware, firmware config, option ROMs, secure-boot policy
N_PCRS = 24


def golden_pcrs(boot_log: Sequence[tuple[int, bytes]], pcrs: Iterable[int] = DEFAULT_PCRS) -> dict[int, bytes]:
    """Expected PCR values from a measured-boot log of (pcr, measured image) entries, replayed
    independently of any node: each image is hashed and extended into its PCR from all-zero."""
    bank = {i: bytes(wire.SHA256_SIZE) for i in pcrs}
    for idx, image in boot_log:
        if idx in bank:
            bank[idx] = wire.pcr_extend(bank[idx], hashlib.sha256(image).digest())
    return bank


def reference_boot_log(node_id: str, firmware: bytes = b"safetwin-sensor-fw-1.0") -> list[tuple[int, bytes]]:
    """The boot log of an untampered sensor node (what the golden values are computed from)."""
    return [(0, firmware), (1, b"config:" + node_id.encode()), (2, b"adc-calibration-table"),
            (7, b"secure-boot-policy:production")]


class SoftwareNode:
    """A simulated sensor node. ``tick_ms`` advances its clock on every quote (a real TPM clock
    keeps running between quotes); ``advance_clock`` models elapsed time explicitly."""

    def __init__(self, node_id: str, boot_log: Sequence[tuple[int, bytes]] | None = None,
                 pcrs: Sequence[int] = DEFAULT_PCRS, firmware_version: int = 0x0001_0000_0000_0000,
                 clock_ms: int = 0, tick_ms: int = 1,
                 key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | None = None,
                 rsa_scheme: int = wire.TPM_ALG_RSASSA) -> None:
        """``key``: the AK, ECDSA P-256 by default; an RSA-2048 key signs with ``rsa_scheme``
        (TPM_ALG_RSASSA or TPM_ALG_RSAPSS, salt of the digest size as TPMs use)."""
        if not pcrs or any(not 0 <= p < N_PCRS for p in pcrs):
            raise ValueError(f"pcrs = {tuple(pcrs)}: indices must be in 0..{N_PCRS - 1}")
        if tick_ms < 0 or clock_ms < 0:
            raise ValueError(f"tick_ms = {tick_ms}, clock_ms = {clock_ms}: must be >= 0")
        self.node_id = node_id
        self.pcrs = tuple(sorted(pcrs))
        self.firmware_version = firmware_version
        self.tick_ms = tick_ms
        self._key = key if key is not None else ec.generate_private_key(ec.SECP256R1())
        nums = self._key.public_key().public_numbers()
        if isinstance(self._key, rsa.RSAPrivateKey):
            if rsa_scheme not in (wire.TPM_ALG_RSASSA, wire.TPM_ALG_RSAPSS):
                raise ValueError(f"rsa_scheme = {rsa_scheme:#06x}: TPM_ALG_RSASSA or TPM_ALG_RSAPSS")
            self._rsa_scheme = rsa_scheme
            self._public = wire.rsa_ak_public(nums.n, rsa_scheme, nums.e)
        else:
            self._rsa_scheme = None
            self._public = wire.ecc_ak_public(nums.x, nums.y)
        self._signer = wire.qualified_name(self._public, wire.TPM_RH_ENDORSEMENT)
        self.clock = wire.ClockInfo(clock_ms, 0, 0, True)
        self._bank = [bytes(wire.SHA256_SIZE)] * N_PCRS
        self._boot_log = list(boot_log) if boot_log is not None else reference_boot_log(node_id)
        self._measure_boot()

    # --- TPM-like state --------------------------------------------------------------------------
    @property
    def ak_public(self) -> bytes:
        return self._public

    def enrollment(self, golden: dict | None = None, **kwargs) -> Enrollment:
        """Enrolment record for this node with golden values from its *reference* boot log
        (not from its current PCRs: a node already compromised at enrolment must not pass)."""
        if golden is None:
            golden = golden_pcrs(reference_boot_log(self.node_id), self.pcrs)
        return Enrollment(self.node_id, self._public, golden, firmware_version=self.firmware_version, **kwargs)

    def _measure_boot(self) -> None:
        for idx, image in self._boot_log:
            self.extend(idx, hashlib.sha256(image).digest())

    def extend(self, pcr: int, digest: bytes) -> None:
        if not 0 <= pcr < N_PCRS or len(digest) != wire.SHA256_SIZE:
            raise ValueError(f"pcr = {pcr}, digest of {len(digest)} bytes: need 0..23 and 32 bytes")
        self._bank[pcr] = wire.pcr_extend(self._bank[pcr], digest)

    def pcr_value(self, pcr: int) -> bytes:
        return self._bank[pcr]

    def advance_clock(self, ms: int) -> None:
        self.clock = wire.ClockInfo(self.clock.clock_ms + int(ms), self.clock.reset_count,
                                    self.clock.restart_count, self.clock.safe)

    def set_clock(self, clock: wire.ClockInfo) -> None:
        """Force the clock (models a rolled-back or restored node state)."""
        self.clock = clock

    def reboot(self, boot_log: Sequence[tuple[int, bytes]] | None = None) -> None:
        """TPM Reset: PCRs cleared and re-measured, resetCount + 1, clock restarts from 0."""
        if boot_log is not None:
            self._boot_log = list(boot_log)
        self._bank = [bytes(wire.SHA256_SIZE)] * N_PCRS
        self.clock = wire.ClockInfo(0, self.clock.reset_count + 1, 0, True)
        self._measure_boot()

    # --- quoting ---------------------------------------------------------------------------------
    def quote(self, nonce: bytes) -> Quote:
        self.advance_clock(self.tick_ms)
        attest = wire.QuoteAttest(
            qualified_signer=self._signer,
            extra_data=bytes(nonce),
            clock=self.clock,
            firmware_version=self.firmware_version,
            pcr_select=(wire.PcrSelection(wire.TPM_ALG_SHA256, self.pcrs),),
            pcr_digest=wire.pcr_digest([self._bank[i] for i in self.pcrs]),
        ).marshal()
        return Quote(attest, self.sign_anything(attest))

    def sign_anything(self, data: bytes) -> bytes:
        """Sign arbitrary bytes with the AK, as TPMT_SIGNATURE. A TPM's restricted key would
        refuse data not starting with TPM_GENERATED_VALUE; a software key cannot, which is why an
        attacker holding the key can forge any quote."""
        if self._rsa_scheme == wire.TPM_ALG_RSASSA:
            sig = self._key.sign(bytes(data), padding.PKCS1v15(), hashes.SHA256())
            return wire.RsaSignature(wire.TPM_ALG_RSASSA, wire.TPM_ALG_SHA256, sig).marshal()
        if self._rsa_scheme == wire.TPM_ALG_RSAPSS:
            pss = padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.DIGEST_LENGTH)
            sig = self._key.sign(bytes(data), pss, hashes.SHA256())
            return wire.RsaSignature(wire.TPM_ALG_RSAPSS, wire.TPM_ALG_SHA256, sig).marshal()
        r, s = decode_dss_signature(self._key.sign(bytes(data), ec.ECDSA(hashes.SHA256())))
        return wire.EcdsaSignature(wire.TPM_ALG_SHA256, r, s).marshal()
