"""A semi-Markov regime model of a load: current levels, a transition matrix between them, and a
dwell-time distribution per level, fitted by maximum likelihood to current logs.

The model (one sample every ``dt_s``):

- levels ``L_1 < ... < L_K`` (A, > 0 discharges) from 1-D k-means (``scipy.cluster.vq.kmeans2``,
  started from the data's quantiles, so a fit is deterministic); a log is quantised to its nearest
  level and cut into segments (level, dwell in samples);
- the embedded chain: segment k+1's level given segment k's, a K x K matrix with a zero diagonal
  (a segment ends when the level changes), whose MLE is the row-normalised transition counts;
- dwell times D >= 1 samples per level, a shifted negative binomial (D - 1 ~ NB(r, p), which holds
  the geometric dwell of a plain Markov chain, r = 1, and over-dispersed dwells), fitted by
  maximum likelihood with the last segment of each log right-censored (the log stops, the
  regime does not): its term is P(D >= d), not P(D = d).

The exact log-likelihood of a segment sequence, conditional on its first level, is
``sum log P[s_k, s_k+1] + sum log f_{s_k}(d_k)`` with the last dwell's term the survival function;
a sampled profile starts from the stationary distribution pi of the embedded chain, so its density
adds ``log pi[s_1]``. A campaign draws profiles from the sample's exogenous generator under p and
under any proposal q alike, so this density cancels in the weight p/q; it is available
(``log_density``) for a proposal that would tilt the load itself.

Fitted models are TOML files (``to_toml``/``from_toml``); the package ships one per standard drive
cycle in ``data/load_models`` (``tools/fit_load_models.py`` regenerates them, with provenance).
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
from scipy import optimize, special
from scipy.cluster.vq import kmeans2

DEFAULT_LEVELS = 8
# The dwell model's shape r is kept in this range: r -> infinity is a Poisson dwell (a log whose
# dwells are under-dispersed), r -> 0 an extremely over-dispersed one.
R_MIN, R_MAX = 1e-2, 1e4
FORMAT = 1


@dataclass(frozen=True)
class Segments:
    """A quantised log: the level index and the dwell (samples) of each segment; the last one may
    be censored (the log ended during it)."""

    states: np.ndarray
    dwells: np.ndarray
    censored_last: bool = True


def quantise(current_a: np.ndarray, levels_a: np.ndarray) -> np.ndarray:
    """Index of the nearest level of every sample."""
    edges = (levels_a[1:] + levels_a[:-1]) / 2
    return np.searchsorted(edges, np.asarray(current_a, dtype=float), side="right")


def segments(current_a: np.ndarray, levels_a: np.ndarray) -> Segments:
    """Run-length encoding of the quantised log."""
    q = quantise(current_a, levels_a)
    starts = np.flatnonzero(np.r_[True, q[1:] != q[:-1]])
    dwells = np.diff(np.r_[starts, q.size])
    return Segments(q[starts].astype(int), dwells.astype(int), True)


def dwell_logpmf(d, r: float, p: float) -> np.ndarray:
    """log P(D = d) for D - 1 ~ NB(r, p): lgamma(x + r) - lgamma(r) - lgamma(x + 1) + r log p + x log(1 - p)."""
    x = np.asarray(d, dtype=float) - 1.0
    with np.errstate(divide="ignore"):
        tail = np.where(x > 0, x * np.log1p(-p) if p < 1 else -np.inf, 0.0)
    return special.gammaln(x + r) - special.gammaln(r) - special.gammaln(x + 1.0) + r * math.log(p) + tail


def dwell_logsf(d, r: float, p: float) -> np.ndarray:
    """log P(D >= d) = log P(X >= d - 1) = log I_{1-p}(d - 1, r) (regularised incomplete beta), 0 at d = 1."""
    x = np.asarray(d, dtype=float) - 1.0
    with np.errstate(divide="ignore"):
        return np.where(x > 0, np.log(special.betainc(np.maximum(x, 1e-300), r, 1.0 - p)), 0.0)


def _dwell_fit(complete: np.ndarray, censored: np.ndarray) -> tuple[float, float]:
    """MLE of (r, p) from complete dwells and right-censored ones, profiled so that the answer does
    not depend on an optimiser's stopping rule (a joint L-BFGS-B at default tolerances stopped at
    r = 333 on scipy 1.13 and at 4 014 on 1.14 for the same flat likelihood):

    - in the mean parameterisation (mu = r (1 - p) / p, the mean of D - 1) the likelihood's
      maximiser in mu for a given shape r is the sample mean when no dwell is censored and close to
      it otherwise; it is found by a bounded Brent search on log mu (``_best_mean``);
    - the profile over the shape is searched on log r in [R_MIN, R_MAX] by a bounded Brent search
      (scipy's fminbound: function values only, the same steps on every scipy), and the bounds are
      candidates too. Without over-dispersion (variance <= mean) the likelihood rises towards
      r -> infinity, the Poisson dwell, and has no finite maximiser (Aragon, Eberly & Eberly 1992,
      "Existence and uniqueness of the maximum likelihood estimator for the two-parameter negative
      binomial distribution": it exists iff the variance exceeds the mean); the fit then returns
      the bound R_MAX exactly, not where a search happened to stop on the plateau.
    """
    complete = np.asarray(complete, dtype=float)
    censored = np.asarray(censored, dtype=float)
    allx = np.r_[complete, censored] - 1.0
    if allx.size == 0 or np.all(allx == 0):
        return 1.0, 1.0  # every dwell is one sample: D = 1 surely

    def nll(r: float, mu: float) -> float:
        p = r / (r + mu)
        out = -float(np.sum(dwell_logpmf(complete, r, p)))
        if censored.size:
            out -= float(np.sum(dwell_logsf(censored, r, p)))
        return out if math.isfinite(out) else 1e300

    def best_mean(r: float) -> tuple[float, float]:
        if censored.size == 0:  # closed form: the sample mean of D - 1
            mu = max(float(np.mean(complete - 1.0)), 1e-12)
            return nll(r, mu), mu
        res = optimize.minimize_scalar(lambda lm: nll(r, math.exp(lm)), bounds=_LOG_MU_BOUNDS,
                                       method="bounded", options={"xatol": 1e-12, "maxiter": 500})
        return float(res.fun), math.exp(float(res.x))

    res = optimize.minimize_scalar(lambda lr: best_mean(math.exp(lr))[0], bounds=(math.log(R_MIN), math.log(R_MAX)),
                                   method="bounded", options={"xatol": 1e-10, "maxiter": 500})
    candidates = [(best_mean(r), r) for r in (R_MAX, R_MIN, math.exp(float(res.x)))]
    (_, mu), r = min(candidates, key=lambda c: c[0][0])  # ties: the bound, as listed
    return float(r), float(r / (r + mu))


# Mean of D - 1 searched over [1e-9, 1e9] samples (every dwell of a log lies far inside).
_LOG_MU_BOUNDS = (math.log(1e-9), math.log(1e9))


def _stationary(transition: np.ndarray) -> np.ndarray:
    k = transition.shape[0]
    a = np.vstack([transition.T - np.eye(k), np.ones(k)])
    b = np.r_[np.zeros(k), 1.0]
    pi = np.linalg.lstsq(a, b, rcond=None)[0]
    pi = np.clip(pi, 0.0, None)
    return pi / pi.sum()


@dataclass(frozen=True)
class RegimeModel:
    levels_a: np.ndarray        # (K,) current of each level, A (> 0 discharges)
    transition: np.ndarray      # (K, K) embedded chain, zero diagonal, rows sum to 1
    dwell_r: np.ndarray         # (K,) negative binomial shape of D - 1
    dwell_p: np.ndarray         # (K,) negative binomial success probability of D - 1
    dt_s: float                 # one sample of the dwell
    capacity_ah: float = math.nan  # the cell the currents are for (a campaign scales to its own cell)
    provenance: dict = field(default_factory=dict)

    @property
    def k(self) -> int:
        return int(self.levels_a.size)

    def stationary(self) -> np.ndarray:
        """Stationary distribution of the embedded chain (the share of segments at each level)."""
        return _stationary(self.transition)

    def mean_dwell(self) -> np.ndarray:
        """E[D] per level, samples: 1 + r (1 - p) / p."""
        return 1.0 + self.dwell_r * (1.0 - self.dwell_p) / self.dwell_p

    def occupancy(self) -> np.ndarray:
        """Long-run share of time at each level (renewal-reward): pi_i E[D_i] / sum_j pi_j E[D_j]."""
        w = self.stationary() * self.mean_dwell()
        return w / w.sum()

    def mean_current_a(self) -> float:
        return float(self.occupancy() @ self.levels_a)

    def log_likelihood(self, seg: Segments) -> float:
        """Exact log-likelihood of a segment sequence given its first level."""
        s, d = np.asarray(seg.states, dtype=int), np.asarray(seg.dwells, dtype=int)
        with np.errstate(divide="ignore"):
            ll = float(np.sum(np.log(self.transition[s[:-1], s[1:]])))
        n_complete = s.size - 1 if seg.censored_last else s.size
        for i in range(s.size):
            r, p = float(self.dwell_r[s[i]]), float(self.dwell_p[s[i]])
            ll += float(dwell_logpmf(d[i], r, p) if i < n_complete else dwell_logsf(d[i], r, p))
        return ll

    def log_density(self, seg: Segments) -> float:
        """Log-density of a sampled profile (started from the stationary distribution)."""
        with np.errstate(divide="ignore"):
            return float(np.log(self.stationary()[int(seg.states[0])])) + self.log_likelihood(seg)

    def sample_segments(self, rng: np.random.Generator, n_samples: int | None = None,
                        n_segments: int | None = None) -> Segments:
        """Segments covering n_samples (the last one cut: censored), or exactly n_segments complete ones."""
        if (n_samples is None) == (n_segments is None):
            raise ValueError("sample_segments: give n_samples or n_segments")
        pi = self.stationary()
        cum = np.cumsum(self.transition, axis=1)
        s = int(min(np.searchsorted(np.cumsum(pi), rng.random(), side="right"), self.k - 1))
        states, dwells, total = [], [], 0
        while True:
            d = 1 + int(rng.negative_binomial(self.dwell_r[s], self.dwell_p[s]))
            if n_samples is not None and total + d >= n_samples:
                states.append(s)
                dwells.append(n_samples - total)
                return Segments(np.array(states), np.array(dwells), True)
            states.append(s)
            dwells.append(d)
            total += d
            if n_segments is not None and len(states) == n_segments:
                return Segments(np.array(states), np.array(dwells), False)
            s = int(min(np.searchsorted(cum[s], rng.random(), side="right"), self.k - 1))

    def profile(self, rng: np.random.Generator, duration_s: float, dt_s: float, scale: float = 1.0) -> np.ndarray:
        """A current profile of duration_s on a dt_s grid (zero-order hold of the model's samples)."""
        n_model = max(1, int(math.ceil(duration_s / self.dt_s - 1e-9)))
        seg = self.sample_segments(rng, n_samples=n_model)
        model_current = np.repeat(self.levels_a[seg.states], seg.dwells) * scale
        grid = np.arange(int(round(duration_s / dt_s))) * dt_s
        return model_current[np.minimum((grid / self.dt_s + 1e-9).astype(int), n_model - 1)]

    # -- files ----------------------------------------------------------------------------------
    def to_toml(self) -> str:
        def arr(v) -> str:
            return "[" + ", ".join(repr(float(x)) for x in np.ravel(v)) + "]"

        def val(v) -> str:
            if isinstance(v, str):
                return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
            if isinstance(v, bool):
                return "true" if v else "false"
            if isinstance(v, (list, tuple)):
                return "[" + ", ".join(val(x) for x in v) + "]"
            return repr(float(v)) if isinstance(v, float) else str(int(v))

        lines = ["# A semi-Markov regime load model (safetwin.campaign.regime); currents in A, > 0 discharges.",
                 "[model]", f"format = {FORMAT}", f"dt_s = {self.dt_s!r}"]
        if math.isfinite(self.capacity_ah):
            lines.append(f"capacity_ah = {self.capacity_ah!r}")
        lines += [f"levels_a = {arr(self.levels_a)}", f"dwell_r = {arr(self.dwell_r)}",
                  f"dwell_p = {arr(self.dwell_p)}", "transition = ["]
        lines += [f"  {arr(row)}," for row in self.transition] + ["]", "", "[provenance]"]
        lines += [f"{k} = {val(v)}" for k, v in self.provenance.items()]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_toml(cls, text: str, source: str = "<load model>") -> RegimeModel:
        import sys

        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            d = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{source}: not valid TOML ({exc})") from None
        m = d.get("model")
        if not isinstance(m, dict):
            raise ValueError(f"{source}: missing table [model]")
        for key in ("dt_s", "levels_a", "dwell_r", "dwell_p", "transition"):
            if key not in m:
                raise ValueError(f"{source}: model.{key} missing")
        try:
            levels = np.asarray(m["levels_a"], dtype=float)
            r, p = np.asarray(m["dwell_r"], dtype=float), np.asarray(m["dwell_p"], dtype=float)
            tr = np.asarray(m["transition"], dtype=float)
            dt_s = float(m["dt_s"])
        except (TypeError, ValueError):
            raise ValueError(f"{source}: model arrays must be numbers") from None
        k = levels.size
        if k < 2 or levels.ndim != 1 or not np.all(np.isfinite(levels)) or not np.all(np.diff(levels) > 0):
            raise ValueError(f"{source}: model.levels_a must hold >= 2 finite, increasing currents")
        if r.shape != (k,) or p.shape != (k,) or not (np.all(r > 0) and np.all((p > 0) & (p <= 1))):
            raise ValueError(f"{source}: model.dwell_r (> 0) and model.dwell_p (in (0, 1]) need {k} values each")
        if tr.shape != (k, k) or np.any(tr < 0) or np.any(np.abs(tr.sum(axis=1) - 1) > 1e-9) or np.any(np.diag(tr) != 0):
            raise ValueError(f"{source}: model.transition must be {k}x{k}, >= 0, rows summing to 1, zero diagonal")
        if not (math.isfinite(dt_s) and dt_s > 0):
            raise ValueError(f"{source}: model.dt_s = {dt_s!r}: must be > 0")
        return cls(levels, tr, r, p, dt_s, float(m.get("capacity_ah", math.nan)), dict(d.get("provenance", {})))


def fit(logs: list, dt_s: float, n_levels: int = DEFAULT_LEVELS, capacity_ah: float = math.nan,
        provenance: dict | None = None) -> RegimeModel:
    """MLE of the model on one or more current logs (arrays sampled every dt_s)."""
    if not (isinstance(n_levels, int) and 2 <= n_levels <= 64):
        raise ValueError(f"levels = {n_levels!r}: must be an integer in [2, 64]")
    logs = [np.asarray(x, dtype=float).ravel() for x in logs]
    if not logs or any(x.size < 2 for x in logs):
        raise ValueError("fit: every log needs at least 2 samples")
    data = np.concatenate(logs)
    if not np.all(np.isfinite(data)):
        raise ValueError("fit: the logs hold non-finite currents")
    init = np.unique(np.quantile(data, (np.arange(n_levels) + 0.5) / n_levels))
    if init.size < 2:
        raise ValueError(f"fit: the logs hold one current level only ({data[0]} A): nothing to model")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty cluster is dropped below
        centres, _ = kmeans2(data, init, minit="matrix", iter=100)
    levels = np.unique(centres)
    levels = levels[np.unique(quantise(data, levels))]  # drop a level no sample is nearest to
    k = levels.size
    segs = [segments(x, levels) for x in logs]
    counts = np.zeros((k, k))
    complete = [[] for _ in range(k)]
    censored = [[] for _ in range(k)]
    for sg in segs:
        np.add.at(counts, (sg.states[:-1], sg.states[1:]), 1.0)
        for i, (s, d) in enumerate(zip(sg.states, sg.dwells)):
            (censored if i == sg.states.size - 1 else complete)[s].append(d)
    rows = counts.sum(axis=1, keepdims=True)
    # a level only ever seen in a log's last segment has no observed exit: uniform over the others
    transition = np.where(rows > 0, counts / np.where(rows > 0, rows, 1.0), (1.0 - np.eye(k)) / (k - 1))
    rp = [_dwell_fit(np.array(complete[i]), np.array(censored[i])) for i in range(k)]
    model = RegimeModel(levels, transition, np.array([x[0] for x in rp]), np.array([x[1] for x in rp]),
                        float(dt_s), float(capacity_ah), {})
    ll = sum(model.log_likelihood(sg) for sg in segs)
    quantised_mean = float(np.mean(np.concatenate([np.repeat(levels[sg.states], sg.dwells) for sg in segs])))
    prov = {**(provenance or {}), "samples": int(data.size), "segments": int(sum(sg.states.size for sg in segs)),
            "log_likelihood": float(ll), "data_mean_current_a": float(data.mean()),
            "quantised_mean_current_a": quantised_mean}
    return RegimeModel(levels, transition, model.dwell_r, model.dwell_p, float(dt_s), float(capacity_ah), prov)


def read_log(path: str | Path) -> tuple[np.ndarray, float]:
    """A ``t_s,current_a`` CSV (a header line, then rows at one fixed interval) -> (current, dt_s)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror})") from None
    header = [h.strip() for h in lines[0].split(",")] if lines else []
    if header[:2] != ["t_s", "current_a"]:
        raise ValueError(f"{path}: line 1 = {lines[0] if lines else ''!r}: the header must read 't_s,current_a'")
    t, i = [], []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split(",")
        try:
            tv, iv = float(parts[0]), float(parts[1])
        except (ValueError, IndexError):
            raise ValueError(f"{path}: line {n} = {line!r}: needs two numbers t_s,current_a") from None
        if not (math.isfinite(tv) and math.isfinite(iv)):
            raise ValueError(f"{path}: line {n}: t_s = {tv!r}, current_a = {iv!r}: must be finite")
        t.append(tv)
        i.append(iv)
    if len(t) < 2:
        raise ValueError(f"{path}: {len(t)} rows: needs at least 2")
    dt = np.diff(t)
    step = float(np.median(dt))
    bad = np.flatnonzero(np.abs(dt - step) > 1e-6 * max(step, 1e-12) + 1e-9)
    if step <= 0 or bad.size:
        row = int(bad[0]) + 3 if bad.size else 3
        raise ValueError(f"{path}: line {row}: t_s steps by {dt[row - 3] if bad.size else step!r} s, "
                         f"the log's interval is {step!r} s: the rows must be at one fixed interval")
    return np.asarray(i), step


SHIPPED = ("udds", "us06", "hwfet", "wltc_class3b")


def shipped(name: str) -> RegimeModel:
    """The regime model fitted to a standard drive cycle (data/load_models/NAME.toml)."""
    if name not in SHIPPED:
        raise ValueError(f"load model {name!r}: unknown, expected one of {', '.join(SHIPPED)}")
    return _shipped(name)


@functools.cache
def _shipped(name: str) -> RegimeModel:
    f = resources.files("safetwin") / "data" / "load_models" / f"{name}.toml"
    return RegimeModel.from_toml(f.read_text(), str(f))
