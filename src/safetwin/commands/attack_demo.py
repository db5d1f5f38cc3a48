"""``safetwin attack-demo``: a stealthy false-data injection on one voltage node, with and
without trust weighting, and what the chi-square detector and the trust state saw."""
from __future__ import annotations

import argparse
import json

HELP = """\
Runs the stealthy-attack comparison of safetwin.trust.demo: one REF-CELL-1 cell whose voltage is
measured by a cell-monitoring node (cmu, 2 mV) and by a second, independent node (pack, 150 mV
per cell). From --attack-start-s the cmu node injects a SOC error consistent with the twin's own
model (ramped to --soc-offset over --ramp-s; the attacker runs a copy of the twin and sends what
it expects to see, --open-loop for the simpler form) and, unless --holds-valid-key, fails
attestation (its measured boot changed). The same streams go through the battery EKF with trust weighting
(the cmu channels' noise scaled by 1/trust) and without.

Output: for each run the SOC RMSE and max error, the chi-square detector's alarms (samples where
the EKF's per-channel NIS gate rejected a channel), the attacked node's final trust and the trust
event. In the without_trust run the trust state is still computed alongside (from the same
attestation verdicts and that run's own innovations) but nothing uses it: its value and the time
it fell below the distrust threshold are shown in parentheses, for comparison; no derate follows.
--json prints one JSON object {"with_trust": {...}, "without_trust": {...}} with the keys
soc_rmse, soc_max_error, detector_alarms, trust.

examples:
  safetwin attack-demo --duration-s 1800 --ramp-s 1200
  safetwin attack-demo --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attack-demo", help="stealthy sensor attack with and without trust weighting",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--duration-s", type=float, default=7200.0, help="length of the run, s (default 7200)")
    p.add_argument("--attack-start-s", type=float, default=300.0, help="attack start, s (default 300)")
    p.add_argument("--soc-offset", type=float, default=0.13, help="SOC error the attacker fakes (default 0.13)")
    p.add_argument("--ramp-s", type=float, default=6000.0, help="time to ramp the fake error in, s (default 6000)")
    p.add_argument("--holds-valid-key", action="store_true",
                   help="the attacker signs golden quotes: attestation keeps passing")
    p.add_argument("--open-loop", action="store_true",
                   help="open-loop injection (no copy of the twin): a lag shows in the attacked channel")
    p.add_argument("--seed", type=int, default=1, help="sensor-noise seed (default 1)")
    p.add_argument("--plot", metavar="FILE.png", help="write the SOC-error and trust curves to this PNG")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from safetwin.commands import checks
    from safetwin.trust.demo import DemoConfig, plot, run_attack_demo

    checks.number("--duration-s", args.duration_s, 0.0, 86400.0, "s", lo_open=True)
    checks.number("--attack-start-s", args.attack_start_s, 0.0, args.duration_s, "s", hi_open=True,
                  why="before the end of the run, --duration-s")
    checks.number("--soc-offset", args.soc_offset, -1.0, 1.0, lo_open=True, hi_open=True)
    checks.number("--ramp-s", args.ramp_s, 0.0, 86400.0, "s", lo_open=True)
    if args.plot:
        checks.output_file("--plot", args.plot)

    cfg = DemoConfig(duration_s=args.duration_s, attack_start_s=args.attack_start_s, soc_offset=args.soc_offset,
                     ramp_s=args.ramp_s, holds_valid_key=args.holds_valid_key, closed_loop=not args.open_loop,
                     seed=args.seed)
    result = run_attack_demo(cfg)
    if args.plot:
        plot(result, args.plot)
    if args.json:
        print(json.dumps(result.as_json()))
        return 0
    print(f"stealthy injection on node cmu from t = {cfg.attack_start_s:.0f} s "
          f"(fake SOC error {cfg.soc_offset:+.2f} over {cfg.ramp_s:.0f} s), {cfg.duration_s:.0f} s run")
    print(f"chi-square detector on the same noise without attack: {result.clean_detector_alarms} alarms "
          f"(false-alarm budget {result.expected_false_alarms:.1f} expected); "
          f"cmu attestation failures: {result.attestation_failures}")
    print(f"{'run':<15}{'SOC RMSE %':>11}{'max err %':>11}{'detector':>10}{'cmu trust':>12}  trust event")
    for name in ("without_trust", "with_trust"):
        s = result.summaries[name]
        if name == "without_trust":  # computed alongside, applied to nothing
            trust = f"({s.trust:.3g})"
            event = (f"(below the threshold at {s.trust_event_time_s:.0f} s; not used in this run)"
                     if s.trust_event else "(never below the threshold; not used in this run)")
        else:
            trust = f"{s.trust:.3g}"
            event = f"{s.trust_event_severity} at {s.trust_event_time_s:.0f} s" if s.trust_event else "none"
        print(f"{name:<15}{100 * s.soc_rmse:>11.2f}{100 * s.soc_max_error:>11.2f}{s.detector_alarms:>10d}"
              f"{trust:>12}  {event}")
    if args.plot:
        print(f"plot: {args.plot}")
    return 0
