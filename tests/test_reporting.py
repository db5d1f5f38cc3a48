"""Self-triggered reporting from Python: the safe horizon's binding against closed-form times and
scipy's normal tail, and the closed-loop runner / campaign under the three reporting schemes
(frames against hand counts, the same samples, bad options refused)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import norm

from safetwin import battery
from safetwin.campaign.simulate import runner_available, simulate
from safetwin.cli import main
from safetwin.errors import NonFiniteInputError
from safetwin.reporting import HorizonLimit, SafeHorizon, SafeHorizonConfig

CELL = battery.CellParams.ref_cell_1()
needs_runner = pytest.mark.skipif(not runner_available(), reason="the closed-loop runner is not built in")


def test_tube_probability_is_one_minus_three_two_sided_normal_tails():
    for kappa in (2.0, 3.0, 3.7, 4.5):
        assert SafeHorizon.tube_probability(kappa) == pytest.approx(1.0 - 3.0 * 2.0 * norm.sf(kappa), rel=1e-12)


def test_soc_budget_of_a_constant_discharge_in_closed_form():
    c = SafeHorizonConfig()
    c.soc_min, c.step_s, c.max_horizon_s = 0.3, 10.0, 3000.0
    c.model_error_v = c.model_error_k = 0.0
    r = SafeHorizon(c).compute(np.array([0.5, 0.0, 0.0, CELL.ambient_temp_k]), np.zeros((4, 4)), np.array([5.0]))
    per_step = CELL.coulombic_efficiency * 5.0 * 10.0 / (3600.0 * CELL.capacity_ah)
    assert r.limit == HorizonLimit.soc_min
    assert r.tube_s == pytest.approx(math.floor(0.2 / per_step) * 10.0)
    assert not r.event and r.tau_s == r.tube_s


def test_each_node_kind_has_its_own_tube_and_the_result_is_the_earlier():
    # A 3C charge at SOC 0.7: the voltage tube leaves at once (an explicit event for the voltage
    # nodes), the temperature tube reaches the 30 s ceiling (15 A heats the cell well under 1 K/s).
    r = SafeHorizon().compute(np.array([0.7, -0.02, -0.03, CELL.ambient_temp_k + 5.0]), np.zeros((4, 4)),
                              np.array([-15.0]))
    assert r.event_voltage and r.tube_voltage_s == 0.0 and r.limit == HorizonLimit.voltage_max
    assert not r.event_temp and r.tube_temp_s == r.tau_temp_s == 30.0
    assert r.event and r.tau_s == r.tube_s == min(r.tube_voltage_s, r.tube_temp_s)


def test_a_nan_plan_is_refused_naming_the_call():
    with pytest.raises(NonFiniteInputError, match="SafeHorizon.compute failed: non_finite_input"):
        SafeHorizon().compute(np.array([0.5, 0.0, 0.0, 298.15]), np.zeros((4, 4)), np.array([1.0, math.nan]))
    c = SafeHorizonConfig()
    c.min_interval_s = 60.0  # above the 30 s ceiling
    with pytest.raises(ValueError, match="SafeHorizonConfig.min_interval_s"):
        SafeHorizon(c)


SCENARIO = dict(topology="2s2p", law="cccv", fault="none", soc0=0.4, ambient_c=25.0)


@needs_runner
@pytest.mark.xfail(strict=True, reason="issue 18's goal (>= 50 % fewer frames than every step) is not met since "
                   "measurements that bind the CBF filter report every step: 2569 of 3600 on this sample")
def test_self_triggered_sends_at_most_half_the_frames_of_every_step():
    every, self_t = (simulate(SCENARIO, np.random.default_rng(7), 600.0, 1.0, engine="core", reporting=rep,
                              report_period_s=1.0) for rep in ("every_step", "self_triggered"))
    assert 2 * self_t["frames"] <= every["frames"]


@needs_runner
def test_the_three_schemes_count_frames_as_scheduled_on_the_same_sample():
    runs = {}
    for rep, period in (("every_step", 1.0), ("periodic", 1.0), ("periodic", 10.0), ("periodic", 0.1),
                        ("self_triggered", 1.0)):
        runs[(rep, period)] = simulate(SCENARIO, np.random.default_rng(7), 600.0, 1.0, engine="core",
                                       reporting=rep, report_period_s=period)
    nodes = 2 * 3  # 2 series groups x (voltage a, voltage b, temperature)
    assert runs[("every_step", 1.0)]["frames"] == 600 * nodes
    assert runs[("periodic", 1.0)]["frames"] == 600 * nodes          # at dt = 1 s the same reports
    assert runs[("periodic", 10.0)]["frames"] == 60 * nodes          # t = 0, 10, ..., 590
    assert runs[("periodic", 0.1)]["frames"] == 6000 * nodes         # 10 frames per node per step
    every, self_t = runs[("every_step", 1.0)], runs[("self_triggered", 1.0)]
    assert self_t["frames"] == self_t["frames_voltage_a"] + self_t["frames_voltage_b"] + self_t["frames_temperature"]
    # Fewer frames, not the 50 %: this CC-CV charge spends its CV phase on the measured voltage
    # barrier, and while a measurement binds the filter the voltage nodes report every step
    # (report_schedule.hpp); measured: 2569 of 3600 (29 % fewer). The 50 % goal is not met.
    assert self_t["frames"] < every["frames"]
    assert self_t["missed_reports"] == 0
    assert not self_t["violated"] and not self_t["safe_stop"] and self_t["final_mode"] == "NORMAL"
    # periodic at 1 s on a 1 s loop is the every-step loop: the same record but the engine's clock
    def plain(r):  # NaN compares unequal to itself: as None
        return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in r.items() if k != "wall_s"}
    assert plain(every) == plain(runs[("periodic", 1.0)])


@needs_runner
def test_a_dropout_of_a_scheduled_node_is_silence_and_detected_under_self_triggered_reporting():
    sc = dict(SCENARIO, fault="voltage_dropout", onset_s=200.0)
    every = simulate(sc, np.random.default_rng(3), 600.0, 1.0, engine="core")
    self_t = simulate(sc, np.random.default_rng(3), 600.0, 1.0, engine="core", reporting="self_triggered")
    assert self_t["missed_reports"] > 0
    assert every["missed_reports"] == 400  # node a of one group, every step from 200 s
    if math.isfinite(every["detect_delay_s"]):  # detected: so it must be under self-triggered reporting
        assert math.isfinite(self_t["detect_delay_s"])


@needs_runner
def test_campaign_cli_reporting_option_adds_frames(tmp_path, capsys):
    args = ["campaign", "run", "off_nominal", "--n", "3", "--duration-s", "120", "--workers", "0", "--json"]
    assert main(args + ["--reporting", "self-triggered"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["reporting"] == "self_triggered"
    assert s["frames"] == sum(s["frames_by_node"].values()) > 0
    assert main(args + ["--reporting", "every-step", "--report-period-s", "2"]) == 2
    err = capsys.readouterr().err
    assert "--report-period-s" in err and "Traceback" not in err
