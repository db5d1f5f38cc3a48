#!/usr/bin/env python3
"""MPC-FC closed loop (spec/reference-problems.md) with the built-in solver and the anchors.

For each horizon N, the whole charge from SOC 0.10 to 0.79 on the REF-CELL-1 plant, with:

  builtin-C++   the C++ BatteryMpc with the built-in solver; the loop runs in C++
                (run_charge_loop) and each step's compute() is timed there with the steady clock:
                the whole MPC step, re-linearisation and condensing included, no Python involved
  builtin-Py    the same MPC, stepped from a Python loop: time of each mpc.compute(...) call seen
                from Python (binding overhead included)
  daqp          DAQP (dual active set) on the same condensed QP through the Python hook
  osqp          osqp used directly (set up once, matrices updated in place, warm-started) hook
  cvxpy-osqp    the QP as a cvxpy model with parameters, solved by OSQP, hook
  casadi-ipopt  the nonlinear MPC (multiple shooting, IPOPT), a Python Controller
  (qpoases)     CasADi's qpOASES through the conic hook, with --tools ...,qpoases

For the hooks, "step" is the whole MPC step as the C++ loop sees it (hook overhead included) and
"solver" the time inside the anchor's own solve call. Printed per tool: median / p99 / max per
step, time to SOC 0.79, not-ok steps, and the ratio of the anchor's median to builtin-C++'s.
Not a test: figures depend on the machine and its load.

  python benchmarks/bench_mpc.py                 # N = 10 30 60 120, all tools (several minutes)
  python benchmarks/bench_mpc.py --quick         # N = 10 30, anchors capped at 400 steps
  python benchmarks/bench_mpc.py --horizons 30 --tools builtin-C++,builtin-Py,daqp
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import time

import numpy as np

from safetwin import battery, control

ALL_TOOLS = ("builtin-C++", "builtin-Py", "daqp", "osqp", "cvxpy-osqp", "casadi-ipopt")


def cell():
    return battery.Cell(battery.CellParams.ref_cell_1(), battery.CellState(soc=0.10, temp_k=298.15))


def mpc(n, hook=None):
    cfg = control.BatteryMpcConfig()
    cfg.max_horizon = max(cfg.max_horizon, n)
    cfg.horizon = n
    return control.BatteryMpc(cfg, hook)


def timed(hook_cls, attr="_inner_s"):
    """A hook class that records the time inside the anchor's own solver call (the hooks measure
    it around the library call alone: data conversion and the slack form excluded)."""

    class Timed(hook_cls):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            self.times = []

        def solve(self, qp):
            r = super().solve(qp)
            self.times.append(self.solver_time_s)
            return r

    Timed.__name__ = hook_cls.__name__
    return Timed


def stats(us):
    us = np.asarray(us, dtype=float)
    return np.median(us), np.percentile(us, 99), us.max()


def run_cpp(n, max_steps):
    r = control.run_charge_loop(cell(), mpc(n), max_steps=max_steps)
    return r, r["solve_time_s"] * 1e6, None


def run_python_loop(n, max_steps):
    m, c = mpc(n), cell()
    inp = control.ControllerInput(np.zeros(4))
    last, times = 0.0, []
    t79 = np.nan
    for k in range(max_steps):
        s = c.state  # a view of the live state: read it before the step
        soc_before = s.soc
        inp.x = np.array([s.soc, s.v1_v, s.v2_v, s.temp_k])
        inp.last_current_a = last
        t0 = time.perf_counter()
        st, out = m.compute(inp)
        times.append(time.perf_counter() - t0)
        c.step(out.current_a, 1.0)
        last = out.current_a
        if c.state.soc >= 0.79:
            t79 = k + (0.79 - soc_before) / (c.state.soc - soc_before)
            break
    r = {"time_to_stop_s": t79, "reached": np.isfinite(t79), "non_ok_steps": 0, "steps": len(times)}
    return r, np.array(times) * 1e6, None


def run_hook(n, max_steps, factory):
    hook = factory()
    r = control.run_charge_loop(cell(), mpc(n, hook), max_steps=max_steps)
    return r, r["solve_time_s"] * 1e6, np.array(hook.times) * 1e6


def run_nmpc(n, max_steps):
    from safetwin.control.prototypes import CasadiNmpc, MpcFcSettings

    nm = CasadiNmpc(MpcFcSettings(horizon=n))
    r = control.run_charge_loop(cell(), nm, max_steps=max_steps)
    return r, r["solve_time_s"] * 1e6, None


def tool_runner(name):
    from safetwin.control import hooks

    return {
        "builtin-C++": run_cpp,
        "builtin-Py": run_python_loop,
        "daqp": lambda n, s: run_hook(n, s, timed(hooks.DaqpHook)),
        "osqp": lambda n, s: run_hook(n, s, timed(hooks.OsqpHook)),
        "cvxpy-osqp": lambda n, s: run_hook(n, s, lambda: timed(hooks.CvxpyHook)(solver="OSQP")),
        "qpoases": lambda n, s: run_hook(n, s, timed(hooks.CasadiHook)),
        "casadi-ipopt": run_nmpc,
    }[name]


@contextlib.contextmanager
def quiet():
    """Native solvers print banners (qpOASES, IPOPT): keep the table readable."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null, contextlib.redirect_stdout(io.StringIO()):
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--horizons", type=int, nargs="+", default=[10, 30, 60, 120])
    ap.add_argument("--tools", default=",".join(ALL_TOOLS), help="comma-separated, from " + ", ".join(ALL_TOOLS) +
                    ", qpoases")
    ap.add_argument("--anchor-steps", type=int, default=3600,
                    help="cap on closed-loop steps for the anchors (t79 then n/a); builtin always runs to the end")
    ap.add_argument("--quick", action="store_true", help="N = 10 30 and --anchor-steps 400")
    args = ap.parse_args(argv)
    if args.quick:
        args.horizons, args.anchor_steps = [10, 30], 400
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    print("MPC-FC closed loop, REF-CELL-1, dt = 1 s, SOC 0.10 -> 0.79; times in microseconds per step")
    summary = []
    for n in args.horizons:
        print(f"\nN = {n}")
        print(f"  {'tool':14s} {'median':>10s} {'p99':>10s} {'max':>10s} {'solver med':>10s} {'t79 s':>9s} "
              f"{'not ok':>6s} {'x builtin':>9s}")
        base = None
        nmpc_t79 = None
        rows = {}
        for tool in tools:
            steps = 3600 if tool.startswith("builtin") else args.anchor_steps
            try:
                with quiet():
                    r, us, inner = tool_runner(tool)(n, steps)
            except Exception as exc:  # an anchor that cannot run here is reported, not fatal
                print(f"  {tool:14s} failed: {exc}")
                continue
            med, p99, mx = stats(us)
            inner_med = f"{np.median(inner):10.1f}" if inner is not None and len(inner) else f"{'':10s}"
            if tool == "builtin-C++":
                base = med
            if tool == "casadi-ipopt" and r["reached"]:
                nmpc_t79 = r["time_to_stop_s"]
            ratio = f"{med / base:9.1f}" if base else ""
            t79 = f"{r['time_to_stop_s']:9.2f}" if r["reached"] else f"{'n/a':>9s}"
            print(f"  {tool:14s} {med:10.1f} {p99:10.1f} {mx:10.1f} {inner_med} {t79} {r['non_ok_steps']:6d} {ratio}")
            rows[tool] = (med, p99, mx, r["time_to_stop_s"] if r["reached"] else np.nan)
        if nmpc_t79 is not None:
            for tool in ("builtin-C++",):
                if tool in rows and np.isfinite(rows[tool][3]):
                    print(f"  t79 {tool} vs casadi-ipopt NMPC: {100 * (rows[tool][3] / nmpc_t79 - 1):+.3f} %")
        summary.append((n, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
