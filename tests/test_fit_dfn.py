"""The fit against a model of higher fidelity: PyBaMM's DFN (Chen2020) logs in tests/data/fit
(tools/make_fit_data.py). `safetwin fit` on the HPPC + CC-CV logs (2rc, 6 SOC nodes, 26 OCV nodes, --charge-r0:
the command that wrote tests/data/fit/fitted_2rc.toml) is run here; the cell it writes predicts the held-out
UDDS and WLTC logs it never saw, and the EKF on it estimates their SOC from a start 0.2 off.

Issue 16's goals and what this fit meets (measured on these logs; asserted only where met):
- capacity: 5.177 Ah for the DFN's 5.153 Ah window (asserted within 1 %).
- held-out voltage RMSE <= 8 mV: met with --charge-transfer (the Butler-Volmer term, last test: UDDS
  4.18 mV, WLTC 5.76 mV). Without it (the text below, the linear R0): NOT met. UDDS 9.6 mV, WLTC 11.2 mV (without --charge-r0 11.1 and
  13.4 mV; REF-CELL-1's constants: 11.8 and 15.2 mV). Asserted: the fitted cell beats REF-CELL-1 on
  both and stays under 10 / 12 mV; the 8 mV goal is not asserted. What is left is the DFN's kinetic
  nonlinearity, which the one model's linear R0 cannot represent: the DFN's instantaneous drop on the
  HPPC is 23.5 mOhm x I at 1C (charge and discharge alike) and 18.7 mOhm x I at 2C (SOC 0.4-0.6);
  the 2RC fitted to the UDDS itself leaves 9.5 mV on it. --charge-r0 helps here because the HPPC's
  charge pulses are 1C and its discharge pulses 2C (the charge-side R0 takes the 1C value), not
  because the DFN is asymmetric.
- estimate from a start 0.2 off (figures after the first 200 s): within 2 % of the truth for good
  after <= 82 s, SOC RMSE <= 0.26 %, max |error| <= 0.95 % (WLTC -0.2; without --charge-r0 1.32 %),
  100 % of samples inside 3 sigma: met and asserted for all four starts.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safetwin._core import Cell, CellParams, CellState
from safetwin.cellfile import load_cell, load_fit_section
from safetwin.cli import main

DATA = Path(__file__).parent / "data" / "fit"
DFN_WINDOW_AH = 5.1532  # the DFN's SOC window (tools/make_fit_data.window_capacity_ah)


def read(name):
    return np.genfromtxt(DATA / f"{name}.csv.gz", delimiter=",", names=True)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    out = tmp_path_factory.mktemp("dfn_fit") / "fitted_2rc.toml"
    assert main(["fit", str(DATA / "hppc.csv.gz"), str(DATA / "cccv.csv.gz"), "--structure", "2rc",
                 "--soc-nodes", "6", "--ocv-nodes", "26", "--charge-r0", "-o", str(out)]) == 0
    return out


def predicted_voltage(cell, d):
    """The cell's voltage over the log's measured current from the DFN's initial SOC (the logs start rested)."""
    c = Cell(cell, CellState(soc=float(d["soc_true"][0]), temp_k=298.15))
    return c.simulate(np.ascontiguousarray(d["current_a"]), 1.0)["cell_voltage_v"][:, 0]


def rmse(a, b):
    return float(np.sqrt(np.mean((a - b) ** 2)))


def test_fit_finds_the_dfn_capacity_and_states_its_training_residual(fitted):
    cell = load_cell(fitted)
    assert abs(cell.capacity_ah - DFN_WINDOW_AH) / DFN_WINDOW_AH < 0.01
    sec = load_fit_section(fitted)
    assert sec["structure"] == "2rc"
    assert [Path(p).name for p in sec["logs"]] == ["hppc.csv.gz", "cccv.csv.gz"]
    # the training residuals the file states (measured: HPPC 6.1 mV, CC-CV 4.0 mV) lie above the
    # logs' 2 mV sensor noise and below the 8 mV of the goal
    assert all(0.002 < r < 0.008 for r in sec["residual_rms_v"])


@pytest.mark.parametrize("name", ["udds", "wltc"])
def test_fitted_cell_predicts_held_out_drive_cycles_better_than_ref_cell_1(fitted, name):
    """Not the 8 mV goal (UDDS 9.6 mV, WLTC 11.2 mV measured): the fit beats the shipped constants."""
    d = read(name)
    fit_rmse = rmse(predicted_voltage(load_cell(fitted), d), d["voltage_true_v"])
    ref_rmse = rmse(predicted_voltage(CellParams.ref_cell_1(), d), d["voltage_true_v"])
    assert fit_rmse < ref_rmse
    assert fit_rmse < {"udds": 0.010, "wltc": 0.012}[name]


@pytest.mark.parametrize("name, offset", [("udds", -0.2), ("udds", 0.2), ("wltc", 0.2), ("wltc", -0.2)])
def test_estimate_with_the_fitted_cell_from_0_2_off(fitted, tmp_path, name, offset):
    d = read(name)
    soc0 = float(d["soc_true"][0]) + offset
    out = tmp_path / "soc.csv"
    assert main(["estimate", str(DATA / f"{name}.csv.gz"), "--cell", str(fitted), "--soc0", f"{soc0:.6f}",
                 "-o", str(out)]) == 0
    e = np.genfromtxt(out, delimiter=",", names=True)
    err = e["soc"] - d["soc_true"]
    inside = np.abs(err) <= 0.02
    entered = int(np.argmax(np.minimum.accumulate(inside[::-1])[::-1]))  # from here on always within 2 %
    assert inside[entered:].all() and d["t_s"][entered] <= 200.0
    after = d["t_s"] > 200.0
    assert float(np.sqrt(np.mean(err[after] ** 2))) <= 0.005
    assert float(np.max(np.abs(err[after]))) <= 0.01
    assert float(np.mean(np.abs(err) <= 3 * e["soc_sigma"])) >= 0.99


def test_temperature_fit_predicts_a_held_out_temperature():
    """tests/data/fit/fitted_2rc_temperature.toml: `safetwin fit hppc_10c hppc cccv hppc_40c --structure
    2rc --soc-nodes 6 --ocv-nodes 26 --charge-r0` (the DFN HPPC at 10, 25 and 40 degC; about 140 s of CPU, so
    its output is committed rather than refitted here). On the UDDS at 17 degC, a temperature it never
    saw, it predicts 14.2 mV RMS, where the 25 degC cell (fitted_2rc.toml, the same command on the
    25 degC logs) misses by 17.7 mV: the fitted Arrhenius constants carry the temperature between the
    logs' temperatures. Both above the 8 mV goal (the linear R0, first docstring)."""
    d = read("udds_17c")
    out = {}
    for name in ("fitted_2rc_temperature", "fitted_2rc"):
        cell = load_cell(DATA / f"{name}.toml")
        cell.ambient_temp_k = 290.15  # the log's chamber: isothermal at 17 degC
        v = Cell(cell, CellState(soc=float(d["soc_true"][0]), temp_k=290.15)).simulate(
            np.ascontiguousarray(d["current_a"]), 1.0)["cell_voltage_v"][:, 0]
        out[name] = rmse(v, d["voltage_true_v"])
    assert out["fitted_2rc_temperature"] < 0.9 * out["fitted_2rc"]
    assert out["fitted_2rc_temperature"] < 0.015
    sec = load_fit_section(DATA / "fitted_2rc_temperature.toml")
    k_r = sec["values"][sec["parameters"].index("k_r")]
    assert 300.0 < k_r < 3000.0  # K: resistance falling with temperature (measured 814 K)
    r0 = load_cell(DATA / "fitted_2rc_temperature.toml").r0_ohm
    assert r0.at(0.5, 283.15) > r0.at(0.5, 298.15) > r0.at(0.5, 313.15)


@pytest.fixture(scope="module")
def fitted_charge_transfer(tmp_path_factory):
    """The same fit with the Butler-Volmer charge transfer (--charge-transfer: I0 over SOC)."""
    out = tmp_path_factory.mktemp("dfn_fit_bv") / "fitted_2rc_bv.toml"
    assert main(["fit", str(DATA / "hppc.csv.gz"), str(DATA / "cccv.csv.gz"), "--structure", "2rc",
                 "--soc-nodes", "6", "--ocv-nodes", "26", "--charge-r0", "--charge-transfer", "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize("name", ["udds", "wltc"])
def test_charge_transfer_fit_predicts_held_out_drive_cycles_better_than_the_linear_r0(fitted, fitted_charge_transfer,
                                                                                     name):
    """Issue 16's held-out goal, met: the DFN's resistance falls with current and the Butler-Volmer term
    lets the one model follow it. Measured (the command of the fixture, the cell committed as
    tests/data/fit/fitted_2rc_charge_transfer.toml): UDDS 9.58 -> 4.18 mV, WLTC 11.18 -> 5.76 mV;
    capacity 5.1605 Ah for the DFN's 5.1532 Ah."""
    d = read(name)
    linear = rmse(predicted_voltage(load_cell(fitted), d), d["voltage_true_v"])
    cell = load_cell(fitted_charge_transfer)
    bv = rmse(predicted_voltage(cell, d), d["voltage_true_v"])
    assert cell.exchange_current_a is not None
    assert abs(cell.capacity_ah - DFN_WINDOW_AH) / DFN_WINDOW_AH < 0.01
    assert bv <= 0.008  # the goal
    assert bv < 0.7 * linear
