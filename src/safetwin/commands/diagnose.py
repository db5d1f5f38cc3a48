"""``safetwin diagnose``: anomaly alarms, state of health and R0 growth from a measured log;
``safetwin diagnose calibrate``: the anomaly threshold from simulated nominal operation."""
from __future__ import annotations

import argparse
import json
import math
import sys
from importlib import resources

import numpy as np

from safetwin import _core
from safetwin.battery import ZERO_CELSIUS_K
from safetwin.commands import checks
from safetwin.commands.estimate import read_log

HELP = """\
Diagnose one cell from a measured log (the `safetwin estimate` columns t_s,current_a,voltage_v,
temperature_c; current > 0 discharges) with the core's EKF (joint R0 and capacity estimation) and
the online anomaly score (window mean of the squared whitened innovations).

Alarms: the score above the threshold that the calibration file gives for --alpha-per-h, a false-alarm
rate per hour of nominal operation. The default calibration ships with the package; make your own
with `safetwin diagnose calibrate` (nominal hours simulated with spread, ageing within spec, sensor
noise, load profiles and ambient temperatures drawn at random; one threshold per alpha).

Output (--json: one object): alarms [{time_s, kind, cell, score, threshold}],
false_alarm_alpha_per_h, soh {capacity_rel, ci95}, r0_rel {value, ci95}, rul (null: one log holds
no degradation history; see safetwin.diagnostics.prognostics), faults (per class: evaluated,
detected, time_s, estimate, ci95; a class one cell's log cannot decide says evaluated: false and
why). From one cell's log: ageing_drift (the capacity and R0 intervals: calibrated on nominal
runs when the calibration file has them, as the shipped one does), internal_short (the
charge balance: the leak current, which includes any current-sensor bias, detected above the bias
a sensor within spec may have). cooling_loss reports the heat-transfer drop within the log but one
cell's heat balance does not decide it; connection_resistance and sensor need the other cells and
the redundant node: pack logs, through safetwin.diagnostics.isolation.

--cell FILE: the cell file (TOML, safetwin.cellfile) of the logged cell instead of REF-CELL-1; the
shipped calibration was made on REF-CELL-1, so its false-alarm rate holds for that cell only
(calibrate your own for another cell).

`safetwin diagnose calibrate [-o FILE] [--hours N] [--seed S] [--workers N]` simulates N nominal
hours (default 10000) and writes the calibration file.

examples:
  safetwin diagnose examples/bench_log.csv
  safetwin diagnose examples/bench_log.csv --alpha-per-h 0.001 --json
"""

DEFAULT_CALIBRATION = "anomaly_calibration.json"
Z95 = 1.959963984540054


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("diagnose", help="anomaly alarms, state of health and R0 growth from a measured log",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("log", metavar="LOG.csv|calibrate", help="measured log, or the word calibrate")
    p.add_argument("--calibration", metavar="FILE", default=None,
                   help="calibration file (default: the one shipped with the package)")
    p.add_argument("--alpha-per-h", dest="alpha", type=float, default=1e-2,
                   help="false-alarm rate per hour of operation (default 0.01)")
    p.add_argument("--alpha", dest="alpha", type=float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the old spelling
    p.add_argument("--soc0", type=float, default=None, help="initial SOC guess, 0..1 (default: from the log)")
    p.add_argument("--cell", metavar="FILE", default=None, help="cell file (TOML) of the logged cell (default REF-CELL-1)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--plot", metavar="FILE.png", help="plot voltage, score and threshold against time")
    g = p.add_argument_group("calibrate")
    g.add_argument("-o", "--output", default=DEFAULT_CALIBRATION, help=f"calibration file to write (default {DEFAULT_CALIBRATION})")
    g.add_argument("--hours", type=int, default=10000, help="nominal hours to simulate (default 10000)")
    g.add_argument("--seed", type=int, default=0, help="first seed of the nominal runs (default 0)")
    g.add_argument("--workers", type=int, default=2, help="threads running simulations (default 2)")
    p.set_defaults(func=run)


def shipped_calibration_path():
    return resources.files("safetwin") / "data" / DEFAULT_CALIBRATION


def _progress(done: int, total: int) -> None:
    if done % max(1, total // 200) and done != total:
        return
    fraction = done / total
    bar = "#" * int(fraction * 30)
    print(f"\r  nominal hours [{bar:<30}] {done}/{total}", end="", file=sys.stderr, flush=True)
    if done == total:
        print(file=sys.stderr)


def run_calibrate(args) -> int:
    from safetwin.diagnostics import calibration as cal

    checks.number("--hours", args.hours, lo=1, hi=10_000_000)
    checks.number("--workers", args.workers, lo=1, hi=256)
    alphas = tuple(a for a in cal.DEFAULT_ALPHAS_PER_H if a * args.hours >= 10)
    if not alphas:
        raise ValueError(f"--hours = {args.hours}: too few to calibrate alpha = "
                         f"{min(cal.DEFAULT_ALPHAS_PER_H):g}/h or {max(cal.DEFAULT_ALPHAS_PER_H):g}/h "
                         f"(needs >= {int(10 / max(cal.DEFAULT_ALPHAS_PER_H))} hours: ten exceedances)")
    result = cal.calibrate(args.hours, alphas, seed0=args.seed, workers=args.workers,
                           progress=None if args.json else _progress)
    cal.save_calibration(result, args.output)
    if args.json:
        print(json.dumps({"output": args.output, "hours": result["hours"], "thresholds": result["thresholds"]}))
    else:
        th = ", ".join(f"alpha {a}/h: {t:.4g}" for a, t in result["thresholds"].items())
        print(f"safetwin diagnose calibrate: {result['hours']:.0f} nominal hours -> {args.output} ({th})")
    return 0


def _ageing_intervals(calibration: dict, res: dict) -> tuple:
    """Per sample, the 95 % intervals (lower, upper arrays) of the capacity and R0 factors and the
    method: calibrated on the nominal runs when the calibration file has them
    (``diagnostics.ageing_intervals``; the EKF's own +-1.96 sigma held the truth in 0.89 / 0.87 of
    2000 held-out nominal hours), else the EKF's own. The calibration is of the estimate at the end of a
    nominal hour; earlier samples use the same table by their sigma's shrink."""
    from safetwin.diagnostics import ageing_intervals

    table = calibration.get("ageing_intervals")
    out = []
    for kind in ageing_intervals.KINDS:
        v, s = res[kind], res[kind + "_sigma"]
        out.append((v - Z95 * s, v + Z95 * s) if table is None else ageing_intervals.intervals(table, kind, v, s))
    return out[0], out[1], "ekf_posterior" if table is None else "calibrated_nominal"


def diagnose(log: dict, calibration: dict, alpha_per_h: float, soc0: float | None = None, cell=None) -> tuple:
    """Runs the EKF and the score over the log; returns (summary dict, trace dict)."""
    from safetwin.diagnostics import calibration as cal
    from safetwin.diagnostics import isolation

    key = f"{alpha_per_h:g}"
    if key not in calibration["thresholds"]:
        raise ValueError(f"--alpha-per-h = {alpha_per_h:g}: the calibration has thresholds for alpha = "
                         f"{', '.join(calibration['thresholds'])} per hour only")
    threshold = float(calibration["thresholds"][key])
    settings = cal.settings_of(calibration)
    temp_k = log["temperature_c"] + ZERO_CELSIUS_K
    run_log = {"t_s": log["t_s"], "current_a": log["current_a"], "voltage_v": log["voltage_v"], "temperature_k": temp_k}
    cfg = cal.ekf_config_for(run_log, settings, cell=cell)
    if soc0 is not None:
        cfg.soc0 = soc0
    res = _core.score_replay(log["t_s"], log["current_a"], voltage_a_v=log["voltage_v"], temperature_k=temp_k,
                             ekf_config=cfg, score_config=settings.score_config(threshold))
    t = log["t_s"]
    alarm = res["alarm"].astype(bool)
    starts = np.flatnonzero(alarm & ~np.concatenate(([False], alarm[:-1])))
    alarms = [{"time_s": float(t[k]), "kind": "innovation_anomaly", "cell": 0, "score": float(res["score"][k]),
               "threshold": threshold} for k in starts]
    cap, r0 = float(res["capacity_factor"][-1]), float(res["r0_factor"][-1])
    (cap_lo, cap_hi), (r0_lo, r0_hi), ci_method = _ageing_intervals(calibration, res)
    cap_ci, r0_ci = [float(cap_lo[-1]), float(cap_hi[-1])], [float(r0_lo[-1]), float(r0_hi[-1])]
    # Ageing drift: the 95 % interval of capacity or R0 excludes the new cell's value.
    drift = (cap_hi < 1.0) | (r0_lo > 1.0)
    first_drift = int(np.argmax(drift)) if drift.any() else None
    faults = {"ageing_drift": {"evaluated": True, "detected": bool(drift[-1]),
                               "time_s": float(t[first_drift]) if first_drift is not None else None,
                               "estimate": {"capacity_rel": cap, "r0_rel": r0},
                               "ci95": {"capacity_rel": cap_ci, "r0_rel": r0_ci}, "ci95_method": ci_method}}
    faults.update(isolation.single_cell(run_log, cell, soc0=cfg.soc0))
    summary = {
        "rows": int(len(t)),
        "duration_s": float(t[-1] - t[0]),
        "alarms": alarms,
        "false_alarm_alpha_per_h": alpha_per_h,
        "threshold": threshold,
        "max_score": float(res["max_score"]),
        "soh": {"capacity_rel": cap, "ci95": cap_ci, "ci95_method": ci_method},
        "r0_rel": {"value": r0, "ci95": r0_ci, "ci95_method": ci_method},
        "rul": None,
        "faults": faults,
    }
    return summary, {"t_s": t, "voltage_v": log["voltage_v"], "score": res["score"], "threshold": threshold,
                     "alarm_times_s": t[starts]}


def plot(trace: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(2, 1, sharex=True, figsize=(8, 6))
    ax[0].plot(trace["t_s"], trace["voltage_v"])
    ax[0].set_ylabel("voltage, V")
    ax[1].plot(trace["t_s"], trace["score"], label="anomaly score")
    ax[1].axhline(trace["threshold"], color="r", linestyle="--", label="threshold")
    for t in trace["alarm_times_s"]:
        ax[1].axvline(t, color="r", alpha=0.5)
    ax[1].set_ylabel("score (mean z^2)")
    ax[1].set_xlabel("time, s")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run(args: argparse.Namespace) -> int:
    if args.log == "calibrate":
        return run_calibrate(args)
    from safetwin.diagnostics import calibration as cal

    checks.number("--alpha-per-h", args.alpha, lo=0.0, hi=1.0, lo_open=True, hi_open=True, why="a false-alarm rate per hour")
    if args.soc0 is not None:
        checks.number("--soc0", args.soc0, lo=0.0, hi=1.0)
    cell = None
    if args.cell is not None:
        from safetwin import cellfile

        cell = cellfile.load_cell(checks.input_file("--cell", args.cell))
    calibration = cal.load_calibration(args.calibration or shipped_calibration_path())
    log = read_log(args.log)
    dt = np.diff(log["t_s"])
    if dt.size and not math.isclose(float(np.median(dt)), float(calibration["dt_s"]), rel_tol=0.1):
        print(f"safetwin diagnose: warning: the log's median step is {np.median(dt):g} s, the calibration's "
              f"{calibration['dt_s']:g} s: the false-alarm rate is not the calibrated one", file=sys.stderr)
    summary, trace = diagnose(log, calibration, args.alpha, args.soc0, cell)
    if args.plot:
        plot(trace, args.plot)
    if args.json:
        print(json.dumps(summary))
        return 0
    s = summary
    print(f"safetwin diagnose: {s['rows']} rows, {s['duration_s']:.0f} s")
    print(f"  anomaly alarms (alpha {s['false_alarm_alpha_per_h']:g}/h, threshold {s['threshold']:.4g}, "
          f"max score {s['max_score']:.4g}): {len(s['alarms'])}")
    for a in s["alarms"]:
        print(f"    t = {a['time_s']:.0f} s  score {a['score']:.4g}")
    lo, hi = s["soh"]["ci95"]
    print(f"  capacity (SOH)   {s['soh']['capacity_rel']:.3f} of nominal  (95 %: {lo:.3f} .. {hi:.3f})")
    lo, hi = s["r0_rel"]["ci95"]
    print(f"  R0 growth        {s['r0_rel']['value']:.3f} x nominal  (95 %: {lo:.3f} .. {hi:.3f})")
    print("  RUL              needs a history of SOH estimates (safetwin.diagnostics.prognostics)")
    drift = s["faults"]["ageing_drift"]
    print(f"  ageing drift     {'detected' if drift['detected'] else 'not detected'}")
    for name in ("internal_short", "cooling_loss", "connection_resistance", "sensor"):
        f = s["faults"][name]
        label = name.replace("_", " ").ljust(16)
        if not f["evaluated"]:
            extra = ""
            if f["estimate"] is not None and "heat_transfer_drop_rel" in f["estimate"]:
                lo, hi = f["ci95"]
                extra = f" (heat-transfer drop {f['estimate']['heat_transfer_drop_rel']:.3g}, 95 %: {lo:.3g} .. {hi:.3g})"
            print(f"  {label} not decided: {f['reason']}{extra}")
            continue
        key = "leak_current_a" if name == "internal_short" else "heat_transfer_drop_rel"
        value = f["estimate"][key]
        lo, hi = f["ci95"]
        print(f"  {label} {'DETECTED' if f['detected'] else 'not detected'}  {key} {value:.4g} (95 %: {lo:.4g} .. {hi:.4g})")
    return 0
