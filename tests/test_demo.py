"""``safetwin demo`` end to end: the summary's claims checked against the written trace."""
import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from safetwin import demo


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    r = subprocess.run([sys.executable, "-m", "safetwin.cli", "demo", "--json", "-o", str(out)],
                       capture_output=True, text=True, check=True)
    with open(out / "demo.csv") as f:
        rows = list(csv.DictReader(f))
    trace = {k: np.array([float(row[k]) for row in rows]) for k in rows[0]}
    return json.loads(r.stdout), trace, out


def columns(trace, prefix):
    return np.column_stack([v for k, v in trace.items() if k.startswith(prefix)])


def test_limits_held_on_the_true_plant_state(demo_run):
    s, trace, _ = demo_run
    v = columns(trace, "voltage_v_")
    t = columns(trace, "temperature_c_")
    assert v.shape[1] == 8 and t.shape[1] == 8  # 4s2p: every cell
    assert v.max() <= 4.2 + 0.005
    assert t.max() <= 45.0 + 0.1
    assert s["limits"]["held"] is True
    assert s["limits"]["max_cell_voltage_v"] == pytest.approx(v.max(), abs=1e-6)
    assert s["limits"]["max_cell_temperature_c"] == pytest.approx(t.max(), abs=1e-5)


def test_the_attacked_node_is_distrusted_and_the_estimate_stays_close(demo_run):
    s, trace, _ = demo_run
    cfg = demo.DemoConfig()
    assert s["attack"]["node"] == "cell_monitor"
    # attestation rounds every 5 s: distrusted within three rounds of the attack
    assert cfg.attack_at_s <= s["attack"]["distrusted_at_s"] <= cfg.attack_at_s + 3 * cfg.attest_every_s
    assert s["trust"]["cell_monitor"]["final"] < 0.1
    assert s["trust"]["redundant_monitor"]["min"] > 0.9
    trusted = [e for e in s["events"] if e["invariant"] == "trust.cell_monitor" and e["kind"] == "set"]
    assert trusted and trusted[0]["severity"] == "derate"
    err = np.abs(columns(trace, "soc_est_g") - columns(trace, "soc_true_g"))[trace["t_s"] >= 300]
    assert err.max() == pytest.approx(s["estimation"]["soc_max_error"], abs=1e-6)
    assert err.max() < 0.03


def test_trust_weighting_keeps_the_attacked_group_closer_to_the_truth():
    cfg = demo.DemoConfig()
    g = cfg.attack_group
    errors = []
    for weighting in (True, False):
        tr = demo.run(cfg, trust_weighting=weighting).trace
        errors.append(np.abs(tr["soc_est"][:, g] - tr["soc_true"][:, g]).max())
    assert errors[0] < 0.6 * errors[1]


def test_the_cooling_failure_is_detected_and_answered(demo_run):
    """Either the monitor answers it (a derate or stop tier, then DERATED or SAFE_STOP from the
    detection on) or the filter's margins, widened by the twin's learned temperature error after
    the failure, keep every measured temperature under the derate tier and the cells under 45 degC."""
    s, trace, _ = demo_run
    c = s["cooling_failure"]
    measured_max = s["limits"]["max_measured_temperature_c"]
    assert c["held_under_derate_tier"] == (measured_max < s["limits"]["temperature_tiers_c"]["recommended"])
    warm = [e for e in s["events"] if e["kind"] == "set" and e["invariant"].startswith("temperature")
            and e["time_s"] >= c["at_s"]]
    assert c["first_temperature_event_s"] == (warm[0]["time_s"] if warm else None)
    if c["detected_at_s"] is None:
        assert c["held_under_derate_tier"]
        assert s["limits"]["max_cell_temperature_c"] < 45.0
        assert s["limits"]["held"]
        return
    assert c["detected_at_s"] > c["at_s"]
    assert c["answer"] in ("derate", "stop")
    mode = trace["mode"]
    after = trace["t_s"] >= c["detected_at_s"]
    assert mode[after].min() >= 1  # DERATED or SAFE_STOP from the detection on
    # a SAFE_STOP opens the contactor: no current after it
    stopped = np.flatnonzero(mode == 2)
    if stopped.size:
        assert np.all(trace["current_a"][stopped[0] + 1:] == 0.0)


def test_80_percent_reached_or_the_reason_given(demo_run):
    s, trace, _ = demo_run
    soc = columns(trace, "soc_true_g").mean(axis=1)
    if s["time_to_80_s"] is None:
        assert soc.max() < 0.8
        assert "SAFE_STOP" in s["reason_80_not_reached"] or "SOC reached" in s["reason_80_not_reached"]
    else:
        assert soc[trace["t_s"] == s["time_to_80_s"]][0] >= 0.8


def test_outputs_and_stable_keys(demo_run):
    s, _, out = demo_run
    assert (out / "demo.png").stat().st_size > 10_000
    assert set(s) == {"pack", "duration_s", "soc_start", "soc_end", "time_to_80_s", "reason_80_not_reached", "limits",
                      "attack", "cooling_failure", "trust", "estimation", "cycle_time_us", "events", "event_summary",
                      "mode_changes",
                      "output"}
    assert s["cycle_time_us"]["median"] > 0


def test_bad_demo_config_is_refused():
    with pytest.raises(ValueError, match="DemoConfig.dt_s"):
        demo.DemoConfig(dt_s=0.0)
    with pytest.raises(ValueError, match="attack_group"):
        demo.DemoConfig(attack_group=9)
