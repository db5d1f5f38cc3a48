"""The firmware's C++ quote verifier agrees with the Python verifier (safetwin.trust.attestation,
an independent implementation over the `cryptography` package) on a corpus of valid and invalid
quotes made by the software node: every byte of a genuine quote flipped (unsigned and re-signed by
the key holder), every truncation, trailing bytes, foreign keys, replays and counter rollbacks,
for each AK kind a TPM signs with: ECDSA P-256, RSA-2048 RSASSA-PKCS1-v1_5 and RSAPSS (keys made
by the `cryptography` package, independently of the firmware's OpenSSL calls).

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

AK_KINDS = ("ecc", "rsassa", "rsapss")


def make_node(kind: str, node_id: str = "cell-monitor-a", key=None) -> SoftwareNode:
    """A software node whose AK is of ``kind``; ``key`` an RSA private key to use (else a new one)."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    if kind == "ecc":
        return SoftwareNode(node_id)
    scheme = wire.TPM_ALG_RSASSA if kind == "rsassa" else wire.TPM_ALG_RSAPSS
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return SoftwareNode(node_id, key=key, rsa_scheme=scheme)

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


@pytest.fixture(scope="module", params=AK_KINDS)
def pair(request):
    try:
        find_quote_verify()
    except FileNotFoundError as exc:  # the wheel ships it; a source checkout builds it
        pytest.fail(str(exc))
    p = Pair(make_node(request.param))
    p.kind = request.param
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
    other = make_node(pair.kind)  # same boot, another key of the same kind
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


def test_rsapss_with_either_salt_a_tpm_uses_passes_both(pair: Pair) -> None:
    """TPMs sign RSAPSS with a salt of the digest size (the software node) or the maximum (some
    firmware TPMs): both verifiers accept either, and refuse the maximum-salt signature once a
    byte of the quote changes. The maximum-salt signature is made here with `cryptography`."""
    if pair.kind != "rsapss":
        pytest.skip("RSAPSS only")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding
    pair.reset_reference()
    q = pair.node.quote(pair.challenge())
    assert pair.verify(q.attest, q.signature) == ("pass", "pass", "ok")  # digest-sized salt
    key = pair.node._key  # the node's AK (a software node keeps it in memory)
    q = pair.node.quote(pair.challenge())
    raw = key.sign(q.attest, padding.PSS(padding.MGF1(hashes.SHA256()), padding.PSS.MAX_LENGTH), hashes.SHA256())
    max_salt = wire.RsaSignature(wire.TPM_ALG_RSAPSS, wire.TPM_ALG_SHA256, raw).marshal()
    assert max_salt != q.signature
    changed = bytearray(q.attest)
    changed[-1] ^= 1
    assert pair.verify(bytes(changed), max_salt)[:2] == ("fail_signature", "fail_signature")
    assert pair.verify(q.attest, max_salt) == ("pass", "pass", "ok")


def test_a_signature_of_another_scheme_fails_both(pair: Pair) -> None:
    """The AK signs with its enrolled scheme only: an ECDSA signature for an RSA AK, RSASSA for an
    RSAPSS AK (and the reverse) fail_signature in both, whatever key made them."""
    others = {"ecc": make_node("rsassa"), "rsassa": make_node("rsapss"), "rsapss": make_node("rsassa")}
    if pair.kind != "ecc":
        others["ecc_for_rsa"] = SoftwareNode("cell-monitor-a")
    for other in others.values():
        q = pair.node.quote(pair.challenge())
        wrong = other.sign_anything(q.attest)
        assert pair.verify(q.attest, wrong)[:2] == ("fail_signature", "fail_signature")
        assert pair.verify(q.attest, q.signature)[:2] == ("pass", "pass")  # no nonce burnt


_CORPUS = sorted((__import__("pathlib").Path(__file__).parent / "data" / "quotes").glob("*.json"))


@pytest.mark.parametrize("path", _CORPUS, ids=[p.stem for p in _CORPUS])
def test_the_committed_quote_corpus_through_the_firmware(path) -> None:
    """Every case of tests/data/quotes (hand-written expected verdicts; ECDSA, RSASSA and RSAPSS
    AKs, real swtpm EK-child quotes) through the firmware's verifier: it passes exactly the steps
    the corpus expects to pass, and fails the others with the reason the Python verifier's checks
    give in the firmware's order (python_reason)."""
    from safetwin.trust.quote_corpus import load_case, run_case
    case = load_case(path)
    assert (case["nonce_lifetime_ms"], case["clock_drift"], case["min_reboot_ms"]) == (2000, 0.15, 1000)
    assert case["hierarchy"] == wire.TPM_RH_ENDORSEMENT  # the firmware verifier's default
    py_verdicts = run_case(case)
    golden = {int(k): bytes.fromhex(v) for k, v in case["golden_pcrs"].items()}
    parent = wire.qualified_name(bytes.fromhex(case["ek_public"]), wire.TPM_RH_ENDORSEMENT) \
        if case["ek_public"] else None
    with FirmwareQuoteVerifier() as fw:
        fw.enroll(0, bytes.fromhex(case["ak_public"]), golden, case["firmware_version"], parent_qualified_name=parent)
        for i, (step, py) in enumerate(zip(case["steps"], py_verdicts)):
            if step["issue"]:
                fw.expect_nonce(0, bytes.fromhex(step["nonce"]), step["issued_at_ms"])
            got = fw.verify(0, bytes.fromhex(step["attest"]), bytes.fromhex(step["signature"]), step["verified_at_ms"])
            assert (got.reason == "pass") == step["expected"]["passed"], (i, got)
            assert got.reason == python_reason(py), (i, got, sorted(c.value for c in py.failures))
