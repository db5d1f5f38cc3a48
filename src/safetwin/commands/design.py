"""``safetwin design``: sequential A-optimal design of identification tests under the safety layer."""
from __future__ import annotations

import argparse
import csv
import json
import math

import numpy as np

from safetwin.calibration import design as dz
from safetwin.cellfile import load_cell, load_fit_section
from safetwin.commands import checks

HELP = """\
Design the next identification test segments of a cell: at each decision the segment (a current
held for a duration, then a rest) that most lowers the trace of the parameters' posterior
covariance per second of test time (A-optimality, Fisher information from the model's
voltage sensitivities), among the segments that the core's CBF filter passes unmodified and the
supervisor predicts safe, with voltage margins of 3 sigma from the present parameter uncertainty.

Parameters: R0, each RC pair's R and tau and the capacity of a 1RC, 2RC or 3RC cell (the --cell
file's structure; as logarithms). The prior is the
--cell file: its constants, and its [fit] covariance when `safetwin fit` wrote it with
--soc-nodes 1 (else +/-30 % on each). The OCV is the prior's; the test starts rested at --soc0.

Ground truth: --truth CELL.toml runs each chosen segment on that cell (simulated, 2 mV noise), which
the design does not see, and updates the posterior after each segment until --budget-s is spent.
Lab: --update LOG.csv (the measured log of the plan so far, from the start, 1 s rows) updates the
posterior from it and proposes the next segment only.

Candidates: --candidates FILE (CSV current_a,duration_s,rest_s), by default discharge 0.5..3C and
charge 0.5..2C within the cell's limits, held 10..600 s, with 30 or 300 s rest.
Output -o plan.csv: one row per segment (t_start_s, current_a, duration_s, rest_s, the trace before
and predicted after, the margin used, the decision's time).

examples:
  safetwin design --cell cell.toml --truth tests/data/fit/fitted_2rc.toml --budget-s 1800 -o plan.csv
  safetwin design --cell cell.toml --truth tests/data/fit/fitted_2rc.toml --budget-s 600 --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("design", help="choose identification test segments (A-optimal, safety-filtered)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cell", required=True, metavar="PRIOR.toml", help="the prior cell file")
    p.add_argument("--budget-s", type=float, default=7200.0, help="test time to plan, s (default 7200)")
    p.add_argument("--candidates", default=None, metavar="FILE", help="CSV current_a,duration_s,rest_s")
    p.add_argument("--truth", default=None, metavar="CELL.toml", help="simulated ground truth to run the plan on")
    p.add_argument("--update", default=None, metavar="LOG.csv", help="measured log of the plan so far (lab)")
    p.add_argument("--soc0", type=float, default=0.9, help="SOC at the start of the test (rested), default 0.9")
    p.add_argument("--seed", type=int, default=1, help="noise seed of the simulated truth")
    p.add_argument("-o", "--output", default="plan.csv", help="plan CSV to write (default plan.csv)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--model-error", action="store_true",
                   help="count the residuals' model error in the posterior (opt-in: see calibration/design.py)")
    p.set_defaults(func=run)


def read_candidates(path: str, cell) -> list[dz.Candidate]:
    checks.input_file("candidates file", path)
    out = []
    lim = cell.limits
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    for k, row in enumerate(rows, start=2):
        try:
            c = dz.Candidate(float(row["current_a"]), float(row["duration_s"]), float(row["rest_s"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{path}, line {k}: needs numbers in columns current_a,duration_s,rest_s") from None
        if not (-lim.charge_current_max_a <= c.current_a <= lim.discharge_current_max_a) or not math.isfinite(c.current_a):
            raise ValueError(f"{path}, line {k}: current_a = {c.current_a:g} A outside the cell's limits "
                             f"[{-lim.charge_current_max_a:g}, {lim.discharge_current_max_a:g}] A")
        if not (1 <= c.duration_s <= 3600 and 0 <= c.rest_s <= 7200):
            raise ValueError(f"{path}, line {k}: duration_s must be in [1, 3600] s and rest_s in [0, 7200] s")
        out.append(c)
    if not out:
        raise ValueError(f"{path}: no candidate rows")
    return out


def make_design(cell_path: str, soc0: float, candidates_path: str | None,
                count_model_error: bool = False) -> dz.Design:
    from safetwin.commands.fit import _read_dict

    prior = load_cell(cell_path)
    theta0 = dz.theta_of(prior)
    cov = dz.prior_from_fit(load_fit_section(cell_path), theta0)
    if cov is None:
        cov = np.eye(len(theta0)) * dz.PRIOR_SIGMA_LOG ** 2
    cands = read_candidates(candidates_path, prior) if candidates_path else dz.default_candidates(prior)
    return dz.Design(_read_dict(cell_path), theta0, cov, soc0, cands, temp_k=prior.ambient_temp_k,
                     count_model_error=count_model_error)


def run(args: argparse.Namespace) -> int:
    checks.number("--budget-s", args.budget_s, 1.0, 86400.0, "s")
    checks.number("--soc0", args.soc0, 0.0, 1.0)
    checks.output_file("-o", args.output)
    if (args.truth is None) == (args.update is None):
        raise ValueError("give exactly one of --truth CELL.toml (simulated ground truth) or --update LOG.csv (lab)")
    d = make_design(args.cell, args.soc0, args.candidates, count_model_error=args.model_error)
    plan = []
    if args.update:
        from safetwin.commands.estimate import read_log
        log = read_log(args.update)
        if np.any(np.abs(np.diff(log["t_s"]) - 1.0) > 0.01):
            raise ValueError(f"{args.update}: the design's update needs 1 s rows")
        d.update(log["current_a"], log["voltage_v"])
        dec = d.next_segment(args.budget_s)
        if dec is not None:
            plan.append((float(len(d.history)), dec))
    else:
        truth = load_cell(args.truth)
        used = 0.0
        while True:
            dec = d.next_segment(args.budget_s - used)
            if dec is None:
                break
            prof = dec.candidate.profile()
            meas, _ = dz.simulate_truth(truth, args.soc0, np.concatenate((d.history, prof)), args.seed)
            plan.append((used, dec))
            d.update(prof, meas[len(d.history):])
            used += dec.candidate.length_s
    with open(args.output, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["t_start_s", "current_a", "duration_s", "rest_s", "trace_before", "trace_predicted",
                    "voltage_margin_v", "decision_s", "decision_cpu_s", "rejected_unsafe"])
        for t0, dec in plan:
            c = dec.candidate
            w.writerow([f"{t0:g}", f"{c.current_a:.4g}", f"{c.duration_s:g}", f"{c.rest_s:g}", f"{dec.trace_before:.6g}",
                        f"{dec.trace_predicted:.6g}", f"{dec.voltage_margin_v:.4g}", f"{dec.seconds:.3f}", f"{dec.cpu_s:.3f}", dec.rejected_unsafe])
    names = dz.names(dz.pairs_of(d.theta))
    sig = {n: float(np.sqrt(d.sigma[k, k])) for k, n in enumerate(names)}
    s = {"segments": len(plan), "test_time_s": float(len(d.history)) if args.truth else None,
         "trace": float(np.trace(d.sigma)), "trace_prior": float(np.trace(d.sigma0)),
         "estimate": {n: float(math.exp(d.theta[k])) for k, n in enumerate(names)},
         "sigma_log": sig, "decision_s_max": max((p[1].seconds for p in plan), default=0.0),
         "decision_cpu_s_max": max((p[1].cpu_s for p in plan), default=0.0), "plan": args.output}
    if args.json:
        print(json.dumps(s, indent=2))
        return 0
    print(f"safetwin design: {len(plan)} segment(s), trace of the posterior {s['trace_prior']:.4g} -> {s['trace']:.4g}, "
          f"slowest decision {s['decision_s_max']:.2f} s wall, {s['decision_cpu_s_max']:.2f} s CPU")
    for n in names:
        print(f"  {n}: {s['estimate'][n]:.5g} (sigma {100 * sig[n]:.2f} %)")
    print(f"  written {args.output}")
    return 0
