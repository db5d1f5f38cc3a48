"""``safetwin campaign``: safety campaigns over a scenario distribution (see docs/campaign.md)."""
from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

HELP = """\
Run a safety campaign: sample scenarios from the distribution a campaign file describes, run each
through the true plant and the guarded control cycle, and estimate the probability of the failure
event with a 95 % interval (crude Monte Carlo, or cross-entropy importance sampling with exact
weights p/q). Samples run on Dask (a LocalCluster with one worker per core, or --scheduler);
with -o DIR the records stream to Parquet in DIR as batches finish, and running the same command
again resumes a killed campaign from DIR. CAMPAIGN is a file or the name of a shipped campaign
(`safetwin campaign list`).
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("campaign", help="safety campaigns: P(failure) with a 95 %% interval over a scenario distribution",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    csub = p.add_subparsers(dest="campaign_command", metavar="SUBCOMMAND")
    csub.required = True
    r = csub.add_parser("run", help="run (or resume) a campaign", description=HELP,
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    r.add_argument("campaign", help="campaign TOML file, or a shipped campaign's name")
    r.add_argument("--n", type=int, help="samples of the estimate (default: the file's campaign.n)")
    r.add_argument("--method", choices=["mc", "ce-is", "subset"],
                   help="estimator: crude Monte Carlo, cross-entropy IS, subset simulation (default: the file's)")
    r.add_argument("--seed", type=int, help="campaign seed (default: the file's campaign.seed)")
    r.add_argument("--duration-s", type=float, help="scenario length in s (closed-loop campaigns; default: the file's)")
    r.add_argument("--reporting", choices=["every-step", "periodic", "self-triggered"],
                   help="when the sensor nodes report (closed-loop campaigns; default every-step): periodic every "
                        "--report-period-s, or self-triggered from the twin's safe horizon; the JSON adds frames")
    r.add_argument("--report-period-s", type=float, help="period of --reporting periodic in s (default 1)")
    r.add_argument("--scheduler", help="address of a running Dask scheduler, e.g. tcp://HOST:8786")
    r.add_argument("--workers", type=int, help="local Dask workers (default: the machine's cores; 0: run in this process)")
    r.add_argument("-o", "--output", help="output folder: Parquet records, manifest, summary.json, plots; resumes")
    r.add_argument("--json", action="store_true", help="print the result as one JSON object")
    r.set_defaults(func=run)
    ls = csub.add_parser("list", help="the shipped campaigns")
    ls.set_defaults(func=list_shipped)
    fl = csub.add_parser("fit-load", help="fit a regime load model to current logs (t_s,current_a CSVs)",
                         description="Fit a semi-Markov regime load model (current levels by k-means, a transition "
                                     "matrix, negative binomial dwell times; maximum likelihood) to one or more "
                                     "current logs, CSV files with a header 't_s,current_a' and rows at one fixed "
                                     "interval. A campaign samples load profiles from the model with "
                                     "law = \"regime:MODEL.toml\" (see docs/campaign.md).")
    fl.add_argument("logs", nargs="+", metavar="LOG", help="t_s,current_a CSV files (A, > 0 discharges)")
    fl.add_argument("-o", "--output", help="write the model here (TOML)")
    fl.add_argument("--levels", type=int, default=8, help="current levels (k-means clusters, 2..64; default 8)")
    fl.add_argument("--capacity-ah", type=float, help="capacity of the logged cell: a campaign then scales the "
                                                       "currents to its own cell's C-rate")
    fl.add_argument("--json", action="store_true", help="print the model and its fit statistics as JSON")
    fl.set_defaults(func=fit_load)


def _shipped() -> dict:
    folder = resources.files("safetwin") / "data" / "campaigns"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def list_shipped(args: argparse.Namespace) -> int:
    from safetwin.campaign import spec

    for name, path in sorted(_shipped().items()):
        c = spec.load(path)
        print(f"{name:28s} {c.family:12s} {c.method:6s} n={c.n:<7d} {c.description}")
    return 0


def _resolve(name: str) -> Path:
    path = Path(name)
    if path.exists():
        return path
    shipped = _shipped()
    if name in shipped:
        return shipped[name]
    raise FileNotFoundError(f"{name}: no such file, and no shipped campaign of that name (shipped: {sorted(shipped)})")


class _Progress:
    """One status line on stderr, rewritten in place: only when stderr is a terminal."""

    def __init__(self):
        self.enabled = sys.stderr.isatty()

    def __call__(self, s: dict) -> None:
        if not self.enabled:
            return
        kind = "final" if s["final"] else "CE"
        sys.stderr.write(f"\rstage {s['stage']} ({kind}): {s['done']}/{s['n']} samples, "
                         f"{s['failures']} failures, p = {s['p']:.3g} [{s['ci95'][0]:.3g}, {s['ci95'][1]:.3g}]   ")
        sys.stderr.flush()
        if s["done"] >= s["n"]:
            sys.stderr.write("\n")


def _table(summary: dict) -> str:
    lines = [f"campaign {summary['campaign']} ({summary['method']}, seed {summary['seed']}): "
             f"{summary['n_scenarios']} scenarios, {summary['n_final']} in the estimate, "
             f"{summary['workers']} workers, {summary['wall_s']:.1f} s",
             f"event: {summary['event']}",
             f"P(failure) = {summary['p_failure']:.4g}  95 % CI [{summary['ci95'][0]:.4g}, {summary['ci95'][1]:.4g}]"
             f"  ({summary['n_failures']} failures, ESS {summary['ess']:.1f})"]
    if summary.get("levels") is not None:
        cov = "-" if summary["cov"] is None else f"{summary['cov']:.3f} (upper bound {summary['cov_upper']:.3f})"
        lines.append(f"subset simulation: {len(summary['levels'])} levels, coefficient of variation {cov}")
    if summary.get("by_fault") is not None:
        lines += [f"avoidable envelope violations {summary['avoidable']} {summary['avoidable_by_side']}, "
                  f"unavoidable {summary['unavoidable']} ({summary['unavoidable_earlier_than_0a']} earlier than at 0 A)",
                  f"true cell current over its limit: {summary['current_limit_exceeded']} runs "
                  f"(worst charge {summary['worst_charge_cell_current_a']:.2f} A)",
                  f"false stops {summary['false_stops']} of {summary['fault_free_safe_runs']} fault-free runs with a safe law; "
                  f"non-finite commands {summary['nonfinite_commands']}",
                  f"reporting {summary.get('reporting', 'every_step')}: {summary.get('frames', -1)} measurement frames "
                  f"{summary.get('frames_by_node', {})}",
                  f"{'fault':24s}{'runs':>6s}{'fail':>6s}{'avoid':>6s}{'I>lim':>6s}{'stops':>6s}{'det':>5s}"
                  f"{'delay med':>11s}{'p95':>8s}"]
        for fault, b in summary["by_fault"].items():
            d = b["detection_delay_s"]
            med = "-" if d["median"] is None else f"{d['median']:.0f} s"
            p95 = "-" if d["p95"] is None else f"{d['p95']:.0f} s"
            lines.append(f"{fault:24s}{b['count']:6d}{b['failures']:6d}{b['avoidable']:6d}{b['current_limit_exceeded']:6d}"
                         f"{b['safe_stops']:6d}{b['detected']:5d}{med:>11s}{p95:>8s}")
        fr = summary["false_rejection_rate"]
        if fr is not None and fr["rate"] is not None:
            lines.append(f"verification filter: false-rejection rate {fr['rate']:.3f} "
                         f"[{fr['ci95'][0]:.3f}, {fr['ci95'][1]:.3f}] ({fr['false_rejections']} of {fr['safe']} safe samples)")
        tail = summary.get("tail")
        if tail is not None:
            if tail["p_exceed"] is None:
                lines.append(f"tail: no fit ({tail['reason']})")
            else:
                lines.append(f"tail (GPD over {tail['threshold']}): P(> {tail['limit']}) = {tail['p_exceed']:.3g} "
                             f"[{tail['ci95'][0]:.3g}, {tail['ci95'][1]:.3g}], empirical {tail['empirical']:.3g}")
    return "\n".join(lines)


def _with_reporting(campaign, reporting: str, period_s):
    """The campaign with the same samples under another reporting scheme (--reporting)."""
    import dataclasses
    import math

    if campaign.family != "closed_loop":
        raise ValueError(f"{campaign.source}: --reporting applies to closed_loop campaigns only")
    if period_s is not None and reporting != "periodic":
        raise ValueError(f"--report-period-s = {period_s}: applies to --reporting periodic only")
    period = 1.0 if period_s is None else float(period_s)
    if not (math.isfinite(period) and period > 0):
        raise ValueError(f"--report-period-s = {period_s}: must be finite and > 0")
    mode = reporting.replace("-", "_")
    tag = mode + (f"={period:g}s" if mode == "periodic" else "")
    return dataclasses.replace(campaign, reporting=mode, report_period_s=period, digest=campaign.digest + f"+reporting={tag}")


def run(args: argparse.Namespace) -> int:
    from safetwin.campaign import engine, spec

    campaign = spec.load(_resolve(args.campaign))  # refused here, before anything runs
    changes = {k: getattr(args, k) for k in ("n", "method", "seed") if getattr(args, k) is not None}
    campaign = campaign.with_options(**changes)
    if args.duration_s is not None:
        if campaign.family != "closed_loop":
            raise ValueError(f"{campaign.source}: --duration-s applies to closed_loop campaigns only")
        if not (args.duration_s > 0 and args.duration_s / campaign.dt_s >= 2):
            raise ValueError(f"--duration-s = {args.duration_s}: must be > 0 and at least 2 steps of {campaign.dt_s} s")
        import dataclasses
        campaign = dataclasses.replace(campaign, duration_s=float(args.duration_s),
                                       digest=campaign.digest + f"+duration_s={args.duration_s}")
    if args.reporting is not None or args.report_period_s is not None:
        campaign = _with_reporting(campaign, args.reporting or "every-step", args.report_period_s)
    if args.workers is not None and args.workers < 0:
        raise ValueError(f"--workers = {args.workers}: must be >= 0")
    out = Path(args.output) if args.output else None
    if args.workers == 0 and not args.scheduler:
        executor = None
    else:
        try:
            from safetwin.campaign.execution import DaskExecutor
            executor = DaskExecutor(scheduler=args.scheduler, workers=args.workers)
        except ImportError as exc:
            raise ValueError(f"Dask is needed to run on workers ({exc.name} missing): "
                             "pip install 'safetwin[campaign]', or --workers 0") from None
    try:
        result = engine.run(campaign, executor=executor, out_dir=out, progress=_Progress())
    finally:
        if executor is not None:
            executor.close()
    if out is not None:
        (out / "summary.json").write_text(json.dumps(result.summary, indent=1))
        try:
            from safetwin.campaign import plots
            plots.write(out, campaign, result.rows)
        except ImportError:
            print("safetwin campaign: matplotlib missing, no plots (pip install 'safetwin[plot]')", file=sys.stderr)
    print(json.dumps(result.summary) if args.json else _table(result.summary))
    return 0


def fit_load(args: argparse.Namespace) -> int:
    import math

    from safetwin.campaign import regime

    if args.capacity_ah is not None and not (math.isfinite(args.capacity_ah) and args.capacity_ah > 0):
        raise ValueError(f"--capacity-ah = {args.capacity_ah}: must be > 0")
    logs, dts = [], []
    for path in args.logs:
        current, dt = regime.read_log(path)
        logs.append(current)
        dts.append(dt)
    if any(abs(dt - dts[0]) > 1e-6 * dts[0] for dt in dts):
        raise ValueError(f"the logs have different intervals ({', '.join(f'{p}: {d} s' for p, d in zip(args.logs, dts))}): "
                         "resample them to one")
    model = regime.fit(logs, dts[0], args.levels,
                       capacity_ah=args.capacity_ah if args.capacity_ah is not None else math.nan,
                       provenance={"source": ", ".join(str(Path(p).name) for p in args.logs),
                                   "fitted_by": f"safetwin campaign fit-load --levels {args.levels}"})
    if args.output:
        Path(args.output).write_text(model.to_toml())
    occupancy = model.occupancy()
    if args.json:
        print(json.dumps({"levels_a": model.levels_a.tolist(), "transition": model.transition.tolist(),
                          "dwell_r": model.dwell_r.tolist(), "dwell_p": model.dwell_p.tolist(),
                          "mean_dwell_s": (model.mean_dwell() * model.dt_s).tolist(),
                          "occupancy": occupancy.tolist(), "mean_current_a": model.mean_current_a(),
                          "dt_s": model.dt_s, "output": args.output, **model.provenance}))
        return 0
    p = model.provenance
    print(f"regime model: {model.k} levels, {p['segments']} segments in {p['samples']} samples at {model.dt_s} s, "
          f"log-likelihood {p['log_likelihood']:.2f}")
    print(f"mean current: model {model.mean_current_a():.4f} A, logs {p['data_mean_current_a']:.4f} A")
    print(f"{'level A':>10s}{'time share':>12s}{'mean dwell s':>14s}")
    for lv, occ, dw in zip(model.levels_a, occupancy, model.mean_dwell() * model.dt_s):
        print(f"{lv:10.3f}{occ:12.3f}{dw:14.1f}")
    if args.output:
        print(f"written to {args.output}")
    return 0
