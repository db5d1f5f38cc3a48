"""``safetwin charge``: MPC-FC in closed loop on the reference cell, with the solver of your choice."""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

import numpy as np

from safetwin import battery, control
from safetwin.commands import checks

HELP_TEMPLATE = """\
Run MPC-FC of the reference problems: fast-charge REF-CELL-1 (LG M50 21700, 2RC + thermal) from
SOC 0.10 at 25 degC to SOC 0.79 with the C++ battery MPC (re-linearised every 1 s step, horizon
N steps), under V <= 4.2 V and T <= 45 degC (soft, exact L1 penalty) and -15 A <= I <= 0.

The closed loop runs in C++; --solver picks the QP solver behind the MPC's hook: the built-in
dense active-set solver (default), or a Python hook: osqp, cvxpy (Clarabel), casadi (qpOASES),
daqp. Printed: time to SOC 0.79, max voltage, max temperature, total violation (V*step + K*step)
and the per-step solve time (the whole MPC step: linearisation, condensing, QP) median/p99/max.

The horizon is limited to 1..{HORIZON_MAX} for every solver: from N = 197 on, the built-in solver
does not converge on this problem (every step falls back and no current flows; measured from SOC
0.10 at 25 degC), and the osqp hook did not finish 10 steps of N = 200 in 5 minutes.
A step whose solve did not succeed is a solver failure; the summary counts them.

--json prints one JSON object with the keys time_to_79_s (null if not reached), max_voltage_v,
max_temperature_c, violation, solve_us {{median, p99, max}}, solver, horizon, solver_failures
(steps whose QP solve did not succeed: the MPC fell back or commanded nothing).

examples:
  safetwin charge
  safetwin charge --horizon 10 --json
  safetwin charge --soc0 0.3 --temp-c 10 --duration-s 1800
"""

SOC_STOP = 0.79
# The largest horizon whose solves succeed on MPC-FC (N = 197..1000 all fall back, measured): the
# range the command accepts. The core's limit is higher; its dense QP stops converging first.
HORIZON_MAX = 180
HELP = HELP_TEMPLATE.format(HORIZON_MAX=HORIZON_MAX)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("charge", help="MPC-FC fast charge in closed loop (time to SOC 0.79, limits, solve time)",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--solver", default="builtin", choices=control.SOLVERS, help="QP solver (default builtin)")
    p.add_argument("--horizon", type=int, default=30, metavar="N",
                   help=f"MPC horizon in steps, 1..{HORIZON_MAX} (default 30)")
    p.add_argument("--cell", metavar="FILE", default=None,
                   help="cell-parameter file (TOML, docs in safetwin.cellfile; default: REF-CELL-1) of REF-CELL-1's "
                        "structure (2 RC pairs, no hysteresis): the MPC's prediction is written for it")
    p.add_argument("--soc0", type=float, default=0.10, help=f"initial SOC, [0, {SOC_STOP}) (default 0.10)")
    p.add_argument("--temp-c", type=float, default=25.0,
                   help="initial and ambient temperature, degC, -40..120 (default 25)")
    p.add_argument("--duration-s", type=float, default=3600.0,
                   help="stop after this many seconds, (0, 86400] (default 3600)")
    p.add_argument("--max-time", dest="duration_s", type=float, default=argparse.SUPPRESS,
                   help=argparse.SUPPRESS)  # the old spelling
    p.add_argument("--sigma-temp-k", type=float, default=0.0,
                   help="std of the temperature estimate, K: tightens the limits by chance constraints (default 0)")
    p.add_argument("--chance", default="gaussian", choices=("gaussian", "cantelli"), help="chance-constraint form")
    p.add_argument("--alpha", type=float, default=0.05, help="violation probability of the chance constraints")
    p.add_argument("--json", action="store_true", help="print the results as one JSON object")
    p.add_argument("--plot", metavar="FILE.png", help="plot current, voltage, temperature and SOC against time")
    p.set_defaults(func=run)


def run_charge(args: argparse.Namespace) -> dict:
    checks.number("--horizon", args.horizon, 1, HORIZON_MAX,
                  why="from N = 197 on the QP solver does not converge on this problem")
    checks.number("--soc0", args.soc0, 0.0, SOC_STOP, hi_open=True, why="the charge stops at SOC 0.79")
    checks.temperature_c("--temp-c", args.temp_c)
    checks.number("--duration-s", args.duration_s, 0.0, 86400.0, "s", lo_open=True)
    checks.number("--sigma-temp-k", args.sigma_temp_k, 0.0, 50.0, "K")
    checks.number("--alpha", args.alpha, 0.0, 0.5, lo_open=True)
    temp_k = args.temp_c + battery.ZERO_CELSIUS_K
    cell_name, cell_params = checks.cell_file("--cell", getattr(args, "cell", None))
    cell_params.ambient_temp_k = temp_k
    cfg = control.BatteryMpcConfig()
    cfg.cell = cell_params
    cfg.max_horizon = max(cfg.max_horizon, args.horizon)
    cfg.horizon = args.horizon
    cfg.chance_form = control.ChanceForm.__members__[args.chance]
    cfg.chance_alpha = args.alpha
    cfg.validate()
    hook = control.make_solver(args.solver)
    mpc = control.BatteryMpc(cfg, hook)
    cell = battery.Cell(cell_params, battery.CellState(soc=args.soc0, temp_k=temp_k))
    cov = np.zeros((4, 4))
    cov[3, 3] = args.sigma_temp_k ** 2
    loop = control.ChargeLoopConfig(dt_s=cfg.dt_s, soc_stop=SOC_STOP, max_time_s=args.duration_s, covariance=cov)
    trace = control.run_charge_loop(cell, mpc, loop)
    trace["limits"] = cell_params.limits
    trace["cell_name"] = cell_name
    trace["hook_error"] = hook.last_error if hook is not None else ""
    return trace


def summary(trace: dict, solver: str, horizon: int) -> dict:
    lim = trace["limits"]
    v, t = trace["voltage_v"], trace["temp_k"]
    us = trace["solve_time_s"] * 1e6
    violation = float(np.sum(np.maximum(0.0, v - lim.voltage_max_v)) + np.sum(np.maximum(0.0, t - lim.temp_max_k)))
    return {
        "time_to_79_s": float(trace["time_to_stop_s"]) if trace["reached"] else None,
        "max_voltage_v": float(v.max()),
        "max_temperature_c": float(t.max() - battery.ZERO_CELSIUS_K),
        "violation": violation,
        "solve_us": {"median": float(np.median(us)), "p99": float(np.percentile(us, 99)), "max": float(us.max())},
        "solver": solver,
        "horizon": horizon,
        # steps whose QP solve did not succeed (the MPC fell back, or commanded nothing)
        "solver_failures": int(trace["non_ok_steps"]),
    }


def plot(trace: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lim = trace["limits"]
    time_s = np.arange(1, trace["steps"] + 1) * 1.0
    fig, ax = plt.subplots(4, 1, sharex=True, figsize=(8, 9))
    ax[0].plot(time_s, trace["current_a"])
    ax[0].axhline(-lim.charge_current_max_a, color="r", ls="--", lw=0.8)
    ax[0].set_ylabel("current (A)")
    ax[1].plot(time_s, trace["voltage_v"])
    ax[1].axhline(lim.voltage_max_v, color="r", ls="--", lw=0.8)
    ax[1].set_ylabel("voltage (V)")
    ax[2].plot(time_s, trace["temp_k"] - battery.ZERO_CELSIUS_K)
    ax[2].axhline(lim.temp_max_k - battery.ZERO_CELSIUS_K, color="r", ls="--", lw=0.8)
    ax[2].set_ylabel("temperature (degC)")
    ax[3].plot(time_s, trace["soc"])
    ax[3].axhline(SOC_STOP, color="k", ls=":", lw=0.8)
    ax[3].set_ylabel("SOC")
    ax[3].set_xlabel("time (s)")
    fig.suptitle(f"MPC-FC on {trace['cell_name']} (limits dashed)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


@contextlib.contextmanager
def quiet_native_stdout(enabled: bool):
    """Silences stdout, at the file-descriptor level and in Python (CasADi routes qpOASES's banner
    through Python's sys.stdout, other native code writes to fd 1): anything there would break the
    one-JSON-object contract of --json."""
    if not enabled:
        yield
        return
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(null):
            os.dup2(null.fileno(), 1)
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def run(args: argparse.Namespace) -> int:
    if args.plot:
        checks.output_file("--plot", args.plot)
    with quiet_native_stdout(args.json):
        trace = run_charge(args)
    res = summary(trace, args.solver, args.horizon)
    if args.plot:
        plot(trace, args.plot)
    if args.json:
        print(json.dumps(res))
        return 0
    lim = trace["limits"]
    s = res["solve_us"]
    t79 = f"{res['time_to_79_s']:10.1f} s" if res["time_to_79_s"] is not None else "   not reached"
    print(f"safetwin charge: MPC-FC on {trace['cell_name']}, N = {args.horizon}, solver {args.solver}")
    print(f"  time to SOC 0.79    {t79}")
    print(f"  max voltage         {res['max_voltage_v']:10.4f} V    (limit {lim.voltage_max_v} V)")
    print(f"  max temperature     {res['max_temperature_c']:10.3f} degC (limit "
          f"{lim.temp_max_k - battery.ZERO_CELSIUS_K:.0f} degC)")
    print(f"  violation           {res['violation']:10.3g} V*step + K*step")
    print(f"  solve time / step   median {s['median']:.1f} us, p99 {s['p99']:.1f} us, max {s['max']:.1f} us")
    print(f"  steps               {trace['steps']:10d}")
    print(f"  solver failures     {res['solver_failures']:10d}"
          + ("  (steps whose solve did not succeed: the MPC fell back)" if res["solver_failures"] else ""))
    if trace["hook_error"]:
        print(f"  last hook error     {trace['hook_error']}")
    if args.plot:
        print(f"  plot                {args.plot}")
    return 0
