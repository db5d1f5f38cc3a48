"""The safe horizon per cell from C++ (cpp/bench/bench_safe_horizon.cpp, median/p99/max over 2e4
samples of 5 calls): the tube to the 30 s ceiling at rest (30 prediction steps), to a 10 s ceiling,
a fast charge near V_max (the tube ends at once), and the CBF filter step and the joint EKF step of the
same run as anchors.

Run: python benchmarks/bench_safe_horizon.py   (builds build/bench; no Python package needed)
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpp import run_cpp_bench  # noqa: E402

GOAL_NS = 2000.0  # issue 18: the safe-horizon computation per cell


def main() -> None:
    rows = run_cpp_bench("bench_safe_horizon")
    anchor = rows.get("cbf_step_anchor", (float("nan"),) * 3)[0]
    ekf = rows.get("ekf_step_joint_anchor", (float("nan"),) * 3)[0]
    print(f"{'C++':<30}{'median us':>11}{'p99 us':>10}{'max us':>10}{'x CBF step':>12}{'x EKF step':>12}  goal")
    for label, (med, p99, mx) in rows.items():
        if label.startswith("steps_"):
            continue
        goal = f"median <= {GOAL_NS / 1e3:g} us" if label.startswith("safe_horizon") else ""
        met = "" if not goal else (" (met)" if med <= GOAL_NS else " (NOT met)")
        print(f"{label:<30}{med / 1e3:>11.3f}{p99 / 1e3:>10.3f}{mx / 1e3:>10.3f}{med / anchor:>12.1f}{med / ekf:>12.2f}  {goal}{met}")


if __name__ == "__main__":
    main()
