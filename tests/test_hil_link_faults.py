"""Frame corruption and delay on the link (the scenario fault types no shipped scenario uses):
the firmware flags each, holds the command at 0 on the cycles it lacks a valid picture, and the
true plant stays inside its limits."""
import numpy as np
import pytest

pytest.importorskip("cantools")

from safetwin.hil.harness import Bench  # noqa: E402
from safetwin.hil.scenario import load_scenario  # noqa: E402

BASE = """
[scenario]
name = "link faults"
duration_s = 300
dt_s = 1.0
seed = 11

[pack]
series = 12

[initial]
soc = 0.3

[load]
mode = "charge"
current_a = -15.0

[firmware]
plant_heartbeat_timeout_s = 5.0
meas_loss_timeout_s = 5.0

[sensors.cell_voltage]
noise_v = 0.001

{fault}

[criteria]
max_cell_voltage_v = 4.21
max_cell_temp_c = 45
"""


def _run(tmp_path, fault):
    p = tmp_path / "s.toml"
    p.write_text(BASE.format(fault=fault))
    return Bench(load_scenario(p), "inprocess").run()


def test_corrupted_frames_are_rejected_and_flagged(tmp_path):
    r = _run(tmp_path, '[[faults]]\ntype = "frame_corrupt"\nat_s = 100\nduration_s = 20\nframes = ["CELL_V_A"]\nprobability = 0.1\n')
    assert r.passed
    tr = r.trace
    t = tr["t_s"]
    e2e_bit = 1 << (10 - 1)
    flagged = (np.nan_to_num(tr["fw_flags"]).astype(int) & e2e_bit) != 0
    assert flagged[(t >= 100) & (t < 120)].sum() >= 4
    # after the burst, at most the first frames show the counter jump (wrong sequence) once
    assert not flagged[(t < 100) | (t >= 122)].any()
    # a cycle with a rejected cell frame has no command (fail closed); the charge resumes after
    assert np.all(tr["command_a"][flagged] == 0.0)
    assert tr["command_a"][150] < -1.0
    assert np.all(tr["contactor_closed"] == 1.0)


def test_sustained_corruption_ends_in_safe_stop(tmp_path):
    """30 % of the cell-voltage frames corrupted: most cycles lack a valid picture, and beyond the
    5 s measurement-loss timeout the firmware latches SAFE_STOP and the contactor opens."""
    r = _run(tmp_path, '[[faults]]\ntype = "frame_corrupt"\nat_s = 100\nduration_s = 60\nframes = ["CELL_V_A"]\nprobability = 0.3\n')
    assert r.passed
    tr = r.trace
    opened = np.flatnonzero(tr["contactor_closed"] == 0.0)
    assert opened.size and 105 <= tr["t_s"][opened[0]] < 160
    assert np.all(tr["current_a"][opened[0]:] == 0.0)
    assert np.all(tr["fw_mode"][opened[0]:] == 2)


def test_delayed_frames_show_as_missing_then_as_wrong_sequence(tmp_path):
    r = _run(tmp_path, '[[faults]]\ntype = "frame_delay"\nat_s = 100\nduration_s = 10\nframes = ["CELL_T"]\ndelay_cycles = 3\n')
    assert r.passed
    events = [(e["t_s"], e["event"]) for e in r.events if e["source"] == "firmware"]
    # the first 3 cycles of the delay have no temperature frame: missing
    assert (100.0, "CELL_TEMP_MISSING") in events
    tr = r.trace
    assert np.all(tr["command_a"][100:103] == 0.0)
    assert tr["command_a"][150] < -1.0
