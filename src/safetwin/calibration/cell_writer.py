"""Writes a fitted cell as a cell file (the layout ``safetwin.cellfile`` reads) with its ``[fit]`` section.

The ``[fit]`` section keeps what the fit knows about its own numbers: the parameter names (as the
fit's report lists them), whether each is fitted as a logarithm, the fitted values and their
Laplace covariance in that (transformed) space, and the residual RMS per log. ``cellfile`` accepts
and skips it when it loads the cell; ``safetwin design`` reads it as its prior.
"""
from __future__ import annotations

import math
from pathlib import Path

from safetwin.calibration.fit import FitResult

SECTION_ORDER = ("cell", "ocv", "resistance", "hysteresis", "thermal", "limits")


def _value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        v = float(v)
        if not math.isfinite(v):
            raise ValueError(f"non-finite value {v} in a cell file")
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def to_toml(cell: dict, header: str = "") -> str:
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    for name in list(SECTION_ORDER) + [k for k in cell if k not in SECTION_ORDER]:
        if name not in cell:
            continue
        lines += ["", f"[{name}]"]
        for key, v in cell[name].items():
            lines.append(f"{key} = {_value(v)}")
    return "\n".join(lines) + "\n"


def fit_section(result: FitResult, logs: list[str]) -> dict:
    keep = [k for k, g in enumerate(result.groups) if g not in ("soc0", "bias")]  # the cell's, not the logs'
    cov = result.covariance[keep][:, keep]
    return {"structure": str(result.structure), "method": "scipy least_squares (trf), finite differences over "
            "the core's Cell.simulate; Laplace covariance", "parameters": [result.names[k] for k in keep],
            "log_scale": [result.log_scale[k] for k in keep], "values": [float(result.x[k]) for k in keep],
            "covariance": [[float(c) for c in row] for row in cov], "logs": list(logs),
            "residual_rms_v": [result.residual_rms_v[p] for p in logs],
            "unidentifiable": list(result.unidentifiable)}


def write(path: str | Path, result: FitResult, logs: list[str], name: str) -> None:
    cell = {k: dict(v) for k, v in result.cell_dict.items()}
    cell["cell"]["name"] = name
    cell["fit"] = fit_section(result, logs)
    rms = ", ".join(f"{Path(p).name} {result.residual_rms_v[p] * 1000:.2f} mV" for p in logs)
    if "k_r" in result.names:
        temp = (f"Tables over SOC and temperature: Arrhenius constants k_r {result.value('k_r'):.0f} K (resistances), "
                f"k_tau {result.value('k_tau'):.0f} K (time constants) fitted from logs at several temperatures.")
    else:
        temp = "Tables over SOC at the logs' median temperature; arrhenius_k = 0: no temperature dependence fitted."
    header = (f"{name}: fitted by `safetwin fit` ({result.structure}) from {len(logs)} log(s).\n"
              f"Residual voltage RMS: {rms}.\n{temp}\n[fit] holds the parameters' values and Laplace covariance "
              "(log_scale: fitted as logarithms).")
    Path(path).write_text(to_toml(cell, header), encoding="utf-8")
