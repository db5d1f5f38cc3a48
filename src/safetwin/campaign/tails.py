"""Tails by extreme value theory: a generalised Pareto fit (peaks over threshold,
``scipy.stats.genpareto``) of the worst excursion of one record field, and the probability it
gives of passing a limit, with a bootstrap 95 % interval.

P(X > limit) = P(X > u) * GPD.sf(limit - u), with P(X > u) the fraction of samples above the
threshold u and the GPD fitted to the excesses X - u (location fixed at 0). The interval is the
percentile bootstrap over the whole sample (the count above u and the fit both vary). The fit is
made on unweighted samples (crude Monte Carlo); under importance sampling the engine reports none.

The threshold matters: below the level where the excesses become GPD, the fit describes the bulk
and not the tail (the issue-13 campaign's fit at 35 degC overestimated P(> 45 degC) fivefold).
``select_threshold`` chooses it by parameter stability: above a threshold u where the excesses
are GPD, the shape estimate at every higher threshold v estimates the same xi, and the
difference of the two nested maximum likelihood estimates has variance ~ se(v)^2 - se(u)^2 (the
higher one uses a subset of the data; asymptotic se(xi) = (1 + xi) / sqrt(n_u)). The threshold is
the lowest candidate (sample quantiles from the median up, at least MIN_EXCESSES_AUTO excesses)
whose shape no higher candidate contradicts at the 95 % level (Bonferroni over the comparisons).
``mean_residual_life`` gives e(u) = E[X - u | X > u] with its interval, linear in u
(e(u) = (sigma_u + xi u)... see its docstring) above a valid threshold: the plot that shows it.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import stats

MIN_EXCESSES = 10
MIN_EXCESSES_AUTO = 50      # excesses a candidate threshold keeps (a shape estimate needs them)
CANDIDATES = 20             # candidate thresholds: sample quantiles from the median up
BOOTSTRAP = 200


def _gpd_fit(exc: np.ndarray) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        c, _, scale = stats.genpareto.fit(exc, floc=0.0)
    return float(c), float(scale)


def _p_exceed(x: np.ndarray, threshold: float, limit: float) -> float:
    exc = x[x > threshold] - threshold
    if exc.size < MIN_EXCESSES:
        return math.nan
    c, scale = _gpd_fit(exc)
    return exc.size / x.size * float(stats.genpareto.sf(limit - threshold, c, loc=0.0, scale=scale))


def mean_residual_life(values, thresholds) -> list:
    """e(u) = mean(X - u | X > u) with a CLT 95 % interval, per threshold. For GPD excesses above
    u0, e(u) = (sigma_u0 + xi (u - u0)) / (1 - xi) for u >= u0: a line (constant for an exponential)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    out = []
    for u in thresholds:
        exc = x[x > u] - u
        if exc.size < 2:
            out.append({"threshold": float(u), "n_excesses": int(exc.size), "mrl": None, "ci95": None})
            continue
        m, se = float(exc.mean()), float(exc.std(ddof=1) / math.sqrt(exc.size))
        out.append({"threshold": float(u), "n_excesses": int(exc.size), "mrl": m,
                    "ci95": [m - 1.959963984540054 * se, m + 1.959963984540054 * se]})
    return out


def select_threshold(values, limit: float | None = None) -> dict:
    """The lowest stable threshold (see the module docstring) and the stability table."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    top = 1.0 - MIN_EXCESSES_AUTO / max(x.size, 1)
    if top <= 0.5:
        return {"threshold": None, "reason": f"{x.size} samples: {2 * MIN_EXCESSES_AUTO} needed to choose a threshold",
                "candidates": []}
    us = np.unique(np.quantile(x, np.linspace(0.5, top, CANDIDATES)))
    if limit is not None:
        us = us[us < limit]
    rows = []
    for u in us:
        exc = x[x > u] - u
        if exc.size < MIN_EXCESSES_AUTO:
            continue
        c, scale = _gpd_fit(exc)
        rows.append({"threshold": float(u), "n_excesses": int(exc.size), "shape": c, "scale": scale,
                     "shape_se": float((1.0 + max(c, -0.5)) / math.sqrt(exc.size))})
    if not rows:
        return {"threshold": None, "reason": "no candidate threshold below the limit keeps enough excesses",
                "candidates": []}
    chosen = rows[-1]["threshold"]
    for k, r in enumerate(rows):
        higher = rows[k + 1:]
        if not higher:
            break
        z = float(stats.norm.ppf(1 - 0.025 / len(higher)))
        if all(abs(h["shape"] - r["shape"]) <= z * math.sqrt(max(h["shape_se"] ** 2 - r["shape_se"] ** 2, 0.0))
               for h in higher):
            chosen = r["threshold"]
            break
    return {"threshold": float(chosen), "reason": "", "candidates": rows}


def fit(values, threshold: float | None, limit: float, seed: int = 0) -> dict:
    """P(X > limit) from a GPD above ``threshold`` (None: select_threshold chooses it)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    selection = None
    if threshold is None:
        selection = select_threshold(x, limit)
        if selection["threshold"] is None:
            return {"threshold": None, "threshold_selected": True, "limit": limit, "n": int(x.size),
                    "n_excesses": 0, "empirical": float(np.mean(x > limit)) if x.size else math.nan,
                    "p_exceed": None, "ci95": None, "shape": None, "scale": None, "reason": selection["reason"]}
        threshold = selection["threshold"]
    exc = x[x > threshold] - threshold
    out = {"threshold": float(threshold), "threshold_selected": selection is not None, "limit": limit,
           "n": int(x.size), "n_excesses": int(exc.size),
           "empirical": float(np.mean(x > limit)) if x.size else math.nan}
    if selection is not None:
        out["stability"] = selection["candidates"]
    if exc.size < MIN_EXCESSES:
        return {**out, "p_exceed": None, "ci95": None, "shape": None, "scale": None,
                "reason": f"{exc.size} samples above the threshold, {MIN_EXCESSES} needed for a fit"}
    c, scale = _gpd_fit(exc)
    p = _p_exceed(x, threshold, limit)
    rng = np.random.default_rng(seed)
    boots = np.array([_p_exceed(rng.choice(x, x.size), threshold, limit) for _ in range(BOOTSTRAP)])
    boots = boots[np.isfinite(boots)]
    ci = [float(np.quantile(boots, 0.025)), float(np.quantile(boots, 0.975))] if boots.size else None
    return {**out, "p_exceed": p, "ci95": ci, "shape": c, "scale": scale}
