"""The shipped standard drive cycles and the road-load model that turns them into cell current."""
import numpy as np
import pytest

from safetwin import drive_cycles as dc

# Published length and duration of each schedule (EPA: UDDS 7.45 mi in 1369 s, US06 8.01 mi in
# 600 s, HWFET 10.26 mi in 765 s; UN GTR 15: WLTC class 3b 23 266 m in 1800 s).
PUBLISHED = {"udds": (11.99e3, 1369), "us06": (12.89e3, 600), "hwfet": (16.51e3, 765),
             "wltc_class3b": (23.266e3, 1800)}


@pytest.mark.parametrize("name", dc.CYCLES)
def test_each_cycle_has_its_published_length_and_duration(name):
    t, v = dc.speed_trace(name)
    metres, seconds = PUBLISHED[name]
    assert t[-1] - t[0] == seconds
    assert np.all(np.diff(t) == 1.0)
    assert np.sum(v[:-1]) == pytest.approx(metres, rel=0.005)  # 1 s steps: distance = sum of speeds


def test_road_load_at_constant_speed_is_rolling_plus_drag_over_efficiency():
    car = dc.Vehicle()
    v = 20.0
    p = dc.pack_power_w(np.arange(5.0), np.full(5, v), car)
    by_hand = (car.mass_kg * 9.80665 * car.rolling_resistance + 0.5 * 1.2 * car.drag_area_m2 * v**2) * v
    assert p == pytest.approx(by_hand / car.drive_efficiency + car.auxiliary_w)


def test_braking_returns_the_regenerated_share_only():
    car = dc.Vehicle(auxiliary_w=0.0)
    p = dc.pack_power_w(np.array([0.0, 1.0]), np.array([10.0, 8.0]), car)  # -2 m/s^2 from 10 m/s
    wheel = (car.mass_kg * -2.0 + car.mass_kg * 9.80665 * car.rolling_resistance + 0.5 * 1.2 * car.drag_area_m2 * 100) * 10
    assert p[0] == pytest.approx(wheel * car.drive_efficiency * car.regen_fraction)


def test_cell_current_is_pack_power_over_cells_and_repeats_the_cycle():
    car = dc.Vehicle()
    t, v = dc.speed_trace("udds")
    once = dc.cell_current("udds")
    assert len(once) == len(t) - 1
    assert once == pytest.approx(dc.pack_power_w(t, v, car)[:-1] / (car.cells * car.cell_nominal_v))
    twice = dc.cell_current("udds", repeats=2, scale=2.0, dt_s=0.5)
    assert len(twice) == 4 * len(once)
    assert twice[::2] == pytest.approx(2.0 * np.tile(once, 2))


@pytest.mark.parametrize("kwargs, field", [({"dt_s": 0.0}, "dt_s"), ({"repeats": 0}, "repeats"),
                                           ({"scale": float("nan")}, "scale"), ({"name": "nedc"}, "nedc")])
def test_bad_arguments_are_refused_by_name(kwargs, field):
    args = {"name": "udds", **kwargs}
    with pytest.raises(ValueError, match=field):
        dc.cell_current(**args)
    with pytest.raises(ValueError, match="regen_fraction"):
        dc.Vehicle(regen_fraction=1.5)
