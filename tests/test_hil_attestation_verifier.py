"""The firmware's C++ quote verifier agrees with the Python verifier (safetwin.trust.attestation,
an independent implementation over the `cryptography` package) on a corpus of valid and invalid
quotes made by the software node: every byte of a genuine quote flipped (unsigned and re-signed by
the key holder), every truncation, trailing bytes, foreign keys, replays and counter rollbacks.

The Python verifier reports every failed check, the firmware the first one in its documented
order (quote_verifier.hpp); the comparison projects the Python set onto that order. Both refuse
counters that jumped further than the elapsed time allows without locking the honest node out
(issue 17's lockout), each with its own drift bound, so the jump case is one far beyond both."""
from __future__ import annotations

import pytest

pytest.importorskip("cryptography")

from safetwin.hil.quote_verify import FirmwareQuoteVerifier, find_quote_verify  # noqa: E402
from safetwin.trust import attestation as att  # noqa: E402
from safetwin.trust import tpm_wire as wire  # noqa: E402
from safetwin.trust.software_node import SoftwareNode  # noqa: E402

_MALFORMED = {"truncated", "oversized", "malformed", "type", "magic"}
_REPLAY = {"nonce_unknown", "nonce_replayed", "clock_rollback", "reset_count_rollback", "restart_count_rollback",
           "clock_jump", "reset_count_jump", "restart_count_jump"}


def python_reason(verdict: att.Verdict) -> str:
    """The Python verdict as the firmware names it: its first failure in the firmware's order."""
    f = {c.value for c in verdict.failures}
    if not f:
        return "pass"
    if f & _MALFORMED:
        return "fail_malformed"
    if "signature" in f:
        return "fail_signature"
    if f & {"signer", "owner_hierarchy"}:
        return "fail"
    if "nonce_expired" in f:
        return "timeout"
    if f & {"nonce_unknown", "nonce_replayed"}:
        return "fail_replay"
    if f & {"pcr_selection", "pcr_digest"}:
        return "fail_pcr"
    if f & {"firmware_version", "clock_unsafe"}:
        return "fail"
    if f & _REPLAY:
        return "fail_replay"
    raise AssertionError(f"unmapped Python checks {sorted(f)}")


class Pair:
    """Both verifiers with the same enrolment and the same nonces; simulated time in ms."""

    def __init__(self, node: SoftwareNode) -> None:
        self.node = node
        self.now_ms = 0
        self.py = att.Verifier(nonce_lifetime_s=2.0, now_s=lambda: self.now_ms / 1000.0)
        self.enrollment = node.enrollment()
        self.py.enroll(self.enrollment)
        self.fw = FirmwareQuoteVerifier()
        self.fw.enroll(0, node.ak_public, self.enrollment.golden_pcrs, self.enrollment.firmware_version)

    def reset_reference(self) -> None:
        self.py.enroll(self.enrollment)
        self.fw.reenroll(0)

    def challenge(self) -> bytes:
        nonce = self.py.challenge(self.node.node_id)
        self.fw.expect_nonce(0, nonce, self.now_ms)
        return nonce

    def verify(self, attest: bytes, signature: bytes) -> tuple[str, str, str]:
        """(Python reason, firmware reason, firmware check) of one quote."""
        py = self.py.verify(self.node.node_id, att.Quote(attest, signature))
        fw = self.fw.verify(0, attest, signature, self.now_ms)
        return python_reason(py), fw.reason, fw.check


@pytest.fixture(scope="module")
def pair():
    try:
        find_quote_verify()
    except FileNotFoundError as exc:  # the wheel ships it; a source checkout builds it
        pytest.fail(str(exc))
    p = Pair(SoftwareNode("cell-monitor-a"))
    yield p
    p.fw.close()


def test_genuine_quote_and_replay_agree(pair: Pair) -> None:
    nonce = pair.challenge()
    q = pair.node.quote(nonce)
    pair.now_ms += 40
    assert pair.verify(q.attest, q.signature) == ("pass", "pass", "ok")
    assert pair.verify(q.attest, q.signature)[:2] == ("fail_replay", "fail_replay")


def test_every_byte_flipped_agrees(pair: Pair) -> None:
    """Each byte of a genuine quote flipped, once as received (the signature no longer covers it)
    and once re-signed by the key holder (only the semantic checks can catch it)."""
    counts: dict[tuple[str, str], int] = {}
    base = pair.node.quote(pair.challenge())
    for i in range(len(base.attest)):
        for resign in (False, True):
            pair.reset_reference()
            nonce = pair.challenge()
            q = pair.node.quote(nonce)
            attest = bytearray(q.attest)
            attest[i] ^= 0x01
            sig = pair.node.sign_anything(bytes(attest)) if resign else q.signature
            py, fw, check = pair.verify(bytes(attest), sig)
            assert py == fw, f"byte {i} flipped (resigned={resign}): Python {py}, firmware {fw} ({check})"
            counts[(fw, "resigned" if resign else "as received")] = counts.get((fw, "resigned" if resign else "as received"), 0) + 1
    # Unsigned flips never pass; re-signed flips pass only where no check covers the byte (the
    # clock, which has no reference after reset_reference, and nothing else).
    assert all(reason != "pass" for (reason, kind) in counts if kind == "as received")
    assert counts[("pass", "resigned")] == 8 + 4 + 4  # clock, resetCount, restartCount bytes
    assert {r for (r, k) in counts if k == "resigned"} >= {"fail_malformed", "fail", "fail_replay", "fail_pcr", "pass"}


def test_truncations_padding_and_signature_flips_agree(pair: Pair) -> None:
    q = pair.node.quote(pair.challenge())
    for n in range(len(q.attest)):
        assert pair.verify(q.attest[:n], q.signature)[:2] == ("fail_malformed", "fail_malformed")
    for n in range(len(q.signature)):
        assert pair.verify(q.attest, q.signature[:n])[:2] == ("fail_malformed", "fail_malformed")
    assert pair.verify(q.attest + b"\0", q.signature)[:2] == ("fail_malformed", "fail_malformed")
    for i in range(len(q.signature)):
        nonce = pair.challenge()
        q = pair.node.quote(nonce)
        sig = bytearray(q.signature)
        sig[i] ^= 0x80
        py, fw, check = pair.verify(q.attest, bytes(sig))
        assert py == fw, f"signature byte {i}: Python {py}, firmware {fw} ({check})"
        assert fw in ("fail_malformed", "fail_signature")


def test_foreign_key_tampered_node_and_rollback_agree(pair: Pair) -> None:
    other = SoftwareNode("cell-monitor-a")  # same boot, another key
    q = other.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature)[:2] == ("fail_signature", "fail_signature")
    pair.node.extend(0, bytes(range(32)))  # firmware measurement changed
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature)[:2] == ("fail_pcr", "fail_pcr")
    pair.node.reboot()  # measured boot again: golden, resetCount + 1, clock from 0
    pair.reset_reference()
    pair.now_ms += 5000
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature) == ("pass", "pass", "ok")
    saved = pair.node.clock
    pair.node.set_clock(wire.ClockInfo(saved.clock_ms, saved.reset_count - 1, 0, True))
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature)[:2] == ("fail_replay", "fail_replay")
    pair.node.set_clock(saved)
    q = pair.node.quote(pair.challenge())
    pair.now_ms += 2001  # past the 2 s round lifetime on both
    assert pair.verify(q.attest, q.signature)[:2] == ("timeout", "timeout")


def test_both_refuse_a_counter_jump_without_lockout(pair: Pair) -> None:
    """resetCount = 2^32 - 1 signed by the key holder: both verifiers refuse it as not fresh
    (fail_replay; the firmware's check counter_jump) and both pass the honest node's next quote."""
    pair.reset_reference()
    pair.now_ms += 1000
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature) == ("pass", "pass", "ok")
    honest = pair.node.clock
    pair.node.set_clock(wire.ClockInfo(honest.clock_ms, 2**32 - 1, 0, True))
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature) == ("fail_replay", "fail_replay", "counter_jump")
    pair.node.set_clock(honest)
    pair.now_ms += 5000
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature) == ("pass", "pass", "ok")


def test_both_draw_the_clock_jump_line_at_the_same_millisecond(pair: Pair) -> None:
    """One plausibility bound in both verifiers (same rule, same defaults): 12 s after the
    reference, with the 2 s nonce lifetime, e = 14 s, so the clock may advance at most
    floor(14000 * 1.15) + 1 = 16101 ms (computed here by hand). A quote at exactly that advance
    passes both; one 1 ms further fails both (fail_replay; the firmware's check counter_jump), and
    neither moved its reference: the honest quote after it passes."""
    pair.reset_reference()
    pair.now_ms += 1000
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature) == ("pass", "pass", "ok")
    ref = pair.node.clock
    pair.now_ms += 12000
    limit = 16101
    for advance, expected in ((limit + 1, ("fail_replay", "fail_replay", "counter_jump")),
                              (limit, ("pass", "pass", "ok"))):
        pair.node.set_clock(wire.ClockInfo(ref.clock_ms + advance - pair.node.tick_ms, ref.reset_count,
                                           ref.restart_count, True))
        q = pair.node.quote(pair.challenge())  # quote() advances the clock by tick_ms first
        assert wire.parse_attest(q.attest).clock.clock_ms == ref.clock_ms + advance
        assert pair.verify(q.attest, q.signature) == expected, advance
