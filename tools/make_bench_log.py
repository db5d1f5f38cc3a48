"""Writes examples/bench_log.csv, the example log of `safetwin estimate`, from the PyBaMM DFN
reference run (tests/data/dfn_lgm50_cccv_1c.csv): its noisy "measured" columns, every 5 s, as a
cycler would log them (t_s,current_a,voltage_v,temperature_c), plus the DFN's true SOC for comparison.

    python tools/make_bench_log.py
"""
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EVERY_S = 5

d = np.genfromtxt(ROOT / "tests" / "data" / "dfn_lgm50_cccv_1c.csv", delimiter=",", names=True)
keep = (d["t_s"] % EVERY_S) == 0
cols = [d["t_s"][keep], d["current_meas_a"][keep], d["voltage_meas_v"][keep], d["temperature_meas_c"][keep],
        d["soc_true"][keep]]
np.savetxt(ROOT / "examples" / "bench_log.csv", np.column_stack(cols), delimiter=",", comments="",
           header="t_s,current_a,voltage_v,temperature_c,soc_dfn", fmt=["%.0f", "%.4f", "%.5f", "%.2f", "%.5f"])
