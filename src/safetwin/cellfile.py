"""Cell files: a cell a user brings, as TOML, loaded into the core's ``CellParams``.

The parsing stays in Python (``tomllib``); the C++ core takes the parsed ``CellParams`` (its step
paths never read files). Keys carry their units; temperatures are in degC in the file and in K in
the core. Every error names the file, the key and the reason or the limit (``CellFileError``, a
``ValueError``). The layout::

    [cell]        name = "...", capacity_ah = 5.15, coulombic_efficiency = 1.0
    [ocv]         soc = [...], voltage_v = [...]          # soc strictly increasing, >= 2 points
                  entropic_v_per_k = [...]                # optional dU/dT on the same soc points
    [resistance]  r0_ohm = 0.021                           # a number or a table (below)
                  r0_charge_ohm = ...                      # optional, used when charging
                  arrhenius_k = 2000.0                     # on constant resistances (0: none)
                  exchange_current_a = 1.0                 # optional Butler-Volmer I0 (A) in series with R0
                  rc_pairs = [{r_ohm = 0.0075, tau_s = 13.0}, ...]   # 1..3 pairs, optional r_charge_ohm
    [hysteresis]  gamma = 90.0, m_v = 0.015, m0_v = 0.002  # optional section (Plett vol. 1 sec. 3.10)
    [thermal]     heat_capacity_j_per_k = 52.0, heat_transfer_w_per_k = 0.3, ambient_c = 25.0
    [limits]      voltage_min_v, voltage_max_v, temperature_max_c, temperature_min_c (optional),
                  charge_current_max_a, discharge_current_max_a

A table is ``{soc = [...], temperature_c = [...], values = [[...], ...]}`` with one row per SOC
point (bilinear interpolation, clamped at the edges); a table already holds the temperature
dependence (no Arrhenius factor). An RC pair's capacitance is tau / R: for a tabulated R and a
constant tau it is tabulated on R's points. ``exchange_current_a`` (I0) adds a Butler-Volmer
charge-transfer overpotential (2RT/F) asinh(I / (2 I0)) in series with R0: a resistance that falls
with the current (absent: the linear R0 alone).
"""
from __future__ import annotations

import math
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from safetwin._core import ZERO_CELSIUS_K, CellParams, HysteresisParams, OcvTable, ParamSurface

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - the hil extra brings tomli on older Pythons
    import tomli as tomllib

MAX_RC_PAIRS = 3
MAX_EXCHANGE_CURRENT_A = 1e4  # the core's kMaxExchangeCurrentA
_SECTIONS = {
    "cell": {"name", "capacity_ah", "coulombic_efficiency"},
    "ocv": {"soc", "voltage_v", "entropic_v_per_k"},
    "resistance": {"r0_ohm", "r0_charge_ohm", "arrhenius_k", "exchange_current_a", "rc_pairs"},
    "hysteresis": {"gamma", "m_v", "m0_v"},
    "thermal": {"heat_capacity_j_per_k", "heat_transfer_w_per_k", "ambient_c"},
    "limits": {"voltage_min_v", "voltage_max_v", "temperature_max_c", "temperature_min_c",
               "charge_current_max_a", "discharge_current_max_a"},
    # written by `safetwin fit` (calibration.cell_writer): the fit's parameters and covariance; not
    # part of the cell's model, skipped here, read by `safetwin design` (load_fit_section)
    "fit": {"structure", "method", "parameters", "log_scale", "values", "covariance", "logs",
            "residual_rms_v", "unidentifiable"},
}
_REQUIRED = {"cell", "ocv", "resistance", "thermal", "limits"}


class CellFileError(ValueError):
    """A cell file that cannot be used: the message names the file, the key and why."""


class _Reader:
    """Typed access to one parsed file with errors that name the file and the key."""

    def __init__(self, path: str, data: dict[str, Any]):
        self.path = path
        self.data = data

    def fail(self, key: str, reason: str) -> None:
        raise CellFileError(f"{self.path}: {key}: {reason}")

    def section(self, name: str) -> dict[str, Any]:
        sec = self.data.get(name)
        if sec is None:
            if name in _REQUIRED:
                self.fail(f"[{name}]", "missing section")
            return {}
        if not isinstance(sec, dict):
            self.fail(f"[{name}]", f"must be a table, got {type(sec).__name__}")
        for k in sec:
            if k not in _SECTIONS[name]:
                self.fail(f"{name}.{k}", f"unknown key (known: {', '.join(sorted(_SECTIONS[name]))})")
        return sec

    def number(self, sec: dict[str, Any], section: str, key: str, *, default: float | None = None,
               lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
        name = f"{section}.{key}"
        if key not in sec:
            if default is None:
                self.fail(name, "missing")
            return default
        v = sec[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            self.fail(name, f"must be a number, got {v!r}")
        v = float(v)
        if not math.isfinite(v):
            self.fail(name, f"must be finite, got {v}")
        if lo is not None and (v <= lo if lo_open else v < lo):
            self.fail(name, f"= {v} must be {'>' if lo_open else '>='} {lo}")
        if hi is not None and v > hi:
            self.fail(name, f"= {v} must be <= {hi}")
        return v

    def array(self, value: Any, name: str, *, min_len: int = 1, increasing: bool = False) -> np.ndarray:
        if not isinstance(value, list) or not all(isinstance(x, (int, float)) and not isinstance(x, bool)
                                                  for x in value):
            self.fail(name, "must be an array of numbers")
        a = np.asarray(value, dtype=float)
        if len(a) < min_len:
            self.fail(name, f"has {len(a)} points, needs >= {min_len}")
        if not np.all(np.isfinite(a)):
            self.fail(name, "must hold finite numbers")
        if increasing and np.any(np.diff(a) <= 0):
            i = int(np.argmax(np.diff(a) <= 0)) + 1
            self.fail(name, f"must be strictly increasing ([{i}] = {a[i]} after {a[i - 1]})")
        return a

    def surface(self, value: Any, name: str, *, positive: bool = True) -> tuple[ParamSurface, Any]:
        """A number or a table -> (ParamSurface, the constant or (soc, temp_k, values))."""
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            v = float(value)
            if not math.isfinite(v) or (positive and not v > 0):
                self.fail(name, f"= {v} must be finite and > 0")
            return ParamSurface.constant(v), v
        if not isinstance(value, dict):
            self.fail(name, "must be a number or a table {soc = [...], temperature_c = [...], values = [[...]]}")
        for k in value:
            if k not in ("soc", "temperature_c", "values"):
                self.fail(f"{name}.{k}", "unknown key (known: soc, temperature_c, values)")
        for k in ("soc", "temperature_c", "values"):
            if k not in value:
                self.fail(f"{name}.{k}", "missing")
        soc = self.array(value["soc"], f"{name}.soc", increasing=True)
        temp_c = self.array(value["temperature_c"], f"{name}.temperature_c", increasing=True)
        rows = value["values"]
        if not isinstance(rows, list) or len(rows) != len(soc):
            self.fail(f"{name}.values", f"must have one row per soc point ({len(soc)} rows)")
        # Row by row, as the C++ reader (cell_file.cpp) does, with its messages: a ragged table is
        # refused naming the key, not by numpy's "inhomogeneous shape" (found by fuzz_parsers.py cell).
        for i, r in enumerate(rows):
            n = len(self.array(r, f"{name}.values[{i}]", min_len=len(temp_c)))
            if n != len(temp_c):
                self.fail(f"{name}.values", f"must be {len(soc)} x {len(temp_c)}, got ({len(soc)}, {n})")
        vals = np.array(rows, dtype=float)
        if positive and np.any(vals <= 0):
            self.fail(f"{name}.values", f"must be > 0 everywhere (min {vals.min()})")
        temp_k = temp_c + ZERO_CELSIUS_K
        return ParamSurface.table(soc, temp_k, vals, name), (soc, temp_k, vals)


def _capacitance(reader: _Reader, name: str, r: Any, tau: Any) -> ParamSurface:
    """C = tau / R as a surface (the core's time constant is R * C of the surfaces)."""
    if not isinstance(r, tuple) and not isinstance(tau, tuple):
        return ParamSurface.constant(tau / r)
    if isinstance(r, tuple) and isinstance(tau, tuple):
        if not (np.array_equal(r[0], tau[0]) and np.array_equal(r[1], tau[1])):
            reader.fail(name, "a tabulated r_ohm and tau_s must share their soc and temperature_c points")
        return ParamSurface.table(r[0], r[1], tau[2] / r[2], name)
    if isinstance(r, tuple):
        return ParamSurface.table(r[0], r[1], tau / r[2], name)
    return ParamSurface.table(tau[0], tau[1], tau[2] / r, name)


def parse_cell(data: dict[str, Any], path: str = "<cell file>") -> tuple[str, CellParams]:
    """A parsed cell file (a dict as tomllib returns it) -> (name, CellParams)."""
    rd = _Reader(path, data)
    for k in data:
        if k not in _SECTIONS:
            rd.fail(f"[{k}]", f"unknown section (known: {', '.join(_SECTIONS)})")
    p = CellParams()
    cell = rd.section("cell")
    name = cell.get("name", Path(path).stem)
    if not isinstance(name, str):
        rd.fail("cell.name", "must be a string")
    p.capacity_ah = rd.number(cell, "cell", "capacity_ah", lo=0.0, lo_open=True)
    p.coulombic_efficiency = rd.number(cell, "cell", "coulombic_efficiency", default=1.0, lo=0.0, lo_open=True, hi=1.0)

    ocv = rd.section("ocv")
    for k in ("soc", "voltage_v"):
        if k not in ocv:
            rd.fail(f"ocv.{k}", "missing")
    soc = rd.array(ocv["soc"], "ocv.soc", min_len=2, increasing=True)
    volt = rd.array(ocv["voltage_v"], "ocv.voltage_v", min_len=2)
    if len(volt) != len(soc):
        rd.fail("ocv.voltage_v", f"has {len(volt)} points, ocv.soc has {len(soc)}")
    p.ocv = OcvTable(soc, volt)
    if "entropic_v_per_k" in ocv:
        d = rd.array(ocv["entropic_v_per_k"], "ocv.entropic_v_per_k")
        if len(d) != len(soc):
            rd.fail("ocv.entropic_v_per_k", f"has {len(d)} points, ocv.soc has {len(soc)}")
        if np.any(np.abs(d) > 0.01):
            rd.fail("ocv.entropic_v_per_k", f"|dU/dT| must be <= 0.01 V/K (max {np.abs(d).max()})")
        p.entropic_v_per_k = ParamSurface.table(soc, np.array([298.15]), d.reshape(-1, 1), "ocv.entropic_v_per_k")

    res = rd.section("resistance")
    if "r0_ohm" not in res:
        rd.fail("resistance.r0_ohm", "missing")
    p.r0_ohm, _ = rd.surface(res["r0_ohm"], "resistance.r0_ohm")
    if "r0_charge_ohm" in res:
        p.r0_charge_ohm, _ = rd.surface(res["r0_charge_ohm"], "resistance.r0_charge_ohm")
    p.arrhenius_k = rd.number(res, "resistance", "arrhenius_k", default=0.0, lo=0.0)
    if "exchange_current_a" in res:
        p.exchange_current_a, raw = rd.surface(res["exchange_current_a"], "resistance.exchange_current_a")
        vmax = float(np.max(raw[2] if isinstance(raw, tuple) else raw))
        if vmax > MAX_EXCHANGE_CURRENT_A:
            rd.fail("resistance.exchange_current_a",
                    f"must be <= {MAX_EXCHANGE_CURRENT_A} A everywhere (max {vmax})")
    pairs = res.get("rc_pairs")
    if not isinstance(pairs, list) or not 1 <= len(pairs) <= MAX_RC_PAIRS:
        rd.fail("resistance.rc_pairs", f"must be an array of 1 to {MAX_RC_PAIRS} pairs {{r_ohm = ..., tau_s = ...}}")
    p.rc_pairs = len(pairs)
    fields = [("r1_ohm", "c1_f", "r1_charge_ohm"), ("r2_ohm", "c2_f", "r2_charge_ohm"), ("r3_ohm", "c3_f", "r3_charge_ohm")]
    for i, pair in enumerate(pairs):
        key = f"resistance.rc_pairs[{i}]"
        if not isinstance(pair, dict):
            rd.fail(key, "must be a table {r_ohm = ..., tau_s = ...}")
        for k in pair:
            if k not in ("r_ohm", "tau_s", "r_charge_ohm"):
                rd.fail(f"{key}.{k}", "unknown key (known: r_ohm, tau_s, r_charge_ohm)")
        for k in ("r_ohm", "tau_s"):
            if k not in pair:
                rd.fail(f"{key}.{k}", "missing")
        r_surface, r_raw = rd.surface(pair["r_ohm"], f"{key}.r_ohm")
        _, tau_raw = rd.surface(pair["tau_s"], f"{key}.tau_s")
        r_field, c_field, rc_field = fields[i]
        setattr(p, r_field, r_surface)
        setattr(p, c_field, _capacitance(rd, f"{key}.tau_s", r_raw, tau_raw))
        if "r_charge_ohm" in pair:
            setattr(p, rc_field, rd.surface(pair["r_charge_ohm"], f"{key}.r_charge_ohm")[0])

    rd.section("fit")  # known keys only; the model does not use it
    hyst = rd.section("hysteresis")
    if hyst:
        p.hysteresis = HysteresisParams(
            gamma=rd.number(hyst, "hysteresis", "gamma", lo=0.0),
            m_v=rd.number(hyst, "hysteresis", "m_v", lo=0.0, hi=1.0),
            m0_v=rd.number(hyst, "hysteresis", "m0_v", default=0.0, lo=0.0, hi=1.0))

    th = rd.section("thermal")
    p.heat_capacity_j_per_k = rd.number(th, "thermal", "heat_capacity_j_per_k", lo=0.0, lo_open=True)
    p.heat_transfer_w_per_k = rd.number(th, "thermal", "heat_transfer_w_per_k", lo=0.0)
    p.ambient_temp_k = rd.number(th, "thermal", "ambient_c", lo=-ZERO_CELSIUS_K, lo_open=True) + ZERO_CELSIUS_K

    lim = rd.section("limits")
    lm = p.limits
    lm.voltage_min_v = rd.number(lim, "limits", "voltage_min_v", lo=0.0)
    lm.voltage_max_v = rd.number(lim, "limits", "voltage_max_v", lo=lm.voltage_min_v, lo_open=True)
    lm.temp_min_k = rd.number(lim, "limits", "temperature_min_c", default=-20.0, lo=-ZERO_CELSIUS_K,
                              lo_open=True) + ZERO_CELSIUS_K
    lm.temp_max_k = rd.number(lim, "limits", "temperature_max_c", lo=lm.temp_min_k - ZERO_CELSIUS_K,
                              lo_open=True) + ZERO_CELSIUS_K
    lm.charge_current_max_a = rd.number(lim, "limits", "charge_current_max_a", lo=0.0)
    lm.discharge_current_max_a = rd.number(lim, "limits", "discharge_current_max_a", lo=0.0)
    try:
        p.validate()  # the core's own checks (the same as at construction of any consumer)
    except ValueError as e:
        raise CellFileError(f"{path}: {e}") from None
    return name, p


def load_cell(path: str | Path) -> CellParams:
    """Reads a cell file into a CellParams (raises CellFileError naming the file, key and reason)."""
    return load_cell_named(path)[1]


def load_cell_named(path: str | Path) -> tuple[str, CellParams]:
    """(name, CellParams) of a cell file."""
    path = str(path)
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise CellFileError(f"{path}: no such file") from None
    except tomllib.TOMLDecodeError as e:
        raise CellFileError(f"{path}: not valid TOML: {e}") from None
    return parse_cell(data, path)


def load_fit_section(path: str | Path) -> dict:
    """The ``[fit]`` section of a cell file written by ``safetwin fit`` ({} when it has none)."""
    with open(str(path), "rb") as f:
        return tomllib.load(f).get("fit", {})


def shipped_cell_path(name: str) -> Path:
    """Path of a cell file shipped with the package ('ref_cell_1', 'lfp_a123_26650')."""
    p = resources.files("safetwin") / "data" / "cells" / f"{name}.toml"
    return Path(str(p))


def shipped_cell(name: str) -> CellParams:
    return load_cell(shipped_cell_path(name))
