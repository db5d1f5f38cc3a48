"""Structural model error counted in a posterior: the white-noise sigma that its residuals are worth.

A fitted model's residuals hold the sensor noise and the model's own error. The model error is not
white: on a DFN truth a 2RC cell misses by a slow, smooth curve (hundreds of seconds of correlation),
so N residual rows carry the information of far fewer independent ones. A Laplace posterior that
treats the rows as white with the nominal sensor sigma is then overconfident by about the square
root of that correlation length.

The correction used by the fit's covariance and by the design's posterior: each residual series
counts as white noise of variance s^2 * tau_int, s^2 its mean square and tau_int its integrated
autocorrelation time (1 + 2 sum of the autocorrelations over lags, in rows; Geyer's initial positive
sequence estimator, Statistical Science 7 (1992) 473, which stops the sum where the pairs of lags
stop being positive, so a white series gives about 1). That is the variance of the series' mean
(the long-run variance), i.e. N rows are worth N / tau_int independent ones. The nominal sigma is
a floor: a fit that explains the data to below the sensor noise is not made more confident.
Residuals that pass a whiteness test count as white noise of their RMS (as before).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

WHITE_LAGS = 20    # lags of the whiteness test (Box-Pierce) per residual series
WHITE_P = 1e-3     # its level: residuals that pass count as white noise


def integrated_autocorrelation(r: np.ndarray) -> float:
    """tau_int of a series (in rows, >= 1): 1 + 2 sum_k rho_k over Geyer's initial positive sequence."""
    return _tau_and_acf(r)[0]


def _tau_and_acf(r: np.ndarray) -> tuple[float, np.ndarray]:
    """(tau_int, the autocorrelations at lags 0..n-1)."""
    r = np.asarray(r, dtype=float)
    r = r[np.isfinite(r)]
    n = len(r)
    if n < 4:
        return 1.0, np.ones(1)
    x = r - r.mean()
    var = float(x @ x) / n
    if var <= 0.0:
        return 1.0, np.ones(1)
    size = 1 << int(math.ceil(math.log2(2 * n)))
    f = np.fft.rfft(x, size)
    acf = np.fft.irfft(f * np.conj(f), size)[:n] / (n * var)  # biased estimator: rho_0 = 1
    tau = -1.0
    for m in range(n // 2):
        pair = acf[2 * m] + acf[2 * m + 1]  # Gamma_m = rho_2m + rho_2m+1, positive for a reversible chain
        if pair <= 0.0:
            break
        tau += 2.0 * pair
    return max(1.0, tau), acf


def effective_sigma(residuals: list[np.ndarray], nominal_sigma: float) -> tuple[float, float, bool]:
    """(sigma, tau, white) for a set of residual series (one per log).

    white: the residuals are indistinguishable from white noise (Box-Pierce, WHITE_LAGS lags per
    series pooled, p >= WHITE_P); then sigma is their RMS floored at nominal_sigma and tau 1 (the
    estimator of tau_int has a positive bias of about 0.1 on white series of a few thousand rows,
    which must not inflate the posterior of a model that can follow the truth).
    Else sigma is the white-noise sigma whose Laplace posterior carries the residuals' long-run
    variance, sqrt(sum n_i s_i^2 tau_i / sum n_i), floored at nominal_sigma, and tau the rows'
    pooled correlation time, sum n_i s_i^2 tau_i / sum n_i s_i^2."""
    num = den = ms = q = 0.0
    dof = 0
    for r in residuals:
        r = np.asarray(r, dtype=float)
        r = r[np.isfinite(r)]
        if len(r) == 0:
            continue
        s2 = float(np.mean(r * r))
        tau, acf = _tau_and_acf(r)
        num += len(r) * s2 * tau
        ms += len(r) * s2
        den += len(r)
        lags = min(WHITE_LAGS, len(acf) - 1)
        q += len(r) * float(np.sum(acf[1:lags + 1] ** 2))
        dof += lags
    if den == 0 or ms == 0:
        return nominal_sigma, 1.0, True
    if dof == 0 or chi2.sf(q, dof) >= WHITE_P:
        return max(nominal_sigma, math.sqrt(ms / den)), 1.0, True
    return max(nominal_sigma, math.sqrt(num / den)), num / ms, False
