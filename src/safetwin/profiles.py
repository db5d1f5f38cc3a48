"""Current profiles for tests, benches and demos (A, > 0 discharges), as numpy arrays.

Closed-loop charging (CC-CV) runs in C++: see ``safetwin.battery.run_cccv``.
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def _check_positive(name: str, value: float) -> None:
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} = {value!r}: must be finite and > 0")


def constant_current(current_a: float, duration_s: float, dt_s: float) -> np.ndarray:
    """A constant current held for duration_s."""
    _check_positive("dt_s", dt_s)
    _check_positive("duration_s", duration_s)
    if not np.isfinite(current_a):
        raise ValueError(f"current_a = {current_a!r}: must be finite")
    return np.full(int(round(duration_s / dt_s)), float(current_a))


def hppc(capacity_ah: float = 5.15, dt_s: float = 1.0, pulses: int = 9,
         discharge_c: float = 1.0, charge_c: float = 0.75, pulse_s: float = 10.0,
         rest_s: float = 40.0, soc_step: float = 0.1, settle_s: float = 3600.0) -> np.ndarray:
    """Hybrid pulse power characterisation (after the FreedomCAR/USABC manual): at each SOC level a
    discharge pulse, a rest, a charge pulse, then a 1C discharge of soc_step and a settling rest."""
    _check_positive("capacity_ah", capacity_ah)
    _check_positive("dt_s", dt_s)
    one_c = capacity_ah

    def seg(current: float, seconds: float) -> np.ndarray:
        return np.full(int(round(seconds / dt_s)), current)

    parts = []
    for _ in range(pulses):
        parts += [seg(discharge_c * one_c, pulse_s), seg(0.0, rest_s), seg(-charge_c * one_c, pulse_s),
                  seg(0.0, rest_s), seg(one_c, soc_step * 3600.0), seg(0.0, settle_s)]
    return np.concatenate(parts)


def drive_cycle(duration_s: float = 1800.0, dt_s: float = 1.0, seed: int = 0,
                mean_current_a: float = 5.0, peak_current_a: float = 25.0,
                regen_current_a: float = 10.0) -> np.ndarray:
    """A seeded synthetic drive cycle: segments of cruise, acceleration, braking with regeneration
    and stops, each of random length, joined by first-order ramps (time constant 2 s).

    The mean discharge current is scaled to mean_current_a; peaks stay within
    [-regen_current_a, peak_current_a].
    """
    _check_positive("duration_s", duration_s)
    _check_positive("dt_s", dt_s)
    rng = np.random.default_rng(seed)
    n = int(round(duration_s / dt_s))
    decay = np.exp(-dt_s / 2.0)  # first-order ramp towards each segment's level
    current = np.empty(n)
    level_before = 0.0
    k = 0
    while k < n:
        kind = int(rng.choice(4, p=[0.45, 0.25, 0.2, 0.1]))  # cruise, accelerate, brake, stop
        length = min(int(rng.uniform(5.0, 60.0) / dt_s) + 1, n - k)
        level = (rng.uniform(0.1, 0.4) * peak_current_a, rng.uniform(0.5, 1.0) * peak_current_a,
                 -rng.uniform(0.2, 1.0) * regen_current_a, 0.0)[kind]
        ramp = decay ** np.arange(1, length + 1)
        current[k:k + length] = level + (level_before - level) * ramp
        level_before = current[k + length - 1]
        k += length
    positive_mean = current.mean()
    if positive_mean > 0:
        current *= mean_current_a / positive_mean
    return np.clip(current, -regen_current_a, peak_current_a)


def load_csv(path: str | Path, dt_s: float, max_samples: int | None = None) -> np.ndarray:
    """A measured current profile from a CSV with columns t_s,current_a, resampled to dt_s with the
    current held between rows (zero-order hold). A bad value is refused naming the file, the line
    and the column; ``max_samples`` refuses a resampled profile longer than that, before it is made."""
    _check_positive("dt_s", dt_s)
    path = Path(path)
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
        reader = csv.DictReader(f)
        fields = [h.strip() for h in reader.fieldnames or []]
        reader.fieldnames = fields
        for col in ("t_s", "current_a"):
            if col not in fields:
                raise ValueError(f"{path}: missing column {col!r} (found {fields})")
        rows = []
        for r in reader:
            line = reader.line_num
            values = []
            for col in ("t_s", "current_a"):
                text = r[col] if r[col] is not None else ""
                try:
                    values.append(float(text))
                except ValueError:
                    raise ValueError(f"{path}, line {line}: column {col} = {text.strip()!r} is not a number") \
                        from None
            rows.append((line, *values))
    if len(rows) < 2:
        raise ValueError(f"{path}: needs at least 2 rows, found {len(rows)}")
    lines = [r[0] for r in rows]
    t = np.array([r[1] for r in rows])
    i = np.array([r[2] for r in rows])
    if not np.all(np.isfinite(t)) or not np.all(np.isfinite(i)):
        bad = int(np.flatnonzero(~(np.isfinite(t) & np.isfinite(i)))[0])
        raise ValueError(f"{path}, line {lines[bad]}: t_s or current_a is not finite")
    if np.any(np.diff(t) <= 0):
        bad = int(np.flatnonzero(np.diff(t) <= 0)[0])
        raise ValueError(f"{path}, line {lines[bad + 1]}: t_s must increase, t_s = {t[bad + 1]} after {t[bad]}")
    samples = (t[-1] - t[0]) / dt_s
    if max_samples is not None and samples > max_samples:
        raise ValueError(f"{path}: {t[-1] - t[0]:g} s at dt = {dt_s:g} s are {samples:.3g} samples, more than "
                         f"the {max_samples} that fit in memory: give a larger dt")
    grid = np.arange(t[0], t[-1], dt_s)
    idx = np.searchsorted(t, grid, side="right") - 1
    return i[idx]
