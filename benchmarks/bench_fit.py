"""Calibration figures: `safetwin fit` wall time and accuracy on the DFN logs, the fitted cell's
held-out voltage and SOC-estimation figures, and `safetwin design`'s per-decision time, its test
time to a standard HPPC's trace of the posterior covariance and its coverage over random truths.

    python benchmarks/bench_fit.py [--seeds 20] [--skip-fit]

The log set: tests/data/fit (PyBaMM DFN, Chen2020, tools/make_fit_data.py): training HPPC + CC-CV,
held out UDDS and WLTC; the fit's wall time is for the training set plus, as a 10-hour log set,
the same with the held-out UDDS and WLTC and the 17 degC UDDS added (10.0 h; their total length is
printed; with the 17 degC log the set spans temperatures, so that fit adds the Arrhenius constants).
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "fit"


def read_gz(path):
    return np.genfromtxt(path, delimiter=",", names=True)


def heldout(cell_path):
    from safetwin import estimation
    from safetwin._core import Cell, CellState
    from safetwin.cellfile import load_cell
    cell = load_cell(cell_path)
    out = {}
    for name in ("udds", "wltc"):
        d = read_gz(DATA / f"{name}.csv.gz")
        v = Cell(cell, CellState(soc=float(d["soc_true"][0]), temp_k=298.15)).simulate(
            np.ascontiguousarray(d["current_a"]), 1.0)["cell_voltage_v"][:, 0]
        rmse_true = float(np.sqrt(np.mean((v - d["voltage_true_v"]) ** 2)))
        rmse_meas = float(np.sqrt(np.mean((v - d["voltage_v"]) ** 2)))
        res = {}
        for off in (-0.2, 0.2):
            soc0 = float(np.clip(d["soc_true"][0] + off, 0.0, 1.0))
            cfg = estimation.make_config(cell=cell, soc0=soc0, temp0_k=298.15)
            e = estimation.run(d["t_s"], d["current_a"], voltage_a_v=d["voltage_v"],
                               temperature_k=d["temperature_c"] + 273.15, config=cfg)
            err = e["soc"] - d["soc_true"]
            inside = np.abs(err) <= 0.02
            t2 = float(d["t_s"][np.argmax(np.minimum.accumulate(inside[::-1])[::-1])])
            after = d["t_s"] >= 200.0
            res[off] = {"rmse_pct": 100 * float(np.sqrt(np.mean(err[after] ** 2))),
                        "max_pct": 100 * float(np.max(np.abs(err[after]))), "t_within_2pct_s": t2,
                        "inside_3sigma": float(np.mean(np.abs(err) <= 3 * e["soc_sigma"]))}
        out[name] = (rmse_true, rmse_meas, res)
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--skip-fit", action="store_true")
    args = ap.parse_args()
    from safetwin.cli import main as cli
    cell_path = DATA / "fitted_2rc.toml"
    if not (DATA / "hppc.csv.gz").exists() or not cell_path.exists():
        print(f"no DFN logs or fitted cell in {DATA} (run tools/make_fit_data.py, then safetwin fit): "
              "fit and held-out figures not measured")
        args.skip_fit = True
    if not args.skip_fit:
        for logs in (["hppc", "cccv"], ["hppc", "cccv", "udds", "wltc", "udds_17c"]):
            paths = [str(DATA / f"{n}.csv.gz") for n in logs]
            hours = sum(len(read_gz(p)) for p in paths) / 3600.0
            t0 = time.perf_counter()
            cpu0 = time.process_time()
            rc = cli(["fit", *paths, "--structure", "2rc", "--soc-nodes", "6", "--ocv-nodes", "26", "--charge-r0",
                      "-o", "/tmp/bench_fit_cell.toml"])
            print(f"fit {'+'.join(logs)} ({hours:.1f} h of 1 s rows): exit {rc}, wall {time.perf_counter() - t0:.1f} s, "
                  f"CPU {time.process_time() - cpu0:.1f} s")
    for name, (rt, rm, res) in (heldout(cell_path).items() if cell_path.exists() else ()):
        print(f"held-out {name}: voltage RMSE {rt * 1000:.2f} mV vs the DFN, {rm * 1000:.2f} mV vs the measured")
        for off, r in res.items():
            print(f"  estimate --cell from SOC {off:+.1f} off: RMSE {r['rmse_pct']:.3f} %, max {r['max_pct']:.3f} % "
                  f"(t >= 200 s), within 2 % from {r['t_within_2pct_s']:.0f} s, inside 3 sigma {100 * r['inside_3sigma']:.2f} %")
    # design: per-decision time, test time to the HPPC's trace, coverage over random truths
    from safetwin.calibration import design as dz
    from safetwin.cellfile import parse_cell, shipped_cell_path
    from safetwin.commands.design import make_design
    from safetwin.commands.fit import _read_dict
    base = _read_dict(str(shipped_cell_path("ref_cell_1")))
    prior_theta = dz.theta_of(parse_cell(base, "p")[1])
    rng = np.random.default_rng(2026)
    hits, total, ratios, decisions = 0, 0, [], []
    for seed in range(args.seeds):
        theta_true = prior_theta + rng.normal(0.0, dz.PRIOR_SIGMA_LOG, len(prior_theta))
        truth = parse_cell(dz.cell_dict(base, theta_true), "truth")[1]
        h = make_design(str(shipped_cell_path("ref_cell_1")), 0.9, None)
        prof = dz.hppc_profile(truth)
        h.update(prof, dz.simulate_truth(truth, 0.9, prof, seed=1000 + seed)[0])
        target = float(np.trace(h.sigma))
        d = make_design(str(shipped_cell_path("ref_cell_1")), 0.9, None)
        used = 0.0
        while used < len(prof) and np.trace(d.sigma) > target:
            dec = d.next_segment(len(prof) - used)
            if dec is None:
                break
            decisions.append((dec.seconds, dec.cpu_s))
            p = dec.candidate.profile()
            d.update(p, dz.simulate_truth(truth, 0.9, np.concatenate((d.history, p)), seed=seed)[0][len(d.history):])
            used += dec.candidate.length_s
        ratios.append(used / len(prof) if np.trace(d.sigma) <= target else math.inf)
        z = (d.theta - theta_true) / np.sqrt(np.diag(d.sigma))
        hits += int(np.sum(np.abs(z) <= 1.96))
        total += len(z)
    print(f"design: {args.seeds} random truths (prior +/-{100 * dz.PRIOR_SIGMA_LOG:.0f} %): test time to the HPPC's "
          f"trace / HPPC's {len(prof)} s: median {statistics.median(ratios):.3f}, worst {max(ratios):.3f}")
    print(f"  95 % intervals cover the truth: {hits}/{total} = {100 * hits / total:.1f} % (nominal 95 %)")
    wall, cpu = [x[0] for x in decisions], [x[1] for x in decisions]
    print(f"  per-decision time: CPU median {statistics.median(cpu):.3f} s, max {max(cpu):.3f} s; wall median "
          f"{statistics.median(wall):.3f} s, max {max(wall):.3f} s ({len(decisions)} decisions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
