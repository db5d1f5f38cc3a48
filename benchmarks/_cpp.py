"""Builds and runs the C++ benchmark executables (cpp/bench/bench_*.cpp) for the scripts here."""
from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "build" / "bench"


def run_cpp_bench(name: str, *args: str) -> dict[str, tuple[float, float, float]]:
    """Builds target `name` in build/bench (Release, no Python) and returns {label: (median, p99, max)} in ns."""
    subprocess.run(["cmake", "-S", str(ROOT), "-B", str(BUILD), "-DCMAKE_BUILD_TYPE=Release",
                    "-DSAFETWIN_PYTHON=OFF", "-DSAFETWIN_TESTS=OFF", "-DSAFETWIN_BENCH=ON"],
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", str(BUILD), "--target", name, "-j", "2"], check=True,
                   stdout=subprocess.DEVNULL)
    out = subprocess.run([str(BUILD / "bench" / name), *args], check=True, capture_output=True, text=True).stdout
    result = {}
    for line in out.splitlines():
        label, *values = line.split()
        result[label] = tuple(float(v) for v in values)
    return result
