"""The battery reference model from Python: analytic checks and bad input."""
import math

import numpy as np
import pytest

from safetwin import battery, profiles


def test_rc_step_response_matches_analytic():
    p = battery.CellParams.ref_cell_1()
    p.arrhenius_k = 0.0
    p.heat_capacity_j_per_k = 1e12
    cell = battery.Cell(p, battery.CellState(soc=0.5))
    out = cell.simulate(np.full(300, 4.0), 1.0)
    t = np.arange(300)  # row k holds the state at time k
    v1 = out["cell_voltage_v"][:, 0]
    ocv = p.ocv.voltage_v
    expected = np.array([ocv(0.5 - 4.0 * k / (3600 * 5.15)) for k in t]) - 0.021 * 4.0 \
        - 0.0075 * 4.0 * (1 - np.exp(-t / (0.0075 * 1733))) - 0.023 * 4.0 * (1 - np.exp(-t / (0.023 * 5652)))
    np.testing.assert_allclose(v1, expected, rtol=0, atol=1e-12)


def test_reference_table_matches_compiled_table():
    shipped = battery.reference_ocv_table()
    compiled = battery.OcvTable.lgm50_chen2020()
    np.testing.assert_array_equal(shipped.soc, compiled.soc)
    np.testing.assert_array_equal(shipped.ocv_v, compiled.ocv_v)


def test_pack_kirchhoff_and_series_current():
    pack = battery.Pack(battery.PackConfig(series=4, parallel=3, spread=battery.SpreadConfig(0.03, 0.1, 5),
                                           initial=battery.CellState(soc=0.3)))
    current = profiles.drive_cycle(600, 1.0, seed=3, mean_current_a=6.0, peak_current_a=30.0, regen_current_a=12.0)
    out = pack.simulate(current, 1.0)
    groups = out["cell_current_a"].reshape(len(current), 4, 3)
    np.testing.assert_allclose(groups.sum(axis=2), np.repeat(current[:, None], 4, axis=1), atol=1e-10)
    volts = out["cell_voltage_v"].reshape(len(current), 4, 3)
    np.testing.assert_allclose(volts - volts[:, :, :1], 0.0, atol=1e-12)
    np.testing.assert_allclose(out["pack_voltage_v"], volts[:, :, 0].sum(axis=1), rtol=1e-14)


def test_cccv_holds_the_voltage_and_ends_at_cutoff():
    pack = battery.Pack(battery.PackConfig(initial=battery.CellState(soc=0.1)))
    out = battery.run_cccv(pack, battery.CcCvConfig(), 1.0, 20000)
    v = out["cell_voltage_v"][:, 0]
    assert v.max() < 4.2 + 1e-3
    assert abs(out["current_a"][-1]) < 0.2575 * 1.1
    assert -out["current_a"][0] == pytest.approx(5.15)
    # coulomb count: final SOC = 0.1 - sum(I dt)/(3600 Q)
    assert pack.cell_soc[0] == pytest.approx(0.1 - out["current_a"].sum() / (3600 * 5.15), abs=1e-12)


@pytest.mark.parametrize("current, dt, field", [
    (math.nan, 1.0, "current_a"), (math.inf, 1.0, "current_a"), (1.0, 0.0, "dt_s"),
    (1.0, -1.0, "dt_s"), (1.0, math.nan, "dt_s"),
])
def test_bad_step_input_is_refused_and_state_kept(current, dt, field):
    cell = battery.Cell(battery.CellParams.ref_cell_1(), battery.CellState(soc=0.5))
    cell.step(2.0, 1.0)
    before = cell.state
    with pytest.raises(ValueError, match=field):
        cell.step(current, dt)
    after = cell.state
    assert (after.soc, after.v1_v, after.v2_v, after.temp_k) == (before.soc, before.v1_v, before.v2_v, before.temp_k)


def test_bad_profile_and_config_are_refused():
    cell = battery.Cell()
    with pytest.raises(ValueError, match=r"current_a\[2\] = nan"):
        cell.simulate(np.array([1.0, 2.0, np.nan]), 1.0)
    assert cell.state.soc == 0.5
    with pytest.raises(ValueError, match="PackConfig.series"):
        battery.Pack(battery.PackConfig(series=0))
    with pytest.raises(ValueError, match="PackConfig.parallel"):
        battery.Pack(battery.PackConfig(parallel=0))
    with pytest.raises(ValueError, match="OcvTable.soc"):
        battery.OcvTable(np.array([0.0, 0.5, 0.4]), np.array([3.0, 3.5, 3.6]))
    with pytest.raises(ValueError, match="OcvTable.ocv_v"):
        battery.OcvTable(np.array([0.0, 1.0]), np.array([3.0]))  # mismatched lengths
    with pytest.raises(ValueError, match="at least 2"):
        battery.OcvTable(np.array([0.0]), np.array([3.0]))
    p = battery.CellParams.ref_cell_1()
    p.r0_ohm = -0.01
    with pytest.raises(ValueError, match="CellParams.r0_ohm"):
        battery.Cell(p)
    with pytest.raises(ValueError, match="soc"):
        battery.Cell(battery.CellParams.ref_cell_1(), battery.CellState(soc=1.5))


def test_thermal_steady_state_is_ambient_plus_joule_heat_over_ha():
    p = battery.CellParams.ref_cell_1()
    p.arrhenius_k = 0.0
    p.capacity_ah = 1e9  # hold the SOC: the resistances are constant anyway
    cell = battery.Cell(p, battery.CellState(soc=0.5))
    out = cell.simulate(np.full(20000, -6.0), 1.0)
    assert out["cell_temp_k"][-1, 0] == pytest.approx(298.15 + 36.0 * (0.021 + 0.0075 + 0.023) / 0.3, rel=1e-9)
