"""95 % intervals of the ageing-drift estimates (capacity and R0 factors) calibrated on nominal runs.

Why the EKF's own intervals (estimate +- 1.96 posterior sigma) cover too little: over nominal
hours of cells aged within spec (``calibration.nominal_log``) the pivot z = (estimate - truth) /
sigma is not N(0, 1). Measured on 400 hours (seeds 0..399): for the capacity factor mean +1.00,
standard deviation 0.85; for the R0 factor mean -0.72, standard deviation 1.27 (in drive cycles
1.99). The intervals are off-centre more than too narrow: the prior is the new cell's (1.0) while
the population is aged, and the twin's structural error (RC pairs off by up to 20 %, an OCV
deviation) pulls the estimates the way the excitation leads them. A variance correction for the
residuals' autocorrelation cannot fix an off-centre pivot, and would mostly narrow the intervals:
the EKF already inflates its voltage noise for time-correlated model error
(voltage_model_correlation_s), so the long-run variance (Bartlett, 300 lags) of its whitened
voltage innovations is under 1 in most hours (median 0.30 over 20 nominal hours, largest 2.9).
And the error grows where the log was informative: the runs whose sigma shrank most have the
widest pivot spread.

So the interval is calibrated the way the anomaly threshold is: on simulated nominal runs of the
twin's own generative model. Per estimate, the runs are split by how far the log moved the EKF's
sigma from its prior (``SHRINK_EDGES`` on sigma / sigma0: informative, partly, prior-held) and in
each bin the pivot's 2.5 % and 97.5 % order statistics (split-conformal ranks) make the
interval [estimate - q_hi sigma, estimate - q_lo sigma]. The runs are independent draws, so the
conformal guarantee holds over runs (coverage >= 95 % marginally in each bin); the residuals
within a run need not be exchangeable. It holds for logs like the calibration's (one hour, the
nominal mix of load profiles and ambient, REF-CELL-1); ``safetwin diagnose`` says which method made
its intervals.
"""
from __future__ import annotations

import math

import numpy as np

KINDS = ("capacity_factor", "r0_factor")
SHRINK_EDGES = (0.9, 0.97)   # sigma / sigma0: < 0.9 informative, 0.9..0.97 partly, >= 0.97 the prior holds
LEVEL = 0.95
MIN_RUNS_PER_BIN = 40        # 2.5 % tails need at least one run beyond each rank


def pivot(value: float, sigma: float, truth: float) -> float:
    return (value - truth) / sigma


def shrink_bin(sigma: float, sigma0: float) -> int:
    return int(np.searchsorted(SHRINK_EDGES, sigma / sigma0, side="right"))


def _conformal_ranks(z: np.ndarray, level: float) -> tuple:
    """The lower and upper split-conformal order statistics of z for a two-sided level."""
    z = np.sort(np.asarray(z, dtype=float))
    n = z.size
    a = (1.0 - level) / 2.0
    lo_rank = int(math.floor(a * (n + 1)))          # 1-based; 0 means -inf
    hi_rank = int(math.ceil((1.0 - a) * (n + 1)))   # n + 1 means +inf
    lo = float(z[lo_rank - 1]) if lo_rank >= 1 else -math.inf
    hi = float(z[hi_rank - 1]) if hi_rank <= n else math.inf
    return lo, hi


def calibrate(samples: dict, sigma0: dict, level: float = LEVEL) -> dict:
    """The interval table from nominal runs. ``samples[kind]``: a list of (value, sigma, truth) per
    run; ``sigma0[kind]``: the EKF's prior sigma. Raises ValueError naming a bin with too few runs."""
    table = {"level": level, "shrink_edges": list(SHRINK_EDGES), "method": "split-conformal pivot per shrink bin"}
    for kind in KINDS:
        rows = np.asarray(samples[kind], dtype=float)
        z = (rows[:, 0] - rows[:, 2]) / rows[:, 1]
        bins = np.array([shrink_bin(s, sigma0[kind]) for s in rows[:, 1]])
        q_lo, q_hi, counts = [], [], []
        for b in range(len(SHRINK_EDGES) + 1):
            zb = z[bins == b]
            if zb.size < MIN_RUNS_PER_BIN:
                raise ValueError(f"ageing intervals: {kind} bin {b} (sigma / sigma0 in "
                                 f"{_bin_range(b)}) has {zb.size} nominal runs, needs >= {MIN_RUNS_PER_BIN}")
            lo, hi = _conformal_ranks(zb, level)
            q_lo.append(lo)
            q_hi.append(hi)
            counts.append(int(zb.size))
        table[kind] = {"sigma0": float(sigma0[kind]), "q_lo": q_lo, "q_hi": q_hi, "runs": counts}
    return table


def _bin_range(b: int) -> str:
    edges = (0.0, *SHRINK_EDGES, math.inf)
    return f"[{edges[b]:g}, {edges[b + 1]:g})"


def interval(table: dict, kind: str, value: float, sigma: float) -> list:
    """The calibrated 95 % interval of one estimate (``table`` from ``calibrate``)."""
    lo, hi = intervals(table, kind, np.array([value]), np.array([sigma]))
    return [float(lo[0]), float(hi[0])]


def intervals(table: dict, kind: str, values: np.ndarray, sigmas: np.ndarray) -> tuple:
    """Vectorised ``interval``: the lower and upper ends for arrays of estimates and sigmas."""
    t = table[kind]
    b = np.searchsorted(SHRINK_EDGES, np.asarray(sigmas) / t["sigma0"], side="right")
    q_lo, q_hi = np.asarray(t["q_lo"])[b], np.asarray(t["q_hi"])[b]
    return values - q_hi * sigmas, values - q_lo * sigmas


def validate(table: dict, where: str) -> None:
    """Raises ValueError naming what is wrong in a table read from a calibration file."""
    if list(table.get("shrink_edges", [])) != list(SHRINK_EDGES):
        raise ValueError(f"{where}: ageing_intervals.shrink_edges = {table.get('shrink_edges')!r}: expected "
                         f"{list(SHRINK_EDGES)}")
    for kind in KINDS:
        t = table.get(kind)
        if not isinstance(t, dict):
            raise ValueError(f"{where}: ageing_intervals.{kind} missing")
        for key in ("q_lo", "q_hi"):
            q = t.get(key)
            if not (isinstance(q, list) and len(q) == len(SHRINK_EDGES) + 1
                    and all(isinstance(v, (int, float)) and math.isfinite(v) for v in q)):
                raise ValueError(f"{where}: ageing_intervals.{kind}.{key} = {q!r}: "
                                 f"{len(SHRINK_EDGES) + 1} finite numbers needed")
        if any(lo >= hi for lo, hi in zip(t["q_lo"], t["q_hi"])):
            raise ValueError(f"{where}: ageing_intervals.{kind}: q_lo must lie below q_hi in every bin")
        s0 = t.get("sigma0")
        if not (isinstance(s0, (int, float)) and math.isfinite(s0) and s0 > 0):
            raise ValueError(f"{where}: ageing_intervals.{kind}.sigma0 = {s0!r}: must be a finite number > 0")
