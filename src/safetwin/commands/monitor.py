"""``safetwin monitor``: check a recorded trace (CSV) against invariants defined in TOML."""
from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from safetwin import safety

HELP = """\
Check a recorded trace against invariants (range, rate, finite, NIS window, bounded always /
eventually; tiers, severities, debounce, latching) with the C++ runtime monitor, and write its
events as CSV (time_s, invariant, kind, severity, value, limit).

The TOML file lists the signals and the invariants (see safetwin.safety.MonitorDefinition):

  sample_period_s = 1.0
  signals = ["voltage_v", "temperature_c"]
  [[invariant]]
  name = "v_settles"; signal = "voltage_v"; kind = "eventually_within"; hi = 4.1; window_s = 30.0
  [[tiered]]
  name = "t_high"; signal = "temperature_c"; side = "hi"
  operating = 40.0; recommended = 45.0; maximum = 55.0; set_count = 3

Every signal must be a column of the trace (the output of `safetwin simulate` works as it is);
limits are in the units of those columns. The exit status is 1 when a stop-severity invariant was set.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="check a CSV trace against TOML invariants, write the events",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", help="CSV trace with a header row (one column per signal and a time column)")
    p.add_argument("--invariants", required=True, help="TOML file of signals and invariants")
    p.add_argument("--time-column", default="t_s", help="name of the time column, s (default t_s)")
    p.add_argument("-o", "--output", default="events.csv", help="events CSV (default events.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    definition = safety.MonitorDefinition.from_toml(Path(args.invariants))
    with open(args.trace, newline="") as f:
        header = next(csv.reader(f))
    data = np.loadtxt(args.trace, delimiter=",", skiprows=1, ndmin=2)
    missing = [s for s in [args.time_column, *definition.signals] if s not in header]
    if missing:
        raise ValueError(f"{args.trace}: columns {missing} not found (columns: {header})")
    times = data[:, header.index(args.time_column)]
    values = np.column_stack([data[:, header.index(s)] for s in definition.signals])
    monitor = definition.build()
    monitor.run(times, values)
    records = safety.event_records(monitor)
    with open(args.output, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["time_s", "invariant", "kind", "severity", "value", "limit"])
        w.writeheader()
        w.writerows(records)
    stops = [r for r in records if r["kind"] == "set" and r["severity"] == "stop"]
    print(f"{len(times)} samples, {len(definition.invariants)} invariants, {len(records)} events "
          f"({monitor.events_dropped} dropped), {len(stops)} stop -> {args.output}")
    return 1 if stops else 0
