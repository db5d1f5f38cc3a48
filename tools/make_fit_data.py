"""Generates the fit's training and held-out logs from a model of higher fidelity than safetwin's.

PyBaMM's DFN with the Chen2020 parameter set (LG M50 21700, the cell of REF-CELL-1), isothermal at
25 degC, run once; the output is committed in tests/data/fit/ so that the fit tests run without
PyBaMM (the optional extra `fit-data` brings it: `pip install ".[fit-data]"`). Check of the output:
the HPPC's voltages at the end of each 20 min rest lie within 4 mV of data/ocv_lgm50_chen2020.csv at
the log's soc_true, and the CC-CV's constant-voltage phase ends (C/20) at SOC 0.9845 where
../shared/data's DFN reference run (same OCV, same 5.153 Ah window) ends at 0.9843; under the 1C
charge this isothermal run reads 17-23 mV above that one, which has a lumped thermal model (30-37 degC).

Logs (1 s sampling, `safetwin estimate` columns t_s,current_a,voltage_v,temperature_c as a
sensor reports them, plus the DFN's own soc_true, voltage_true_v and current_true_a to compare with):
  hppc.csv.gz         training: from SOC 1.0 (10 min rest), 9 blocks at SOC 0.9 .. 0.1 of a 10 s 2C
                      discharge pulse, 40 s rest, 10 s 1C charge pulse, 40 s rest, a 1C discharge of
                      10 % SOC and 20 min rest; then a C/5 discharge to 2.5 V and 30 min rest
  cccv.csv.gz         training: 1C CC-CV charge from SOC 0.05 to 4.2 V and C/20, then 30 min rest
  udds.csv.gz         held out: two UDDS (safetwin.drive_cycles, scale 6: peaks 15 A / -6.3 A) from SOC 0.7
  wltc.csv.gz         held out: two WLTC class 3b (scale 4: peaks 12.4 A / -5 A) from SOC 0.6
(the starting SOCs keep the regenerative peaks under the DFN's 4.2 V cut-off)
and, with --temperatures (its own seed; the 25 degC logs stay as they are):
  hppc_10c.csv.gz, hppc_40c.csv.gz   training: the same HPPC at 10 and 40 degC
  udds_17c.csv.gz                    held out: the UDDS log's current at 17 degC
Sensor model (fixed seed): Gaussian noise sigma 2 mV, 20 mA, 0.2 K and a current bias of +10 mA.

The HPPC and the CC-CV are PyBaMM experiments (each pulse its own step: an interpolated current in
one long solve lets the solver's adaptive step walk over a 10 s pulse), resampled to 1 s with the
current held over each second. The drive cycles (a new current every second) are one solve of a
staircase current (50 ms ramps ending at each sample) with every breakpoint a stop of the integrator
(checked: the same 150 s of UDDS as 1 s experiment steps agrees to 0.18 mV). Row k's voltage is the DFN's at t_k under row
k's current: the convention of the core's simulate.

SOC: charge throughput over the electrode window of the OCV table (the SOC 0..1 of
data/ocv_lgm50_chen2020.csv: negative stoichiometry 0.026346..0.910618), capacity Q_WINDOW_AH.

Run: python tools/make_fit_data.py [--out tests/data/fit] [--temperatures]   (a few minutes on one core)
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
import pybamm

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from safetwin import drive_cycles  # noqa: E402  (pure numpy: no compiled core needed)

X0, X100 = 0.026346, 0.910618  # negative stoichiometry at SOC 0 and 1 (data/README of the OCV table)
NOISE_V, NOISE_I, NOISE_T, BIAS_I = 0.002, 0.020, 0.2, 0.010
AMBIENT_C = 25.0
RAMP_S = 0.05  # s: a shorter ramp of a 10 A step is too stiff for IDAS (error-test failures)


def parameters(ambient_c: float = AMBIENT_C) -> pybamm.ParameterValues:
    p = pybamm.ParameterValues("Chen2020")
    p["Ambient temperature [K]"] = 273.15 + ambient_c
    p["Initial temperature [K]"] = 273.15 + ambient_c
    return p


def window_capacity_ah(p: pybamm.ParameterValues) -> float:
    """Charge between SOC 0 and 1 of the OCV table: the negative electrode's over its window."""
    f = 96485.33212
    vol = (p["Negative electrode thickness [m]"] * p["Electrode width [m]"] * p["Electrode height [m]"]
           * p["Negative electrode active material volume fraction"])
    return (X100 - X0) * f * p["Maximum concentration in negative electrode [mol.m-3]"] * vol / 3600.0


def run_current(current_a: np.ndarray, soc0: float, ambient_c: float = AMBIENT_C,
                params: pybamm.ParameterValues | None = None) -> np.ndarray:
    """DFN voltage at t_k = k s under the staircase current (row k's current held over [k, k+1));
    params: another cell's parameter set (default Chen2020 at ambient_c)."""
    n = len(current_a)
    t = np.arange(n, dtype=float)
    tt = np.empty(2 * n)
    ii = np.empty(2 * n)
    tt[0::2], tt[1::2] = t, t + 1.0 - RAMP_S
    ii[0::2], ii[1::2] = current_a, current_a
    p = parameters(ambient_c) if params is None else params
    p["Current function [A]"] = pybamm.Interpolant(tt, ii, pybamm.t, interpolator="linear")
    model = pybamm.lithium_ion.DFN()
    solver = pybamm.IDAKLUSolver(rtol=1e-7, atol=1e-9)
    sim = pybamm.Simulation(model, parameter_values=p, solver=solver)
    # every breakpoint is a stop of the integrator, so no second's current is stepped over
    sol = sim.solve(t_eval=tt, t_interp=t, initial_soc=soc0)
    if sol.t[-1] < tt[-1] - 1e-6:
        raise RuntimeError(f"the DFN stopped at {sol.t[-1]:.1f} of {tt[-1]:.1f} s (a cut-off voltage?)")
    return np.asarray(sol["Voltage [V]"](t=t), dtype=float)


def hppc_steps(q_ah: float) -> list[str]:
    """The HPPC as experiment steps: a pulse is its own step (an interpolated current inside one
    long solve is walked over by the solver's adaptive step)."""
    move = f"Discharge at 5 A for {int(round(0.1 * q_ah * 3600 / 5.0))} seconds"  # 10 % SOC at 1C
    # A rest at full charge and a C/5 discharge to the cut-off with a rest at the end put the SOC 1
    # and SOC 0 ends of the OCV into the data (without them the fit traded the capacity against the
    # OCV's shape near the ends and the current offset: 5.72 Ah for the DFN's 5.153).
    steps = ["Rest for 600 seconds", move, "Rest for 1200 seconds"]  # SOC 1.0 -> 0.9
    for level in range(9):  # blocks at SOC 0.9 .. 0.1
        steps += ["Discharge at 10 A for 10 seconds", "Rest for 40 seconds", "Charge at 5 A for 10 seconds",
                  "Rest for 40 seconds"]
        if level < 8:
            steps += [move, "Rest for 1200 seconds"]
    steps += ["Rest for 600 seconds", "Discharge at 1 A until 2.5 V", "Rest for 1800 seconds"]
    return steps


def run_cccv(soc0: float, steps: list[str] | None = None,
             ambient_c: float = AMBIENT_C) -> tuple[np.ndarray, np.ndarray]:
    """An experiment (by default the CC-CV charge) on a 1 s grid: row k's current held over [k, k+1)."""
    p = parameters(ambient_c)
    exp = pybamm.Experiment(steps or ["Rest for 60 seconds", "Charge at 5 A until 4.2 V",
                                      "Hold at 4.2 V until 250 mA", "Rest for 30 minutes"], period="1 second")
    sim = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=p, experiment=exp,
                            solver=pybamm.IDAKLUSolver(rtol=1e-7, atol=1e-9))
    sol = sim.solve(initial_soc=soc0)
    t = sol["Time [s]"].entries
    i = sol["Current [A]"].entries
    v = sol["Voltage [V]"].entries
    # A step's first point is one ulp after the previous step's last one (same t_b, new current).
    # Row k takes the last point at or just after k (within 1e-6 s): at a step boundary the new step's
    # current and the voltage under it. (Dropping the old end point and looking the current up at
    # exactly k picked the old step's current: the current lagged the voltage by one row at every
    # step change, so the "rested" rows before a pulse held loaded voltages.)
    grid = np.arange(0.0, np.floor(t[-1] + 1e-6) + 1.0)
    idx = np.clip(np.searchsorted(t, grid + 1e-6, side="right") - 1, 0, len(t) - 2)
    nxt = idx + 1  # same step: any later step starts after the old step's end point, also > k
    exact = np.abs(t[idx] - grid) <= 1e-6
    w = np.where(exact, 0.0, (grid - t[idx]) / np.maximum(t[nxt] - t[idx], 1e-12))
    return i[idx], np.where(exact, v[idx], v[idx] + w * (v[nxt] - v[idx]))


def write(path: Path, current: np.ndarray, voltage: np.ndarray, soc0: float, q_ah: float,
          rng: np.random.Generator, ambient_c: float = AMBIENT_C) -> None:
    n = len(current)
    t = np.arange(n, dtype=float)
    soc = soc0 - np.concatenate(([0.0], np.cumsum(current[:-1]))) / (3600.0 * q_ah)
    v_meas = voltage + rng.normal(0.0, NOISE_V, n)
    i_meas = current + BIAS_I + rng.normal(0.0, NOISE_I, n)
    temp_meas = ambient_c + rng.normal(0.0, NOISE_T, n)
    cols = np.column_stack([t, i_meas, v_meas, temp_meas, soc, voltage, current])
    header = "t_s,current_a,voltage_v,temperature_c,soc_true,voltage_true_v,current_true_a"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(header + "\n")
        np.savetxt(f, cols, delimiter=",", fmt=["%.0f", "%.4f", "%.5f", "%.2f", "%.6f", "%.6f", "%.6f"])
    print(f"{path}: {n} rows, SOC {soc[0]:.3f} -> {soc[-1]:.3f}, V {voltage.min():.3f}..{voltage.max():.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "tests" / "data" / "fit"))
    ap.add_argument("--temperatures", action="store_true",
                    help="only the logs at other temperatures (hppc_10c, hppc_40c, udds_17c; own seed)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.temperatures:
        return temperature_logs(out)
    rng = np.random.default_rng(20261202)
    q = window_capacity_ah(parameters())
    print(f"PyBaMM {pybamm.__version__}, DFN Chen2020, SOC window {q:.4f} Ah")
    i, v = run_cccv(1.0, hppc_steps(q))
    write(out / "hppc.csv.gz", i, v, 1.0, q, rng)
    i, v = run_cccv(0.05)
    write(out / "cccv.csv.gz", i, v, 0.05, q, rng)
    for name, cycle, scale, soc0 in (("udds", "udds", 6.0, 0.7), ("wltc", "wltc_class3b", 4.0, 0.6)):
        i = drive_cycles.cell_current(cycle, repeats=2, scale=scale)
        write(out / f"{name}.csv.gz", i, run_current(i, soc0), soc0, q, rng)
    return 0


def temperature_logs(out: Path) -> int:
    """The temperature set: the same HPPC at 10 and 40 degC (training, with the 25 degC one), and the
    UDDS at 17 degC (held out: a temperature the fit never saw). Isothermal like the rest: the
    ambient and the cell at the named temperature (the DFN's Chen2020 exchange currents carry its
    Arrhenius dependence; the OCV has no entropic term). A separate seed, so that the 25 degC logs
    stay as they were."""
    rng = np.random.default_rng(20261203)
    q = window_capacity_ah(parameters())
    print(f"PyBaMM {pybamm.__version__}, DFN Chen2020, SOC window {q:.4f} Ah")
    for temp in (10.0, 40.0):
        i, v = run_cccv(1.0, hppc_steps(q), ambient_c=temp)
        write(out / f"hppc_{temp:.0f}c.csv.gz", i, v, 1.0, q, rng, ambient_c=temp)
    i = drive_cycles.cell_current("udds", repeats=2, scale=6.0)
    write(out / "udds_17c.csv.gz", i, run_current(i, 0.7, ambient_c=17.0), 0.7, q, rng, ambient_c=17.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
