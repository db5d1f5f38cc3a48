"""Trust by reason: a real verdict's reason reaches the C++ trust state, which weighs it with its
own likelihood pair. Posteriors are computed by hand here from the documented defaults
(trust_state.hpp), one step from trust0 = 0.99 with no transitions and no residual:
    trust = 0.99 Lg / (0.99 Lg + 0.01 Lc).
"""
import hashlib

import numpy as np
import pytest

from safetwin import _core as core
from safetwin.trust import Quote, Reason, SoftwareNode, Verifier
from safetwin.trust import tpm_wire as wire
from safetwin.trust.trust import verdict_codes


class SimClock:
    t = 100.0

    def __call__(self):
        return self.t


def config():
    cfg = core.TrustConfig()
    cfg.p_compromise = 0.0
    cfg.p_recover = 0.0
    return cfg


def posterior(lg, lc, prior=0.99):
    return prior * lg / (prior * lg + (1 - prior) * lc)


def verdicts_by_reason():
    """One real verdict per reason, each from a real quote attacked in one way."""
    clock = SimClock()
    v = Verifier(now_s=clock)
    honest, tampered = SoftwareNode("h"), SoftwareNode("t")
    v.enroll(honest.enrollment())
    v.enroll(tampered.enrollment())
    out = {}
    out[Reason.PASS] = v.verify("h", honest.quote(v.challenge("h")))
    q = honest.quote(v.challenge("h"))
    s = wire.parse_signature(q.signature)
    out[Reason.FAIL_SIGNATURE] = v.verify("h", Quote(q.attest, wire.EcdsaSignature(s.hash_alg, s.r, s.s ^ 2).marshal()))
    assert v.verify("h", q).passed
    out[Reason.FAIL_REPLAY] = v.verify("h", q)
    out[Reason.FAIL_MALFORMED] = v.verify("h", Quote(q.attest[:-3], q.signature))
    out[Reason.TIMEOUT] = v.verify("h", None)
    tampered.extend(0, hashlib.sha256(b"implant").digest())
    out[Reason.FAIL_PCR] = v.verify("t", tampered.quote(v.challenge("t")))
    c = tampered.clock
    clean = SoftwareNode("u")
    v.enroll(clean.enrollment())
    clean.set_clock(wire.ClockInfo(c.clock_ms, 0, 0, False))
    out[Reason.FAIL] = v.verify("u", clean.quote(v.challenge("u")))  # clockInfo.safe = NO
    for reason, verdict in out.items():
        assert verdict.reason is reason, (reason, verdict)
    return out


EXPECTED = {  # (Lg, Lc) from the documented defaults
    Reason.PASS: (0.999, 0.5),
    Reason.FAIL: (0.001, 0.5),
    Reason.FAIL_SIGNATURE: (1e-6, 0.1),
    Reason.FAIL_PCR: (1e-5, 0.05),
    Reason.FAIL_REPLAY: (1e-5, 0.1),
    Reason.FAIL_MALFORMED: (1e-4, 0.02),
    Reason.TIMEOUT: (8e-4, 0.01),
}


def test_each_reason_weighs_its_own_likelihood():
    verdicts = verdicts_by_reason()
    after = {}
    for reason, verdict in verdicts.items():
        ts = core.TrustState(config(), 1)
        codes = verdict_codes([verdict.node_id], [verdict])
        assert codes.tolist() == [reason.code]
        ts.step(codes)
        lg, lc = EXPECTED[reason]
        assert ts.trust(0) == pytest.approx(posterior(lg, lc), rel=1e-12)
        assert ts.report(0).verdict == core.Attestation(reason.code)
        assert ts.report(0).attestation_failed == (reason is not Reason.PASS)
        after[reason] = ts.trust(0)
    # Hand values: a lost round 0.8879, malformed 0.3311, generic 0.1653, PCR 0.01942,
    # replay 0.009803, forged signature 0.000989.
    assert after[Reason.TIMEOUT] == pytest.approx(0.000792 / 0.000892, rel=1e-12)
    assert after[Reason.FAIL_SIGNATURE] == pytest.approx(0.99e-6 / (0.99e-6 + 1e-3), rel=1e-12)
    order = [Reason.TIMEOUT, Reason.FAIL_MALFORMED, Reason.FAIL, Reason.FAIL_PCR, Reason.FAIL_REPLAY,
             Reason.FAIL_SIGNATURE]
    assert [after[r] for r in order] == sorted(after[r] for r in order)[::-1]


def test_two_rounds_multiply_likelihoods():
    # pass then timeout then pcr: the odds of good are 99 * (0.999/0.5) * (8e-4/0.01) * (1e-5/0.05).
    ts = core.TrustState(config(), 1)
    for code in (Reason.PASS.code, Reason.TIMEOUT.code, Reason.FAIL_PCR.code):
        ts.step(np.array([code], dtype=np.uint8))
    odds = 99 * (0.999 / 0.5) * (8e-4 / 0.01) * (1e-5 / 0.05)
    assert ts.trust(0) == pytest.approx(odds / (1 + odds), rel=1e-12)


def test_reason_likelihoods_configurable_and_validated():
    cfg = config()
    cfg.timeout = core.ReasonLikelihood(good=5e-4, compromised=0.05)
    ts = core.TrustState(cfg, 1)
    ts.step(np.array([Reason.TIMEOUT.code], dtype=np.uint8))
    assert ts.trust(0) == pytest.approx(posterior(5e-4, 0.05), rel=1e-12)
    bad = config()
    bad.fail_replay = core.ReasonLikelihood(0.2, 0.1)
    with pytest.raises(ValueError, match=r"TrustConfig.fail_replay.compromised"):
        core.TrustState(bad, 1)
    with pytest.raises(ValueError, match=r"attestation\[0\] = 8"):
        ts.step(np.array([8], dtype=np.uint8))
    assert ts.trust(0) == pytest.approx(posterior(5e-4, 0.05), rel=1e-12)  # unchanged after the refusal


def test_estimator_trust_and_replay_accept_reasons():
    ekf_cfg = core.BatteryEkfConfig()
    ekf = core.BatteryEkf(ekf_cfg)
    trust = core.EstimatorTrust(config(), 2, [core.ChannelNodes(voltage_a=0, voltage_b=1, temperature=0)], [ekf_cfg])
    trust.step(np.array([Reason.FAIL_SIGNATURE.code, Reason.TIMEOUT.code], dtype=np.uint8), ekf)
    assert trust.state.trust(1) > 0.5 > 0.01 > trust.state.trust(0)
    assert trust.state.report(0).verdict == core.Attestation.fail_signature
    # A whole log through trusted_replay with reason codes: node 0 forged once, node 1 timed out once.
    n = 5
    t = np.arange(n, dtype=float)
    codes = np.zeros((n, 2), dtype=np.uint8)
    codes[2] = [Reason.FAIL_SIGNATURE.code, Reason.TIMEOUT.code]
    ekf2 = core.BatteryEkf(ekf_cfg)
    trust2 = core.EstimatorTrust(config(), 2, [core.ChannelNodes(voltage_a=0, voltage_b=1, temperature=0)],
                                 [ekf_cfg])
    out = core.trusted_replay(ekf2, trust2, t, np.zeros(n), codes)
    assert isinstance(out, dict)
    assert trust2.state.report(0).verdict == core.Attestation.none
    # No voltage columns: no residual evidence, and no transitions: one forgery and one timeout.
    assert trust2.state.trust(0) == pytest.approx(posterior(1e-6, 0.1), rel=1e-12)
    assert trust2.state.trust(1) == pytest.approx(posterior(8e-4, 0.01), rel=1e-12)
    codes[3, 0] = 8
    with pytest.raises(ValueError, match="attestation"):
        core.trusted_replay(core.BatteryEkf(ekf_cfg), trust2, t, np.zeros(n), codes)
