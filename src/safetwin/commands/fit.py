"""``safetwin fit``: parameterise the cell model from measured logs (writes a cell file)."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from safetwin.calibration import cell_writer, report
from safetwin.calibration.fit import OCV_NODES, FitError, Problem, Structure, capacity_from_rests, fit, rest_ocv_points
from safetwin.calibration.logs import read
from safetwin.cellfile import load_cell_named, shipped_cell_path
from safetwin.commands import checks

HELP = """\
Fit the cell model (1-3 RC pairs, optional hysteresis) to one or several measured logs (HPPC,
CC-CV, GITT, drive cycles) and write it as a cell file for every other command's --cell.

Logs: the `safetwin estimate` columns t_s,current_a,voltage_v,temperature_c (current > 0
discharges; .csv or .csv.gz), each sampled at a uniform step. Refused, naming the row and value:
gaps, time that does not increase, a missing current, a saturated voltage sensor.

Fitted: capacity (started from the charge between rested voltages); OCV on --ocv-nodes SOC points,
SOC 0 and 1 at the cut-off voltages (started from the rest and low-rate segments, --ocv-from);
R0 and each RC pair's R and tau as tables over SOC (--soc-nodes points); with +hysteresis gamma, M
and M0; per log its initial SOC and current offset. scipy least_squares (bounds, a smoothness
prior across table cells) with the core's simulate of whole profiles in the loop (finite-difference
Jacobian). The cell file carries the parameters' Laplace covariance in its [fit] section. Logs at
temperatures more than 5 K apart also fit two Arrhenius constants (resistances, time constants;
the tables get a temperature axis), each log simulated at its own temperature. --charge-r0 fits a
separate R0 table for charging; --charge-transfer fits a Butler-Volmer exchange current I0, whose
overpotential (2RT/F) asinh(I / (2 I0)) in series with R0 makes the resistance fall with current;
--pulse-weight weighs pulse rows against rest rows.

A structure the logs do not excite (every node of R0, an RC pair or the hysteresis set by the
prior, not the data) is refused, naming the parameters; --force writes the cell anyway.

examples:
  safetwin fit tests/data/fit/hppc.csv.gz tests/data/fit/cccv.csv.gz --structure 2rc --soc-nodes 6 --ocv-nodes 26 -o cell.toml
  safetwin fit tests/data/fit/hppc.csv.gz --structure 1rc+hysteresis --soc-nodes 6 --ocv-nodes 26 -o cell_1rc.toml --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fit", help="fit the cell model to measured logs, write a cell file",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("logs", nargs="+", metavar="LOG.csv", help="measured logs (t_s,current_a,voltage_v,temperature_c)")
    p.add_argument("--structure", default="2rc", help="1rc|2rc|3rc, optionally +hysteresis (default 2rc)")
    p.add_argument("--ocv-from", action="append", default=[], metavar="LOG",
                   help="a low-rate log whose voltage starts the OCV table (repeatable; also fitted)")
    p.add_argument("--prior", default=None, metavar="CELL.toml",
                   help="cell file for the starting point, limits and thermal constants (default REF-CELL-1)")
    p.add_argument("--soc-nodes", type=int, default=11, help="SOC points of the R and tau tables, 1..21 (default 11)")
    p.add_argument("--ocv-nodes", type=int, default=OCV_NODES,
                   help=f"SOC points of the OCV table, 5..201 (default {OCV_NODES}; the ends sit at the cut-off voltages)")
    p.add_argument("--ocv-fixed", action="store_true",
                   help="take the --prior's OCV as known (not fitted): e.g. a flat LFP plateau from the electrodes' OCPs")
    p.add_argument("--charge-r0", action="store_true",
                   help="fit a separate R0 table for charging (the cell file's r0_charge_ohm)")
    p.add_argument("--charge-transfer", action="store_true",
                   help="fit a Butler-Volmer exchange current in series with R0 (the cell file's exchange_current_a)")
    p.add_argument("--pulse-weight", type=float, default=1.0, metavar="W",
                   help="weight of a pulse row against a rest row, 1..1000 (default 1)")
    p.add_argument("--name", default="fitted cell", help="cell.name of the written file")
    p.add_argument("-o", "--output", default="cell.toml", help="cell file to write (default cell.toml)")
    p.add_argument("--report", default=None, metavar="DIR", help="write report.json, parameters.csv and plots here")
    p.add_argument("--force", action="store_true", help="write the cell even if the logs do not excite the structure")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=run)


def _read_dict(path: str) -> dict:
    from safetwin.cellfile import tomllib
    with open(path, "rb") as f:
        return tomllib.load(f)


def run(args: argparse.Namespace) -> int:
    structure = Structure.parse(args.structure)
    checks.number("--soc-nodes", args.soc_nodes, 1, 21)
    checks.number("--ocv-nodes", args.ocv_nodes, 5, 201)
    checks.number("--pulse-weight", args.pulse_weight, 1.0, 1000.0)
    prior_path = args.prior or str(shipped_cell_path("ref_cell_1"))
    _, prior = load_cell_named(prior_path)
    prior_dict = _read_dict(prior_path)
    checks.output_file("-o", args.output)
    lim = prior.limits
    logs = [read(p, prior.capacity_ah, lim.voltage_max_v) for p in args.logs]
    low_rate = [read(p, prior.capacity_ah, lim.voltage_max_v) for p in args.ocv_from]
    q0 = capacity_from_rests(logs + low_rate, prior)
    problem = Problem(logs + low_rate, structure, prior, prior_dict, soc_nodes=args.soc_nodes,
                      ocv_points=rest_ocv_points(logs, prior, low_rate, capacity_ah=q0), ocv_nodes=args.ocv_nodes,
                      capacity_ah=q0, charge_r0=args.charge_r0, pulse_weight=args.pulse_weight,
                      ocv_fixed=args.ocv_fixed, charge_transfer=args.charge_transfer)
    try:
        result = fit(problem, force=args.force)
    except FitError as exc:
        raise ValueError(str(exc)) from None
    paths = [lg.path for lg in problem.logs]
    cell_writer.write(args.output, result, paths, args.name)
    _, check = load_cell_named(args.output)  # the written file loads (and equals the fitted cell)
    del check
    written = report.write(args.report, result, problem) if args.report else []
    s = report.summary(result, problem)
    s["cell_file"] = args.output
    s["report_files"] = [str(p) for p in written]
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"safetwin fit: {structure}, {len(paths)} log(s), {result.evaluations} model runs in {result.wall_s:.1f} s "
          "(Jacobian: finite differences over the core's simulate)")
    for p in paths:
        print(f"  {Path(p).name}: residual RMS {result.residual_rms_v[p] * 1000:.2f} mV")
    print("  per segment: " + ", ".join(f"{k} {v * 1000:.2f} mV" for k, v in result.segment_rms_v.items()))
    print(f"  capacity {result.value('capacity_ah'):.4f} Ah")
    if result.unidentifiable:
        print(f"  not identified by the data (set by the smoothness prior): {', '.join(result.unidentifiable)}")
    if result.at_bound:
        print("  on a bound of the fit (the value is the bound's, its interval does not hold): "
              + ", ".join(f"{n} ({side})" for n, side in result.at_bound.items()))
    for a, b, c in result.correlated[:10]:
        print(f"  strongly correlated: {a} and {b} ({c:+.3f})")
    print(f"  written {args.output}" + (f" and {len(written)} report file(s) in {args.report}" if written else ""))
    return 0
