"""The verification filter of synthetic samples (seed design): an invariant set S_inv with
stricter limits, checked on every sample's true trajectory against the true limits S_true.

A sample is rejected when its true extremes leave S_inv; a false rejection is a rejected sample
that is safe under S_true. The false-rejection rate is P(rejected | safe under S_true), with a
Wilson interval under crude Monte Carlo, and the self-normalised weighted ratio (with a delta-method
interval) under importance sampling.
"""
from __future__ import annotations

import math

import numpy as np

from safetwin.campaign import estimators


def rejected(rows: list, limits) -> np.ndarray:
    return np.array([r["max_cell_voltage_v"] > limits.voltage_max_v or r["min_cell_voltage_v"] < limits.voltage_min_v
                     or r["max_cell_temp_c"] > limits.temp_max_c for r in rows], dtype=bool)


def false_rejection_rate(rows: list, limits, weighted: bool) -> dict:
    rej = rejected(rows, limits)
    safe = np.array([not r["violated"] for r in rows], dtype=bool)
    w = np.array([r["weight"] for r in rows]) if weighted else np.ones(len(rows))
    n_safe = int(safe.sum())
    k = int((rej & safe).sum())
    if n_safe == 0:
        return {"rate": None, "ci95": None, "rejected": int(rej.sum()), "false_rejections": k, "safe": 0}
    if not weighted:
        rate, ci = k / n_safe, list(estimators.wilson(k, n_safe))
    else:
        ws, y = w[safe], (rej & safe)[safe].astype(float)
        rate = float(np.sum(ws * y) / np.sum(ws))
        # delta method for a ratio of means: var = sum(w^2 (y - r)^2) / (sum w)^2
        se = math.sqrt(float(np.sum(ws ** 2 * (y - rate) ** 2)) / float(np.sum(ws)) ** 2)
        ci = [max(0.0, rate - estimators.Z95 * se), min(1.0, rate + estimators.Z95 * se)]
    return {"rate": rate, "ci95": ci, "rejected": int(rej.sum()), "false_rejections": k, "safe": n_safe}
