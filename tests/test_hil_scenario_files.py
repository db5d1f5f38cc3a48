"""Scenario files: a bad one is refused with the file, the key and the reason; the CLI's exit
status and its JUnit XML follow the criteria."""
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest.importorskip("cantools")

from safetwin.cli import main  # noqa: E402
from safetwin.hil.scenario import ScenarioError, load_scenario, shipped_scenarios  # noqa: E402

BASE = """
[scenario]
name = "t"
duration_s = 20
dt_s = 1.0

[pack]
series = 4

[initial]
soc = 0.5

[load]
mode = "charge"
current_a = -5.0
"""


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "bad.toml"
    p.write_text(text)
    return p


@pytest.mark.parametrize("extra, key, reason", [
    ("[criteria]\nmax_cell_voltag_v = 4.2\n", "criteria.max_cell_voltag_v", "unknown key (did you mean 'max_cell_voltage_v'?)"),
    ("[criteria]\nmax_cell_temp_k = 318\n", "criteria.max_cell_temp_k", "wrong unit 'k': this quantity is given as 'max_cell_temp_c'"),
    ("[ambient]\ntemp_k = 300\n", "ambient.temp_k", "wrong unit 'k'"),
    ("[[faults]]\ntype = \"internal_short\"\nat_s = 5\ncell = 1\nresistance_mohm = 100\n",
     "faults[0].resistance_mohm", "wrong unit 'mohm'"),
    ("[criteria]\nmin_soc = 1.5\n", "criteria.min_soc", "1.5 is impossible: must be in [0.0, 1.0]"),
    ("[firmware]\nplant_heartbeat_timeout_s = 0\n", "firmware.plant_heartbeat_timeout_s", "0 is impossible: must be in (0.0, 60.0]"),
    ("[[faults]]\ntype = \"internal_short\"\nat_s = 5\ncell = 4\nresistance_ohm = 1\n", "faults[0].cell",
     "4 is impossible: the pack has cells 0..3"),
    ("[[faults]]\ntype = \"frame_loss\"\nat_s = 50\n", "faults[0].at_s", "50.0 is impossible: the scenario ends at duration_s = 20.0"),
    ("[[faults]]\ntype = \"meteor\"\nat_s = 5\n", "faults[0].type", "'meteor' is not one of"),
    ("[[faults]]\ntype = \"frame_loss\"\nat_s = 5\nframes = [\"CELL_X\"]\n", "faults[0].frames", "'CELL_X' is not a plant frame"),
    ("[criteria]\nmax_cell_temp_c = \"45 degC\"\n", "criteria.max_cell_temp_c", "must be a number"),
    ("[[criteria.detect]]\nfault = \"SENSOR_STUCK\"\nwithin_s = 5\n", "criteria.detect[0]", "needs a [[faults]] entry"),
    ("[plant_model]\nx = 1\n", "plant_model", "unknown section (did you mean 'plant'?)"),
    ("[[faults]]\ntype = \"node_tampered\"\nat_s = 5\n", "faults[0].type", "impossible without attestation"),
    ("[attestation]\nevery_min = 1\n", "attestation.every_min", "wrong unit 'min'"),
    ("[firmware]\ntemp_derate_k = 0\n", "firmware.temp_derate_k", "0 is impossible"),
])
def test_bad_scenario_is_refused_with_file_key_and_reason(tmp_path, extra, key, reason):
    path = _write(tmp_path, BASE + extra)
    with pytest.raises(ScenarioError) as exc:
        load_scenario(path)
    msg = str(exc.value)
    assert msg.startswith(f"{path}: {key}: "), msg
    assert reason in msg
    assert isinstance(exc.value, ValueError)


def test_positive_charge_current_is_refused(tmp_path):
    path = _write(tmp_path, BASE.replace("current_a = -5.0", "current_a = 5.0"))
    with pytest.raises(ScenarioError, match=r"load.current_a: 5.0 is impossible for mode = 'charge'"):
        load_scenario(path)


def test_missing_required_key(tmp_path):
    path = _write(tmp_path, BASE.replace("dt_s = 1.0\n", ""))
    with pytest.raises(ScenarioError, match=r"scenario.dt_s: missing \(required\)"):
        load_scenario(path)


def test_every_shipped_scenario_loads():
    names = [load_scenario(p).name for p in shipped_scenarios()]
    assert len(names) == len(set(names)) >= 8


def test_cli_exit_status_and_junit(tmp_path, capsys):
    good = _write(tmp_path, BASE + "[criteria]\nmax_cell_voltage_v = 4.21\n")
    out = tmp_path / "out"
    assert main(["hil", "run", "--lockstep", "--no-plots", "-o", str(out), str(good)]) == 0
    suite = ET.parse(out / "bad.junit.xml").getroot()
    assert suite.get("tests") == "1" and suite.get("failures") == "0"
    csv_header = (out / "bad.csv").read_text().splitlines()[0].split(",")
    assert csv_header[:3] == ["t_s", "current_a", "command_a"] and "voltage_v_4" in csv_header
    # 20 s of charge at 5 A cannot lift the SOC to 0.9: the criterion fails, the exit status is 1
    failing = tmp_path / "fail.toml"
    failing.write_text(BASE + "[criteria]\nmin_soc = 0.9\n")
    assert main(["hil", "run", "--lockstep", "--no-plots", "-o", str(out), str(failing)]) == 1
    suite = ET.parse(out / "fail.junit.xml").getroot()
    assert suite.get("failures") == "1"
    assert "final mean SOC" in suite.find("testcase/failure").get("message")
    bad = _write(tmp_path, BASE + "[criteria]\nmin_soc = 2\n")
    assert main(["hil", "run", "--lockstep", str(bad)]) == 2
    assert "criteria.min_soc: 2 is impossible" in capsys.readouterr().err


def test_cli_events_csv_names_the_cell(tmp_path):
    """A pack resting at 42 degC, past the derate tier (T_max - 3.5 K = 41.5 degC): the events CSV
    has the firmware's SAFETY_DERATE with the cell it names (1-based), and the harness's own event
    (a cooling failure at 5 s) with an empty cell."""
    sc = BASE.replace("[initial]\nsoc = 0.5\n", "[initial]\nsoc = 0.5\ntemp_c = 42.0\n") + \
        "[ambient]\ntemp_c = 42.0\n[[faults]]\ntype = \"cooling_failure\"\nat_s = 5\n"
    path = tmp_path / "hot.toml"
    path.write_text(sc)
    out = tmp_path / "out"
    assert main(["hil", "run", "--lockstep", "--no-plots", "-o", str(out), str(path)]) == 0
    rows = [line.split(",") for line in (out / "hot.events.csv").read_text().splitlines()]
    assert rows[0] == ["t_s", "source", "event", "cell"]
    assert ["5", "harness", "inject cooling_failure", ""] in rows
    derate = [r for r in rows if r[2] == "SAFETY_DERATE"]
    assert derate and derate[0][1] == "firmware" and 1 <= int(derate[0][3]) <= 4
