"""Plots of a campaign result (matplotlib, Agg): the robustness histogram, the failures over the
sampled parameters, and the estimate's convergence with its 95 % interval."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from safetwin.campaign import estimators


def _running(rows: list, method: str):
    failure = np.array([r["failure"] for r in rows], dtype=float)
    w = np.array([r["weight"] for r in rows]) if method != "mc" else np.ones(len(rows))
    y = w * failure
    k = np.arange(1, len(rows) + 1)
    p = np.cumsum(y) / k
    if method == "mc":
        ci = np.array([estimators.wilson(int(c), int(n)) for c, n in zip(np.cumsum(failure), k)])
        return k, p, ci[:, 0], ci[:, 1]
    m2 = np.cumsum(y ** 2) / k
    se = np.sqrt(np.maximum(m2 - p ** 2, 0.0) / np.maximum(k - 1, 1))
    return k, p, np.maximum(p - estimators.Z95 * se, 0.0), p + estimators.Z95 * se


def write(out_dir: Path, campaign, rows: list) -> list:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    paths = []
    robust = [k for k in rows[0] if k.startswith("robust_")] or ["score"]
    fig, axes = plt.subplots(1, len(robust), figsize=(3.2 * len(robust), 3), squeeze=False)
    for ax, key in zip(axes[0], robust):
        x = np.array([r[key] for r in rows], dtype=float)
        x = x[np.isfinite(x)]
        ax.hist(x, bins=40, color="tab:blue")
        ax.axvline(0.0, color="r", ls="--")
        ax.set_xlabel(key)
    axes[0][0].set_ylabel("samples")
    fig.suptitle(f"{campaign.name}: robustness (< 0: limit violated)")
    fig.tight_layout()
    paths.append(out_dir / "robustness.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    cont = [k for k, d in campaign.variables.items() if d.kind == "continuous"][:2]
    if len(cont) == 2:
        fail = np.array([r["failure"] for r in rows], dtype=bool)
        x = np.array([r[cont[0]] for r in rows], dtype=float)
        y = np.array([r[cont[1]] for r in rows], dtype=float)
        fig, ax = plt.subplots(figsize=(5, 4))
        ax.scatter(x[~fail], y[~fail], s=6, c="tab:gray", label="safe")
        ax.scatter(x[fail], y[fail], s=10, c="tab:red", label="failure")
        ax.set_xlabel(cont[0])
        ax.set_ylabel(cont[1])
        ax.legend()
        ax.set_title(f"{campaign.name}: failures over the sampled parameters")
        fig.tight_layout()
        paths.append(out_dir / "failures.png")
        fig.savefig(paths[-1], dpi=90)
        plt.close(fig)

    k, p, lo, hi = _running(rows, campaign.method)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(k, p, label="estimate")
    ax.fill_between(k, lo, hi, alpha=0.3, label="95 % interval")
    ax.set_xlabel("samples of the estimate")
    ax.set_ylabel("P(failure)")
    ax.set_title(f"{campaign.name}: convergence ({campaign.method})")
    ax.legend()
    fig.tight_layout()
    paths.append(out_dir / "convergence.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    return paths
