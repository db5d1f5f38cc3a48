"""Measured logs for the fit: reading, the checks that refuse bad data, and segment labels.

A log has the `safetwin estimate` columns (t_s, current_a, voltage_v, temperature_c; current > 0
discharges). The fit simulates every log with the core's fixed-step simulate, so a log must be
sampled uniformly; what the checks refuse, with the row and the value:
- time that does not increase strictly (read by ``commands.estimate.read_log``, which refuses it),
- a gap: a step longer than GAP_FACTOR x the median step, and a non-uniform time step,
- a missing current (the simulate needs the input on every row; a missing voltage is only skipped),
- a saturated voltage sensor: SATURATION_ROWS identical readings at the log's extreme under a
  current that is not a constant-voltage hold (a cell under current never reads a constant voltage
  unless something holds it there).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GAP_FACTOR = 1.5          # a step this much longer than the median is a gap
UNIFORM_REL = 0.01        # steps within 1 % of the median count as uniform
SATURATION_ROWS = 10      # identical voltage readings at the log's extreme under current
SEGMENT_KINDS = ("rest", "pulse", "constant-current", "constant-voltage", "dynamic")
PULSE_MAX_S = 60.0        # a constant-current run up to this long is a pulse
CONSTANT_TOL_A = 0.1      # current within this of the run's first value: the same run


class LogError(ValueError):
    """A log the fit refuses: the message names the file, the row or column, the value and the limit."""


@dataclass
class Log:
    path: str
    t_s: np.ndarray
    current_a: np.ndarray
    voltage_v: np.ndarray
    temperature_c: np.ndarray
    dt_s: float
    segments: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))  # index into SEGMENT_KINDS

    @property
    def duration_s(self) -> float:
        return float(self.t_s[-1] - self.t_s[0] + self.dt_s)


def read(path: str, capacity_ah: float, voltage_max_v: float) -> Log:
    """Reads and checks one log (LogError naming what is wrong) and labels its segments."""
    from safetwin.commands.estimate import read_log  # the CLI's reader: one parser of the columns

    cols = read_log(path)
    return check(path, cols["t_s"], cols["current_a"], cols["voltage_v"], cols["temperature_c"],
                 capacity_ah, voltage_max_v)


def check(path: str, t: np.ndarray, i: np.ndarray, v: np.ndarray, temp_c: np.ndarray,
          capacity_ah: float, voltage_max_v: float) -> Log:
    n = len(t)
    if n < 10:
        raise LogError(f"{path}: {n} rows: the fit needs at least 10")
    if np.any(np.diff(t) <= 0):
        k = int(np.argmax(np.diff(t) <= 0)) + 1
        raise LogError(f"{path}: t_s must increase strictly; data row {k + 1} has t_s = {t[k]} after {t[k - 1]}")
    dt = np.diff(t)
    step = float(np.median(dt))
    gap = np.flatnonzero(dt > GAP_FACTOR * step)
    if gap.size:
        k = int(gap[0])
        raise LogError(f"{path}: a gap of {dt[k]:g} s after data row {k + 1} (t_s = {t[k]:g}), more than "
                       f"{GAP_FACTOR:g}x the median step of {step:g} s ({gap.size} gap(s) in all): the fit "
                       "needs a continuous log; split it at the gap")
    uneven = np.flatnonzero(np.abs(dt - step) > UNIFORM_REL * step)
    if uneven.size:
        k = int(uneven[0])
        raise LogError(f"{path}: the time step at data row {k + 2} is {dt[k]:g} s, the median {step:g} s: the fit "
                       f"simulates a fixed step and needs a uniform one (within {UNIFORM_REL:.0%}); resample the log")
    bad_i = np.flatnonzero(~np.isfinite(i))
    if bad_i.size:
        raise LogError(f"{path}: current_a is missing in data row {bad_i[0] + 1} ({bad_i.size} row(s)): "
                       "the fit needs the current on every row")
    finite_v = np.isfinite(v)
    if finite_v.sum() < 10:
        raise LogError(f"{path}: only {int(finite_v.sum())} rows have a voltage: the fit needs at least 10")
    _check_saturation(path, i, v, capacity_ah, voltage_max_v)
    log = Log(path, t, i, v, temp_c, step)
    log.segments = label_segments(i, v, step, capacity_ah, voltage_max_v)
    return log


def _check_saturation(path: str, i: np.ndarray, v: np.ndarray, capacity_ah: float, voltage_max_v: float) -> None:
    finite = v[np.isfinite(v)]
    for extreme in (finite.max(), finite.min()):
        at = np.isfinite(v) & (v == extreme) & (np.abs(i) > capacity_ah / 100.0)
        run_start, run = 0, 0
        for k in range(len(v)):
            if at[k]:
                if run == 0:
                    run_start = k
                run += 1
                if run >= SATURATION_ROWS and not _is_cv_hold(i[run_start:k + 1], extreme, voltage_max_v):
                    raise LogError(f"{path}: voltage_v reads {extreme:g} V on {run}+ rows from data row "
                                   f"{run_start + 1} under {i[run_start]:g} A: a saturated voltage sensor "
                                   "(a cell under current never reads a constant voltage); remove those rows")
            else:
                run = 0


def _is_cv_hold(i: np.ndarray, v: float, voltage_max_v: float) -> bool:
    """A constant-voltage charge hold: near the upper limit, charging, the current not constant."""
    return v >= voltage_max_v - 0.05 and bool(np.all(i < 0)) and float(np.ptp(i)) > CONSTANT_TOL_A / 10


def label_segments(i: np.ndarray, v: np.ndarray, dt_s: float, capacity_ah: float, voltage_max_v: float) -> np.ndarray:
    """Each row's segment kind (index into SEGMENT_KINDS), from runs of constant current."""
    n = len(i)
    out = np.full(n, SEGMENT_KINDS.index("dynamic"), dtype=int)
    rest_a = capacity_ah / 50.0
    k = 0
    while k < n:
        j = k + 1
        while j < n and abs(i[j] - i[k]) < CONSTANT_TOL_A:
            j += 1
        length_s = (j - k) * dt_s
        mean = float(np.mean(i[k:j]))
        if abs(mean) <= rest_a and length_s >= 2 * dt_s:
            kind = "rest"
        elif length_s >= 5 * dt_s:
            kind = "pulse" if length_s <= PULSE_MAX_S else "constant-current"
        else:
            kind = "dynamic"
        out[k:j] = SEGMENT_KINDS.index(kind)
        k = j
    vv = np.where(np.isfinite(v), v, 0.0)
    cv = (vv >= voltage_max_v - 0.01) & (i < -rest_a) & (out != SEGMENT_KINDS.index("rest"))
    out[cv] = SEGMENT_KINDS.index("constant-voltage")
    return out
