"""Safety layer timings: the CBF filter step, a monitor check of 50 invariants and the whole control
cycle from C++ (median/p99/max over 1e5 calls, cpp/bench/bench_safety.cpp), then the invariant
monitor beside RTAMT's online monitor on the same bounded-always property over 1e5 samples.

Run: python benchmarks/bench_safety.py [--samples N]   (needs the package installed: pip install .)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpp import run_cpp_bench  # noqa: E402

from safetwin import safety  # noqa: E402

GOALS_NS = {"cbf_step": (2000, None), "monitor_check_50": (2000, None),
            "cycle_mpc_n30": (50000, 100000)}


def cpp_table():
    rows = run_cpp_bench("bench_safety")
    print(f"{'C++ (1e5 calls)':<24}{'median us':>12}{'p99 us':>12}{'max us':>12}  goal")
    for label, (med, p99, mx) in rows.items():
        goal = GOALS_NS.get(label)
        note = "" if goal is None else f"median <= {goal[0] / 1e3:g} us" + (f", max <= {goal[1] / 1e3:g} us" if goal[1] else "")
        print(f"{label:<24}{med / 1e3:>12.3f}{p99 / 1e3:>12.3f}{mx / 1e3:>12.3f}  {note}")
    return rows


def monitor_vs_rtamt(n: int, window: int = 10):
    import rtamt

    rng = np.random.default_rng(0)
    xs = np.cumsum(rng.normal(0, 0.05, n)) % 1.0 * 4.4  # crosses the limit now and then
    times = np.arange(n, dtype=float)
    inv = safety.Invariant("v_always", "v", "always_within", hi=4.2, window_s=float(window))
    mon = safety.MonitorDefinition(["v"], [inv]).build()

    t0 = time.perf_counter()
    ours = mon.run(times, xs[:, None])["value"][:, 0]
    t_ours_run = time.perf_counter() - t0

    mon.clear()
    t0 = time.perf_counter()
    for k in range(n):  # the same monitor driven sample by sample from Python, as RTAMT is
        mon.set(0, xs[k])
        mon.check(times[k])
    t_ours_py = time.perf_counter() - t0

    spec = rtamt.StlDiscreteTimeSpecification()
    spec.declare_var("v", "float")
    spec.spec = f"always[0:{window}](v <= 4.2)"
    spec.parse()
    spec.pastify()
    ref = np.empty(n)
    t0 = time.perf_counter()
    for k in range(n):
        ref[k] = spec.update(k, [("v", float(xs[k]))])
    t_rtamt = time.perf_counter() - t0

    assert np.array_equal(ours, ref), "monitor and RTAMT disagree"
    print(f"\nbounded always[0:{window}](v <= 4.2) over {n} samples (robustness identical: "
          f"{int((ref < 0).sum())} violating samples)")
    print(f"{'':<40}{'per sample us':>14}{'total s':>10}{'RTAMT / this':>14}")
    for name, t in (("safetwin monitor, C++ loop (run)", t_ours_run),
                    ("safetwin monitor, set+check from Python", t_ours_py),
                    ("RTAMT online (pastified), Python", t_rtamt)):
        print(f"{name:<40}{t / n * 1e6:>14.3f}{t:>10.3f}{t_rtamt / t:>14.1f}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=100_000)
    args = ap.parse_args(argv)
    cpp_table()
    monitor_vs_rtamt(args.samples)
    return 0


if __name__ == "__main__":
    sys.exit(main())
