"""Worst cases of the control path, WCET-style (cpp/bench/bench_wcet.cpp): the QP at its iteration
cap, the MPC's cold start (the first call, no plan to shift), a warm MPC step and the guarded
control cycle, against the caps that bound them (DenseQpSettings::max_iterations,
BatteryMpcConfig::linearisations and cold_start_linearisations, documented in their headers).

Each input (a QP, an initial state, one step of a deterministic closed loop) runs --repeats times;
"worst input" is the largest over inputs of each input's fastest run (the cost of the worst path
without the preemptions of a shared machine), "raw max" the plain maximum, preemptions included.

Run: python benchmarks/bench_wcet.py [--repeats N]   (builds the C++ benchmark; no Python package needed)
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpp import run_cpp_bench  # noqa: E402

ROWS = {
    "qp_capped_n30": "QP n=30 m=60 run to its cap",
    "mpc_cold_n30": "MPC N=30 cold start",
    "mpc_cold_n120": "MPC N=120 cold start",
    "mpc_warm_n30": "MPC N=30 warm step",
    "cycle_mpc_n30_first": "cycle + MPC N=30, first step",
    "cycle_mpc_n30": "cycle + MPC N=30, later steps",
}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs of every input (default 5)")
    args = ap.parse_args(argv)
    if args.repeats < 1:
        ap.error(f"--repeats = {args.repeats}: must be >= 1")
    rows = run_cpp_bench("bench_wcet", str(args.repeats))
    caps = rows.pop("caps")
    print(f"caps: QP max_iterations = {caps[0]:.0f}, linearisations per step = {caps[1]:.0f}, "
          f"on a cold start <= {caps[2]:.0f}")
    print(f"{'':<32}{'median us':>11}{'p99 us':>10}{'worst input us':>16}{'raw max us':>12}"
          f"{'iters':>7}{'QPs':>5}{'inputs':>8}")
    for label, title in ROWS.items():
        med, p99, raw_max, worst, iters, qps, inputs = rows[label]
        print(f"{title:<32}{med / 1e3:>11.1f}{p99 / 1e3:>10.1f}{worst / 1e3:>16.1f}{raw_max / 1e3:>12.1f}"
              f"{iters:>7.0f}{qps:>5.0f}{inputs:>8.0f}")
    typical = rows["mpc_warm_n30"][0]
    cycle = rows["cycle_mpc_n30"][0]
    print("\nratios of worst inputs to the typical (median) warm MPC step / cycle step:")
    for label in ("qp_capped_n30", "mpc_cold_n30", "mpc_cold_n120"):
        print(f"  {ROWS[label]:<32}{rows[label][3] / typical:>8.1f} x warm MPC step")
    for label in ("cycle_mpc_n30_first", "cycle_mpc_n30"):
        print(f"  {ROWS[label]:<32}{rows[label][3] / cycle:>8.1f} x median cycle step")


if __name__ == "__main__":
    main()
