"""Quote verification with the in-process software node: every failed check has its own reason.

Each attack is built from real signed bytes (the node's own ECDSA key via ``cryptography``) and
changed in exactly one way, so the verdict must name exactly that check and nothing else.
"""
import struct
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from safetwin.trust import Check, Quote, SoftwareNode, Verifier, attest_node, golden_pcrs, reference_boot_log
from safetwin.trust import tpm_wire as wire


def fresh(verifier, node):
    nonce = verifier.challenge(node.node_id)
    return nonce, node.quote(nonce)


def resign(node, attest: wire.QuoteAttest) -> Quote:
    """A quote with chosen content, validly signed by the node's own key (attacker holding it)."""
    data = attest.marshal()
    return Quote(data, node.sign_anything(data))


def test_valid_quote_passes_and_reports_clock(verifier, node):
    _, q = fresh(verifier, node)
    v = verifier.verify("cell_mon", q)
    assert v.passed and v.failures == frozenset() and bool(v)
    assert v.clock_ms == wire.parse_attest(q.attest).clock.clock_ms == 1


def test_golden_values_match_independent_extend_chain():
    # PCR0 after one extend of H(fw) from zero: sha256(0^32 || sha256(fw)), computed by hand here.
    import hashlib
    fw = b"safetwin-sensor-fw-1.0"
    pcr0 = hashlib.sha256(bytes(32) + hashlib.sha256(fw).digest()).digest()
    node = SoftwareNode("n1")
    assert node.pcr_value(0) == pcr0 == golden_pcrs(reference_boot_log("n1"))[0]


def test_forged_signature_rejected(verifier, node):
    nonce, q = fresh(verifier, node)
    sig = wire.parse_signature(q.signature)
    forged = wire.EcdsaSignature(sig.hash_alg, sig.r, (sig.s + 1) % (2 ** 256)).marshal()
    v = verifier.verify("cell_mon", Quote(q.attest, forged))
    assert v.failures == {Check.SIGNATURE}


def test_quote_signed_by_another_key_rejected(verifier, node):
    impostor = SoftwareNode("cell_mon", key=ec.generate_private_key(ec.SECP256R1()))
    nonce = verifier.challenge("cell_mon")
    q = impostor.quote(nonce)
    # Its qualifiedSigner names the impostor's key, and the signature is not the enrolled AK's.
    assert verifier.verify("cell_mon", q).failures == {Check.SIGNATURE, Check.SIGNER}


def test_altered_body_breaks_signature(verifier, node):
    nonce, q = fresh(verifier, node)
    assert wire.parse_attest(q.attest).pcr_digest == golden_digest(node)
    body = bytearray(q.attest)
    body[-1] ^= 0x01  # one bit of pcrDigest
    assert verifier.verify("cell_mon", Quote(bytes(body), q.signature)).failures == {Check.SIGNATURE, Check.PCR_DIGEST}


def golden_digest(node):
    g = golden_pcrs(reference_boot_log(node.node_id), node.pcrs)
    return wire.pcr_digest([g[i] for i in sorted(g)])


def test_wrong_nonce_rejected(verifier, node):
    verifier.challenge("cell_mon")
    q = node.quote(b"\x00" * 32)
    assert verifier.verify("cell_mon", q).failures == {Check.NONCE_UNKNOWN}


def test_nonce_of_another_node_rejected(verifier, node):
    other = SoftwareNode("pack_v")
    verifier.enroll(other.enrollment())
    nonce = verifier.challenge("pack_v")
    assert verifier.verify("cell_mon", node.quote(nonce)).failures == {Check.NONCE_UNKNOWN}


def test_stale_quote_rejected_exactly_past_lifetime(clock, verifier, node):
    nonce, q = fresh(verifier, node)
    clock.t += 2.0  # exactly at the lifetime: still fresh
    assert verifier.verify("cell_mon", q).passed
    nonce, q = fresh(verifier, node)
    clock.t += 2.0 + 1e-6
    assert verifier.verify("cell_mon", q).failures == {Check.NONCE_EXPIRED}


def test_replayed_quote_rejected(verifier, node):
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed
    assert verifier.verify("cell_mon", q).failures == {Check.NONCE_REPLAYED}


def test_nonce_not_spent_by_failed_quote(verifier, node):
    # Only a fully valid quote spends its nonce (issue 17: a failed one must not burn it).
    nonce, q = fresh(verifier, node)
    bad = Quote(q.attest, q.signature[:-1] + bytes([q.signature[-1] ^ 1]))
    assert verifier.verify("cell_mon", bad).failures == {Check.SIGNATURE}
    assert verifier.verify("cell_mon", q).passed
    assert verifier.verify("cell_mon", q).failures == {Check.NONCE_REPLAYED}


def test_rolled_back_clock_rejected(verifier, node):
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed
    node.advance_clock(500)
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed
    c = node.clock
    node.set_clock(wire.ClockInfo(c.clock_ms - 300, c.reset_count, c.restart_count, True))
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).failures == {Check.CLOCK_ROLLBACK}


def test_equal_clock_is_not_rollback(verifier, node):
    node.tick_ms = 0  # two quotes in the same TPM millisecond
    for _ in range(2):
        _, q = fresh(verifier, node)
        assert verifier.verify("cell_mon", q).passed


def test_reset_and_restart_count_rollback(verifier, node):
    node.reboot()
    node.reboot()
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed
    c = node.clock
    node.set_clock(wire.ClockInfo(c.clock_ms + 10_000, c.reset_count - 1, c.restart_count, True))
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).failures == {Check.RESET_COUNT_ROLLBACK}
    node.set_clock(wire.ClockInfo(c.clock_ms, c.reset_count, 3, True))
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed
    node.set_clock(wire.ClockInfo(c.clock_ms + 10_000, c.reset_count, 2, True))
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).failures == {Check.RESTART_COUNT_ROLLBACK}


def test_reboot_restarts_clock_legitimately(verifier, node):
    node.advance_clock(10_000)
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed
    node.reboot()  # clock back to 0 but resetCount + 1: not a rollback
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).passed


def test_unsafe_clock_flagged(verifier, node):
    c = node.clock
    node.set_clock(wire.ClockInfo(c.clock_ms, c.reset_count, c.restart_count, False))
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).failures == {Check.CLOCK_UNSAFE}


def test_unexpected_pcr_digest_rejected(verifier, node):
    import hashlib
    node.extend(0, hashlib.sha256(b"implant").digest())
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).failures == {Check.PCR_DIGEST}


def test_tampered_firmware_at_boot_rejected(verifier, node):
    node.reboot(boot_log=reference_boot_log("cell_mon", firmware=b"safetwin-sensor-fw-1.0-patched"))
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", q).failures == {Check.PCR_DIGEST}


def test_other_pcr_selection_rejected(verifier, node):
    nonce = verifier.challenge("cell_mon")
    a = wire.parse_attest(node.quote(nonce).attest)
    narrower = wire.QuoteAttest(a.qualified_signer, a.extra_data, a.clock, a.firmware_version,
                                (wire.PcrSelection(wire.TPM_ALG_SHA256, (1, 2, 7)),), a.pcr_digest)
    assert verifier.verify("cell_mon", resign(node, narrower)).failures == {Check.PCR_SELECTION}


def test_bad_magic_and_firmware_named(verifier, node):
    nonce = verifier.challenge("cell_mon")
    a = wire.parse_attest(node.quote(nonce).attest)
    fake = wire.QuoteAttest(a.qualified_signer, a.extra_data, a.clock, a.firmware_version + 1,
                            a.pcr_select, a.pcr_digest, magic=0x12345678)
    assert verifier.verify("cell_mon", resign(node, fake)).failures == {Check.MAGIC, Check.FIRMWARE_VERSION}


def test_wrong_attestation_type_rejected(verifier, node):
    _, q = fresh(verifier, node)
    body = bytearray(q.attest)
    body[4:6] = struct.pack(">H", 0x8017)  # TPM_ST_ATTEST_CERTIFY
    assert verifier.verify("cell_mon", Quote(bytes(body), q.signature)).failures == {Check.TYPE}


def test_every_truncation_rejected_as_truncated(verifier, node):
    _, q = fresh(verifier, node)
    for n in range(len(q.attest)):
        v = verifier.verify("cell_mon", Quote(q.attest[:n], q.signature))
        assert v.failures == {Check.TRUNCATED}, (n, v)
    for n in range(len(q.signature)):
        assert verifier.verify("cell_mon", Quote(q.attest, q.signature[:n])).failures == {Check.TRUNCATED}


def test_oversized_rejected(verifier, node):
    _, q = fresh(verifier, node)
    assert verifier.verify("cell_mon", Quote(q.attest + b"\x00", q.signature)).failures == {Check.OVERSIZED}
    assert verifier.verify("cell_mon", Quote(q.attest, q.signature + b"\x00")).failures == {Check.OVERSIZED}
    huge = Quote(b"\xff" * (wire.MAX_ATTEST_BYTES + 1), q.signature)
    assert verifier.verify("cell_mon", huge).failures == {Check.OVERSIZED}
    # A length field claiming more than the TPM2B maximum: refused before reading it.
    body = bytearray(q.attest)
    body[6:8] = struct.pack(">H", 0xFFFF)
    assert verifier.verify("cell_mon", Quote(bytes(body), q.signature)).failures == {Check.OVERSIZED}


def test_non_bytes_and_missing_and_unknown(verifier, node):
    assert verifier.verify("cell_mon", None).failures == {Check.MISSING}
    assert verifier.verify("cell_mon", Quote("text", b"")).failures == {Check.MALFORMED}
    assert verifier.verify("nobody", Quote(b"", b"")).failures == {Check.UNKNOWN_NODE}


@settings(max_examples=300, deadline=None)
@given(attest=st.binary(max_size=300), signature=st.binary(max_size=140))
def test_random_bytes_never_crash_never_pass(attest, signature):
    v = Verifier(now_s=lambda: 0.0)
    n = SoftwareNode("x", key=_FIXED_KEY)
    v.enroll(n.enrollment())
    verdict = v.verify("x", Quote(attest, signature))
    assert not verdict.passed and Check.INTERNAL_ERROR not in verdict.failures


_FIXED_KEY = ec.derive_private_key(12345, ec.SECP256R1())


def test_verifier_exception_fails_closed(verifier, node, monkeypatch):
    """A bug inside verification (here: injected into the clock check) is a failed verdict."""
    _, q = fresh(verifier, node)

    def boom(*args):
        raise RuntimeError("boom")

    monkeypatch.setattr(verifier, "_check_clock", boom)
    v = verifier.verify("cell_mon", q)
    assert v.failures == {Check.INTERNAL_ERROR} and "boom" in v.detail


class RaisingNode(SoftwareNode):
    def quote(self, nonce):
        raise ConnectionError("bus off")


class HangingNode(SoftwareNode):
    release = threading.Event()

    def quote(self, nonce):
        self.release.wait()
        return super().quote(nonce)


def test_node_errors_and_timeouts_fail_closed(verifier):
    raising, hanging = RaisingNode("r"), HangingNode("h")
    verifier.enroll(raising.enrollment())
    verifier.enroll(hanging.enrollment())
    assert attest_node(verifier, raising).failures == {Check.NODE_ERROR}
    with ThreadPoolExecutor(max_workers=1) as pool:
        v = attest_node(verifier, hanging, timeout_s=0.05, executor=pool)
        HangingNode.release.set()
    assert v.failures == {Check.TIMEOUT}


def test_attacker_with_valid_key_can_forge_golden_quote(verifier, node):
    """The documented limit: a node whose AK leaked (software key) passes with a forged quote.
    That is why the trust state also weighs residual evidence (CUSUM)."""
    import hashlib
    node.extend(0, hashlib.sha256(b"implant").digest())
    nonce = verifier.challenge("cell_mon")
    a = wire.parse_attest(node.quote(nonce).attest)
    forged = wire.QuoteAttest(a.qualified_signer, a.extra_data, a.clock, a.firmware_version,
                              a.pcr_select, golden_digest(node))
    assert verifier.verify("cell_mon", resign(node, forged)).passed


def test_enrollment_validation():
    v = Verifier()
    n = SoftwareNode("x")
    with pytest.raises(ValueError, match="golden_pcrs"):
        v.enroll(n.enrollment(golden={}))
    with pytest.raises(ValueError, match=r"golden_pcrs\[0\] has 31 bytes"):
        v.enroll(n.enrollment(golden={0: bytes(31)}))
    nums = n._key.public_key().public_numbers()
    with pytest.raises(ValueError, match="objectAttributes"):
        from safetwin.trust.attestation import Enrollment
        v.enroll(Enrollment("x", wire.ecc_ak_public(nums.x, nums.y, object_attributes=0x00040072), {0: bytes(32)}))
    with pytest.raises(ValueError, match="nonce_lifetime_s = 0"):
        Verifier(nonce_lifetime_s=0)
    with pytest.raises(ValueError, match="not enrolled"):
        v.challenge("x")
