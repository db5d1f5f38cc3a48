"""Diagnostics and prognostics: speed and accuracy figures.

- Ageing model (Schmalstieg 2014, C++): equivalent full cycles per second per cell, from C++ (one
  advance per cycle) and through the vectorised Python face (cells x cycles in one call).
- Online anomaly score: ns per cell-step beside the joint EKF step, in the same C++ run.
- Calibration: nominal simulated hours per second on the worker threads, and the extrapolated
  time of 10 000 hours for each of 96 cells.
- Held-out false alarms: the shipped calibration (or one made here) against new nominal hours with
  other load-profile weights: alarms / hours with the binomial 95 % interval of alpha.
- Prognostics on a synthetic fleet: 90 % RUL-interval coverage (Clopper-Pearson 95 %) and the
  alpha-lambda accuracy (alpha = 0.2) at lambda = 0.25, 0.5, 0.75.

Run: python benchmarks/bench_diagnostics.py [--heldout-hours N] [--cells N]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpp import run_cpp_bench  # noqa: E402

from safetwin.commands.diagnose import shipped_calibration_path  # noqa: E402
from safetwin.diagnostics import ageing, calibration  # noqa: E402
from safetwin.diagnostics.synthetic import FleetSpec, evaluate_prognostics, make_fleet  # noqa: E402

HELDOUT_SEED0 = 50_000_000


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--heldout-hours", type=int, default=10000)
    ap.add_argument("--cells", type=int, default=2000, help="fleet size of the prognostics check")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    print("== C++ timings (median / p99 / max, ns)")
    cpp = run_cpp_bench("bench_diagnostics")
    for label, (med, p99, mx) in cpp.items():
        print(f"  {label:28s} {med:10.1f} {p99:10.1f} {mx:10.1f}")
    score_ns = cpp["score_step"][0]
    both_ns = cpp["innovations_and_score_step"][0]
    ekf_ns = cpp["ekf_step_joint"][0]
    print(f"  score per cell-step: {score_ns / 1000:.3f} us (with reading the EKF report {both_ns / 1000:.3f} us; goal "
          f"<= 0.2 us), {100 * both_ns / ekf_ns:.1f} % of the joint EKF step ({ekf_ns / 1000:.2f} us)")
    per_cycle_ns = cpp["ageing_100_intervals"][0] / 100
    print(f"  ageing: {per_cycle_ns:.1f} ns per advance -> {1e9 / per_cycle_ns:,.0f} equivalent full cycles/s per cell "
          "(one advance per cycle; goal >= 1 000)")

    print("== Ageing through Python (vectorised): 1000 cells x 2000 cycles, one interval per cycle")
    stress = ageing.cycling_stress(dod=np.linspace(0.3, 1.0, 1000)[:, None], c_rate=1.0, soc_mean=0.5,
                                   ambient_k=298.15, rest_h=1.0)
    stress = {k: np.broadcast_to(v, (1000, 2000)) for k, v in stress.items()}
    t0 = time.perf_counter()
    ageing.age(**stress)
    dt = time.perf_counter() - t0
    print(f"  {dt:.2f} s -> {2e6 / dt:,.0f} equivalent full cycles/s (all cells), {2000 / dt:,.0f} per cell in parallel")

    print("== Calibration speed and held-out false alarms")
    cal = calibration.load_calibration(shipped_calibration_path())
    settings = calibration.settings_of(cal)
    print(f"  shipped calibration: {cal['hours']:.0f} nominal hours, window {cal['window_samples']} samples, "
          f"thresholds {cal['thresholds']} ({cal.get('threshold_method')})")
    mixes = (("same profile mix, new seeds", calibration.NominalSpec(), args.heldout_hours),
             ("other profile mix", calibration.NominalSpec(profile_weights=(0.15, 0.15, 0.25, 0.25, 0.2)),
              args.heldout_hours // 2))
    for k, (name, spec, hours) in enumerate(mixes):
        seed0 = HELDOUT_SEED0 + k * 10_000_000
        t0 = time.perf_counter()
        heldout = calibration.hourly_max_scores(range(seed0, seed0 + hours), spec, settings, workers=args.workers)
        dt = time.perf_counter() - t0
        rate = hours / dt
        print(f"  {name}: {hours} nominal hours in {dt:.1f} s on {args.workers} threads: {rate:.0f} h/s "
              f"(10 000 h: {10000 / rate:.0f} s; 10 000 h for each of 96 cells: {96 * 10000 / rate / 60:.0f} min)")
        for key, threshold in cal["thresholds"].items():
            alpha = float(key)
            alarms = int(np.sum(heldout > threshold))
            lo, hi = stats.binom.interval(0.95, hours, alpha)
            verdict = "inside" if lo <= alarms <= hi else ("below" if alarms < lo else "ABOVE")
            print(f"    alpha {alpha:g}/h: threshold {threshold:.4g}; alarms {alarms}/{hours} = {alarms / hours:.2e}/h; "
                  f"binomial 95 % interval of alpha: [{lo:.0f}, {hi:.0f}] -> {verdict}")

    print(f"== Prognostics on a synthetic fleet of {args.cells} cells")
    fleet = make_fleet(FleetSpec(cells=args.cells), seed=11)
    res = evaluate_prognostics(fleet, lambdas=(0.25, 0.5, 0.75), seed=3)
    for lam, r in res.items():
        lo, hi = r["coverage_ci95"]
        print(f"  lambda {lam:.2f}: 90 % interval coverage {r['coverage']:.3f} (95 %: {lo:.3f}..{hi:.3f}); "
              f"alpha-lambda (0.2) {r['alpha_lambda']:.3f}; median |rel. error| {r['median_abs_rel_error']:.3f}; "
              f"{r['cells']} cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
