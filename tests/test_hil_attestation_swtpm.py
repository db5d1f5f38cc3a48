"""The HIL harness's sensor nodes as real TPMs (issue 17: swtpm quotes on the bench). Scenario
attest_swtpm_node1_tampered: two nodes, each its own swtpm (Debian) started by the harness, quoting
through tpm2-pytss with an RSA-2048 RSAPSS AK that is a child of its EK, enrolled by credential
activation (safetwin's TPM2_MakeCredential, the TPM's TPM2_ActivateCredential) before the firmware
is given the AK with the EK's Qualified Name as its parent. The firmware verifies the TPM's own
quotes over ISO-TP. Expected, hand-computed from the schedule as in test_attest_node_trust.py:
node 0's rounds at 0, 5, ..., 415 s all pass (84); node 1's 60 rounds before the fault at 300 s
pass, every later one fails fail_pcr (its TPM's PCR 7 was extended with a new image), one
SENSOR_DISTRUSTED in group 7 (node 1's first group), no SAFE_STOP."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("isotp")
pytest.importorskip("tpm2_pytss")

from safetwin.hil.attest_nodes import AttestationNodes  # noqa: E402
from safetwin.hil.harness import Bench  # noqa: E402
from safetwin.hil.scenario import ScenarioError, load_scenario, shipped_scenarios  # noqa: E402
from safetwin.trust import tpm_wire as wire  # noqa: E402

# The source tree's file (an editable install's packaged copy of hil/scenarios may predate it).
SCENARIO = {p.stem: p for p in shipped_scenarios()}.get(
    "attest_swtpm_node1_tampered", Path(__file__).parents[1] / "hil" / "scenarios" / "attest_swtpm_node1_tampered.toml")
FAULT_AT_S = 300.0
SAFE_STOP = 2


@pytest.fixture(scope="module")
def result():
    assert shutil.which("swtpm"), "swtpm missing: run_tests.sh installs it (DEBS)"
    return Bench(load_scenario(SCENARIO), "inprocess").run()


def test_the_nodes_are_swtpm_tpms_with_ek_child_rsapss_aks():
    sc = load_scenario(SCENARIO)
    nodes = AttestationNodes(sc, sc.dt_s)
    try:
        specs = nodes.firmware_options(sc.attestation["every_s"])["attest_node"]
        assert len(specs) == 2
        for nd, spec in zip(nodes.nodes, specs):
            ak, _mask, _golden, fw_version, parent = spec.split(":")
            pub = wire.parse_public(bytes.fromhex(ak))
            assert (pub.type, pub.scheme, pub.key_bits) == (wire.TPM_ALG_RSA, wire.TPM_ALG_RSAPSS, 2048)
            assert fw_version == ""  # the TPM's own firmwareVersion is not pinned
            assert bytes.fromhex(parent) == wire.qualified_name(nd.tpm.tpm.ek_public, wire.TPM_RH_ENDORSEMENT)
            q = nd.tpm.quote(bytes(32))  # the TPM's quote: signed RSAPSS, under the EK child
            assert wire.parse_signature(q.signature).sig_alg == wire.TPM_ALG_RSAPSS
            assert wire.parse_attest(q.attest).qualified_signer == wire.child_qualified_name(
                bytes.fromhex(ak), bytes.fromhex(parent))
        procs = [nd.tpm.swtpm._proc for nd in nodes.nodes]
        assert all(p.poll() is None for p in procs)
    finally:
        nodes.close()
    assert all(p.poll() is not None for p in procs)  # close() stopped both swtpm processes


def test_swtpm_quotes_pass_and_a_tampered_tpm_fails_pcr_in_its_groups_only(result):
    r = result
    assert [c["message"] for c in r.criteria if not c["passed"]] == []
    rounds = {k: [a for a in r.attestation if a["node"] == k and a["kind"] == "round"] for k in (0, 1)}
    assert len(rounds[0]) == 420 // 5 and {a["reason"] for a in rounds[0]} == {"pass"}
    assert [a["reason"] for a in rounds[1] if a["t_s"] < FAULT_AT_S] == ["pass"] * 60
    after = [a for a in rounds[1] if a["t_s"] > FAULT_AT_S]
    assert after and {(a["reason"], a["check"]) for a in after} == {("fail_pcr", "pcr_digest")}
    d = [e for e in r.events if e["source"] == "firmware" and e["event"] == "SENSOR_DISTRUSTED"]
    assert len(d) == 1 and FAULT_AT_S < d[0]["t_s"] <= FAULT_AT_S + 20.0 and d[0]["cell"] == 7
    assert not np.any(r.trace["fw_mode"] == SAFE_STOP)


def test_an_unknown_tpm_backend_or_ak_is_refused_naming_the_field(tmp_path):
    text = SCENARIO.read_text()
    for old, new, field in (('tpm = "swtpm"', 'tpm = "tpm2"', "attestation.tpm"),
                            ('ak = "rsapss"', 'ak = "rsa"', "attestation.ak")):
        bad = tmp_path / f"bad_{field}.toml"
        bad.write_text(text.replace(old, new))
        with pytest.raises(ScenarioError, match=field.replace(".", r"\.")):
            load_scenario(bad)
