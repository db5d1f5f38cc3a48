"""The runner's plant-only counterfactuals (closed_loop.hpp, CounterfactualSpec): forked from the
run's plant at the onset (or run from t = 0) beside the run, they must give bit for bit the plant
fields of a second, whole run with the current forced to 0 A (loop.with_zero_current), which
re-runs the cycle and its controllers from t = 0."""
from __future__ import annotations

import math

import pytest
from test_closed_loop import Constant, cell_spec, mpcs, pack_spec

from safetwin import loop


def assert_same_plant_fields(cf: dict, rerun: dict) -> None:
    assert cf is not None
    for key, value in cf.items():
        other = rerun[key]
        if isinstance(value, float) and math.isnan(value):
            assert math.isnan(other), key
        else:
            assert value == other, (key, value, other)  # exact: the same arithmetic in the same order


def test_pack_mpc_counterfactual_at_the_onset_and_from_the_start_equal_whole_reruns():
    """4s2p, one MPC per group, an internal short at 100 s and a voltage offset at 150 s: the
    fork is at the first onset; the short is applied to the forked plant as to the re-run's."""
    faults = [loop.fault("internal_short", 100.0, target=3, value=1 / 2.0),
              loop.fault("voltage_offset", 150.0, target=1, value=0.05)]
    spec = pack_spec(300.0, faults=faults, counterfactual=loop.counterfactual(), trace="none")
    res = loop.run(spec, controllers=mpcs(4))
    onset, start = res.counterfactual_at_onset, res.counterfactual_from_start
    rerun_onset = loop.run(loop.with_zero_current(spec), controllers=mpcs(4)).summary
    rerun_start = loop.run(loop.with_zero_current(spec, time_s=0.0), controllers=mpcs(4)).summary
    assert_same_plant_fields(onset, rerun_onset)
    assert_same_plant_fields(start, rerun_start)
    assert onset["replacement_s"] == 100.0 and start["replacement_s"] == 0.0
    assert onset["steps"] == start["steps"] == 300
    # they are real counterfactuals: the MPC charges the pack, 0 A does not
    s = res.summary
    assert s["final_soc_max"] > onset["final_soc_max"] > start["final_soc_max"]
    assert s["min_margin_voltage_max_v"] < onset["min_margin_voltage_max_v"]


def test_cell_counterfactual_at_a_given_time_with_faults_that_end_and_a_python_law():
    """One cell, a Python law (the trampoline), cooling lost from 50 s to 200 s and a connection
    resistance from 80 s on; the fork at 120 s (not an onset): the faults started before the
    fork are carried by the copy, the one that ends after it is restored on the copy too."""
    faults = [loop.fault("cooling_loss", 50.0, 200.0, target=0, value=0.1),
              loop.fault("connection_resistance", 80.0, target=0, value=0.02)]
    spec = cell_spec(400.0, law=loop.controllers(), faults=faults, trace="none",
                     counterfactual=loop.counterfactual(current_a=-2.0, time_s=120.0))
    res = loop.run(spec, controllers=[Constant(-10.0)])
    rerun = loop.run(loop.with_zero_current(spec, current_a=-2.0, time_s=120.0), controllers=[Constant(-10.0)])
    assert_same_plant_fields(res.counterfactual_at_onset, rerun.summary)
    rerun0 = loop.run(loop.with_zero_current(spec, current_a=-2.0, time_s=0.0), controllers=[Constant(-10.0)])
    assert_same_plant_fields(res.counterfactual_from_start, rerun0.summary)
    # before the fork the copy shares the run's plant: the law's current, then 2 A of charge
    assert 2.0 < res.counterfactual_at_onset["max_abs_cell_current_a"] <= res.summary["max_abs_cell_current_a"]
    assert res.counterfactual_from_start["max_abs_cell_current_a"] == pytest.approx(2.0, rel=1e-12)
    assert rerun.summary["first_fault_s"] == res.counterfactual_at_onset["first_fault_s"] == 50.0


def test_a_hot_run_and_its_counterfactual_differ_and_each_equals_its_rerun():
    """A 3C charge with the cooling lost at 200 s; at 0 A from 200 s the cell rests and cools."""
    spec = cell_spec(600.0, law=loop.constant(-3 * 5.15), faults=[loop.fault("cooling_loss", 200.0, value=0.0)],
                     counterfactual=loop.counterfactual(), trace="none")
    res = loop.run(spec)
    rerun = loop.run(loop.with_zero_current(spec)).summary
    assert_same_plant_fields(res.counterfactual_at_onset, rerun)
    s, cf = res.summary, res.counterfactual_at_onset
    assert s["max_temp_k"] > cf["max_temp_k"]
    assert s["final_soc_max"] > cf["final_soc_max"]


def test_no_counterfactual_unless_asked_or_reached():
    res = loop.run(cell_spec(60.0, law=loop.constant(0.0), trace="none"))
    assert res.counterfactual_from_start is None and res.counterfactual_at_onset is None
    # asked, but no fault (at the first onset) or a fork time after the end: only from the start
    res = loop.run(cell_spec(60.0, law=loop.constant(0.0), trace="none", counterfactual=loop.counterfactual()))
    assert res.counterfactual_at_onset is None and res.counterfactual_from_start["steps"] == 60
    res = loop.run(cell_spec(60.0, law=loop.constant(0.0), trace="none",
                             counterfactual=loop.counterfactual(time_s=61.0)))
    assert res.counterfactual_at_onset is None


def test_a_non_finite_counterfactual_current_is_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"LoopSpec\.counterfactual\.current_a"):
        loop.run(cell_spec(60.0, law=loop.constant(0.0), counterfactual=loop.counterfactual(current_a=math.nan)))
