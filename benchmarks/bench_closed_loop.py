"""Per-scenario cost of the closed-loop runner (safetwin.loop, one C++ call) against the same loop
stepped from Python through the bindings (tests/test_closed_loop.py's reference loop, which the
tests show gives the same numbers bit for bit), on the same cycle and the same noise.

Scenarios (600 s at 1 s unless --duration-s):
  cell-mpc        one REF-CELL-1 cell on ControlCycle, the core's MPC (N = 10)
  pack-mpc        4s2p on PackCycle with trust and attestation, one MPC per group (N = 10)
  pack-const      4s2p on PackCycle, a constant 2C charge (built-in law in the runner; the same law
                  as a Python Controller in the Python loop, as a campaign's unsafe laws are today)
  pack-const-py   4s2p, the Python constant law in both (the trampoline's cost in the runner)
  cell-cccv       one cell, a 1C CC-CV charge (the runner's built-in CC-CV on node a's reading; in
                  the Python loop the same CcCvCharger as a Python Controller on the same reading)
  pack-cccv       4s2p, CC-CV per group likewise

Prints per scenario: median, worst and minimum wall time of each over --repeats runs and the
ratios of the medians and of the minima (goal: >= 10x). With the MPC in the loop the ratio is
bounded by the MPC's own solve time, which both loops pay.
    python benchmarks/bench_closed_loop.py [--repeats 5] [--duration-s 600] [--cpu]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_closed_loop import Constant, cell_spec, mpcs, pack_spec, python_loop  # noqa: E402

from safetwin import battery, control, loop  # noqa: E402


class PyConstant(Constant):
    def compute(self, inp):
        return self.current_a


class PyCcCv(control.Controller):
    """CC-CV on the group's node-a reading of this step, which python_loop leaves in `readings`."""

    def __init__(self, group: int, readings: dict):
        super().__init__()
        self.group, self.readings = group, readings
        self.charger = battery.CcCvCharger(battery.CcCvConfig(charge_current_a=5.15))

    def compute(self, inp):
        return self.charger.current_a(float(self.readings["voltage_a_v"][self.group]))


def scenarios(duration_s: float):
    n = int(duration_s)
    verdicts = np.zeros((n, 2), dtype=np.uint8)
    verdicts[::5] = 1
    yield ("cell-mpc", cell_spec(duration_s, law=loop.controllers()), lambda: mpcs(1), lambda: mpcs(1))
    yield ("pack-mpc", pack_spec(duration_s, trust=True, law=loop.controllers(), attestation=verdicts),
           lambda: mpcs(4), lambda: mpcs(4))
    yield ("pack-const", pack_spec(duration_s, law=loop.constant(-2 * 5.15)), lambda: None,
           lambda: [PyConstant(-2 * 5.15)] * 4)
    yield ("pack-const-py", pack_spec(duration_s, law=loop.controllers()), lambda: [PyConstant(-2 * 5.15)] * 4,
           lambda: [PyConstant(-2 * 5.15)] * 4)
    cccv = loop.cccv(battery.CcCvConfig(charge_current_a=5.15))
    yield ("cell-cccv", cell_spec(duration_s, law=cccv), lambda: None, lambda: [PyCcCv(0, READINGS)])
    yield ("pack-cccv", pack_spec(duration_s, law=cccv), lambda: None, lambda: [PyCcCv(g, READINGS) for g in range(4)])


READINGS: dict = {}  # the Python loop's node-a readings of the step, for PyCcCv


CLOCK = time.perf_counter


def timed(f) -> float:
    t0 = CLOCK()
    f()
    return CLOCK() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--duration-s", type=float, default=600.0)
    ap.add_argument("--cpu", action="store_true",
                    help="CPU time of this process instead of wall time (both loops run in one thread: on a "
                         "machine shared with other jobs the CPU time is the cost without their preemption)")
    args = ap.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.cpu else time.perf_counter
    print(f"{'scenario':<15} {'runner med/worst/min (ms)':>28} {'python med/worst/min (ms)':>28} "
          f"{'ratio med':>9} {'ratio min':>9}")
    for name, spec, runner_ctl, python_ctl in scenarios(args.duration_s):
        r = np.array([timed(lambda s=spec, c=runner_ctl: loop.run(s, c())) for _ in range(args.repeats)]) * 1e3
        p = np.array([timed(lambda s=spec, c=python_ctl: python_loop(s, c(), READINGS))
                      for _ in range(args.repeats)]) * 1e3
        print(f"{name:<15} {np.median(r):>10.2f} /{r.max():>7.2f} /{r.min():>7.2f} "
              f"{np.median(p):>10.2f} /{p.max():>7.2f} /{p.min():>7.2f} "
              f"{np.median(p) / np.median(r):>8.1f}x {p.min() / r.min():>8.1f}x")
    print(f"({args.duration_s:.0f} steps per scenario; {'CPU' if args.cpu else 'wall'} times include building the "
          "plant and the cycle; on a shared machine the minimum is the least contended cost)")


if __name__ == "__main__":
    main()
