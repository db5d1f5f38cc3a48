"""--cell FILE on `safetwin simulate` and `safetwin charge`: the commands run the cell of the file
(the shipped LFP 26650 here, whose limits and OCV plateau differ from REF-CELL-1's), and a bad file
is refused in one line naming it."""
from __future__ import annotations

import json

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
    capsys.readouterr()
    data = read_csv(out)
    v, i = data["voltage_v"], data["current_a"]
    assert v.max() <= 3.6 + 0.01 and v.max() > 3.55  # the file's V max (REF-CELL-1: 4.2 V)
    assert abs(i[0] + 2.3) < 1e-12  # 1C of the file's 2.3 Ah
    assert abs(i[-1]) < 2.3 / 20 + 0.02  # ends at C/20 (one step's fall past it)
    assert data["soc"][-1] > 0.95


def test_charge_runs_the_mpc_on_the_cell_of_the_file(capsys):
    assert main(["charge", "--cell", LFP, "--soc0", "0.2", "--duration-s", "120", "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert res["max_voltage_v"] <= 3.6 + 1e-6  # the file's limit, not 4.2 V
    assert res["max_voltage_v"] > 3.3  # charging raised it off the plateau's 3.25 V


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
