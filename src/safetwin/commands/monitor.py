"""``safetwin monitor``: check a recorded trace (CSV) against invariants defined in TOML."""
from __future__ import annotations

import argparse
import csv
import dataclasses
import difflib
import inspect
import math
import sys
from pathlib import Path

import numpy as np

from safetwin import safety
from safetwin.commands import checks

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# The shipped example definitions (package data), for users to start from: for the trace of
# `safetwin simulate` (one cell) and for the run CSV of `safetwin hil run`.
EXAMPLES = {"cell": "monitor_cell.toml", "hil": "monitor_hil.toml"}

HELP = """\
Check a recorded trace against invariants (range, rate, finite, NIS window, bounded always /
eventually; tiers, severities, debounce, latching) with the C++ runtime monitor, and write its
events as CSV (time_s, invariant, kind, severity, value, limit).

The TOML file lists the signals and the invariants (see safetwin.safety.MonitorDefinition):

  sample_period_s = 1.0
  signals = ["voltage_v", "temperature_c"]

  [[invariant]]
  name = "v_settles"
  signal = "voltage_v"
  kind = "eventually_within"
  hi = 4.1
  window_s = 30.0

  [[tiered]]
  name = "t_high"
  signal = "temperature_c"
  side = "hi"
  operating = 40.0
  recommended = 45.0
  maximum = 55.0
  set_count = 3

invariant keys: name, signal, kind (range, rate, finite, nis_window, always_within,
eventually_within), lo, hi, window_s, severity (warning, derate, stop), set_count, clear_count.
tiered keys: name, signal, side (hi, lo), operating, recommended, maximum, set_count, clear_count.

Every signal must be a column of the trace (the output of `safetwin simulate` works as it is);
limits are numbers in the units of those columns. The time column must increase strictly. The
exit status is 1 when a stop-severity invariant was set, 2 on a bad trace or TOML file.

`safetwin monitor --example` prints a complete definition for a `safetwin simulate` trace (the
package's monitor_cell.toml) to start from; `--example hil` one for the run CSV of `safetwin hil
run` (monitor_hil.toml: the pack's extreme cells).

examples:
  safetwin simulate -o cell.csv
  safetwin monitor --example > cell_limits.toml
  safetwin monitor cell.csv --invariants cell_limits.toml -o events.csv
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("monitor", help="check a CSV trace against TOML invariants, write the events",
                       description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("trace", nargs="?", help="CSV trace with a header row (one column per signal and a time column)")
    p.add_argument("--invariants", help="TOML file of signals and invariants")
    p.add_argument("--example", nargs="?", const="cell", choices=tuple(EXAMPLES), default=None,
                   help="print a shipped example definition and exit: cell (default, for a simulate "
                        "trace) or hil (for a hil run CSV)")
    p.add_argument("--time-column", default="t_s", help="name of the time column, s (default t_s)")
    p.add_argument("-o", "--output", default="events.csv", help="events CSV (default events.csv)")
    p.set_defaults(func=run)


def example_text(name: str = "cell") -> str:
    from importlib import resources
    return (resources.files("safetwin") / "data" / EXAMPLES[name]).read_text()


def _field_kind(annotation: object) -> type:
    text = str(annotation)
    return str if "str" in text else int if "int" in text else float


def _schemas() -> dict[str, dict[str, type]]:
    """Allowed keys and their types, from the definitions themselves (Invariant's fields, tiered's
    parameters): a key the safety layer adds is known here too."""
    inv = {f.name: _field_kind(f.type) for f in dataclasses.fields(safety.Invariant)}
    tiered = {n: _field_kind(p.annotation) for n, p in inspect.signature(safety.tiered).parameters.items()}
    top = {"signals": list, "sample_period_s": float, "event_capacity": int, "invariant": list, "tiered": list}
    return {"(top level)": top, "invariant": inv, "tiered": tiered}


def _check_table(file: str, where: str, table: object, schema: dict[str, type]) -> None:
    if not isinstance(table, dict):
        raise ValueError(f"{file}: {where}: must be a table")
    for key, value in table.items():
        if key not in schema:
            close = difflib.get_close_matches(key, list(schema), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(schema)})"
            raise ValueError(f"{file}: {where}.{key}: unknown key{hint}")
        kind = schema[key]
        ok = (isinstance(value, str) if kind is str else
              isinstance(value, list) if kind is list else
              isinstance(value, int) and not isinstance(value, bool) if kind is int else
              isinstance(value, (int, float)) and not isinstance(value, bool))
        if not ok:
            what = {str: "a string", list: "a list", int: "an integer", float: "a number"}[kind]
            unit = " (units are those of the trace's column; write 4.1, not \"4.1 V\")" if kind is float else ""
            raise ValueError(f"{file}: {where}.{key} = {value!r}: must be {what}{unit}")
        if kind is float and not math.isfinite(value) and key not in ("lo", "hi"):
            raise ValueError(f"{file}: {where}.{key} = {value!r}: must be finite")


def load_definition(path: str) -> safety.MonitorDefinition:
    """The TOML file checked key by key (file, table, key, value in every message), then built."""
    checks.input_file("--invariants", path)
    try:
        data = tomllib.loads(Path(path).read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    schemas = _schemas()
    _check_table(path, "(top level)", data, schemas["(top level)"])
    if not data.get("signals"):
        raise ValueError(f"{path}: signals: missing or empty (a list of the trace's columns to check, "
                         f"e.g. signals = [\"voltage_v\"]); see `safetwin monitor --example`")
    if not data.get("invariant") and not data.get("tiered"):
        raise ValueError(f"{path}: no [[invariant]] or [[tiered]] table: nothing to check")
    for section in ("invariant", "tiered"):
        for i, table in enumerate(data.get(section, [])):
            where = f"{section}[{i}]"
            _check_table(path, where, table, schemas[section])
            required = [n for n, p in inspect.signature(safety.tiered).parameters.items()
                        if p.default is inspect.Parameter.empty] if section == "tiered" else ["name", "signal"]
            missing = [k for k in required if k not in table]
            if missing:
                raise ValueError(f"{path}: {where}: missing {', '.join(missing)} (required)")
            if table["signal"] not in data["signals"]:
                raise ValueError(f"{path}: {where}.signal = {table['signal']!r}: not in signals {data['signals']}")
    try:
        return safety.MonitorDefinition.from_dict(data)
    except ValueError as exc:  # the core's own validation, naming the invariant
        raise ValueError(f"{path}: {exc}") from None


def read_trace(path: str, columns: list[str], time_column: str) -> tuple[np.ndarray, np.ndarray]:
    """(times, values) of the named columns; refuses an empty file, no rows, ragged rows, text,
    non-finite or non-increasing times, naming the line."""
    checks.input_file("trace", path)
    with open(path, newline="", encoding="utf-8-sig") as f:  # -sig: a spreadsheet's byte-order mark
        reader = csv.reader(f)
        header = [h.strip() for h in next(reader, [])]
        if not any(header):
            raise ValueError(f"{path}: the file is empty (expected a header row with {', '.join(columns)})")
        missing = [c for c in columns if c not in header]
        if missing:
            hint = " (the file must be comma-separated, not ';')" if len(header) == 1 and ";" in header[0] else ""
            raise ValueError(f"{path}: columns {missing} not found (columns: {header}){hint}")
        idx = [header.index(c) for c in columns]
        rows = []
        for row in reader:
            if not row or all(not x.strip() for x in row):
                continue
            if len(row) != len(header):
                raise ValueError(f"{path}, line {reader.line_num}: {len(row)} fields, the header has {len(header)}")
            try:
                rows.append([float(row[j]) for j in idx])
            except ValueError:
                bad = next(j for j in idx if not _is_number(row[j]))
                raise ValueError(f"{path}, line {reader.line_num}: column {header[bad]} = {row[bad].strip()!r} "
                                 "is not a number") from None
    if not rows:
        raise ValueError(f"{path}: the file has a header but no data rows")
    data = np.array(rows)
    times = data[:, 0]
    bad = np.flatnonzero(~np.isfinite(times))
    if bad.size:
        raise ValueError(f"{path}: data row {bad[0] + 1}: {time_column} = {times[bad[0]]} is not finite")
    back = np.flatnonzero(np.diff(times) <= 0)
    if back.size:
        k = back[0] + 1
        raise ValueError(f"{path}: {time_column} must increase strictly; data row {k + 1} has "
                         f"{time_column} = {times[k]:g} after {times[k - 1]:g}")
    return times, data[:, 1:]


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def run(args: argparse.Namespace) -> int:
    if args.example:
        print(example_text(args.example), end="")
        return 0
    if args.trace is None or args.invariants is None:
        raise ValueError("give a TRACE.csv and --invariants FILE.toml (or --example for a definition to start from)")
    definition = load_definition(args.invariants)
    checks.output_file("-o", args.output)
    times, values = read_trace(args.trace, [args.time_column, *definition.signals], args.time_column)
    if len(times) > 1:
        step = float(np.median(np.diff(times)))
        if abs(step - definition.sample_period_s) > 0.01 * definition.sample_period_s:
            print(f"safetwin monitor: warning: {args.trace}: the trace's time step is {step:g} s, the definition's "
                  f"sample_period_s is {definition.sample_period_s:g} s ({args.invariants}); debounce counts are "
                  "in samples", file=sys.stderr)
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
