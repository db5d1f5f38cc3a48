"""Distributions of a campaign's sampled variables: each has an explicit log-density, so that
importance weights p/q are exact, and a proposal family the cross-entropy method refits.

- ``uniform(low, high)`` and ``beta(a, b, low, high)``: the proposal family is a beta on
  [low, high] (a uniform is beta(1, 1)); it covers the whole support, so every weight is finite.
- ``normal(mean, sd)``: the proposal family is a normal.
- ``categorical(values, probs)``: the proposal is a categorical over the same values, mixed with
  the nominal probabilities (``CATEGORICAL_FLOOR``) so that no value's proposal probability is 0.

Log-densities come from ``scipy.stats``; sampling from the sample's own numpy ``Generator``.
"""
from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from scipy import stats

# A CE refit keeps this share of the nominal categorical probabilities, so a value the elite never
# showed keeps a proposal probability > 0 (the weight p/q of such a value stays finite).
CATEGORICAL_FLOOR = 0.1
# Beta shape parameters the CE refit may reach: wide enough to concentrate on 1e-3 of the range,
# bounded so that the proposal never collapses onto a point.
BETA_SHAPE_MIN, BETA_SHAPE_MAX = 0.2, 500.0
# A CE refit widens the elite's spread by this factor (its standard deviation by the square root)
# before matching a continuous family: the elite of the last stage is the failure region itself,
# and a proposal as narrow as the elite puts little mass at the region's edges, where the weights
# p/q are then large and rarely seen (an estimate that is unbiased but whose interval is not).
SPREAD_INFLATION = 4.0


@dataclass(frozen=True)
class Beta:
    """Beta(a, b) stretched over [low, high]; uniform when a = b = 1."""

    low: float
    high: float
    a: float = 1.0
    b: float = 1.0

    kind = "continuous"

    def sample(self, rng: np.random.Generator, size: int | None = None):
        z = rng.beta(self.a, self.b, size)
        return self.low + (self.high - self.low) * z

    def logpdf(self, x) -> np.ndarray:
        return stats.beta.logpdf(np.asarray(x, dtype=float), self.a, self.b, loc=self.low,
                                 scale=self.high - self.low)

    def refit(self, x: np.ndarray, w: np.ndarray) -> Beta:
        """Weighted method of moments on the elite samples."""
        z = np.clip((x - self.low) / (self.high - self.low), 1e-12, 1 - 1e-12)
        m = float(np.sum(w * z) / np.sum(w))
        v = SPREAD_INFLATION * float(np.sum(w * (z - m) ** 2) / np.sum(w))
        v = max(v, 1e-9)
        common = m * (1 - m) / v - 1.0
        if common <= 0:  # more spread than any beta: stay wide
            return replace(self, a=1.0, b=1.0)
        a = float(np.clip(m * common, BETA_SHAPE_MIN, BETA_SHAPE_MAX))
        b = float(np.clip((1 - m) * common, BETA_SHAPE_MIN, BETA_SHAPE_MAX))
        return replace(self, a=a, b=b)

    def mix(self, other: Beta, alpha: float) -> Beta:
        return replace(self, a=alpha * other.a + (1 - alpha) * self.a, b=alpha * other.b + (1 - alpha) * self.b)

    def params(self) -> dict:
        return {"dist": "beta", "low": self.low, "high": self.high, "a": self.a, "b": self.b}

    def support(self) -> tuple:
        return (self.low, self.high)

    def scipy(self):
        return stats.beta(self.a, self.b, loc=self.low, scale=self.high - self.low)


@dataclass(frozen=True)
class Normal:
    mean: float
    sd: float

    kind = "continuous"

    def sample(self, rng: np.random.Generator, size: int | None = None):
        return rng.normal(self.mean, self.sd, size)

    def logpdf(self, x) -> np.ndarray:
        return stats.norm.logpdf(np.asarray(x, dtype=float), self.mean, self.sd)

    def refit(self, x: np.ndarray, w: np.ndarray) -> Normal:
        m = float(np.sum(w * x) / np.sum(w))
        sd = math.sqrt(SPREAD_INFLATION * float(np.sum(w * (x - m) ** 2) / np.sum(w)))
        return replace(self, mean=m, sd=max(sd, 1e-3 * self.sd))

    def mix(self, other: Normal, alpha: float) -> Normal:
        return replace(self, mean=alpha * other.mean + (1 - alpha) * self.mean,
                       sd=alpha * other.sd + (1 - alpha) * self.sd)

    def params(self) -> dict:
        return {"dist": "normal", "mean": self.mean, "sd": self.sd}

    def support(self) -> tuple:
        return (-math.inf, math.inf)

    def scipy(self):
        return stats.norm(self.mean, self.sd)


@dataclass(frozen=True)
class Categorical:
    values: tuple
    probs: tuple

    kind = "categorical"

    @functools.cached_property
    def _cdf(self) -> list:
        return np.cumsum(self.probs).tolist()

    def sample(self, rng: np.random.Generator, size: int | None = None):
        # inverse CDF on one uniform (a value of probability 0 is never drawn); one value (the
        # sampler's case, once per sample) by bisection on the cached CDF: the same index as
        # searchsorted(side="right") without numpy's per-call overhead
        last = len(self.values) - 1
        if size is None:
            return self.values[min(bisect.bisect_right(self._cdf, rng.random()), last)]
        idx = np.minimum(np.searchsorted(np.asarray(self._cdf), rng.random(size), side="right"), last)
        return np.asarray(self.values, dtype=object)[idx]

    def index(self, x) -> np.ndarray:
        lookup = {v: i for i, v in enumerate(self.values)}
        return np.array([lookup[v] for v in np.atleast_1d(np.asarray(x, dtype=object))], dtype=int)

    def logpdf(self, x) -> np.ndarray:
        with np.errstate(divide="ignore"):
            logp = np.log(np.asarray(self.probs, dtype=float))
        return logp[self.index(x)]

    def refit(self, x: np.ndarray, w: np.ndarray) -> Categorical:
        idx = self.index(x)
        freq = np.bincount(idx, weights=w, minlength=len(self.values))
        return replace(self, probs=tuple(float(f) for f in freq / freq.sum()))

    def mix(self, other: Categorical, alpha: float) -> Categorical:
        p = alpha * np.asarray(other.probs) + (1 - alpha) * np.asarray(self.probs)
        return replace(self, probs=tuple(float(v) for v in p / p.sum()))

    def params(self) -> dict:
        return {"dist": "categorical", "values": list(self.values), "probs": list(self.probs)}

    def support(self) -> tuple:
        return tuple(v for v, p in zip(self.values, self.probs) if p > 0)


Distribution = Any  # Beta | Normal | Categorical


def from_params(d: dict) -> Distribution:
    """Rebuilds a distribution from ``params()`` (proposals travel to the workers as dicts)."""
    kind = d["dist"]
    if kind == "beta":
        return Beta(float(d["low"]), float(d["high"]), float(d["a"]), float(d["b"]))
    if kind == "normal":
        return Normal(float(d["mean"]), float(d["sd"]))
    if kind == "categorical":
        return Categorical(tuple(d["values"]), tuple(float(p) for p in d["probs"]))
    raise ValueError(f"distribution {kind!r}: unknown")


def parse(where: str, d: Any) -> Distribution:
    """One variable's table of a campaign file; refusals name ``where`` (file and key) and the reason."""
    if not isinstance(d, dict):
        raise ValueError(f"{where}: must be a table with a 'dist' key, found {d!r}")
    kind = d.get("dist")
    keys = {"uniform": {"low", "high"}, "beta": {"a", "b", "low", "high"}, "normal": {"mean", "sd"},
            "categorical": {"values", "probs"}}
    if not isinstance(kind, str) or kind not in keys:  # a list or a table is unhashable: test the type first
        raise ValueError(f"{where}.dist = {kind!r}: must be one of {sorted(keys)}")
    given = set(d) - {"dist"}
    unknown = given - keys[kind]
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)} for dist = {kind!r} (known: {sorted(keys[kind])})")
    required = keys[kind] - ({"probs"} if kind == "categorical" else set())
    missing = required - given
    if missing:
        raise ValueError(f"{where}: missing keys {sorted(missing)} for dist = {kind!r}")

    def num(key: str) -> float:
        v = d[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{where}.{key} = {v!r}: must be a finite number")
        return float(v)

    if kind in ("uniform", "beta"):
        low, high = num("low"), num("high")
        if not high > low:
            raise ValueError(f"{where}: high = {high} must be > low = {low}")
        a, b = (num("a"), num("b")) if kind == "beta" else (1.0, 1.0)
        for key, v in (("a", a), ("b", b)):
            if v <= 0:
                raise ValueError(f"{where}.{key} = {v}: must be > 0")
        return Beta(low, high, a, b)
    if kind == "normal":
        sd = num("sd")
        if sd <= 0:
            raise ValueError(f"{where}.sd = {sd}: must be > 0")
        return Normal(num("mean"), sd)
    values = d["values"]
    if not isinstance(values, list) or not values:
        raise ValueError(f"{where}.values = {values!r}: must be a non-empty list")
    if len(set(map(repr, values))) != len(values):
        raise ValueError(f"{where}.values = {values!r}: must be distinct")
    probs = d.get("probs", [1.0 / len(values)] * len(values))
    if not isinstance(probs, list) or len(probs) != len(values):
        raise ValueError(f"{where}.probs: must be a list of {len(values)} numbers (one per value)")
    for i, p in enumerate(probs):
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not (math.isfinite(p) and p >= 0):
            raise ValueError(f"{where}.probs[{i}] = {p!r}: must be a finite number >= 0")
    total = float(sum(probs))
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"{where}.probs sum to {total}: must sum to 1")
    return Categorical(tuple(values), tuple(float(p) for p in probs))


def floor_categorical(proposal: Categorical, nominal: Categorical) -> Categorical:
    """The CE proposal mixed with the nominal probabilities (CATEGORICAL_FLOOR)."""
    return nominal.mix(proposal, 1.0 - CATEGORICAL_FLOOR)


def joint_logpdf(dists: dict, values: dict) -> np.ndarray:
    """Sum of the variables' log-densities (the variables are independent)."""
    total = 0.0
    for name, dist in dists.items():
        total = total + dist.logpdf(values[name])
    return np.asarray(total, dtype=float)


def names_of(dists: dict) -> Sequence[str]:
    return list(dists)
