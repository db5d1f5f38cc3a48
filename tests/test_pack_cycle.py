"""The pack cycle from Python: one guarded cycle per series group, the most conservative command."""
import numpy as np
import pytest

from safetwin import battery, control
from safetwin._core import PackCycle, PackCycleConfig


class Constant(control.Controller):
    def __init__(self, current_a):
        super().__init__()
        self.current_a = current_a

    def compute(self, inp):
        return self.current_a


def make(requests, trust=False):
    cfg = PackCycleConfig(len(requests), 2)
    t = cfg.trust
    t.enabled = trust
    cfg.trust = t
    laws = [Constant(i) for i in requests]
    return PackCycle(cfg, laws), laws


def test_the_pack_takes_the_group_command_closest_to_zero():
    pc, _ = make([-6.0, -2.0, -4.0])
    v = np.full(3, battery.OcvTable.lgm50_chen2020().voltage_v(0.5))
    for k in range(5):  # a cell at rest, read at 50 % SOC: the estimates settle
        st = pc.step(float(k), 0.0, v, np.full(3, 298.15), 1.0, voltage_b_v=v)
    cmds = [pc.group_status(g).command_a for g in range(3)]
    assert cmds[1] == pytest.approx(-2.0)  # a safe request passes the filter unchanged
    assert min(cmds) < -2.0  # the larger requests were cut or passed, but are more negative
    assert st.command_a == pytest.approx(2 * max(cmds))  # parallel = 2
    assert st.limiting_group == 1


def test_bad_arrays_and_verdicts_are_refused():
    pc, _ = make([-1.0, -1.0])
    with pytest.raises(ValueError, match="voltage_a_v must be a 1-D array of 2"):
        pc.step(0.0, 0.0, np.ones(3), np.full(2, 298.0), 1.0)
    with pytest.raises(ValueError, match="no trust"):
        pc.step(0.0, 0.0, np.full(2, 3.7), np.full(2, 298.0), 1.0, attestation=np.array([1, 1], dtype=np.uint8))
    pt, _ = make([-1.0, -1.0], trust=True)
    with pytest.raises(ValueError, match="attestation\\[1\\] = 8"):
        pt.step(0.0, 0.0, np.full(2, 3.7), np.full(2, 298.0), 1.0, attestation=np.array([1, 8], dtype=np.uint8))
    with pytest.raises(ValueError, match="PackCycle.controllers"):
        PackCycle(PackCycleConfig(3, 1), [Constant(-1.0)])
