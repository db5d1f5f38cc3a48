"""Attacks on sensor streams: each checked against values computed here by hand or with numpy,
with the window boundaries exactly at start (inclusive) and stop (exclusive)."""
import csv
from importlib import resources

import numpy as np
import pytest

from safetwin import battery
from safetwin.trust.attacks import Bias, Drift, Freeze, Noise, Replay, StealthyInjection, attack_node_streams
from safetwin.trust.scenario import CODE_FAIL, CODE_NONE, CODE_PASS, run_attestation

T = np.arange(20.0)  # 0..19 s
Y = 10.0 + 0.5 * T   # a ramp, so that freeze and replay are visible


def test_bias_window_boundaries():
    out = Bias("n", start_s=5.0, stop_s=8.0, offset=2.0).apply(T, Y)
    np.testing.assert_array_equal(out - Y, [0] * 5 + [2, 2, 2] + [0] * 12)


def test_drift_grows_from_zero_at_start():
    out = Drift("n", start_s=4.0, rate_per_s=0.1).apply(T, Y)
    expected = np.where(T >= 4.0, 0.1 * (T - 4.0), 0.0)
    np.testing.assert_array_equal(out, Y + expected)


def test_freeze_holds_last_value_before_start():
    out = Freeze("n", start_s=6.0, stop_s=10.0).apply(T, Y)
    assert list(out[6:10]) == [Y[5]] * 4
    np.testing.assert_array_equal(out[:6], Y[:6])
    np.testing.assert_array_equal(out[10:], Y[10:])


def test_replay_loops_the_recorded_window():
    out = Replay("n", start_s=10.0, record_s=3.0).apply(T, Y)
    tape = Y[7:10]
    np.testing.assert_array_equal(out[10:], np.resize(tape, 10))
    with pytest.raises(ValueError, match="record_s"):
        Replay("n", start_s=0.0, record_s=3.0).apply(T, Y)


def test_noise_is_seeded_gaussian():
    out = Noise("n", start_s=5.0, stop_s=15.0, sigma=0.3, seed=7).apply(T, Y)
    expected = np.random.default_rng(7).normal(0.0, 0.3, 10)
    np.testing.assert_array_equal(out[5:15], Y[5:15] + expected)
    np.testing.assert_array_equal(out[:5], Y[:5])


def test_attack_validation_and_input_unchanged():
    with pytest.raises(ValueError, match="stop_s"):
        Bias("n", start_s=5.0, stop_s=5.0)
    with pytest.raises(ValueError, match="start_s"):
        Bias("n", start_s=float("nan"))
    y = Y.copy()
    Bias("n", start_s=0.0, offset=1.0).apply(T, y)
    np.testing.assert_array_equal(y, Y)
    with pytest.raises(ValueError, match="no such stream"):
        attack_node_streams(T, {"a": Y}, [Bias("b", start_s=0.0)])


def _reference_ocv():
    """The OCV table read straight from the shipped CSV (independent of the compiled table)."""
    path = resources.files("safetwin") / "data" / "ocv_lgm50_chen2020.csv"
    with path.open() as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    body = [r for r in rows if r[0].replace(".", "", 1).isdigit()]
    return np.array([float(r[0]) for r in body]), np.array([float(r[1]) for r in body])


def test_stealthy_injection_is_the_ocv_difference_along_the_true_trajectory():
    params = battery.CellParams.ref_cell_1()
    t = np.arange(600.0)
    current = np.where((t // 60) % 2 == 0, 3.0, 0.0)
    state0 = battery.CellState(soc=0.6)
    y = np.full(t.size, 3.8)
    atk = StealthyInjection("cmu", start_s=100.0, soc_offset=0.1, ramp_s=400.0)
    out = atk.apply(t, y, current_a=current, state0=state0, params=params)
    inj = out - y
    assert np.all(inj[:100] == 0.0)
    assert inj[100] == 0.0  # the injected error starts at zero: no jump for the detector to see
    # SOC of the cell from t = 100 s under the same current, by coulomb counting (hand formula).
    i = current[100:]
    soc = 0.6 - np.concatenate([[0.0], np.cumsum(i[:-1])]) / (3600.0 * 5.15)
    delta = 0.1 * np.clip((t[100:] - 100.0) / 400.0, 0.0, 1.0)
    s_axis, v_axis = _reference_ocv()
    expected = np.interp(soc + delta, s_axis, v_axis) - np.interp(soc, s_axis, v_axis)
    np.testing.assert_allclose(inj[100:], expected, rtol=0, atol=1e-12)
    # After the ramp the SOC error is held: the faked voltage follows the OCV slope at +0.1.
    assert inj[-1] == pytest.approx(expected[-1])
    with pytest.raises(ValueError, match="current_a and state0"):
        atk.apply(t, y)


def test_compromised_node_fails_attestation_from_attack_start():
    t = np.arange(30.0)
    atk = Bias("cmu", start_s=10.0, offset=0.1)
    log = run_attestation(t, ["cmu", "pack"], [atk], every_s=1.0)
    assert list(log.codes[:10, 0]) == [CODE_PASS] * 10
    assert list(log.codes[10:, 0]) == [CODE_FAIL] * 20
    assert np.all(log.codes[:, 1] == CODE_PASS)
    assert all(v.failures == {"pcr_digest"} for _, v in log.failures("cmu"))


def test_attacker_with_valid_key_keeps_passing_and_rounds_follow_every_s():
    t = np.arange(30.0)
    atk = Bias("cmu", start_s=10.0, offset=0.1, holds_valid_key=True)
    log = run_attestation(t, ["cmu", "pack"], [atk], every_s=5.0)
    rounds = np.flatnonzero(log.codes[:, 0] != CODE_NONE)
    assert list(rounds) == [0, 5, 10, 15, 20, 25]
    assert np.all(log.codes[rounds] == CODE_PASS)
    with pytest.raises(ValueError, match="unknown nodes"):
        run_attestation(t, ["pack"], [atk])


def test_twin_aware_injection_feeds_the_twin_what_it_expects():
    from safetwin import _core as core
    from safetwin.trust.attacks import TwinAwareInjection

    params = battery.CellParams.ref_cell_1()
    n = 1500
    t = np.arange(float(n))
    current = np.where((t // 60) % 2 == 0, 2.0, 0.5)
    truth = battery.Cell(params, battery.CellState(soc=0.7)).simulate(current, 1.0)
    rng = np.random.default_rng(4)
    va = truth["cell_voltage_v"][:, 0] + 0.002 * rng.standard_normal(n)
    cfg = core.BatteryEkfConfig()
    cfg.soc0 = 0.7
    cfg.voltage_model_sigma_v = 0.0
    pre = battery.Cell(params, battery.CellState(soc=0.7))
    pre.simulate(current[:300], 1.0)
    atk = TwinAwareInjection("cmu", start_s=300.0, soc_offset=0.015, ramp_s=1000.0, twin_config=cfg)
    out = atk.apply(t, va, current_a=current, state0=pre.state, params=params)
    np.testing.assert_array_equal(out[:300], va[:300])
    # The twin, run on the attacked stream, believes the fake SOC ...
    ekf = core.BatteryEkf(cfg)
    res = ekf.run(t, current, out)
    soc_true = truth["cell_soc"][:, 0]
    assert res["soc"][-1] - soc_true[-1] == pytest.approx(0.015, abs=0.003)
    # ... while its innovations on the attacked channel keep the honest noise's statistics: the
    # bias stays below the push limit (0.4 sigma) and the gate never fires.
    innovation = res["innovation_v"][300:]
    assert abs(np.mean(innovation)) < 0.4 * 0.002
    assert np.std(innovation) == pytest.approx(0.002, rel=0.15)
    assert res["gated"][300:].sum() == 0
    with pytest.raises(ValueError, match="must see the twin"):
        TwinAwareInjection("cmu", start_s=0.0, twin_config=cfg).apply(t, va, current_a=current, state0=pre.state)
