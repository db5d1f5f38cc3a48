"""safetwin design: on a simulated truth the design does not see, the A-optimal segments keep the
true cell inside its limits, the posterior covers the truth, and the trace falls below a standard
HPPC's in well under half of the HPPC's test time."""
from __future__ import annotations

import json

import numpy as np
import pytest

from safetwin._core import Cell, CellState
from safetwin.calibration import design as dz
from safetwin.cellfile import parse_cell, shipped_cell_path
from safetwin.cli import main
from safetwin.commands.design import make_design
from safetwin.commands.fit import _read_dict

FACTORS = np.array([1.3, 0.8, 1.2, 1.25, 0.85, 0.95])  # truth / prior on R0, R1, tau1, R2, tau2, capacity


def truth_cell():
    base = _read_dict(str(shipped_cell_path("ref_cell_1")))
    theta = dz.theta_of(parse_cell(base, "p")[1]) + np.log(FACTORS)
    return theta, parse_cell(dz.cell_dict(base, theta), "truth")[1]


def run_design(budget_s, stop_trace=None):
    d = make_design(str(shipped_cell_path("ref_cell_1")), 0.9, None)
    theta_true, truth = truth_cell()
    used = 0.0
    while used < budget_s and (stop_trace is None or np.trace(d.sigma) > stop_trace):
        dec = d.next_segment(budget_s - used)
        if dec is None:
            break
        prof = dec.candidate.profile()
        meas, _ = dz.simulate_truth(truth, 0.9, np.concatenate((d.history, prof)), seed=5)
        d.update(prof, meas[len(d.history):])
        used += dec.candidate.length_s
    return d, theta_true, truth, used


def test_design_beats_hppc_and_stays_safe_and_covers_the_truth():
    theta_true, truth = truth_cell()
    # the standard HPPC's posterior under the same prior and noise
    h = make_design(str(shipped_cell_path("ref_cell_1")), 0.9, None)
    prof = dz.hppc_profile(truth, blocks=9)
    meas, _ = dz.simulate_truth(truth, 0.9, prof, seed=9)
    h.update(prof, meas)
    hppc_trace, hppc_s = float(np.trace(h.sigma)), float(len(prof))
    assert np.all(np.abs(h.theta - theta_true) < 3.5 * np.sqrt(np.diag(h.sigma)))
    d, theta_true, truth, used = run_design(0.5 * hppc_s, stop_trace=hppc_trace)
    assert np.trace(d.sigma) <= hppc_trace, (np.trace(d.sigma), hppc_trace, used)
    assert used <= 0.5 * hppc_s
    # every designed segment kept the true cell inside its limits
    v = Cell(truth, CellState(soc=0.9, temp_k=298.15)).simulate(d.history, 1.0)
    lim = truth.limits
    assert lim.voltage_min_v <= v["cell_voltage_v"].min() and v["cell_voltage_v"].max() <= lim.voltage_max_v
    assert v["cell_temp_k"].max() <= lim.temp_max_k
    # the posterior covers the truth (|z| < 3.5 on each of 6: P(miss) < 0.3 % at the nominal rate)
    z = (d.theta - theta_true) / np.sqrt(np.diag(d.sigma))
    assert np.all(np.abs(z) < 3.5), z
    # the margins shrink as the design learns (easy-to-hard)
    assert d.decisions[-1].voltage_margin_v < d.decisions[0].voltage_margin_v
    assert all(np.diff([x.trace_before for x in d.decisions]) <= 1e-12)


def test_cli_design_writes_a_plan(tmp_path, capsys):
    _, truth = truth_cell()
    tpath = tmp_path / "truth.toml"
    from safetwin.calibration.cell_writer import to_toml
    base = _read_dict(str(shipped_cell_path("ref_cell_1")))
    tpath.write_text(to_toml(dz.cell_dict(base, dz.theta_of(truth))), encoding="utf-8")
    plan = tmp_path / "plan.csv"
    assert main(["design", "--cell", str(shipped_cell_path("ref_cell_1")), "--truth", str(tpath), "--budget-s", "600",
                 "-o", str(plan), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    rows = np.genfromtxt(plan, delimiter=",", names=True)
    assert s["segments"] == rows.size >= 1
    assert s["trace"] < s["trace_prior"]
    assert np.sum(np.atleast_1d(rows["duration_s"]) + np.atleast_1d(rows["rest_s"])) <= 600


def test_cli_design_needs_truth_or_update(capsys):
    assert main(["design", "--cell", str(shipped_cell_path("ref_cell_1"))]) == 2
    assert "give exactly one of --truth" in capsys.readouterr().err


def test_design_refuses_a_cell_it_cannot_design_for():
    lfp = _read_dict(str(shipped_cell_path("lfp_a123_26650")))
    cell = parse_cell(lfp, "lfp")[1]
    with pytest.raises(ValueError, match="1RC-3RC cells without hysteresis"):
        dz.theta_of(cell)


def _ref_with_pairs(pairs: list[dict]) -> dict:
    """REF-CELL-1's file with the given RC pairs (constants), for the 1RC / 3RC designs."""
    base = _read_dict(str(shipped_cell_path("ref_cell_1")))
    base["resistance"] = dict(base["resistance"], rc_pairs=pairs, arrhenius_k=0.0)
    return base


def _write_cell(path, d):
    from safetwin.calibration.cell_writer import to_toml
    path.write_text(to_toml(d), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("pairs, factors", [
    ([{"r_ohm": 0.012, "tau_s": 40.0}], [1.25, 0.8, 1.3, 0.9]),
    ([{"r_ohm": 0.006, "tau_s": 5.0}, {"r_ohm": 0.008, "tau_s": 60.0}, {"r_ohm": 0.01, "tau_s": 600.0}],
     [1.2, 0.85, 1.15, 1.2, 0.8, 1.1, 0.9, 0.95]),
])
def test_design_on_1rc_and_3rc_cells(tmp_path, pairs, factors):
    """The design's parameters follow the prior's structure (R0, R_i, tau_i, capacity); on a truth
    of that structure (factors x the prior, which the design does not see) 1800 s of designed test
    keeps the truth inside its limits and the posterior covers it."""
    prior_path = _write_cell(tmp_path / "prior.toml", _ref_with_pairs(pairs))
    d = make_design(prior_path, 0.9, None)
    assert len(d.theta0) == 2 + 2 * len(pairs) and dz.names(len(pairs))[-1] == "capacity"
    theta_true = d.theta0 + np.log(factors)
    truth = parse_cell(dz.cell_dict(_read_dict(prior_path), theta_true), "truth")[1]
    assert truth.rc_pairs == len(pairs)
    used = 0.0
    while used < 1800.0:
        dec = d.next_segment(1800.0 - used)
        if dec is None:
            break
        prof = dec.candidate.profile()
        meas, _ = dz.simulate_truth(truth, 0.9, np.concatenate((d.history, prof)), seed=3)
        d.update(prof, meas[len(d.history):])
        used += dec.candidate.length_s
    assert len(d.decisions) >= 2
    assert np.trace(d.sigma) < 0.2 * np.trace(d.sigma0)
    v = Cell(truth, CellState(soc=0.9, temp_k=298.15)).simulate(d.history, 1.0)["cell_voltage_v"]
    assert truth.limits.voltage_min_v <= v.min() and v.max() <= truth.limits.voltage_max_v
    z = (d.theta - theta_true) / np.sqrt(np.diag(d.sigma))
    assert np.all(np.abs(z) < 3.5), z  # P(|z| >= 3.5) = 0.05 % per parameter at the nominal rate


def test_cli_design_update_from_a_lab_log(tmp_path, capsys):
    """Lab mode: the measured log of the plan so far (here the truth's voltages along a --truth
    plan's segments, written as a log) gives the same posterior as the simulated run that made it,
    and a next segment that is safe on the truth."""
    theta_true, truth = truth_cell()
    tpath = _write_cell(tmp_path / "truth.toml", dz.cell_dict(_read_dict(str(shipped_cell_path("ref_cell_1"))),
                                                               theta_true))
    plan = tmp_path / "plan.csv"
    assert main(["design", "--cell", str(shipped_cell_path("ref_cell_1")), "--truth", tpath, "--budget-s", "900",
                 "--seed", "4", "-o", str(plan), "--json"]) == 0
    sim = json.loads(capsys.readouterr().out)
    rows = np.atleast_1d(np.genfromtxt(plan, delimiter=",", names=True))
    profile = np.concatenate([dz.Candidate(float(r["current_a"]), float(r["duration_s"]), float(r["rest_s"])).profile()
                              for r in rows])
    meas, _ = dz.simulate_truth(truth, 0.9, profile, seed=4)
    log = tmp_path / "lab.csv"
    t = np.arange(len(profile), dtype=float)
    np.savetxt(log, np.column_stack([t, profile, meas, np.full(len(t), 25.0)]), delimiter=",",
               header="t_s,current_a,voltage_v,temperature_c", comments="", fmt="%.6f")
    nxt = tmp_path / "next.csv"
    assert main(["design", "--cell", str(shipped_cell_path("ref_cell_1")), "--update", str(log), "--budget-s", "900",
                 "-o", str(nxt), "--json"]) == 0
    lab = json.loads(capsys.readouterr().out)
    assert lab["segments"] == 1
    assert lab["trace"] == pytest.approx(sim["trace"], rel=1e-3)
    for n in dz.NAMES:
        assert lab["estimate"][n] == pytest.approx(sim["estimate"][n], rel=1e-4)
    # the proposed segment, run on the truth after the logged history, stays inside the limits
    r = np.atleast_1d(np.genfromtxt(nxt, delimiter=",", names=True))[0]
    seg = dz.Candidate(float(r["current_a"]), float(r["duration_s"]), float(r["rest_s"])).profile()
    v = Cell(truth, CellState(soc=0.9, temp_k=298.15)).simulate(np.concatenate((profile, seg)), 1.0)["cell_voltage_v"]
    assert truth.limits.voltage_min_v <= v.min() and v.max() <= truth.limits.voltage_max_v
    # a log that is not at 1 s rows is refused with a clear message
    np.savetxt(log, np.column_stack([2 * t, profile, meas, np.full(len(t), 25.0)]), delimiter=",",
               header="t_s,current_a,voltage_v,temperature_c", comments="", fmt="%.6f")
    assert main(["design", "--cell", str(shipped_cell_path("ref_cell_1")), "--update", str(log), "-o", str(nxt)]) == 2
    assert "needs 1 s rows" in capsys.readouterr().err
