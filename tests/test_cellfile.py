"""Cell files: the shipped REF-CELL-1 file equals the core's built-in cell, a 1RC cell file (with
and without hysteresis) reproduces an independent numpy implementation of the model's equations,
the LFP file runs, and bad files are refused naming the file, the key and the reason."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safetwin import battery
from safetwin.cellfile import CellFileError, load_cell, load_cell_named, shipped_cell, shipped_cell_path

T_REF_K = 298.15


def test_ref_cell_1_file_equals_the_built_in_cell():
    f = shipped_cell("ref_cell_1")
    b = battery.CellParams.ref_cell_1()
    assert f.capacity_ah == b.capacity_ah and f.coulombic_efficiency == b.coulombic_efficiency
    np.testing.assert_array_equal(f.ocv.soc, b.ocv.soc)
    np.testing.assert_array_equal(f.ocv.ocv_v, b.ocv.ocv_v)
    assert f.rc_pairs == b.rc_pairs == 2
    for name in ("r0_ohm", "r1_ohm", "r2_ohm"):
        assert getattr(f, name).is_constant and getattr(f, name).at(0.5, T_REF_K) == getattr(b, name).at(0.5, T_REF_K)
    # The file gives tau = R C in decimal: C comes back to within rounding of the decimal digits.
    for name in ("c1_f", "c2_f"):
        assert getattr(f, name).at(0.5, T_REF_K) == pytest.approx(getattr(b, name).at(0.5, T_REF_K), rel=1e-12)
    assert f.arrhenius_k == b.arrhenius_k
    assert (f.heat_capacity_j_per_k, f.heat_transfer_w_per_k, f.ambient_temp_k) == \
        (b.heat_capacity_j_per_k, b.heat_transfer_w_per_k, b.ambient_temp_k)
    for k in ("voltage_min_v", "voltage_max_v", "temp_min_k", "temp_max_k", "charge_current_max_a",
              "discharge_current_max_a"):
        assert getattr(f.limits, k) == pytest.approx(getattr(b.limits, k), abs=1e-12), k
    assert f.hysteresis is None and f.r0_charge_ohm is None and f.entropic_v_per_k is None


ONE_RC = (Path(__file__).parent / "data" / "cells" / "one_rc.toml").read_text()

HYSTERESIS = """
[hysteresis]
gamma = 120.0
m_v = 0.02
m0_v = 0.004
"""


def numpy_one_rc(current, dt, soc0, temp0_k, hyst=None):
    """The model's equations (issue 12 sec. 3) for 1 RC pair, written independently with numpy:
    constants at 25 degC with Arrhenius, exact RC discretisation, optional one-state hysteresis."""
    soc_axis = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    ocv_axis = np.array([3.0, 3.45, 3.62, 3.85, 4.15])
    q_as, eta = 3.0 * 3600.0, 0.99
    soc, v1, temp, h, s = soc0, 0.0, temp0_k, 0.0, 0.0
    a1 = np.exp(-dt / 25.0)
    volts = np.empty(len(current))
    for k, i in enumerate(current):
        arr = np.exp(1800.0 * (1.0 / temp - 1.0 / T_REF_K))
        r0, r1 = 0.018 * arr, 0.011 * arr
        s_now = -np.sign(i) if i != 0 else s
        v = np.interp(soc, soc_axis, ocv_axis) - r0 * i - v1
        if hyst:
            v += hyst["m_v"] * h + hyst["m0_v"] * s_now
        volts[k] = v
        heat = i * i * r0 + v1 * v1 / r1 - 0.4 * (temp - 293.15)
        if hyst:
            ah = np.exp(-abs(i) * hyst["gamma"] * dt / q_as)
            h = ah * h + (ah - 1.0) * np.sign(i)
            s = s_now
        soc -= eta * i * dt / q_as
        v1 = a1 * v1 + r1 * (1.0 - a1) * i
        temp += dt / 40.0 * heat
    return volts


@pytest.mark.parametrize("with_hysteresis", [False, True])
def test_one_rc_cell_file_reproduces_an_independent_implementation(tmp_path, with_hysteresis):
    path = tmp_path / "one_rc.toml"
    path.write_text(ONE_RC + (HYSTERESIS if with_hysteresis else ""))
    name, cell = load_cell_named(path)
    assert name == "one RC" and cell.rc_pairs == 1 and (cell.hysteresis is not None) == with_hysteresis
    assert battery.cell_state_names(1, with_hysteresis) == (
        ["soc", "v1_v", "hysteresis", "hysteresis_sign", "temp_k"] if with_hysteresis else ["soc", "v1_v", "temp_k"])
    rng = np.random.default_rng(12)
    # Random current profile: piecewise constant levels in [-8, 12] A with rests (I = 0 exactly).
    levels = rng.uniform(-8.0, 12.0, 60)
    levels[rng.random(60) < 0.2] = 0.0
    current = np.repeat(levels, 20)
    dt = 0.5
    pack = battery.Pack(battery.PackConfig(cell=cell, initial=battery.CellState(soc=0.55, temp_k=295.0)))
    out = pack.simulate(current, dt)
    expected = numpy_one_rc(current, dt, 0.55, 295.0,
                            {"gamma": 120.0, "m_v": 0.02, "m0_v": 0.004} if with_hysteresis else None)
    assert 0.2 < out["cell_soc"].min() and out["cell_soc"].max() < 0.9  # inside the OCV table throughout
    np.testing.assert_allclose(out["pack_voltage_v"], expected, rtol=0, atol=1e-6)
    if with_hysteresis:  # the trace really exercised the hysteresis (not a vacuous match)
        assert np.ptp(out["pack_voltage_v"] - numpy_one_rc(current, dt, 0.55, 295.0)) > 0.02


def test_lfp_file_runs_with_hysteresis_and_tables():
    cell = shipped_cell("lfp_a123_26650")
    assert cell.rc_pairs == 1 and cell.hysteresis is not None and not cell.r0_ohm.is_constant
    assert cell.r0_charge_ohm is not None and cell.entropic_v_per_k is not None
    pack = battery.Pack(battery.PackConfig(cell=cell, initial=battery.CellState(soc=0.6)))
    # Long 1C discharge, then rest: h tends to -1 and s = -1, so the rested voltage sits M + M0
    # below the OCV at that SOC (and the entropic term at the cell's temperature).
    pack.simulate(np.r_[np.full(900, 2.3), np.zeros(1800)], 1.0)
    x = pack.states[0]
    assert x.hysteresis_sign == -1.0 and x.hysteresis < -0.99
    ocv = cell.ocv.voltage_v(x.soc) + cell.entropic_v_per_k.at(x.soc, x.temp_k) * (x.temp_k - T_REF_K)
    rested = ocv + cell.hysteresis.m_v * x.hysteresis - cell.hysteresis.m0_v - x.v1_v
    assert pack.cell_voltage_at(0, 0.0) == pytest.approx(rested, abs=1e-12)
    assert ocv - pack.cell_voltage_at(0, 0.0) == pytest.approx(0.02 + 0.005, abs=2e-4)


def _write(tmp_path, text):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("edit, key, reason", [
    (lambda t: t.replace("capacity_ah = 3.0", "capacity_ah = -3.0"), "cell.capacity_ah", "must be > 0"),
    (lambda t: t.replace("soc = [0.0, 0.25, 0.5, 0.75, 1.0]", "soc = [0.0, 0.5, 0.25, 0.75, 1.0]"),
     "ocv.soc", "strictly increasing"),
    (lambda t: t.replace("voltage_v = [3.0, 3.45, 3.62, 3.85, 4.15]", "voltage_v = [3.0, 3.45]"),
     "ocv.voltage_v", "has 2 points"),
    (lambda t: t.replace("rc_pairs = [{ r_ohm = 0.011, tau_s = 25.0 }]", "rc_pairs = []"),
     "resistance.rc_pairs", "1 to 3 pairs"),
    (lambda t: t.replace("tau_s = 25.0", "tau_s = 0.0"), "resistance.rc_pairs[0].tau_s", "> 0"),
    (lambda t: t.replace("r0_ohm = 0.018", "r0_ohms = 0.018"), "resistance.r0_ohms", "unknown key"),
    (lambda t: t.replace("voltage_max_v = 4.2", "voltage_max_v = 2.0"), "limits.voltage_max_v", "must be > 2.5"),
    (lambda t: t.replace("ambient_c = 20.0", 'ambient_c = "warm"'), "thermal.ambient_c", "must be a number"),
    (lambda t: t.replace("[thermal]", "[thermals]"), "[thermals]", "unknown section"),
    (lambda t: t + "[hysteresis]\ngamma = 1.0\nm_v = 2.0\n", "hysteresis.m_v", "must be <= 1.0"),
])
def test_bad_cell_files_name_the_file_the_key_and_the_reason(tmp_path, edit, key, reason):
    p = _write(tmp_path, edit(ONE_RC))
    with pytest.raises(CellFileError) as e:
        load_cell(p)
    msg = str(e.value)
    assert str(p) in msg and key in msg and reason in msg, msg


@pytest.mark.parametrize("row, message", [
    ("[0.0,2, 0.011, 0.0075]", "resistance.r0_ohm.values: must be 3 x 3, got (3, 4)"),
    ("[0.022, 0.011]", "resistance.r0_ohm.values[2]: has 2 points, needs >= 3"),
])
def test_a_table_row_of_the_wrong_length_is_refused_naming_the_table(tmp_path, row, message):
    """fuzz_parsers.py cell found the 4-point row at its 31 130th input: numpy's own ValueError
    ("inhomogeneous shape"), naming neither the file nor the key, left the loader
    (test_cell_file_agreement: the C++ reader refuses a ragged table with the same message)."""
    text = shipped_cell_path("lfp_a123_26650").read_text()
    good = "[0.022, 0.011, 0.0075],"
    assert good in text
    p = _write(tmp_path, text.replace(good, row + ","))
    with pytest.raises(CellFileError) as e:
        load_cell(p)
    assert str(e.value) == f"{p}: {message}"


def test_parse_errors_and_missing_files_name_the_file(tmp_path):
    p = _write(tmp_path, "[cell\ncapacity_ah = 1")
    with pytest.raises(CellFileError, match=r"bad\.toml: not valid TOML"):
        load_cell(p)
    with pytest.raises(CellFileError, match="nope.toml: no such file"):
        load_cell(tmp_path / "nope.toml")
    assert shipped_cell_path("ref_cell_1").is_file()
