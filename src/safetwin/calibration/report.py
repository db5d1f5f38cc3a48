"""The fit's report: a summary dict (the CLI's --json), parameter table, residual and correlation plots."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from safetwin.calibration.fit import FitResult, Problem


def summary(result: FitResult, problem: Problem) -> dict:
    sig = result.sigma
    params = []
    for k, name in enumerate(result.names):
        x, s = float(result.x[k]), float(sig[k])
        value = math.exp(x) if result.log_scale[k] else x
        params.append({"name": name, "value": value, "sigma": value * s if result.log_scale[k] else s,
                       "interval_95": [math.exp(x - 1.96 * s), math.exp(x + 1.96 * s)] if result.log_scale[k]
                       else [x - 1.96 * s, x + 1.96 * s],
                       "data_share": float(result.data_share[k]), "unidentifiable": name in result.unidentifiable,
                       "at_bound": result.at_bound.get(name)})
    return {"structure": str(result.structure), "logs": [lg.path for lg in problem.logs],
            "residual_rms_mv": {p: v * 1000 for p, v in result.residual_rms_v.items()},
            "segment_rms_mv": {k: v * 1000 for k, v in result.segment_rms_v.items()},
            "capacity_ah": result.value("capacity_ah"), "sigma_v_used_mv": result.sigma_v * 1000,
            "unidentifiable": result.unidentifiable, "at_bound": result.at_bound,
            "correlated": [{"a": a, "b": b, "correlation": c} for a, b, c in result.correlated],
            "evaluations": result.evaluations, "wall_s": result.wall_s,
            "jacobian": "finite differences (2-point) over the core's Cell.simulate", "parameters": params}


def write(directory: str | Path, result: FitResult, problem: Problem) -> list[Path]:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    s = summary(result, problem)
    written = [out / "report.json", out / "parameters.csv"]
    written[0].write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
    with written[1].open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["name", "value", "sigma", "lo_95", "hi_95", "data_share", "unidentifiable"])
        for p in s["parameters"]:
            w.writerow([p["name"], f"{p['value']:.6g}", f"{p['sigma']:.3g}", f"{p['interval_95'][0]:.6g}",
                        f"{p['interval_95'][1]:.6g}", f"{p['data_share']:.3f}", int(p["unidentifiable"])])
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for lg, v in zip(problem.logs, result.model_v):
        fig, ax = plt.subplots(2, 1, figsize=(9, 5.5), sharex=True)
        ax[0].plot(lg.t_s, lg.voltage_v, lw=0.6, label="measured")
        ax[0].plot(lg.t_s, v, lw=0.6, label="fitted model")
        ax[0].set_ylabel("voltage (V)")
        ax[0].legend(loc="best")
        ax[1].plot(lg.t_s, (v - lg.voltage_v) * 1000, lw=0.5)
        ax[1].set_ylabel("model - measured (mV)")
        ax[1].set_xlabel("t (s)")
        ax[0].set_title(f"{Path(lg.path).name}: RMS {result.residual_rms_v[lg.path] * 1000:.2f} mV")
        fig.tight_layout()
        p = out / f"residuals_{Path(lg.path).name.split('.')[0]}.png"
        fig.savefig(p, dpi=90)
        plt.close(fig)
        written.append(p)
    keep = [k for k, g in enumerate(result.groups) if g not in ("ocv",)]
    corr = result.correlation()[np.ix_(keep, keep)]
    fig, ax = plt.subplots(figsize=(9, 8))
    im = ax.imshow(corr, vmin=-1, vmax=1, cmap="RdBu_r")
    ax.set_xticks(range(len(keep)))
    ax.set_yticks(range(len(keep)))
    ax.set_xticklabels([result.names[k] for k in keep], rotation=90, fontsize=5)
    ax.set_yticklabels([result.names[k] for k in keep], fontsize=5)
    fig.colorbar(im, ax=ax, label="correlation")
    ax.set_title("parameter correlation (OCV nodes left out)")
    fig.tight_layout()
    p = out / "correlation.png"
    fig.savefig(p, dpi=110)
    plt.close(fig)
    written.append(p)
    return written
