"""More samples of chosen fault classes of the shipped off_nominal campaign (issue 13): the same
file with the fault draw restricted to FAULTS (uniform over them), so that a class whose avoidable
violations are rare in the full mix (a few in 10 000) is sampled often enough to examine them.
The folder is a normal campaign folder: `benchmarks/safety_campaign_table.py DIR` tabulates it.

Run: nice -n 10 python benchmarks/off_nominal_focus.py FAULT[,FAULT...] N SEED DIR [--duration-s S]
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from importlib import resources

from safetwin.campaign import distributions, engine, simulate, spec


def focused(faults: list[str], n: int, seed: int, duration_s: float | None):
    c = spec.load(resources.files("safetwin") / "data" / "campaigns" / "off_nominal.toml")
    unknown = sorted(set(faults) - set(simulate.FAULTS) - {"none"})
    if unknown:
        raise SystemExit(f"faults: {unknown} not among {sorted(simulate.FAULTS)}")
    v = dict(c.variables)
    v["fault"] = distributions.parse("focus: fault", {"dist": "categorical", "values": faults,
                                                      "probs": [1.0 / len(faults)] * len(faults)})
    duration = c.duration_s if duration_s is None else duration_s
    if duration != c.duration_s:  # onsets scaled with the run, as tests/_ci_campaign.py
        o, s = c.variables["onset_s"], duration / c.duration_s
        v["onset_s"] = distributions.parse("focus: onset_s", {"dist": "uniform", "low": o.low * s, "high": o.high * s})
    return dataclasses.replace(c, n=n, seed=seed, variables=v, duration_s=duration,
                               digest=c.digest + f"+focus faults={faults} duration_s={duration}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("faults")
    ap.add_argument("n", type=int)
    ap.add_argument("seed", type=int)
    ap.add_argument("folder")
    ap.add_argument("--duration-s", type=float, default=None)
    a = ap.parse_args(argv)
    s = engine.run(focused(a.faults.split(","), a.n, a.seed, a.duration_s), out_dir=a.folder).summary
    keys = ("n_final", "avoidable", "unavoidable", "unavoidable_earlier_than_0a", "current_limit_exceeded",
            "false_stops", "fault_free_safe_runs", "nonfinite_commands")
    print(json.dumps({k: s[k] for k in keys}, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
