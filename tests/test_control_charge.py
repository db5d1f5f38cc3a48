"""``safetwin charge``: the JSON contract, the plot, the hook switch and refused arguments."""
from __future__ import annotations

import json

import numpy as np
import pytest

from safetwin import battery, control
from safetwin.cli import main

KEYS = {"time_to_79_s", "max_voltage_v", "max_temperature_c", "violation", "solve_us", "solver", "horizon",
        "solver_failures"}


def run_json(capsys, *argv):
    assert main(["charge", "--json", *argv]) == 0
    out = capsys.readouterr().out
    return json.loads(out)  # exactly one JSON object on stdout


def test_json_keys_and_values_match_the_closed_loop(capsys):
    res = run_json(capsys, "--horizon", "10")
    assert set(res) == KEYS
    assert set(res["solve_us"]) == {"median", "p99", "max"}
    assert res["solver"] == "builtin" and res["horizon"] == 10
    # The same numbers as the closed loop run directly.
    cfg = control.BatteryMpcConfig()
    cfg.horizon = 10
    r = control.run_charge_loop(battery.Cell(battery.CellParams.ref_cell_1(), battery.CellState(soc=0.1, temp_k=298.15)),
                                control.BatteryMpc(cfg))
    assert res["time_to_79_s"] == pytest.approx(r["time_to_stop_s"], abs=1e-9)
    assert res["max_voltage_v"] == pytest.approx(r["voltage_v"].max(), abs=1e-12)
    assert res["max_temperature_c"] == pytest.approx(r["temp_k"].max() - 273.15, abs=1e-9)
    assert res["max_voltage_v"] <= 4.205 and res["max_temperature_c"] <= 45.1
    assert 0.0 <= res["violation"] < 1e-6
    s = res["solve_us"]
    assert 0 < s["median"] <= s["p99"] <= s["max"]


def test_hook_switch_and_plot(capsys, tmp_path):
    pytest.importorskip("casadi")
    pytest.importorskip("matplotlib")
    png = tmp_path / "charge.png"
    res = run_json(capsys, "--horizon", "10", "--solver", "casadi", "--max-time", "60", "--plot", str(png))
    assert res["solver"] == "casadi"
    assert res["time_to_79_s"] is None  # 60 s is not enough
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_text_output_and_chance_tightening(capsys):
    assert main(["charge", "--horizon", "10", "--sigma-temp-k", "0.5", "--alpha", "0.05"]) == 0
    out = capsys.readouterr().out
    assert "time to SOC 0.79" in out and "max temperature" in out
    t_max = float(next(line for line in out.splitlines() if "max temperature" in line).split()[2])
    # sigma_T = 0.5 K at alpha = 0.05 keeps 1.645 * 0.5 = 0.82 K from the limit.
    assert t_max == pytest.approx(45.0 - 1.6449 * 0.5, abs=0.02)


@pytest.mark.parametrize("argv,msg", [(["--horizon", "0"], "--horizon"), (["--soc0", "0.9"], "--soc0"),
                                      (["--alpha", "0.7"], "--alpha = 0.7: must be in (0, 0.5]")])
def test_refused_arguments(capsys, argv, msg):
    assert main(["charge", *argv]) == 2
    assert msg in capsys.readouterr().err


def test_solver_choice_is_validated(capsys):
    with pytest.raises(SystemExit):
        main(["charge", "--solver", "gurobi"])
    assert np.isfinite(1.0)
