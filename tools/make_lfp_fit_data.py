"""Training logs of an LFP cell from PyBaMM's DFN with the Prada2013 parameter set (A123 ANR26650M1,
LFP/graphite, 2.3 Ah, 2.0..3.6 V; Prada et al., J. Electrochem. Soc. 160 (2013) A616), for the
shipped 2RC cell file src/safetwin/data/cells/lfp_prada2013_2rc.toml (`safetwin fit` on them; the
commands are in that file's header). Also writes prior.toml, the fit's starting point: the DFN's
own OCV (its electrodes' OCPs over the SOC window) and window capacity. The same experiments as tools/make_fit_data.py (HPPC with a
rest at each end, a 1C CC-CV charge), scaled to the cell's 2.3 Ah and 3.6 V, isothermal at 25 degC,
with the same sensor model, and a held-out UDDS (two cycles, scale 2.76: the Chen2020 log's 6 times
this cell's 2.3 / 5 Ah, peaks 6.9 A / -2.9 A, from SOC 0.7; tools/make_fit_data.py's staircase
solve), never used in the fit. The logs are not committed (build/fit_lfp/ by default): the cell file
is, with this script that makes it reproducible.

SOC: charge throughput over PyBaMM's electrode window between the cut-off voltages (its
ElectrodeSOH: SOC 0 at 2.0 V, 1 at 3.6 V at rest), capacity Q_window.

Run (extra `fit-data`, PyBaMM): python tools/make_lfp_fit_data.py [--out build/fit_lfp]
"""
from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path

import numpy as np
import pybamm

NOISE_V, NOISE_I, NOISE_T, BIAS_I = 0.002, 0.010, 0.2, 0.005
AMBIENT_C = 25.0
Q_NOMINAL_AH = 2.3


def parameters() -> pybamm.ParameterValues:
    p = pybamm.ParameterValues("Prada2013")
    p["Ambient temperature [K]"] = 273.15 + AMBIENT_C
    p["Initial temperature [K]"] = 273.15 + AMBIENT_C
    return p


def window_capacity_ah(p: pybamm.ParameterValues) -> float:
    """Charge of the negative electrode between its stoichiometries at SOC 0 and 1 (ElectrodeSOH)."""
    x0, x100 = pybamm.lithium_ion.get_min_max_stoichiometries(p)[:2]
    f = 96485.33212
    vol = (p["Negative electrode thickness [m]"] * p["Electrode width [m]"] * p["Electrode height [m]"]
           * p["Negative electrode active material volume fraction"])
    return float((x100 - x0) * f * p["Maximum concentration in negative electrode [mol.m-3]"] * vol / 3600.0)


def ocv_table(p: pybamm.ParameterValues, nodes: int = 26) -> tuple[np.ndarray, np.ndarray]:
    """The DFN's open-circuit voltage over SOC 0..1 of the window: U_pos(y) - U_neg(x), each
    stoichiometry linear in SOC between ElectrodeSOH's ends."""
    x0, x100, y100, y0 = pybamm.lithium_ion.get_min_max_stoichiometries(p)
    soc = np.linspace(0.0, 1.0, nodes)
    u = []
    for z in soc:
        x, y = x0 + z * (x100 - x0), y0 - z * (y0 - y100)
        up = p.evaluate(p["Positive electrode OCP [V]"](pybamm.Scalar(y)))
        un = p.evaluate(p["Negative electrode OCP [V]"](pybamm.Scalar(x)))
        u.append(float(up - un))
    return soc, np.array(u)


PRIOR = """# The fit's starting point (tools/make_lfp_fit_data.py): the DFN's OCV and window capacity,
# resistances of lfp_a123_26650.toml's order, thermal constants and limits of the A123 data sheet class.
[cell]
name = "LFP prior"
capacity_ah = {q!r}
[ocv]
soc = [{soc}]
voltage_v = [{volt}]
[resistance]
r0_ohm = 0.012
arrhenius_k = 0.0
rc_pairs = [{{ r_ohm = 0.006, tau_s = 15.0 }}, {{ r_ohm = 0.01, tau_s = 300.0 }}]
[thermal]
heat_capacity_j_per_k = 76.0
heat_transfer_w_per_k = 0.25
ambient_c = 25.0
[limits]
voltage_min_v = 2.0
voltage_max_v = 3.6
temperature_min_c = -30.0
temperature_max_c = 55.0
charge_current_max_a = 10.0
discharge_current_max_a = 70.0
"""


def hppc_steps(q_ah: float) -> list[str]:
    c = Q_NOMINAL_AH
    move = f"Discharge at {c:g} A for {int(round(0.1 * q_ah * 3600 / c))} seconds"  # 10 % SOC at 1C
    steps = ["Rest for 600 seconds", move, "Rest for 1200 seconds"]  # SOC 1.0 -> 0.9
    # blocks at SOC 0.9 .. 0.2: a 1C move from 0.2 to 0.1 reaches 2.0 V under load on this cell
    for level in range(8):
        steps += [f"Discharge at {2 * c:g} A for 10 seconds", "Rest for 40 seconds",
                  f"Charge at {c:g} A for 10 seconds", "Rest for 40 seconds"]
        if level < 7:
            steps += [move, "Rest for 1200 seconds"]
    steps += ["Rest for 600 seconds", f"Discharge at {c / 5:g} A until 2.0 V", "Rest for 1800 seconds"]
    return steps


def cccv_steps() -> list[str]:
    c = Q_NOMINAL_AH
    return ["Rest for 60 seconds", f"Charge at {c:g} A until 3.6 V", f"Hold at 3.6 V until {c / 20:g} A",
            "Rest for 30 minutes"]


def run(steps: list[str], soc0: float) -> tuple[np.ndarray, np.ndarray]:
    """The experiment on a 1 s grid: row k's current held over [k, k+1) (tools/make_fit_data.py's
    resampling: at a step boundary the new step's current and the voltage under it)."""
    exp = pybamm.Experiment(steps, period="1 second")
    sim = pybamm.Simulation(pybamm.lithium_ion.DFN(), parameter_values=parameters(), experiment=exp,
                            solver=pybamm.IDAKLUSolver(rtol=1e-7, atol=1e-9))
    sol = sim.solve(initial_soc=soc0)
    t = sol["Time [s]"].entries
    i = sol["Current [A]"].entries
    v = sol["Voltage [V]"].entries
    grid = np.arange(0.0, np.floor(t[-1] + 1e-6) + 1.0)
    idx = np.clip(np.searchsorted(t, grid + 1e-6, side="right") - 1, 0, len(t) - 2)
    nxt = idx + 1
    exact = np.abs(t[idx] - grid) <= 1e-6
    w = np.where(exact, 0.0, (grid - t[idx]) / np.maximum(t[nxt] - t[idx], 1e-12))
    return i[idx], np.where(exact, v[idx], v[idx] + w * (v[nxt] - v[idx]))


def write(path: Path, current: np.ndarray, voltage: np.ndarray, soc0: float, q_ah: float,
          rng: np.random.Generator) -> None:
    n = len(current)
    t = np.arange(n, dtype=float)
    soc = soc0 - np.concatenate(([0.0], np.cumsum(current[:-1]))) / (3600.0 * q_ah)
    cols = np.column_stack([t, current + BIAS_I + rng.normal(0.0, NOISE_I, n), voltage + rng.normal(0.0, NOISE_V, n),
                            AMBIENT_C + rng.normal(0.0, NOISE_T, n), soc, voltage, current])
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("t_s,current_a,voltage_v,temperature_c,soc_true,voltage_true_v,current_true_a\n")
        np.savetxt(f, cols, delimiter=",", fmt=["%.0f", "%.4f", "%.5f", "%.2f", "%.6f", "%.6f", "%.6f"])
    print(f"{path}: {n} rows, SOC {soc[0]:.3f} -> {soc[-1]:.3f}, V {voltage.min():.3f}..{voltage.max():.3f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "build" / "fit_lfp"))
    ap.add_argument("--prior-only", action="store_true", help="write prior.toml only (no DFN runs)")
    ap.add_argument("--held-out-only", action="store_true", help="write the held-out UDDS log only")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261203)
    q = window_capacity_ah(parameters())
    print(f"PyBaMM {pybamm.__version__}, DFN Prada2013, SOC window {q:.4f} Ah")
    soc, volt = ocv_table(parameters())
    # the table's ends at the cut-off voltages, as `safetwin fit` writes them
    volt[0], volt[-1] = 2.0, 3.6
    (out / "prior.toml").write_text(PRIOR.format(q=q, soc=", ".join(f"{x:.2f}" for x in soc),
                                                 volt=", ".join(f"{v:.5f}" for v in volt)))
    print(f"{out / 'prior.toml'}: OCV {volt[1]:.4f} .. {volt[-2]:.4f} V inside the ends")
    if args.prior_only:
        return 0
    # the held-out drive cycle (its own seed, so the training logs stay as they were)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import make_fit_data as mfd

    from safetwin import drive_cycles
    i = drive_cycles.cell_current("udds", repeats=2, scale=6.0 * Q_NOMINAL_AH / 5.0)
    write(out / "udds.csv.gz", i, mfd.run_current(i, 0.7, params=parameters()), 0.7, q, np.random.default_rng(20261204))
    if args.held_out_only:
        return 0
    i, v = run(hppc_steps(q), 1.0)
    write(out / "hppc.csv.gz", i, v, 1.0, q, rng)
    i, v = run(cccv_steps(), 0.05)
    write(out / "cccv.csv.gz", i, v, 0.05, q, rng)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
