"""``safetwin estimate``: offline replay of a measured log through the battery EKF."""
from __future__ import annotations

import argparse
import csv
import gzip
import math
import sys
from pathlib import Path

import numpy as np

from safetwin import estimation
from safetwin.battery import ZERO_CELSIUS_K, CellParams
from safetwin.cellfile import load_cell
from safetwin.commands import checks

REQUIRED = ("t_s", "current_a", "voltage_v", "temperature_c")
OUTPUT = ("t_s", "soc", "soc_sigma", "v1_v", "v2_v", "temperature_c", "r0_ohm", "capacity_ah", "nis", "rejected")
# The state columns between soc_sigma and temperature_c are the cell structure's (v1_v, v2_v for 2RC).
STATE_COLUMNS_SKIPPED = ("soc", "temp_k")
REST_CURRENT_C = 0.01  # |I| <= C/100 counts as rest for the initial SOC guess
REST_S = 600.0         # ... for this long (about 5 x tau2: RC voltages relaxed), unless the log starts at rest
CURRENT_FACTOR_MAX = 20.0  # beyond 20x the cell's current limits: a unit slip (mA), not a measurement
CHARGE_SWING_MAX = 1.5     # the charge a log moves in and out, in capacities: beyond it SOC leaves 0..1
VOLTAGE_MAX_V = 6.0        # no lithium-ion cell reads above this: a pack voltage or mV

HELP = """\
Estimate the state of charge (and optionally R0 and capacity) of one cell from a measured log,
with the EKF of the safetwin core (REF-CELL-1 model: LG M50 21700, 2RC + lumped thermal, or the
cell of --cell FILE, e.g. one written by `safetwin fit`).

Input CSV: columns t_s,current_a,voltage_v,temperature_c (any order; other columns are ignored).
The output of `safetwin simulate` for one cell is such a log, and so is the shipped example
(examples/bench_log.csv: 1 h of a 1C discharge with rests, as a cycler records it).
Current > 0 discharges. Time steps may be irregular: each row is predicted with its actual dt.
A missing or non-finite value (empty field, nan) is a skipped update of that channel (a missing
current holds the previous one); the tool says how many rows had one.

Initial SOC: --soc0, or from the first rested voltage through the OCV table: the first row after
600 s within C/100 (or the first row if the log starts at rest), with the charge drawn before it
counted back to the start. A log that never rests uses the first row's voltage + R0 * current.

The estimator is the one of the cell's structure (1, 2 or 3 RC pairs, with or without hysteresis,
as the cell file says): a 1RC LFP cell with hysteresis runs as it is.

Output CSV columns: t_s,soc,soc_sigma,v1_v,v2_v,temperature_c,r0_ohm,capacity_ah,nis,rejected
for a 2RC cell; another structure has its own state columns in place of v1_v,v2_v (v1_v for 1RC,
v1_v,v2_v,v3_v for 3RC, then hysteresis,hysteresis_sign with hysteresis). soc_sigma: the filter's
standard deviation of SOC; nis: normalised innovation squared of the row's update; rejected:
channels the innovation gate refused, bit 1 = voltage, 4 = temperature.

A log that cannot be of this cell in these units is refused with the likely cause: temperatures
outside -40..120 degC (in K?), currents beyond 20x the cell's limits (in mA?), more charge moved
than 1.5 capacities (time in ms?). Samples further apart than the cell's 13 s time constant warn.

examples:
  safetwin estimate examples/bench_log.csv -o soc.csv
  safetwin estimate examples/bench_log.csv --soc0 0.1 --estimate-params -o soc_params.csv
  safetwin estimate tests/data/fit/wltc.csv.gz --cell cell.toml --soc0 0.5 -o soc.csv
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("estimate", help="replay a measured log through the EKF, write SOC etc. as CSV",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", metavar="LOG.csv", help="measured log with t_s,current_a,voltage_v,temperature_c")
    p.add_argument("-o", "--output", default="estimate.csv", help="output CSV (default estimate.csv)")
    p.add_argument("--soc0", type=float, default=None,
                   help="initial SOC guess, 0..1 (default: from the first voltage through the OCV table)")
    p.add_argument("--cell", default=None, metavar="FILE",
                   help="cell file of the cell in the log (default: the built-in REF-CELL-1)")
    p.add_argument("--estimate-params", action="store_true",
                   help="also estimate the R0 growth factor and the capacity (joint EKF)")
    p.set_defaults(func=run)


def _parse(value: str) -> float:
    value = value.strip()
    if value == "":
        return math.nan
    return float(value)  # 'nan', 'inf' parse as non-finite: missing samples


def _open_log(path: str):
    """The log as text; a name ending in .gz is read through gzip (the fit's committed logs)."""
    if path.endswith(".gz"):
        if not Path(path).is_file():
            raise ValueError(f"log file {path}: does not exist")
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return checks.input_file("log file", path).open(newline="", encoding="utf-8-sig")


def read_log(path: str) -> dict:
    """Reads the required columns as float arrays; raises ValueError naming what is wrong."""
    with _open_log(path) as f:  # -sig: a spreadsheet's byte-order mark
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise ValueError(f"{path}: the file is empty (expected a header {','.join(REQUIRED)})")
        names = [h.strip() for h in header]
        missing = [c for c in REQUIRED if c not in names]
        if missing:
            hint = " (the file must be comma-separated, not ';')" if len(names) == 1 and ";" in names[0] else ""
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)} (found: {', '.join(names)}){hint}")
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


def check_plausible(path: str, log: dict, cell: CellParams) -> None:
    """Refuses a log that cannot be of this cell in these units, naming the likely cause
    (temperatures in K, currents in mA, times in ms); warns where a measured log may be odd."""
    temp = log["temperature_c"][np.isfinite(log["temperature_c"])]
    for value in (temp.min(), temp.max()) if temp.size else ():
        if not checks.TEMP_MIN_C <= value <= checks.TEMP_MAX_C:
            raise ValueError(f"{path}: column temperature_c reaches {value:g} degC, outside "
                             f"[{checks.TEMP_MIN_C:g}, {checks.TEMP_MAX_C:g}] degC{checks.kelvin_hint(value)}")
    lim = cell.limits
    volts = log["voltage_v"][np.isfinite(log["voltage_v"])]
    for value in (volts.min(), volts.max()) if volts.size else ():
        if not 0.0 <= value <= VOLTAGE_MAX_V:
            hint = ": is the voltage in mV?" if value > 100 else ": a cell voltage is positive" if value < 0 else ""
            raise ValueError(f"{path}: column voltage_v reaches {value:g} V, outside [0, {VOLTAGE_MAX_V:g}] V for a "
                             f"cell{hint}")
    current = log["current_a"][np.isfinite(log["current_a"])]
    for value, limit, side in ((current.max(initial=0.0), lim.discharge_current_max_a, "discharge"),
                               (-current.min(initial=0.0), lim.charge_current_max_a, "charge")):
        if value > CURRENT_FACTOR_MAX * limit:
            raise ValueError(f"{path}: column current_a reaches {value if side == 'discharge' else -value:g} A, "
                             f"beyond {CURRENT_FACTOR_MAX:g}x the cell's {side} limit of {limit:g} A: "
                             "is the current in mA, or a pack current?")
    t = log["t_s"]
    i = np.where(np.isfinite(log["current_a"]), log["current_a"], 0.0)
    drawn_ah = np.concatenate(([0.0], np.cumsum(i[:-1] * np.diff(t)))) / 3600.0
    swing = float(drawn_ah.max() - drawn_ah.min())
    if swing > CHARGE_SWING_MAX * cell.capacity_ah:
        raise ValueError(f"{path}: the log moves {swing:.4g} Ah in or out of a {cell.capacity_ah:g} Ah cell "
                         f"(more than {CHARGE_SWING_MAX:g}x its capacity, so its SOC would leave 0..1): is t_s "
                         "in ms, or current_a in mA?")
    if len(t) > 1:
        tau1 = cell.r1_ohm.at(0.5, 298.15) * cell.c1_f.at(0.5, 298.15)
        step = float(np.median(np.diff(t)))
        if step > tau1:
            print(f"safetwin estimate: warning: {path}: the median time step is {step:g} s, longer than the cell's "
                  f"fast time constant ({tau1:.0f} s): the voltage updates cannot follow the RC dynamics "
                  "(is t_s in ms?)", file=sys.stderr)


def initial_soc(log: dict, cell: CellParams) -> float:
    """SOC at the log's first row from the first rested voltage: the first row whose current has
    stayed within C/100 for REST_S seconds (or the first row, if the log starts at rest), through
    the OCV table, with the charge drawn before that row counted back. A log that never rests
    falls back to the first row's voltage corrected by R0 * current (with a warning)."""
    t, i, v = log["t_s"], log["current_a"], log["voltage_v"]
    limit = REST_CURRENT_C * cell.capacity_ah
    quiet = np.isfinite(i) & (np.abs(i) <= limit) & np.isfinite(v)
    start = None  # first row of the present quiet run
    for k in range(len(t)):
        if not quiet[k]:
            start = None
            continue
        if start is None:
            start = k
        if k == 0 or t[k] - t[start] >= REST_S:
            # charge drawn before row k (zero-order hold, as the estimator predicts)
            drawn_as = float(np.nansum(i[:k] * np.diff(t[:k + 1]))) if k > 0 else 0.0
            return estimation.soc_from_rested_voltage(v[k], cell) + drawn_as / (3600.0 * cell.capacity_ah)
    v0, i0 = v[0], i[0]
    if not (np.isfinite(v0) and np.isfinite(i0)):
        raise ValueError("the log never rests and its first row has no voltage or current to guess the "
                         "initial SOC from: give --soc0")
    r0 = cell.r0_ohm.at(0.5, 298.15)
    print(f"safetwin estimate: warning: the log never rests; initial SOC from the first row's "
          f"V + R0*I = {v0 + r0 * i0:.4f} V (give --soc0 if you know better)", file=sys.stderr)
    return estimation.soc_from_rested_voltage(v0 + r0 * i0, cell)


def run(args: argparse.Namespace) -> int:
    log = read_log(args.log)
    cell = load_cell(args.cell) if args.cell is not None else CellParams.ref_cell_1()
    check_plausible(args.log, log, cell)
    checks.output_file("-o", args.output)
    if args.soc0 is not None and not (0.0 <= args.soc0 <= 1.0):
        raise ValueError(f"--soc0 = {args.soc0}: must be in [0, 1]")
    try:
        soc0 = args.soc0 if args.soc0 is not None else initial_soc(log, cell)
    except ValueError as exc:
        raise ValueError(f"{args.log}: {exc}") from None
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
    state_names = [name for name in out["state_names"] if name not in STATE_COLUMNS_SKIPPED]
    state_cols = [out["state"][:, list(out["state_names"]).index(name)] for name in state_names]
    cols = [log["t_s"], out["soc"], out["soc_sigma"], *state_cols, out["temp_k"] - ZERO_CELSIUS_K,
            out["r0_ohm"], out["capacity_ah"], out["nis"], rejected]
    header = ["t_s", "soc", "soc_sigma", *state_names, *OUTPUT[5:]]
    fmt = ["%.6f"] + ["%.9g"] * (len(cols) - 2) + ["%d"]
    np.savetxt(args.output, np.column_stack(cols), delimiter=",", header=",".join(header), comments="", fmt=fmt)
    n = len(log["t_s"])
    print(f"safetwin estimate: {n} rows, {log['t_s'][-1] - log['t_s'][0]:.0f} s, SOC {soc0:.3f} (initial guess) "
          f"-> {out['soc'][-1]:.4f} +/- {out['soc_sigma'][-1]:.4f}")
    if args.estimate_params:
        print(f"  R0 {out['r0_ohm'][-1] * 1000:.2f} mOhm, capacity {out['capacity_ah'][-1]:.3f} Ah")
    print(f"  mean NIS {float(np.mean(out['nis'])):.2f}, rows with a gated channel {out['rows_gated']}, "
          f"numerical errors {out['numerical_errors']}")
    print(f"  written {args.output}")
    return 0
