"""--cell FILE on the HIL bench: the firmware reads the cell file with its own C++ reader
(firmware_sim --cell, and the in-process firmware with the same code), the plant with Python's.
On an LFP pack (the shipped 2RC fit of PyBaMM's Prada2013 A123 26650, 2.0..3.6 V, 10 A charge) the
firmware's MPC charges within that cell's limits, not REF-CELL-1's 4.2 V and 15 A; a structure the
firmware's estimator or MPC does not take, and a bad file, are refused in one line before anything
runs."""
from __future__ import annotations

import csv
import subprocess
from pathlib import Path

import numpy as np
import pytest

from safetwin.cellfile import load_cell, shipped_cell_path
from safetwin.cli import main
from safetwin.hil._firmware import InProcessFirmware
from safetwin.hil.firmware import find_firmware

LFP_2RC = str(shipped_cell_path("lfp_prada2013_2rc"))
LFP_HYST = str(shipped_cell_path("lfp_a123_26650"))

SCENARIO = """
[scenario]
name = "lfp fast charge"
description = "MPC fast charge of a 4s1p LFP pack from 10 % SOC (cell file)"
duration_s = 1500
dt_s = 1.0
seed = 3
[pack]
series = 4
parallel = 1
spread_capacity_rel = 0.03
spread_r0_rel = 0.10
spread_seed = 2
[initial]
soc = 0.10
temp_c = 25
[ambient]
temp_c = 25
[load]
mode = "charge"
current_a = -15.0      # the charger offers 15 A: more than the LFP cell's 10 A
[firmware]
controller = "mpc"
soc_target = 0.8
plant_heartbeat_timeout_s = 3.0
[sensors.cell_voltage]
noise_v = 0.001
[sensors.cell_temp]
noise_c = 0.2
[sensors.pack_current]
noise_a = 0.02
bias_a = 0.05
[criteria]
max_cell_voltage_v = 3.61
max_cell_temp_c = 55
min_soc = 0.7
max_charge_current_a = 10.05
no_faults = true
"""


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def lfp_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("hil_cell")
    sc = d / "lfp_fast_charge.toml"
    sc.write_text(SCENARIO)
    rc = main(["hil", "run", "--lockstep", "--no-plot", "--cell", LFP_2RC, str(sc), "-o", str(d / "out")])
    with open(d / "out" / "lfp_fast_charge.csv") as f:
        rows = list(csv.DictReader(f))
    return rc, {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def test_the_firmware_charges_the_lfp_pack_within_the_files_limits(lfp_run, capsys):
    rc, tr = lfp_run
    assert rc == 0  # every criterion of the scenario holds: V <= 3.61, I <= 10.05 A, SOC >= 0.7, no fault
    cell = load_cell(LFP_2RC)
    assert cell.limits.voltage_max_v == 3.6 and cell.limits.charge_current_max_a == 10.0
    current = tr["current_a"]
    # The firmware took the file's 10 A, not REF-CELL-1's 15 A (which the charger offers) ...
    assert -10.0 - 0.05 <= current.min() < -9.0
    # ... and the plant's true cells stayed under the file's 3.6 V (REF-CELL-1 would allow 4.2 V)
    vmax = tr["cell_v_max"].max()
    assert 3.5 < vmax <= 3.6 + 0.01


def test_a_structure_the_firmware_does_not_take_is_refused_in_one_line(tmp_path, capsys):
    sc = Path(__file__).resolve().parents[1] / "hil" / "scenarios" / "nominal_fast_charge.toml"
    assert main(["hil", "run", "--lockstep", "--cell", LFP_HYST, str(sc), "-o", str(tmp_path / "o")]) == 2
    line = one_error_line(capsys.readouterr().err)
    # the firmware's MPC refuses it (the EKF has every structure since the one-model work; the MPC is 2RC)
    assert "--cell" in line and LFP_HYST in line and "1 RC pair + hysteresis" in line and "MPC" in line
    assert not (tmp_path / "o").exists()  # refused before anything ran


def test_the_in_process_firmware_reads_the_file_with_the_cpp_reader(tmp_path):
    InProcessFirmware(cell=LFP_2RC, series=4)  # a supported cell: no error
    with pytest.raises(ValueError, match=r"^--cell \S*nope\.toml: no such file$"):
        InProcessFirmware(cell=str(tmp_path / "nope.toml"), series=4)
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(LFP_2RC).read_text().replace("voltage_max_v = 3.6", "voltage_max_v = 1.5"))
    with pytest.raises(ValueError, match=r"limits\.voltage_max_v: = 1\.5 must be > 2\.0"):
        InProcessFirmware(cell=str(bad), series=4)
    # a 2RC cell with a charge-side R0: the MPC takes it since it linearises the one cell model
    # (it refused it before), and so does CC-CV
    side = tmp_path / "side.toml"
    side.write_text(Path(LFP_2RC).read_text().replace("[resistance]\n", "[resistance]\nr0_charge_ohm = 0.02\n"))
    InProcessFirmware(cell=str(side), series=4, controller="mpc")
    InProcessFirmware(cell=str(side), series=4, controller="cccv")


def test_firmware_sim_refuses_a_bad_cell_file_in_one_line(tmp_path):
    exe = find_firmware()
    r = subprocess.run([str(exe), "--cell", LFP_HYST, "--help"], capture_output=True, text=True)
    assert r.returncode == 2
    line = one_error_line(r.stderr)
    assert "--cell" in line and "1 RC pair + hysteresis + charge-side resistance + entropic dU/dT" in line
    r = subprocess.run([str(exe), "--cell", LFP_2RC, "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "--cell" in r.stdout
    cfg = tmp_path / "fw.conf"
    cfg.write_text(f"cell = {tmp_path / 'missing.toml'}\n")
    r = subprocess.run([str(exe), "--config", str(cfg), "--help"], capture_output=True, text=True)
    assert r.returncode == 2 and one_error_line(r.stderr).endswith("missing.toml: no such file")
