"""The issue-13 goal figures of an off_nominal campaign folder (`safetwin campaign run ... -o DIR`),
over all its finished samples or the first N of them, through the campaign's own summary
(campaign/report.py): a part-done or a longer run gives the figures of a shorter one with the same
seed, since sample i's draws depend on (seed, stage, i) alone.

Run: python benchmarks/safety_campaign_table.py DIR [--first N] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from safetwin.campaign import estimators, execution, report, spec

GOAL_KEYS = ("avoidable", "unavoidable", "unavoidable_earlier_than_0a", "current_limit_exceeded", "pack_runs",
             "false_stops", "fault_free_safe_runs", "nonfinite_commands", "p_failure")


def table(folder: Path, first: int | None) -> dict:
    manifest = json.loads((folder / execution.MANIFEST).read_text())
    shipped = resources.files("safetwin") / "data" / "campaigns" / f"{manifest['campaign']}.toml"
    campaign = spec.loads(shipped.read_text(), str(shipped))
    # read only: execution.Store would take the folder over (a running campaign may be writing to it)
    batches = sorted((folder / "stage_000").glob("batch_*.parquet"))
    rows = sorted((r for p in batches for r in pq.read_table(p).to_pylist()), key=lambda r: r["index"])
    if first is not None:
        rows = [r for r in rows if r["index"] < first]
    est = estimators.monte_carlo(np.array([bool(r["failure"]) for r in rows]))
    s = report.summarise(campaign, rows, est, n_scenarios=len(rows), stages=[], wall_s=0.0, workers=1)
    # the indices must be 0 .. n-1 for the figures to be those of a run of n samples
    s["contiguous"] = [r["index"] for r in rows] == list(range(len(rows)))
    return s


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folder", type=Path)
    ap.add_argument("--first", type=int, default=None, help="only samples 0 .. N-1")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    s = table(a.folder, a.first)
    if a.json:
        print(json.dumps(s, indent=1, default=str))
        return 0
    print(f"{a.folder}: {s['n_final']} samples (contiguous from 0: {s['contiguous']})")
    for k in GOAL_KEYS:
        print(f"  {k:<30}{s[k]}")
    print(f"  {'fault class':<24}{'count':>6}{'detected':>9}{'median s':>10}{'p95 s':>8}"
          f"{'avoid.':>7}{'unavoid.':>9}{'I>lim':>6}")
    for fault, f in s["by_fault"].items():
        d = f["detection_delay_s"]
        med = "-" if d["median"] is None else f"{d['median']:.0f}"
        p95 = "-" if d["p95"] is None else f"{d['p95']:.0f}"
        print(f"  {fault:<24}{f['count']:>6}{f['detected']:>9}{med:>10}{p95:>8}{f['avoidable']:>7}"
              f"{f['unavoidable']:>9}{f['current_limit_exceeded']:>6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
