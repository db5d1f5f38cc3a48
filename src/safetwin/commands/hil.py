"""``safetwin hil``: run HIL scenarios against the firmware and write their reports."""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

from safetwin.commands import checks

HELP = """\
Run a HIL scenario (a TOML file; see hil/scenarios/ and `safetwin hil list`): the battery plant
with its sensors on one side of the CAN link (hil/safetwin_hil.dbc), the controller firmware on
the other, the scenario's faults in between.

transports:
  (default)    start the firmware_sim process; lockstep over UDP on loopback
  --lockstep   the firmware's C++ code in this process, lockstep (fastest, deterministic)
  --realtime   start firmware_sim at --rate-hz on the wall clock; the harness paces itself too

Writes to the folder -o: SCENARIO.junit.xml (one test case per criterion), SCENARIO.csv (the whole run:
true plant state, command, firmware mode and fault flags), SCENARIO.events.csv, SCENARIO.png.
Exit status: 0 when every criterion holds, 1 when one fails, 2 on a bad scenario file or option.

examples:
  safetwin hil list
  safetwin hil run --lockstep hil/scenarios/frame_loss_burst.toml -o hil_out
  safetwin hil run --realtime hil/scenarios/realtime_charge.toml     # 30 s on the wall clock, 5 Hz
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hil", help="hardware-in-the-loop scenarios against the firmware",
                       description="HIL bench: run scenarios against the controller firmware.")
    hsub = p.add_subparsers(dest="hil_command", metavar="ACTION")
    hsub.required = True
    r = hsub.add_parser("run", help="run one or more scenario files", description=HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("scenarios", nargs="+", metavar="SCENARIO.toml")
    mode = r.add_mutually_exclusive_group()
    mode.add_argument("--lockstep", action="store_true", help="firmware in-process, lockstep")
    mode.add_argument("--realtime", action="store_true", help="firmware process on the wall clock")
    r.add_argument("--rate-hz", type=float, default=None,
                   help="--realtime: cycle rate, (0, 10000] Hz (default 1/dt_s of the scenario)")
    r.add_argument("--duration-s", type=float, default=None,
                   help="override the scenario's duration, (0, 86400] s as in the scenario file")
    r.add_argument("--cell", default=None, metavar="FILE",
                   help="TOML cell file of the pack's cells, plant and firmware alike (default REF-CELL-1); the "
                        "firmware reads it with its C++ reader and takes its limits and 1C / V max / C/20 charge "
                        "settings unless the scenario's [firmware] gives them")
    r.add_argument("--firmware", default=None, help="path of firmware_sim (default: the packaged or built one)")
    r.add_argument("-o", "--output", default="hil_out", help="report folder (default hil_out)")
    r.add_argument("--out", dest="output", default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # old spelling
    r.add_argument("--no-plot", action="store_true", help="skip the PNG plots")
    r.add_argument("--json", action="store_true",
                   help="print the results as JSON on stdout (one object per scenario: pass, criteria, "
                        "frames_by_node, bus_load); the progress lines go to stderr")
    r.add_argument("--no-plots", dest="no_plot", action="store_true", help=argparse.SUPPRESS)  # old spelling
    r.set_defaults(func=run)
    ls = hsub.add_parser("list", help="list the shipped scenarios")
    ls.set_defaults(func=list_scenarios)


CSV_BYTES_PER_VALUE = 16  # a %.9g number and its comma in the run's CSV


def check_options(args: argparse.Namespace, scenarios: list) -> dict:
    """Every option against its limit, and the memory and disk each run implies, before anything
    starts. Returns, per scenario path, the folder its traces spill to (None: in memory)."""
    from safetwin.hil import harness
    from safetwin.hil.scenario import SCHEMA
    _, lo, hi, _ = SCHEMA["scenario"]["duration_s"]
    if args.duration_s is not None:
        checks.number("--duration-s", args.duration_s, lo, hi, "s", lo_open=True, why="the scenario files' limit")
    if args.rate_hz is not None:
        if not args.realtime:
            raise ValueError(f"--rate-hz = {args.rate_hz:g}: applies to --realtime only (lockstep runs at the "
                             "scenario's dt_s)")
        checks.number("--rate-hz", args.rate_hz, 0.0, harness.RATE_MAX_HZ, "Hz", lo_open=True,
                      why="firmware_sim's limit")
    if args.firmware is not None:
        if args.lockstep:
            raise ValueError(f"--firmware {args.firmware}: --lockstep runs the firmware in this process, "
                             "not an executable")
        fw = Path(args.firmware)
        if not fw.is_file():
            raise ValueError(f"--firmware {args.firmware}: " + ("is a folder" if fw.is_dir() else "does not exist")
                             + " (the firmware_sim executable; default: the packaged one)")
        if not os.access(fw, os.X_OK):
            raise ValueError(f"--firmware {args.firmware}: is not executable")
        args.firmware = str(fw.resolve())  # 'firmware_sim' alone would be looked up on PATH
    if args.cell is not None:
        check_cell(args.cell, scenarios)
    out = checks.output_dir("-o", args.output, create=False)  # made once everything else holds
    transport = "realtime" if args.realtime else "inprocess"
    spill = {}
    for sc in scenarios:
        duration = args.duration_s if args.duration_s is not None else sc.duration_s
        what = f"{sc.path}: duration {duration:g} s at a step of {harness.step_s(sc, transport, args.rate_hz):g} s"
        hint = "give a shorter --duration-s (or a larger dt_s in the scenario)"
        need = harness.trace_bytes(sc, duration, transport, args.rate_hz)
        steps = duration / harness.step_s(sc, transport, args.rate_hz)
        cells = int(sc.pack["series"])
        per_cell = 3 * cells if steps * cells <= harness.MAX_CELL_SAMPLES else 0  # longer: decimated, not in the CSV
        csv_bytes = steps * CSV_BYTES_PER_VALUE * (harness.TRACE_COLUMNS + per_cell)
        if checks.fits_in_memory(need):
            spill[sc.path] = None
            checks.disk(what, csv_bytes, out, hint)
            continue
        # too long for memory: the trace columns stream to disk, beside the reports
        on_disk = harness.spilled_bytes(sc, duration, transport, args.rate_hz)
        checks.memory(what, need - on_disk, hint)
        checks.disk(what, on_disk + csv_bytes, out, hint)
        spill[sc.path] = str(out)
    checks.output_dir("-o", args.output)
    return spill


def check_cell(path: str, scenarios: list) -> None:
    """--cell FILE before anything runs: the plant's reader (safetwin.cellfile) and the firmware's
    own configuration with it (the C++ reader and the structures its estimator and charge law take),
    for every scenario (its [firmware] table may choose the controller)."""
    from safetwin.hil._firmware import InProcessFirmware
    from safetwin.hil.harness import firmware_options
    checks.cell_file("--cell", path)
    for sc in scenarios:
        try:
            InProcessFirmware(**firmware_options(sc, cell_file=path))
        except ValueError as e:
            raise ValueError(f"{e}" if str(e).startswith("--cell") else f"{sc.path}: with --cell {path}: {e}") \
                from None


def list_scenarios(args: argparse.Namespace) -> int:
    from safetwin.hil.scenario import load_scenario, shipped_scenarios
    for path in shipped_scenarios():
        sc = load_scenario(path)
        print(f"{str(path):70s} {sc.description}")
    return 0


def run(args: argparse.Namespace) -> int:
    from safetwin.hil.harness import Bench
    from safetwin.hil.report import write_all
    from safetwin.hil.scenario import load_scenario
    transport = "inprocess" if args.lockstep else "realtime" if args.realtime else "udp"
    for p in args.scenarios:
        checks.input_file("scenario", p)
    scenarios = [load_scenario(p) for p in args.scenarios]  # all validated before anything runs
    spill = check_options(args, scenarios)
    cell = str(Path(args.cell).resolve()) if args.cell is not None else None  # the firmware process's cwd may differ
    failed = 0
    results = []
    say = functools.partial(print, file=sys.stderr) if args.json else print
    for sc in scenarios:
        say(f"safetwin hil: {sc.name} [{transport}] ({sc.path})")
        if spill[sc.path]:
            say(f"  a long run: its traces stream to disk in {spill[sc.path]}")
        bench = Bench(sc, transport=transport, firmware=args.firmware, rate_hz=args.rate_hz,
                      duration_s=args.duration_s, spill_dir=spill[sc.path], cell_file=cell)
        try:
            result = bench.run()
        except RuntimeError as exc:
            if not str(exc).startswith("firmware_sim did not start"):  # safetwin.hil.firmware's refusal
                raise
            raise ValueError(f"{sc.path}: {exc} (executable: {args.firmware or 'the packaged firmware_sim'})") \
                from None
        paths = write_all(result, Path(args.output), plots=not args.no_plot)
        for c in result.criteria:
            say(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']:28s} {c['message']}")
        for node, counts in sorted(result.attest_counts("round").items()):  # the firmware's ATTEST_RESULT
            say(f"  attestation node {node}: rounds " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
        speed = result.simulated_s / result.wall_s if result.wall_s > 0 else float("inf")
        say(f"  {result.simulated_s:g} s simulated in {result.wall_s:.2f} s ({speed:.3g}x real time), "
            f"{result.retransmissions} retransmissions")
        say(f"  link: {sum(result.frames_by_node.values())} measurement frames, {result.bus_frames} frames in all, "
            f"bus load {100 * result.bus_load:.3f} % of 500 kbit/s")
        if result.firmware_report:
            fr = result.firmware_report
            say(f"  firmware: {fr['cycles']} cycles, cycle time p50/p99/max {fr['cycle_time']['p50_us']:.0f}/"
                f"{fr['cycle_time']['p99_us']:.0f}/{fr['cycle_time']['max_us']:.0f} us, jitter p99 "
                f"{fr['jitter']['p99_us']:.0f} us, {fr['deadline_misses']} deadline misses")
        say("  reports: " + ", ".join(str(p) for p in paths.values()))
        failed += not result.passed
        results.append({"scenario": sc.name, "path": str(sc.path), "transport": transport, "passed": result.passed,
                        "criteria": [{"name": c["name"], "passed": bool(c["passed"]), "message": c["message"]}
                                     for c in result.criteria],
                        "simulated_s": result.simulated_s, "retransmissions": result.retransmissions,
                        "frames": sum(result.frames_by_node.values()), "frames_by_node": result.frames_by_node,
                        "bus_frames": result.bus_frames, "bus_load": result.bus_load})
    if args.json:
        print(json.dumps(results, indent=2))
    if failed:
        print(f"safetwin hil: {failed} of {len(scenarios)} scenario(s) failed", file=sys.stderr)
        return 1
    return 0
