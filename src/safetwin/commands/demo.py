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

--cell FILE runs the same story on the cells of a TOML cell file (plant, twin and the monitor's
tiers, which keep their distances from the file's limits); the twin's MPC and estimator take
2 RC pairs without hysteresis today, and another structure is refused naming it.

Writes demo.csv and demo.png into the output folder and prints a summary (--json: as JSON).

examples:
  safetwin demo
  safetwin demo --json --no-plot -o demo_json
  safetwin demo --duration-s 1200 -o demo_short
  safetwin demo --cell cell.toml -o demo_cell"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the whole stack in one closed loop: fast charge under attack and a cooling failure",
                       description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("-o", "--output", default="demo_out", help="output folder (default demo_out)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object (stable keys)")
    p.add_argument("--no-plot", action="store_true", help="skip demo.png (no matplotlib needed)")
    p.add_argument("--duration-s", type=float, default=None,
                   help=f"simulated time, s, from the cooling failure + 60 s to {DURATION_MAX_S:g} (default 2400)")
    p.add_argument("--cell", default=None, metavar="FILE",
                   help="TOML cell file of the pack's cells (default REF-CELL-1; see safetwin.cellfile)")
    p.add_argument("--duration", dest="duration_s", type=float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the old spelling
    p.set_defaults(func=run)


def _progress(fraction: float) -> None:
    bar = "#" * int(fraction * 30)
    print(f"\r  simulating [{bar:<30}] {fraction * 100:5.1f} %", end="", file=sys.stderr, flush=True)
    if fraction >= 1.0:
        print(file=sys.stderr)


def _event_line(ev: dict) -> str:
    unit = f" {ev['unit']}" if ev["unit"] not in ("", "1") else ""
    if ev["kind"] == "chattering":
        state = "still set at the end" if ev["still_set"] else "cleared at the end"
        return (f"    {ev['first_s']:7.0f} s  group {ev['group']}  {ev['invariant']:<26} {ev['severity']:<8} set "
                f"{ev['sets']} times between {ev['first_s']:.0f} s and {ev['last_s']:.0f} s, max {ev['max_value']:.4g}"
                f"{unit} (limit {ev['limit']:.4g}{unit}); {state}")
    return (f"    {ev['time_s']:7.0f} s  group {ev['group']}  {ev['invariant']:<26} {ev['severity']:<8} {ev['kind']:<8}"
            f" value {ev['value']:.4g}{unit} limit {ev['limit']:.4g}{unit}")


def print_table(s: dict) -> None:
    lim = s["limits"]
    t80 = f"{s['time_to_80_s']:.0f} s" if s["time_to_80_s"] is not None else "not reached"
    cell = f" of {s['cell']}" if "cell" in s else ""
    print(f"safetwin demo: {s['pack']}{cell} fast charge, SOC {s['soc_start']:.2f} -> {s['soc_end']:.3f} in {s['duration_s']:.0f} s")
    print(f"  time to 80 % SOC        {t80}")
    if s["reason_80_not_reached"]:
        print(f"    why                   {s['reason_80_not_reached']}")
    ok = "held" if lim["held"] else "VIOLATED"
    print(f"  max cell voltage        {lim['max_cell_voltage_v']:.4f} V   (true, limit {lim['voltage_limit_v']:.2f} V)")
    print(f"  max cell temperature    {lim['max_cell_temperature_c']:.2f} degC (true, limit {lim['temperature_limit_c']:.1f} degC)"
          f"   limits {ok}")
    tiers = ", ".join(f"{v:g}" for v in sorted(lim["temperature_tiers_c"].values()))
    print(f"  measured temperature    max {lim['max_measured_temperature_c']:.2f} degC (hottest cell per group, sensor "
          f"noise included); the monitor's tiers {tiers} degC warn, derate, stop")
    a = s["attack"]
    dist = f"distrusted at {a['distrusted_at_s']:.0f} s" if a["distrusted_at_s"] is not None else "never distrusted"
    print(f"  stealthy attack         node {a['node']}, group {a['group']}, from {a['at_s']:.0f} s; {dist}")
    c = s["cooling_failure"]
    if c["detected_at_s"] is not None:
        det = f"detected at {c['detected_at_s']:.0f} s, answered by {c['answer']}"
    elif c["held_under_derate_tier"]:
        first = (f"first temperature warning at {c['first_temperature_event_s']:.0f} s; "
                 if c["first_temperature_event_s"] is not None else "")
        det = (f"{first}the safety filter held every measured temperature under the derate tier "
               f"({lim['max_measured_temperature_c']:.2f} < {s['limits']['temperature_tiers_c']['recommended']:g} degC): "
               f"no derate or stop needed")
    else:
        det = f"not detected by the end of the run ({s['duration_s']:.0f} s)"
    print(f"  cooling failure         at {c['at_s']:.0f} s; {det}")
    for node, tv in s["trust"].items():
        print(f"  trust {node:<18}final {tv['final']:.3g}, min {tv['min']:.3g}")
    e = s["estimation"]
    print(f"  SOC estimation error    RMSE {e['soc_rmse'] * 100:.2f} %, max {e['soc_max_error'] * 100:.2f} % (after 300 s); "
          f"{e['within_3_sigma'] * 100:.1f} % within 3 sigma")
    print(f"  temperature estimate    off the measurement by up to {e['temperature_error_before_failure_k']:.2f} K before "
          f"the cooling failure, {e['temperature_error_after_failure_k']:.2f} K after it (the twin assumes working cooling)")
    ct = s["cycle_time_us"]
    print(f"  pack cycle step (C++)   median {ct['median']:.1f} us, p99 {ct['p99']:.1f} us, max {ct['max']:.1f} us "
          "(4 groups: EKF + MPC N=30 + CBF + monitor + supervisor, timed from Python)")
    print("  mode changes")
    for m in s["mode_changes"]:
        print(f"    {m['time_s']:7.0f} s  group {m['group']}  {m['from']:>9} -> {m['to']:<9} ({m['cause']})")
    print("  monitor events (set / cleared; an invariant set more than 4 times in a group in one line)")
    for ev in s["event_summary"]:
        print(_event_line(ev))
    chatter = [ev for ev in s["event_summary"] if ev["kind"] == "chattering" and ev["invariant"] == "estimator.consistency"]
    if chatter and all(ev["first_s"] >= s["cooling_failure"]["at_s"] for ev in chatter):
        print("    estimator.consistency switches on and off after the cooling failure: the EKF's innovations are "
              "really inconsistent with its model then (its thermal model assumes working cooling, see the "
              "temperature estimate above); the warning has no hysteresis yet, so it chatters")


def run(args: argparse.Namespace) -> int:
    from safetwin import demo

    cfg = demo.DemoConfig()
    if args.cell is not None:
        checks.input_file("--cell", args.cell)
        cfg = demo.DemoConfig(cell_file=args.cell)
        demo.demo_cell(cfg)  # a file or a structure the demo cannot run is refused before anything runs
    if args.duration_s is not None:
        # the run must hold both announced faults and a minute after the last, or there is no demo
        lo = cfg.cooling_failure_at_s + 60.0
        checks.number("--duration-s", args.duration_s, lo, DURATION_MAX_S, "s",
                      why=f"the attack comes at {cfg.attack_at_s:g} s, the cooling failure at "
                          f"{cfg.cooling_failure_at_s:g} s")
        cfg = demo.DemoConfig(duration_s=args.duration_s, cell_file=cfg.cell_file)
    out = checks.output_dir("-o", args.output)
    on_terminal = sys.stderr.isatty() and not args.json  # no progress bar in logs and pipes
    result = demo.run(cfg, progress=_progress if on_terminal else None)
    demo.write_csv(out / "demo.csv", result.trace, cfg)
    files = {"csv": str(out / "demo.csv"), "png": None}
    if not args.no_plot:
        cell = demo.demo_cell(cfg)[1]
        demo.plot(out / "demo.png", result.trace, cfg, cell, result.summary)
        files["png"] = str(out / "demo.png")
    summary = dict(result.summary, output=files)
    if args.json:
        print(json.dumps(summary, indent=1))
    else:
        print_table(summary)
        print(f"  written                 {files['csv']}" + (f", {files['png']}" if files["png"] else ""))
    return 0
