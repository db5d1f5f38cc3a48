"""Fault isolation: the confusion table over the fault classes on a campaign of simulated pack runs.

Each run is one closed-loop simulation of a 4s1p pack (safetwin.diagnostics.fault_campaign): one
injected fault (internal short 20..100 Ohm, connection +5..20 mOhm, a voltage-sensor offset /
stuck / drift / noise on one node, one cell's cooling loss) or none, at a random onset, cell and
size. The detectors' thresholds come from nominal runs of other seeds at --alpha per run and
detector (one run = one hour). Prints the thresholds, the confusion table (rows injected, columns
isolated), the location accuracy, the detection delays (median and worst, s after the onset), and
how often the 95 % interval of each size estimate holds the injected size (the leak's and the
cooling's calibrated on --interval-runs faulty runs of other seeds); then the coverage of the
ageing-drift intervals (capacity and R0 of safetwin diagnose) on held-out nominal aged hours.

Run: nice python benchmarks/bench_fault_isolation.py [--calibration-runs N] [--runs N] [--alpha A]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from safetwin.commands.diagnose import shipped_calibration_path
from safetwin.diagnostics import fault_campaign
from safetwin.diagnostics.calibration import load_calibration
from safetwin.diagnostics.isolation import FAULT_CLASSES
from safetwin.diagnostics.synthetic import binomial_interval

CALIBRATION_SEED0 = 1_000_000
INTERVAL_SEED0 = 2_000_000
AGEING_HELDOUT_SEED0 = 30_000_000   # the shipped calibration's ageing intervals came from seeds 0..9999


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calibration-runs", type=int, default=200, help="nominal runs (hours) for the thresholds")
    ap.add_argument("--runs", type=int, default=40, help="runs per class")
    ap.add_argument("--alpha", type=float, default=0.01, help="false-alarm probability per run and detector")
    ap.add_argument("--interval-runs", type=int, default=60,
                    help="faulty runs per class (leak, cooling) calibrating their size intervals (0: nominal spread)")
    ap.add_argument("--ageing-runs", type=int, default=400, help="nominal aged hours for the interval coverage")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    t0 = time.process_time()
    w0 = time.perf_counter()
    intervals = range(INTERVAL_SEED0, INTERVAL_SEED0 + args.interval_runs) if args.interval_runs else None
    ev = fault_campaign.evaluate(range(CALIBRATION_SEED0, CALIBRATION_SEED0 + args.calibration_runs),
                                 range(args.runs), args.alpha, args.workers, interval_seeds=intervals)
    cpu, wall = time.process_time() - t0, time.perf_counter() - w0
    runs = args.calibration_runs + args.runs * len(FAULT_CLASSES) + 2 * args.interval_runs
    print(f"fault isolation: {args.calibration_runs} nominal calibration hours, {args.runs} runs per class, "
          f"alpha {args.alpha:g} per run and detector; {runs} runs in {wall:.0f} s wall, {cpu:.0f} s CPU")
    print("thresholds: " + ", ".join(f"{k} {v:.4g}" for k, v in ev["thresholds"].items()))
    if intervals is not None:
        print(f"size intervals calibrated on {args.interval_runs} faulty runs per class (seeds {INTERVAL_SEED0}..): "
              + ", ".join(f"{k} {ev['thresholds'][k + ':error_lo']:+.3f} .. {ev['thresholds'][k + ':error_hi']:+.3f} "
                          f"({ev['thresholds'][k + ':error_runs']} detected)" for k in fault_campaign.SIZE_ERROR))
    print(fault_campaign.format_confusion(ev["confusion"]))
    m = ev["confusion"]
    print("per-class recall: " + ", ".join(f"{c} {m[i, i] / m[i].sum():.2f}" for i, c in enumerate(FAULT_CLASSES)))
    print(f"isolated group = injected group (correct class): {ev['located']:.3f}")
    for k, d in ev["delays_s"].items():
        print(f"detection delay {k}: median {np.median(d):.0f} s, worst {np.max(d):.0f} s ({len(d)} runs)")
    for k, c in ev["ci95_coverage"].items():
        n = ev["ci95_cases"][k]
        lo, hi = binomial_interval(int(round(c * n)), n)
        print(f"95 % interval of the {k} estimate holds the injected size: {c:.2f} of {n} runs "
              f"(Clopper-Pearson 95 %: {lo:.2f} .. {hi:.2f})")
    if args.ageing_runs:
        table = load_calibration(shipped_calibration_path()).get("ageing_intervals")
        seeds = range(AGEING_HELDOUT_SEED0, AGEING_HELDOUT_SEED0 + args.ageing_runs)
        cov = fault_campaign.ageing_interval_coverage(seeds, table, args.workers)
        for k, per in cov.items():
            for method, c in per.items():
                lo, hi = c["ci95"]
                print(f"ageing drift ({method} interval): 95 % interval of {k} holds the truth in "
                      f"{c['coverage']:.3f} of {c['runs']} held-out nominal aged hours (Clopper-Pearson 95 %: "
                      f"{lo:.3f} .. {hi:.3f}; goal 0.93-0.97)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
