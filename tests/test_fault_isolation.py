"""Fault isolation (safetwin.diagnostics.isolation): its estimators on hand-built pack logs with a
known injected step, the single-cell charge and heat balances, and the confusion table on a
CI-sized campaign of closed-loop runs with known injected faults (fault_campaign)."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin.battery import CellParams
from safetwin.diagnostics import fault_campaign, isolation
from safetwin.diagnostics.isolation import FAULT_CLASSES

N, S = 3600, 4
R_OHM = np.array([0.020, 0.022, 0.019, 0.021])


def square_current(n=N, amplitude_a=5.0, period_s=120):
    t = np.arange(n)
    return np.where((t // (period_s // 2)) % 2 == 0, amplitude_a, -amplitude_a).astype(float)


def hand_log(seed=0, r_step=None, offset=None):
    """Group voltages v_g = 3.7 V - I R_g (+ a resistance step on one group from its onset) with
    2 mV white noise on each node; temperature at ambient."""
    rng = np.random.default_rng(seed)
    t = np.arange(N, dtype=float)
    i = square_current()
    r = np.broadcast_to(R_OHM, (N, S)).copy()
    if r_step is not None:
        g, onset, dr = r_step
        r[t >= onset, g] += dr
    v = 3.7 - i[:, None] * r
    va = v + rng.normal(0, 0.002, (N, S))
    vb = v + rng.normal(0, 0.002, (N, S))
    if offset is not None:
        g, node, onset, dv = offset
        (va if node == 0 else vb)[t >= onset, g] += dv
    return {"t_s": t, "current_a": i, "voltage_a_v": va, "voltage_b_v": vb,
            "temperature_k": 298.15 + rng.normal(0, 0.2, (N, S)), "ambient_k": 298.15}


def test_resistance_step_is_estimated_against_the_other_groups():
    """+10 mOhm on group 2 from t = 1800 s. Each group is compared with the median of the other
    three, so the step is +10 mOhm for group 2 and, for a healthy group, the move of its
    reference: median(others before) - median(others after), hand-computed from R_OHM (-1, -1 and
    -2 mOhm for groups 0, 1, 3). The windows wholly after the step hold these values inside their
    95 % intervals (the log is exactly linear in I: only the white noise is left)."""
    stats = isolation.run_statistics(hand_log(r_step=(2, 1800.0, 0.010)))
    after = R_OHM.copy()
    after[2] += 0.010
    expected = [0.010 if g == 2 else float(np.median(np.delete(R_OHM, g)) - np.median(np.delete(after, g)))
                for g in range(S)]
    assert np.allclose(expected, [-0.001, -0.001, 0.010, -0.002])
    for g, per in enumerate(stats["connection_resistance"]):
        late = per["t_end"] - 300.0 >= 1800.0  # windows wholly after the step
        est, se = per["estimate"][late], per["se"][late]
        inside = np.abs(est - expected[g]) <= 1.959963984540054 * se
        assert inside.mean() >= 0.8, (g, est[:5], se[:5])
    assert np.argmax([p["stat"].max() for p in stats["connection_resistance"]]) == 2


def test_sensor_offset_is_laid_at_its_node_and_estimated():
    """+20 mV on node b of group 1 from t = 1500 s: the disagreement detector blames node b of
    group 1 first, and the offset's 95 % interval holds 0.020 V."""
    log = hand_log(seed=3, offset=(1, 1, 1500.0, 0.020))
    th = {"sensor": 6.0, "internal_short": np.inf, "connection_resistance": np.inf, "cooling_loss": np.inf}
    # 6: the window mean of 60 differences of two N(0, 2 mV) nodes has z ~ N(0, 1); 6 sigma over the
    # ~50 windows of the hour is a nominal exceedance probability of 1e-7.
    v = isolation.isolate(log, th)
    assert v["fault"] == "sensor" and v["group"] == 1
    f = v["faults"]["sensor"]
    assert f["estimate"]["node"] == "b" and f["estimate"]["kind"] == "offset"
    assert 1500.0 <= f["time_s"] <= 1500.0 + 60.0  # the first window holding the offset's samples
    lo, hi = f["ci95"]
    assert lo <= 0.020 <= hi and hi - lo < 0.002


def thermal_log(seed=0, leak_w=(0.0, 0.14, 0.0, 0.0), cooling=(1.0, 1.0, 1.0, 0.2), joule_scale=1.3, noise_k=0.05):
    """Group temperatures from the lumped model C dT/dt = s I^2 R + P_g - h c_g (T - T_amb),
    integrated in 20 sub-steps per 1 s sample, with REF-CELL-1's C, h and R0 + R1 + R2; the Joule
    heat is scaled by 1.3 (the twin's I^2 R is not the cell's) and 0.14 W is a 100 Ohm leak at 3.7 V."""
    cell = CellParams.ref_cell_1()
    rng = np.random.default_rng(seed)
    t = np.arange(N, dtype=float)
    i = np.where((t // 300) % 3 == 0, 15.0, np.where((t // 300) % 3 == 1, -10.0, 0.0))
    r = sum(getattr(cell, f).at(0.5, 298.15) for f in ("r0_ohm", "r1_ohm", "r2_ohm"))
    c, h, ta = cell.heat_capacity_j_per_k, cell.heat_transfer_w_per_k, 298.15
    temp, x = np.empty((N, S)), np.full(S, ta)
    for k in range(N):
        temp[k] = x
        for _ in range(20):
            x = x + (1.0 / 20) / c * (joule_scale * i[k] ** 2 * r + np.asarray(leak_w) - h * np.asarray(cooling) * (x - ta))
    return t, i, temp + rng.normal(0, noise_k, (N, S)), cell


def test_heat_fit_separates_a_leak_from_a_cooling_loss():
    """A 0.14 W leak in group 1 and the heat transfer at 0.2 in group 3 (hand-built thermal log):
    the last window's leak heat of group 1 holds 0.14 W inside its 95 % interval and is by far
    the largest leak statistic, with group 1's heat transfer at 1 (the leak is not taken for less
    cooling); group 3's heat-transfer ratio is 0.2 to 0.004 (2 % of the nominal h: measured 0.0023,
    the fit's bias when a cell stays warm and its leak heat and heat transfer trade off) and its
    leak heat is negative (the lost cooling is not taken for a leak)."""
    t, i, temp, cell = thermal_log()
    short, cool = isolation._heat(t, i, temp, isolation.IsolationSettings(), 1.0, cell, 298.15)
    assert abs(short[1]["estimate"][-1] - 0.14) <= 1.959963984540054 * short[1]["se"][-1]
    assert np.argmax([s["stat"].max() for s in short]) == 1
    assert short[1]["stat"].max() > 10 * max(short[g]["stat"].max() for g in (0, 2, 3))
    assert abs(cool[1]["estimate"][-1] - 1.0) < 0.004
    assert abs(cool[3]["estimate"][-1] - 0.2) < 0.004
    assert short[3]["estimate"][-1] < 0


def test_thresholds_are_the_nominal_quantile():
    maxima = [{"sensor": float(k), "cooling_loss": -float(k)} for k in range(1, 101)]
    th = isolation.calibrate_thresholds(maxima, 0.05)
    # The next order statistic up from position 0.95 (n - 1) = 94.05 of the sorted maxima: index 95,
    # i.e. 96 of 1..100 and -5 of -100..-1; 4 of 100 nominal runs lie above it (<= alpha).
    assert th == {"sensor": 96.0, "cooling_loss": -5.0}
    with pytest.raises(ValueError, match="alpha_per_run = 0.001"):
        isolation.calibrate_thresholds(maxima, 0.001)


def test_a_pack_log_needs_three_groups():
    log = hand_log()
    log["voltage_a_v"] = log["voltage_a_v"][:, :2]
    with pytest.raises(ValueError, match="voltage_a_v: 2 series groups"):
        isolation.statistics(log)


def test_confusion_table_of_a_ci_sized_campaign_is_diagonally_dominant():
    """Thresholds from 20 nominal runs at alpha = 0.05 per run and detector, then 5 runs per class
    on other seeds. The bound is strict diagonal dominance of every row (more runs of each class
    isolated right than wrong), and the isolated group is the injected one.

    Why this bound: the benchmark (bench_fault_isolation.py, 200 nominal calibration runs, 40
    runs per class, alpha 0.01) measured per-class recall 0.93 nominal, 0.97 internal short (with
    the heat-balance leak detector; 0.40 with the charge balance alone), 0.97 connection
    resistance, 1.00 sensor, 0.95 cooling loss, location 1.00: every class right more often than
    not, which is what dominance asserts. With 5 seeded runs per class this is a deterministic
    regression check (a recall of 0.93 still fails 3 of 5 with probability 0.003), not an estimate
    of the recall; the benchmark gives the figures."""
    ev = fault_campaign.evaluate(range(1_000_000, 1_000_020), range(5), 0.05, workers=2)
    m = ev["confusion"]
    assert m.sum() == 5 * len(FAULT_CLASSES)
    for i, c in enumerate(FAULT_CLASSES):
        assert m[i, i] > m[i].sum() - m[i, i], (c, m)
    assert ev["located"] == 1.0
