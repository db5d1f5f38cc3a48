"""Every shipped scenario in lockstep (firmware in-process), and the nominal, frame-loss and
firmware-crash scenarios with the real firmware_sim process over UDP: each asserts its own
criteria, and the UDP runs reproduce the in-process traces bit for bit (lockstep is deterministic)."""
import numpy as np
import pytest

pytest.importorskip("cantools")

from safetwin.hil.firmware import find_firmware  # noqa: E402
from safetwin.hil.harness import Bench  # noqa: E402
from safetwin.hil.scenario import load_scenario, shipped_scenarios  # noqa: E402

SCENARIOS = {p.stem: p for p in shipped_scenarios()}
REQUIRED = {"nominal_fast_charge", "drive_cycle_discharge", "cooling_failure_charge", "voltage_sensor_stuck",
            "frame_loss_burst", "plant_heartbeat_loss", "firmware_crash", "internal_short", "sensor_node_tampered",
            "stealthy_injection"}


def _failed(result):
    return [c["message"] for c in result.criteria if not c["passed"]]


def test_the_issue_s_scenarios_are_shipped():
    assert REQUIRED <= set(SCENARIOS)


@pytest.fixture(scope="module")
def inprocess_results():
    return {name: Bench(load_scenario(path), "inprocess").run() for name, path in SCENARIOS.items()}


# goals not met, as strict xfails: none today (diag_cooling_loss was withdrawn: its detector raised no
# DIAG_COOLING_LOSS within 600 s of the loss; see the closing note of session 5)
NOT_MET: dict = {}


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=NOT_MET[n]))
                                  if n in NOT_MET else n for n in sorted(SCENARIOS)])
def test_scenario_passes_its_criteria_in_lockstep(inprocess_results, name):
    result = inprocess_results[name]
    assert result.criteria, "a scenario without criteria proves nothing"
    assert _failed(result) == []
    assert len(result.trace["t_s"]) == result.scenario.steps


def test_nominal_mpc_charge_tapers_to_its_target_and_raises_nothing(inprocess_results):
    r = inprocess_results["nominal_fast_charge"]
    tr = r.trace
    # MPC-FC: the 3C limit at first, then held back by the thermal and voltage limits, tapering to
    # nothing as the SOC reaches its 0.8 target; the plant's true SOC ends there (within 1 %).
    assert tr["command_a"][:60].min() == pytest.approx(-15.0)
    assert np.all(tr["command_a"] >= -15.0) and np.all(tr["command_a"] <= 0.0)
    means = tr["command_a"][: tr["command_a"].size // 200 * 200].reshape(-1, 200).mean(axis=1)
    assert means[-1] > means[len(means) // 2] > means[1]
    assert abs(tr["command_a"][-1]) < 0.5
    assert abs(tr["soc_mean"][-1] - 0.8) < 0.01
    assert np.nanmax(tr["cell_v_max"]) <= 4.2
    assert not [e for e in r.events if e["source"] == "firmware"]


def test_firmware_soc_estimate_tracks_the_plant(inprocess_results):
    """The firmware's EKF (FW_STATUS.EST_SOC, 0.5 % resolution) against the plant's true mean SOC."""
    for name in ("nominal_fast_charge", "drive_cycle_discharge"):
        tr = inprocess_results[name].trace
        err = np.abs(tr["fw_est_soc"] - tr["soc_mean"])[10:]
        assert np.nanmax(err) < 0.03, name
        assert np.nanmean(err) < 0.01, name


def test_detections_happen_after_the_fault_not_before(inprocess_results):
    for name in ("voltage_sensor_stuck", "internal_short", "plant_heartbeat_loss", "sensor_node_tampered",
                 "stealthy_injection"):
        r = inprocess_results[name]
        t_fault = r.fault_times[0][1]
        before = r.trace["t_s"] < t_fault
        assert np.all(np.nan_to_num(r.trace["fw_flags"][before]) == 0), name


def test_firmware_crash_plant_holds_then_opens(inprocess_results):
    r = inprocess_results["firmware_crash"]
    tr = r.trace
    t = tr["t_s"]
    # the last command holds until the plant's watchdog (0.3 s) trips, then no current at all
    after = t >= 60.0
    assert np.all(tr["answered"][after] == 0)
    opened = t[np.flatnonzero(tr["contactor_closed"] == 0)[0]]
    assert 60.3 <= opened <= 60.5
    assert np.all(tr["current_a"][t > opened] == 0.0)


@pytest.fixture(scope="module")
def firmware_exe():
    return find_firmware()


@pytest.mark.parametrize("name", ["nominal_fast_charge", "frame_loss_burst", "firmware_crash"])
def test_udp_with_the_firmware_process_reproduces_lockstep(inprocess_results, firmware_exe, name):
    result = Bench(load_scenario(SCENARIOS[name]), "udp", firmware=str(firmware_exe)).run()
    assert _failed(result) == []
    ref = inprocess_results[name].trace
    for key, values in result.trace.items():
        if key == "fw_cycle_time_s":
            continue
        np.testing.assert_array_equal(values, ref[key], err_msg=key)
    if name != "firmware_crash":
        rep = result.firmware_report
        assert rep["cycles"] == result.scenario.steps and rep["bad_datagrams"] == 0


def test_realtime_smoke_with_the_firmware_process(firmware_exe):
    """2 s of the nominal charge at 100 Hz on the wall clock: the firmware answers and commands the
    charge, the true cells stay in their limits (no timing assertion: the machine is shared)."""
    sc = load_scenario(SCENARIOS["nominal_fast_charge"])
    sc.firmware["plant_heartbeat_timeout_s"] = 1.0
    result = Bench(sc, "realtime", firmware=str(firmware_exe), rate_hz=100.0, duration_s=2.0).run()
    tr = result.trace
    assert len(tr["t_s"]) == 200
    assert -15.0 <= np.nanmin(tr["command_a"]) < -5.0
    assert np.nanmax(tr["cell_v_max"]) < 4.2
    rep = result.firmware_report
    assert rep["mode"] == "realtime" and rep["cycles"] > 0 and rep["jitter"]["count"] == rep["cycles"]


def test_cooling_failure_is_caught_by_the_guarded_cycle_before_the_cell_limit(inprocess_results):
    """The CC-CV law knows nothing of temperature: the cells' CBF filters hold the operating limit
    (40 degC) on the twin's model, with margins that grow with its learned temperature error after
    the cooling is lost; if a cell still passes the derate tier (41.5 degC) the supervisor halves
    the current. No true cell reaches 45 degC."""
    r = inprocess_results["cooling_failure_charge"]
    tr = r.trace
    fw = [e for e in r.events if e["source"] == "firmware"]
    derate = [e for e in fw if e["event"] == "SAFETY_DERATE"]
    if not derate:  # held under the derate tier by the filter alone
        assert np.nanmax(tr["cell_t_max_c"]) < 41.5
        return
    assert derate[0]["t_s"] > 120.0 and 1 <= derate[0]["cell"] <= 12
    after = tr["t_s"] > derate[0]["t_s"] + 2.0
    assert np.nanmin(tr["command_a"][after]) >= -15.0 * 0.5 - 0.01  # DERATED: derate_factor 0.5
    assert np.nanmax(tr["cell_t_max_c"]) < 45.0


def test_a_tampered_node_loses_trust_and_stops_the_pack(inprocess_results):
    """Two failed attestation rounds (5 s apart) take the cell monitor below the distrust threshold:
    with no trusted voltage node left the pack cycle goes to SAFE_STOP. The healthy node of the
    nominal charge keeps its trust over 2400 s of 3C charging (no event at all there)."""
    r = inprocess_results["sensor_node_tampered"]
    fw = [e for e in r.events if e["source"] == "firmware"]
    names = [e["event"] for e in fw]
    assert names[:2] == ["SENSOR_DISTRUSTED", "SAFETY_STOP"]
    assert 300.0 < fw[0]["t_s"] <= 310.0
    stop = r.trace["t_s"] >= fw[1]["t_s"]
    assert np.all(r.trace["command_a"][stop] == 0.0)
    assert np.all(r.trace["fw_mode"][stop] == 2)


def test_the_stealthy_injection_fakes_a_reading_the_trust_layer_then_refuses(inprocess_results):
    """The attack library's injection moves the faked cell's reading away from the truth (by the
    OCV difference of its SOC offset, ramped); the node's failing attestation takes its trust below
    the threshold within two rounds, and the pack stops before the fake can matter."""
    from safetwin import battery
    from safetwin.trust.attacks import OnlineStealthyInjection, StealthyInjection
    r = inprocess_results["stealthy_injection"]
    fw = [e for e in r.events if e["source"] == "firmware"]
    assert [e["event"] for e in fw[:2]] == ["SENSOR_DISTRUSTED", "SAFETY_STOP"]
    assert 300.0 < fw[0]["t_s"] <= 310.0
    # the injector on its own, against the OCV table: after the full ramp the offset is
    # OCV(soc - 0.2) - OCV(soc) at the attacker's copy's SOC
    atk = StealthyInjection(node="cell_monitor", start_s=0.0, soc_offset=-0.2, ramp_s=10.0)
    state = battery.CellState(soc=0.6)
    inj = OnlineStealthyInjection(atk, state)
    offsets = [inj.offset_v(float(k), 0.0, 1.0) for k in range(12)]
    ocv = battery.CellParams.ref_cell_1().ocv
    assert offsets[0] == 0.0
    assert offsets[11] == pytest.approx(ocv.voltage_v(0.4) - ocv.voltage_v(0.6), abs=1e-12)
