"""Synthetic fleets with known ground truth for the prognostics (tests and benchmarks).

Every cell has its own duty cycle (ambient temperature with a seasonal swing, DOD, C-rate, mean
SOC, rest between cycles), its own ageing-rate factor (lognormal around the paper's cell) and its
own initial capacity (manufacturing spread). The truth is the ageing model (Schmalstieg 2014, in
C++) over the cell's *actual* stress, which jitters from interval to interval around the planned
duty cycle (ambient noise, DOD noise); the prognostic model sees only the logged stress up to now,
the plan for the future, and noisy SOH estimates. One interval is ``cycles_per_interval`` cycles
aggregated into one stress record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetwin._core import ZERO_CELSIUS_K
from safetwin.diagnostics.ageing import age, cycling_stress
from safetwin.diagnostics.prognostics import DegradationPrior

SECONDS_PER_YEAR = 365.25 * 86400.0


@dataclass(frozen=True)
class FleetSpec:
    cells: int = 1000
    intervals: int = 1000           # horizon of the simulation (every cell reaches EOL within it)
    cycles_per_interval: int = 10
    ambient_c: tuple = (10.0, 40.0)
    seasonal_swing_k: float = 5.0
    dod: tuple = (0.3, 1.0)
    c_rate: tuple = (0.3, 2.0)
    rest_h: tuple = (0.0, 12.0)
    rate_factor_log_sigma: float = 0.25
    capacity_spread_sigma: float = 0.01
    ambient_jitter_k: float = 2.0
    dod_jitter_rel: float = 0.05
    soh_every: int = 5              # one SOH estimate every this many intervals
    soh_sigma: float = 0.005        # its standard deviation (relative capacity)
    eol_capacity_rel: float = 0.8


def _stress(spec, n, ambient_k, dod, c_rate, soc_mean, rest_h, cpi):
    per_cycle = cycling_stress(dod, c_rate, soc_mean, ambient_k, rest_h)
    out = dict(per_cycle)
    out["duration_s"] = per_cycle["duration_s"] * cpi
    out["throughput_ah"] = per_cycle["throughput_ah"] * cpi
    return {k: np.broadcast_to(v, (n, spec.intervals)).copy() for k, v in out.items()}


def make_fleet(spec: FleetSpec = FleetSpec(), seed: int = 0) -> dict:
    """Draws a fleet and ages it. Returns the planned and actual stress (dicts of (cells,
    intervals) arrays), the true capacity relative to nominal, the true end of life in intervals elapsed (interpolated inside
    the interval that crosses it; inf if never) and the SOH observations (NaN between)."""
    rng = np.random.default_rng(seed)
    n, m, cpi = spec.cells, spec.intervals, spec.cycles_per_interval
    ambient_k = rng.uniform(*spec.ambient_c, n) + ZERO_CELSIUS_K
    dod = rng.uniform(*spec.dod, n)
    c_rate = rng.uniform(*spec.c_rate, n)
    soc_mean = 0.5 + rng.uniform(-1, 1, n) * (0.5 - dod / 2) * 0.8
    rest_h = rng.uniform(*spec.rest_h, n)
    rate = np.exp(rng.normal(0.0, spec.rate_factor_log_sigma, n))
    capacity0 = 1.0 + rng.normal(0.0, spec.capacity_spread_sigma, n)

    # The plan: the duty cycle with the seasonal ambient (known in advance).
    plan0 = _stress(spec, n, ambient_k[:, None], dod[:, None], c_rate[:, None], soc_mean[:, None], rest_h[:, None], cpi)
    t_mid_s = np.cumsum(plan0["duration_s"], axis=1) - plan0["duration_s"] / 2
    seasonal = spec.seasonal_swing_k * np.sin(2 * np.pi * t_mid_s / SECONDS_PER_YEAR)
    plan = _stress(spec, n, ambient_k[:, None] + seasonal, dod[:, None], c_rate[:, None], soc_mean[:, None],
                   rest_h[:, None], cpi)
    # What happens: jitter around the plan.
    dod_actual = np.clip(dod[:, None] * (1 + rng.normal(0, spec.dod_jitter_rel, (n, m))), 0.05, 1.0)
    soc_actual = np.clip(soc_mean[:, None], dod_actual / 2, 1 - dod_actual / 2)
    actual = _stress(spec, n, ambient_k[:, None] + seasonal + rng.normal(0, spec.ambient_jitter_k, (n, m)),
                     dod_actual, c_rate[:, None], soc_actual, rest_h[:, None], cpi)
    truth = age(**actual, calendar_rate_factor=rate, cycle_rate_factor=rate)
    capacity_rel = capacity0[:, None] * truth["capacity_factor"]
    # End of life in intervals elapsed, interpolated linearly in capacity inside the crossing interval.
    below = capacity_rel <= spec.eol_capacity_rel
    first = np.argmax(below, axis=1)
    before = np.where(first > 0, capacity_rel[np.arange(n), np.maximum(first - 1, 0)], capacity0)
    after = capacity_rel[np.arange(n), first]
    eol = np.where(below.any(axis=1), first + (before - spec.eol_capacity_rel) / (before - after), np.inf)
    observed = np.full((n, m), np.nan)
    idx = np.arange(spec.soh_every - 1, m, spec.soh_every)
    observed[:, idx] = capacity_rel[:, idx] + rng.normal(0, spec.soh_sigma, (n, idx.size))
    return {"spec": spec, "plan": plan, "actual": actual, "capacity_rel": capacity_rel, "eol_interval": eol,
            "observed_capacity_rel": observed, "rate_factor": rate, "capacity0": capacity0}


def fleet_prior(spec: FleetSpec) -> DegradationPrior:
    """The prior of a fleet of this cell type: its known population spread (the initial capacity
    spread and the lognormal ageing-rate spread, matched in mean and standard deviation). With a
    prior much wider than the population the early intervals come out conservative."""
    from safetwin.diagnostics.prognostics import DegradationPrior

    s2 = spec.rate_factor_log_sigma**2
    mean = float(np.exp(s2 / 2))
    return DegradationPrior(fade0_mean=0.0, fade0_sigma=spec.capacity_spread_sigma, rate_mean=mean,
                            rate_sigma=float(mean * np.sqrt(np.expm1(s2) + spec.capacity_spread_sigma**2)))


def evaluate_prognostics(fleet: dict, lambdas=(0.25, 0.5, 0.75), prior=None, samples: int = 2000,
                         alpha: float = 0.2, seed: int = 1) -> dict:
    """Runs the Bayesian degradation model on the fleet and scores its RUL against the truth.

    At each lambda (the fraction of a cell's true life elapsed) the model has seen the SOH
    estimates and the logged stress up to that point, and predicts from the plan after it. Returns
    per lambda (the prior: ``fleet_prior`` unless given): ``coverage`` (fraction of true RULs inside the 90 % interval), ``coverage_ci95``
    (Clopper-Pearson interval of that fraction), ``alpha_lambda`` (fraction of medians within alpha of the
    true RUL, ProgPy's metric) and ``cells``.
    """
    from safetwin.diagnostics.prognostics import DegradationModel, stress_axis, usage_variability

    spec = fleet["spec"]
    eol = fleet["eol_interval"]
    ok = np.isfinite(eol) & (eol > 1)
    n, m = int(ok.sum()), spec.intervals
    actual = {k: v[ok] for k, v in fleet["actual"].items()}
    plan = {k: v[ok] for k, v in fleet["plan"].items()}
    observed, eol = fleet["observed_capacity_rel"][ok], eol[ok]
    g_log = stress_axis(**actual)
    g_plan = stress_axis(**plan)
    sigma = np.full(n, spec.soh_sigma)
    rng = np.random.default_rng(seed)
    cols = np.arange(m)[None, :]
    results = {}
    for lam in lambdas:
        now = np.maximum(np.floor(lam * eol).astype(int) - 1, 0)  # index of the last completed interval
        model = DegradationModel(n, prior or fleet_prior(spec))
        previous = np.zeros(n)
        for k in range(int(now.max()) + 1):
            active = k <= now
            d = np.where(active, g_log[:, k] - previous, 0.0)
            previous = np.where(active, g_log[:, k], previous)
            model.update(d, np.where(active, observed[:, k], np.nan), sigma)
        mixed = {key: np.where(cols <= now[:, None], actual[key], plan[key]) for key in actual}
        g_mix = stress_axis(**mixed)
        future_cols = np.minimum(now[:, None] + 1 + np.arange(m)[None, :], m - 1)
        future = np.take_along_axis(g_mix, future_cols, axis=1) - g_mix[np.arange(n), now][:, None]
        # The plan against the log so far: its level and how far usage strays from it.
        past = cols <= now[:, None]
        ratio, axis_sigma = usage_variability(np.where(past, np.diff(g_log, axis=1, prepend=0.0), np.nan),
                                              np.where(past, np.diff(g_plan, axis=1, prepend=0.0), np.nan))
        rul = model.rul(ratio[:, None] * np.maximum(future, 0.0), axis_sigma=axis_sigma,
                        eol_capacity_rel=spec.eol_capacity_rel, samples=samples, rng=rng)
        true_rul = eol - (now + 1)  # intervals from the end of interval `now` to end of life
        inside = (rul.ci90[:, 0] <= true_rul) & (true_rul <= rul.ci90[:, 1])
        accurate = np.abs(rul.median - true_rul) <= alpha * true_rul
        results[lam] = {"coverage": float(inside.mean()), "coverage_ci95": binomial_interval(int(inside.sum()), n),
                        "alpha_lambda": float(accurate.mean()), "cells": n,
                        "median_abs_rel_error": float(np.median(np.abs(rul.median - true_rul) / true_rul))}
    return results


def binomial_interval(successes: int, trials: int, confidence: float = 0.95) -> tuple:
    """Clopper-Pearson (exact) interval of a binomial proportion (scipy.stats.binomtest)."""
    from scipy.stats import binomtest

    if trials <= 0:
        raise ValueError(f"trials = {trials!r}: must be >= 1")
    ci = binomtest(int(successes), int(trials)).proportion_ci(confidence_level=confidence, method="exact")
    return (float(ci.low), float(ci.high))
