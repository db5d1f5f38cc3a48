"""Campaign engine benchmark (issue 14, "Performance"): prints medians, worst cases and ratios.

0. The 0 A counterfactual forked from the run at the onset against a whole second run (before):
   samples per CPU-second on the shipped campaign's samples, records checked equal.
1. Per-scenario cost of one closed-loop scenario of the issue-13 campaign: the Python loop over the
   core's step calls (safetwin.campaign.simulate) and, when it is on main, the core's closed-loop
   runner (safetwin.loop) on the same scenarios -- goal >= 10x.
2. Parallel efficiency: scenarios/s on 1 and 2 Dask workers (LocalCluster, processes) -- goal >= 90 %.
3. At P(failure) ~ 1e-4 (the closed-form family, exact P): the simulations crude MC needs for a
   relative 95 % half-width of 20 %, (1.96 / 0.2)^2 (1 - p) / p, measured by one crude MC run of
   that size, against the simulations CE-IS needs (CE stages + final stage) -- goal >= 100x fewer.

    python benchmarks/bench_campaign.py [--scenarios 24] [--duration-s 1800] [--skip-mc] [--parts 0,1,2,3]
"""
from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from importlib import resources

import numpy as np

from safetwin.campaign import closed_form, engine, execution, sampler, spec
from safetwin.campaign.simulate import simulate


def shipped(name: str) -> spec.Campaign:
    return spec.load(resources.files("safetwin") / "data" / "campaigns" / f"{name}.toml")


def per_scenario_cost(c: spec.Campaign, count: int) -> None:
    """The same scenarios (stealthy injections aside: they run on the Python loop only) on the Python
    loop and on the core's runner; the ratio of their medians per topology."""
    from safetwin.campaign.simulate import runner_available

    prop = sampler.Proposal(c.variables, dict(c.variables))
    values = prop.draw(c.seed, 0, range(count))
    engines = ("python", "core") if runner_available() else ("python",)
    kinds = [(k, law) for k in ("cell", "pack") for law in ("built-in law", "controller")]
    times = {(e, kind): [] for e in engines for kind in kinds}
    for i in range(count):
        sample = {**c.fixed, **{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in values.items()}}
        if sample.get("fault") == "stealthy_injection":
            continue
        # the runner's built-in laws run in C++; the MPC and Python laws are controllers it calls
        kind = ("cell" if sample["topology"] == "cell" else "pack",
                "built-in law" if sample.get("law") in ("cccv", "const_3c", "bang_bang", "drive_cycle") else "controller")
        for e in engines:
            rng = sampler.generator(c.seed, 0, i, sampler.EXOGENOUS_STREAM)
            t0 = time.process_time()  # one thread: CPU time is the cost without a shared machine's preemption
            simulate(sample, rng, c.duration_s, c.dt_s, engine=e)
            times[(e, kind)].append(time.process_time() - t0)
    print(f"1. per-scenario CPU time, {c.duration_s:.0f} s scenarios at dt {c.dt_s} s (run and its 0 A counterfactual; "
          f"load average {os.getloadavg()[0]:.1f})")
    for (e, kind), t in times.items():
        if t:
            print(f"   {e:6s} {kind[0]:4s} {kind[1]:12s}: {len(t):3d} scenarios, median {np.median(t) * 1e3:7.1f} ms, "
                  f"worst {np.max(t) * 1e3:7.1f} ms")
    if "core" in engines:
        for kind in kinds:
            py, core = times[("python", kind)], times[("core", kind)]
            if py and core:
                print(f"   {kind[0]:4s} {kind[1]:12s}: python loop / core runner = {np.median(py) / np.median(core):.1f}x "
                      f"(medians; goal >= 10x)")
    else:
        print("   closed-loop runner: not built into this installation (safetwin.loop) -> ratio n/a")


def counterfactual_cost(c: spec.Campaign, count: int) -> None:
    """The shipped campaign's first samples on the core's runner, the 0 A counterfactual forked
    from the run at the onset (one C++ run) against a whole second run (the issue's before), in
    alternation on the same samples; CPU time of this process (a shared machine's load inflates
    wall time), the records checked equal."""
    prop = sampler.Proposal(c.variables, dict(c.variables))
    values = prop.draw(c.seed, 0, range(count))
    cpu: dict = {"rerun": [], "fork": []}
    mismatched = 0
    for i in range(count):
        sample = {**c.fixed, **{k: (v[i].item() if hasattr(v[i], "item") else v[i]) for k, v in values.items()}}
        recs = {}
        for mode in ("rerun", "fork"):
            rng = sampler.generator(c.seed, 0, i, sampler.EXOGENOUS_STREAM)
            t0 = time.process_time()
            recs[mode] = simulate(sample, rng, c.duration_s, c.dt_s, engine="core", counterfactual=mode)
            cpu[mode].append(time.process_time() - t0)
        a, b = ({k: v for k, v in r.items() if k != "wall_s"} for r in recs.values())
        mismatched += any(a[k] != b[k] and not (isinstance(a[k], float) and math.isnan(a[k]) and math.isnan(b[k]))
                          for k in a)
    print(f"0. counterfactual, {count} samples of {c.name} ({c.duration_s:.0f} s), CPU time per sample "
          f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
    for mode, label in (("rerun", "whole re-run at 0 A (before)"), ("fork", "forked at the onset (after)")):
        t = np.asarray(cpu[mode])
        print(f"   {label:30s}: median {np.median(t) * 1e3:7.1f} ms, worst {t.max() * 1e3:7.1f} ms, "
              f"{count / t.sum():6.2f} samples per CPU-s")
    print(f"   -> {sum(cpu['rerun']) / sum(cpu['fork']):.2f}x the samples per CPU-s; records that differ: {mismatched}")


def parallel_efficiency(c: spec.Campaign, n: int, rounds: int = 2) -> None:
    """Scenarios/s on warm workers (a first small campaign imports the package in each worker),
    rounds alternating 1 and 2 workers; the machine's load is printed beside (a shared machine's
    other processes take cores from both).

    On a shared machine the wall-time efficiency measures the machine as much as the engine, so
    the engine's own losses are measured beside it from Dask's task stream and the workers' CPU
    clocks: the busy fraction b (time the workers spent inside tasks over workers x wall time: the
    idle time the engine causes -- scheduling, imbalance at the tail, the client's serial work --
    is 1 - b) and the workers' CPU time per scenario (serialisation and per-task overheads show up
    there). The engine's efficiency with the machine's preemption factored out is
    (b2 / b1) * (CPU per scenario on 1 worker / on 2 workers)."""
    from dask.distributed import get_task_stream

    # the summary's tail fit (a bootstrap) is not part of the sampling throughput
    c = dataclasses.replace(c, n=n, seed=c.seed + 1, batch_size=2, tail=None)
    warm = dataclasses.replace(c, n=4, seed=c.seed + 2)
    rates: dict = {1: [], 2: []}
    burns: dict = {1: [], 2: []}
    busy: dict = {1: [], 2: []}
    cpu: dict = {1: [], 2: []}
    loads = []
    execs = {w: execution.DaskExecutor(workers=w) for w in (1, 2)}
    try:
        for ex in execs.values():
            engine.run(warm, executor=ex)
        for _ in range(rounds):
            for w, ex in execs.items():
                cpu0 = ex.client.run(time.process_time)
                with get_task_stream(ex.client) as ts:
                    t0 = time.perf_counter()
                    engine.run(c, executor=ex)
                    wall = time.perf_counter() - t0
                cpu1 = ex.client.run(time.process_time)
                rates[w].append(n / wall)
                inside = sum(ss["stop"] - ss["start"] for task in ts.data for ss in task["startstops"]
                             if ss["action"] == "compute")
                busy[w].append(inside / (w * wall))
                cpu[w].append(sum(cpu1[a] - cpu0[a] for a in cpu1) / n)
                loads.append(os.getloadavg()[0])
                t0 = time.perf_counter()
                ex.client.gather([ex.client.submit(_burn, i, pure=False) for i in range(8)])
                burns[w].append(8 / (time.perf_counter() - t0))
    finally:
        for ex in execs.values():
            ex.close()
    r1, r2 = float(np.median(rates[1])), float(np.median(rates[2]))
    b1, b2 = float(np.median(burns[1])), float(np.median(burns[2]))
    u1, u2 = float(np.median(busy[1])), float(np.median(busy[2]))
    c1, c2 = float(np.median(cpu[1])), float(np.median(cpu[2]))
    print(f"2. parallel efficiency, {n} scenarios of {c.duration_s:.0f} s in batches of {c.batch_size}, median of "
          f"{rounds} rounds: 1 worker {r1:.2f} scenarios/s, 2 workers {r2:.2f} scenarios/s, efficiency "
          f"{r2 / (2 * r1) * 100:.0f} % in wall time (goal >= 90 %); load average {min(loads):.1f}-{max(loads):.1f} "
          f"on {os.cpu_count()} cores")
    print(f"   control, a pure-Python CPU burn on the same workers: 1 worker {b1:.2f} tasks/s, 2 workers {b2:.2f} "
          f"tasks/s, efficiency {b2 / (2 * b1) * 100:.0f} % (what the machine's load leaves to 2 processes)")
    print(f"   the engine's own losses: workers busy in tasks {u1 * 100:.1f} % (1 worker) and {u2 * 100:.1f} % "
          f"(2 workers) of the wall time; worker CPU per scenario {c1 * 1e3:.1f} ms and {c2 * 1e3:.1f} ms "
          f"-> efficiency without the machine's preemption {u2 / u1 * c1 / c2 * 100:.0f} %")


def _burn(k: int) -> int:
    s = 0
    for i in range(2_000_000):
        s += i
    return k


RARE = """
[campaign]
name = "rare"
family = "closed_form"
seed = 0
n = 1000
method = "ce-is"
batch_size = 200000
[failure]
event = "soc0 > 0.98 and severity > 0.75"
[ce]
stage_n = 500
[variables.soc0]
dist = "uniform"
low = 0.0
high = 1.0
[variables.severity]
dist = "beta"
a = 2.0
b = 5.0
low = 0.0
high = 1.0
"""


def is_against_mc(skip_mc: bool) -> None:
    c = spec.loads(RARE)
    p = closed_form.exact_probability(c)
    mc_needed = math.ceil((1.96 / 0.2) ** 2 * (1 - p) / p)
    print(f"3. P(failure) = {p:.3e} exactly ({c.event.text})")
    if not skip_mc:
        t0 = time.perf_counter()
        r = engine.run(dataclasses.replace(c, method="mc", n=mc_needed))
        lo, hi = r.summary["ci95"]
        print(f"   crude MC, {mc_needed} samples: p = {r.summary['p_failure']:.3e} [{lo:.3e}, {hi:.3e}], "
              f"relative half-width {(hi - lo) / 2 / p * 100:.1f} % ({time.perf_counter() - t0:.0f} s)")
    for n_final in (200, 400, 800, 1600):
        halves, sims, covered = [], [], 0
        for seed in range(20):
            r = engine.run(dataclasses.replace(c, n=n_final, seed=seed))
            lo, hi = r.summary["ci95"]
            halves.append((hi - lo) / 2 / p)
            sims.append(r.summary["n_scenarios"])
            covered += lo <= p <= hi
        med = float(np.median(halves))
        print(f"   CE-IS final n {n_final:5d}: median simulations {np.median(sims):7.0f}, relative half-width "
              f"median {med * 100:5.1f} % worst {max(halves) * 100:5.1f} %, covered {covered}/20")
        if med <= 0.2:
            print(f"   -> CE-IS reaches +-20 % with {np.median(sims):.0f} simulations, crude MC with {mc_needed}: "
                  f"{mc_needed / np.median(sims):.0f}x fewer (goal >= 100x)")
            break


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenarios", type=int, default=24, help="closed-loop scenarios per measurement")
    ap.add_argument("--duration-s", type=float, default=1800.0)
    ap.add_argument("--skip-mc", action="store_true", help="skip the long crude MC run of part 3")
    ap.add_argument("--parts", default="0,1,2,3", help="which parts to run (comma-separated)")
    args = ap.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    c = dataclasses.replace(shipped("off_nominal"), duration_s=args.duration_s)
    if 0 in parts:
        counterfactual_cost(c, args.scenarios)
    if 1 in parts:
        per_scenario_cost(c, args.scenarios)
    if 2 in parts:
        parallel_efficiency(c, 2 * args.scenarios)
    if 3 in parts:
        is_against_mc(args.skip_mc)


if __name__ == "__main__":
    main()
