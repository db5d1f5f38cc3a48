"""Pass/fail criteria of a scenario, evaluated on the run's trace: limits on the TRUE plant state
(not on what the firmware measured), firmware detection of the injected fault within a time, the
plant's contactor opening in time, a minimum SOC reached."""
from __future__ import annotations

from typing import Any

import numpy as np

from safetwin.hil.link import fault_code


def _crit(name: str, passed: bool, value: Any, limit: Any, message: str) -> dict[str, Any]:
    return {"name": name, "passed": bool(passed), "value": value, "limit": limit, "message": message}


def evaluate(result) -> list[dict[str, Any]]:
    c = result.scenario.criteria
    tr = result.trace
    out = []
    first_fault_s = min((t for _, t in result.fault_times), default=None)
    if "max_cell_voltage_v" in c:
        v = float(np.nanmax(tr["cell_v_max"]))
        out.append(_crit("max_cell_voltage_v", v <= c["max_cell_voltage_v"], v, c["max_cell_voltage_v"],
                         f"highest true cell voltage {v:.4f} V (limit {c['max_cell_voltage_v']} V)"))
    if "min_cell_voltage_v" in c:
        v = float(np.nanmin(tr["cell_v_min"]))
        out.append(_crit("min_cell_voltage_v", v >= c["min_cell_voltage_v"], v, c["min_cell_voltage_v"],
                         f"lowest true cell voltage {v:.4f} V (limit {c['min_cell_voltage_v']} V)"))
    if "max_cell_temp_c" in c:
        v = float(np.nanmax(tr["cell_t_max_c"]))
        out.append(_crit("max_cell_temp_c", v <= c["max_cell_temp_c"], v, c["max_cell_temp_c"],
                         f"hottest true cell {v:.2f} degC (limit {c['max_cell_temp_c']} degC)"))
    if "min_soc" in c:
        v = float(tr["soc_mean"][-1])
        out.append(_crit("min_soc", v >= c["min_soc"], v, c["min_soc"],
                         f"final mean SOC {v:.4f} (at least {c['min_soc']})"))
    if "max_charge_current_a" in c:
        v = float(max(0.0, -np.nanmin(tr["current_a"])))
        out.append(_crit("max_charge_current_a", v <= c["max_charge_current_a"], v, c["max_charge_current_a"],
                         f"largest charge current {v:.3f} A (limit {c['max_charge_current_a']} A)"))
    if "max_discharge_current_a" in c:
        v = float(max(0.0, np.nanmax(tr["current_a"])))
        out.append(_crit("max_discharge_current_a", v <= c["max_discharge_current_a"], v,
                         c["max_discharge_current_a"],
                         f"largest discharge current {v:.3f} A (limit {c['max_discharge_current_a']} A)"))
    if c.get("no_faults"):
        flags = int(np.nanmax(tr["fw_flags"])) if np.isfinite(tr["fw_flags"]).any() else 0
        fw_events = [e["event"] for e in result.events if e["source"] == "firmware"]
        out.append(_crit("no_faults", not fw_events and flags == 0, fw_events, [],
                         "no firmware fault event" if not fw_events else f"firmware raised {sorted(set(fw_events))}"))
    for d in c.get("detect", []):
        bit = 1 << (fault_code(d["fault"]) - 1)
        flags = np.nan_to_num(tr["fw_flags"], nan=0.0).astype(np.int64)
        after = tr["t_s"] >= first_fault_s
        hits = np.flatnonzero(after & ((flags & bit) != 0))
        if hits.size:
            delay = float(tr["t_s"][hits[0]] - first_fault_s)
            ok = delay <= d["within_s"]
            msg = f"{d['fault']} raised {delay:.3f} s after the fault at {first_fault_s} s (within {d['within_s']} s)"
        else:
            delay, ok = None, False
            msg = f"{d['fault']} never raised after the fault at {first_fault_s} s (within {d['within_s']} s)"
        out.append(_crit(f"detect {d['fault']}", ok, delay, d["within_s"], msg))
    for d in c.get("attest", []):
        # The firmware's ATTEST_RESULT frames: a round of the node ended with the reason (or, with
        # answers_only, an answer was refused with it while every round of the node passed).
        kind = "answer" if d["answers_only"] else "round"
        hits = [a["t_s"] for a in result.attestation if a["node"] == d["node"] and a["kind"] == kind
                and a["reason"] == d["reason"] and a["t_s"] >= first_fault_s]
        name = f"attest node {d['node']} {d['reason']}" + (" (answers)" if d["answers_only"] else "")
        if hits:
            delay = float(hits[0] - first_fault_s)
            ok = delay <= d["within_s"]
            msg = f"{name} {delay:.3f} s after the fault at {first_fault_s} s (within {d['within_s']} s)"
        else:
            delay, ok = None, False
            msg = f"{name} never seen after the fault at {first_fault_s} s"
        if d["answers_only"]:
            failed = {a["reason"] for a in result.attestation if a["node"] == d["node"] and a["kind"] == "round"
                      and a["reason"] != "pass"}
            ok = ok and not failed
            if failed:
                msg += f"; but its rounds ended with {sorted(failed)}"
        out.append(_crit(name, ok, delay, d["within_s"], msg))
    if c.get("attest_all_pass"):
        rounds = result.attest_counts("round")
        bad = {n: {r: k for r, k in c_.items() if r != "pass"} for n, c_ in rounds.items()}
        bad = {n: v for n, v in bad.items() if v}
        nodes = result.scenario.attestation["nodes"]
        every = result.scenario.attestation["every_s"]
        # every node's every round: one per every_s of the run, the last one possibly still open
        expected = int(result.simulated_s // every)
        passes = {n: rounds.get(n, {}).get("pass", 0) for n in range(nodes)}
        short = {n: k for n, k in passes.items() if k < expected - 1}
        ok = not bad and not short
        msg = (f"every round passed ({', '.join(f'node {n}: {k}' for n, k in passes.items())})" if ok
               else f"failed rounds {bad}, nodes short of passes {short} (expected >= {expected - 1})")
        out.append(_crit("attest_all_pass", ok, rounds, expected, msg))
    if "contactor_open_within_s" in c:
        lim = c["contactor_open_within_s"]
        opened = np.flatnonzero((tr["t_s"] >= first_fault_s) & (tr["contactor_closed"] == 0.0))
        if opened.size:
            delay = float(tr["t_s"][opened[0]] - first_fault_s)
            ok = delay <= lim
            # and it stays open, with no current, from then on
            ok = ok and bool(np.all(tr["contactor_closed"][opened[0]:] == 0.0)) and \
                bool(np.all(tr["current_a"][opened[0]:] == 0.0))
            msg = f"contactor opened {delay:.3f} s after the fault at {first_fault_s} s (within {lim} s)"
        else:
            delay, ok = None, False
            msg = f"contactor never opened after the fault at {first_fault_s} s"
        out.append(_crit("contactor_open_within_s", ok, delay, lim, msg))
    return out
