"""Self-triggered reporting on the HIL bench (issue 18): the firmware schedules the sensor nodes
(REPORT_SCHEDULE), the harness's nodes obey, and the run counts frames per node and bus load.

GIVEN the shipped fast charge hil/scenarios/report_self_triggered_charge.toml (12s1p, MPC-FC to
80 %, then rest) WHEN it runs self-triggered and, for reference, with every node reporting every
step THEN the schedule adapts (seldom at rest, every step near V_max), fewer frames are sent, the
charge ends inside the envelope, UDP through firmware_sim gives the same frames as lockstep, and a
node silenced by a fault is caught as silence at its next scheduled report."""
import json
from dataclasses import replace

import numpy as np
import pytest

pytest.importorskip("cantools")

from safetwin.hil.firmware import find_firmware  # noqa: E402
from safetwin.hil.harness import Bench  # noqa: E402
from safetwin.hil.report_nodes import FRAME_BITS, bus_load  # noqa: E402
from safetwin.hil.scenario import ScenarioError, load_scenario, shipped_scenarios  # noqa: E402

SCENARIO = {p.stem: p for p in shipped_scenarios()}["report_self_triggered_charge"]
V_MAX = 4.2          # REF-CELL-1's maximum (the envelope the charge must keep)
NEAR_V_MAX = 0.05    # "near the limit": the highest cell within 50 mV of V_max
MAX_INTERVAL_S = 30  # the firmware's default --report-max-interval-s


@pytest.fixture(scope="module")
def runs():
    sc = load_scenario(SCENARIO)
    every = replace(sc, firmware={**sc.firmware, "reporting": "every-step"})
    return {"self": Bench(sc, "inprocess").run(), "every": Bench(every, "inprocess").run()}


def _intervals(result, node):
    """(start time, interval) of each pair of consecutive reports of one node."""
    t = np.asarray(result.report_times[node])
    return t[:-1], np.diff(t)


def test_every_step_sends_every_frame_every_step(runs):
    r = runs["every"]
    steps = r.scenario.steps
    # 12 cells: CELL_V_A mux 0..3 (3 cells each), CELL_T mux 0..1 (6 each), one frame per step each
    assert r.frames_by_node == {**{f"CELL_V_A_{m}": steps for m in range(4)}, "CELL_T_0": steps, "CELL_T_1": steps}
    # the link: plant HB, PACK_MEAS, LOAD_REQUEST, 6 cell frames, TICK; firmware COMMAND, STATUS, HB,
    # TICK_ACK (no FW_EVENT on a healthy charge, no REPORT_SCHEDULE when every step)
    assert not [e for e in r.events if e["source"] == "firmware"]
    assert r.bus_frames == 14 * steps
    assert r.bus_load == pytest.approx(14 * steps * 135 / (500_000 * steps * r.scenario.dt_s), rel=1e-12)


def test_self_triggered_charge_keeps_the_envelope_with_fewer_frames(runs):
    r, ref = runs["self"], runs["every"]
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    assert np.nanmax(r.trace["cell_v_max"]) <= V_MAX
    assert not [e for e in r.events if e["source"] == "firmware"]  # no held value taken for a missing one
    sent, ref_sent = sum(r.frames_by_node.values()), sum(ref.frames_by_node.values())
    print(f"measurement frames: self-triggered {sent}, every step {ref_sent}; bus load "
          f"{100 * r.bus_load:.3f} % vs {100 * ref.bus_load:.3f} %")
    assert sent < ref_sent
    assert r.bus_load == pytest.approx(bus_load(r.bus_frames, r.simulated_s), rel=1e-12)
    assert FRAME_BITS == 8 * 8 + 47 + (34 + 8 * 8 - 1) // 4  # Davis et al. 2007, eq. 1, standard ID
    # the charge itself: the same target reached as with every-step reporting
    assert abs(r.trace["soc_mean"][-1] - ref.trace["soc_mean"][-1]) < 0.01


def test_schedule_adapts_long_at_rest_every_step_near_v_max(runs):
    r = runs["self"]
    tr = r.trace
    rest, near = [], []
    for node in ("CELL_V_A_0", "CELL_V_A_1", "CELL_V_A_2", "CELL_V_A_3"):
        t0, dt = _intervals(r, node)
        k = np.round(t0 / r.scenario.dt_s).astype(int)  # the step each interval starts at
        rest.extend(dt[np.abs(tr["current_a"][k]) < 0.05])
        near.extend(dt[tr["cell_v_max"][k] > V_MAX - NEAR_V_MAX])
    assert rest and near, "the scenario must both rest and come near V_max"
    med_rest, med_near = float(np.median(rest)), float(np.median(near))
    print(f"median report interval: at rest {med_rest:g} s ({len(rest)} intervals), "
          f"near V_max {med_near:g} s ({len(near)})")
    assert med_near == r.scenario.dt_s  # every step
    assert med_rest > 5 * med_near
    assert max(rest) <= MAX_INTERVAL_S


def test_periodic_reporting_sends_one_frame_per_node_per_period(runs):
    sc = load_scenario(SCENARIO)
    r = Bench(replace(sc, firmware={**sc.firmware, "reporting": "periodic:5"}), "inprocess").run()
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    # due at 0, 5, 10, ... (the period's grid), no local events: 1800 s / 5 s per node
    assert r.frames_by_node == {n: 360 for n in runs["every"].frames_by_node}
    for ts in r.report_times.values():
        assert np.all(np.diff(ts) == 5.0)


def test_udp_through_firmware_sim_gives_the_same_frames(runs):
    udp = Bench(load_scenario(SCENARIO), "udp", firmware=str(find_firmware())).run()
    ref = runs["self"]
    assert udp.frames_by_node == ref.frames_by_node
    assert udp.report_times == ref.report_times
    for key in ("command_a", "cell_v_max", "fw_mode", "fw_flags"):
        np.testing.assert_array_equal(udp.trace[key], ref.trace[key], err_msg=key)


def test_a_silenced_node_is_caught_as_silence_at_its_next_report(tmp_path, runs):
    # The temperature nodes go silent at rest (every CELL_T frame lost): the firmware hears nothing
    # at their next scheduled report and counts it as a missing measurement (fail closed).
    at = 1500.0
    text = SCENARIO.read_text().split("[criteria]")[0] + (
        f'[[faults]]\ntype = "frame_loss"\nat_s = {at}\nduration_s = 200\nframes = ["CELL_T"]\n')
    p = tmp_path / "silent_node.toml"
    p.write_text(text)
    r = Bench(load_scenario(p), "inprocess").run()
    ev = [e for e in r.events if e.get("event") == "CELL_TEMP_MISSING"]
    assert ev, "a silent node must be detected"
    delay = ev[0]["t_s"] - at
    # the nodes' last reports before the fault (of the same run without it: the same up to `at`)
    last = max(max(t for t in runs["self"].report_times[n] if t < at) for n in ("CELL_T_0", "CELL_T_1"))
    print(f"silent temperature nodes detected {delay:g} s after the fault (last report {at - last:g} s before it)")
    # at the latest one maximum interval after the last report (at the first cycle from then on);
    # and not before the fault
    assert 0 <= delay and ev[0]["t_s"] <= last + MAX_INTERVAL_S + r.scenario.dt_s
    # the firmware's freshness supervision: SAFE_STOP once the loss lasts past meas_loss_timeout_s (1 s)
    k = int(round(ev[0]["t_s"] / r.scenario.dt_s))
    assert r.trace["fw_mode"][k + 2] == 2


def test_reporting_option_is_validated(tmp_path):
    from safetwin.hil._firmware import InProcessFirmware
    with pytest.raises(ValueError, match=r"reporting = 'periodic:0': periodic:T needs a period T > 0"):
        InProcessFirmware(series=4, reporting="periodic:0")
    with pytest.raises(ValueError, match=r"reporting = 'sometimes': every-step, periodic:T"):
        InProcessFirmware(series=4, reporting="sometimes")
    p = tmp_path / "bad.toml"
    p.write_text(SCENARIO.read_text().replace('reporting = "self-triggered"', 'reporting = "self_triggered"'))
    with pytest.raises(ScenarioError, match=r"firmware.reporting.*'self_triggered'"):
        load_scenario(p)


def test_hil_run_json_prints_frames_by_node_and_bus_load(tmp_path, capsys):
    from safetwin.cli import main
    # 60 s of the charge: every criterion holds but the final SOC (exit 1, as a failed run does)
    assert main(["hil", "run", str(SCENARIO), "--lockstep", "--duration-s", "60", "--no-plot", "--json",
                 "-o", str(tmp_path)]) == 1
    [res] = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in res["criteria"] if not c["passed"]] == ["min_soc"]
    assert set(res["frames_by_node"]) == {"CELL_V_A_0", "CELL_V_A_1", "CELL_V_A_2", "CELL_V_A_3", "CELL_T_0",
                                          "CELL_T_1"}
    assert res["frames"] == sum(res["frames_by_node"].values())
    assert res["bus_load"] == pytest.approx(res["bus_frames"] * 135 / (500_000 * 60), rel=1e-12)
