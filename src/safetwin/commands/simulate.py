"""``safetwin simulate``: run a current profile on a cell or a pack and write a CSV."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

from safetwin import battery, profiles
from safetwin.commands import checks

BUILTIN = ("cccv", "cc", "hppc", "drive")

HELP = """\
Simulate REF-CELL-1 (LG M50 21700, 2RC equivalent circuit + lumped thermal model), or the cell of
a cell-parameter file (--cell FILE), or a pack of such cells under a current profile, and write the
trace as CSV.

Sign convention: current > 0 discharges, < 0 charges (A). Currents (--current, the profile file,
the current_a column) are PACK currents: each cell of a parallel group carries current / parallel.
Temperatures in the CSV are in degC.

profiles:
  cccv   constant current then constant voltage at the cell's V max (4.2 V of REF-CELL-1) on the
         highest cell, to C/20 (default)
  cc     constant current --current A for --duration-s s
  hppc   hybrid pulse power characterisation: pulses at each 10 % SOC step, 1C discharge between
  drive  seeded synthetic drive cycle (--seed), --duration-s s
  FILE   a CSV with columns t_s,current_a (a measured profile; the current is held between rows)

Cut-offs: like a cycler (or PyBaMM's termination events), the simulation stops where the cell
stops: at the first sample where a cell leaves its voltage window (2.5..4.2 V of REF-CELL-1, the
charger's regulation allowed 10 mV) or SOC leaves 0..1. The summary says why it stopped.
--cutoff off runs the whole profile past them (with a warning: the model is not valid there).

CSV columns: t_s,current_a,voltage_v,temperature_c,soc for one cell; for a pack, pack_voltage_v
and one voltage_v_N, temperature_c_N, soc_N column per cell (N = 1..cells, series-major).

examples:
  safetwin simulate -o cccv.csv
  safetwin simulate --profile cc --current 5.15 --duration-s 1800 --soc0 0.9 -o cc.csv
  safetwin simulate --profile drive --series 4 --parallel 2 --spread-seed 1 --soc0 0.8 -o pack.csv
"""

DT_MAX_S = 60.0            # beyond this the 13 s RC branch of REF-CELL-1 is not resolved at all
SERIES_MAX, PARALLEL_MAX = 400, 100
CURRENT_FACTOR_MAX = 20.0  # currents beyond 20x the cell's limits are a unit slip, not a test
VOLTAGE_CUTOFF_TOL_V = 0.01  # a CC-CV charger regulates at the limit; its discrete steps pass it by mV
CCCV_MAX_S = 6 * 3600.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("simulate", help="run a current profile on a cell or pack, write CSV",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", default="cccv", metavar="NAME|FILE",
                   help=f"built-in profile ({', '.join(BUILTIN)}) or a CSV file t_s,current_a (default cccv)")
    p.add_argument("--cell", metavar="FILE", default=None,
                   help="cell-parameter file (TOML, docs in safetwin.cellfile; default: REF-CELL-1)")
    p.add_argument("--soc0", type=float, default=0.1, help="initial SOC, 0..1 (default 0.1)")
    p.add_argument("--temp-c", type=float, default=25.0,
                   help="initial and ambient temperature, degC, -40..120 (default 25)")
    p.add_argument("--dt-s", dest="dt", type=float, default=1.0, help=f"time step, s, (0, {DT_MAX_S:g}] (default 1)")
    p.add_argument("--dt", dest="dt", type=float, default=argparse.SUPPRESS, help=argparse.SUPPRESS)  # the old spelling
    p.add_argument("--series", type=int, default=1, help=f"cells in series, 1..{SERIES_MAX} (default 1)")
    p.add_argument("--parallel", type=int, default=1,
                   help=f"cells in parallel per group, 1..{PARALLEL_MAX} (default 1)")
    p.add_argument("--spread-seed", type=int, default=None,
                   help="draw cell-to-cell spread (capacity +/-3 %%, R0 +/-10 %%) with this seed")
    p.add_argument("--c-rate", type=float, default=1.0, help="cccv: charge current in C of the pack (default 1)")
    p.add_argument("--current-a", dest="current", type=float, default=5.15,
                   help="cc: pack current, A, > 0 discharges (default 5.15 = 1C discharge of one cell)")
    p.add_argument("--current", dest="current", type=float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the old spelling
    p.add_argument("--duration-s", type=float, default=3600.0, help="cc/drive: duration, s (default 3600)")
    p.add_argument("--duration", dest="duration_s", type=float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the old spelling
    p.add_argument("--seed", type=int, default=0, help="drive: seed of the synthetic cycle (default 0)")
    p.add_argument("--cutoff", choices=("on", "off"), default="on",
                   help="stop at the cell's voltage and SOC limits (default on)")
    p.add_argument("-o", "--output", default="simulate.csv", help="output CSV (default simulate.csv)")
    p.set_defaults(func=run)


def check_options(args: argparse.Namespace) -> None:
    checks.number("--soc0", args.soc0, 0.0, 1.0)
    checks.temperature_c("--temp-c", args.temp_c)
    checks.number("--dt-s", args.dt, 0.0, DT_MAX_S, "s", lo_open=True)
    checks.number("--series", args.series, 1, SERIES_MAX)
    checks.number("--parallel", args.parallel, 1, PARALLEL_MAX)
    checks.output_file("-o", args.output)
    if args.profile not in BUILTIN:
        checks.input_file("--profile", args.profile, hint=f"nor a built-in profile: {', '.join(BUILTIN)}")
    args.cell_name, args.cell_params = checks.cell_file("--cell", args.cell)
    lim = args.cell_params.limits
    if args.profile == "cccv":
        top = CURRENT_FACTOR_MAX * lim.charge_current_max_a / args.cell_params.capacity_ah
        checks.number("--c-rate", args.c_rate, 0.0, top, "C", lo_open=True,
                      why=f"{CURRENT_FACTOR_MAX:g}x the cell's charge limit of {lim.charge_current_max_a:g} A")
    if args.profile in ("cc", "drive"):
        checks.number("--duration-s", args.duration_s, args.dt, math.inf, "s", why="at least one step of --dt-s")
    if args.profile == "cc":
        checks.number("--current-a", args.current, unit="A")
        check_pack_current("--current-a", np.array([args.current]), args.parallel, lim)


def check_pack_current(what: str, current_a: np.ndarray, parallel: int, lim: battery.CellLimits) -> None:
    """Refuses a profile whose cell current passes 20x the cell's limits: a unit slip (mA, a pack
    current for a cell); warns beyond the limits themselves (the cut-offs decide what happens)."""
    if current_a.size == 0:
        return
    cell = current_a / parallel
    for k, limit, side in ((int(np.argmax(cell)), lim.discharge_current_max_a, "discharge"),
                           (int(np.argmin(cell)), lim.charge_current_max_a, "charge")):
        i = abs(float(cell[k]))
        if (side == "discharge") != (cell[k] > 0) or i <= limit:
            continue
        where = f"{what} = {current_a[k]:g} A" if current_a.size == 1 else f"{what}: sample {k} = {current_a[k]:g} A"
        per_cell = f" ({i:g} A per cell of {parallel} in parallel)" if parallel > 1 else ""
        if i > CURRENT_FACTOR_MAX * limit:
            raise ValueError(f"{where}{per_cell} is beyond {CURRENT_FACTOR_MAX:g}x the cell's {side} limit of "
                             f"{limit:g} A: a current in mA, or a pack current for one cell?")
        print(f"safetwin simulate: warning: {where}{per_cell} is beyond the cell's {side} limit of {limit:g} A",
              file=sys.stderr)


def make_pack(args: argparse.Namespace) -> battery.Pack:
    temp_k = args.temp_c + battery.ZERO_CELSIUS_K
    cell = args.cell_params  # check_options read --cell
    cell.ambient_temp_k = temp_k
    spread = battery.SpreadConfig()
    if args.spread_seed is not None:
        spread = battery.SpreadConfig(capacity_rel=0.03, r0_rel=0.10, seed=args.spread_seed)
    return battery.Pack(battery.PackConfig(series=args.series, parallel=args.parallel, cell=cell,
                                           spread=spread, initial=battery.CellState(soc=args.soc0, temp_k=temp_k)))


CHUNK_VALUES = 2**23  # values per chunk of the trace (64 MiB): a long profile streams to the CSV
CSV_BYTES_PER_VALUE = 16  # a %.9g number and its comma


def chunk_steps(cells: int) -> int:
    return max(1, CHUNK_VALUES // (3 * cells + 2))


def check_size(steps: float, cells: int, output: str) -> None:
    """The profile (a few arrays of one value per step) must fit in memory, the CSV on disk."""
    what = "--duration-s / --dt / --series / --parallel"
    hint = "give a larger --dt or a shorter --duration-s"
    checks.memory(what, 4 * 8.0 * steps, hint)
    checks.disk(what, CSV_BYTES_PER_VALUE * steps * (3 * cells + 2), Path(output).resolve().parent, hint)


def current_profile(pack: battery.Pack, args: argparse.Namespace) -> np.ndarray:
    cap = pack.params.capacity_ah * pack.parallel
    if args.profile in ("cc", "drive"):
        check_size(args.duration_s / args.dt, pack.cells, args.output)
    if args.profile == "cc":
        return profiles.constant_current(args.current, args.duration_s, args.dt)
    if args.profile == "hppc":
        return profiles.hppc(capacity_ah=cap, dt_s=args.dt)
    if args.profile == "drive":
        return profiles.drive_cycle(args.duration_s, args.dt, seed=args.seed,
                                    mean_current_a=cap, peak_current_a=5 * cap, regen_current_a=2 * cap)
    avail = checks.available_memory_bytes() or 2**34
    current = profiles.load_csv(Path(args.profile), args.dt, max_samples=int(checks.MEMORY_SHARE * avail / 32))
    if current.size == 0:
        raise ValueError(f"--profile {args.profile}: the file spans less than one step of --dt {args.dt:g} s")
    check_size(current.size, pack.cells, args.output)
    check_pack_current(f"--profile {args.profile}", current, pack.parallel, pack.params.limits)
    return current


def traces(pack: battery.Pack, args: argparse.Namespace):
    """An iterator of (first step, steps of the profile, trace) pieces of the run, in order: the
    profile in chunks through the core (the pack keeps its state between calls, so the pieces are
    the one run, bit for bit); CC-CV, a closed loop in the core, in one piece. Every size is
    checked here, before the iterator is returned and before the output is opened."""
    if args.profile == "cccv":
        cap = pack.params.capacity_ah * pack.parallel
        steps = int(CCCV_MAX_S / args.dt)
        checks.memory("--dt / --series / --parallel", 2 * 8.0 * steps * (3 * pack.cells + 2),
                      "give a larger --dt")
        check_size(steps, pack.cells, args.output)
        cfg = battery.CcCvConfig(charge_current_a=args.c_rate * cap, cv_voltage_v=pack.params.limits.voltage_max_v,
                                 cutoff_current_a=cap / 20.0, resistance_ohm=cv_resistance_ohm(pack))
        out = battery.run_cccv(pack, cfg, args.dt, steps)
        return iter([(0, len(out["current_a"]), out)])
    return _pieces(pack, current_profile(pack, args), args.dt)


CV_RESISTANCE_REF_OHM = 0.021  # the CC-CV law's series resistance for one REF-CELL-1 (CcCvConfig's default)


def cv_resistance_ohm(pack: battery.Pack) -> float:
    """The CC-CV law's series resistance per cell group: REF-CELL-1's, scaled by the cell's R0
    against REF-CELL-1's at 50 % SOC and 25 degC (another cell of a --cell file), over the parallel cells."""
    at = (0.5, 25.0 + battery.ZERO_CELSIUS_K)
    scale = pack.params.r0_ohm.at(*at) / battery.CellParams.ref_cell_1().r0_ohm.at(*at)
    return CV_RESISTANCE_REF_OHM * scale / pack.parallel


def _pieces(pack: battery.Pack, current: np.ndarray, dt_s: float):
    step = chunk_steps(pack.cells)
    for k0 in range(0, len(current), step):
        piece = current[k0:k0 + step]
        out = pack.simulate(piece, dt_s)
        out["current_a"] = piece
        yield k0, len(current), out


def find_cutoff(out: dict, lim: battery.CellLimits, dt_s: float, k0: int = 0) -> tuple[int, str] | None:
    """(index in ``out`` of the first sample past a cut-off, why), or None if the piece stays inside;
    ``k0`` is the piece's first step (for the time in the message)."""
    v, soc = out["cell_voltage_v"], out["cell_soc"]
    tests = (
        (v < lim.voltage_min_v, v, "voltage", "V", f"< {lim.voltage_min_v:g} V, the cell's minimum"),
        (v > lim.voltage_max_v + VOLTAGE_CUTOFF_TOL_V, v, "voltage", "V",
         f"> {lim.voltage_max_v:g} V, the cell's maximum"),
        (soc < 0.0, soc, "SOC", "", "< 0: empty"),
        (soc > 1.0, soc, "SOC", "", "> 1: full"),
    )
    first = None
    for mask, values, name, unit, limit in tests:
        rows = np.flatnonzero(mask.any(axis=1))
        if rows.size and (first is None or rows[0] < first[0]):
            k = int(rows[0])
            j = int(np.flatnonzero(mask[k])[0])
            first = (k, f"cell {j + 1} {name} {values[k, j]:.4g}{' ' + unit if unit else ''} {limit} "
                        f"at t = {(k0 + k) * dt_s:g} s")
    return first


def cut(out: dict, n: int) -> dict:
    return {k: (v[:n] if isinstance(v, np.ndarray) and v.ndim >= 1 else v) for k, v in out.items()}


def csv_header(cells: int) -> str:
    if cells == 1:
        return "t_s,current_a,voltage_v,temperature_c,soc"
    names = ["t_s", "current_a", "pack_voltage_v"]
    names += [f"voltage_v_{j + 1}" for j in range(cells)]
    names += [f"temperature_c_{j + 1}" for j in range(cells)]
    names += [f"soc_{j + 1}" for j in range(cells)]
    return ",".join(names)


def write_rows(f, out: dict, dt_s: float, cells: int, k0: int) -> None:
    n = len(out["current_a"])
    t = (k0 + np.arange(n)) * dt_s
    temp_c = out["cell_temp_k"] - battery.ZERO_CELSIUS_K
    if cells == 1:
        cols = [t, out["current_a"], out["cell_voltage_v"][:, 0], temp_c[:, 0], out["cell_soc"][:, 0]]
    else:
        cols = [t, out["current_a"], out["pack_voltage_v"], *out["cell_voltage_v"].T, *temp_c.T, *out["cell_soc"].T]
    np.savetxt(f, np.column_stack(cols), delimiter=",", fmt="%.9g")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    pack = make_pack(args)
    lim = pack.params.limits
    n = 0
    n_full = 0
    charge_as = 0.0
    soc_first = soc_last = None
    v_max, v_min, t_max = -np.inf, np.inf, -np.inf
    stop = None
    stopped = False
    pieces = traces(pack, args)
    with open(args.output, "w") as f:
        f.write(csv_header(pack.cells) + "\n")
        for k0, _n_full, out in pieces:
            here = find_cutoff(out, lim, args.dt, k0)
            if here is not None and stop is None:
                stop = (k0 + here[0], here[1])
                if args.cutoff == "on":
                    out = cut(out, here[0] + 1)  # the samples up to the first one past the cut-off
                    stopped = True
            write_rows(f, out, args.dt, pack.cells, k0)
            n += len(out["current_a"])
            charge_as += float(np.sum(out["current_a"])) * args.dt
            soc_first = out["cell_soc"][0].mean() if soc_first is None else soc_first
            soc_last = out["cell_soc"][-1].mean()
            v_max, v_min = max(v_max, out["cell_voltage_v"].max()), min(v_min, out["cell_voltage_v"].min())
            t_max = max(t_max, out["cell_temp_k"].max())
            if stopped:
                break
    if stopped:
        why = f"cut-off: {stop[1]} (--cutoff off runs on)"
    elif stop is not None:
        print(f"safetwin simulate: warning: --cutoff off: the run goes on past {stop[1]}; the model is not "
              "valid beyond the cell's limits", file=sys.stderr)
        why = f"end of the profile (--cutoff off; past a cut-off from t = {stop[0] * args.dt:g} s)"
    else:
        why = "end of the profile" if args.profile != "cccv" else "end of charge (current below C/20)"
    print(f"safetwin simulate: {args.profile} on {pack.series}s{pack.parallel}p {args.cell_name}, dt = {args.dt:g} s")
    print(f"  duration            {n * args.dt:10.0f} s   (of {n_full * args.dt:.0f} s in the profile)")
    print(f"  stopped by          {why}")
    print(f"  charge drawn        {charge_as / 3600.0:10.3f} Ah  (pack; < 0: charged)")
    print(f"  SOC                 {soc_first:10.3f} -> {soc_last:.3f} (mean of cells)")
    print(f"  max cell voltage    {v_max:10.4f} V   (limit {lim.voltage_max_v} V)")
    print(f"  min cell voltage    {v_min:10.4f} V   (limit {lim.voltage_min_v} V)")
    print(f"  max temperature     {t_max - battery.ZERO_CELSIUS_K:10.2f} degC "
          f"(limit {lim.temp_max_k - battery.ZERO_CELSIUS_K:.0f} degC)")
    print(f"  written             {args.output}")
    return 0
