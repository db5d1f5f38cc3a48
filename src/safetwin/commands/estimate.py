"""``safetwin estimate``: offline replay of a measured log through the battery EKF."""
from __future__ import annotations

import argparse
import csv
import math
import sys
from pathlib import Path

import numpy as np

from safetwin import estimation
from safetwin.battery import ZERO_CELSIUS_K, CellParams

REQUIRED = ("t_s", "current_a", "voltage_v", "temperature_c")
OUTPUT = ("t_s", "soc", "soc_sigma", "v1_v", "v2_v", "temperature_c", "r0_ohm", "capacity_ah", "nis", "rejected")
REST_CURRENT_C = 0.01  # |I| <= C/100 counts as rested for the initial SOC guess

HELP = """\
Estimate the state of charge (and optionally R0 and capacity) of one cell from a measured log,
with the EKF of the safetwin core (REF-CELL-1 model: LG M50 21700, 2RC + lumped thermal).

Input CSV: columns t_s,current_a,voltage_v,temperature_c (any order; other columns are ignored).
Current > 0 discharges. Time steps may be irregular: each row is predicted with its actual dt.
A missing or non-finite value (empty field, nan) is a skipped update of that channel (a missing
current holds the previous one); the tool says how many rows had one.

Initial SOC: --soc0, or from the first row's voltage through the OCV table (if the log starts
under load, the voltage is first corrected by R0 * current).

Output CSV columns: t_s,soc,soc_sigma,v1_v,v2_v,temperature_c,r0_ohm,capacity_ah,nis,rejected
(soc_sigma: the filter's standard deviation of SOC; nis: normalised innovation squared of the
row's update; rejected: channels the innovation gate refused, bit 1 = voltage, 4 = temperature).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="replay a measured log through the EKF, write SOC etc. as CSV",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", metavar="LOG.csv", help="measured log with t_s,current_a,voltage_v,temperature_c")
    p.add_argument("-o", "--output", default="estimate.csv", help="output CSV (default estimate.csv)")
    p.add_argument("--soc0", type=float, default=None,
                   help="initial SOC guess, 0..1 (default: from the first voltage through the OCV table)")
    p.add_argument("--estimate-params", action="store_true",
                   help="also estimate the R0 growth factor and the capacity (joint EKF)")
    p.set_defaults(func=run)


def _parse(value: str) -> float:
    value = value.strip()
    if value == "":
        return math.nan
    return float(value)  # 'nan', 'inf' parse as non-finite: missing samples


def read_log(path: str) -> dict:
    """Reads the required columns as float arrays; raises ValueError naming what is wrong."""
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(f"log file {path!r} does not exist")
    with file.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise ValueError(f"{path}: the file is empty (expected a header {','.join(REQUIRED)})")
        names = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(names)})")
        idx = {c: names.index(c) for c in REQUIRED}
        cols = {c: [] for c in REQUIRED}
        for line, row in enumerate(reader, start=2):
            if not row or all(not x.strip() for x in row):
                continue
            for c in REQUIRED:
                text = row[idx[c]] if idx[c] < len(row) else ""
                try:
                    cols[c].append(_parse(text))
                except ValueError:
                    raise ValueError(f"{path}, line {line}: column {c} = {text!r} is not a number") from None
    if not cols["t_s"]:
        raise ValueError(f"{path}: the file has a header but no data rows")
    out = {c: np.asarray(v, dtype=float) for c, v in cols.items()}
    t = out["t_s"]
    bad = np.flatnonzero(~np.isfinite(t))
    if bad.size:
        raise ValueError(f"{path}: t_s is missing or not finite in data row {bad[0] + 1}")
    back = np.flatnonzero(np.diff(t) <= 0)
    if back.size:
        k = back[0] + 1
        raise ValueError(f"{path}: t_s must increase strictly; data row {k + 1} has t_s = {t[k]} "
                         f"after {t[k - 1]}")
    return out


def initial_soc(log: dict, cell: CellParams) -> float:
    v0, i0 = log["voltage_v"][0], log["current_a"][0]
    if not (np.isfinite(v0) and np.isfinite(i0)):
        raise ValueError("the first row has no voltage or current to guess the initial SOC from: give --soc0")
    if abs(i0) > REST_CURRENT_C * cell.capacity_ah:
        r0 = cell.r0_ohm.at(0.5, 298.15)
        print(f"safetwin estimate: warning: the log starts under load ({i0:.3g} A); initial SOC from "
              f"V + R0*I = {v0 + r0 * i0:.4f} V", file=sys.stderr)
        v0 = v0 + r0 * i0
    return estimation.soc_from_rested_voltage(v0, cell)


def run(args: argparse.Namespace) -> int:
    log = read_log(args.log)
    cell = CellParams.ref_cell_1()
    if args.soc0 is not None and not (0.0 <= args.soc0 <= 1.0):
        raise ValueError(f"--soc0 = {args.soc0}: must be in [0, 1]")
    soc0 = args.soc0 if args.soc0 is not None else initial_soc(log, cell)
    temp_k = log["temperature_c"] + ZERO_CELSIUS_K
    finite_t = temp_k[np.isfinite(temp_k)]
    cfg = estimation.make_config(cell=cell, soc0=soc0, estimate_params=bool(args.estimate_params),
                                 temp0_k=float(finite_t[0]) if finite_t.size else cell.ambient_temp_k)
    out = estimation.run(log["t_s"], log["current_a"], voltage_a_v=log["voltage_v"], temperature_k=temp_k,
                         config=cfg)
    if out["rows_with_missing"]:
        print(f"safetwin estimate: warning: {out['rows_with_missing']} row(s) with a missing or non-finite "
              f"value: those measurements were skipped (no update from them)", file=sys.stderr)
    rejected = out["gated"].astype(int)
    cols = [log["t_s"], out["soc"], out["soc_sigma"], out["v1_v"], out["v2_v"], out["temp_k"] - ZERO_CELSIUS_K,
            out["r0_ohm"], out["capacity_ah"], out["nis"], rejected]
    fmt = ["%.6f"] + ["%.9g"] * 8 + ["%d"]
    np.savetxt(args.output, np.column_stack(cols), delimiter=",", header=",".join(OUTPUT), comments="", fmt=fmt)
    n = len(log["t_s"])
    print(f"safetwin estimate: {n} rows, {log['t_s'][-1] - log['t_s'][0]:.0f} s, SOC {soc0:.3f} (initial guess) "
          f"-> {out['soc'][-1]:.4f} +/- {out['soc_sigma'][-1]:.4f}")
    if args.estimate_params:
        print(f"  R0 {out['r0_ohm'][-1] * 1000:.2f} mOhm, capacity {out['capacity_ah'][-1]:.3f} Ah")
    print(f"  mean NIS {float(np.mean(out['nis'])):.2f}, rows with a gated channel {out['rows_gated']}, "
          f"numerical errors {out['numerical_errors']}")
    print(f"  written {args.output}")
    return 0
