"""The verifier holes of issue 17, each shown by an attack that succeeded on the old verifier.

- nonce burn: a frame nobody signed, carrying the live nonce, must not spend it;
- lockout: a quote claiming resetCount 2^32 - 1 (signed by a foreign key, or by the real key of an
  attacker who holds it) must not become the reference that every later honest quote fails;
- TPM2_Clear: resetCount back to 0 is refused until the operator re-enrols with an authenticated
  quote (never automatically);
- double read: the bytes that are parsed are the bytes whose signature is checked;
- the verdict names one reason the trust layer weighs.
"""
import hashlib
import struct

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from safetwin.trust import Check, Quote, Reason, SoftwareNode, golden_pcrs, reference_boot_log
from safetwin.trust import tpm_wire as wire
from safetwin.trust.attestation import Enrollment


def with_clock(node_like, nonce, clock_info, signer=None):
    """A quote from ``node_like``'s key with its golden content but a chosen clock."""
    a = wire.parse_attest(node_like.quote(nonce).attest)
    body = wire.QuoteAttest(signer if signer is not None else a.qualified_signer, nonce, clock_info,
                            a.firmware_version, a.pcr_select, a.pcr_digest).marshal()
    return Quote(body, node_like.sign_anything(body))


def test_unsigned_frame_with_live_nonce_does_not_burn_it(verifier, node):
    nonce = verifier.challenge("cell_mon")
    honest = node.quote(nonce)
    # A third node on the bus saw the challenge: it answers first, with garbage signed by nobody.
    a = wire.parse_attest(honest.attest)
    sig = wire.parse_signature(honest.signature)
    forged = Quote(a.marshal(), wire.EcdsaSignature(sig.hash_alg, sig.r, sig.s ^ 1).marshal())
    burn = verifier.verify("cell_mon", forged)
    assert burn.failures == {Check.SIGNATURE} and burn.reason is Reason.FAIL_SIGNATURE
    # ... and a well-formed quote signed by a key of its own: also refused, also no burn.
    stranger = SoftwareNode("cell_mon", key=ec.generate_private_key(ec.SECP256R1()))
    assert verifier.verify("cell_mon", stranger.quote(nonce)).reason is Reason.FAIL_SIGNATURE
    v = verifier.verify("cell_mon", honest)
    assert v.passed and v.reason is Reason.PASS  # the old verifier said nonce_replayed here
    assert verifier.verify("cell_mon", honest).failures == {Check.NONCE_REPLAYED}


def test_foreign_key_max_reset_count_does_not_lock_out(verifier, node):
    nonce = verifier.challenge("cell_mon")
    attacker = SoftwareNode("cell_mon", key=ec.generate_private_key(ec.SECP256R1()))
    # The attacker claims the honest node's qualified signer, but cannot sign as its AK.
    honest_signer = wire.qualified_name(node.ak_public, wire.TPM_RH_ENDORSEMENT)
    evil = with_clock(attacker, nonce, wire.ClockInfo(5, 2**32 - 1, 0, True), signer=honest_signer)
    assert verifier.verify("cell_mon", evil).failures == {Check.SIGNATURE}
    for _ in range(3):  # the honest node keeps passing, starting with the very same nonce
        assert verifier.verify("cell_mon", node.quote(nonce)).passed
        nonce = verifier.challenge("cell_mon")


def test_real_key_max_reset_count_refused_without_lockout(clock, verifier, node):
    first = verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon")))
    assert first.passed  # reference: resetCount 0, clock 1 ms
    clock.t += 5.0
    nonce = verifier.challenge("cell_mon")
    evil = with_clock(node, nonce, wire.ClockInfo(node.clock.clock_ms, 2**32 - 1, 0, True))
    v = verifier.verify("cell_mon", evil)
    # 5 s + 2 s nonce lifetime allow 1 + floor(7 / 1) = 8 resets, not 2^32 - 1.
    assert v.failures == {Check.RESET_COUNT_JUMP} and v.reason is Reason.FAIL_REPLAY
    assert "more than 8 resets" in v.detail
    assert verifier.verify("cell_mon", node.quote(nonce)).passed  # the nonce was not spent either
    node.reboot()  # a real reboot: resetCount 0 -> 1, within the bound
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed


def test_reset_count_bound_is_exact(clock, verifier, node):
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed
    clock.t += 3.0  # e = 3 + 2 = 5 s: at most 1 + 5 = 6 resets
    for resets, ok in ((7, False), (6, True)):
        c = node.clock
        v = verifier.verify("cell_mon", with_clock(node, verifier.challenge("cell_mon"),
                                                   wire.ClockInfo(0, c.reset_count + resets, 0, True)))
        assert v.passed is ok, (resets, v)


def test_clock_jump_bound_is_exact(clock, verifier, node):
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed  # clock 1 ms
    clock.t += 10.0
    # e = 10 + 2 = 12 s; drift 0.15: 12 000 * 1.15 = 13 800 ms (+ 1 ms resolution) past 1 ms.
    limit = 1 + 13_800 + 1
    for clock_ms, ok in ((limit + 1, False), (limit, True)):
        v = verifier.verify("cell_mon", with_clock(node, verifier.challenge("cell_mon"),
                                                   wire.ClockInfo(clock_ms, 0, 0, True)))
        assert v.passed is ok and (ok or v.failures == {Check.CLOCK_JUMP}), (clock_ms, v)


def test_clock_jump_signed_by_real_key_leaves_reference(clock, verifier, node):
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed
    evil = with_clock(node, verifier.challenge("cell_mon"), wire.ClockInfo(10**12, 0, 0, True))
    assert verifier.verify("cell_mon", evil).failures == {Check.CLOCK_JUMP}
    clock.t += 1.0
    node.advance_clock(1000)
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed


def test_legitimate_clear_needs_operator_reenrolment(verifier, node):
    node.reboot()
    node.reboot()
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed  # resetCount 2
    node.set_clock(wire.ClockInfo(0, 0, 0, True))  # TPM2_Clear: counters and clock back to 0
    nonce = verifier.challenge("cell_mon")
    q = node.quote(nonce)
    v = verifier.verify("cell_mon", q)
    assert v.failures == {Check.RESET_COUNT_ROLLBACK} and v.reason is Reason.FAIL_REPLAY  # never automatic
    # The operator's call needs an authenticated quote: a foreign key is refused ...
    stranger = SoftwareNode("cell_mon", key=ec.generate_private_key(ec.SECP256R1()))
    stranger.set_clock(wire.ClockInfo(0, 0, 0, True))
    assert verifier.accept_clear("cell_mon", stranger.quote(nonce)).failures == {Check.SIGNER, Check.SIGNATURE}
    # ... and so is a quote from a node that was not cleared (resetCount 1 is still a rollback).
    node.set_clock(wire.ClockInfo(0, 1, 0, True))
    assert verifier.accept_clear("cell_mon", node.quote(nonce)).failures == {Check.RESET_COUNT_ROLLBACK}
    node.set_clock(wire.ClockInfo(0, 0, 0, True))
    assert verifier.accept_clear("cell_mon", node.quote(nonce)).passed
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed  # new reference
    node.set_clock(wire.ClockInfo(0, 0, 0, True))
    node.tick_ms = 0
    older = with_clock(node, verifier.challenge("cell_mon"), wire.ClockInfo(0, 0, 0, True))
    assert verifier.verify("cell_mon", older).failures == {Check.CLOCK_ROLLBACK}


def test_accept_clear_needs_golden_pcrs_and_fresh_nonce(verifier, node):
    assert verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon"))).passed
    node.set_clock(wire.ClockInfo(0, 0, 0, True))
    assert verifier.accept_clear("cell_mon", node.quote(b"\x07" * 32)).failures == {Check.NONCE_UNKNOWN}
    node.extend(0, hashlib.sha256(b"implant").digest())
    assert verifier.accept_clear("cell_mon", node.quote(verifier.challenge("cell_mon"))).failures == \
        {Check.PCR_DIGEST}


class TwoFaced(bytearray):
    """A buffer that shows one content to the first reader and another to the second (a DMA
    buffer the bus driver is still writing, or a hostile object)."""

    def __init__(self, first: bytes, then: bytes):
        super().__init__(first)
        self._reads = [first, then]

    def __bytes__(self):
        return self._reads.pop(0) if len(self._reads) > 1 else self._reads[0]


def test_bytes_read_once(verifier, node):
    node.extend(0, hashlib.sha256(b"implant").digest())  # a tampered node: its honest quote fails PCR
    nonce = verifier.challenge("cell_mon")
    genuine = node.quote(nonce)
    a = wire.parse_attest(genuine.attest)
    golden = wire.pcr_digest([golden_pcrs(reference_boot_log("cell_mon"))[i] for i in node.pcrs])
    doctored = wire.QuoteAttest(a.qualified_signer, a.extra_data, a.clock, a.firmware_version,
                                a.pcr_select, golden).marshal()
    # The old verifier parsed the first read (golden digest) and checked the signature on the
    # second (the genuine, signed bytes): the tampered node passed.
    v = verifier.verify("cell_mon", Quote(TwoFaced(doctored, genuine.attest), genuine.signature))
    assert not v.passed and v.failures == {Check.SIGNATURE}
    v = verifier.verify("cell_mon", Quote(TwoFaced(genuine.attest, doctored), genuine.signature))
    assert v.failures == {Check.PCR_DIGEST} and v.reason is Reason.FAIL_PCR


def test_reason_precedence_and_codes(clock, verifier, node):
    # Codes are the C++ trust::Attestation values (owners.md contract).
    assert [r.code for r in Reason] == [1, 2, 3, 4, 5, 6, 7]
    assert verifier.verify("cell_mon", None).reason is Reason.TIMEOUT
    assert verifier.verify("cell_mon", Quote(b"\xff\x54", b"")).reason is Reason.FAIL_MALFORMED
    nonce = verifier.challenge("cell_mon")
    q = node.quote(nonce)
    clock.t += 2.5
    late = verifier.verify("cell_mon", q)
    assert late.failures == {Check.NONCE_EXPIRED} and late.reason is Reason.TIMEOUT  # a late answer
    node.extend(1, hashlib.sha256(b"x").digest())
    stale = verifier.verify("cell_mon", node.quote(b"\x01" * 32))
    assert stale.failures == {Check.NONCE_UNKNOWN, Check.PCR_DIGEST} and stale.reason is Reason.FAIL_REPLAY
    c = node.clock
    node.set_clock(wire.ClockInfo(c.clock_ms, c.reset_count, c.restart_count, False))
    unsafe = verifier.verify("cell_mon", node.quote(verifier.challenge("cell_mon")))
    assert unsafe.failures == {Check.CLOCK_UNSAFE, Check.PCR_DIGEST} and unsafe.reason is Reason.FAIL_PCR


@pytest.mark.parametrize("scheme", [wire.TPM_ALG_RSASSA, wire.TPM_ALG_RSAPSS])
def test_rsa_2048_aks(verifier, scheme):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    n = SoftwareNode("rsa_node", key=key, rsa_scheme=scheme)
    verifier.enroll(n.enrollment())
    q = n.quote(verifier.challenge("rsa_node"))
    assert len(q.signature) == 2 + 2 + 2 + 256
    assert verifier.verify("rsa_node", q).passed
    sig = wire.parse_signature(q.signature)
    flipped = wire.RsaSignature(sig.sig_alg, sig.hash_alg, sig.sig[:-1] + bytes([sig.sig[-1] ^ 1]))
    q2 = n.quote(verifier.challenge("rsa_node"))
    assert verifier.verify("rsa_node", Quote(q2.attest, flipped.marshal())).failures == {Check.SIGNATURE}
    other = wire.TPM_ALG_RSAPSS if scheme == wire.TPM_ALG_RSASSA else wire.TPM_ALG_RSASSA
    swapped = wire.RsaSignature(other, sig.hash_alg, wire.parse_signature(q2.signature).sig)
    assert verifier.verify("rsa_node", Quote(q2.attest, swapped.marshal())).failures == {Check.SIGNATURE}
    assert verifier.verify("rsa_node", q2).passed


def test_rsa_ak_size_and_enrolment_rules(verifier):
    small = SoftwareNode("s", key=rsa.generate_private_key(public_exponent=65537, key_size=1024))
    with pytest.raises(ValueError, match="keyBits = 1024: expected 2048"):
        verifier.enroll(small.enrollment())
    # A 1024-bit modulus padded with zeros to 2048 bits' worth of bytes: not a 2048-bit key.
    n1024 = small._key.public_key().public_numbers().n
    padded = wire.rsa_ak_public(n1024)[:-130] + struct.pack(">H", 256) + n1024.to_bytes(256, "big")
    padded = padded[:16] + struct.pack(">H", 2048) + padded[18:]  # keyBits
    assert wire.parse_public(padded).key_bits == 2048
    with pytest.raises(ValueError, match="1024-bit modulus"):
        verifier.enroll(Enrollment("p", padded, {0: bytes(32)}))
    n = SoftwareNode("x")
    with pytest.raises(ValueError, match="ek_public is set"):
        verifier.enroll(n.enrollment(ek_public=n.ak_public))
