"""What `safetwin demo` tells a user: groups numbered from 1 in the text and the JSON, temperature
events in degC like the limits, no chattering event (the monitor's hysteresis), the cooling
failure held without a stop, no progress bar off a terminal, the plot's time axis."""
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


def test_no_invariant_chatters_with_hysteresis(run):
    """The monitor's clear thresholds (demo_monitor.toml): the consistency warning, which set and
    cleared about 30 times a minute without them, sets at most once per group; nothing is collapsed."""
    s, text, _ = run
    assert not [e for e in s["event_summary"] if e["kind"] == "chattering"]
    for g in range(1, demo.DemoConfig().series + 1):
        sets = [e for e in s["events"] if e["group"] == g and e["invariant"] == "estimator.consistency"
                and e["kind"] == "set"]
        assert len(sets) <= 1
    assert s["event_summary"] == s["events"]
    assert len(text.stdout.splitlines()) < 60


def test_the_consistency_warnings_come_after_the_cooling_failure(run):
    """They start after the failure, when the twin's temperature estimate falls behind the
    measurement by kelvins (it assumes working cooling): a real inconsistency."""
    s, _, _ = run
    sets = [e for e in s["events"] if e["invariant"] == "estimator.consistency" and e["kind"] == "set"]
    assert all(e["time_s"] > s["cooling_failure"]["at_s"] for e in sets)
    est = s["estimation"]
    assert est["temperature_error_after_failure_k"] > 3 * est["temperature_error_before_failure_k"]


def test_the_cooling_failure_is_held_without_a_stop(run):
    """The filter's margins grow with the twin's learned temperature error after the cooling
    failure, so the charge goes on at a lower current under the monitor's stop tier: no SAFE_STOP,
    and the reason 80 % was not reached (if it was not) says the limits in force held it back."""
    s, text, _ = run
    assert not [e for e in s["events"] if e["severity"] == "stop" and e["kind"] == "set"]
    assert all(m["to"] != "SAFE_STOP" for m in s["mode_changes"])
    assert s["limits"]["held"]
    assert s["limits"]["max_measured_temperature_c"] < s["limits"]["temperature_tiers_c"]["maximum"]
    if s["time_to_80_s"] is None:
        assert s["reason_80_not_reached"].startswith("SOC reached")
    assert "(true, limit 45.0 degC)" in text.stdout


def test_no_progress_bar_off_a_terminal(run):
    _, text, _ = run
    assert "simulating" not in text.stderr and "\r" not in text.stderr


def test_the_plot_stops_after_the_last_mode_change(run):
    s, _, out = run
    cfg = demo.DemoConfig()
    warm = s["cooling_failure"]["first_temperature_event_s"]
    last = max([m["time_s"] for m in s["mode_changes"]] + [cfg.cooling_failure_at_s] + ([warm] if warm else []))
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
         "cooling_failure": {"at_s": 600.0, "detected_at_s": None, "answer": None,
                             "first_temperature_event_s": None, "held_under_derate_tier": False},
         "trust": {}, "estimation": {"soc_rmse": 0.01, "soc_max_error": 0.02, "within_3_sigma": 1.0,
                                     "temperature_error_before_failure_k": 0.1,
                                     "temperature_error_after_failure_k": 0.2},
         "cycle_time_us": {"median": 1.0, "p99": 2.0, "max": 3.0}, "mode_changes": [], "event_summary": []}
    print_table(s)
    out = capsys.readouterr().out
    assert "not detected by the end of the run (700 s)" in out and "None" not in out
    assert "never distrusted" in out
