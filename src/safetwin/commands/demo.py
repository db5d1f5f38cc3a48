"""``safetwin demo``: the main job, the whole stack in one closed loop (see safetwin.demo)."""
from __future__ import annotations

import argparse
import json
import sys

from safetwin.commands import checks

DURATION_MAX_S = 14400.0  # 4 h of the 4s2p pack: the charge is over long before

DESCRIPTION = """\
Fast-charge a 4s2p pack of REF-CELL-1 cells (LG M50 21700, with cell-to-cell spread) from 10 %
SOC with the MPC through the guarded control cycle: per series group an EKF with trust-weighted
sensors, the MPC, the CBF safety filter, the invariant monitor and the supervisor, all in C++.
Announced faults: at 300 s a stealthy false-data injection on the cell-monitoring node's reading of
group 2 (its measured boot changes, so its attestation fails), at 600 s a cooling failure.

Writes demo.csv and demo.png into the output folder and prints a summary (--json: as JSON)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole stack in one closed loop: fast charge under attack and a cooling failure",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="demo_out", help="output folder (default demo_out)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object (stable keys)")
    p.add_argument("--no-plot", action="store_true", help="skip demo.png (no matplotlib needed)")
    p.add_argument("--duration-s", type=float, default=None,
                   help=f"simulated time, s, from the cooling failure + 60 s to {DURATION_MAX_S:g} (default 2400)")
    p.add_argument("--duration", dest="duration_s", type=float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the old spelling
    p.set_defaults(func=run)


def _progress(fraction: float) -> None:
    bar = "#" * int(fraction * 30)
    print(f"\r  simulating [{bar:<30}] {fraction * 100:5.1f} %", end="", file=sys.stderr, flush=True)
    if fraction >= 1.0:
        print(file=sys.stderr)


def print_table(s: dict) -> None:
    lim = s["limits"]
    t80 = f"{s['time_to_80_s']:.0f} s" if s["time_to_80_s"] is not None else "not reached"
    print(f"safetwin demo: {s['pack']} fast charge, SOC {s['soc_start']:.2f} -> {s['soc_end']:.3f} in {s['duration_s']:.0f} s")
    print(f"  time to 80 % SOC        {t80}")
    if s["reason_80_not_reached"]:
        print(f"    why                   {s['reason_80_not_reached']}")
    ok = "held" if lim["held"] else "VIOLATED"
    print(f"  max cell voltage        {lim['max_cell_voltage_v']:.4f} V   (limit {lim['voltage_limit_v']:.2f} V)")
    print(f"  max cell temperature    {lim['max_cell_temperature_c']:.2f} degC (limit {lim['temperature_limit_c']:.1f} degC)   limits {ok}")
    a = s["attack"]
    dist = f"{a['distrusted_at_s']:.0f} s" if a["distrusted_at_s"] is not None else "never"
    print(f"  stealthy attack         node {a['node']}, group {a['group'] + 1}, from {a['at_s']:.0f} s; distrusted at {dist}")
    c = s["cooling_failure"]
    det = f"{c['detected_at_s']:.0f} s" if c["detected_at_s"] is not None else "not detected"
    print(f"  cooling failure         at {c['at_s']:.0f} s; detected at {det}, answered by {c['answer']}")
    for node, tv in s["trust"].items():
        print(f"  trust {node:<18}final {tv['final']:.3g}, min {tv['min']:.3g}")
    e = s["estimation"]
    print(f"  SOC estimation error    RMSE {e['soc_rmse'] * 100:.2f} %, max {e['soc_max_error'] * 100:.2f} % (after 300 s); "
          f"{e['within_3_sigma'] * 100:.1f} % within 3 sigma")
    ct = s["cycle_time_us"]
    print(f"  pack cycle step (C++)   median {ct['median']:.1f} us, p99 {ct['p99']:.1f} us, max {ct['max']:.1f} us "
          "(4 groups: EKF + MPC N=30 + CBF + monitor + supervisor, timed from Python)")
    print("  mode changes")
    for m in s["mode_changes"]:
        print(f"    {m['time_s']:7.0f} s  group {m['group'] + 1}  {m['from']:>9} -> {m['to']:<9} ({m['cause']})")
    print("  monitor events (set / cleared)")
    for ev in s["events"]:
        print(f"    {ev['time_s']:7.0f} s  group {ev['group'] + 1}  {ev['invariant']:<26} {ev['severity']:<8} {ev['kind']:<8}"
              f" value {ev['value']:.4g} limit {ev['limit']:.4g}")


def run(args: argparse.Namespace) -> int:
    from safetwin import demo

    cfg = demo.DemoConfig()
    if args.duration_s is not None:
        # the run must hold both announced faults and a minute after the last, or there is no demo
        lo = cfg.cooling_failure_at_s + 60.0
        checks.number("--duration-s", args.duration_s, lo, DURATION_MAX_S, "s",
                      why=f"the attack comes at {cfg.attack_at_s:g} s, the cooling failure at "
                          f"{cfg.cooling_failure_at_s:g} s")
        cfg = demo.DemoConfig(duration_s=args.duration_s)
    out = checks.output_dir("-o", args.output)
    result = demo.run(cfg, progress=None if args.json else _progress)
    demo.write_csv(out / "demo.csv", result.trace, cfg)
    files = {"csv": str(out / "demo.csv"), "png": None}
    if not args.no_plot:
        from safetwin import battery

        cell = battery.CellParams.ref_cell_1()
        demo.plot(out / "demo.png", result.trace, cfg, cell)
        files["png"] = str(out / "demo.png")
    summary = dict(result.summary, output=files)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print_table(summary)
        print(f"  written                 {files['csv']}" + (f", {files['png']}" if files["png"] else ""))
    return 0
