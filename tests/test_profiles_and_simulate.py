"""Current profiles and the ``safetwin simulate`` command."""
import csv
import subprocess
import sys

import numpy as np
import pytest

from safetwin import battery, profiles
from safetwin.cli import main


def test_hppc_moves_the_soc_by_the_discharge_steps():
    current = profiles.hppc(capacity_ah=5.15, dt_s=1.0, pulses=3)
    # per level: 10 s at 1C, 10 s at -0.75C, then 0.1 * 3600 s at 1C
    per_level_c = 10 * 5.15 - 10 * 0.75 * 5.15 + 360 * 5.15
    assert current.sum() == pytest.approx(3 * per_level_c)
    assert current.max() == pytest.approx(5.15) and current.min() == pytest.approx(-0.75 * 5.15)


def test_drive_cycle_is_seeded_bounded_and_scaled():
    a = profiles.drive_cycle(900, 1.0, seed=4, mean_current_a=5.0, peak_current_a=25.0, regen_current_a=10.0)
    b = profiles.drive_cycle(900, 1.0, seed=4, mean_current_a=5.0, peak_current_a=25.0, regen_current_a=10.0)
    c = profiles.drive_cycle(900, 1.0, seed=5, mean_current_a=5.0, peak_current_a=25.0, regen_current_a=10.0)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(a) == 900 and a.max() <= 25.0 and a.min() >= -10.0
    assert a.min() < 0 < a.max()  # regeneration and traction both present
    assert a.mean() == pytest.approx(5.0, rel=0.05)  # clipping may shave the scaled mean a little


def test_load_csv_holds_the_current_between_rows(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("t_s,current_a,other\n0,1.5,x\n2.5,-3,y\n4,0,z\n")
    np.testing.assert_array_equal(profiles.load_csv(f, 1.0), [1.5, 1.5, 1.5, -3.0])
    f.write_text("t_s,amps\n0,1\n1,2\n")
    with pytest.raises(ValueError, match="current_a"):
        profiles.load_csv(f, 1.0)
    f.write_text("t_s,current_a\n0,1\n0,2\n")
    with pytest.raises(ValueError, match="t_s must increase"):
        profiles.load_csv(f, 1.0)


def read_csv(path):
    with open(path) as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def test_simulate_cc_writes_a_trace_that_coulomb_counts(tmp_path, capsys):
    out = tmp_path / "cc.csv"
    assert main(["simulate", "--profile", "cc", "--current", "-5.15", "--duration", "600",
                 "--soc0", "0.2", "--temp-c", "30", "-o", str(out)]) == 0
    data = read_csv(out)
    assert list(data) == ["t_s", "current_a", "voltage_v", "temperature_c", "soc"]
    assert len(data["t_s"]) == 600
    assert data["temperature_c"][0] == pytest.approx(30.0)
    np.testing.assert_allclose(data["soc"], 0.2 + np.arange(600) * 5.15 / (3600 * 5.15), atol=1e-8)
    assert "max cell voltage" in capsys.readouterr().out


def test_simulate_pack_with_a_measured_profile(tmp_path):
    prof = tmp_path / "load.csv"
    prof.write_text("t_s,current_a\n0,10\n30,-5\n60,0\n")
    out = tmp_path / "pack.csv"
    assert main(["simulate", "--profile", str(prof), "--series", "3", "--parallel", "2",
                 "--spread-seed", "1", "-o", str(out)]) == 0
    data = read_csv(out)
    assert len(data["t_s"]) == 60
    assert {"pack_voltage_v", "voltage_v_6", "temperature_c_6", "soc_6"} <= set(data)
    v_sum = data["voltage_v_1"] + data["voltage_v_3"] + data["voltage_v_5"]  # one cell per series group
    np.testing.assert_allclose(data["pack_voltage_v"], v_sum, rtol=1e-8)


def test_simulate_refuses_bad_options(tmp_path, capsys):
    assert main(["simulate", "--soc0", "1.5", "-o", str(tmp_path / "x.csv")]) == 2
    assert "--soc0 = 1.5" in capsys.readouterr().err
    assert main(["simulate", "--profile", "nope", "-o", str(tmp_path / "x.csv")]) == 2
    assert main(["simulate", "--dt", "0", "--profile", "cc", "-o", str(tmp_path / "x.csv")]) == 2
    assert "--dt-s = 0 s: must be in (0, 60] s" in capsys.readouterr().err  # the old flag, the new name
    assert main(["simulate", "--series", "0", "-o", str(tmp_path / "x.csv")]) == 2
    assert "--series = 0: must be in [1, 400]" in capsys.readouterr().err


def test_cli_entry_point_help():
    r = subprocess.run([sys.executable, "-m", "safetwin.cli", "simulate", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "t_s,current_a" in r.stdout


def test_cccv_on_the_cli_matches_the_library(tmp_path):
    out = tmp_path / "cccv.csv"
    assert main(["simulate", "-o", str(out)]) == 0
    data = read_csv(out)
    pack = battery.Pack(battery.PackConfig(initial=battery.CellState(soc=0.1)))
    ref = battery.run_cccv(pack, battery.CcCvConfig(cutoff_current_a=5.15 / 20), 1.0, 30000)
    np.testing.assert_allclose(data["current_a"], ref["current_a"], rtol=1e-8, atol=1e-9)
