#!/usr/bin/env python3
"""The one model's consumers before and after, in the same run (issue 12).

Builds cpp/bench/bench_one_model.cpp twice, Release, no Python: against a baseline revision
(default `main`, exported with `git archive` into build/one_model_baseline/, the bench source of
this tree copied in) and against this working tree (build/bench). It then runs the two executables
alternately, `--rounds` times each, and prints per figure the median over the rounds of each run's
median, the ratio after / before, and the issue's goal:

  ekf_step_2rc        BatteryEkf::step, REF-CELL-1, state only        goal <= 1 us
  ekf_step_2rc_joint  the same with the joint R0 / capacity factors
  mpc_n30             BatteryMpc::compute, MPC-FC N = 30, whole charge goal <= 20 us median
  pack_step_per_cell  Pack::step of 96s1p / 96
  (each: no regression beyond 10 %)

Not a test: figures depend on the machine and its load (run it under `nice` on a quiet machine).
With --instructions it counts instructions per call instead (valgrind's callgrind, which does not
depend on the load): (I(N calls) - I(1 call)) / (N - 1) for each figure, on both builds (mpc_n30:
the whole charge from SOC 0.10 to 0.79, as the timed figure).

  python benchmarks/bench_one_model.py                 # baseline main, 5 rounds
  python benchmarks/bench_one_model.py --baseline adc38bf --rounds 9
  python benchmarks/bench_one_model.py --instructions     # callgrind counts, before and after
"""
from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_SRC = ROOT / "cpp" / "bench" / "bench_one_model.cpp"
GOALS = {"ekf_step_2rc": "<= 1000 ns", "mpc_n30": "<= 20000 ns"}


def build(src: Path, build_dir: Path) -> Path:
    subprocess.run(["cmake", "-S", str(src), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                    "-DSAFETWIN_PYTHON=OFF", "-DSAFETWIN_TESTS=OFF", "-DSAFETWIN_BENCH=ON"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(build_dir), "--target", "bench_one_model", "-j", "2"], check=True,
                   stdout=subprocess.DEVNULL)
    return build_dir / "bench" / "bench_one_model"


def baseline_tree(ref: str) -> Path:
    dest = ROOT / "build" / "one_model_baseline" / "src"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    shutil.copy(BENCH_SRC, dest / "cpp" / "bench" / BENCH_SRC.name)
    return dest


def run(exe: Path) -> dict[str, float]:
    out = subprocess.run([str(exe)], check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


COUNT_CALLS = {"ekf_step_2rc": 2001, "ekf_step_2rc_joint": 2001, "mpc_n30": 3600, "pack_step_per_cell": 201}
PER = {"pack_step_per_cell": 96}  # per cell of the 96s1p pack


def instructions(exe: Path, figure: str, calls: int) -> tuple[int, int]:
    """Instructions of the whole run, and the calls made (mpc_n30 stops when the charge ends)."""
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", str(exe), figure,
                          str(calls)], check=True, capture_output=True, text=True)
    refs = int(next(line for line in out.stderr.splitlines() if "refs:" in line).split()[-1].replace(",", ""))
    made = int(float(out.stdout.split()[1]))
    return refs, made if made > 0 else calls


def per_call_instructions(exe: Path, figure: str) -> float:
    (i_n, n), (i_1, _) = instructions(exe, figure, COUNT_CALLS[figure]), instructions(exe, figure, 1)
    return (i_n - i_1) / (n - 1) / PER.get(figure, 1)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--baseline", default="main", help="git revision to compare against (default main)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--instructions", action="store_true", help="count instructions per call (callgrind)")
    ap.add_argument("--build-dir", default=str(ROOT / "build" / "bench"), help="this tree's build directory")
    args = ap.parse_args(argv)
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", args.baseline], check=True,
                         capture_output=True, text=True).stdout.strip()
    before_exe = build(baseline_tree(args.baseline), ROOT / "build" / "one_model_baseline" / "build")
    after_exe = build(ROOT, Path(args.build_dir))
    if args.instructions:
        print(f"baseline {args.baseline} ({rev}) vs this tree; instructions per call (callgrind)")
        print(f"{'figure':<20} {'before':>10} {'after':>10} {'after/before':>13}")
        for name in COUNT_CALLS:
            b, a = per_call_instructions(before_exe, name), per_call_instructions(after_exe, name)
            print(f"{name:<20} {b:>10.0f} {a:>10.0f} {a / b:>13.3f}")
        return
    before: dict[str, list[float]] = {}
    after: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # alternate, so that a change of load hits both alike
        for exe, acc in ((before_exe, before), (after_exe, after)):
            for name, median in run(exe).items():
                acc.setdefault(name, []).append(median)
    print(f"baseline {args.baseline} ({rev}) vs this tree; median over {args.rounds} alternating rounds (ns)")
    print(f"{'figure':<20} {'before':>10} {'after':>10} {'after/before':>13}  goal")
    for name in before:
        b, a = statistics.median(before[name]), statistics.median(after[name])
        print(f"{name:<20} {b:>10.1f} {a:>10.1f} {a / b:>13.3f}  {GOALS.get(name, '')} (no regression > 10 %)")


if __name__ == "__main__":
    main()
