"""`safetwin estimate` takes the estimator from the cell file: a 1RC cell with hysteresis and a 3RC
cell run through the CLI (issue 12), each against a truth that does not come from the estimator.

GIVEN a log of a cell of that structure with seeded sensor noise, WHEN it is estimated from a wrong
initial SOC, THEN the SOC converges to the truth within the filter's own sigma, and the output has
the structure's state columns. The 1RC + hysteresis truth is an independent numpy implementation of
the equations of issue 12 sec. 3 (the cell file's values written out again here), and its SOC the
coulomb count; the 3RC truth is the plant (battery.Pack) of the same cell file.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from safetwin import battery, cellfile, estimation
from safetwin.cli import main

T_REF_K = 298.15
ONE_RC = (Path(__file__).parent / "data" / "cells" / "one_rc.toml").read_text()
HYST = {"gamma": 120.0, "m_v": 0.02, "m0_v": 0.004}
ONE_RC_HYST = ONE_RC + "[hysteresis]\ngamma = 120.0\nm_v = 0.02\nm0_v = 0.004\n"


def numpy_one_rc_hyst(current, dt, soc0, temp0_k):
    """tests/data/cells/one_rc.toml with HYST, stepped by hand (issue 12 sec. 3): constants at 25 degC
    with Arrhenius, exact RC discretisation, Plett's one-state hysteresis. Returns the terminal
    voltage, SOC, temperature and h of every sample (the voltage under that sample's current, the
    state at its start)."""
    soc_axis = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    ocv_axis = np.array([3.0, 3.45, 3.62, 3.85, 4.15])
    q_as, eta = 3.0 * 3600.0, 0.99
    soc, v1, temp, h, s = soc0, 0.0, temp0_k, 0.0, 0.0
    a1 = np.exp(-dt / 25.0)
    out = np.empty((len(current), 4))
    for k, i in enumerate(current):
        arr = np.exp(1800.0 * (1.0 / temp - 1.0 / T_REF_K))
        r0, r1 = 0.018 * arr, 0.011 * arr
        s_now = -np.sign(i) if i != 0 else s
        v = np.interp(soc, soc_axis, ocv_axis) - r0 * i - v1 + HYST["m_v"] * h + HYST["m0_v"] * s_now
        out[k] = v, soc, temp, h
        heat = i * i * r0 + v1 * v1 / r1 - 0.4 * (temp - 293.15)
        ah = np.exp(-abs(i) * HYST["gamma"] * dt / q_as)
        h = ah * h + (ah - 1.0) * np.sign(i)
        s = s_now
        soc -= eta * i * dt / q_as
        v1 = a1 * v1 + r1 * (1.0 - a1) * i
        temp += dt / 40.0 * heat
    return out


def profile(seed, n_levels, hold, low_a, high_a):
    """Piecewise-constant current with rests (I = 0 exactly), seeded."""
    rng = np.random.default_rng(seed)
    levels = rng.uniform(low_a, high_a, n_levels)
    levels[rng.random(n_levels) < 0.2] = 0.0
    return np.repeat(levels, hold)


def write_log(path, t_s, current_a, voltage_v, temperature_k, seed):
    rng = np.random.default_rng(seed)
    v = voltage_v + rng.normal(0.0, 0.002, len(t_s))               # 2 mV voltage noise
    tc = temperature_k - 273.15 + rng.normal(0.0, 0.1, len(t_s))   # 0.1 K temperature noise
    np.savetxt(path, np.column_stack([t_s, current_a, v, tc]), delimiter=",",
               header="t_s,current_a,voltage_v,temperature_c", comments="", fmt="%.9g")


def run_estimate(tmp_path, log, cell_path, soc0, capsys):
    out = tmp_path / "est.csv"
    assert main(["estimate", str(log), "--cell", str(cell_path), "--soc0", str(soc0), "-o", str(out)]) == 0
    capsys.readouterr()
    return np.genfromtxt(out, delimiter=",", names=True)


def test_one_rc_hysteresis_cell_runs_through_estimate_and_converges(tmp_path, capsys):
    cell_path = tmp_path / "one_rc_hyst.toml"
    cell_path.write_text(ONE_RC_HYST)
    dt = 1.0
    current = profile(21, 120, 30, -6.0, 8.0)  # 3 600 s, about 0.3 of the 3 Ah moved net
    truth = numpy_one_rc_hyst(current, dt, 0.75, 293.15)
    t = np.arange(len(current)) * dt
    log = tmp_path / "log.csv"
    write_log(log, t, current, truth[:, 0], truth[:, 2], seed=5)

    est = run_estimate(tmp_path, log, cell_path, 0.55, capsys)  # 0.2 SOC off
    assert est.dtype.names == ("t_s", "soc", "soc_sigma", "v1_v", "hysteresis", "hysteresis_sign",
                               "temperature_c", "r0_ohm", "capacity_ah", "nis", "rejected")
    # Row k is the estimate after sample k: the truth's state at the start of sample k + 1.
    soc_true = np.r_[truth[1:, 1], truth[-1, 1] - 0.99 * current[-1] * dt / (3.0 * 3600.0)]
    err = est["soc"] - soc_true
    assert abs(err[0]) > 0.15                      # it did start far off
    late = slice(len(t) // 2, None)                 # the second half, after convergence
    assert np.max(np.abs(err[late])) < 0.02
    assert np.max(np.abs(err[late]) / est["soc_sigma"][late]) < 4.0
    # The hysteresis state follows the truth's h (not only the SOC absorbing it).
    h_true = np.r_[truth[1:, 3], truth[-1, 3]]
    assert np.median(np.abs(est["hysteresis"][late] - h_true[late])) < 0.15
    # s, the sign of the last current, stays at -1, 0 or +1 (to the CSV's 9 digits)
    assert np.max(np.abs(est["hysteresis_sign"] - np.round(est["hysteresis_sign"]))) < 1e-8


def three_rc_cell_text():
    text = cellfile.shipped_cell_path("ref_cell_1").read_text()
    two = "  { r_ohm = 0.023, tau_s = 129.996 },\n"
    assert two in text
    return text.replace(two, two + "  { r_ohm = 0.008, tau_s = 900.0 },\n").replace(
        'name = "', 'name = "3RC ', 1)


def test_three_rc_cell_runs_through_estimate_and_converges(tmp_path, capsys):
    cell_path = tmp_path / "three_rc.toml"
    cell_path.write_text(three_rc_cell_text())
    cell = cellfile.load_cell(cell_path)
    assert cell.rc_pairs == 3
    current = profile(8, 90, 40, -10.0, 12.0)
    pack = battery.Pack(battery.PackConfig(cell=cell, initial=battery.CellState(soc=0.7, temp_k=298.15)))
    out = pack.simulate(current, 1.0)
    t = np.arange(len(current)) * 1.0
    log = tmp_path / "log.csv"
    write_log(log, t, current, out["pack_voltage_v"], out["cell_temp_k"][:, 0] if out["cell_temp_k"].ndim > 1
              else out["cell_temp_k"], seed=9)

    est = run_estimate(tmp_path, log, cell_path, 0.5, capsys)
    assert est.dtype.names[3:6] == ("v1_v", "v2_v", "v3_v") and "hysteresis" not in est.dtype.names
    soc_true = np.asarray(out["cell_soc"]).reshape(len(t), -1)[:, 0]
    err = est["soc"] - soc_true
    late = slice(len(t) // 2, None)
    assert np.max(np.abs(err[late])) < 0.02
    assert np.max(np.abs(err[late]) / est["soc_sigma"][late]) < 4.0


def test_the_2rc_estimate_is_the_2rc_filter_bit_for_bit():
    """estimation.run chooses the filter by the cell; for REF-CELL-1 it is BatteryEkf, unchanged."""
    rng = np.random.default_rng(3)
    n = 400
    t = np.arange(n, dtype=float)
    i = np.repeat(rng.uniform(-10, 15, 20), 20)
    v = 3.7 - 0.02 * i + rng.normal(0, 0.002, n)
    tk = np.full(n, 298.15)
    cfg = estimation.make_config(soc0=0.6)
    a = estimation.run(t, i, voltage_a_v=v, temperature_k=tk, config=cfg)
    b = estimation.BatteryEkf(cfg).run(t, i, voltage_a_v=v, temperature_k=tk)
    for key in ("soc", "soc_sigma", "v1_v", "v2_v", "temp_k", "nis"):
        np.testing.assert_array_equal(a[key], b[key])
    assert tuple(a["state_names"]) == ("soc", "v1_v", "v2_v", "temp_k")
    np.testing.assert_array_equal(a["state"][:, 1], a["v1_v"])


def test_a_cell_the_estimator_config_refuses_is_named(tmp_path, capsys):
    cfg = estimation.BatteryEkfConfig()
    cell = cfg.cell
    cell.rc_pairs = 4
    cfg.cell = cell
    with pytest.raises(ValueError, match="rc_pairs"):
        estimation.run(np.arange(3.0), np.zeros(3), config=cfg)


@pytest.mark.parametrize("name, structure", [("lfp_a123_26650", "1 RC pair + hysteresis"), ("three_rc", "3 RC pairs")])
def test_the_control_cycle_refuses_another_structure_naming_the_field(tmp_path, name, structure):
    from safetwin import cycle
    if name == "three_rc":
        path = tmp_path / "three_rc.toml"
        path.write_text(three_rc_cell_text())
    else:
        path = cellfile.shipped_cell_path(name)
    cell = cellfile.load_cell(path)
    with pytest.raises(ValueError, match="^" + re.escape("CycleConfig.estimator.cell: a cell of " + structure)) as e:
        cycle.make_cycle(cell=cell)
    assert "takes 2 RC pairs without hysteresis" in str(e.value) and "safetwin estimate" in str(e.value)
