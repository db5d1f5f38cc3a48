"""Bayesian trust from Python: the C++ core against independent numpy implementations, the chain
from a real quote to trust and noise scale, and refusals that name the argument."""
import numpy as np
import pytest

from safetwin import _core as core
from safetwin.trust import SoftwareNode, Verifier, attest_node, reference_boot_log
from safetwin.trust.scenario import CODE_FAIL, CODE_NONE, CODE_PASS


def numpy_cusum(z, k, h):
    """Page's two-sided CUSUM with restart, written independently of the C++ one."""
    gp = gn = 0.0
    alarms = np.zeros(len(z), dtype=bool)
    for i, x in enumerate(z):
        gp, gn = max(0.0, gp + x - k), max(0.0, gn - x - k)
        if gp > h or gn > h:
            alarms[i] = True
            gp = gn = 0.0
    return alarms


def test_cusum_matches_numpy_reference_and_false_alarm_rate():
    cfg = core.CusumConfig()
    cfg.false_alarm_rate = 1e-2
    c = core.Cusum(cfg)
    z = np.random.default_rng(0).standard_normal(400_000)
    alarms = c.run(z).astype(bool)
    np.testing.assert_array_equal(alarms, numpy_cusum(z, c.k, c.h))
    # Siegmund's approximation sets h; the honest alarm rate is within 5 % of the target
    # (4 000 expected alarms: 1.6 % sampling error).
    assert alarms.mean() == pytest.approx(1e-2, rel=0.05)


def test_cusum_threshold_inverts_siegmund_arl():
    h = core.cusum_threshold(0.5, 1e-3)
    assert core.cusum_arl_one_sided(0.5, h) == pytest.approx(2e3, rel=1e-9)
    b = h + 1.166
    assert (np.exp(2 * 0.5 * b) - 2 * 0.5 * b - 1) / (2 * 0.25) == pytest.approx(2e3, rel=1e-9)


def reference_trust(cfg, codes, alarms):
    """Forward algorithm of the two-state HMM with explicit matrices (numpy)."""
    T = np.array([[1 - cfg.p_compromise, cfg.p_compromise], [cfg.p_recover, 1 - cfg.p_recover]])
    belief = np.array([cfg.trust0, 1 - cfg.trust0])
    out = []
    for code, alarm in zip(codes, alarms):
        belief = belief @ T
        like = np.ones(2)
        if code == CODE_PASS:
            like *= [cfg.p_pass_good, cfg.p_pass_compromised]
        elif code == CODE_FAIL:
            like *= [1 - cfg.p_pass_good, 1 - cfg.p_pass_compromised]
        fa = cfg.cusum.false_alarm_rate
        like *= [fa, cfg.p_alarm_compromised] if alarm else [1 - fa, 1 - cfg.p_alarm_compromised]
        belief = belief * like
        belief /= belief.sum()
        out.append(max(belief[0], cfg.trust_min))
    return np.array(out)


def test_trust_state_run_matches_numpy_hmm():
    cfg = core.TrustConfig()
    rng = np.random.default_rng(3)
    n = 500
    codes = rng.choice([CODE_NONE, CODE_PASS, CODE_FAIL], size=n, p=[0.3, 0.6, 0.1]).astype(np.uint8)
    z = rng.standard_normal(n) + np.where(np.arange(n) > 300, 1.5, 0.0)
    ts = core.TrustState(cfg, 1)
    out = ts.run(codes[:, None], z[:, None])
    alarms = numpy_cusum(z, 0.5 * cfg.cusum.shift_sigma, core.cusum_threshold(0.5, cfg.cusum.false_alarm_rate))
    np.testing.assert_array_equal(out["alarm"][:, 0].astype(bool), alarms)
    np.testing.assert_allclose(out["trust"][:, 0], reference_trust(cfg, codes, alarms), rtol=1e-12)
    np.testing.assert_allclose(out["noise_scale"][:, 0], 1 / np.maximum(out["trust"][:, 0], cfg.trust_eps), rtol=1e-15)


def test_real_failed_quote_drives_trust_below_0_1_within_3_cycles_and_back():
    v = Verifier()
    node = SoftwareNode("cmu")
    v.enroll(node.enrollment())
    ts = core.TrustState(core.TrustConfig(), 1)

    def cycle():
        verdict = attest_node(v, node)
        ts.step(np.array([CODE_PASS if verdict.passed else CODE_FAIL], dtype=np.uint8), np.zeros(1))
        return verdict

    for _ in range(100):
        assert cycle().passed
    assert ts.trust(0) > 0.999
    node.reboot(reference_boot_log("cmu", firmware=b"tampered"))
    for _ in range(3):  # at most three failed attestations
        assert not cycle().passed
        if ts.trust(0) < 0.1:
            break
    assert ts.trust(0) < 0.1
    assert ts.distrusted(0)
    node.reboot(reference_boot_log("cmu"))  # re-provisioned with the genuine firmware
    cycles = 0
    while ts.trust(0) < 0.9:
        assert cycle().passed
        cycles += 1
        assert cycles < 100
    assert not ts.distrusted(0)


def test_bad_input_names_the_argument():
    ts = core.TrustState(core.TrustConfig(), 2)
    with pytest.raises(ValueError, match=r"attestation has shape \(3,\): expected \(2,\)"):
        ts.step(np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match=r"attestation\[1\] = 8"):
        ts.step(np.array([0, 8], dtype=np.uint8))
    with pytest.raises(ValueError, match="innovation_z"):
        ts.step(np.zeros(2, dtype=np.uint8), np.zeros(5))
    cfg = core.TrustConfig()
    cfg.p_pass_compromised = 0.9999
    with pytest.raises(ValueError, match="TrustConfig.p_pass_compromised"):
        core.TrustState(cfg, 1)
    with pytest.raises(ValueError, match="nodes"):
        core.TrustState(core.TrustConfig(), 0)
    ekf_cfg = core.BatteryEkfConfig()
    with pytest.raises(ValueError, match=r"map\[0\]"):
        core.EstimatorTrust(core.TrustConfig(), 2, [core.ChannelNodes(0, 5)], [ekf_cfg])


def test_estimator_trust_scales_the_ekf_channels():
    ekf_cfg = core.BatteryEkfConfig()
    ekf = core.BatteryEkf(ekf_cfg)
    trust = core.EstimatorTrust(core.TrustConfig(), 2, [core.ChannelNodes(voltage_a=0, voltage_b=1, temperature=0)],
                                [ekf_cfg])
    for _ in range(3):
        trust.step(np.array([CODE_FAIL, CODE_PASS], dtype=np.uint8), ekf)
    s = trust.state.noise_scale(0)
    assert trust.state.trust(0) < 0.1
    assert ekf.noise_scale(core.Channel.voltage_a) == s == ekf.noise_scale(core.Channel.temperature)
    assert ekf.noise_scale(core.Channel.voltage_b) == trust.state.noise_scale(1) == pytest.approx(1 / trust.state.trust(1))
    assert trust.state.noise_scale(1) < 1.01


def test_verdict_codes_fail_closed():
    from safetwin.trust.attestation import Check, Verdict
    from safetwin.trust.trust import verdict_codes

    Attestation = core.Attestation
    ok = Verdict("a", frozenset())
    timeout = Verdict("b", frozenset({Check.TIMEOUT}))
    codes = verdict_codes(["a", "b", "c"], [ok, timeout])
    assert codes.tolist() == [CODE_PASS, int(Attestation.timeout), CODE_NONE]
    forged = Verdict("a", frozenset({Check.SIGNATURE, Check.PCR_DIGEST}))
    node_error = Verdict("c", frozenset({Check.NODE_ERROR}))
    assert verdict_codes(["a", "b", "c"], [forged, node_error]).tolist() == \
        [int(Attestation.fail_signature), CODE_NONE, CODE_FAIL]
    with pytest.raises(ValueError, match="unknown nodes"):
        verdict_codes(["a"], [timeout])


def test_scenario_rounds_carry_the_reason_of_each_verdict():
    """run_attestation's reason_codes: the trust::Attestation number of each round's reason. An
    implant in the boot chain (no key) changes PCR 0: every round from the attack's start is
    fail_pcr (4); the other node passes (1); cycles without a round are 0. ``codes`` stays
    pass/fail (2) for the callers calibrated on it."""
    from safetwin.trust.attacks import Bias
    from safetwin.trust.attestation import Reason
    from safetwin.trust.scenario import run_attestation
    t = np.arange(0.0, 30.0, 1.0)
    log = run_attestation(t, ["a", "b"], [Bias(node="a", start_s=10.0, offset=0.01)], every_s=5.0)
    rounds = t % 5.0 == 0.0
    assert np.all(log.reason_codes[~rounds] == 0)
    assert log.reason_codes[rounds, 0].tolist() == [1, 1] + [Reason.FAIL_PCR.code] * 4
    assert log.reason_codes[rounds, 1].tolist() == [Reason.PASS.code] * 6
    assert log.codes[rounds, 0].tolist() == [CODE_PASS] * 2 + [CODE_FAIL] * 4
    assert [v.reason for _, v in log.verdicts if v.node_id == "a"][2:] == [Reason.FAIL_PCR] * 4
