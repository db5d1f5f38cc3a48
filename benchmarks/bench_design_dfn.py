"""`safetwin design` on a ground truth of higher fidelity: every designed segment is run on PyBaMM's
DFN (Chen2020, 25 degC, isothermal; tools/make_fit_data.py's set-up) instead of on a cell file.

    python benchmarks/bench_design_dfn.py [--budget-s 1800] [--prior ref_cell_1]

Needs PyBaMM (the optional `fit-data` extra). The design starts from REF-CELL-1 (the DFN's OCV,
its own constants +/-30 %) rested at SOC 0.9; after each decision the whole plan so far is run as
one PyBaMM experiment (constant-current steps and rests, 1 s rows) and the DFN's voltage, with the
design's 2 mV sensor noise (fixed seed), updates the posterior. Printed: each decision (segment,
trace, margin, the data's effective noise with model error counted, decision time), the DFN's
voltage range over the plan against the limits (the safety claim on a truth the design's model
does not contain), the final constants with their z against the DFN-fitted reference constants
(the 2RC constants fitted to the four committed DFN logs at once: a DFN has no true 2RC constants),
the fit's residual RMS against the 2 mV noise, and the voltage RMSE of the prior's and the learned
constants on the held-out DFN UDDS log (tests/data/fit/udds.csv.gz, from its SOC 0.7).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))


def dfn_voltage(segments, soc0: float) -> np.ndarray:
    """The DFN's voltage on 1 s rows along the segments (row k: the voltage under row k's current)."""
    import make_fit_data as mfd
    steps = []
    for c in segments:
        if c.current_a > 0:
            steps.append(f"Discharge at {c.current_a:.6g} A for {c.duration_s:g} seconds")
        else:
            steps.append(f"Charge at {-c.current_a:.6g} A for {c.duration_s:g} seconds")
        if c.rest_s > 0:
            steps.append(f"Rest for {c.rest_s:g} seconds")
    _, v = mfd.run_cccv(soc0, steps)
    return v


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget-s", type=float, default=1800.0)
    ap.add_argument("--soc0", type=float, default=0.9)
    ap.add_argument("--model-error", action="store_true", help="the design counts model error (opt-in)")
    args = ap.parse_args()
    from safetwin._core import Cell, CellState
    from safetwin.calibration import design as dz
    from safetwin.cellfile import shipped_cell_path
    from safetwin.commands.design import make_design

    d = make_design(str(shipped_cell_path("ref_cell_1")), args.soc0, None, count_model_error=args.model_error)
    prior_cell = d.cell(d.theta0)
    rng = np.random.default_rng(77)
    noise = rng.normal(0.0, dz.SIGMA_V, int(args.budget_s) + 10000)
    segments, used, dfn_s = [], 0.0, 0.0
    v_true = np.zeros(0)
    print(f"design on the DFN: prior REF-CELL-1 +/-{100 * dz.PRIOR_SIGMA_LOG:.0f} %, SOC {args.soc0}, budget {args.budget_s:g} s")
    while True:
        dec = d.next_segment(args.budget_s - used)
        if dec is None:
            break
        c = dec.candidate
        segments.append(c)
        t0 = time.perf_counter()
        v_true = dfn_voltage(segments, args.soc0)
        dfn_s += time.perf_counter() - t0
        n_hist, n_seg = len(d.history), len(c.profile())
        if len(v_true) < n_hist + n_seg:
            print(f"  the DFN run stopped at row {len(v_true)} of {n_hist + n_seg} (a cut-off): plan ends")
            break
        meas = v_true[n_hist:n_hist + n_seg] + noise[n_hist:n_hist + n_seg]
        d.update(c.profile(), meas)
        used += c.length_s
        print(f"  {c.current_a:+7.2f} A {c.duration_s:4.0f} s + rest {c.rest_s:4.0f} s: trace {dec.trace_before:.4f} -> "
              f"{np.trace(d.sigma):.4f} (predicted {dec.trace_predicted:.4f}), margin {1000 * dec.voltage_margin_v:.1f} mV, "
              f"noise {1000 * d.noise_v:.1f} mV (tau {d.noise_tau:.0f} s), "
              f"decision {dec.seconds:.2f} s wall / {dec.cpu_s:.2f} s CPU, {dec.rejected_unsafe} unsafe rejected")
    lim = prior_cell.limits
    print(f"plan: {len(segments)} segments, {used:.0f} s; DFN voltage over the plan {v_true.min():.3f} .. {v_true.max():.3f} V "
          f"(limits {lim.voltage_min_v:g} .. {lim.voltage_max_v:g} V); DFN runs {dfn_s:.0f} s in all")
    names = dz.names(dz.pairs_of(d.theta))
    print("  learned: " + ", ".join(f"{n} {np.exp(d.theta[k]):.4g} (sigma {100 * np.sqrt(d.sigma[k, k]):.1f} %, prior "
                                    f"{np.exp(d.theta0[k]):.4g})" for k, n in enumerate(names)))
    runs = []
    for name in ("hppc", "cccv", "udds", "wltc"):
        u = np.genfromtxt(ROOT / "tests" / "data" / "fit" / f"{name}.csv.gz", delimiter=",", names=True)
        runs.append((float(u["soc_true"][0]), u["current_a"], u["voltage_v"]))
    ref = dz.fit_constants(d, runs)
    z = (d.theta - ref) / np.sqrt(np.diag(d.sigma))
    print("  against the DFN-fitted reference: " + ", ".join(f"{n} {np.exp(ref[k]):.4g} (z {z[k]:+.2f})"
                                                            for k, n in enumerate(names)))
    model = Cell(d.cell(d.theta), CellState(soc=args.soc0, temp_k=298.15)).simulate(d.history, 1.0)["cell_voltage_v"][:, 0]
    print(f"  residual RMS on the plan {1000 * np.sqrt(np.mean((model - d.measured) ** 2)):.2f} mV "
          f"(sensor noise {1000 * dz.SIGMA_V:.0f} mV: the rest is model error, outside the posterior)")
    u = np.genfromtxt(ROOT / "tests" / "data" / "fit" / "udds.csv.gz", delimiter=",", names=True)
    for label, cell in (("prior", prior_cell), ("learned", d.cell(d.theta))):
        v = Cell(cell, CellState(soc=float(u["soc_true"][0]), temp_k=298.15)).simulate(
            np.ascontiguousarray(u["current_a"]), 1.0)["cell_voltage_v"][:, 0]
        print(f"  held-out DFN UDDS with the {label} constants: voltage RMSE "
              f"{1000 * np.sqrt(np.mean((v - u['voltage_true_v']) ** 2)):.2f} mV")
    return 0


if __name__ == "__main__":
    sys.exit(main())
