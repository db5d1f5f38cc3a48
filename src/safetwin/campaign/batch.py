"""One task: a batch of samples of one stage -> their records (a list of flat dicts).

This is what a Dask worker runs; it needs only the campaign, the stage, the stage's proposal
(as plain parameters) and the sample indices, so a retried or reordered batch gives the same
records. A subset-simulation stage (``kind`` "subset0", "subset") draws its samples in standard
normal space or runs Markov chains from its seeds (safetwin.campaign.subset).
"""
from __future__ import annotations

import math

import numpy as np

from safetwin.campaign import closed_form, distributions, sampler, subset
from safetwin.campaign import simulate as sim


def run_batch(campaign, stage: int, proposal_params: dict, indices: list) -> list:
    kind = proposal_params.get("kind")
    if kind == "subset":
        return subset.run_chains(campaign, stage, proposal_params, indices,
                                 lambda values, keys, u: evaluate(campaign, values, keys, u))
    if kind == "subset0":
        values, u = subset.draw_level0(campaign, stage, indices)
        rows = evaluate(campaign, values, [(stage, int(i)) for i in indices], u)
    else:
        proposal = sampler.Proposal.from_params(campaign.variables, proposal_params)
        values = proposal.draw(campaign.seed, stage, indices)
        log_p, log_q = proposal.log_densities(values)
        rows = evaluate(campaign, values, [(stage, int(i)) for i in indices], None, log_p, log_q)
    for r, i in zip(rows, indices):
        r["index"], r["stage"] = int(i), int(stage)
    return rows


def evaluate(campaign, values: dict, exo_keys: list, u: np.ndarray | None = None,
             log_p: np.ndarray | None = None, log_q: np.ndarray | None = None) -> list:
    """Records of samples with the given variables; sample j's exogenous randomness comes from
    the stream of exo_keys[j] = (stage, index). Without log_p / log_q the samples come from the
    nominal density (weight 1). With u (subset simulation) the record keeps the standard normal
    coordinates and the exogenous key, so that a Markov chain can stay on it."""
    if log_p is None:
        log_p = distributions.joint_logpdf(campaign.variables, values) * np.ones(len(exo_keys))
        log_q = log_p
    rows = []
    for j, (st, i) in enumerate(exo_keys):
        sample = {**campaign.fixed, **{name: _plain(values[name][j]) for name in values}}
        if campaign.family == "closed_loop":
            rng = sampler.generator(campaign.seed, st, int(i), sampler.EXOGENOUS_STREAM)
            rec = sim.simulate(sample, rng, campaign.duration_s, campaign.dt_s, reporting=campaign.reporting,
                               report_period_s=campaign.report_period_s)
        else:
            rec = closed_form.record(sample)
        row = {"index": int(i), "stage": int(st), **sample, **rec, "log_p": float(log_p[j]), "log_q": float(log_q[j])}
        if u is not None:
            row.update({subset.U_PREFIX + name: float(u[j, k]) for k, name in enumerate(campaign.variables)})
            row.update({"exo_stage": int(st), "exo_index": int(i)})
        rows.append(row)
    cols = {k: np.asarray([r[k] for r in rows]) for k in campaign.event.names}
    score = campaign.event.score(cols)
    for r, s in zip(rows, score):
        r["score"] = float(s)
        r["failure"] = bool(s < 0)
        r["weight"] = math.exp(r["log_p"] - r["log_q"])
    return rows


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
