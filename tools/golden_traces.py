"""Golden closed-loop traces (PX4's ``change_indication`` habit): four runs of the whole stack whose
outputs are committed under ``tests/golden/`` and re-run by ``tests/test_golden.py``.

Every numerical change to the model, the estimator, the controller or the safety layer moves at least
one of them, so it shows up as a diff. Regenerate with ``python tools/golden_traces.py`` only in a
commit whose message says why the traces moved.

The runs (each through the package's public Python API, the same calls its CLI command makes):

- ``demo``: ``safetwin demo`` (4s2p MPC fast charge, attack, cooling failure), every 10th step;
- ``mpc_fc``: MPC-FC with the built-in solver (``safetwin charge``), every 10th step;
- ``hil_nominal_fast_charge``: the shipped HIL scenario, firmware in-process, every 10th step;
- ``estimate_dfn``: ``safetwin estimate`` on the DFN 1C charge of ``../shared/data``, every 10th row.

Tolerances (``TOLERANCE``, absolute, by the column's unit suffix) are far below any physical
resolution -- 1 uV, 1e-6 of SOC, 10 uK, 10 uA -- and far above the rounding noise of a rebuild on one
machine (the runs are deterministic bit for bit there); discrete columns (modes, flags) must match exactly.
"""
from __future__ import annotations

import csv
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
GOLDEN_DIR = ROOT / "tests" / "golden"
DFN_CSV = ROOT / "tests" / "data" / "dfn_lgm50_cccv_1c.csv"
STRIDE = 10

# Absolute tolerance by column name (a regular expression over the whole name, then an optional
# _max/_min and an optional _<index> of a 2-D trace column); the first that matches wins, columns with no match compare exactly.
TOLERANCE = (
    (r"t_s", 1e-9),
    (r".*_v", 1e-6),
    (r".*_(c|k)", 1e-5),
    (r".*_a", 1e-5),
    (r".*soc.*", 1e-6),
    (r".*_sigma", 1e-7),
    (r".*_ohm", 1e-9),
    (r".*_ah", 1e-7),
    (r"trust", 1e-6),
    (r"nis", 1e-5),
)


def tolerance(column: str) -> float:
    """The absolute tolerance of a column (0 = compare exactly)."""
    for pattern, tol in TOLERANCE:
        if re.fullmatch(pattern + r"(_max|_min)?(_\d+)?", column):
            return tol
    return 0.0


def _columns(tr: dict, names: dict[str, str]) -> dict[str, np.ndarray]:
    """Flattens 2-D trace entries into one column per index: name_0, name_1, ..."""
    out: dict[str, np.ndarray] = {}
    for key, col in names.items():
        a = np.asarray(tr[key], dtype=float)
        if a.ndim == 1:
            out[col] = a[::STRIDE]
        else:
            for j in range(a.shape[1]):
                out[f"{col}_{j}"] = a[::STRIDE, j]
    return out


def demo_trace() -> dict[str, np.ndarray]:
    from safetwin import demo
    tr = demo.run(demo.DemoConfig()).trace
    return _columns(tr, {"t_s": "t_s", "command_a": "command_a", "mode": "mode",
                         "cell_voltage_v": "cell_voltage_v", "cell_temp_c": "cell_temp_c", "cell_soc": "cell_soc",
                         "soc_est": "soc_est", "trust": "trust"})


def mpc_fc_trace() -> dict[str, np.ndarray]:
    from safetwin import battery, control
    cell_params = battery.CellParams.ref_cell_1()
    cfg = control.BatteryMpcConfig()
    cfg.cell = cell_params
    cfg.horizon = 30
    mpc = control.BatteryMpc(cfg)
    cell = battery.Cell(cell_params, battery.CellState(soc=0.10, temp_k=cell_params.ambient_temp_k))
    loop = control.ChargeLoopConfig(dt_s=cfg.dt_s, soc_stop=0.79, max_time_s=3600.0, covariance=np.zeros((4, 4)))
    tr = control.run_charge_loop(cell, mpc, loop)
    tr["t_s"] = np.arange(len(tr["current_a"])) * cfg.dt_s
    # the QP's iteration count and status are discrete: they must match exactly
    return _columns(tr, {k: k for k in ("t_s", "current_a", "voltage_v", "temp_k", "soc", "iterations", "status")})


def hil_trace() -> dict[str, np.ndarray]:
    from safetwin.hil.harness import Bench
    from safetwin.hil.scenario import load_scenario
    sc = load_scenario(ROOT / "hil" / "scenarios" / "nominal_fast_charge.toml")
    tr = Bench(sc, transport="inprocess").run().trace
    return _columns(tr, {"t_s": "t_s", "current_a": "current_a", "command_a": "command_a", "fw_mode": "fw_mode",
                         "cell_v_max": "cell_v_max", "cell_v_min": "cell_v_min", "cell_t_max_c": "cell_t_max_c",
                         "soc_mean": "soc_mean", "fw_est_soc": "fw_est_soc"})


def estimate_trace() -> dict[str, np.ndarray]:
    from safetwin import battery, estimation
    data = np.genfromtxt(DFN_CSV, delimiter=",", names=True)
    cell = battery.CellParams.ref_cell_1()
    temp_k = data["temperature_meas_c"] + battery.ZERO_CELSIUS_K
    cfg = estimation.make_config(cell=cell, soc0=0.30, estimate_params=True, temp0_k=float(temp_k[0]))
    out = estimation.run(data["t_s"], data["current_meas_a"], voltage_a_v=data["voltage_meas_v"],
                         temperature_k=temp_k, config=cfg)
    tr = {"t_s": data["t_s"], **{k: out[k] for k in ("soc", "soc_sigma", "v1_v", "v2_v", "temp_k",
                                                      "r0_ohm", "capacity_ah", "nis")}}
    return _columns(tr, {k: k for k in tr})


TRACES = {
    "demo": demo_trace,
    "mpc_fc": mpc_fc_trace,
    "hil_nominal_fast_charge": hil_trace,
    "estimate_dfn": estimate_trace,
}


def write(name: str, cols: dict[str, np.ndarray]) -> Path:
    path = GOLDEN_DIR / f"{name}.csv"
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    names = list(cols)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(names)
        for row in zip(*(cols[n] for n in names)):
            w.writerow([repr(float(x)) for x in row])
    return path


def read(name: str) -> dict[str, np.ndarray]:
    path = GOLDEN_DIR / f"{name}.csv"
    with path.open() as f:
        rows = list(csv.reader(f))
    header, body = rows[0], np.array(rows[1:], dtype=float)
    return {h: body[:, j] for j, h in enumerate(header)}


def main(argv: list[str]) -> int:
    names = argv or list(TRACES)
    for name in names:
        if name not in TRACES:
            print(f"golden_traces: unknown trace {name!r}; known: {', '.join(TRACES)}", file=sys.stderr)
            return 2
        path = write(name, TRACES[name]())
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
