"""safetwin fit: recovers a known cell from its own simulation with noise (ground truth), refuses bad
data naming what is wrong, and writes a cell file the rest of the stack loads."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from safetwin._core import Cell, CellState
from safetwin.calibration import cell_writer, report
from safetwin.calibration.fit import FitError, Problem, Structure, capacity_from_rests, fit, rest_ocv_points
from safetwin.calibration.logs import LogError, check
from safetwin.cellfile import load_cell, load_fit_section, parse_cell, shipped_cell_path
from safetwin.cli import main
from safetwin.commands.fit import _read_dict

SIGMA_V, SIGMA_I, BIAS_I = 0.002, 0.02, 0.01
OCV_NODES = 21  # a coarser OCV grid than the default 51 keeps the test's finite differences cheap
TRUTH = {"capacity_ah": 4.6, "r0": 0.030, "r1": 0.010, "tau1": 8.0, "r2": 0.018, "tau2": 150.0}


def prior():
    path = str(shipped_cell_path("ref_cell_1"))
    return load_cell(path), _read_dict(path)


def truth_dict():
    """A 2RC cell unlike the prior (REF-CELL-1: 5.15 Ah, R0 21 mOhm, tau 13 / 130 s) whose OCV lies on
    the fit's grid (REF-CELL-1's OCV there, so that the fit can represent it exactly)."""
    p, d = prior()
    grid = np.linspace(0.0, 1.0, OCV_NODES)
    return {"cell": {"name": "truth", "capacity_ah": TRUTH["capacity_ah"]},
            "ocv": {"soc": list(grid), "voltage_v": [p.ocv.voltage_v(s) for s in grid]},
            "resistance": {"r0_ohm": TRUTH["r0"], "arrhenius_k": 0.0,
                           "rc_pairs": [{"r_ohm": TRUTH["r1"], "tau_s": TRUTH["tau1"]},
                                        {"r_ohm": TRUTH["r2"], "tau_s": TRUTH["tau2"]}]},
            "thermal": d["thermal"], "limits": d["limits"]}


def hppc_current(capacity_ah: float, levels: int = 5) -> np.ndarray:
    """From SOC 0.99: per level a 10 s 2C pulse, rest, a 10 s 1C charge pulse, rest, then 19 % SOC at 1C
    and 5 min rest; the last level ends near SOC 0.04, so the log spans the OCV's range."""
    parts = [np.zeros(60)]
    for _ in range(levels):
        parts += [np.full(10, 10.0), np.zeros(40), np.full(10, -5.0), np.zeros(60),
                  np.full(int(0.19 * capacity_ah * 3600 / 5.0), 5.0), np.zeros(300)]
    return np.concatenate(parts)


def measured(cell, current, soc0, seed):
    rng = np.random.default_rng(seed)
    v = Cell(cell, CellState(soc=soc0, temp_k=298.15)).simulate(current, 1.0)["cell_voltage_v"][:, 0]
    n = len(current)
    return (np.arange(n, dtype=float), current + BIAS_I + rng.normal(0, SIGMA_I, n), v + rng.normal(0, SIGMA_V, n),
            np.full(n, 25.0))


def truth_hppc_problem():
    """The prior and the 2RC fit problem of the truth cell's HPPC log (seed 7)."""
    p, d = prior()
    truth = parse_cell(truth_dict(), "truth")[1]
    i = hppc_current(TRUTH["capacity_ah"])
    t, im, vm, tc = measured(truth, i, 0.99, seed=7)
    log = check("truth_hppc", t, im, vm, tc, p.capacity_ah, p.limits.voltage_max_v)
    q0 = capacity_from_rests([log], p)
    problem = Problem([log], Structure(2, False), p, d, soc_nodes=1, ocv_points=rest_ocv_points([log], p, capacity_ah=q0),
                      ocv_nodes=OCV_NODES, capacity_ah=q0)
    return p, problem


def test_fit_recovers_a_known_cell_within_its_intervals():
    p, problem = truth_hppc_problem()
    res = fit(problem)
    # a model that can represent the truth: the residual is the noise, the voltage's and the current
    # sensor's through R0 (errors in the input): sqrt(sigma_v^2 + (R0 sigma_i)^2) = 2.088 mV
    assert res.residual_rms_v["truth_hppc"] == pytest.approx(math.hypot(SIGMA_V, TRUTH["r0"] * SIGMA_I), rel=0.03)
    sig = res.sigma
    z = {}
    for name, true in (("capacity_ah", TRUTH["capacity_ah"]), ("r0[0.50]", TRUTH["r0"]), ("r1[0.50]", TRUTH["r1"]),
                       ("tau1[0.50]", TRUTH["tau1"]), ("r2[0.50]", TRUTH["r2"]), ("tau2[0.50]", TRUTH["tau2"])):
        k = res.names.index(name)
        z[name] = (res.x[k] - math.log(true)) / sig[k]
        assert sig[k] < 0.1, f"{name}: relative sigma {sig[k]:.3f} (the data identify it)"
    assert max(abs(v) for v in z.values()) < 3.5, z
    # The OCV nodes the data identify: within their 95 % interval at the nominal rate; the
    # allowance is the binomial's 99.9 % quantile of misses for that many nodes.
    seen = [k for k, n in enumerate(res.names) if n.startswith("ocv[") and n not in res.unidentifiable]
    assert len(seen) >= 15
    miss = sum(abs(res.x[k] - p.ocv.voltage_v(float(res.names[k][4:-1]))) > 1.96 * sig[k] for k in seen)
    assert miss <= stats.binom.ppf(0.999, len(seen), 0.05)
    # the node below the lowest SOC the log reaches (0.04) is set by the smoothness prior, and flagged
    assert "ocv[0.050]" not in res.unidentifiable or res.data_share[res.names.index("ocv[0.050]")] < 1
    assert "r0[0.50]" not in res.unidentifiable
    assert res.at_bound == {}  # the truth lies inside every bound of the box


def test_a_parameter_held_on_its_bound_is_named_with_the_side():
    """The same log, with R0's box cut at 25 mOhm under the true 30: the optimiser leaves R0 on that
    upper bound (the data pull it further), and the fit names it as set by the bound, not the data."""
    p, problem = truth_hppc_problem()
    r0 = next(q for q in problem.params if q.name == "r0[0.50]")
    assert r0.log and r0.lo < r0.x0 < math.log(0.025)  # the prior's 21 mOhm start stays inside the cut box
    r0.hi = math.log(0.025)
    res = fit(problem)
    assert res.at_bound == {"r0[0.50]": "upper"}
    assert math.exp(res.x[res.names.index("r0[0.50]")]) == pytest.approx(0.025, rel=1e-5)
    s = report.summary(res, problem)
    assert s["at_bound"] == {"r0[0.50]": "upper"}
    assert [q["at_bound"] for q in s["parameters"] if q["name"] == "r0[0.50]"] == ["upper"]
    assert all(q["at_bound"] is None for q in s["parameters"] if q["name"] != "r0[0.50]")


def test_fit_refuses_a_log_that_does_not_excite_the_rc_pairs():
    p, d = prior()
    truth = parse_cell(truth_dict(), "truth")[1]
    i = np.full(1200, 2.0)  # one constant current: no transient, no time constant to see
    t, im, vm, tc = measured(truth, i, 0.8, seed=3)
    log = check("cc_only", t, im, vm, tc, p.capacity_ah, p.limits.voltage_max_v)
    problem = Problem([log], Structure(2, False), p, d, soc_nodes=1)
    with pytest.raises(FitError, match=r"too little excitation for --structure 2rc: the logs cannot identify .*r1"):
        fit(problem)


@pytest.mark.parametrize("edit, message", [
    (lambda t, i, v: (np.delete(t, range(100, 130)), np.delete(i, range(100, 130)), np.delete(v, range(100, 130))),
     r"a gap of 31 s after data row 100"),
    (lambda t, i, v: (np.where(np.arange(len(t)) == 200, t - 0.5, t), i, v), r"time step at data row 201 is 0.5 s"),
    (lambda t, i, v: (t, np.where(np.arange(len(t)) == 50, np.nan, i), v), r"current_a is missing in data row 51"),
    (lambda t, i, v: (t, i, np.where((np.arange(len(t)) >= 300) & (np.arange(len(t)) < 330), 4.3, v)),
     r"voltage_v reads 4.3 V on 10\+ rows from data row 301 .* saturated voltage sensor"),
    (lambda t, i, v: (np.where(np.arange(len(t)) == 10, 3.0, t), i, v), r"t_s must increase strictly; data row 11"),
])
def test_bad_logs_are_refused_naming_row_and_value(edit, message):
    p, _ = prior()
    i = np.concatenate((np.zeros(60), np.full(400, 5.0), np.zeros(100)))
    t, im, vm, tc = measured(p, i, 0.9, seed=1)
    t2, i2, v2 = edit(t, im, vm)
    with pytest.raises(LogError, match=message):
        check("bad.csv", t2, i2, v2, np.full(len(t2), 25.0), p.capacity_ah, p.limits.voltage_max_v)


def test_cli_fit_writes_a_loadable_cell_with_its_covariance(tmp_path, capsys):
    p, _ = prior()
    truth = parse_cell(truth_dict(), "truth")[1]
    t, im, vm, tc = measured(truth, hppc_current(TRUTH["capacity_ah"]), 0.99, seed=11)
    log = tmp_path / "hppc.csv"
    np.savetxt(log, np.column_stack([t, im, vm, tc]), delimiter=",", comments="",
               header="t_s,current_a,voltage_v,temperature_c", fmt="%.6f")
    out = tmp_path / "cell.toml"
    assert main(["fit", str(log), "--structure", "2rc", "--soc-nodes", "1", "--ocv-nodes", "21", "-o", str(out),
                 "--report", str(tmp_path / "rep"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    cell = load_cell(out)
    sec = load_fit_section(out)
    assert cell.rc_pairs == 2
    assert cell.r0_ohm.at(0.5, 298.15) == pytest.approx(s["parameters"][s["parameters"].index(
        next(q for q in s["parameters"] if q["name"] == "r0[0.50]"))]["value"], rel=1e-12)
    n = len(sec["parameters"])
    cov = np.array(sec["covariance"])
    assert cov.shape == (n, n) and np.allclose(cov, cov.T) and np.all(np.linalg.eigvalsh(cov) > 0)
    assert (tmp_path / "rep" / "residuals_hppc.png").stat().st_size > 1000
    assert (tmp_path / "rep" / "correlation.png").stat().st_size > 1000
    # the written cell reproduces the fit's model: its residual is the noise
    v = Cell(cell, CellState(soc=s["parameters"][[q["name"] for q in s["parameters"]].index("soc0[0]")]["value"],
                             temp_k=298.15)).simulate(im - s["parameters"][[q["name"] for q in s["parameters"]]
                                                                         .index("bias_a[0]")]["value"], 1.0)
    assert float(np.sqrt(np.mean((v["cell_voltage_v"][:, 0] - vm) ** 2))) == pytest.approx(
        math.hypot(SIGMA_V, TRUTH["r0"] * SIGMA_I), rel=0.05)


def test_cli_fit_bad_structure_is_one_line(capsys, tmp_path):
    assert main(["fit", str(tmp_path / "x.csv"), "--structure", "4rc"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--structure = '4rc'" in err


def test_cell_writer_round_trips_a_cell_file(tmp_path):
    d = truth_dict()
    path = tmp_path / "c.toml"
    path.write_text(cell_writer.to_toml(d, "header"), encoding="utf-8")
    a, b = load_cell(path), parse_cell(d, "d")[1]
    for s in (0.1, 0.5, 0.9):
        assert a.ocv.voltage_v(s) == b.ocv.voltage_v(s)
    assert a.r2_ohm.at(0.5, 298.15) == TRUTH["r2"] and a.capacity_ah == TRUTH["capacity_ah"]


K_R, K_TAU, R0_CHARGE = 3000.0, 1500.0, 0.040  # the truth's Arrhenius constants (K) and charge-side R0


def arrhenius_truth(temps_c: np.ndarray, t_ref_c: float) -> dict:
    """truth_dict with R0 (a charge-side R0_CHARGE), the RC pairs' R and tau over temperature:
    value x exp(k (1/T - 1/T_ref)) on the fit's temperature nodes, so the fit can represent it."""
    d = truth_dict()
    f = lambda k: np.exp(k * (1.0 / (temps_c + 273.15) - 1.0 / (t_ref_c + 273.15)))  # noqa: E731
    table = lambda v, k: {"soc": [0.0, 1.0], "temperature_c": list(temps_c),  # noqa: E731
                          "values": [list(v * f(k)), list(v * f(k))]}
    d["resistance"] = {"r0_ohm": table(TRUTH["r0"], K_R), "r0_charge_ohm": table(R0_CHARGE, K_R), "arrhenius_k": 0.0,
                       "rc_pairs": [{"r_ohm": table(TRUTH[f"r{i}"], K_R), "tau_s": table(TRUTH[f"tau{i}"], K_TAU)}
                                    for i in (1, 2)]}
    return d


def test_fit_recovers_arrhenius_constants_and_a_charge_side_r0_from_logs_at_three_temperatures():
    """Logs at 10, 25 and 40 degC (each simulated at its own temperature and ambient) of a truth
    with Arrhenius resistances and time constants and a charge-side R0: the fit with --charge-r0
    finds k_r, k_tau, R0 and R0 (charge) within its intervals, and its residual is the noise."""
    p, d = prior()
    temps = np.array([10.0, 25.0, 40.0])
    nodes = np.arange(5.0, 45.0 + 1e-9, 5.0)  # the fit's nodes: 5 K apart, one step beyond the logs
    truth = parse_cell(arrhenius_truth(nodes, 25.0), "truth")[1]
    logs = []
    for k, tc in enumerate(temps):
        truth.ambient_temp_k = tc + 273.15
        i = hppc_current(TRUTH["capacity_ah"], levels=3)
        rng = np.random.default_rng(40 + k)
        v = Cell(truth, CellState(soc=0.99, temp_k=tc + 273.15)).simulate(i, 1.0)["cell_voltage_v"][:, 0]
        n = len(i)
        logs.append(check(f"t{tc:.0f}", np.arange(n, dtype=float), i + BIAS_I + rng.normal(0, SIGMA_I, n),
                          v + rng.normal(0, SIGMA_V, n), np.full(n, tc), p.capacity_ah, p.limits.voltage_max_v))
    q0 = capacity_from_rests(logs, p)
    problem = Problem(logs, Structure(2, False), p, d, soc_nodes=1, ocv_nodes=OCV_NODES, capacity_ah=q0,
                      ocv_points=rest_ocv_points(logs, p, capacity_ah=q0), charge_r0=True)
    assert problem.thermal and list(problem.table_temp_c) == list(nodes)
    res = fit(problem)
    for lg in logs:  # the noise, as in the one-temperature test (R0 at 10 degC is the largest)
        assert res.residual_rms_v[lg.path] < 1.05 * math.hypot(SIGMA_V, 0.06 * SIGMA_I)
    sig = res.sigma
    for name, true, log in (("k_r", K_R, False), ("k_tau", K_TAU, False), ("r0[0.50]", TRUTH["r0"], True),
                            ("r0c[0.50]", R0_CHARGE, True), ("tau2[0.50]", TRUTH["tau2"], True)):
        k = res.names.index(name)
        z = (res.x[k] - (math.log(true) if log else true)) / sig[k]
        assert abs(z) < 3.5, (name, res.x[k], sig[k])
    assert sig[res.names.index("k_r")] < 300.0  # K: the three temperatures identify it (10 % of K_R)
    # the written cell holds the temperature dependence: R0 at 10 degC over R0 at 40 degC
    cell = res.cell
    ratio = cell.r0_ohm.at(0.5, 283.15) / cell.r0_ohm.at(0.5, 313.15)
    assert ratio == pytest.approx(math.exp(K_R * (1 / 283.15 - 1 / 313.15)), rel=0.05)


def test_cli_fit_bad_pulse_weight_is_one_line(capsys, tmp_path):
    assert main(["fit", str(tmp_path / "x.csv"), "--pulse-weight", "0.5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--pulse-weight = 0.5" in err and "1" in err and "1000" in err


def test_pulse_weight_scales_exactly_the_pulse_rows():
    """--pulse-weight W: a pulse row's residual counts sqrt(W) times (W in the sum of squares), every
    other row as before."""
    from safetwin.calibration.logs import SEGMENT_KINDS
    p, d = prior()
    truth = parse_cell(truth_dict(), "truth")[1]
    t, im, vm, tc = measured(truth, hppc_current(TRUTH["capacity_ah"], levels=1), 0.99, seed=2)
    log = check("w", t, im, vm, tc, p.capacity_ah, p.limits.voltage_max_v)
    plain = Problem([log], Structure(2, False), p, d, soc_nodes=1, ocv_nodes=OCV_NODES)
    heavy = Problem([log], Structure(2, False), p, d, soc_nodes=1, ocv_nodes=OCV_NODES, pulse_weight=9.0)
    a, b = plain.data_residual(plain.x0), heavy.data_residual(heavy.x0)
    pulse = log.segments == SEGMENT_KINDS.index("pulse")
    assert pulse.sum() == 10  # the 10 s discharge pulse (the charge pulse at SOC 0.99 reaches 4.19 V: labelled CV)
    assert np.allclose(b[pulse], 3.0 * a[pulse], rtol=1e-12) and np.array_equal(b[~pulse], a[~pulse])
    with pytest.raises(FitError, match="--pulse-weight = 0.5: must be in 1..1000"):
        Problem([log], Structure(2, False), p, d, soc_nodes=1, ocv_nodes=OCV_NODES, pulse_weight=0.5)


def test_ocv_nodes_are_bounded_by_the_cut_offs_and_ocv_fixed_keeps_the_priors():
    """The fitted OCV lies between the cut-off voltages (SOC 0 and 1 are defined there); with
    --ocv-fixed it is the prior's, not fitted, and the rest of the fit still runs on it."""
    p, d = prior()
    truth = parse_cell(truth_dict(), "truth")[1]
    t, im, vm, tc = measured(truth, hppc_current(TRUTH["capacity_ah"], levels=2), 0.99, seed=11)
    log = check("ocv_fixed", t, im, vm, tc, p.capacity_ah, p.limits.voltage_max_v)
    free = Problem([log], Structure(1, False), p, d, soc_nodes=1, ocv_nodes=OCV_NODES)
    ocv = [q for q in free.params if q.group == "ocv"]
    assert len(ocv) == OCV_NODES - 2
    assert all((q.lo, q.hi) == (p.limits.voltage_min_v, p.limits.voltage_max_v) for q in ocv)
    fixed = Problem([log], Structure(1, False), p, d, soc_nodes=1, ocv_nodes=OCV_NODES, ocv_fixed=True)
    assert not any(q.group == "ocv" for q in fixed.params)
    assert len(fixed.params) == len(free.params) - (OCV_NODES - 2)
    written = fixed.cell_dict(fixed.x0)["ocv"]
    assert written["voltage_v"] == [p.ocv.voltage_v(s) for s in written["soc"]]


def test_fit_recovers_a_butler_volmer_exchange_current_that_a_linear_r0_cannot_represent():
    """A truth with a charge transfer (I0 1.5 A: its chord RT/(F I0) is 17 mOhm at rest, 9.3 mOhm at
    2C) and a 10 mOhm ohmic R0: the HPPC's 2C and 1C pulses see different resistances. With
    --charge-transfer the fit's residual is the noise and I0 lies within its interval; the linear R0
    alone leaves a larger residual (the nonlinearity it cannot represent)."""
    p, d = prior()
    td = truth_dict()
    td["resistance"]["r0_ohm"] = 0.010
    td["resistance"]["exchange_current_a"] = 1.5
    truth = parse_cell(td, "truth")[1]
    i = hppc_current(TRUTH["capacity_ah"], levels=4)
    t, im, vm, tc = measured(truth, i, 0.99, seed=11)
    log = check("truth_bv", t, im, vm, tc, p.capacity_ah, p.limits.voltage_max_v)
    q0 = capacity_from_rests([log], p)
    rms = {}
    for transfer in (True, False):
        problem = Problem([log], Structure(2, False), p, d, soc_nodes=1,
                          ocv_points=rest_ocv_points([log], p, capacity_ah=q0), ocv_nodes=OCV_NODES, capacity_ah=q0,
                          charge_transfer=transfer)
        res = fit(problem)
        rms[transfer] = res.residual_rms_v["truth_bv"]
        if transfer:
            k = res.names.index("i0[0.50]")
            assert res.sigma[k] < 0.2  # relative: the pulses identify it
            assert abs(res.x[k] - math.log(1.5)) < 3.5 * res.sigma[k], (math.exp(res.x[k]), res.sigma[k])
            assert res.cell.exchange_current_a.at(0.5, 298.15) == pytest.approx(math.exp(res.x[k]))
            assert "i0[0.50]" not in res.unidentifiable
    # the noise floor (the current sensor's noise through the series resistance at ~2C adds little)
    assert rms[True] == pytest.approx(math.hypot(SIGMA_V, 0.02 * SIGMA_I), rel=0.05)
    assert rms[False] > 1.15 * rms[True], rms
