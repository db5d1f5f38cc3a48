"""The design's posterior on a truth its model cannot follow: PyBaMM's DFN (the committed logs of
tools/make_fit_data.py, Chen2020 at 25 degC, 2 mV sensor noise).

There are no true 2RC constants of a DFN; the reference is the 2RC constants fitted to all four DFN
logs at once (HPPC, CC-CV, UDDS, WLTC: 9.3 h), with the design's own model (REF-CELL-1's OCV,
constant R0, R1, tau1, R2, tau2, capacity). Each experiment (the first 1C step, one HPPC block from its rest, the C/5
tail, the CC-CV charge, the UDDS, the WLTC: 14 data sets a design could have run) updates a fresh
design from the REF-CELL-1 prior (+/-30 %); its 95 % intervals should hold the reference at about
95 %. Counting the residuals as white 2 mV noise (the design before model error was counted) they
held it in 2 to 7 % of the cases; with the residuals' long-run variance (model_error.effective_sigma)
in 17 to 43 %: better, not nominal (the test below says why)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.stats import binom, fisher_exact

from safetwin.calibration import design as dz
from safetwin.calibration import model_error
from safetwin.cellfile import shipped_cell_path
from safetwin.commands.design import make_design

DATA = Path(__file__).parent / "data" / "fit"
Z95 = 1.959964


def _log(name):
    return np.genfromtxt(DATA / f"{name}.csv.gz", delimiter=",", names=True)


def experiments():
    """(soc0, current, voltage) of every experiment that starts rested."""
    out = []
    h = _log("hppc")
    rest = np.abs(h["current_true_a"]) < 1e-9
    starts = [k for k in range(1, len(rest)) if not rest[k] and rest[k - 1] and rest[max(0, k - 600):k].all()]
    ends = starts[1:] + [len(rest)]
    for a, b in zip(starts, ends):
        out.append((float(h["soc_true"][a]), h["current_a"][a:b], h["voltage_v"][a:b]))
    for name in ("cccv", "udds", "wltc"):
        u = _log(name)
        out.append((float(u["soc_true"][0]), u["current_a"], u["voltage_v"]))
    return out


def posteriors(exps, count_model_error: bool):
    out = []
    for soc0, i, v in exps:
        d = make_design(str(shipped_cell_path("ref_cell_1")), soc0, None, count_model_error=count_model_error)
        d.update(np.ascontiguousarray(i), v)  # without the flag: residuals counted as white sensor noise
        out.append((d.theta.copy(), np.sqrt(np.diag(d.sigma)), d.noise_tau))
    return out


def test_autocorrelation_time_of_white_and_ar1_series():
    """tau_int against closed forms: 1 for white noise, (1 + phi) / (1 - phi) for an AR(1)."""
    rng = np.random.default_rng(1)
    white = rng.normal(size=200_000)
    assert abs(model_error.integrated_autocorrelation(white) - 1.0) < 0.05
    phi = 0.9
    e = rng.normal(size=200_000)
    x = np.empty_like(e)
    x[0] = e[0]
    for k in range(1, len(e)):
        x[k] = phi * x[k - 1] + e[k]
    expect = (1 + phi) / (1 - phi)  # 19
    # the estimator's standard error at N = 2e5 and tau 19: about sqrt(2 (2M+1) / N) tau ~ 0.1 tau
    assert abs(model_error.integrated_autocorrelation(x) - expect) < 0.1 * expect
    sigma, tau, is_white = model_error.effective_sigma([0.001 * x], 0.002)
    assert not is_white and abs(tau - expect) < 0.1 * expect
    assert abs(sigma - 0.001 * np.sqrt(np.mean(x * x) * tau)) < 1e-12
    # white residuals: their RMS (3 mV here), or the sensor floor (1 mV residuals, 2 mV floor)
    assert model_error.effective_sigma([0.003 * white], 0.002) == (pytest.approx(0.003 * np.sqrt(np.mean(white ** 2))), 1.0, True)
    assert model_error.effective_sigma([0.001 * white], 0.002) == (0.002, 1.0, True)


def test_counting_model_error_raises_the_coverage_of_dfn_fitted_constants():
    """Three references (the constants fitted to all 14 runs, to the 9 HPPC pulse blocks, to the two
    drive cycles): the 95 % intervals counted as white 2 mV noise hold each far less often than
    95 % (below the binomial acceptance interval); counting the residuals' long-run variance holds
    it significantly more often (Fisher's exact test, p < 1 %). It does not reach 95 %: the DFN's
    best constants move with the conditions (its R0 falls with current, its slow relaxation is a
    diffusion, not an RC pair), a bias that no noise model of one run's residuals can see."""
    exps = experiments()
    assert len(exps) == 14
    base = make_design(str(shipped_cell_path("ref_cell_1")), 0.9, None)
    refs = {"all runs": dz.fit_constants(base, exps), "HPPC blocks": dz.fit_constants(base, exps[1:10]),
            "drive cycles": dz.fit_constants(base, exps[-2:])}
    post = {flag: posteriors(exps, flag) for flag in (False, True)}
    for label, ref in refs.items():
        hits = {flag: int(sum(np.sum(np.abs(th - ref) < Z95 * sig) for th, sig, _ in post[flag])) for flag in post}
        n = len(exps) * len(ref)
        print(f"coverage of the constants fitted to {label} at 95 %: white {hits[False]}/{n}, "
              f"model error counted {hits[True]}/{n}")
        assert hits[False] < binom.ppf(0.025, n, 0.95)
        table = [[hits[True], n - hits[True]], [hits[False], n - hits[False]]]
        assert fisher_exact(table, alternative="greater")[1] < 0.01
    # the residuals of every run are correlated model error (tau_int well above 1 row)
    assert min(tau for _, _, tau in post[True]) > 2.0
