"""Every attested node drives trust (issue 17 leftover): the firmware maps attestation node k to the
voltage channels of its own series groups (default: node k of N measures the contiguous block
[k * series / N, (k + 1) * series / N); --attest-node-groups overrides it), and each round's verdict,
with its reason, reaches that node's trust in the pack cycle. With two nodes on 12 groups, node 1
measures groups 7-12 (1-based). An attack on node 1 must fail node 1's rounds with the attack's
reason, distrust node 1 (SENSOR_DISTRUSTED raised first in group 7, the first of node 1's groups),
derate its groups, and leave node 0 trusted: the firmware's stop invariant fires when no voltage
node is trusted, so a pack that never reaches SAFE_STOP shows node 0, the only other voltage node,
kept its trust. Schedule as in test_hil_attestation_scenarios.py: faults at 300 s, node 1's rounds
start 0.25 s after node 0's, so 60 rounds of each node precede the fault."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("isotp")
pytest.importorskip("cantools")

from safetwin.hil.harness import Bench  # noqa: E402
from safetwin.hil.scenario import load_scenario, shipped_scenarios  # noqa: E402

SCENARIOS = {p.stem: p for p in shipped_scenarios() if p.stem.startswith("attest_node1_")}
FAULT_AT_S = 300.0
ROUNDS_BEFORE = 60
NODE1_FIRST_GROUP = 7  # 1-based: the default split of 12 groups over 2 nodes gives node 1 groups 7-12
SAFE_STOP, DERATED = 2, 1


@pytest.fixture(scope="module")
def results():
    return {name: Bench(load_scenario(path), "inprocess").run() for name, path in SCENARIOS.items()}


def _rounds(r, node):
    return [a for a in r.attestation if a["node"] == node and a["kind"] == "round"]


def _distrusted(r):
    return [e for e in r.events if e["source"] == "firmware" and e["event"] == "SENSOR_DISTRUSTED"]


def test_the_shipped_scenarios_are_the_two_node_1_attacks():
    assert sorted(SCENARIOS) == ["attest_node1_forged", "attest_node1_tampered"]


@pytest.mark.parametrize("name, reason", [
    ("attest_node1_tampered", "fail_pcr"),
    ("attest_node1_forged", "fail_signature"),
])
def test_an_attack_on_node_1_distrusts_node_1_only_and_derates_its_groups(results, name, reason):
    r = results[name]
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    # node 0 is honest throughout: every one of its rounds (at 0, 5, ..., 415 s, each passing 3 s
    # later) passes
    node0 = _rounds(r, 0)
    assert len(node0) == 420 // 5 and {a["reason"] for a in node0} == {"pass"}
    # node 1: 60 passing rounds, then every round fails with the attack's reason
    node1 = _rounds(r, 1)
    assert [a["reason"] for a in node1 if a["t_s"] < FAULT_AT_S] == ["pass"] * ROUNDS_BEFORE
    after = [a for a in node1 if a["t_s"] > FAULT_AT_S]
    assert after and {a["reason"] for a in after} == {reason}
    # node 1's trust falls below the threshold: one SENSOR_DISTRUSTED, in node 1's first group
    d = _distrusted(r)
    assert len(d) == 1 and FAULT_AT_S < d[0]["t_s"] <= FAULT_AT_S + 20.0
    assert d[0]["cell"] == NODE1_FIRST_GROUP
    # node 0 stays trusted: the pack never stops, it derates and keeps charging
    mode, cmd, t = r.trace["fw_mode"], r.trace["command_a"], r.trace["t_s"]
    assert not np.any(mode == SAFE_STOP)
    later = t > d[0]["t_s"] + 1.0
    assert np.all(mode[later] == DERATED)
    assert np.all(mode[t < FAULT_AT_S] == 0)
    assert np.all(cmd[later] < 0.0)  # still charging

