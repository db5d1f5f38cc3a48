"""Invariant monitor from Python: definitions (dataclasses, TOML), hand-computed traces, and the
temporal operators against RTAMT (test-only oracle) on random traces."""
import csv
import math

import numpy as np
import pytest

from safetwin import safety

rtamt = pytest.importorskip("rtamt", reason="RTAMT is the oracle of the temporal operators (test extra)")


def rtamt_online(formula: str, xs: np.ndarray) -> np.ndarray:
    """RTAMT's discrete-time online monitor of a bounded-future formula, made causal by pastify():
    the value at sample k is the robustness of the formula at k - T (partial windows at the start)."""
    spec = rtamt.StlDiscreteTimeSpecification()
    spec.declare_var("x", "float")
    spec.spec = formula
    spec.parse()
    spec.pastify()
    return np.array([spec.update(k, [("x", float(x))]) for k, x in enumerate(xs)])


def predicate(lo, hi):
    parts = []
    if math.isfinite(lo):
        parts.append(f"(x >= {lo!r})")
    if math.isfinite(hi):
        parts.append(f"(x <= {hi!r})")
    return " and ".join(parts)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("op", ["always", "eventually"])
@pytest.mark.parametrize("window", [0, 1, 4, 17])
@pytest.mark.parametrize("limits", [(-math.inf, 0.8), (-0.5, math.inf), (-0.9, 0.7)])
def test_temporal_operators_agree_with_rtamt(seed, op, window, limits):
    rng = np.random.default_rng(1000 * seed + window)
    # A random walk plus jumps, so that windows of every length see crossings.
    xs = np.cumsum(rng.normal(0.0, 0.3, 300)) * 0.3 + rng.normal(0.0, 0.4, 300)
    lo, hi = limits
    kind = "always_within" if op == "always" else "eventually_within"
    mon = safety.MonitorDefinition(["x"], [safety.Invariant("p", "x", kind, lo=lo, hi=hi, window_s=float(window))]).build()
    out = mon.run(np.arange(300.0), xs[:, None])
    ours = out["value"][:, 0]
    ref = rtamt_online(f"{op}[0:{window}]({predicate(lo, hi)})", xs)
    np.testing.assert_array_equal(ours, ref)  # the same subtractions and min/max: bit for bit
    np.testing.assert_array_equal(out["active"][:, 0], ref < 0)


def test_sample_period_scales_the_window():
    # 2 s at 0.5 s per sample is 4 samples back: compare with RTAMT's [0:4] on sample indices.
    rng = np.random.default_rng(7)
    xs = rng.normal(0.0, 1.0, 120)
    mon = safety.MonitorDefinition(["x"], [safety.Invariant("p", "x", "always_within", hi=1.0, window_s=2.0)],
                                   sample_period_s=0.5).build()
    out = mon.run(0.5 * np.arange(120), xs[:, None])
    np.testing.assert_array_equal(out["value"][:, 0], rtamt_online("always[0:4](x <= 1.0)", xs))


def test_debounce_latching_and_reset_hand_computed():
    d = safety.MonitorDefinition(
        ["v"], [safety.Invariant("warn", "v", hi=1.0, set_count=3, clear_count=2),
                safety.Invariant("trip", "v", hi=5.0, severity="stop")])
    mon = d.build()
    xs = [2, 2, 0, 2, 2, 2, 0, 2, 0, 0, 6, 0]
    out = mon.run(np.arange(len(xs), dtype=float), np.array(xs, float)[:, None])
    # warn: up/down counter 1 2 1 2 3 -> set at t=4; ok-run 1 (t=6), 0 (t=7), 1, 2 -> cleared at t=9;
    # then 6 at t=10 counts 1 (not set), 0 at t=11 counts back to 0.
    assert out["active"][:, 0].astype(int).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]
    # trip: set at t=10 and latched through t=11.
    assert out["active"][:, 1].astype(int).tolist() == [0] * 10 + [1, 1]
    assert out["max_active"].tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 3, 3]
    assert mon.latched("trip")
    mon.reset("trip", 11.5)
    assert not mon.active("trip")
    recs = safety.event_records(mon)
    assert [(r["time_s"], r["invariant"], r["kind"]) for r in recs] == [
        (4.0, "warn", "set"), (9.0, "warn", "cleared"), (10.0, "trip", "set"), (11.5, "trip", "reset")]
    assert recs[2]["value"] == 6.0 and recs[2]["limit"] == 5.0 and recs[2]["severity"] == "stop"
    ev = mon.events()
    assert ev.dtype.names == ("time_s", "value", "limit", "invariant", "severity", "kind")


def test_tiers_each_their_own_invariant():
    inv = safety.tiered("t_max", "temp_k", side="hi", operating=318.15, recommended=323.15, maximum=328.15)
    assert [(i.name, i.hi, i.severity) for i in inv] == [
        ("t_max.operating", 318.15, "warning"), ("t_max.recommended", 323.15, "derate"),
        ("t_max.maximum", 328.15, "stop")]
    mon = safety.MonitorDefinition(["temp_k"], inv).build()
    out = mon.run(np.arange(4.0), np.array([[300.0], [320.0], [325.0], [330.0]]))
    assert out["max_active"].tolist() == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="t_bad.*must widen"):
        safety.tiered("t_bad", "temp_k", side="hi", operating=330.0, recommended=323.15, maximum=328.15)


TOML = """
sample_period_s = 1.0
signals = ["voltage_v", "temp_k", "nis"]

[[invariant]]
name = "nis_consistent"
signal = "nis"
kind = "nis_window"
hi = 3.0
window_s = 5.0
severity = "derate"

[[invariant]]
name = "v_settles"
signal = "voltage_v"
kind = "eventually_within"
hi = 4.1
window_s = 3.0

[[tiered]]
name = "v_max"
signal = "voltage_v"
side = "hi"
operating = 4.2
recommended = 4.22
maximum = 4.25
set_count = 2
"""


def test_toml_definition(tmp_path):
    path = tmp_path / "inv.toml"
    path.write_text(TOML)
    d = safety.MonitorDefinition.from_toml(path)
    assert [i.name for i in d.invariants] == ["nis_consistent", "v_settles", "v_max.operating",
                                             "v_max.recommended", "v_max.maximum"]
    mon = d.build()
    assert mon.signals == ["voltage_v", "temp_k", "nis"]
    nis = [1, 1, 1, 1, 9, 1, 1, 1, 1, 1]  # window mean of 5 samples: 2.6 at t=4, then 2.6 ... until t=8
    vals = np.column_stack([np.full(10, 4.0), np.full(10, 300.0), nis])
    out = mon.run(np.arange(10.0), vals)
    means = out["value"][:, 0]
    np.testing.assert_allclose(means[4:], [13 / 5] * 5 + [1.0], rtol=0, atol=1e-15)
    assert not out["active"][:, 0].any()  # 2.6 <= 3


@pytest.mark.parametrize("text, message", [
    ('signals=["v"]\n[[invariant]]\nname="a"\nsignal="w"\nhi=1.0\n', "invariant 'a': unknown signal 'w'"),
    ('signals=["v"]\n[[invariant]]\nname="b"\nsignal="v"\nlo=2.0\nhi=1.0\n', "invariant 'b': inverted limits"),
    ('signals=["v"]\n[[invariant]]\nname="c"\nsignal="v"\nkind="always_within"\nhi=1.0\nwindow_s=-2.0\n',
     "invariant 'c': window_s = -2"),
    ('signals=["v"]\n[[invariant]]\nname="d"\nsignal="v"\nkind="often"\nhi=1.0\n', "invariant 'd': kind"),
    ('signals=["v"]\n[[invariant]]\nname="e"\nsignal="v"\nhi=1.0\nseverity="fatal"\n', "invariant 'e': severity"),
    ('sample_period_s=0.3\nsignals=["v"]\n[[invariant]]\nname="f"\nsignal="v"\nkind="always_within"\nhi=1.0\n'
     'window_s=1.0\n', "invariant 'f': window_s = 1 must be a whole number"),
])
def test_bad_definitions_refused_naming_the_invariant(text, message):
    with pytest.raises(ValueError, match=message):
        safety.MonitorDefinition.from_toml(text)


def test_refused_run_names_the_sample():
    mon = safety.MonitorDefinition(["x"], [safety.Invariant("r", "x", hi=1.0)]).build()
    with pytest.raises(ValueError, match=r"times\[2\]"):
        mon.run(np.array([0.0, 1.0, 1.0]), np.zeros((3, 1)))


def test_cli_monitor_on_a_simulated_trace(tmp_path):
    from safetwin import cli
    trace = tmp_path / "trace.csv"
    # --cutoff off: the cell is driven past its 4.2 V limit on purpose, for the monitor to see it
    assert cli.main(["simulate", "--profile", "cc", "--current", "-15", "--duration-s", "400", "--soc0", "0.5",
                     "--cutoff", "off", "-o", str(trace)]) == 0
    inv = tmp_path / "inv.toml"
    inv.write_text('signals = ["voltage_v"]\n[[tiered]]\nname = "v"\nsignal = "voltage_v"\nside = "hi"\n'
                   'operating = 4.2\nrecommended = 4.25\nmaximum = 4.3\nset_count = 2\n')
    out = tmp_path / "events.csv"
    code = cli.main(["monitor", str(trace), "--invariants", str(inv), "-o", str(out)])
    with open(out, newline="") as f:
        rows = list(csv.DictReader(f))
    data = np.loadtxt(trace, delimiter=",", skiprows=1)
    t, volts = data[:, 0], data[:, 2]
    # 3C into the cell from SOC 0.5: the voltage rises through every tier and stays above. Each
    # tier sets at the second sample above its limit (set_count = 2) and never clears.
    for tier, limit in (("v.operating", 4.2), ("v.recommended", 4.25), ("v.maximum", 4.3)):
        above = np.flatnonzero(volts > limit)
        assert len(above) > 2 and np.all(np.diff(above) == 1)
        events = [r for r in rows if r["invariant"] == tier]
        assert [(float(r["time_s"]), r["kind"]) for r in events] == [(t[above[1]], "set")]
    assert code == 1  # a stop-severity invariant was set


def test_hysteresis_sets_once_where_a_plain_limit_chatters():
    """A reading hovering at its limit: without a clear threshold the warning sets and clears at
    every crossing; with hysteresis it sets once and clears only back under the threshold."""
    xs = [4.19, 4.215, 4.205, 4.212, 4.208, 4.211, 4.207, 4.195, 4.19]
    t = np.arange(len(xs), dtype=float)
    plain = safety.MonitorDefinition(["v"], safety.tiered("v", "v", side="hi", operating=4.21, recommended=4.23,
                                                          maximum=4.26)).build()
    plain.run(t, np.array(xs)[:, None])
    held = safety.MonitorDefinition(["v"], safety.tiered("v", "v", side="hi", operating=4.21, recommended=4.23,
                                                         maximum=4.26, hysteresis=0.01)).build()
    out = held.run(t, np.array(xs)[:, None])
    chatter = [(r["time_s"], r["kind"]) for r in safety.event_records(plain)]
    assert chatter == [(1.0, "set"), (2.0, "cleared"), (3.0, "set"), (4.0, "cleared"), (5.0, "set"), (6.0, "cleared")]
    # set at 4.215 (t = 1); 4.205 .. 4.207 lie above the clear threshold 4.20; 4.195 clears (t = 7).
    assert [(r["time_s"], r["kind"]) for r in safety.event_records(held)] == [(1.0, "set"), (7.0, "cleared")]
    assert out["active"][:, 0].astype(int).tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0]
    inv = safety.tiered("v", "v", side="lo", operating=2.49, recommended=2.47, maximum=2.44, hysteresis=0.01)
    assert [i.clear_lo for i in inv] == pytest.approx([2.50, 2.48, 2.45])
    assert all(math.isnan(i.clear_hi) for i in inv)


def test_limits_in_degc_reach_the_core_in_kelvin_and_events_come_back_in_degc():
    d = safety.MonitorDefinition(["temperature_k"], safety.tiered(
        "t", "temperature_k", side="hi", operating=40.0, recommended=42.5, maximum=44.5, hysteresis=1.0, unit="degC"))
    mon = d.build()
    assert mon.spec(0).hi == pytest.approx(313.15)
    assert mon.spec(0).clear_hi == pytest.approx(312.15)
    mon.run(np.array([0.0, 1.0, 2.0]), np.array([[310.0], [314.65], [311.0]]))
    recs = safety.event_records(mon, d)
    assert [(r["invariant"], r["kind"]) for r in recs] == [("t.operating", "set"), ("t.operating", "cleared")]
    assert recs[0]["value"] == pytest.approx(41.5) and recs[0]["limit"] == pytest.approx(40.0)
    assert safety.event_records(mon)[0]["value"] == pytest.approx(314.65)  # without the definition: the core's K
    rate = safety.Invariant("dT", "temperature_k", kind="rate", hi=0.5, unit="degC")
    assert rate.to_spec().hi == 0.5  # a rate has no offset: 1 degC/s = 1 K/s


@pytest.mark.parametrize("kwargs, message", [
    (dict(hi=4.2, clear_hi=4.3), "clear_hi = 4.3 must be finite and <= hi = 4.2"),
    (dict(kind="always_within", hi=1.0, window_s=2.0, clear_hi=0.5), "range, rate and nis_window"),
    (dict(lo=0.0, hi=1.0, clear_lo=0.8, clear_hi=0.2), "empty clear band"),
    (dict(hi=1.0, unit="F"), "unit = 'F' must be one of"),
])
def test_bad_clear_bands_and_units_refused_naming_the_invariant(kwargs, message):
    with pytest.raises(ValueError, match="x_inv") as e:
        safety.Invariant("x_inv", "x", **kwargs)
    assert message in str(e.value)
