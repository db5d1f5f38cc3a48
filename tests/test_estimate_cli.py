"""``safetwin estimate``: columns, options, irregular steps, missing values, and clear errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safetwin import battery, estimation
from safetwin.cli import main

DATA = Path(__file__).parent / "data" / "dfn_lgm50_cccv_1c.csv"
OUT_COLUMNS = "t_s,soc,soc_sigma,v1_v,v2_v,temperature_c,r0_ohm,capacity_ah,nis,rejected"


def write_log(path, t, i, v, temp_c, extra=True):
    header = "t_s,current_a,voltage_v,temperature_c" + (",note" if extra else "")
    with open(path, "w") as f:
        f.write(header + "\n")
        for row in zip(t, i, v, temp_c):
            f.write(",".join("" if (isinstance(x, float) and np.isnan(x)) else repr(float(x)) for x in row)
                    + (",x" if extra else "") + "\n")


def read_out(path):
    with open(path) as f:
        header = f.readline().strip()
    return header, np.loadtxt(path, delimiter=",", skiprows=1)


@pytest.fixture(scope="module")
def dfn():
    return np.genfromtxt(DATA, delimiter=",", names=True)


def test_replay_of_the_dfn_log_matches_the_library(tmp_path, dfn, capsys):
    out = tmp_path / "est.csv"
    assert main(["estimate", str(DATA), "-o", str(out), "--soc0", "0.3"]) == 0
    header, rows = read_out(out)
    assert header == OUT_COLUMNS
    assert rows.shape == (len(dfn["t_s"]), 10)
    temp_k = dfn["temperature_c"] + battery.ZERO_CELSIUS_K
    ref = estimation.run(dfn["t_s"], dfn["current_a"], voltage_a_v=dfn["voltage_v"], temperature_k=temp_k,
                         config=estimation.make_config(soc0=0.3, temp0_k=float(temp_k[0])))
    np.testing.assert_allclose(rows[:, 1], ref["soc"], rtol=1e-8)
    np.testing.assert_allclose(rows[:, 2], ref["soc_sigma"], rtol=1e-8)
    np.testing.assert_allclose(rows[:, 5], ref["temp_k"] - battery.ZERO_CELSIUS_K, rtol=1e-8)
    np.testing.assert_allclose(rows[:, 7], 5.15)  # no --estimate-params: capacity stays
    assert "warning" not in capsys.readouterr().err


def test_default_soc0_from_the_first_voltage(tmp_path):
    # A rested start at the OCV of SOC 0.62 (the table's own numbers).
    ocv = battery.OcvTable.lgm50_chen2020()
    t = np.arange(5.0)
    write_log(tmp_path / "log.csv", t, np.zeros(5), np.full(5, ocv.voltage_v(0.62)), np.full(5, 25.0))
    assert main(["estimate", str(tmp_path / "log.csv"), "-o", str(tmp_path / "o.csv")]) == 0
    _, rows = read_out(tmp_path / "o.csv")
    assert rows[-1, 1] == pytest.approx(0.62, abs=1e-3)


def test_estimate_params_changes_r0_and_capacity_columns(tmp_path, dfn):
    out = tmp_path / "est.csv"
    assert main(["estimate", str(DATA), "-o", str(out), "--soc0", "0.3", "--estimate-params"]) == 0
    _, rows = read_out(out)
    assert np.ptp(rows[:, 7]) > 0  # capacity is estimated
    assert np.all((rows[:, 7] >= 0.5 * 5.15) & (rows[:, 7] <= 1.5 * 5.15))


def test_irregular_steps_use_the_actual_dt(tmp_path, dfn):
    keep = np.sort(np.random.default_rng(3).choice(len(dfn["t_s"]), size=2000, replace=False))
    keep[0] = 0
    keep = np.unique(keep)
    log = tmp_path / "irregular.csv"
    write_log(log, dfn["t_s"][keep], dfn["current_a"][keep], dfn["voltage_v"][keep], dfn["temperature_c"][keep])
    assert main(["estimate", str(log), "-o", str(tmp_path / "o.csv"), "--soc0", "0.3"]) == 0
    _, rows = read_out(tmp_path / "o.csv")
    np.testing.assert_array_equal(rows[:, 0], dfn["t_s"][keep])
    # The same as the library on those rows, and not the same as pretending dt = 1 s.
    t = dfn["t_s"][keep]
    temp_k = dfn["temperature_c"][keep] + battery.ZERO_CELSIUS_K
    cfg = estimation.make_config(soc0=0.3, temp0_k=float(temp_k[0]))
    ref = estimation.run(t, dfn["current_a"][keep], voltage_a_v=dfn["voltage_v"][keep], temperature_k=temp_k,
                         config=cfg)
    np.testing.assert_allclose(rows[:, 1], ref["soc"], rtol=1e-8)
    unit = estimation.run(np.arange(len(t), dtype=float), dfn["current_a"][keep], voltage_a_v=dfn["voltage_v"][keep],
                          temperature_k=temp_k, config=cfg)
    assert np.abs(unit["soc"] - ref["soc"]).max() > 0.05
    # it tracks the DFN's SOC across the gaps (the 2 % accuracy bar is tested in test_estimation.py)
    err = rows[:, 1] - dfn["soc_true"][keep]
    assert np.abs(err[t >= 300]).max() < 0.03


def test_missing_values_are_skipped_with_one_warning(tmp_path, dfn, capsys):
    n = 600
    v = dfn["voltage_v"][:n].copy()
    temp = dfn["temperature_c"][:n].copy()
    v[[50, 51, 300]] = np.nan
    temp[400] = np.nan
    log = tmp_path / "gaps.csv"
    write_log(log, dfn["t_s"][:n], dfn["current_a"][:n], v, temp)
    assert main(["estimate", str(log), "-o", str(tmp_path / "o.csv"), "--soc0", "0.3"]) == 0
    err = capsys.readouterr().err
    assert err.count("warning") == 1  # once, with the count
    assert "4 row(s) with a missing or non-finite value" in err
    _, rows = read_out(tmp_path / "o.csv")
    assert rows.shape[0] == n and np.all(np.isfinite(rows))


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("t_s,current_a,voltage_v,temperature_c\n", "no data rows"),
    ("t_s,current_a,temperature_c\n0,1,25\n", "missing column(s) voltage_v"),
    ("time,current_a,voltage_v\n0,1,3.7\n", "missing column(s) t_s, temperature_c"),
    ("t_s,current_a,voltage_v,temperature_c\n0,1,3.7,25\n1,1,abc,25\n", "line 3: column voltage_v = 'abc'"),
    ("t_s,current_a,voltage_v,temperature_c\n0,1,3.7,25\n0,1,3.7,25\n", "t_s must increase strictly"),
    ("t_s,current_a,voltage_v,temperature_c\n0,1,3.7,25\n,1,3.7,25\n", "t_s is missing"),
])
def test_bad_logs_give_clear_errors(tmp_path, capsys, content, message):
    log = tmp_path / "bad.csv"
    log.write_text(content)
    assert main(["estimate", str(log), "-o", str(tmp_path / "o.csv")]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "o.csv").exists()


def test_bad_options(tmp_path, capsys):
    assert main(["estimate", str(tmp_path / "nope.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["estimate", str(DATA), "--soc0", "1.5", "-o", str(tmp_path / "o.csv")]) == 2
    assert "--soc0 = 1.5" in capsys.readouterr().err
