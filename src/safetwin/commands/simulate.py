"""``safetwin simulate``: run a current profile on a cell or a pack and write a CSV."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from safetwin import battery, profiles

BUILTIN = ("cccv", "cc", "hppc", "drive")

HELP = """\
Simulate REF-CELL-1 (LG M50 21700, 2RC equivalent circuit + lumped thermal model) or a pack of
such cells under a current profile, and write the trace as CSV.

Sign convention: current > 0 discharges, < 0 charges (A). Temperatures in the CSV are in degC.

profiles:
  cccv   constant current then constant voltage at 4.2 V on the highest cell, to C/20 (default)
  cc     constant current --current A for --duration s
  hppc   hybrid pulse power characterisation: pulses at each 10 %% SOC step, 1C discharge between
  drive  seeded synthetic drive cycle (--seed), --duration s
  FILE   a CSV with columns t_s,current_a (a measured profile; the current is held between rows)

CSV columns: t_s,current_a,voltage_v,temperature_c,soc for one cell; for a pack, pack_voltage_v
and one voltage_v_N, temperature_c_N, soc_N column per cell (N = 1..cells, series-major).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a current profile on a cell or pack, write CSV",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cccv", metavar="NAME|FILE",
                   help=f"built-in profile ({', '.join(BUILTIN)}) or a CSV file t_s,current_a (default cccv)")
    p.add_argument("--soc0", type=float, default=0.1, help="initial SOC, 0..1 (default 0.1)")
    p.add_argument("--temp-c", type=float, default=25.0, help="initial and ambient temperature, degC (default 25)")
    p.add_argument("--dt", type=float, default=1.0, help="time step, s (default 1)")
    p.add_argument("--series", type=int, default=1, help="cells in series (default 1)")
    p.add_argument("--parallel", type=int, default=1, help="cells in parallel per group (default 1)")
    p.add_argument("--spread-seed", type=int, default=None,
                   help="draw cell-to-cell spread (capacity +/-3 %%, R0 +/-10 %%) with this seed")
    p.add_argument("--c-rate", type=float, default=1.0, help="cccv: charge current in C (default 1)")
    p.add_argument("--current", type=float, default=5.15, help="cc: current, A (default 5.15 = 1C discharge)")
    p.add_argument("--duration", type=float, default=3600.0, help="cc/drive: duration, s (default 3600)")
    p.add_argument("--seed", type=int, default=0, help="drive: seed of the synthetic cycle (default 0)")
    p.add_argument("-o", "--output", default="simulate.csv", help="output CSV (default simulate.csv)")
    p.set_defaults(func=run)


def make_pack(args: argparse.Namespace) -> battery.Pack:
    if not 0.0 <= args.soc0 <= 1.0:
        raise ValueError(f"--soc0 = {args.soc0}: must be in [0, 1]")
    temp_k = args.temp_c + battery.ZERO_CELSIUS_K
    cell = battery.CellParams.ref_cell_1()
    cell.ambient_temp_k = temp_k
    spread = battery.SpreadConfig()
    if args.spread_seed is not None:
        spread = battery.SpreadConfig(capacity_rel=0.03, r0_rel=0.10, seed=args.spread_seed)
    return battery.Pack(battery.PackConfig(series=args.series, parallel=args.parallel, cell=cell,
                                           spread=spread, initial=battery.CellState(soc=args.soc0, temp_k=temp_k)))


def run_profile(pack: battery.Pack, args: argparse.Namespace) -> dict:
    cap = pack.params.capacity_ah * pack.parallel
    if args.profile == "cccv":
        cfg = battery.CcCvConfig(charge_current_a=args.c_rate * cap, cv_voltage_v=pack.params.limits.voltage_max_v,
                                 cutoff_current_a=cap / 20.0, resistance_ohm=0.021 / pack.parallel)
        return battery.run_cccv(pack, cfg, args.dt, int(6 * 3600 / args.dt))
    if args.profile == "cc":
        current = profiles.constant_current(args.current, args.duration, args.dt)
    elif args.profile == "hppc":
        current = profiles.hppc(capacity_ah=cap, dt_s=args.dt)
    elif args.profile == "drive":
        current = profiles.drive_cycle(args.duration, args.dt, seed=args.seed,
                                       mean_current_a=cap, peak_current_a=5 * cap, regen_current_a=2 * cap)
    else:
        path = Path(args.profile)
        if not path.exists():
            raise ValueError(f"--profile {args.profile!r}: neither a built-in profile {BUILTIN} nor an existing file")
        current = profiles.load_csv(path, args.dt)
    out = pack.simulate(current, args.dt)
    out["current_a"] = current
    return out


def write_csv(path: str, out: dict, dt_s: float, cells: int) -> None:
    n = len(out["current_a"])
    t = np.arange(n) * dt_s
    temp_c = out["cell_temp_k"] - battery.ZERO_CELSIUS_K
    if cells == 1:
        header = "t_s,current_a,voltage_v,temperature_c,soc"
        cols = [t, out["current_a"], out["cell_voltage_v"][:, 0], temp_c[:, 0], out["cell_soc"][:, 0]]
    else:
        names = ["t_s", "current_a", "pack_voltage_v"]
        names += [f"voltage_v_{j + 1}" for j in range(cells)]
        names += [f"temperature_c_{j + 1}" for j in range(cells)]
        names += [f"soc_{j + 1}" for j in range(cells)]
        header = ",".join(names)
        cols = [t, out["current_a"], out["pack_voltage_v"], *out["cell_voltage_v"].T, *temp_c.T, *out["cell_soc"].T]
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=header, comments="", fmt="%.9g")


def run(args: argparse.Namespace) -> int:
    pack = make_pack(args)
    out = run_profile(pack, args)
    write_csv(args.output, out, args.dt, pack.cells)
    n = len(out["current_a"])
    lim = pack.params.limits
    charge_ah = float(np.sum(out["current_a"])) * args.dt / 3600.0
    print(f"safetwin simulate: {args.profile} on {pack.series}s{pack.parallel}p REF-CELL-1, dt = {args.dt} s")
    print(f"  duration            {n * args.dt:10.0f} s")
    print(f"  charge drawn        {charge_ah:10.3f} Ah  (< 0: charged)")
    print(f"  SOC                 {out['cell_soc'][0].mean():10.3f} -> {pack.cell_soc.mean():.3f} (mean of cells)")
    print(f"  max cell voltage    {out['cell_voltage_v'].max():10.4f} V   (limit {lim.voltage_max_v} V)")
    print(f"  min cell voltage    {out['cell_voltage_v'].min():10.4f} V   (limit {lim.voltage_min_v} V)")
    print(f"  max temperature     {out['cell_temp_k'].max() - battery.ZERO_CELSIUS_K:10.2f} degC "
          f"(limit {lim.temp_max_k - battery.ZERO_CELSIUS_K:.0f} degC)")
    print(f"  written             {args.output}")
    return 0
