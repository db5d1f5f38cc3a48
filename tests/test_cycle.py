"""The control cycle from Python: a control law written in Python in the controller's place,
guarded by the C++ filter and supervisor, in closed loop with the reference plant (battery.Cell,
REF-CELL-1) and noisy sensors (EST-DRIVE noise: 2 mV, 0.2 K, 20 mA)."""
import math

import numpy as np
import pytest

from safetwin import battery, cycle, safety

C0 = battery.ZERO_CELSIUS_K


class MaxCharge(cycle.Controller):
    """Deliberately unsafe: always the maximum charge current, whatever the state."""

    def __init__(self):
        super().__init__()
        self.calls = 0

    def compute(self, inp):
        self.calls += 1
        return -15.0


class LateAfter(cycle.Controller):
    def __init__(self, t_late):
        super().__init__()
        self.t_late = t_late

    def compute(self, inp):
        return -2.0 if inp.time_s < self.t_late else None  # None: no output this cycle


class Raises(cycle.Controller):
    def __init__(self):
        super().__init__()

    def compute(self, inp):
        raise RuntimeError("law failed")


def closed_loop(law, steps, *, soc0=0.5, ambient_c=25.0, seed=0, monitor=None, hold_max_s=None,
                corrupt=None):
    """Plant + sensors + cycle. Row k: the plant's voltage/temperature under the command of step k."""
    cell = battery.CellParams.ref_cell_1()
    cell.ambient_temp_k = ambient_c + C0
    plant = battery.Cell(cell, battery.CellState(soc=soc0, temp_k=ambient_c + C0))
    cyc = cycle.make_cycle(law, cell=cell, soc0=soc0 - 0.03, soc_sigma0=0.05, temp0_k=ambient_c + C0,
                           monitor=monitor, hold_max_s=hold_max_s,
                           voltage_model_sigma_v=0.0)  # the plant is the estimator's own model
    rng = np.random.default_rng(seed)
    i_prev, v_prev, t_prev = 0.0, plant.voltage_v(0.0), plant.state.temp_k
    rows = []
    for k in range(steps):
        meas = cycle.CycleMeasurements(
            time_s=float(k), voltage_a_v=v_prev + rng.normal(0, 0.002), voltage_b_v=v_prev + rng.normal(0, 0.002),
            temperature_k=t_prev + rng.normal(0, 0.2), current_a=i_prev + rng.normal(0, 0.02))
        if corrupt is not None:
            corrupt(k, meas)
        st = cyc.step(meas, 1.0)
        assert math.isfinite(st.command_a)
        i_prev = st.command_a if st.contactor_closed else 0.0
        t_prev = plant.state.temp_k
        v_prev = plant.step(i_prev, 1.0)
        rows.append((k, st.command_a, v_prev, t_prev, int(st.mode), st.cbf.active, st.status))
    return cyc, plant, rows


@pytest.mark.parametrize("ambient_c, binding", [
    (25.0, (safety.Barrier.voltage_max, safety.Barrier.measured_voltage_max)),
    (40.0, (safety.Barrier.temp_max, safety.Barrier.measured_temp_max))])  # the model's or the measured one
def test_unsafe_python_law_is_kept_inside_the_limits(ambient_c, binding):
    law = MaxCharge()
    cyc, plant, rows = closed_loop(law, 2400, ambient_c=ambient_c)
    cmd = np.array([r[1] for r in rows])
    volts = np.array([r[2] for r in rows])
    temps = np.array([r[3] for r in rows])
    active = np.array([r[5] for r in rows])
    assert law.calls == 2400                          # the Python law ran every cycle
    assert volts.max() <= 4.2 + 0.005                 # the whole run
    assert temps.max() <= 45.0 + C0 + 0.1
    assert cmd.min() == -15.0                         # the request passed while it was safe
    mask = sum(1 << int(b) for b in binding)
    assert ((active & mask) != 0).sum() > 100         # the expected barrier did the work
    assert plant.state.soc > 0.9                      # and the cell still charged
    assert all(r[4] == int(safety.Mode.NORMAL) for r in rows)


def test_nan_measurement_stops_within_one_cycle():
    def corrupt(k, meas):
        if k == 50:
            meas.temperature_k = float("nan")
    cyc, plant, rows = closed_loop(MaxCharge(), 60, corrupt=corrupt)
    assert rows[49][4] == int(safety.Mode.NORMAL) and rows[49][1] < -5.0  # charging (V-limited)
    assert rows[50][4] == int(safety.Mode.SAFE_STOP)
    assert rows[50][1] == 0.0 and rows[50][6] == safety.Status.non_finite_input
    assert all(r[1] == 0.0 and r[4] == int(safety.Mode.SAFE_STOP) for r in rows[50:])
    tr = cyc.transitions()
    assert len(tr) == 1 and tr[0]["time_s"] == 50.0
    assert tr[0]["cause"] == int(safety.TransitionCause.non_finite_input)


def test_late_python_law_stops_after_the_configured_hold():
    cyc, plant, rows = closed_loop(LateAfter(20.0), 40, hold_max_s=5.0)
    modes = [r[4] for r in rows]
    # last good output at 19 s; held while 20..24 s (missing for <= 5 s), SAFE_STOP at 25 s.
    assert [r[1] for r in rows[20:25]] == [-2.0] * 5
    assert modes[24] == int(safety.Mode.NORMAL)
    assert modes[25] == int(safety.Mode.SAFE_STOP) and rows[25][1] == 0.0
    assert cyc.transitions()[0]["cause"] == int(safety.TransitionCause.deadline)
    assert cyc.transitions()[0]["time_s"] == 25.0


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_law_that_raises_counts_as_missing_output():
    cyc, plant, rows = closed_loop(Raises(), 10, hold_max_s=3.0)
    assert all(r[1] == 0.0 for r in rows)  # nothing good was ever held: zero
    assert rows[3][4] == int(safety.Mode.NORMAL) and rows[4][4] == int(safety.Mode.SAFE_STOP)


def test_python_monitor_definition_and_trust_signal_drive_the_mode():
    mon = safety.MonitorDefinition(
        ["temperature_k", "trust_node_a"],
        safety.tiered("t_high", "temperature_k", side="hi", operating=38.0 + C0, recommended=41.0 + C0,
                      maximum=50.0 + C0, set_count=3)
        + [safety.Invariant("trust_a", "trust_node_a", lo=0.5, severity="stop")])
    cyc = cycle.make_cycle(MaxCharge(), soc0=0.5, monitor=mon, derate_factor=0.4)
    cyc.set_signal("trust_node_a", 1.0)
    m = lambda t, temp: cycle.CycleMeasurements(t, 3.75, 3.75, temp + C0, 0.0)  # noqa: E731
    assert cyc.step(m(0, 25.0), 1.0).mode == safety.Mode.NORMAL
    for t in (1, 2):
        assert cyc.step(m(t, 42.0), 1.0).mode == safety.Mode.NORMAL   # debounce: 1, 2 of 3
    st = cyc.step(m(3, 42.0), 1.0)
    assert st.mode == safety.Mode.DERATED and st.command_a >= -15.0 * 0.4
    cyc.set_noise_scale(cycle.CycleChannel.voltage_b, 9.0)  # the trust layer's entry point
    assert cyc.noise_scale(cycle.CycleChannel.voltage_b) == 9.0
    with pytest.raises(ValueError, match="set_noise_scale"):
        cyc.set_noise_scale(cycle.CycleChannel.voltage_b, 0.5)
    assert cyc.noise_scale(cycle.CycleChannel.voltage_b) == 9.0  # unchanged after the refusal
    cyc.set_signal("trust_node_a", 0.1)
    st = cyc.step(m(4, 30.0), 1.0)
    assert st.mode == safety.Mode.SAFE_STOP and st.command_a == 0.0 and not st.contactor_closed
    tr = cyc.transitions()
    assert [(t["time_s"], cyc.invariant_name(t["invariant"])) for t in tr] == [
        (3.0, "t_high.recommended"), (4.0, "trust_a")]
    cyc.reset(4.5)
    cyc.set_signal("trust_node_a", 1.0)
    assert cyc.step(m(5, 30.0), 1.0).mode == safety.Mode.NORMAL


def test_losing_trust_in_the_voltage_sensors_widens_the_margin():
    """The trust layer's noise scale inflates the estimator's covariance; the filter's margin follows."""
    def run(scale):
        law = MaxCharge()
        cell = battery.CellParams.ref_cell_1()
        plant = battery.Cell(cell, battery.CellState(soc=0.3))
        cyc = cycle.make_cycle(law, soc0=0.3, soc_sigma0=0.05, voltage_model_sigma_v=0.0)
        i, v, margins = 0.0, plant.voltage_v(0.0), []
        for k in range(400):
            if k == 100:
                cyc.set_noise_scale(cycle.CycleChannel.voltage_a, scale)
                cyc.set_noise_scale(cycle.CycleChannel.voltage_b, scale)
            t = plant.state.temp_k
            st = cyc.step(cycle.CycleMeasurements(float(k), v, v, t, i), 1.0)
            margins.append(st.cbf.voltage_margin_v)
            i = st.command_a
            v = plant.step(i, 1.0)
        return np.array(margins)
    trusted, distrusted = run(1.0), run(1e4)
    np.testing.assert_array_equal(trusted[:100], distrusted[:100])
    assert distrusted[399] > 2.0 * trusted[399]
    assert trusted[99] < 0.5 * trusted[0]  # with trust, the margin shrinks as the estimate converges
