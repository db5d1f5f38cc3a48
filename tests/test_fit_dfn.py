"""The fit against a model of higher fidelity: PyBaMM's DFN (Chen2020) logs in tests/data/fit
(tools/make_fit_data.py). The cell fitted on the HPPC + CC-CV logs (tests/data/fit/fitted_2rc.toml,
written by `safetwin fit`, command below) predicts the held-out UDDS and WLTC logs it never saw, and
the EKF on it estimates their SOC from a start 0.2 off. Figures checked: the goals of issue 16.

  safetwin fit tests/data/fit/hppc.csv.gz tests/data/fit/cccv.csv.gz --structure 2rc --soc-nodes 6 \\
      --ocv-nodes 26 --name "LG M50 fitted to PyBaMM DFN (Chen2020): HPPC + CC-CV" -o tests/data/fit/fitted_2rc.toml
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safetwin import estimation
from safetwin._core import Cell, CellParams, CellState
from safetwin.cellfile import load_cell, load_fit_section
from safetwin.cli import main

DATA = Path(__file__).parent / "data" / "fit"
FITTED = DATA / "fitted_2rc.toml"


def read(name):
    return np.genfromtxt(DATA / f"{name}.csv.gz", delimiter=",", names=True)


def predicted_voltage(cell, d):
    """The cell's voltage over the log's measured current from the DFN's initial SOC (the logs start rested)."""
    c = Cell(cell, CellState(soc=float(d["soc_true"][0]), temp_k=298.15))
    return c.simulate(np.ascontiguousarray(d["current_a"]), 1.0)["cell_voltage_v"][:, 0]


@pytest.mark.parametrize("name", ["udds", "wltc"])
def test_fitted_cell_predicts_held_out_drive_cycles_within_8_mv(name):
    d = read(name)
    v = predicted_voltage(load_cell(FITTED), d)
    rmse = float(np.sqrt(np.mean((v - d["voltage_true_v"]) ** 2)))
    assert rmse <= 0.008
    # and it is the fit that does it: REF-CELL-1's constants miss the same DFN data by more
    ref = float(np.sqrt(np.mean((predicted_voltage(CellParams.ref_cell_1(), d) - d["voltage_true_v"]) ** 2)))
    assert rmse < ref


def test_fitted_cell_file_carries_its_fit():
    sec = load_fit_section(FITTED)
    assert sec["structure"] == "2rc"
    assert [Path(p).name for p in sec["logs"]] == ["hppc.csv.gz", "cccv.csv.gz"]
    # the training residual the file states is the one its cell gives on the training HPPC
    cell = load_cell(FITTED)
    d = read("hppc")
    cap = cell.capacity_ah
    assert abs(cap - 5.1532) / 5.1532 < 0.01  # the DFN's SOC window (tools/make_fit_data.py)
    assert 0.0 < sec["residual_rms_v"][0] < 0.008
    assert len(d) == 15640


@pytest.mark.parametrize("name, offset", [("udds", -0.2), ("wltc", 0.2)])
def test_estimate_with_the_fitted_cell_from_0_2_off(tmp_path, name, offset, capsys):
    d = read(name)
    soc0 = float(d["soc_true"][0]) + offset
    out = tmp_path / "soc.csv"
    assert main(["estimate", str(DATA / f"{name}.csv.gz"), "--cell", str(FITTED), "--soc0", f"{soc0:.6f}",
                 "-o", str(out)]) == 0
    e = np.genfromtxt(out, delimiter=",", names=True)
    err = e["soc"] - d["soc_true"]
    inside = np.abs(err) <= 0.02
    entered = int(np.argmax(np.minimum.accumulate(inside[::-1])[::-1]))  # from here on always within 2 %
    assert d["t_s"][entered] <= 200.0
    after = d["t_s"] > 200.0
    assert float(np.sqrt(np.mean(err[after] ** 2))) <= 0.005
    assert float(np.max(np.abs(err[after]))) <= 0.01
    assert float(np.mean(np.abs(err) <= 3 * e["soc_sigma"])) >= 0.99
    # the same replay through the Python API agrees with the command
    cfg = estimation.make_config(cell=load_cell(FITTED), soc0=soc0, temp0_k=float(d["temperature_c"][0]) + 273.15)
    r = estimation.run(d["t_s"], d["current_a"], voltage_a_v=d["voltage_v"], temperature_k=d["temperature_c"] + 273.15,
                       config=cfg)
    assert np.allclose(r["soc"], e["soc"], atol=1e-8)
