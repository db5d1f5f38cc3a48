"""A campaign of simulated pack runs with known injected faults, for the fault isolation's
confusion table (``benchmarks/bench_fault_isolation.py``, ``tests/test_fault_isolation.py``).

Each run is one call of the core's closed-loop runner (``safetwin.loop``): a 4s1p pack of
REF-CELL-1 cells with cell-to-cell spread (capacity 3 %, R0 10 %, drawn per run) under the
guarded cycle, a load of US06 drive cycles separated by rests (``safetwin.drive_cycles``; the rests
are what lets the charge balance tell a leak from a capacity mismatch), sensor noise on both
voltage nodes, the temperature and the current, and a current-sensor bias the detectors do not
know. One fault (or none) is drawn per run with its size, its cell or group and its onset:

- internal_short: leak resistance 20..100 Ohm (log-uniform) on one cell;
- connection_resistance: +5..20 mOhm in one cell's branch;
- sensor: one node of one group, offset +-(10..30) mV, stuck at its reading, drift
  +-(5..15) uV/s, or noise x5..10;
- cooling_loss: one cell's heat-transfer factor 0..0.3.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from safetwin import battery, drive_cycles, loop
from safetwin._core import PackCycleConfig
from safetwin.diagnostics.isolation import FAULT_CLASSES

SERIES = 4
DURATION_S = 3600.0
DT_S = 1.0
ONSET_S = (900.0, 1500.0)
NOISE = (0.002, 0.002, 0.2, 0.02)   # V node a, V node b, K, A (standard deviations)
CURRENT_BIAS_A = 0.03               # uniform +-, unknown to the detectors


def load_profile(rng: np.random.Generator, n: int) -> np.ndarray:
    """US06 segments (scaled 2..3: an aggressive drive, up to 19 A on the 5 Ah cell, so that the
    cells warm and the heat balance says something) separated by rests of 200..500 s, from a rest."""
    us06 = drive_cycles.cell_current("us06", dt_s=DT_S)
    out = [np.zeros(int(rng.uniform(100, 300)))]
    while sum(len(p) for p in out) < n:
        out.append(us06 * rng.uniform(2.0, 3.0))
        out.append(np.zeros(int(rng.uniform(200, 500))))
    return np.concatenate(out)[:n]


def draw_fault(rng: np.random.Generator, kind: str) -> dict:
    onset = float(rng.uniform(*ONSET_S))
    target = int(rng.integers(SERIES))
    if kind == "nominal":
        return {"class": kind, "group": None, "onset_s": None, "faults": [], "size": None}
    if kind == "internal_short":
        r = float(math.exp(rng.uniform(math.log(20.0), math.log(100.0))))
        f = [loop.fault("internal_short", onset, target=target, value=1.0 / r)]
        size = {"leak_resistance_ohm": r}
    elif kind == "connection_resistance":
        r = float(rng.uniform(0.005, 0.020))
        f = [loop.fault("connection_resistance", onset, target=target, value=r)]
        size = {"resistance_step_ohm": r}
    elif kind == "sensor":
        sub = str(rng.choice(["offset", "stuck", "drift", "noise"]))
        node = int(rng.integers(2))
        sign = float(rng.choice([-1.0, 1.0]))
        value = {"offset": sign * rng.uniform(0.010, 0.030), "stuck": math.nan,
                 "drift": sign * rng.uniform(5e-6, 15e-6), "noise": rng.uniform(5.0, 10.0)}[sub]
        f = [loop.fault(f"voltage_{sub}", onset, target=target, node=node, value=float(value))]
        size = {"kind": sub, "node": "ab"[node], "value": float(value)}
    elif kind == "cooling_loss":
        factor = float(rng.uniform(0.0, 0.3))
        f = [loop.fault("cooling_loss", onset, target=target, value=factor)]
        size = {"heat_transfer_factor": factor}
    else:
        raise ValueError(f"fault class {kind!r}: must be one of {', '.join(FAULT_CLASSES)}")
    return {"class": kind, "group": target, "onset_s": onset, "faults": f, "size": size}


def simulate(seed: int, kind: str) -> dict:
    """One run: the pack log the isolation reads and the truth (class, group, onset, size)."""
    rng = np.random.default_rng([seed, FAULT_CLASSES.index(kind)])
    n = int(DURATION_S / DT_S)
    truth = draw_fault(rng, kind)
    cell = battery.CellParams.ref_cell_1()
    soc0 = float(rng.uniform(0.6, 0.9))
    pc = PackCycleConfig(SERIES, 1)
    c = pc.cell
    est = c.estimator
    est.soc0 = soc0
    c.estimator = est
    pc.cell = c
    plant = battery.PackConfig(SERIES, 1, cell, battery.SpreadConfig(0.03, 0.10, int(rng.integers(2**31))),
                               battery.CellState(soc=soc0))
    bias = float(rng.uniform(-CURRENT_BIAS_A, CURRENT_BIAS_A))
    spec = loop.make_spec(duration_s=DURATION_S, dt_s=DT_S, cycle=pc, plant=plant,
                          law=loop.profile(load_profile(rng, n)), noise=loop.SensorNoise(*NOISE),
                          seed=int(rng.integers(2**62)), faults=truth["faults"],
                          injection_current_a=np.full(n, bias), trace="full")
    tr = loop.run(spec).trace
    log = {"t_s": np.arange(n) * DT_S, "current_a": tr["measured_current_a"], "voltage_a_v": tr["voltage_a_v"],
           "voltage_b_v": tr["voltage_b_v"], "temperature_k": tr["temperature_k"], "parallel": 1,
           "ambient_k": cell.ambient_temp_k}
    truth.pop("faults")
    return {"log": log, "truth": truth, "seed": seed}


def run_campaign(seeds, classes=FAULT_CLASSES, workers: int = 2, fn=None) -> list:
    """``fn(run)`` over the runs of every (seed, class), in a thread pool (the C++ calls release the
    GIL). Returns the results in order (seed-major)."""
    jobs = [(s, k) for s in seeds for k in classes]

    def one(job):
        r = simulate(*job)
        return fn(r) if fn is not None else r

    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        return list(pool.map(one, jobs))


def confusion(truth: list, predicted: list, classes=FAULT_CLASSES) -> np.ndarray:
    """Counts: row = the injected class, column = the isolated one."""
    m = np.zeros((len(classes), len(classes)), dtype=int)
    for a, b in zip(truth, predicted):
        m[classes.index(a), classes.index(b)] += 1
    return m


def format_confusion(m: np.ndarray, classes=FAULT_CLASSES) -> str:
    w = max(len(c) for c in classes) + 2
    head = "injected \\ isolated".ljust(w + 4) + "".join(c[:12].rjust(14) for c in classes)
    rows = [head]
    for i, c in enumerate(classes):
        rows.append(c.ljust(w + 4) + "".join(str(v).rjust(14) for v in m[i]))
    return "\n".join(rows)


def _truth_value(truth: dict, log: dict):
    """The injected size in the unit of the isolation's estimate (None where there is none)."""
    size, k = truth["size"], truth["class"]
    if k == "internal_short":
        v = float(np.mean(log["voltage_a_v"][:, truth["group"]]))
        return "leak_current_a", v / size["leak_resistance_ohm"]
    if k == "connection_resistance":
        return "resistance_step_ohm", size["resistance_step_ohm"]
    if k == "cooling_loss":
        return "heat_transfer_factor", size["heat_transfer_factor"]
    return None, None


# The size intervals calibrated on faulty runs (``size_interval_calibration``): the estimator's
# error against the injected size, relative for the leak (its currents span 37..190 mA), absolute
# for the heat-transfer factor (whose truth reaches 0).
SIZE_ERROR = {"internal_short": "relative", "cooling_loss": "absolute"}


def size_interval_calibration(seeds, thresholds: dict, workers: int = 2, level: float = 0.95) -> dict:
    """The 95 % intervals of the leak-current and heat-transfer estimates from runs with the fault
    injected (seeds other than the evaluation's): per class, the split-conformal order statistics
    of the error (``SIZE_ERROR``) over the runs where its detector fired at the faulty group, as entries
    ``<kind>:error_lo`` / ``<kind>:error_hi`` to merge into the thresholds. The runs are independent
    draws of the campaign's fault distribution, so the intervals hold for faults drawn like them."""
    from safetwin.diagnostics.ageing_intervals import _conformal_ranks
    from safetwin.diagnostics.isolation import isolate

    def one(r):
        k = r["truth"]["class"]
        f = isolate(r["log"], thresholds)["faults"][k]
        if not f["detected"] or f["group"] != r["truth"]["group"]:
            return None
        key, truth = _truth_value(r["truth"], r["log"])
        est = f["estimate"][key]
        return est / truth - 1.0 if SIZE_ERROR[k] == "relative" else est - truth

    out = {}
    for kind in SIZE_ERROR:
        errors = [e for e in run_campaign(seeds, (kind,), workers, fn=one) if e is not None]
        lo, hi = _conformal_ranks(np.asarray(errors), level)
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ValueError(f"size intervals: {len(errors)} detected {kind} runs are too few for a "
                             f"{level:g} interval (needs >= {int(np.ceil(2 / (1 - level))) - 1})")
        out[f"{kind}:error_lo"], out[f"{kind}:error_hi"] = lo, hi
        out[f"{kind}:error_runs"] = len(errors)
    return out


def evaluate(calibration_seeds, evaluation_seeds, alpha_per_run: float, workers: int = 2, progress=None,
             interval_seeds=None) -> dict:
    """The confusion table of the isolation: thresholds from nominal runs of calibration_seeds at
    alpha_per_run per detector, then every class on evaluation_seeds (other seeds). Returns the
    thresholds, the confusion counts (rows injected, columns isolated), how often the isolated
    group is the injected one among correct classes, the detection delays per class (s after the
    onset) and, per class with a size, how often the 95 % interval of the estimate holds the truth.
    ``interval_seeds`` (other seeds again): the leak and cooling size intervals are calibrated on
    faulty runs of those (``size_interval_calibration``), else widened by the nominal spread only."""
    from safetwin.diagnostics.isolation import calibrate_thresholds, isolate, run_maxima, run_statistics

    nominal = run_campaign(calibration_seeds, ("nominal",), workers,
                           fn=lambda r: run_maxima(run_statistics(r["log"])))
    thresholds = calibrate_thresholds(nominal, alpha_per_run)
    if interval_seeds is not None:
        thresholds.update(size_interval_calibration(interval_seeds, thresholds, workers))
    results = run_campaign(evaluation_seeds, FAULT_CLASSES, workers,
                           fn=lambda r: {"truth": r["truth"], "verdict": isolate(r["log"], thresholds),
                                         "size": _truth_value(r["truth"], r["log"])})
    truth = [r["truth"]["class"] for r in results]
    pred = [r["verdict"]["fault"] for r in results]
    m = confusion(truth, pred)
    located = [r["verdict"]["group"] == r["truth"]["group"] for r in results
               if r["truth"]["class"] != "nominal" and r["verdict"]["fault"] == r["truth"]["class"]]
    delays, cover = {}, {}
    for r in results:
        k = r["truth"]["class"]
        if k == "nominal" or r["verdict"]["fault"] != k:
            continue
        f = r["verdict"]["faults"][k]
        delays.setdefault(k, []).append(f["time_s"] - r["truth"]["onset_s"])
        key, value = r["size"]
        if key is not None and f["ci95"] is not None:
            lo, hi = f["ci95"]
            cover.setdefault(k, []).append(bool(lo <= value <= hi))
    return {"thresholds": thresholds, "confusion": m, "located": float(np.mean(located)) if located else float("nan"),
            "delays_s": delays, "ci95_coverage": {k: float(np.mean(v)) for k, v in cover.items()},
            "ci95_cases": {k: len(v) for k, v in cover.items()}, "results": results}


def ageing_interval_coverage(seeds, table: dict | None = None, workers: int = 2) -> dict:
    """How often the 95 % intervals of ``safetwin diagnose``'s ageing estimates (the EKF's joint
    capacity and R0 factors at the end of the log) hold the truth, over nominal hours of cells aged
    within spec (``calibration.nominal_log``: capacity 85-100 %, resistance 100-130 %, with spread
    and sensor noise): the EKF's own +-1.96 sigma ("ekf") and, given the table of a calibration
    file (``ageing_intervals``; use seeds it was not made from), the calibrated one ("calibrated").
    Returns per estimate and method the coverage with its Clopper-Pearson interval."""
    from safetwin.diagnostics import ageing_intervals
    from safetwin.diagnostics import calibration as cal
    from safetwin.diagnostics.synthetic import binomial_interval

    _, samples = cal.nominal_runs(seeds, workers=workers)
    out = {}
    for kind in ageing_intervals.KINDS:
        rows = np.asarray(samples[kind], dtype=float)
        v, s, truth = rows.T
        hits = {"ekf": np.abs(v - truth) <= 1.959963984540054 * s}
        if table is not None:
            lo, hi = ageing_intervals.intervals(table, kind, v, s)
            hits["calibrated"] = (lo <= truth) & (truth <= hi)
        n = len(rows)
        out[kind] = {m: {"coverage": float(h.mean()), "ci95": binomial_interval(int(h.sum()), n), "runs": n}
                     for m, h in hits.items()}
    return out
