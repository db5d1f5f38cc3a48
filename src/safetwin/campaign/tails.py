"""Tails by extreme value theory: a generalised Pareto fit (peaks over threshold,
``scipy.stats.genpareto``) of the worst excursion of one record field, and the probability it
gives of passing a limit, with a bootstrap 95 % interval.

P(X > limit) = P(X > u) * GPD.sf(limit - u), with P(X > u) the fraction of samples above the
threshold u and the GPD fitted to the excesses X - u (location fixed at 0). The interval is the
percentile bootstrap over the whole sample (the count above u and the fit both vary). The fit is
made on unweighted samples (crude Monte Carlo); under importance sampling the engine reports none.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

MIN_EXCESSES = 10
BOOTSTRAP = 200


def _p_exceed(x: np.ndarray, threshold: float, limit: float) -> float:
    exc = x[x > threshold] - threshold
    if exc.size < MIN_EXCESSES:
        return math.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        c, _, scale = stats.genpareto.fit(exc, floc=0.0)
    return exc.size / x.size * float(stats.genpareto.sf(limit - threshold, c, loc=0.0, scale=scale))


def fit(values, threshold: float, limit: float, seed: int = 0) -> dict:
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    exc = x[x > threshold] - threshold
    out = {"threshold": threshold, "limit": limit, "n": int(x.size), "n_excesses": int(exc.size),
           "empirical": float(np.mean(x > limit)) if x.size else math.nan}
    if exc.size < MIN_EXCESSES:
        return {**out, "p_exceed": None, "ci95": None, "shape": None, "scale": None,
                "reason": f"{exc.size} samples above the threshold, {MIN_EXCESSES} needed for a fit"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        c, _, scale = stats.genpareto.fit(exc, floc=0.0)
    p = _p_exceed(x, threshold, limit)
    rng = np.random.default_rng(seed)
    boots = np.array([_p_exceed(rng.choice(x, x.size), threshold, limit) for _ in range(BOOTSTRAP)])
    boots = boots[np.isfinite(boots)]
    ci = [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))] if boots.size else None
    return {**out, "p_exceed": p, "ci95": ci, "shape": float(c), "scale": float(scale)}
