"""Estimators of P(failure) with their 95 % intervals, and the cross-entropy refit.

- Crude Monte Carlo: the failure count is binomial; the interval is Wilson's score interval
  (coverage close to 95 % where the normal approximation's is not, at small p).
- Importance sampling: p_hat = mean(w * 1_F) with w = p/q exact from the densities; the interval
  is the normal one on the sample variance of w * 1_F; ESS is Kish's (sum w)^2 / sum w^2.
- Cross-entropy (Rubinstein): each stage's level is the rho-quantile of its scores (clipped at 0);
  the proposal is refitted by weighted maximum likelihood (method of moments for the beta) on the
  samples at or below the level, with weights p/q, then smoothed. The estimate uses a final stage
  of fresh samples from the last proposal only, so it is unbiased whatever the stages did.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from safetwin.campaign import distributions

Z95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class Estimate:
    p: float
    ci95: tuple
    n: int
    n_failures: int
    ess: float

    @property
    def half_width_rel(self) -> float:
        return (self.ci95[1] - self.ci95[0]) / 2 / self.p if self.p > 0 else math.inf


def wilson(k: int, n: int, z: float = Z95) -> tuple:
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at k = 0 (k = n) the bound is exactly 0 (1); rounding would leave it a few ulps away
    return (0.0 if k == 0 else max(0.0, centre - half), 1.0 if k == n else min(1.0, centre + half))


def monte_carlo(failure: np.ndarray) -> Estimate:
    failure = np.asarray(failure, dtype=bool)
    n, k = failure.size, int(failure.sum())
    return Estimate(k / n if n else math.nan, wilson(k, n), n, k, float(n))


def importance(failure: np.ndarray, log_weight: np.ndarray) -> Estimate:
    failure = np.asarray(failure, dtype=bool)
    w = np.exp(np.asarray(log_weight, dtype=float))
    n = failure.size
    y = w * failure
    p = float(y.mean())
    se = float(y.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
    ess = float(w.sum() ** 2 / np.sum(w ** 2)) if np.any(w > 0) else 0.0
    return Estimate(p, (max(0.0, p - Z95 * se), p + Z95 * se), n, int(failure.sum()), ess)


def ce_level(scores: np.ndarray, rho: float) -> float:
    """The stage's level: the rho-quantile of its scores, never below 0 (the failure level)."""
    return max(float(np.quantile(scores, rho)), 0.0)


def ce_refit(nominal: dict, proposal: dict, values: dict, scores: np.ndarray, log_weight: np.ndarray,
             rho: float, smoothing: float) -> tuple[dict, float]:
    """The next proposal and this stage's level."""
    level = ce_level(scores, rho)
    elite = scores <= level if level > 0 else scores < 0
    w = np.exp(log_weight[elite] - np.max(log_weight[elite]))  # the scale cancels in every fit
    new = {}
    for name, dist in proposal.items():
        fitted = dist.refit(values[name][elite], w)
        mixed = dist.mix(fitted, smoothing)
        if isinstance(mixed, distributions.Categorical):
            mixed = distributions.floor_categorical(mixed, nominal[name])
        new[name] = mixed
    return new, level
