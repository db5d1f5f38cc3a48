"""The link_loss fault class: every measurement frame lost (both voltage nodes and the
temperature of every group) from the onset for a duration. The loop must fail closed: a blind
cycle stops commanding current before the link is back, and no limit is passed."""
import numpy as np
import pytest

from safetwin.campaign import simulate as sim

ONSET_S, SEVERITY = 60.0, 0.8  # frames lost for 10**(3 * 0.8) = 251 s


@pytest.mark.parametrize("engine", ["python", "core"])
@pytest.mark.parametrize("topology, law", [("cell", "cccv"), ("cell", "const_3c"), ("2s2p", "const_3c")])
def test_a_blind_loop_fails_closed(engine, topology, law):
    if engine == "core":
        from safetwin import loop
        assert "link_loss" in loop.FAULT_KINDS  # the runner of this build has the fault class
    rec = sim.simulate({"topology": topology, "law": law, "fault": "link_loss", "soc0": 0.5, "onset_s": ONSET_S,
                        "severity": SEVERITY}, np.random.default_rng(1), 600.0, 1.0, engine=engine)
    loss_end_s = ONSET_S + 10 ** (3 * SEVERITY)
    assert rec["engine"] == engine
    assert rec["safe_stop"] and ONSET_S <= rec["safe_stop_s"] < loss_end_s
    assert rec["final_mode"] == "SAFE_STOP"  # latched: the link coming back does not resume charging
    assert ONSET_S <= rec["detect_s"] <= rec["safe_stop_s"]
    assert not rec["violated"] and rec["nonfinite_commands"] == 0


def test_the_fault_size_is_the_loss_duration():
    assert sim._fault_size("link_loss", 0.0) == 1.0
    assert sim._fault_size("link_loss", 1.0) == pytest.approx(1000.0)
