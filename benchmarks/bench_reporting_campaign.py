"""Self-triggered against periodic reporting on the same campaign samples (issue 18).

Runs one closed-loop campaign (default: the shipped off_nominal campaign of issue 13) three times
with the same seed and samples: periodic every 1 s, periodic every 100 ms and self-triggered from
the safe horizon, and prints per scheme the measurement frames (all nodes), avoidable envelope
violations, false stops, and the detection delay per fault class (median, p95), with the
self-triggered scheme's frame saving and delay difference against each periodic one.

The loop runs at the campaign's dt (1 s): periodic 100 ms sends 10 frames per node per step and
the cycle fuses the last, so its detection delays are those of a 1 s loop (stated, not simulated
at 100 ms).

Run: nice python benchmarks/bench_reporting_campaign.py [--campaign off_nominal] [--n 300]
     [--duration-s 1800] [--workers 0]   (the package installed: pip install .)
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time

from safetwin.campaign import engine, spec
from safetwin.commands.campaign import _resolve, _with_reporting

MIN_INTERVAL_S = 1.0  # ReportingConfig.min_interval_s (the campaign's default)
SCHEMES = (("periodic 1 s", "periodic", 1.0), ("periodic 100 ms", "periodic", 0.1),
           ("self-triggered", "self-triggered", None))


def _s(v) -> str:
    return "-" if v is None else f"{v:.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--campaign", default="off_nominal")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--duration-s", type=float)
    ap.add_argument("--seed", type=int, help="campaign seed (default: the file's)")
    ap.add_argument("--workers", type=int, default=0)
    ap.add_argument("--json", help="write the three summaries to this file")
    args = ap.parse_args()
    base = spec.load(_resolve(args.campaign)).with_options(n=args.n, **({} if args.seed is None else {"seed": args.seed}))
    if args.duration_s:
        base = dataclasses.replace(base, duration_s=args.duration_s, digest=base.digest + f"+duration_s={args.duration_s}")
    executor = None
    if args.workers > 0:
        from safetwin.campaign.execution import DaskExecutor
        executor = DaskExecutor(workers=args.workers)
    out = {}
    try:
        for label, mode, period in SCHEMES:
            t0 = time.perf_counter()
            out[label] = engine.run(_with_reporting(base, mode, period), executor=executor,
                                    progress=lambda p, label=label: print(f"{label}: {p['done']} / {p['n']}",
                                                                          file=sys.stderr, flush=True)).summary
            out[label]["bench_wall_s"] = time.perf_counter() - t0
            if args.json:  # each scheme as it finishes
                with open(args.json, "w") as fh:
                    json.dump(out, fh, indent=1)
    finally:
        if executor is not None:
            executor.close()
    print(f"campaign {base.name}: {args.n} scenarios of {base.duration_s:g} s, seed {base.seed}, the same samples per scheme")
    print(f"{'scheme':<18}{'frames':>12}{'avoidable':>11}{'false stops':>13}{'safe stops':>12}{'wall s':>9}")
    for label, s in out.items():
        print(f"{label:<18}{s['frames']:>12d}{s['avoidable']:>11d}{s['false_stops']:>8d} / {s['fault_free_safe_runs']:<3d}"
              f"{s['safe_stops']:>12d}{s['bench_wall_s']:>9.0f}")
    st = out["self-triggered"]
    for label in ("periodic 1 s", "periodic 100 ms"):
        print(f"self-triggered sends {100.0 * (1.0 - st['frames'] / out[label]['frames']):.1f} % fewer frames than {label}")
    print(f"\n{'detection delay s (median / p95)':<26}" + "".join(f"{label:>22}" for label in out))
    for fault in sorted(st["by_fault"]):
        cells = []
        for s in out.values():
            b = s["by_fault"].get(fault)
            d = b["detection_delay_s"] if b else {"median": None, "p95": None}
            cells.append(f"{_s(d['median'])} / {_s(d['p95'])} ({b['detected'] if b else 0}/{b['count'] if b else 0})")
        print(f"{fault:<26}" + "".join(f"{c:>22}" for c in cells))
    p1 = out["periodic 1 s"]
    late = {f: (p1["by_fault"][f]["detection_delay_s"]["median"], b["detection_delay_s"]["median"])
            for f, b in st["by_fault"].items()
            if p1["by_fault"].get(f, {}).get("detection_delay_s", {}).get("median") is not None
            and (b["detection_delay_s"]["median"] is None
                 or b["detection_delay_s"]["median"] > p1["by_fault"][f]["detection_delay_s"]["median"] + MIN_INTERVAL_S)}
    goals = {"frames <= 50 % of periodic 1 s": st["frames"] <= 0.5 * p1["frames"],
             "0 avoidable": st["avoidable"] == 0,
             "false stops <= periodic 1 s": st["false_stops"] <= p1["false_stops"],
             f"median delays within {MIN_INTERVAL_S:g} s of periodic 1 s": not late}
    print("\ngoals: " + "; ".join(f"{k}: {'met' if v else 'NOT met'}" for k, v in goals.items())
          + (f" (late: {late})" if late else ""))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(out, fh, indent=1)


if __name__ == "__main__":
    main()
