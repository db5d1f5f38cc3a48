"""A campaign run: its stages (one for crude Monte Carlo; cross-entropy stages and a final stage
for CE-IS), executed in batches, estimated, summarised.

Each stage's proposal depends only on the records of the stages before it (sorted by index), so
a resumed run recomputes the same proposals and the manifest checks that it did.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from safetwin.campaign import estimators, execution, report, sampler, subset


@dataclass
class Result:
    summary: dict
    rows: list = field(repr=False)              # the final stage's records (the estimate's samples)
    stages: list = field(default_factory=list)  # per stage: kind, n, level, proposal


def _columns(rows: list, names) -> dict:
    return {k: np.asarray([r[k] for r in rows], dtype=object if isinstance(rows[0][k], str) else None)
            for k in names}


def _engine(campaign) -> str:
    if campaign.family != "closed_loop":
        return "none"
    from safetwin.campaign.simulate import runner_available
    return "core" if runner_available() else "python"


def run(campaign, executor=None, out_dir: str | Path | None = None,
        progress: Callable[[dict], None] | None = None, max_batches: int | None = None) -> Result:
    """Runs (or resumes, from out_dir) the campaign; ``progress`` gets a dict after every batch."""
    wall0 = time.perf_counter()
    own = executor is None
    executor = executor or execution.LocalExecutor()
    store = None
    if out_dir is not None:
        store = execution.Store(Path(out_dir), {"campaign": campaign.name, "digest": campaign.digest,
                                                "seed": campaign.seed, "method": campaign.method, "n": campaign.n,
                                                "batch_size": campaign.batch_size,
                                                # the loop's noise generator differs: never mix engines
                                                "engine": _engine(campaign)})
    if campaign.method == "subset":
        try:
            return _run_subset(campaign, executor, store, progress, max_batches, wall0)
        finally:
            if own:
                executor.close()
    tilted = dict(campaign.variables)
    stages: list = []
    total = 0
    try:
        stage = 0
        while True:
            final = campaign.method == "mc" or len(stages) >= campaign.ce.max_stages or \
                (stages and stages[-1]["level"] == 0.0)
            n = campaign.n if final else campaign.ce.stage_n
            # the first CE stage samples p itself; the later ones and the final one the mixture
            defensive = 1.0 if campaign.method == "mc" or stage == 0 else campaign.ce.defensive
            params = sampler.Proposal(campaign.variables, tilted, defensive).params()
            meta = {"kind": "final" if final else "ce", "n": n, "proposal": params}
            if store is not None:
                store.stage_meta(stage, meta)
            tally = {"done": 0, "failures": 0, "sum_wf": 0.0, "sum_w2f": 0.0}

            def on_batch(recs, stage=stage, n=n, final=final, tally=tally):
                tally["done"] += len(recs)
                tally["failures"] += sum(r["failure"] for r in recs)
                tally["sum_wf"] += sum(r["weight"] for r in recs if r["failure"])
                tally["sum_w2f"] += sum(r["weight"] ** 2 for r in recs if r["failure"])
                if progress is not None:
                    k = tally["done"]
                    p = tally["sum_wf"] / k
                    if campaign.method == "mc":
                        ci = estimators.wilson(tally["failures"], k)
                    else:
                        se = math.sqrt(max(tally["sum_w2f"] / k - p * p, 0.0) / max(k - 1, 1))
                        ci = (max(0.0, p - estimators.Z95 * se), p + estimators.Z95 * se)
                    progress({"stage": stage, "final": final, "done": k, "n": n,
                              "failures": tally["failures"], "p": p, "ci95": ci})

            rows = execution.run_stage(executor, store, campaign, stage, params, n, on_batch, max_batches)
            total += len(rows)
            if len(rows) < n:
                raise execution.Interrupted(f"stage {stage}: {len(rows)} of {n} samples done (partial run)")
            if final:
                stages.append({**meta, "level": 0.0})
                break
            cols = _columns(rows, list(tilted) + ["score", "log_p", "log_q"])
            scores = cols["score"].astype(float)
            log_w = cols["log_p"].astype(float) - cols["log_q"].astype(float)
            tilted, level = estimators.ce_refit(campaign.variables, tilted, cols, scores, log_w,
                                                  campaign.ce.rho, campaign.ce.smoothing)
            stages.append({**meta, "level": level})
            stage += 1
    finally:
        if own:
            executor.close()
    failure = np.array([r["failure"] for r in rows], dtype=bool)
    log_w = np.array([r["log_p"] - r["log_q"] for r in rows])
    est = estimators.monte_carlo(failure) if campaign.method == "mc" else estimators.importance(failure, log_w)
    summary = report.summarise(campaign, rows, est, n_scenarios=total, stages=stages,
                               wall_s=time.perf_counter() - wall0, workers=executor.workers)
    return Result(summary, rows, stages)


def _run_subset(campaign, executor, store, progress, max_batches, wall0) -> Result:
    """Subset simulation (safetwin.campaign.subset): level 0 crude MC, then Markov chain levels."""
    ss = campaign.subset
    n = campaign.n
    nc, ns = subset.chain_plan(n, ss.p0)
    chain_batch = max(1, campaign.batch_size // ns) * ns
    params: dict = {"kind": "subset0"}
    meta_params: dict = dict(params)
    stages: list = []
    probs: list = []
    gammas: list = []
    total = 0
    stage = 0
    while True:
        meta = {"kind": params["kind"], "n": n, "proposal": meta_params}
        if store is not None:
            store.stage_meta(stage, meta)
        tally = {"done": 0, "failures": 0}

        def on_batch(recs, stage=stage, tally=tally):
            tally["done"] += len(recs)
            tally["failures"] += sum(r["failure"] for r in recs)
            if progress is not None:
                k = tally["done"]
                p_sofar = float(np.prod(probs)) * tally["failures"] / k
                progress({"stage": stage, "final": False, "done": k, "n": n, "failures": tally["failures"],
                          "p": p_sofar, "ci95": (math.nan, math.nan)})

        rows = execution.run_stage(executor, store, campaign, stage, params, n, on_batch, max_batches,
                                   batch_size=campaign.batch_size if stage == 0 else chain_batch)
        if len(rows) < n:
            raise execution.Interrupted(f"stage {stage}: {len(rows)} of {n} samples done (partial run)")
        total += n if stage == 0 else n - nc  # a chain's first state is its seed: no new simulation
        scores = np.array([r["score"] for r in rows])
        failures = int(np.sum(scores < 0))
        final = failures >= nc or stage >= ss.max_levels
        indicator = scores < 0 if final else scores <= subset.level_threshold(scores, ss.p0)
        gammas.append(0.0 if stage == 0 else subset.gamma(indicator.reshape(nc, ns), ns))
        level = meta_params.get("level")  # b_j of this level (None: level 0)
        if final:
            probs.append(failures / n)
            stages.append({**meta, "level": level})
            break
        probs.append(float(np.mean(indicator)))
        stages.append({**meta, "level": level})
        seeds = subset.seeds_of(rows, ss.p0)
        b = subset.level_threshold(scores, ss.p0)
        meta_params = {"kind": "subset", "level": b, "states_per_chain": ns, "spread": ss.spread,
                       "seeds": [[int(r["stage"]), int(r["index"])] for r in seeds]}
        params = {**meta_params, "seed_records": seeds}
        stage += 1
    est = subset.estimate(probs, gammas, n, failures)
    summary = report.summarise(campaign, rows, est, n_scenarios=total, stages=stages,
                               wall_s=time.perf_counter() - wall0, workers=executor.workers)
    # no failure in the last level: P = 0 and no coefficient of variation (JSON has no infinity)
    summary["cov"] = est.cov if math.isfinite(est.cov) else None
    summary["cov_upper"] = est.cov_upper if math.isfinite(est.cov_upper) else None
    summary["levels"] = [{"threshold": s["level"], **lv} for s, lv in zip(stages, est.levels)]
    return Result(summary, rows, stages)
