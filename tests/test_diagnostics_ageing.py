"""The ageing model (Schmalstieg 2014) through its Python face, against the paper's closed forms."""
import numpy as np
import pytest

from safetwin.battery import CellParams, CellScaling
from safetwin.diagnostics import ageing
from safetwin.diagnostics.ageing import AgeingModel, AgeingParams, AgeingState, AgeingStress, age

DAY_S = 86400.0


def paper_alpha_cap(v, temp_k):  # J. Power Sources 257 (2014) 325, Table 3, typed in again here
    return (7.543 * v - 23.75) * 1e6 * np.exp(-6976.0 / temp_k)


def paper_beta_cap(v, dod):
    return 7.348e-3 * (v - 3.667) ** 2 + 7.600e-4 + 4.081e-3 * dod


def test_calendar_fade_follows_t_to_the_0_75_for_many_cells_at_once():
    temps = np.array([288.15, 298.15, 313.15, 323.15])
    socs = np.array([0.3, 0.5, 0.8, 1.0])
    days = 730
    out = age(np.full((4, days), DAY_S), temps[:, None], socs[:, None], 0.0, 0.0)
    v = np.array([CellParams.ref_cell_1().ocv.voltage_v(s) for s in socs])
    t = np.arange(1, days + 1)
    expected = 1.0 - paper_alpha_cap(v, temps)[:, None] * t[None, :] ** 0.75
    np.testing.assert_allclose(out["capacity_factor"], expected, rtol=1e-10)
    # Arrhenius: the fade ratio between two temperatures at one SOC is exp(Ea/R (1/T1 - 1/T2)).
    pair = age(np.full((2, 10), 30 * DAY_S), np.array([[298.15], [318.15]]), 0.6, 0.0, 0.0)
    fade = 1.0 - pair["capacity_factor"][:, -1]
    assert fade[1] / fade[0] == pytest.approx(np.exp(6976.0 / 298.15 - 6976.0 / 318.15), rel=1e-12)


def test_cycle_fade_follows_sqrt_of_equivalent_throughput():
    dod, soc = 0.8, 0.5
    cycles = 2000
    stress = ageing.cycling_stress(dod, 1.0, soc, 298.15)
    out = age(0.0, stress["temp_k"], soc, np.full(cycles, stress["throughput_ah"]), dod)
    v = CellParams.ref_cell_1().ocv.voltage_v(soc)
    q_ref = np.arange(1, cycles + 1) * 2 * dod * 5.15 * 2.15 / 5.15
    np.testing.assert_allclose(out["capacity_factor"], 1 - paper_beta_cap(v, dod) * np.sqrt(q_ref), rtol=1e-10)
    # Resistance grows linearly in throughput under cycling alone.
    growth = out["resistance_factor"] - 1.0
    np.testing.assert_allclose(growth / growth[0], np.arange(1, cycles + 1), rtol=1e-9)


def test_vectorised_run_equals_interval_by_interval_advance():
    rng = np.random.default_rng(4)
    n = 50
    stress = dict(duration_s=rng.uniform(0, 5 * DAY_S, n), temp_k=rng.uniform(280, 330, n),
                  soc_mean=rng.uniform(0, 1, n), throughput_ah=rng.uniform(0, 50, n), dod=rng.uniform(0, 1, n))
    out = age(**stress, calendar_rate_factor=1.3, cycle_rate_factor=0.7)
    params = AgeingParams()
    params.calendar_rate_factor, params.cycle_rate_factor = 1.3, 0.7
    model, state = AgeingModel(params), AgeingState()
    for k in range(n):
        model.advance(AgeingStress(*(float(stress[f][k]) for f in ("duration_s", "temp_k", "soc_mean",
                                                                      "throughput_ah", "dod"))), state)
        assert out["capacity_factor"][k] == state.capacity_factor
        assert out["resistance_factor"][k] == state.resistance_factor


def test_cycling_stress_and_plant_scaling():
    s = ageing.cycling_stress(dod=0.5, c_rate=0.5, soc_mean=0.5, ambient_k=298.15, rest_h=2.0)
    assert s["duration_s"] == pytest.approx((2 * 0.5 / 0.5 + 2.0) * 3600)
    assert s["throughput_ah"] == pytest.approx(2 * 0.5 * 5.15)
    # Joule heating of the 2RC + thermal model: I^2 R / h with R = R0 + R1 + R2, weighted by the duty.
    p = CellParams.ref_cell_1()
    r = p.r0_ohm.at(0.5, 298.15) + p.r1_ohm.at(0.5, 298.15) + p.r2_ohm.at(0.5, 298.15)
    assert s["temp_k"] == pytest.approx(298.15 + 0.5 * (0.5 * 5.15) ** 2 * r / p.heat_transfer_w_per_k)
    scaled = ageing.aged_scaling(CellScaling(0.98, 1.0, 1.05), 0.9, 1.2)
    assert (scaled.capacity_factor, scaled.resistance_factor, scaled.r0_factor) == pytest.approx((0.882, 1.2, 1.05))


def test_bad_stress_names_field_cell_and_interval():
    with pytest.raises(ValueError, match=r"soc_mean\[1, 2\] = 1.5.*\[0, 1\]"):
        age(np.full((2, 3), 10.0), 300.0, np.array([[0.5, 0.5, 0.5], [0.5, 0.5, 1.5]]), 0.0, 0.0)
    with pytest.raises(ValueError, match=r"temp_k\[0, 0\] = nan"):
        age([1.0], [np.nan], [0.5], [0.0], [0.0])
    with pytest.raises(ValueError, match="calendar_rate_factor"):
        age(np.ones((2, 2)), 300.0, 0.5, 0.0, 0.0, calendar_rate_factor=[-1.0, 1.0])
    p = AgeingParams()
    p.capacity_ah = 0.0
    with pytest.raises(ValueError, match="AgeingParams.capacity_ah"):
        AgeingModel(p)
    state = AgeingState()
    with pytest.raises(ValueError, match="dod"):
        AgeingModel().advance(AgeingStress(1.0, 300.0, 0.5, 0.0, 2.0), state)
    assert state.capacity_factor == 1.0 and state.elapsed_s == 0.0  # nothing aged
