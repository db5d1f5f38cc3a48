"""``safetwin hil``: run HIL scenarios against the firmware and write their reports."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = """\
Run a HIL scenario (a TOML file; see hil/scenarios/ and `safetwin hil list`): the battery plant
with its sensors on one side of the CAN link (hil/safetwin_hil.dbc), the controller firmware on
the other, the scenario's faults in between.

transports:
  (default)    start the firmware_sim process; lockstep over UDP on loopback
  --lockstep   the firmware's C++ code in this process, lockstep (fastest, deterministic)
  --realtime   start firmware_sim at --rate-hz on the wall clock; the harness paces itself too

Writes to --out: SCENARIO.junit.xml (one test case per criterion), SCENARIO.csv (the whole run:
true plant state, command, firmware mode and fault flags), SCENARIO.events.csv, SCENARIO.png.
Exit status: 0 when every criterion holds, 1 when one fails, 2 on a bad scenario file.
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
    r.add_argument("--rate-hz", type=float, default=None, help="--realtime: cycle rate (default 1/dt_s of the scenario)")
    r.add_argument("--duration-s", type=float, default=None, help="override the scenario's duration")
    r.add_argument("--firmware", default=None, help="path of firmware_sim (default: the packaged or built one)")
    r.add_argument("-o", "--out", default="hil_out", help="report directory (default hil_out)")
    r.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    r.set_defaults(func=run)
    ls = hsub.add_parser("list", help="list the shipped scenarios")
    ls.set_defaults(func=list_scenarios)


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
    scenarios = [load_scenario(p) for p in args.scenarios]  # all validated before anything runs
    failed = 0
    for sc in scenarios:
        print(f"safetwin hil: {sc.name} [{transport}] ({sc.path})")
        result = Bench(sc, transport=transport, firmware=args.firmware, rate_hz=args.rate_hz,
                       duration_s=args.duration_s).run()
        paths = write_all(result, Path(args.out), plots=not args.no_plots)
        for c in result.criteria:
            print(f"  {'PASS' if c['passed'] else 'FAIL'}  {c['name']:28s} {c['message']}")
        speed = result.simulated_s / result.wall_s if result.wall_s > 0 else float("inf")
        print(f"  {result.simulated_s:g} s simulated in {result.wall_s:.2f} s ({speed:.0f}x real time), "
              f"{result.retransmissions} retransmissions")
        if result.firmware_report:
            fr = result.firmware_report
            print(f"  firmware: {fr['cycles']} cycles, cycle time p50/p99/max {fr['cycle_time']['p50_us']:.0f}/"
                  f"{fr['cycle_time']['p99_us']:.0f}/{fr['cycle_time']['max_us']:.0f} us, jitter p99 "
                  f"{fr['jitter']['p99_us']:.0f} us, {fr['deadline_misses']} deadline misses")
        print("  reports: " + ", ".join(str(p) for p in paths.values()))
        failed += not result.passed
    if failed:
        print(f"safetwin hil: {failed} of {len(scenarios)} scenario(s) failed", file=sys.stderr)
        return 1
    return 0
