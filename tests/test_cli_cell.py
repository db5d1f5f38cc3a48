"""--cell FILE on `safetwin simulate` and `safetwin charge`: the commands run the cell of the file
(the shipped LFP 26650 here, whose limits and OCV plateau differ from REF-CELL-1's), and a bad file
is refused in one line naming it."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from safetwin import battery, cellfile
from safetwin.cli import main

LFP = str(cellfile.shipped_cell_path("lfp_a123_26650"))


def read_csv(path):
    return np.genfromtxt(path, delimiter=",", names=True)


def one_error_line(err):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_simulate_cc_runs_the_cell_of_the_file(tmp_path, capsys):
    out = tmp_path / "cc.csv"
    assert main(["simulate", "--cell", LFP, "--profile", "cc", "--current", "2.3", "--duration-s", "600",
                 "--soc0", "0.5", "-o", str(out)]) == 0
    capsys.readouterr()
    data = read_csv(out)
    assert len(data) == 600
    # Coulomb count of the file's 2.3 Ah: 1C for 600 s takes 1/6 of the charge.
    assert abs(data["soc"][-1] - (0.5 - 2.3 * 599 / 3600 / 2.3)) < 2.3 / 3600 / 2.3 + 1e-9
    # On the file's flat OCV plateau (3.28..3.31 V over SOC 0.33..0.5) less a 1C drop of ~16 mOhm:
    # nowhere near REF-CELL-1's 3.6-3.7 V at the same SOC.
    assert np.all((data["voltage_v"] > 3.15) & (data["voltage_v"] < 3.31))
    ref = battery.Pack(battery.PackConfig(cell=cellfile.load_cell(LFP),
                                          initial=battery.CellState(soc=0.5, temp_k=298.15)))
    expect = ref.simulate(np.full(600, 2.3), 1.0)
    np.testing.assert_allclose(data["voltage_v"], expect["pack_voltage_v"], rtol=1e-8)


def test_simulate_cccv_charges_to_the_files_voltage_limit(tmp_path, capsys):
    out = tmp_path / "cccv.csv"
    assert main(["simulate", "--cell", LFP, "--soc0", "0.2", "-o", str(out)]) == 0
    summary = capsys.readouterr().out
    data = read_csv(out)
    v, i = data["voltage_v"], data["current_a"]
    # Held at the file's V max (the charger's 10 mV regulation allowed; REF-CELL-1's is 4.2 V).
    assert v.max() <= 3.6 + 0.01 and v.max() > 3.59
    assert abs(i[0] + 2.3) < 1e-12  # CC at 1C of the file's 2.3 Ah
    cv = np.flatnonzero(v > 3.59)
    assert np.all(np.diff(i[cv[0]:]) >= 0)  # from V max on the charge current only falls (CC, then CV)
    assert i[-1] > -1.2 and i[-1] - i[cv[0]] > 1.0
    # The file's OCV is 3.55 V at SOC 1, 50 mV under V max: the cell is full before the current
    # falls to C/20, and the SOC cut-off ends the run.
    assert "1s1p LFP 26650" in summary and "SOC 1 > 1: full" in summary
    assert data["soc"][-2] <= 1.0 < data["soc"][-1]


def test_charge_runs_the_mpc_on_the_cell_of_the_file(tmp_path, capsys):
    """The MPC's prediction is written for REF-CELL-1's structure: a file of that structure with a
    lower V max (4.1 V) is charged under it; the LFP file (1 RC + hysteresis) is refused in one line."""
    text = Path(cellfile.shipped_cell_path("ref_cell_1")).read_text()
    assert text.count("voltage_max_v = 4.2") == 1
    cell = tmp_path / "ref_4v1.toml"
    cell.write_text(text.replace("voltage_max_v = 4.2", "voltage_max_v = 4.1"))
    args = ["charge", "--soc0", "0.5", "--duration-s", "600", "--json"]
    assert main(args) == 0
    default = json.loads(capsys.readouterr().out)
    assert main([*args, "--cell", str(cell)]) == 0
    res = json.loads(capsys.readouterr().out)
    assert default["max_voltage_v"] > 4.15  # REF-CELL-1 charges up to its 4.2 V ...
    assert 4.05 < res["max_voltage_v"] <= 4.1 + 1e-6  # ... the file's cell up to its 4.1 V
    assert main(["charge", "--cell", LFP]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "BatteryMpcConfig.cell" in line and "REF-CELL-1's structure" in line


def test_a_bad_cell_file_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[cell]\nname = "x"\ncapacity_ah = -1\n')
    for cmd in (["simulate", "-o", str(tmp_path / "x.csv")], ["charge"]):
        assert main([*cmd, "--cell", str(bad)]) == 2
        line = one_error_line(capsys.readouterr().err)
        assert str(bad) in line and "capacity_ah" in line
    assert main(["simulate", "--cell", str(tmp_path / "missing.toml"), "-o", str(tmp_path / "y.csv")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--cell" in line and "missing.toml" in line and "does not exist" in line
