"""Golden closed-loop traces: the four committed runs of tools/golden_traces.py re-run and compared
column by column within the tolerances stated there. A failure here means a numerical change moved
the stack's closed-loop behaviour: if it is intended, regenerate the traces
(``python tools/golden_traces.py``) in a commit whose message says why they moved."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "golden_traces", Path(__file__).resolve().parents[1] / "tools" / "golden_traces.py")
golden = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(golden)


def differences(expected: dict, actual: dict) -> list[str]:
    """Human-readable differences: missing or extra columns, length, and per column the worst
    deviation beyond its tolerance with the time it happens at."""
    out = []
    if set(expected) != set(actual):
        out.append(f"columns differ: missing {sorted(set(expected) - set(actual))}, "
                   f"new {sorted(set(actual) - set(expected))}")
    n_exp, n_act = len(expected["t_s"]), len(actual["t_s"])
    if n_exp != n_act:
        out.append(f"length {n_act} rows, golden {n_exp}")
    n = min(n_exp, n_act)
    for col in expected:
        if col not in actual:
            continue
        e, a = np.asarray(expected[col][:n], float), np.asarray(actual[col][:n], float)
        tol = golden.tolerance(col)
        both_nan = np.isnan(e) & np.isnan(a)
        dev = np.where(both_nan, 0.0, np.abs(a - e))
        dev = np.where(np.isnan(dev), np.inf, dev)  # NaN on one side only
        bad = dev > tol
        if bad.any():
            k = int(np.argmax(dev))
            out.append(f"{col}: {int(bad.sum())} of {n} rows beyond {tol:g}, worst {dev[k]:.3g} at "
                       f"t = {expected['t_s'][k]:g} s (golden {e[k]!r}, now {a[k]!r})")
    return out


@pytest.mark.parametrize("name", sorted(golden.TRACES))
def test_trace_matches_golden(name):
    expected = golden.read(name)
    actual = {k: np.asarray(v, float) for k, v in golden.TRACES[name]().items()}
    diffs = differences(expected, actual)
    assert not diffs, f"golden trace {name!r} moved:\n  " + "\n  ".join(diffs)


def test_comparison_sees_a_change_just_beyond_the_tolerance():
    expected = golden.read("mpc_fc")
    for col, bump in (("voltage_v", 2e-6), ("iterations", 1.0), ("soc", 2e-6)):
        moved = {k: v.copy() for k, v in expected.items()}
        moved[col][len(moved[col]) // 2] += bump
        diffs = differences(expected, moved)
        assert len(diffs) == 1 and diffs[0].startswith(f"{col}: 1 of"), diffs
    within = {k: v.copy() for k, v in expected.items()}
    within["voltage_v"] += 0.5e-6
    assert differences(expected, within) == []
    nan_one_side = {k: v.copy() for k, v in expected.items()}
    nan_one_side["temp_k"][3] = np.nan
    assert differences(expected, nan_one_side)[0].startswith("temp_k: 1 of")
