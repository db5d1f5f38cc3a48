"""One task: a batch of samples of one stage -> their records (a list of flat dicts).

This is what a Dask worker runs; it needs only the campaign, the stage, the stage's proposal
(as plain parameters) and the sample indices, so a retried or reordered batch gives the same
records.
"""
from __future__ import annotations

import math

import numpy as np

from safetwin.campaign import closed_form, sampler
from safetwin.campaign import simulate as sim


def run_batch(campaign, stage: int, proposal_params: dict, indices: list) -> list:
    proposal = sampler.Proposal.from_params(campaign.variables, proposal_params)
    values = proposal.draw(campaign.seed, stage, indices)
    log_p, log_q = proposal.log_densities(values)
    rows = []
    for j, i in enumerate(indices):
        sample = {**campaign.fixed, **{name: _plain(values[name][j]) for name in values}}
        if campaign.family == "closed_loop":
            rng = sampler.generator(campaign.seed, stage, int(i), sampler.EXOGENOUS_STREAM)
            rec = sim.simulate(sample, rng, campaign.duration_s, campaign.dt_s, reporting=campaign.reporting,
                               report_period_s=campaign.report_period_s)
        else:
            rec = closed_form.record(sample)
        rows.append({"index": int(i), "stage": int(stage), **sample, **rec,
                     "log_p": float(log_p[j]), "log_q": float(log_q[j])})
    cols = {k: np.asarray([r[k] for r in rows]) for k in campaign.event.names}
    score = campaign.event.score(cols)
    for r, s in zip(rows, score):
        r["score"] = float(s)
        r["failure"] = bool(s < 0)
        r["weight"] = math.exp(r["log_p"] - r["log_q"])
    return rows


def _plain(v):
    return v.item() if isinstance(v, np.generic) else v
