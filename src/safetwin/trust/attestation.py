"""Verifier of TPM 2.0-style quotes: signature, freshness, measured boot, clock monotonicity.

A sensor node answers the verifier's challenge (a fresh random nonce) with a :class:`Quote`: the
``TPMS_ATTEST`` bytes it signed and the ``TPMT_SIGNATURE`` (ECDSA P-256 / SHA-256). Both node
backends (:mod:`.software_node`, :mod:`.tpm_node`) produce exactly these bytes, and a quote from a
real TPM goes through the same parser (:mod:`.tpm_wire`).

:meth:`Verifier.verify` returns a :class:`Verdict` naming *every* failed :class:`Check`; it never
raises. It fails closed: a missing quote, a node that timed out or raised, and an exception inside
verification itself all give a failed verdict (the Keylime CVEs were fail-open paths of exactly
this kind). Nonces are single-use and expire after ``nonce_lifetime_s``.
"""
from __future__ import annotations

import collections
import concurrent.futures
import enum
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Callable, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
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
    CLOCK_UNSAFE = "clock_unsafe"  # TPMS_CLOCK_INFO.safe = NO


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


@dataclass(frozen=True)
class Enrollment:
    """What the verifier knows of a node before it trusts it: its AK (TPMT_PUBLIC bytes, from a
    trusted enrolment such as an EK-certified credential activation), the hierarchy the AK must live
    in, the golden PCR values of its measured boot, and optionally its firmware version."""

    node_id: str
    ak_public: bytes
    golden_pcrs: Mapping[int, bytes]  # PCR index -> expected SHA-256 bank value
    hierarchy: int = wire.TPM_RH_ENDORSEMENT
    firmware_version: int | None = None
    require_safe_clock: bool = True


class Attestor(Protocol):
    """A node that can answer a challenge with a quote (software node, TPM node, real device)."""

    node_id: str

    @property
    def ak_public(self) -> bytes: ...

    def quote(self, nonce: bytes) -> Quote: ...


@dataclass
class _NodeState:
    enrollment: Enrollment
    public_key: ec.EllipticCurvePublicKey
    expected_signer: bytes
    owner_signer: bytes
    expected_digest: bytes
    selection: tuple
    outstanding: collections.OrderedDict[bytes, float] = field(default_factory=collections.OrderedDict)
    used: collections.OrderedDict[bytes, None] = field(default_factory=collections.OrderedDict)
    last_clock: wire.ClockInfo | None = None


_WIRE_KIND = {"truncated": Check.TRUNCATED, "oversized": Check.OVERSIZED,
              "malformed": Check.MALFORMED, "wrong_type": Check.TYPE}


class Verifier:
    """Issues challenges and verifies quotes for enrolled nodes.

    ``now_s`` is the verifier's clock (seconds, monotonic); tests pass a simulated one so that
    nonce expiry is deterministic. ``max_outstanding`` bounds the nonces kept per node (the oldest
    is dropped, i.e. becomes unknown), ``max_used`` the memory of spent nonces for replay reports.
    """

    def __init__(self, nonce_lifetime_s: float = 2.0, now_s: Callable[[], float] = time.monotonic,
                 nonce_bytes: int = 32, max_outstanding: int = 64, max_used: int = 4096) -> None:
        if not nonce_lifetime_s > 0:
            raise ValueError(f"nonce_lifetime_s = {nonce_lifetime_s}: must be > 0")
        if not 16 <= nonce_bytes <= wire.MAX_EXTRA_DATA_BYTES:
            raise ValueError(f"nonce_bytes = {nonce_bytes}: must be in [16, {wire.MAX_EXTRA_DATA_BYTES}]")
        self.nonce_lifetime_s = float(nonce_lifetime_s)
        self._now_s = now_s
        self._nonce_bytes = nonce_bytes
        self._max_outstanding = max_outstanding
        self._max_used = max_used
        self._nodes: dict[str, _NodeState] = {}

    # --- enrolment -------------------------------------------------------------------------------
    def enroll(self, enrollment: Enrollment) -> None:
        """Register a node; raises ValueError naming the field if the AK or PCR values are bad."""
        pub = wire.parse_ecc_public(enrollment.ak_public)
        if pub.object_attributes & wire.AK_OBJECT_ATTRIBUTES != wire.AK_OBJECT_ATTRIBUTES:
            raise ValueError(f"ak_public.objectAttributes = {pub.object_attributes:#010x}: an AK must be "
                             f"a fixedTPM restricted signing key ({wire.AK_OBJECT_ATTRIBUTES:#010x})")
        if not enrollment.golden_pcrs:
            raise ValueError("golden_pcrs: at least one PCR must be attested")
        for idx, value in enrollment.golden_pcrs.items():
            if len(value) != wire.SHA256_SIZE:
                raise ValueError(f"golden_pcrs[{idx}] has {len(value)} bytes: a SHA-256 PCR has 32")
        key = ec.EllipticCurvePublicNumbers(pub.x, pub.y, ec.SECP256R1()).public_key()
        selection = tuple(sorted(enrollment.golden_pcrs))
        self._nodes[enrollment.node_id] = _NodeState(
            enrollment=enrollment,
            public_key=key,
            expected_signer=wire.qualified_name(enrollment.ak_public, enrollment.hierarchy),
            owner_signer=wire.qualified_name(enrollment.ak_public, wire.TPM_RH_OWNER),
            expected_digest=wire.pcr_digest([enrollment.golden_pcrs[i] for i in selection]),
            selection=selection,
        )

    @property
    def nodes(self) -> tuple[str, ...]:
        return tuple(self._nodes)

    # --- challenge -------------------------------------------------------------------------------
    def challenge(self, node_id: str) -> bytes:
        """A fresh single-use nonce for ``node_id`` (os CSPRNG)."""
        state = self._nodes.get(node_id)
        if state is None:
            raise ValueError(f"node_id = {node_id!r}: not enrolled")
        nonce = secrets.token_bytes(self._nonce_bytes)
        state.outstanding[nonce] = self._now_s()
        while len(state.outstanding) > self._max_outstanding:
            state.outstanding.popitem(last=False)
        return nonce

    # --- verification ----------------------------------------------------------------------------
    def verify(self, node_id: str, quote: Quote | None) -> Verdict:
        """Every check on ``quote``; never raises. The nonce it carries is spent whatever the outcome."""
        try:
            return self._verify(node_id, quote)
        except Exception as exc:  # fail closed: a verifier bug is a failed attestation
            return Verdict(node_id, frozenset({Check.INTERNAL_ERROR}), f"{type(exc).__name__}: {exc}")

    def _verify(self, node_id: str, quote: Quote | None) -> Verdict:
        state = self._nodes.get(node_id)
        if state is None:
            return Verdict(node_id, frozenset({Check.UNKNOWN_NODE}), f"node_id = {node_id!r}: not enrolled")
        if quote is None:
            return Verdict(node_id, frozenset({Check.MISSING}), "no quote")
        if not isinstance(quote.attest, (bytes, bytearray)) or not isinstance(quote.signature, (bytes, bytearray)):
            return Verdict(node_id, frozenset({Check.MALFORMED}), "quote fields must be bytes")
        try:
            attest = wire.parse_attest(bytes(quote.attest))
            signature = wire.parse_signature(bytes(quote.signature))
        except wire.WireError as exc:
            return Verdict(node_id, frozenset({_WIRE_KIND.get(exc.kind, Check.MALFORMED)}), str(exc))

        failures: set[Check] = set()
        notes: list[str] = []
        # Signature first over the exact bytes received (never over a re-marshalled copy).
        if signature.hash_alg != wire.TPM_ALG_SHA256:
            failures.add(Check.SIGNATURE)
            notes.append(f"signature.hash = {signature.hash_alg:#06x}: expected SHA256")
        else:
            try:
                state.public_key.verify(encode_dss_signature(signature.r, signature.s),
                                        bytes(quote.attest), ec.ECDSA(hashes.SHA256()))
            except InvalidSignature:
                failures.add(Check.SIGNATURE)
                notes.append("ECDSA signature does not verify under the enrolled AK")
        if attest.magic != wire.TPM_GENERATED_VALUE:
            failures.add(Check.MAGIC)
            notes.append(f"magic = {attest.magic:#010x}: expected {wire.TPM_GENERATED_VALUE:#010x}")

        counters_meaningful = True
        if attest.qualified_signer != state.expected_signer:
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
            failures |= self._check_clock(state, attest.clock, notes)

        if not failures:
            state.last_clock = attest.clock  # only a fully verified quote moves the high-water mark
        return Verdict(node_id, frozenset(failures), "; ".join(notes), attest.clock.clock_ms)

    def _check_nonce(self, state: _NodeState, nonce: bytes, notes: list) -> set:
        issued = state.outstanding.pop(nonce, None)
        if issued is None:
            if nonce in state.used:
                notes.append("nonce already used (replay)")
                return {Check.NONCE_REPLAYED}
            notes.append("nonce was never issued to this node")
            return {Check.NONCE_UNKNOWN}
        state.used[nonce] = None
        while len(state.used) > self._max_used:
            state.used.popitem(last=False)
        age = self._now_s() - issued
        if not age <= self.nonce_lifetime_s:
            notes.append(f"nonce age = {age:.3f} s: exceeds lifetime {self.nonce_lifetime_s} s")
            return {Check.NONCE_EXPIRED}
        return set()

    def _check_clock(self, state: _NodeState, clock: wire.ClockInfo, notes: list) -> set:
        out: set[Check] = set()
        if state.enrollment.require_safe_clock and not clock.safe:
            out.add(Check.CLOCK_UNSAFE)
            notes.append("clockInfo.safe = NO")
        last = state.last_clock
        if last is None:
            return out
        # resetCount only grows; within one reset restartCount only grows; within one
        # (reset, restart) epoch the clock only grows (equal is allowed: ms resolution).
        if clock.reset_count < last.reset_count:
            out.add(Check.RESET_COUNT_ROLLBACK)
            notes.append(f"resetCount = {clock.reset_count}: below last {last.reset_count}")
        elif clock.reset_count == last.reset_count:
            if clock.restart_count < last.restart_count:
                out.add(Check.RESTART_COUNT_ROLLBACK)
                notes.append(f"restartCount = {clock.restart_count}: below last {last.restart_count}")
            elif clock.restart_count == last.restart_count and clock.clock_ms < last.clock_ms:
                out.add(Check.CLOCK_ROLLBACK)
                notes.append(f"clock = {clock.clock_ms} ms: below last {last.clock_ms} ms")
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
