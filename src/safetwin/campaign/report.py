"""The result of a campaign as one dict with stable keys (the ``--json`` contract of issue 14).

Counts (avoidable, false_stops, by_fault, ...) are raw counts over the estimate's samples; under
importance sampling they count samples drawn from the proposal, not frequencies under the
nominal distribution (p_failure and its interval are the unbiased figures).
"""
from __future__ import annotations

import math

import numpy as np

from safetwin.campaign import simulate as sim
from safetwin.campaign import tails, verification


def _quantiles(x) -> dict:
    x = np.asarray([v for v in x if v is not None and math.isfinite(v)], dtype=float)
    if x.size == 0:
        return {"median": None, "p95": None}
    return {"median": float(np.median(x)), "p95": float(np.percentile(x, 95))}


def summarise(campaign, rows: list, est, n_scenarios: int, stages: list, wall_s: float, workers: int) -> dict:
    closed_loop = campaign.family == "closed_loop"
    out = {
        "campaign": campaign.name,
        "method": campaign.method,
        "seed": campaign.seed,
        "n_scenarios": int(n_scenarios),
        "n_final": int(est.n),
        "n_failures": int(est.n_failures),
        "p_failure": float(est.p),
        "ci95": [float(est.ci95[0]), float(est.ci95[1])],
        "ess": float(est.ess),
        "event": campaign.event.text,
        "stages": [{"kind": s["kind"], "n": s["n"], "level": s["level"]} for s in stages],
    }
    keys = ("avoidable", "unavoidable", "false_stops", "nonfinite_commands", "current_limit_exceeded",
            "by_fault", "false_rejection_rate")
    if not closed_loop:
        out.update({k: None for k in keys})
        out.update({"wall_s": float(wall_s), "workers": int(workers)})
        return out

    # a variable neither sampled nor fixed takes its default (simulate.VARIABLES): fill it in
    defaults = {k: sim.VARIABLES[k][1] for k in ("topology", "law", "fault")}
    rows = [r if all(k in r for k in defaults) else {**defaults, **r} for r in rows]

    def count(pred) -> int:
        return int(sum(1 for r in rows if pred(r)))

    fault_free_safe = count(lambda r: r["fault"] == "none" and r["law"] in sim.SAFE_LAWS)
    packs = [r for r in rows if r["topology"] != "cell"]
    out.update({
        "avoidable": count(lambda r: r["avoidable"]),
        "avoidable_by_side": {s: count(lambda r, s=s: s in r["avoidable_sides"].split(",")) for s in sim.SIDES},
        "unavoidable": count(lambda r: r["unavoidable"]),
        "unavoidable_earlier_than_0a": count(lambda r: r["unavoidable"] and r["unavoidable_lead_s"] > 0),
        "false_stops": count(lambda r: r["false_stop"]),
        "fault_free_safe_runs": fault_free_safe,
        "safe_stops": count(lambda r: r["safe_stop"]),
        "nonfinite_commands": int(sum(r["nonfinite_commands"] for r in rows)),
        "current_limit_exceeded": count(lambda r: r["current_limit_exceeded"]),
        "pack_runs": len(packs),
        "worst_charge_cell_current_a": max((r["max_charge_cell_current_a"] for r in rows), default=None),
        "max_cell_voltage_v": max(r["max_cell_voltage_v"] for r in rows),
        "min_cell_voltage_v": min(r["min_cell_voltage_v"] for r in rows),
        "max_cell_temp_c": max(r["max_cell_temp_c"] for r in rows),
        # reporting (issue 18): measurement frames sent, all nodes and per node kind (-1: not counted)
        "reporting": campaign.reporting if campaign.reporting != "periodic" else f"periodic {campaign.report_period_s:g} s",
        "frames": int(sum(r.get("frames", -1) for r in rows)) if all(r.get("frames", -1) >= 0 for r in rows) else -1,
        "frames_by_node": {k: int(sum(r.get(f"frames_{k}", 0) for r in rows))
                           for k in ("voltage_a", "voltage_b", "temperature")},
    })
    by_fault = {}
    for fault in sorted({r["fault"] for r in rows}):
        rs = [r for r in rows if r["fault"] == fault]
        by_fault[fault] = {
            "count": len(rs),
            "failures": sum(1 for r in rs if r["failure"]),
            "avoidable": sum(1 for r in rs if r["avoidable"]),
            "unavoidable": sum(1 for r in rs if r["unavoidable"]),
            "current_limit_exceeded": sum(1 for r in rs if r["current_limit_exceeded"]),
            "safe_stops": sum(1 for r in rs if r["safe_stop"]),
            "detected": sum(1 for r in rs if r["detect_delay_s"] is not None and math.isfinite(r["detect_delay_s"])),
            "detection_delay_s": _quantiles(r["detect_delay_s"] for r in rs),
        }
    out["by_fault"] = by_fault
    out["false_rejection_rate"] = (verification.false_rejection_rate(rows, campaign.filter, campaign.method != "mc")
                                   if campaign.filter is not None else None)
    if campaign.tail is not None and campaign.method == "mc":
        out["tail"] = tails.fit([r[campaign.tail.field] for r in rows], campaign.tail.threshold,
                                campaign.tail.limit, seed=campaign.seed)
    else:
        out["tail"] = None
    out.update({"wall_s": float(wall_s), "workers": int(workers)})
    return out
