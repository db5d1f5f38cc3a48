"""Attestation on the running bench (issue 17, item 1 wired): the firmware challenges its nodes with
ATTEST_NONCE_n, the harness's nodes answer with TPM quotes segmented by can-isotp, the firmware
verifies them between cycles and reports ATTEST_RESULT. Each attack of hil/scenarios/attest_*.toml
is detected with its own reason; the counts are hand-computed from the schedule: node 0's rounds
start at t = 0, 5, 10, ... s (node n's 0.25 n s later), every fault starts at 300 s, so exactly 60
rounds (t = 0 ... 295 s) precede it and must all pass. Nominal: 2 h of lockstep with four nodes
gives 1440 rounds per node, every one passing, and no distrust. The UDP run with the firmware_sim
process (its --attest-node enrolment) reproduces the in-process run. Nodes other than 0:
test_attest_node_trust.py."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("isotp")
pytest.importorskip("cantools")

from safetwin.hil import _codec  # noqa: E402
from safetwin.hil.firmware import find_firmware  # noqa: E402
from safetwin.hil.harness import Bench  # noqa: E402
from safetwin.hil.link import ATTEST_NONCE_0, AnswerDecoder, database  # noqa: E402
from safetwin.hil.scenario import load_scenario, shipped_scenarios  # noqa: E402

SCENARIOS = {p.stem: p for p in shipped_scenarios() if p.stem.startswith("attest_")}
FAULT_AT_S = 300.0
ROUNDS_BEFORE = 60  # rounds at 0, 5, ..., 295 s


@pytest.fixture(scope="module")
def results():
    return {name: Bench(load_scenario(path), "inprocess").run() for name, path in SCENARIOS.items()}


def _rounds(r, node):
    return [a for a in r.attestation if a["node"] == node and a["kind"] == "round"]


def _answers(r, node):
    return [a for a in r.attestation if a["node"] == node and a["kind"] == "answer"]


def _distrusted(r):
    return [e for e in r.events if e["source"] == "firmware" and e["event"] == "SENSOR_DISTRUSTED"]


@pytest.mark.parametrize("name, reason, check", [
    ("attest_node_tampered", "fail_pcr", "pcr_digest"),
    ("attest_quote_forged", "fail_signature", "signature"),
    ("attest_quote_replay", "fail_replay", "nonce_unknown"),
])
def test_an_attack_on_the_cell_monitor_fails_its_rounds_with_its_reason_and_stops_the_pack(results, name, reason,
                                                                                          check):
    r = results[name]
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    rounds = _rounds(r, 0)
    before = [a for a in rounds if a["t_s"] < FAULT_AT_S]
    after = [a for a in rounds if a["t_s"] > FAULT_AT_S]
    assert [a["reason"] for a in before] == ["pass"] * ROUNDS_BEFORE
    # every round after the fault fails, with the attack's reason and check, none otherwise
    assert after and {a["reason"] for a in after} == {reason}
    assert {a["check"] for a in _answers(r, 0) if a["t_s"] > FAULT_AT_S} == {check}
    # the round started at 300 s: its answer is verified 2 cycles later (nonce out, first frame,
    # consecutive frames); a failed answer leaves the round open until its lifetime (4.5 s,
    # attest_nodes.timing) has passed, which the 1 s cycles see at 305 s
    assert [a for a in _answers(r, 0) if a["t_s"] > FAULT_AT_S][0]["t_s"] == pytest.approx(FAULT_AT_S + 2.0)
    assert after[0]["t_s"] == pytest.approx(FAULT_AT_S + 5.0)
    # the cell monitor's trust falls: distrust, and with no other voltage node, SAFE_STOP
    d = _distrusted(r)
    assert d and FAULT_AT_S < d[0]["t_s"] <= FAULT_AT_S + 20.0
    stop = r.trace["t_s"] > d[0]["t_s"] + 1.0
    assert np.all(r.trace["command_a"][stop] == 0.0)


def test_a_third_node_burning_nonces_is_seen_but_costs_the_honest_node_nothing(results):
    r = results["attest_nonce_burn"]
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    rounds = _rounds(r, 0)
    # one round per 5 s over 420 s; the last one (415 s) still open at the end
    assert len(rounds) == 420 // 5 - 1
    assert {a["reason"] for a in rounds} == {"pass"}
    burned = [a for a in _answers(r, 0) if a["reason"] != "pass"]
    # the third node answers every nonce from 300 s first: rounds at 300, 305, ..., 415 s
    assert len(burned) == (420 - 300) // 5
    assert {(a["reason"], a["check"]) for a in burned} == {("fail_signature", "signature")}
    assert _distrusted(r) == []
    assert np.nanmin(r.trace["command_a"]) < -5.0  # the charge went on


def test_a_silent_node_times_out_and_the_cell_monitor_keeps_passing(results):
    r = results["attest_node_silent"]
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    node1 = _rounds(r, 1)
    assert [a["reason"] for a in node1 if a["t_s"] < FAULT_AT_S] == ["pass"] * ROUNDS_BEFORE
    after = [a for a in node1 if a["t_s"] > FAULT_AT_S]
    assert after and {(a["reason"], a["check"]) for a in after} == {("timeout", "ok")}
    # node 1's rounds start at 300.25 s ...; the firmware's 1 s cycles see it start at 301 s and end
    # it when the round's lifetime (4.5 s, attest_nodes.timing) has passed: at 306 s
    assert after[0]["t_s"] == pytest.approx(306.0)
    assert {a["reason"] for a in _rounds(r, 0)} == {"pass"}
    # node 1 drives the trust of its own groups 7-12 (the default split of 12 over 2 nodes): silence
    # weighs less than a forged quote, but the timeouts at 306, 311, 316 and 321 s distrust it at
    # 322 s; only its groups derate (SENSOR_DISTRUSTED in group 7), node 0 stays trusted: no stop
    d = _distrusted(r)
    assert [(e["t_s"], e["cell"]) for e in d] == [(322.0, 7)]
    assert not np.any(r.trace["fw_mode"] == 2)


def test_two_hours_of_nominal_lockstep_with_a_round_every_5_s_never_distrust(results):
    r = results["attest_nominal_2h"]
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    for node in range(4):  # every node drives the trust of its own 3 groups
        rounds = _rounds(r, node)
        # rounds at 0, 5, ..., 7195 s: 1440, the last one ending after the run for nodes 1-3
        assert len(rounds) in (1439, 1440)
        assert {a["reason"] for a in rounds} == {"pass"}
    assert len(_rounds(r, 0)) == 1440
    assert [e for e in r.events if e["source"] in ("firmware", "attestation")] == []
    assert np.all(r.trace["fw_mode"] == 0)


def test_udp_with_the_firmware_process_reproduces_the_in_process_attestation(results):
    name = "attest_nonce_burn"
    udp = Bench(load_scenario(SCENARIOS[name]), "udp", firmware=str(find_firmware())).run()
    ref = results[name]
    assert udp.attestation == ref.attestation
    for key in ("command_a", "fw_mode", "fw_flags", "current_a"):
        np.testing.assert_array_equal(udp.trace[key], ref.trace[key], err_msg=key)


def test_the_answer_decoder_rebuilds_the_nonce_cantools_encodes():
    """ATTEST_NONCE_3's six fragments encoded by cantools from the DBC (E2E CRC and counter as the
    firmware writes them) decode to the same 32 bytes; five fragments are no nonce."""
    db = database()
    msg = db.get_message_by_frame_id(ATTEST_NONCE_0 + 3)
    nonce = bytes(range(7, 39))
    frames = []
    for g in range(6):
        values = {"E2E_CRC": 0, "E2E_COUNTER": 0, "NONCE_FRAG": g}
        values[f"NONCE_BYTES_{g}"] = int.from_bytes(nonce[6 * g:6 * g + 6], "little")
        data = bytearray(msg.encode(values, strict=True))
        _codec.e2e_protect(msg.frame_id, data)
        frames.append(_codec.wire_frame(msg.frame_id, bytes(data)))
    ans = AnswerDecoder().decode(_codec.wire_pack(b"".join(frames)))
    assert ans.nonces == {3: nonce} and ans.invalid_frames == 0
    ans = AnswerDecoder().decode(_codec.wire_pack(b"".join(frames[:5])))
    assert ans.nonces == {}


_BASE = """
[scenario]
name = "t"
duration_s = 20
dt_s = 1.0

[pack]
series = 4
"""


@pytest.mark.parametrize("extra, key, reason", [
    ('[attestation]\nevery_s = 5\n\n[[faults]]\ntype = "node_silent"\nnode = 1\nat_s = 5\n', "faults[0].node",
     "1 is impossible: [attestation] nodes = 1 enrols nodes 0..0"),
    ('[[faults]]\ntype = "quote_forged"\nat_s = 5\n', "faults[0].type", "impossible without attestation"),
    ('[attestation]\nevery_s = 5\nnodes = 9\n', "attestation.nodes", "9 is impossible"),
    ('[attestation]\nevery_s = 5\n\n[[faults]]\ntype = "nonce_burn"\nat_s = 5\n\n[[criteria.attest]]\n'
     'reason = "forged"\nwithin_s = 5\n', "criteria.attest[0].reason", "'forged' is not one of"),
    ('[attestation]\nevery_s = 5\n\n[[faults]]\ntype = "nonce_burn"\nat_s = 5\n\n[[criteria.attest]]\n'
     'reason = "timeout"\n', "criteria.attest[0].within_s", "missing (required)"),
])
def test_a_bad_attestation_scenario_is_refused_naming_the_key(tmp_path, extra, key, reason):
    from safetwin.hil.scenario import ScenarioError
    p = tmp_path / "bad.toml"
    p.write_text(_BASE + extra)
    with pytest.raises(ScenarioError) as e:
        load_scenario(p)
    assert e.value.key == key and reason in e.value.reason, str(e.value)
