"""Bayesian degradation-rate model and remaining useful life (RUL) as a distribution.

Model (the design's, per cell)::

    x_k = x_{k-1} + a * D_k + eta_k,    eta_k ~ N(0, q * D_k)      (degradation)
    y_k = x_k + eps_k,                  eps_k ~ N(0, r_k)          (a state-of-health estimate)

with x the capacity fade relative to nominal (1 - capacity_rel), a the degradation rate, D_k the
increment of the stress axis since the last estimate, q the process-noise density and r_k the
variance of the SOH estimate (the EKF's capacity covariance). The state [x, a] is linear Gaussian,
so a Kalman filter over it gives the exact conjugate Gaussian posterior of the rate (and of the
present fade); with ``noise="inverse_gamma"`` all variances carry an unknown common scale with an
inverse-gamma prior, and the filter is the conjugate normal/inverse-gamma one (West & Harrison,
Bayesian Forecasting, sec. 4.6): the posterior is Student-t.

The stress axis, and why it is not the throughput: the ageing laws of the plant (Schmalstieg 2014,
``safetwin.diagnostics.ageing``) are t^0.75 and sqrt(Q), so a fade linear in raw throughput or time
is misspecified (the rate would fall over life and the RUL come out long). D_k is instead the
increment of the ageing model's own stress integral: the fade the nominal model (the paper's cell)
predicts for the logged stress (``stress_axis``). The rate a is then the cell's ageing-rate factor
relative to the paper's cell (a = 1: ages as the paper's cell), the model is linear in the
transformed axis, and extrapolation to end of life follows the laws' curvature through the planned
future stress.

RUL: end of life is the first cycle at which the capacity falls to ``eol_capacity_rel`` of nominal
(0.8 by default). ``rul`` draws the posterior and the future process noise and returns, per cell,
the median and the 90 % interval in cycles of the future plan (``inf`` beyond the plan's horizon),
interpolated linearly between the ends of the plan's cycles (without process noise; with it, the
first cycle end past end of life).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetwin.diagnostics.ageing import age

NOISE_MODELS = ("known", "inverse_gamma")


@dataclass(frozen=True)
class DegradationPrior:
    """Prior of the degradation model (fade and rate are dimensionless; the rate per unit of D)."""

    fade0_mean: float = 0.0     # fade at D = 0 relative to nominal (manufacturing spread: +- a few %)
    fade0_sigma: float = 0.02
    rate_mean: float = 1.0      # the paper's cell
    rate_sigma: float = 0.5
    process_sigma: float = 0.0  # sqrt(q): eta's standard deviation per sqrt(unit of D)
    noise: str = "known"        # "known" or "inverse_gamma" (unknown common scale of all variances)
    noise_dof0: float = 4.0     # inverse-gamma prior: degrees of freedom (prior scale 1)

    def __post_init__(self):
        for name in ("fade0_mean", "rate_mean"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"DegradationPrior.{name} = {getattr(self, name)!r}: must be finite")
        for name in ("fade0_sigma", "rate_sigma"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"DegradationPrior.{name} = {v!r}: must be finite and > 0")
        if not (np.isfinite(self.process_sigma) and self.process_sigma >= 0):
            raise ValueError(f"DegradationPrior.process_sigma = {self.process_sigma!r}: must be finite and >= 0")
        if self.noise not in NOISE_MODELS:
            raise ValueError(f"DegradationPrior.noise = {self.noise!r}: must be one of {NOISE_MODELS}")
        if not (np.isfinite(self.noise_dof0) and self.noise_dof0 > 0):
            raise ValueError(f"DegradationPrior.noise_dof0 = {self.noise_dof0!r}: must be finite and > 0")


@dataclass(frozen=True)
class RulResult:
    """RUL per cell, in cycles (intervals) of the future plan; ``inf`` beyond its horizon."""

    median: np.ndarray
    ci90: np.ndarray           # (cells, 2): the 5 % and 95 % quantiles
    p_beyond_horizon: np.ndarray


def stress_axis(duration_s, temp_k, soc_mean, throughput_ah, dod, model=None) -> np.ndarray:
    """The stress axis: cumulative fade of the nominal ageing model over the given intervals.

    Same arguments as ``ageing.age``; returns (cells, intervals) (or (intervals,) for one cell).
    """
    return 1.0 - age(duration_s, temp_k, soc_mean, throughput_ah, dod, model=model)["capacity_factor"]


def usage_variability(logged_axis_increments, planned_axis_increments) -> tuple:
    """How the logged stress strayed from the plan, per cell: (ratio, axis_sigma).

    Arguments: (cells, intervals) axis increments of the past as logged and as the plan had them
    (NaN where a cell has no such interval). ``ratio`` = sum(logged) / sum(planned) corrects the
    plan's level (the ageing laws are convex in temperature, so a jittering ambient ages faster
    than its mean); ``axis_sigma``^2 = sum((logged - ratio planned)^2) / sum(planned) is the
    random-walk variance per unit of planned axis, for ``DegradationModel.rul``.
    """
    logged = np.asarray(logged_axis_increments, dtype=float)
    planned = np.asarray(planned_axis_increments, dtype=float)
    if logged.shape != planned.shape or logged.ndim != 2:
        raise ValueError(f"logged and planned increments must have one (cells, intervals) shape; got "
                         f"{logged.shape} and {planned.shape}")
    use = np.isfinite(logged) & np.isfinite(planned)
    lg, pl = np.where(use, logged, 0.0), np.where(use, planned, 0.0)
    total = pl.sum(axis=1)
    ratio = np.divide(lg.sum(axis=1), total, out=np.ones(len(total)), where=total > 0)
    resid = np.where(use, lg - ratio[:, None] * pl, 0.0)
    sigma = np.sqrt(np.divide((resid**2).sum(axis=1), total, out=np.zeros(len(total)), where=total > 0))
    return ratio, sigma


class DegradationModel:
    """The Kalman / normal-inverse-gamma posterior over [fade, rate] of ``cells`` cells at once."""

    def __init__(self, cells: int, prior: DegradationPrior | None = None):
        if int(cells) != cells or cells < 1:
            raise ValueError(f"cells = {cells!r}: must be an integer >= 1")
        self.prior = prior or DegradationPrior()
        p = self.prior
        self.cells = int(cells)
        self.mean = np.tile([p.fade0_mean, p.rate_mean], (self.cells, 1))
        # In the inverse-gamma model these are the scale-free variances (times the scale estimate).
        self.cov = np.tile(np.diag([p.fade0_sigma**2, p.rate_sigma**2]), (self.cells, 1, 1))
        self.axis = np.zeros(self.cells)  # D accumulated since the start
        self.dof = np.full(self.cells, p.noise_dof0)
        self.scale = np.ones(self.cells)  # the inverse-gamma scale estimate S (1 in the known model)
        self.updates = np.zeros(self.cells, dtype=int)

    def update(self, d_axis, capacity_rel, capacity_sigma) -> None:
        """One SOH estimate per cell: the axis increment since the last one, the estimate of the
        capacity relative to nominal and its standard deviation (NaN: no estimate for that cell,
        the prediction still advances)."""
        d = self._vector(d_axis, "d_axis")
        y = 1.0 - self._vector(capacity_rel, "capacity_rel", allow_nan=True)
        sigma = self._vector(capacity_sigma, "capacity_sigma", allow_nan=True)
        if np.any(d < 0):
            raise ValueError(f"d_axis = {d.min()!r}: must be >= 0 (the stress axis only grows)")
        seen = np.isfinite(y)
        if np.any(seen & ~(sigma > 0)):
            raise ValueError(f"capacity_sigma = {sigma[seen & ~(sigma > 0)][0]!r}: must be > 0 where an estimate is given")
        # Predict: x += a d (F = [[1, d], [0, 1]]), Q = diag(q d, 0) (scale-free in the IG model).
        m, c = self.mean.copy(), self.cov.copy()
        m[:, 0] += m[:, 1] * d
        c00 = c[:, 0, 0] + 2 * d * c[:, 0, 1] + d * d * c[:, 1, 1] + self.prior.process_sigma**2 * d
        c01 = c[:, 0, 1] + d * c[:, 1, 1]
        c[:, 0, 0], c[:, 0, 1], c[:, 1, 0] = c00, c01, c01
        # Update with y = x + eps (H = [1, 0]).
        ig = self.prior.noise == "inverse_gamma"
        r = np.where(seen, sigma, 1.0) ** 2
        q_star = c[:, 0, 0] + r  # innovation variance (scale-free in the IG model)
        e = np.where(seen, y - m[:, 0], 0.0)
        gain = c[:, :, 0] / q_star[:, None]
        m_new = m + gain * e[:, None]
        c_new = c - gain[:, :, None] * gain[:, None, :] * q_star[:, None, None]
        self.mean = np.where(seen[:, None], m_new, m)
        self.cov = np.where(seen[:, None, None], c_new, c)
        if ig:
            # d' = d + e^2 / Q*, n' = n + 1; S = d / n (W&H 4.6, with the variances scale-free).
            ss = self.dof * self.scale + np.where(seen, e * e / q_star, 0.0)
            self.dof = self.dof + seen
            self.scale = ss / self.dof
        self.axis = self.axis + d
        self.updates += seen

    def posterior(self):
        """(mean (cells, 2), covariance (cells, 2, 2), dof (cells,)) of [fade, rate]: Gaussian
        (dof = inf) in the known-noise model, multivariate Student-t in the inverse-gamma one."""
        if self.prior.noise == "inverse_gamma":
            return self.mean.copy(), self.cov * self.scale[:, None, None], self.dof.copy()
        return self.mean.copy(), self.cov.copy(), np.full(self.cells, np.inf)

    def draw(self, samples: int, rng: np.random.Generator) -> np.ndarray:
        """Posterior draws of [fade, rate]: (cells, samples, 2)."""
        mean, cov, dof = self.posterior()
        chol = np.linalg.cholesky(cov + 1e-300 * np.eye(2))
        z = rng.standard_normal((self.cells, samples, 2))
        draws = np.einsum("cij,csj->csi", chol, z)
        if self.prior.noise == "inverse_gamma":
            w = rng.chisquare(dof[:, None], (self.cells, samples)) / dof[:, None]
            draws = draws / np.sqrt(w)[:, :, None]
        return mean[:, None, :] + draws

    def rul(self, future_axis, *, axis_sigma=0.0, eol_capacity_rel: float = 0.8, samples: int = 4000,
            rng: np.random.Generator | None = None) -> RulResult:
        """RUL in cycles of the future plan.

        ``future_axis``: (cells, horizon) stress-axis increments from now to the end of each
        future cycle (cumulative, non-decreasing; e.g. ``stress_axis`` over past + planned stress
        minus its present value). ``axis_sigma`` (per cell): how far the realised axis strays from
        the plan, as a random walk with variance axis_sigma^2 per unit of planned axis (usage
        never follows a plan exactly; ``usage_variability`` estimates it from the logged history).
        The end-of-life fade is 1 - eol_capacity_rel.

        Per posterior draw (x, a): with neither process noise nor plan deviation, end of life is
        where a * G reaches x_eol - x. With them, the fade over the planned axis is a Brownian
        motion with drift a and variance a^2 axis_sigma^2 + q per unit of axis, so the axis at end of
        life is inverse Gaussian (mean L / a, shape L^2 / variance, L = x_eol - x; drawn with
        numpy's Wald sampler) -- the exact first passage. A draw with a <= 0 never reaches end of
        life (inf).
        """
        if not (0 < eol_capacity_rel < 1):
            raise ValueError(f"eol_capacity_rel = {eol_capacity_rel!r}: must be in (0, 1)")
        g = np.asarray(future_axis, dtype=float)
        if g.ndim == 1:
            g = g[None, :]
        if g.shape[0] != self.cells or g.ndim != 2 or g.shape[1] < 1:
            raise ValueError(f"future_axis must have shape ({self.cells}, horizon); got {np.shape(future_axis)}")
        if not np.all(np.isfinite(g)) or np.any(np.diff(g, axis=1) < 0) or np.any(g[:, 0] < 0):
            raise ValueError("future_axis must be finite, >= 0 and non-decreasing along the horizon")
        axis_sigma = self._vector(axis_sigma, "axis_sigma")
        if np.any(axis_sigma < 0):
            raise ValueError(f"axis_sigma = {axis_sigma.min()!r}: must be >= 0")
        rng = rng or np.random.default_rng(0)
        theta = self.draw(samples, rng)  # (cells, samples, 2)
        x, a = theta[:, :, 0], theta[:, :, 1]
        x_eol = 1.0 - eol_capacity_rel
        q = self.prior.process_sigma**2 * (self.scale if self.prior.noise == "inverse_gamma" else 1.0)
        variance = (a * a * axis_sigma[:, None] ** 2 + np.broadcast_to(q, (self.cells,))[:, None])
        reaches = a > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.maximum(x_eol - x, 0.0)
            need = np.where(reaches, level / a, np.inf)
            noisy = reaches & (variance > 0) & (level > 0)
            shape = np.where(noisy, level * level / variance, 1.0)
        need = np.where(noisy, rng.wald(np.where(noisy, need, 1.0), shape), need)
        horizon = g.shape[1]
        cycles = np.arange(0, horizon + 1, dtype=float)
        out = np.empty((self.cells, samples))
        for i in range(self.cells):
            # Where the plan's axis reaches it, linear between the ends of the plan's cycles.
            n = np.interp(need[i], np.concatenate(([0.0], g[i])), cycles)
            out[i] = np.where(need[i] > g[i, -1], np.inf, n)
        # Quantiles of actual draws (no interpolation toward an infinite draw).
        return RulResult(median=np.quantile(out, 0.5, axis=1, method="inverted_cdf"),
                         ci90=np.quantile(out, [0.05, 0.95], axis=1, method="inverted_cdf").T,
                         p_beyond_horizon=np.mean(np.isinf(out), axis=1))

    def _vector(self, v, name, allow_nan=False):
        a = np.broadcast_to(np.asarray(v, dtype=float), (self.cells,)).copy()
        bad = ~np.isfinite(a) & ~(allow_nan & np.isnan(a))
        if np.any(bad):
            raise ValueError(f"{name} = {a[bad][0]!r}: must be finite")
        return a
