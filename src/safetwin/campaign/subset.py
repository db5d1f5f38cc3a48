"""Subset simulation (Au & Beck 2001): P(F) as a product of conditional probabilities of nested
events F_1 > F_2 > ... > F_m = F, each estimated by Markov chains started from the samples of
the level before.

The variables are mapped to independent standard normals u (``to_x``): a beta (or uniform) by its
quantile function at Phi(u), a normal by mean + sd u, a categorical by its inverse CDF at Phi(u).
Level 0 is crude Monte Carlo: N samples of u ~ N(0, I). Level j's threshold b_j is the
p0-quantile of level j-1's scores (the event's STL score, < 0 where it holds); the N p0 samples
with the lowest scores seed N p0 chains of 1/p0 states each (the seed is the chain's first state)
whose stationary distribution is N(0, I) restricted to {score <= b_j}, by the modified Metropolis
algorithm: each component proposes u_k + spread * N(0, 1) and keeps it with probability
min(1, phi(xi_k) / phi(u_k)); the candidate replaces the chain's state only when its score is
<= b_j. When at least N p0 samples of a level fail (score < 0), P = p0^j * (failures / N).

A closed-loop sample also has exogenous randomness (sensor noise, the pack's spread, a load
profile): it is one more component of the chain's state, whose proposal is a fresh draw from its
own distribution (a Metropolis move whose acceptance ratio is 1), so every candidate gets its own
exogenous stream, keyed by its (stage, index), and a rejected candidate leaves the chain on the
record it already had (no re-simulation).

Coefficient of variation (Au & Beck, eqs. 21-29): delta_j^2 = (1 - P_j) / (N P_j) (1 + gamma_j),
gamma_j = 2 sum_{k=1}^{Ns-1} (1 - k/Ns) rho_j(k) from the correlation of the level indicator
along the chains (gamma_0 = 0: level 0 is independent); delta^2 = sum delta_j^2 (levels taken as
uncorrelated, as the paper does): a lower bound, since the levels share their seeds. The upper
bound takes them fully correlated, delta_upper = sum delta_j (Au & Beck, eq. 30). On the closed-form
family the spread of repeated estimates lies between the two (tested), so the 95 % interval is the
lognormal one on the upper bound, P exp(+-1.96 sqrt(log(1 + delta_upper^2))): conservative.

Every chain step's randomness comes from (campaign seed, stage, sample index) alone, as for the
other estimators, so a level's records are the same for any batching, worker count or order.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from safetwin.campaign import distributions, sampler

U_PREFIX = "u_"


def to_x(dist, u: np.ndarray):
    """The variable's values at standard normal u."""
    u = np.asarray(u, dtype=float)
    if isinstance(dist, distributions.Normal):
        return dist.mean + dist.sd * u
    if isinstance(dist, distributions.Categorical):
        cdf = np.cumsum(dist.probs)
        idx = np.minimum(np.searchsorted(cdf, special.ndtr(u), side="right"), len(dist.values) - 1)
        return np.asarray(dist.values, dtype=object)[idx]
    # a beta: its quantile at Phi(u), from the upper tail where u > 0 so that no precision is lost
    return np.where(u <= 0, dist.scipy().ppf(special.ndtr(u)), dist.scipy().isf(special.ndtr(-u)))


@dataclass(frozen=True)
class Settings:
    p0: float = 0.1          # conditional probability of each intermediate level
    max_levels: int = 20     # levels after level 0 before giving up (P < p0^max_levels)
    spread: float = 1.0      # sd of the modified Metropolis proposal per component (standard normal space)


def draw_level0(campaign, stage: int, indices) -> tuple[dict, np.ndarray]:
    """u ~ N(0, I) per sample (its variable stream) and the variables' values."""
    names = list(campaign.variables)
    u = np.array([sampler.generator(campaign.seed, stage, int(i), sampler.VARIABLE_STREAM).standard_normal(len(names))
                  for i in indices]).reshape(len(indices), len(names))
    return _values(campaign, u), u


def _values(campaign, u: np.ndarray) -> dict:
    out = {}
    for k, (name, dist) in enumerate(campaign.variables.items()):
        x = to_x(dist, u[:, k])
        out[name] = np.asarray(x, dtype=object if dist.kind == "categorical" else float)
    return out


def chain_plan(n: int, p0: float) -> tuple[int, int]:
    """(chains, states per chain) of a conditional level of n samples."""
    ns = int(round(1.0 / p0))
    return n // ns, ns


def run_chains(campaign, stage: int, params: dict, indices: list, evaluate) -> list:
    """The records of the chains whose sample indices are ``indices`` (whole chains: chain c holds
    indices c*Ns .. c*Ns + Ns - 1, its first state the seed). ``evaluate(values, exo_keys)`` gives
    the records (with "score") of candidate samples."""
    names = list(campaign.variables)
    ns = int(params["states_per_chain"])
    level = float(params["level"])
    spread = float(params["spread"])
    seeds = params["seed_records"]
    chains = sorted({i // ns for i in indices})
    state = {c: dict(seeds[c]) for c in chains}
    out = {}
    for c in chains:
        out[c * ns] = {**state[c], "index": c * ns, "stage": stage}
    for t in range(1, ns):
        cand_u, rng_of = [], {}
        for c in chains:
            i = c * ns + t
            rng = sampler.generator(campaign.seed, stage, i, sampler.VARIABLE_STREAM)
            u = np.array([state[c][U_PREFIX + n] for n in names], dtype=float)
            xi = u + spread * rng.standard_normal(len(names))
            keep = rng.random(len(names)) < np.exp(np.minimum(0.0, stats.norm.logpdf(xi) - stats.norm.logpdf(u)))
            cand_u.append(np.where(keep, xi, u))
            rng_of[c] = i
        cand_u = np.array(cand_u).reshape(len(chains), len(names))
        recs = evaluate(_values(campaign, cand_u), [(stage, rng_of[c]) for c in chains], cand_u)
        for c, rec in zip(chains, recs):
            if rec["score"] <= level:
                state[c] = rec
            out[c * ns + t] = {**state[c], "index": c * ns + t, "stage": stage}
    return [out[i] for i in indices]


def level_threshold(scores: np.ndarray, p0: float) -> float:
    """b_j: the (N p0)-th smallest score (the seeds are the samples at or below it)."""
    k = int(round(len(scores) * p0))
    return float(np.sort(scores)[k - 1])


def seeds_of(rows: list, p0: float) -> list:
    """The N p0 records with the lowest scores (ties broken by index), in that order."""
    k = int(round(len(rows) * p0))
    return sorted(rows, key=lambda r: (r["score"], r["index"]))[:k]


def gamma(indicator: np.ndarray, ns: int) -> float:
    """Au & Beck's gamma_j from an (Nc, Ns) array of the level indicator along the chains."""
    nc = indicator.shape[0]
    n = nc * ns
    p = float(indicator.mean())
    r0 = p * (1 - p)
    if r0 <= 0:
        return 0.0
    g = 0.0
    for k in range(1, ns):
        rk = float(np.sum(indicator[:, : ns - k] * indicator[:, k:])) / (n - k * nc) - p * p
        g += 2.0 * (1.0 - k / ns) * rk / r0
    return g


@dataclass(frozen=True)
class SubsetEstimate:
    p: float
    ci95: tuple
    n: int
    n_failures: int
    ess: float
    cov: float        # levels uncorrelated: a lower bound
    cov_upper: float  # levels fully correlated: the upper bound, which the interval uses
    levels: list   # per level: threshold, conditional probability, delta, gamma


def estimate(level_probs: list, gammas: list, n: int, n_failures: int) -> SubsetEstimate:
    p = float(np.prod(level_probs))
    deltas = [math.sqrt((1 - pj) / (n * pj) * (1 + gj)) if pj > 0 else math.inf for pj, gj in zip(level_probs, gammas)]
    d2 = sum(d * d for d in deltas)
    cov, cov_upper = math.sqrt(d2), sum(deltas)
    if p > 0:
        s = math.sqrt(math.log1p(cov_upper ** 2))
        ci = (p * math.exp(-1.959963984540054 * s), p * math.exp(1.959963984540054 * s))
        ess = (1 - p) / (p * d2) if d2 > 0 else float(n)
    else:
        ci, ess = (0.0, float(np.prod(level_probs[:-1])) * 3.0 / n), 0.0  # rule of three on the last level
    levels = [{"p": float(pj), "gamma": float(gj), "delta": float(d) if math.isfinite(d) else None}
              for pj, gj, d in zip(level_probs, gammas, deltas)]
    return SubsetEstimate(p, ci, n, n_failures, float(ess), cov, cov_upper, levels)
