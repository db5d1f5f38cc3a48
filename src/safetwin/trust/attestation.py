"""Verifier of TPM 2.0-style quotes: signature, freshness, measured boot, clock monotonicity.

A sensor node answers the verifier's challenge (a fresh random nonce) with a :class:`Quote`: the
``TPMS_ATTEST`` bytes it signed and the ``TPMT_SIGNATURE`` (ECDSA P-256, RSASSA or RSAPSS with
RSA-2048; SHA-256). Both node backends (:mod:`.software_node`, :mod:`.tpm_node`) produce exactly
these bytes, and a quote from a real TPM (also one made by ``tpm2_quote``) goes through the same
parser (:mod:`.tpm_wire`).

:meth:`Verifier.verify` returns a :class:`Verdict` naming *every* failed :class:`Check` and one
:class:`Reason` (what the trust layer weighs); it never raises. It fails closed: a missing quote, a
node that timed out or raised, and an exception inside verification itself all give a failed
verdict (the Keylime CVEs were fail-open paths of exactly this kind).

State moves only on a quote that is authenticated and fully valid: only then is its nonce spent
and its clock/resetCount/restartCount taken as the new reference. Every check before that is a
pure function of the received bytes and the current state, so a frame nobody signed (a third node
on the bus replaying the live nonce) and a signed but implausible quote (resetCount 2^32 - 1) are
refused without locking the honest node out. The quote's bytes are read once: the signature is
checked over the very buffer that was parsed.

A legitimate ``TPM2_Clear`` sets resetCount and restartCount back to 0, which the ordinary path
refuses as a rollback; :meth:`Verifier.accept_clear` is the explicit operator path that takes such
a quote (authenticated, fresh nonce, golden PCRs) as the new reference. It is never automatic.

Enrolment: :meth:`Verifier.enroll` trusts the AK it is given (provisioning on a trusted line);
:meth:`Verifier.begin_enrollment` / :meth:`Verifier.complete_enrollment` root it in the node's
endorsement key instead: TPM2_MakeCredential is done in software here (``tpm2_pytss.utils.
make_credential``, built on ``cryptography``) with the EK public area and the AK's Name, and only the
TPM holding that EK's private key, with the AK of exactly that Name loaded, can return the secret
through TPM2_ActivateCredential (the Name binds the AK's attributes: fixedTPM, restricted, sign).
"""
from __future__ import annotations

import collections
import concurrent.futures
import enum
import hmac
import math
import secrets
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from . import tpm_wire as wire


class Check(str, enum.Enum):
    """One verification check; a failed verdict lists every check that failed."""

    MISSING = "missing"  # no quote arrived
    TIMEOUT = "timeout"  # the node did not answer within the deadline
    NODE_ERROR = "node_error"  # the node raised while quoting
    INTERNAL_ERROR = "internal_error"  # the verifier itself failed: fail closed
    UNKNOWN_NODE = "unknown_node"  # no enrolment for this node
    TRUNCATED = "truncated"
    OVERSIZED = "oversized"
    MALFORMED = "malformed"
    MAGIC = "magic"  # not TPM_GENERATED_VALUE: not a TPM-produced structure
    TYPE = "type"  # not TPM_ST_ATTEST_QUOTE
    SIGNATURE = "signature"
    SIGNER = "signer"  # qualifiedSigner is not the enrolled AK
    OWNER_HIERARCHY = "owner_hierarchy"  # AK under the owner hierarchy: counters obfuscated
    NONCE_UNKNOWN = "nonce_unknown"  # never issued to this node (wrong nonce)
    NONCE_REPLAYED = "nonce_replayed"  # already used once
    NONCE_EXPIRED = "nonce_expired"  # issued too long ago (stale)
    PCR_SELECTION = "pcr_selection"  # not the enrolled PCR selection
    PCR_DIGEST = "pcr_digest"  # measured boot differs from the golden values
    FIRMWARE_VERSION = "firmware_version"
    CLOCK_ROLLBACK = "clock_rollback"
    RESET_COUNT_ROLLBACK = "reset_count_rollback"
    RESTART_COUNT_ROLLBACK = "restart_count_rollback"
    CLOCK_JUMP = "clock_jump"  # clock ahead of what elapsed verifier time and drift allow
    RESET_COUNT_JUMP = "reset_count_jump"  # more TPM Resets than the elapsed time allows
    RESTART_COUNT_JUMP = "restart_count_jump"
    CLOCK_UNSAFE = "clock_unsafe"  # TPMS_CLOCK_INFO.safe = NO


class Reason(str, enum.Enum):
    """The one reason of a verdict the trust layer weighs; values and codes are the C++
    ``trust::Attestation`` names and numbers (cpp/include/safetwin/trust/trust_state.hpp)."""

    PASS = "pass"
    FAIL = "fail"  # generic: a node error, an unsafe clock, an owner-hierarchy AK, ...
    FAIL_SIGNATURE = "fail_signature"  # not signed by the enrolled AK (or not TPM-generated)
    FAIL_PCR = "fail_pcr"  # authentic, but measured boot / firmware differs from golden
    FAIL_REPLAY = "fail_replay"  # authentic but not fresh: spent/unknown nonce, clock/counter rollback or jump
    FAIL_MALFORMED = "fail_malformed"  # does not parse as a quote
    TIMEOUT = "timeout"  # no answer, or an answer too late for its nonce

    @property
    def code(self) -> int:
        return _REASON_CODES[self]


_REASON_CODES = {Reason.PASS: 1, Reason.FAIL: 2, Reason.FAIL_SIGNATURE: 3, Reason.FAIL_PCR: 4,
                 Reason.FAIL_REPLAY: 5, Reason.FAIL_MALFORMED: 6, Reason.TIMEOUT: 7}
# Which reason each check belongs to; the first reason of _PRECEDENCE present wins (the most
# telling one: a broken signature says more than the stale nonce inside the unsigned bytes).
_CHECK_REASON = {
    Check.TRUNCATED: Reason.FAIL_MALFORMED, Check.OVERSIZED: Reason.FAIL_MALFORMED,
    Check.MALFORMED: Reason.FAIL_MALFORMED, Check.TYPE: Reason.FAIL_MALFORMED,
    Check.SIGNATURE: Reason.FAIL_SIGNATURE, Check.SIGNER: Reason.FAIL_SIGNATURE, Check.MAGIC: Reason.FAIL_SIGNATURE,
    Check.NONCE_UNKNOWN: Reason.FAIL_REPLAY, Check.NONCE_REPLAYED: Reason.FAIL_REPLAY,
    Check.CLOCK_ROLLBACK: Reason.FAIL_REPLAY, Check.RESET_COUNT_ROLLBACK: Reason.FAIL_REPLAY,
    Check.RESTART_COUNT_ROLLBACK: Reason.FAIL_REPLAY, Check.CLOCK_JUMP: Reason.FAIL_REPLAY,
    Check.RESET_COUNT_JUMP: Reason.FAIL_REPLAY, Check.RESTART_COUNT_JUMP: Reason.FAIL_REPLAY,
    Check.PCR_SELECTION: Reason.FAIL_PCR, Check.PCR_DIGEST: Reason.FAIL_PCR, Check.FIRMWARE_VERSION: Reason.FAIL_PCR,
    Check.TIMEOUT: Reason.TIMEOUT, Check.MISSING: Reason.TIMEOUT, Check.NONCE_EXPIRED: Reason.TIMEOUT,
}
_PRECEDENCE = (Reason.FAIL_MALFORMED, Reason.FAIL_SIGNATURE, Reason.FAIL_REPLAY, Reason.FAIL_PCR,
               Reason.TIMEOUT)


@dataclass(frozen=True)
class Quote:
    """Evidence from a node: the signed TPMS_ATTEST and its TPMT_SIGNATURE, both wire format."""

    attest: bytes
    signature: bytes


@dataclass(frozen=True)
class Verdict:
    node_id: str
    failures: frozenset  # of Check
    detail: str = ""
    clock_ms: int | None = None

    @property
    def passed(self) -> bool:
        return not self.failures

    def __bool__(self) -> bool:  # a verdict is truthy only when it passed
        return self.passed

    @property
    def reason(self) -> Reason:
        """The reason the trust layer weighs (precedence: malformed, signature, replay, pcr,
        timeout, then generic fail)."""
        if not self.failures:
            return Reason.PASS
        present = {_CHECK_REASON.get(c, Reason.FAIL) for c in self.failures}
        return next((r for r in _PRECEDENCE if r in present), Reason.FAIL)


@dataclass(frozen=True)
class Enrollment:
    """What the verifier knows of a node before it trusts it: its AK (TPMT_PUBLIC bytes), the
    hierarchy the AK must live in, the golden PCR values of its measured boot, and optionally its
    firmware version. With ``ek_public`` (the EK's TPMT_PUBLIC) the AK is proven to live in that
    TPM by credential activation (:meth:`Verifier.begin_enrollment`), and it may be a child of the
    EK (what ``tpm2_createak`` makes) or a primary key of ``hierarchy``."""

    node_id: str
    ak_public: bytes
    golden_pcrs: Mapping[int, bytes]  # PCR index -> expected SHA-256 bank value
    hierarchy: int = wire.TPM_RH_ENDORSEMENT
    firmware_version: int | None = None
    require_safe_clock: bool = True
    ek_public: bytes | None = None


class Attestor(Protocol):
    """A node that can answer a challenge with a quote (software node, TPM node, real device)."""

    node_id: str

    @property
    def ak_public(self) -> bytes: ...

    def quote(self, nonce: bytes) -> Quote: ...


@dataclass
class _NodeState:
    enrollment: Enrollment
    public_key: ec.EllipticCurvePublicKey | rsa.RSAPublicKey
    sig_alg: int  # the AK's signing scheme: the only TPMT_SIGNATURE.sigAlg accepted
    expected_signers: frozenset  # qualified Names the AK may have (primary in hierarchy, EK child)
    owner_signer: bytes
    expected_digest: bytes
    selection: tuple
    outstanding: collections.OrderedDict[bytes, float] = field(default_factory=collections.OrderedDict)
    used: collections.OrderedDict[bytes, None] = field(default_factory=collections.OrderedDict)
    last_clock: wire.ClockInfo | None = None
    last_clock_at_s: float = 0.0  # verifier time when last_clock was taken as the reference


_WIRE_KIND = {"truncated": Check.TRUNCATED, "oversized": Check.OVERSIZED,
              "malformed": Check.MALFORMED, "wrong_type": Check.TYPE}


class Verifier:
    """Issues challenges and verifies quotes for enrolled nodes.

    ``now_s`` is the verifier's clock (seconds, monotonic); tests pass a simulated one so that
    nonce expiry is deterministic. ``max_outstanding`` bounds the nonces kept per node (the oldest
    is dropped, i.e. becomes unknown), ``max_used`` the memory of spent nonces for replay reports.

    Plausibility against the reference (the last fully valid quote, taken at verifier time t0):
    with ``e`` = (now - t0) + nonce_lifetime_s (the new quote's clock was read at most now, the
    reference's at least one lifetime before t0), the TPM clock may advance by at most
    ``e * (1 + clock_drift)`` seconds (+ 1 ms resolution), and resetCount / restartCount by at most
    ``1 + floor(e / min_reboot_s)``. ``clock_drift`` is generous (TPM2_ClockRateAdjust lets the
    owner trim the rate; a TPM clock is not a precision oscillator) and ``min_reboot_s`` is the
    shortest power cycle a node can do.
    """

    def __init__(self, nonce_lifetime_s: float = 2.0, now_s: Callable[[], float] = time.monotonic,
                 nonce_bytes: int = 32, max_outstanding: int = 64, max_used: int = 4096,
                 clock_drift: float = 0.15, min_reboot_s: float = 1.0,
                 nonce_source: Callable[[int], bytes] = secrets.token_bytes) -> None:
        if not nonce_lifetime_s > 0:
            raise ValueError(f"nonce_lifetime_s = {nonce_lifetime_s}: must be > 0")
        if not 16 <= nonce_bytes <= wire.MAX_EXTRA_DATA_BYTES:
            raise ValueError(f"nonce_bytes = {nonce_bytes}: must be in [16, {wire.MAX_EXTRA_DATA_BYTES}]")
        if not 0 <= clock_drift <= 1:
            raise ValueError(f"clock_drift = {clock_drift}: must be in [0, 1]")
        if not min_reboot_s > 0:
            raise ValueError(f"min_reboot_s = {min_reboot_s}: must be > 0")
        self._nonce_source = nonce_source  # the OS CSPRNG; a seeded DRBG for lockstep runs and corpora
        self.clock_drift = float(clock_drift)
        self.min_reboot_s = float(min_reboot_s)
        self._pending: dict[str, tuple[Enrollment, bytes]] = {}
        self.nonce_lifetime_s = float(nonce_lifetime_s)
        self._now_s = now_s
        self._nonce_bytes = nonce_bytes
        self._max_outstanding = max_outstanding
        self._max_used = max_used
        self._nodes: dict[str, _NodeState] = {}

    # --- enrolment -------------------------------------------------------------------------------
    def enroll(self, enrollment: Enrollment) -> None:
        """Register a node whose AK comes from a trusted provisioning line; raises ValueError
        naming the field if the AK or PCR values are bad. An enrolment with ``ek_public`` must go
        through credential activation (:meth:`begin_enrollment`)."""
        if enrollment.ek_public is not None:
            raise ValueError(f"enrollment.ek_public is set for {enrollment.node_id!r}: prove the AK by "
                             f"credential activation (begin_enrollment / complete_enrollment)")
        self._nodes[enrollment.node_id] = self._node_state(enrollment)

    def begin_enrollment(self, enrollment: Enrollment, secret: bytes | None = None) -> tuple:
        """TPM2_MakeCredential (in software) for an AK rooted in ``enrollment.ek_public``: returns
        ``(credential_blob, encrypted_secret)`` (TPM2B_ID_OBJECT, TPM2B_ENCRYPTED_SECRET wire
        bytes) for the node's TPM2_ActivateCredential. The node is enrolled only when
        :meth:`complete_enrollment` gets the secret back."""
        from tpm2_pytss.types import TPM2B_NAME, TPM2B_PUBLIC
        from tpm2_pytss.utils import make_credential

        if enrollment.ek_public is None:
            raise ValueError(f"enrollment.ek_public is None for {enrollment.node_id!r}: "
                             f"credential activation needs the EK public area")
        self._node_state(enrollment)  # validates the AK and PCRs before anything is issued
        ek = wire.parse_public(enrollment.ek_public)
        if ek.object_attributes & wire.EK_REQUIRED_ATTRIBUTES != wire.EK_REQUIRED_ATTRIBUTES:
            raise ValueError(f"ek_public.objectAttributes = {ek.object_attributes:#010x}: an EK is a "
                             f"fixedTPM restricted decryption key ({wire.EK_REQUIRED_ATTRIBUTES:#010x})")
        secret = secrets.token_bytes(wire.SHA256_SIZE) if secret is None else bytes(secret)
        if not 16 <= len(secret) <= wire.SHA256_SIZE:
            raise ValueError(f"secret has {len(secret)} bytes: must be 16..{wire.SHA256_SIZE}")
        ek_pub, _ = TPM2B_PUBLIC.unmarshal(struct.pack(">H", len(enrollment.ek_public)) + enrollment.ek_public)
        name = wire.object_name(enrollment.ak_public)
        ak_name, _ = TPM2B_NAME.unmarshal(struct.pack(">H", len(name)) + name)
        blob, encrypted = make_credential(ek_pub, secret, ak_name)
        self._pending[enrollment.node_id] = (enrollment, secret)
        return blob.marshal(), encrypted.marshal()

    def complete_enrollment(self, node_id: str, activated_secret: bytes) -> None:
        """Enrol the node if ``activated_secret`` is what TPM2_ActivateCredential returned for the
        credential of :meth:`begin_enrollment`; raises ValueError otherwise (node not enrolled)."""
        pending = self._pending.pop(node_id, None)
        if pending is None:
            raise ValueError(f"node_id = {node_id!r}: no credential activation in progress")
        enrollment, secret = pending
        if not hmac.compare_digest(bytes(activated_secret), secret):
            raise ValueError(f"activated secret for {node_id!r} does not match the credential: the AK "
                             f"is not loaded in the TPM that holds this EK")
        self._nodes[node_id] = self._node_state(enrollment)

    def _node_state(self, enrollment: Enrollment) -> _NodeState:
        pub = wire.parse_public(enrollment.ak_public)
        if pub.object_attributes & wire.AK_REQUIRED_ATTRIBUTES != wire.AK_REQUIRED_ATTRIBUTES or \
                pub.object_attributes & wire.TPMA_OBJECT_DECRYPT:
            raise ValueError(f"ak_public.objectAttributes = {pub.object_attributes:#010x}: an AK must be "
                             f"a fixedTPM restricted signing key ({wire.AK_REQUIRED_ATTRIBUTES:#010x}, no decrypt)")
        if pub.scheme_hash != wire.TPM_ALG_SHA256 or pub.scheme not in wire.SIGNATURE_SCHEMES[pub.type]:
            raise ValueError(f"ak_public.parameters.scheme = {pub.scheme:#06x}/{pub.scheme_hash:#06x}: an AK "
                             f"signs with ECDSA (ECC) or RSASSA/RSAPSS (RSA), SHA-256")
        if pub.type == wire.TPM_ALG_ECC:
            if pub.curve != wire.TPM_ECC_NIST_P256:
                raise ValueError(f"ak_public.parameters.curveID = {pub.curve:#06x}: expected NIST P-256")
            key = ec.EllipticCurvePublicNumbers(pub.x, pub.y, ec.SECP256R1()).public_key()
        else:
            if pub.key_bits != wire.RSA_AK_BITS:
                raise ValueError(f"ak_public.parameters.keyBits = {pub.key_bits}: expected {wire.RSA_AK_BITS}")
            if pub.n.bit_length() != wire.RSA_AK_BITS:  # a short modulus padded with zeros to 256 bytes
                raise ValueError(f"ak_public.unique.rsa is a {pub.n.bit_length()}-bit modulus: expected "
                                 f"{wire.RSA_AK_BITS} bits")
            key = rsa.RSAPublicNumbers(pub.e, pub.n).public_key()
        if not enrollment.golden_pcrs:
            raise ValueError("golden_pcrs: at least one PCR must be attested")
        for idx, value in enrollment.golden_pcrs.items():
            if len(value) != wire.SHA256_SIZE:
                raise ValueError(f"golden_pcrs[{idx}] has {len(value)} bytes: a SHA-256 PCR has 32")
        signers = {wire.qualified_name(enrollment.ak_public, enrollment.hierarchy)}
        if enrollment.ek_public is not None:
            ek_qn = wire.qualified_name(enrollment.ek_public, wire.TPM_RH_ENDORSEMENT)
            signers.add(wire.child_qualified_name(enrollment.ak_public, ek_qn))
        selection = tuple(sorted(enrollment.golden_pcrs))
        return _NodeState(
            enrollment=enrollment,
            public_key=key,
            sig_alg=pub.scheme,
            expected_signers=frozenset(signers),
            owner_signer=wire.qualified_name(enrollment.ak_public, wire.TPM_RH_OWNER),
            expected_digest=wire.pcr_digest([enrollment.golden_pcrs[i] for i in selection]),
            selection=selection,
        )

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    # --- challenge -------------------------------------------------------------------------------
    def challenge(self, node_id: str) -> bytes:
        """A fresh single-use nonce for ``node_id`` (from ``nonce_source``, the OS CSPRNG by default)."""
        state = self._nodes.get(node_id)
        if state is None:
            raise ValueError(f"node_id = {node_id!r}: not enrolled")
        nonce = bytes(self._nonce_source(self._nonce_bytes))
        if len(nonce) != self._nonce_bytes:
            raise ValueError(f"nonce_source gave {len(nonce)} bytes: expected {self._nonce_bytes}")
        state.outstanding[nonce] = self._now_s()
        while len(state.outstanding) > self._max_outstanding:
            state.outstanding.popitem(last=False)
        return nonce

    # --- verification ----------------------------------------------------------------------------
    def verify(self, node_id: str, quote: Quote | None) -> Verdict:
        """Every check on ``quote``; never raises. Only a fully valid quote spends its nonce and
        becomes the clock reference; any failed verdict leaves the node's state as it was."""
        try:
            return self._verify(node_id, quote, after_clear=False)
        except Exception as exc:  # fail closed: a verifier bug is a failed attestation
            return Verdict(node_id, frozenset({Check.INTERNAL_ERROR}), f"{type(exc).__name__}: {exc}")

    def accept_clear(self, node_id: str, quote: Quote | None) -> Verdict:
        """The operator's re-enrolment after a legitimate TPM2_Clear: like :meth:`verify`, but a
        quote whose resetCount and restartCount are both 0 (what TPM2_Clear leaves) is not compared
        with the old reference. It still has to be signed by the enrolled AK, carry a live nonce and
        the golden PCRs; if it passes it becomes the new reference. Call it only when the node's
        TPM was cleared on purpose: it is never taken automatically."""
        try:
            return self._verify(node_id, quote, after_clear=True)
        except Exception as exc:
            return Verdict(node_id, frozenset({Check.INTERNAL_ERROR}), f"{type(exc).__name__}: {exc}")

    def _verify(self, node_id: str, quote: Quote | None, after_clear: bool) -> Verdict:
        state = self._nodes.get(node_id)
        if state is None:
            return Verdict(node_id, frozenset({Check.UNKNOWN_NODE}), f"node_id = {node_id!r}: not enrolled")
        if quote is None:
            return Verdict(node_id, frozenset({Check.MISSING}), "no quote")
        if not isinstance(quote.attest, (bytes, bytearray)) or not isinstance(quote.signature, (bytes, bytearray)):
            return Verdict(node_id, frozenset({Check.MALFORMED}), "quote fields must be bytes")
        # The one read of the received buffers: everything below parses and verifies these copies.
        data = bytes(quote.attest)
        sig_data = bytes(quote.signature)
        try:
            attest = wire.parse_attest(data)
            signature = wire.parse_signature(sig_data)
        except wire.WireError as exc:
            return Verdict(node_id, frozenset({_WIRE_KIND.get(exc.kind, Check.MALFORMED)}), str(exc))

        failures: set[Check] = set()
        notes: list[str] = []
        # Signature first over the exact bytes parsed (never over a re-marshalled copy).
        failures |= self._check_signature(state, data, signature, notes)
        if attest.magic != wire.TPM_GENERATED_VALUE:
            failures.add(Check.MAGIC)
            notes.append(f"magic = {attest.magic:#010x}: expected {wire.TPM_GENERATED_VALUE:#010x}")

        counters_meaningful = True
        if attest.qualified_signer not in state.expected_signers:
            if attest.qualified_signer == state.owner_signer:
                failures.add(Check.OWNER_HIERARCHY)
                notes.append("AK lives under the owner hierarchy: resetCount/restartCount are obfuscated")
            else:
                failures.add(Check.SIGNER)
                notes.append("qualifiedSigner is not the enrolled AK under its hierarchy")
            counters_meaningful = False

        failures |= self._check_nonce(state, attest.extra_data, notes)

        selection_ok = (len(attest.pcr_select) == 1 and attest.pcr_select[0].hash_alg == wire.TPM_ALG_SHA256
                        and attest.pcr_select[0].pcrs == state.selection)
        if not selection_ok:
            failures.add(Check.PCR_SELECTION)
            notes.append(f"pcrSelect = {attest.pcr_select}: expected sha256 {state.selection}")
        elif attest.pcr_digest != state.expected_digest:
            failures.add(Check.PCR_DIGEST)
            notes.append("pcrDigest differs from the golden measured-boot values")

        enr = state.enrollment
        if enr.firmware_version is not None and attest.firmware_version != enr.firmware_version:
            failures.add(Check.FIRMWARE_VERSION)
            notes.append(f"firmwareVersion = {attest.firmware_version:#x}: expected {enr.firmware_version:#x}")
        if counters_meaningful:
            cleared = after_clear and attest.clock.reset_count == 0 and attest.clock.restart_count == 0
            failures |= self._check_clock(state, attest.clock, notes, cleared)

        if not failures:  # authenticated and fully valid: only now does the node's state move
            self._spend(state, attest.extra_data)
            state.last_clock = attest.clock
            state.last_clock_at_s = self._now_s()
        return Verdict(node_id, frozenset(failures), "; ".join(notes), attest.clock.clock_ms)

    def _check_signature(self, state: _NodeState, data: bytes, signature, notes: list) -> set:
        if signature.hash_alg != wire.TPM_ALG_SHA256 or signature.sig_alg != state.sig_alg:
            notes.append(f"signature = {signature.sig_alg:#06x}/{signature.hash_alg:#06x}: the AK signs "
                         f"with {state.sig_alg:#06x}/SHA256")
            return {Check.SIGNATURE}
        try:
            if signature.sig_alg == wire.TPM_ALG_ECDSA:
                state.public_key.verify(encode_dss_signature(signature.r, signature.s), data,
                                        ec.ECDSA(hashes.SHA256()))
            elif signature.sig_alg == wire.TPM_ALG_RSASSA:
                state.public_key.verify(signature.sig, data, padding.PKCS1v15(), hashes.SHA256())
            else:  # RSAPSS: TPMs use a salt of the digest size or the maximum; AUTO accepts either
                state.public_key.verify(signature.sig, data,
                                        padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.AUTO),
                                        hashes.SHA256())
        except InvalidSignature:
            notes.append("signature does not verify under the enrolled AK")
            return {Check.SIGNATURE}
        return set()

    def _check_nonce(self, state: _NodeState, nonce: bytes, notes: list) -> set:
        """Pure: whether ``nonce`` is live for this node. It is spent only by :meth:`_spend`."""
        issued = state.outstanding.get(nonce)
        if issued is None:
            if nonce in state.used:
                notes.append("nonce already used (replay)")
                return {Check.NONCE_REPLAYED}
            notes.append("nonce was never issued to this node")
            return {Check.NONCE_UNKNOWN}
        age = self._now_s() - issued
        if not age <= self.nonce_lifetime_s:
            notes.append(f"nonce age = {age:.3f} s: exceeds lifetime {self.nonce_lifetime_s} s")
            return {Check.NONCE_EXPIRED}
        return set()

    def _spend(self, state: _NodeState, nonce: bytes) -> None:
        del state.outstanding[nonce]
        state.used[nonce] = None
        while len(state.used) > self._max_used:
            state.used.popitem(last=False)

    def _check_clock(self, state: _NodeState, clock: wire.ClockInfo, notes: list, cleared: bool = False) -> set:
        out: set[Check] = set()
        if state.enrollment.require_safe_clock and not clock.safe:
            out.add(Check.CLOCK_UNSAFE)
            notes.append("clockInfo.safe = NO")
        last = state.last_clock
        if last is None or cleared:
            return out
        # resetCount only grows; within one reset restartCount only grows; within one
        # (reset, restart) epoch the clock only grows (equal is allowed: ms resolution).
        if clock.reset_count < last.reset_count:
            out.add(Check.RESET_COUNT_ROLLBACK)
            notes.append(f"resetCount = {clock.reset_count}: below last {last.reset_count}")
            return out
        if clock.reset_count == last.reset_count:
            if clock.restart_count < last.restart_count:
                out.add(Check.RESTART_COUNT_ROLLBACK)
                notes.append(f"restartCount = {clock.restart_count}: below last {last.restart_count}")
                return out
            if clock.restart_count == last.restart_count and clock.clock_ms < last.clock_ms:
                out.add(Check.CLOCK_ROLLBACK)
                notes.append(f"clock = {clock.clock_ms} ms: below last {last.clock_ms} ms")
                return out
        # Plausible growth: no more than elapsed time (and drift) allows, whatever the epoch.
        elapsed_s = max(0.0, self._now_s() - state.last_clock_at_s) + self.nonce_lifetime_s
        # (the 1e-6 keeps floor() from losing a whole ms to binary rounding of e.g. 12 s * 1.15)
        max_clock_ms = last.clock_ms + math.floor(elapsed_s * 1000.0 * (1.0 + self.clock_drift) + 1e-6) + 1
        max_counts = 1 + math.floor(elapsed_s / self.min_reboot_s + 1e-9)
        if clock.clock_ms > max_clock_ms:
            out.add(Check.CLOCK_JUMP)
            notes.append(f"clock = {clock.clock_ms} ms: beyond {max_clock_ms} ms that {elapsed_s:.3f} s elapsed "
                         f"and drift {self.clock_drift} allow")
        if clock.reset_count - last.reset_count > max_counts:
            out.add(Check.RESET_COUNT_JUMP)
            notes.append(f"resetCount = {clock.reset_count}: more than {max_counts} resets past {last.reset_count} "
                         f"in {elapsed_s:.3f} s")
        elif clock.reset_count == last.reset_count and clock.restart_count - last.restart_count > max_counts:
            out.add(Check.RESTART_COUNT_JUMP)
            notes.append(f"restartCount = {clock.restart_count}: more than {max_counts} restarts past "
                         f"{last.restart_count} in {elapsed_s:.3f} s")
        return out


def attest_node(verifier: Verifier, attestor: Attestor, timeout_s: float | None = None,
                executor: concurrent.futures.Executor | None = None) -> Verdict:
    """One challenge-response round with a node, failing closed on every error path.

    With ``timeout_s`` the node's ``quote`` runs on ``executor`` (a thread) and a late answer is a
    :attr:`Check.TIMEOUT`; its nonce stays unused and expires."""
    node_id = getattr(attestor, "node_id", "?")
    try:
        nonce = verifier.challenge(node_id)
    except Exception as exc:
        return Verdict(node_id, frozenset({Check.UNKNOWN_NODE}), str(exc))
    try:
        if timeout_s is None:
            quote = attestor.quote(nonce)
        else:
            if executor is None:
                raise ValueError("executor: required with timeout_s")
            quote = executor.submit(attestor.quote, nonce).result(timeout=timeout_s)
    except concurrent.futures.TimeoutError:
        return Verdict(node_id, frozenset({Check.TIMEOUT}), f"no answer within {timeout_s} s")
    except Exception as exc:
        return Verdict(node_id, frozenset({Check.NODE_ERROR}), f"{type(exc).__name__}: {exc}")
    return verifier.verify(node_id, quote)
