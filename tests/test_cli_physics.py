"""Commands that used to succeed with impossible physics: simulate's cut-offs, the plausibility
checks on inputs (Kelvin for degC, ms for s, mA for A), charge's working horizon and its
solver_failures count."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from safetwin import battery, control
from safetwin.cli import main

ROOT = Path(__file__).resolve().parents[1]
BENCH_LOG = ROOT / "examples" / "bench_log.csv"
CAPACITY_AH = 5.15


def read_csv(path):
    return np.genfromtxt(path, delimiter=",", names=True)


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# ---------------------------------------------------------------------------- cut-offs
def test_a_1c_discharge_stops_at_the_minimum_voltage(tmp_path, capsys):
    """From SOC 0.1 a 1C discharge reaches 2.5 V within the hour: the trace ends at the first sample
    below it, identical to the library's run of the whole profile up to there, and its SOC is the
    coulomb count of the current drawn."""
    out = tmp_path / "cc.csv"
    assert main(["simulate", "--profile", "cc", "-o", str(out)]) == 0
    summary = capsys.readouterr().out
    data = read_csv(out)
    pack = battery.Pack(battery.PackConfig(initial=battery.CellState(soc=0.1)))
    ref = pack.simulate(np.full(3600, 5.15), 1.0)
    below = np.flatnonzero(ref["cell_voltage_v"][:, 0] < 2.5)
    assert below.size and below[0] < 3599
    k = int(below[0])
    assert len(data) == k + 1
    np.testing.assert_allclose(data["voltage_v"], ref["cell_voltage_v"][: k + 1, 0], rtol=1e-8)
    assert data["voltage_v"][-1] < 2.5 <= data["voltage_v"][:-1].min()
    # row k holds the SOC after k steps of 5.15 A on a 5.15 Ah cell
    assert data["soc"][-1] == pytest.approx(0.1 - k * 5.15 / 3600 / CAPACITY_AH, abs=1e-9)
    assert np.all(data["soc"] >= 0.0)
    assert f"cut-off: cell 1 voltage {data['voltage_v'][-1]:.4g} V < 2.5 V" in summary
    assert f"at t = {k:g} s" in summary


@pytest.mark.parametrize("profile", ["hppc", "drive"])
def test_the_default_soc0_no_longer_runs_to_negative_soc(tmp_path, capsys, profile):
    out = tmp_path / "p.csv"
    assert main(["simulate", "--profile", profile, "-o", str(out)]) == 0
    data = read_csv(out)
    assert data["soc"].min() >= 0.0 and data["voltage_v"][:-1].min() >= 2.5
    assert "stopped by          cut-off: cell 1 voltage" in capsys.readouterr().out


def test_cutoff_off_runs_on_with_a_warning(tmp_path, capsys):
    out = tmp_path / "p.csv"
    assert main(["simulate", "--profile", "drive", "--cutoff", "off", "-o", str(out)]) == 0
    cap = capsys.readouterr()
    data = read_csv(out)
    assert len(data) == 3600 and data["soc"][-1] < 0.0  # the profile draws 5.15 Ah from 0.1 x 5.15 Ah
    drawn_ah = np.sum(data["current_a"][:-1]) / 3600  # row k: the SOC after k steps
    assert data["soc"][-1] == pytest.approx(0.1 - drawn_ah / CAPACITY_AH, abs=1e-9)
    assert "warning: --cutoff off: the run goes on past cell 1 voltage" in cap.err


def test_a_charge_stops_at_the_maximum_voltage_and_cccv_does_not(tmp_path, capsys):
    out = tmp_path / "c.csv"
    assert main(["simulate", "--profile", "cc", "--current-a", "-5", "--soc0", "0.7", "-o", str(out)]) == 0
    data = read_csv(out)
    assert data["voltage_v"][-1] > 4.21 >= data["voltage_v"][:-1].max()
    assert "> 4.2 V, the cell's maximum" in capsys.readouterr().out
    assert main(["simulate", "-o", str(out)]) == 0  # CC-CV regulates at 4.2 V: no cut-off
    assert "end of charge (current below C/20)" in capsys.readouterr().out


def test_a_pack_stops_on_its_first_cell(tmp_path, capsys):
    """With spread, the weakest cell of a 3s2p pack reaches 2.5 V first; the others are above."""
    out = tmp_path / "p.csv"
    assert main(["simulate", "--profile", "cc", "--current", "10.3", "--series", "3", "--parallel", "2",
                 "--spread-seed", "3", "--soc0", "0.2", "-o", str(out)]) == 0
    data = read_csv(out)
    volts = np.column_stack([data[f"voltage_v_{j}"] for j in range(1, 7)])
    assert volts[:-1].min() >= 2.5 and volts[-1].min() < 2.5
    first = int(np.argmin(volts[-1])) + 1
    assert f"cut-off: cell {first} voltage" in capsys.readouterr().out


# ---------------------------------------------------------------------------- plausibility
@pytest.mark.parametrize("argv,text", [
    (["--profile", "cc", "--current", "1e6"], "--current-a = 1e+06 A is beyond 20x the cell's discharge limit of 25 A"),
    (["--c-rate", "100"], "--c-rate = 100 C: must be in (0, 58.2524] C"),
    (["--profile", "cc", "--current", "-400"], "beyond 20x the cell's charge limit of 15 A"),
])
def test_absurd_currents_are_refused(tmp_path, capsys, argv, text):
    assert main(["simulate", *argv, "-o", str(tmp_path / "x.csv")]) == 2
    assert text in one_error_line(capsys.readouterr().err)


def test_a_current_beyond_the_limit_but_plausible_warns_and_the_cutoff_decides(tmp_path, capsys):
    assert main(["simulate", "--profile", "cc", "--current", "100", "--soc0", "0.9", "-o", str(tmp_path / "x.csv")]) == 0
    cap = capsys.readouterr()
    assert "warning: --current-a = 100 A is beyond the cell's discharge limit of 25 A" in cap.err
    assert "cut-off" in cap.out


def _log(tmp_path, name, t_scale=1.0, i_scale=1.0, temp_offset=0.0, rows=None):
    d = read_csv(BENCH_LOG)[:rows]
    path = tmp_path / name
    with open(path, "w") as f:
        f.write("t_s,current_a,voltage_v,temperature_c\n")
        for r in d:
            f.write(f"{r['t_s'] * t_scale},{r['current_a'] * i_scale},{r['voltage_v']},{r['temperature_c'] + temp_offset}\n")
    return path


def test_estimate_refuses_a_temperature_in_kelvin(tmp_path, capsys):
    log = _log(tmp_path, "k.csv", temp_offset=273.15)
    assert main(["estimate", str(log), "-o", str(tmp_path / "o.csv")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "column temperature_c reaches" in line and "looks like Kelvin" in line
    assert not (tmp_path / "o.csv").exists()


def test_estimate_refuses_times_in_ms_and_currents_in_ma(tmp_path, capsys):
    """In ms, the 1C charge of the log moves 1000x the charge: 4.5 Ah x 1000 through a 5.15 Ah cell."""
    d = read_csv(BENCH_LOG)
    moved_ah = np.max(np.abs(np.cumsum(d["current_a"][:-1] * np.diff(d["t_s"])))) / 3600 * 1000
    assert main(["estimate", str(_log(tmp_path, "ms.csv", t_scale=1000.0)), "-o", str(tmp_path / "o.csv")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"the log moves {moved_ah:.4g} Ah" in line and "is t_s in ms" in line
    assert main(["estimate", str(_log(tmp_path, "ma.csv", i_scale=1000.0)), "-o", str(tmp_path / "o.csv")]) == 2
    assert "is the current in mA" in one_error_line(capsys.readouterr().err)


def test_estimate_warns_on_samples_far_apart_but_runs(tmp_path, capsys):
    """30 rows 100 s apart (the log's 5 s x 20): a possible measured log, coarse against the 13 s RC."""
    log = _log(tmp_path, "slow.csv", t_scale=20.0, rows=30)
    assert main(["estimate", str(log), "--soc0", "0.1", "-o", str(tmp_path / "o.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning" in err and "the median time step is 100 s, longer than the cell's fast time constant (13 s)" in err


def test_the_example_log_is_a_valid_estimate_input(tmp_path, capsys):
    """examples/bench_log.csv (PyBaMM DFN, noisy, every 5 s): the EKF ends near the DFN's own SOC."""
    out = tmp_path / "soc.csv"
    assert main(["estimate", str(BENCH_LOG), "--soc0", "0.1", "-o", str(out)]) == 0
    est = read_csv(out)
    ref = read_csv(BENCH_LOG)
    assert abs(est["soc"][-1] - ref["soc_dfn"][-1]) < 0.03


# ---------------------------------------------------------------------------- charge
def test_charge_horizon_beyond_the_working_range_is_refused(capsys):
    assert main(["charge", "--horizon", "181"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--horizon = 181: must be in [1, 180]" in line and "does not converge" in line


def test_solver_failures_count_the_steps_that_did_not_solve():
    """A QP capped at one iteration (and no CC-CV cold start to hand it a working set) cannot solve
    this problem: every step falls back, and solver_failures says so; the count is that of the
    steps whose decision is fallback. (N = 200 used to be such a case; the CC-CV cold start now solves it.)"""
    from safetwin.commands import charge
    cfg = control.BatteryMpcConfig()
    qp = cfg.qp
    qp.max_iterations = 1
    cfg.qp, cfg.cold_start_cccv = qp, False
    cell_params = battery.CellParams.ref_cell_1()
    cell = battery.Cell(cell_params, battery.CellState(soc=0.1))
    trace = control.run_charge_loop(cell, control.BatteryMpc(cfg),
                                    control.ChargeLoopConfig(dt_s=1.0, soc_stop=0.79, max_time_s=5.0,
                                                             covariance=np.zeros((4, 4))))
    trace["limits"] = cell_params.limits
    res = charge.summary(trace, "builtin", cfg.horizon)
    decisions = np.asarray(trace["decision"])  # a capped QP is the MPC's fallback, not a failed call
    assert res["solver_failures"] == int(np.sum(decisions == int(control.Decision.fallback))) == 5
    assert np.all(np.asarray(trace["status"]) == 0)
    assert np.all(trace["current_a"] == 0.0)  # and no current flowed: the failure the field reports


def test_charge_json_reports_zero_solver_failures_in_range(capsys):
    assert main(["charge", "--horizon", "180", "--duration-s", "20", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["solver_failures"] == 0 and res["horizon"] == 180


def test_estimate_refuses_a_voltage_in_mv(tmp_path, capsys):
    d = read_csv(BENCH_LOG)[:50]
    log = tmp_path / "mv.csv"
    log.write_text("t_s,current_a,voltage_v,temperature_c\n" +
                   "".join(f"{r['t_s']},{r['current_a']},{r['voltage_v'] * 1000},{r['temperature_c']}\n" for r in d))
    assert main(["estimate", str(log), "-o", str(tmp_path / "o.csv")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert f"column voltage_v reaches {d['voltage_v'].min() * 1000:g} V" in line  # the first value out and "is the voltage in mV?" in line


def test_a_spreadsheet_s_byte_order_mark_is_read_and_a_semicolon_named(tmp_path, capsys):
    text = BENCH_LOG.read_text()
    (tmp_path / "bom.csv").write_text("\ufeff" + text)
    assert main(["estimate", str(tmp_path / "bom.csv"), "--soc0", "0.1", "-o", str(tmp_path / "a.csv")]) == 0
    assert main(["estimate", str(BENCH_LOG), "--soc0", "0.1", "-o", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    capsys.readouterr()
    (tmp_path / "semi.csv").write_text(text.replace(",", ";"))
    assert main(["estimate", str(tmp_path / "semi.csv"), "-o", str(tmp_path / "c.csv")]) == 2
    assert "the file must be comma-separated, not ';'" in one_error_line(capsys.readouterr().err)
