"""What `safetwin demo` tells a user: groups numbered from 1 in the text and the JSON, temperature
events in degC like the limits, chattering events collapsed (and counted right), the stop's cause
named as measured against the true peak, no progress bar off a terminal, the plot's time axis."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from safetwin import demo
from safetwin.commands.demo import print_table


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    r = subprocess.run([sys.executable, "-m", "safetwin.cli", "demo", "--json", "-o", str(out)],
                       capture_output=True, text=True, check=True)
    text = subprocess.run([sys.executable, "-m", "safetwin.cli", "demo", "--no-plot", "-o", str(out / "text")],
                          capture_output=True, text=True, check=True)
    return json.loads(r.stdout), text, out


def test_groups_are_numbered_from_1_everywhere(run):
    s, text, _ = run
    cfg = demo.DemoConfig()
    groups = {e["group"] for e in s["events"]} | {m["group"] for m in s["mode_changes"]}
    assert groups == set(range(1, cfg.series + 1))
    assert s["attack"]["group"] == cfg.attack_group + 1
    assert f"group {cfg.attack_group + 1}, from 300 s" in text.stdout
    assert "group 0" not in text.stdout


def test_temperature_events_are_in_degc_at_the_tiers_of_the_monitor_file(run):
    s, _, _ = run
    tiers = {inv.name: inv.hi - 273.15 for inv in demo.monitor_definition().invariants
             if inv.name.startswith("temperature.")}
    assert tiers == pytest.approx({"temperature.operating": 40.0, "temperature.recommended": 42.5,
                                   "temperature.maximum": 44.5})
    temp_events = [e for e in s["events"] if e["invariant"].startswith("temperature.")]
    assert temp_events
    for e in temp_events:
        assert e["unit"] == "degC"
        assert e["limit"] == pytest.approx(tiers[e["invariant"]], abs=1e-9)
        assert 20.0 < e["value"] < 60.0
        assert (e["value"] > e["limit"]) == (e["kind"] == "set")
    assert s["limits"]["temperature_tiers_c"] == pytest.approx({"operating": 40.0, "recommended": 42.5,
                                                               "maximum": 44.5})


def test_chattering_events_are_collapsed_and_counted(run):
    s, text, _ = run
    chatter = [e for e in s["event_summary"] if e["kind"] == "chattering"]
    assert chatter, "the demo's consistency warning chatters until the monitor has hysteresis"
    for c in chatter:
        raw = [e for e in s["events"] if e["group"] == c["group"] and e["invariant"] == c["invariant"]]
        sets = [e for e in raw if e["kind"] == "set"]
        assert c["sets"] == len(sets) > demo.CHATTER_SETS
        assert (c["first_s"], c["last_s"]) == (raw[0]["time_s"], raw[-1]["time_s"])
        assert c["max_value"] == max(e["value"] for e in raw)
        line = f"set {c['sets']} times between {c['first_s']:.0f} s and {c['last_s']:.0f} s"
        assert line in text.stdout
    # every other event is listed as it is, once
    kept = [e for e in s["event_summary"] if e["kind"] != "chattering"]
    collapsed = {(c["group"], c["invariant"]) for c in chatter}
    assert kept == [e for e in s["events"] if (e["group"], e["invariant"]) not in collapsed]
    assert len(text.stdout.splitlines()) < 60


def test_the_consistency_warnings_after_the_cooling_failure_are_explained(run):
    """They start after the failure, when the twin's temperature estimate falls behind the
    measurement by kelvins (it assumes working cooling): a real inconsistency, said so."""
    s, text, _ = run
    chatter = [e for e in s["event_summary"] if e["kind"] == "chattering" and e["invariant"] == "estimator.consistency"]
    assert all(c["first_s"] > s["cooling_failure"]["at_s"] for c in chatter)
    est = s["estimation"]
    assert est["temperature_error_after_failure_k"] > 3 * est["temperature_error_before_failure_k"]
    assert "really inconsistent with its model" in text.stdout


def test_the_stop_is_explained_measured_against_true(run):
    s, text, _ = run
    assert s["time_to_80_s"] is None  # the shipped demo stops on temperature before 80 %
    reason = s["reason_80_not_reached"]
    stop = next(e for e in s["events"] if e["severity"] == "stop" and e["kind"] == "set")
    assert reason.startswith(f"SAFE_STOP at {stop['time_s']:.0f} s: group {stop['group']}'s measured temperature "
                             f"{stop['value']:.2f} degC passed the monitor's stop tier 44.50 degC")
    assert "demo_monitor.toml" in reason
    assert f"the true cells peaked at {s['limits']['max_cell_temperature_c']:.2f} degC" in reason
    assert s["limits"]["max_measured_temperature_c"] >= stop["value"] - 1e-9
    assert "(true, limit 45.0 degC)" in text.stdout


def test_no_progress_bar_off_a_terminal(run):
    _, text, _ = run
    assert "simulating" not in text.stderr and "\r" not in text.stderr


def test_the_plot_stops_after_the_last_mode_change(run):
    s, _, out = run
    cfg = demo.DemoConfig()
    last = max(m["time_s"] for m in s["mode_changes"])
    assert demo.plot_end_s(s, cfg) == min(cfg.duration_s, last + 300.0) < cfg.duration_s
    assert (out / "demo.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_not_detected_is_said_in_words(capsys):
    """The text for a run that ends before the detection (the old 'detected at not detected')."""
    s = {"pack": "4s2p", "soc_start": 0.1, "soc_end": 0.4, "duration_s": 700.0, "time_to_80_s": None,
         "reason_80_not_reached": "SOC reached 0.400", "limits": {
             "max_cell_voltage_v": 4.1, "voltage_limit_v": 4.2, "max_cell_temperature_c": 30.0,
             "temperature_limit_c": 45.0, "held": True, "temperature_tiers_c": {"operating": 40.0},
             "max_measured_temperature_c": 30.2},
         "attack": {"node": "cell_monitor", "group": 2, "at_s": 300.0, "distrusted_at_s": None},
         "cooling_failure": {"at_s": 600.0, "detected_at_s": None, "answer": None},
         "trust": {}, "estimation": {"soc_rmse": 0.01, "soc_max_error": 0.02, "within_3_sigma": 1.0,
                                     "temperature_error_before_failure_k": 0.1,
                                     "temperature_error_after_failure_k": 0.2},
         "cycle_time_us": {"median": 1.0, "p99": 2.0, "max": 3.0}, "mode_changes": [], "event_summary": []}
    print_table(s)
    out = capsys.readouterr().out
    assert "not detected by the end of the run (700 s)" in out and "None" not in out
    assert "never distrusted" in out
