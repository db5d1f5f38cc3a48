"""PACK-96 (96s1p REF-CELL-1 with spread) for one hour at dt = 1 s, and single-cell steps, from C++
and from Python, beside a plain numpy implementation of the same equations in the same run.

Run: python benchmarks/bench_battery.py   (needs the package installed: pip install .)
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _cpp import run_cpp_bench  # noqa: E402

from safetwin import battery  # noqa: E402

HOUR = 3600
CELLS = 96


def profile() -> np.ndarray:
    k = np.arange(HOUR)
    return np.where((k // 60) % 2 == 1, -5.0, 5.0)


def numpy_pack_hour(current: np.ndarray, cap_factor: np.ndarray, r0_factor: np.ndarray, ocv_table):
    """The REF-CELL-1 equations vectorised over the cells with numpy (series string: one current)."""
    p = battery.CellParams.ref_cell_1()
    soc_axis, ocv_axis = ocv_table.soc, ocv_table.ocv_v
    soc = np.full(CELLS, 0.5)
    v1 = np.zeros(CELLS)
    v2 = np.zeros(CELLS)
    temp = np.full(CELLS, 298.15)
    r0b, r1b, r2b = 0.021 * r0_factor, 0.0075, 0.023
    a1, a2 = np.exp(-1.0 / (0.0075 * 1733.0)), np.exp(-1.0 / (0.023 * 5652.0))
    volts = np.empty((len(current), CELLS))
    for k, i in enumerate(current):
        arr = np.exp(p.arrhenius_k * (1.0 / temp - 1.0 / 298.15))
        r0, r1, r2 = r0b * arr, r1b * arr, r2b * arr
        volts[k] = np.interp(soc, soc_axis, ocv_axis) - r0 * i - v1 - v2
        heat = i * i * r0 + v1 * v1 / r1 + v2 * v2 / r2 - 0.3 * (temp - 298.15)
        soc = soc - i / (3600.0 * 5.15 * cap_factor)
        v1 = a1 * v1 + r1 * (1 - a1) * i
        v2 = a2 * v2 + r2 * (1 - a2) * i
        temp = temp + heat / 52.0
    return volts


def median_time(f, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    current = profile()
    cpp = run_cpp_bench("bench_battery")

    def cpp_from_python():
        pack = battery.pack_96s1p(seed=1, initial=battery.CellState(soc=0.5))
        return pack.simulate(current, 1.0)

    t_py = median_time(cpp_from_python, 21)
    pack = battery.pack_96s1p(seed=1, initial=battery.CellState(soc=0.5))
    scaling = pack.scaling
    cap = np.array([s.capacity_factor for s in scaling])
    r0f = np.array([s.r0_factor for s in scaling])
    table = battery.OcvTable.lgm50_chen2020()
    t_np = median_time(lambda: numpy_pack_hour(current, cap, r0f, table), 5)
    # Same equations, same numbers: the check that the comparison is fair.
    diff = np.abs(numpy_pack_hour(current, cap, r0f, table) - cpp_from_python()["cell_voltage_v"]).max()

    cell = battery.Cell(battery.CellParams.ref_cell_1(), battery.CellState(soc=0.5))
    n = 20000
    samples = []
    for _ in range(15):
        t0 = time.perf_counter()
        for k in range(n):
            cell.step(5.0 if k % 2 else -5.0, 1.0)
        samples.append((time.perf_counter() - t0) / n)
    t_cell_py = statistics.median(samples)

    cell_steps = HOUR * CELLS
    t_cpp = cpp["pack96_hour"][0] * 1e-9
    print("PACK-96, one hour at dt = 1 s (3600 steps x 96 cells), medians")
    print(f"  C++ Pack::simulate           {t_cpp * 1e3:9.2f} ms  {t_cpp / cell_steps * 1e9:7.1f} ns/cell-step")
    print(f"  C++ from Python (simulate)   {t_py * 1e3:9.2f} ms  {t_py / cell_steps * 1e9:7.1f} ns/cell-step")
    print(f"  numpy, vectorised over cells {t_np * 1e3:9.2f} ms  {t_np / cell_steps * 1e9:7.1f} ns/cell-step")
    print(f"  ratio numpy / C++ from Python {t_np / t_py:8.1f}x   (max |dV| between them {diff:.1e} V)")
    print("One step, medians (p99, max)")
    for label, name in [("cell_step", "single cell, C++"), ("pack96s1p_step", "96s1p pack, C++"),
                        ("pack48s2p_step", "48s2p pack (parallel split), C++")]:
        med, p99, mx = cpp[label]
        print(f"  {name:34s} {med / 1e3:8.3f} us  ({p99 / 1e3:.3f}, {mx / 1e3:.3f})")
    print(f"  {'single cell, from Python':34s} {t_cell_py * 1e6:8.3f} us")
    print(f"  ratio Python call / C++ call       {t_cell_py / (cpp['cell_step'][0] * 1e-9):8.1f}x")
    print("Goals: <= 30 ns per cell-step in C++ (pack-hour ~10 ms); 96-cell pack step with split <= 5 us")


if __name__ == "__main__":
    main()
