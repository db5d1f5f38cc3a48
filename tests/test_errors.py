"""safetwin.errors: each kind of core error raises its own class (the core's Status of the refused
call), the classes keep ValueError so that older callers still catch them, and a refused call
leaves the object's state unchanged. The transition causes of a stopped cycle name the reason."""
import math

import pytest

from safetwin import _core, battery, cycle, errors, safety

# The expected class of each core status, written from the table in safetwin/errors.py.
EXPECTED = {
    "invalid_argument": errors.InvalidArgumentError,
    "non_finite_input": errors.NonFiniteInputError,
    "not_initialised": errors.NotInitialisedError,
    "max_iterations": errors.NumericalError,
    "primal_infeasible": errors.NumericalError,
    "dual_infeasible": errors.NumericalError,
    "numerical_error": errors.NumericalError,
}


def test_decisions_are_not_statuses():
    # A fallback, a refusal, a missed deadline are what a component decided (its verdict's
    # decision field), not a failed call: no Status, no exception class.
    assert set(_core.Decision.__members__) == {"applied", "fallback", "rejected", "deadline_missed"}
    assert not set(_core.Decision.__members__) - {"applied"} & set(_core.Status.__members__)
    assert not hasattr(errors, "DeclinedError")


def test_every_status_but_ok_has_its_class():
    names = set(_core.Status.__members__)
    assert names == set(EXPECTED) | {"ok"}
    assert _core.raise_for_status(_core.Status.ok, "X.step") is None
    for name, cls in EXPECTED.items():
        with pytest.raises(cls) as info:
            _core.raise_for_status(_core.Status.__members__[name], "X.step")
        assert type(info.value) is cls  # the class itself, not only a base of it
        assert str(info.value).startswith("X.step ") and str(info.value).endswith(name)


@pytest.mark.parametrize(("cls", "bases"), [
    (errors.InvalidArgumentError, (errors.SafetwinError, ValueError)),
    (errors.NonFiniteInputError, (errors.InvalidArgumentError, errors.SafetwinError, ValueError)),
    (errors.NotInitialisedError, (errors.SafetwinError, RuntimeError, ValueError)),
    (errors.NumericalError, (errors.SafetwinError, RuntimeError, ValueError)),
])
def test_classes_keep_the_builtin_bases_older_callers_catch(cls, bases):
    for b in bases:
        assert issubclass(cls, b)
    assert cls.__module__ == "safetwin._core"
    others = {errors.InvalidArgumentError, errors.NotInitialisedError, errors.NumericalError}
    others.discard(cls)
    others.discard(cls.__mro__[1])
    assert not any(issubclass(cls, o) for o in others)


def test_non_finite_and_invalid_step_arguments_are_told_apart():
    cell = battery.Cell()
    before = cell.state.soc
    with pytest.raises(errors.NonFiniteInputError, match=r"current_a = nan: must be finite"):
        cell.step(math.nan, 1.0)
    with pytest.raises(errors.NonFiniteInputError, match=r"dt_s = inf"):
        cell.step(1.0, math.inf)
    with pytest.raises(errors.InvalidArgumentError, match=r"dt_s = 0: must be finite and > 0") as info:
        cell.step(1.0, 0.0)
    assert not isinstance(info.value, errors.NonFiniteInputError)
    assert cell.state.soc == before  # refused: nothing stepped
    cell.step(1.0, 1.0)
    assert cell.state.soc < before


def test_construction_validation_is_an_invalid_argument_error():
    p = battery.CellParams.ref_cell_1()
    p.capacity_ah = -1.0
    with pytest.raises(errors.InvalidArgumentError, match=r"capacity_ah = -1"):
        battery.Cell(p)
    p.capacity_ah = math.nan
    with pytest.raises(errors.NonFiniteInputError, match=r"capacity_ah = nan"):
        battery.Cell(p)


def test_a_step_status_raises_its_class_naming_the_call():
    mon = safety.MonitorDefinition(["x"], [safety.Invariant("p", "x", lo=-1.0, hi=1.0)]).build()
    mon.set("x", 0.0)
    mon.check(1.0)
    with pytest.raises(errors.InvalidArgumentError, match=r"^InvariantMonitor.check failed: invalid_argument$"):
        mon.check(1.0)  # time not increasing
    with pytest.raises(errors.NonFiniteInputError, match=r"^InvariantMonitor.check failed: non_finite_input$"):
        mon.check(math.nan)
    mon.check(2.0)  # the refused calls changed nothing: the clock is still at 1 s


class Hold(cycle.Controller):
    def compute(self, inp):
        return -2.0


def _cycle():
    cell = battery.CellParams.ref_cell_1()
    plant = battery.Cell(cell, battery.CellState(soc=0.5, temp_k=298.15))
    cyc = cycle.make_cycle(Hold(), cell=cell, soc0=0.5, soc_sigma0=0.05, temp0_k=298.15)
    v = plant.voltage_v(0.0)
    meas = [cycle.CycleMeasurements(time_s=float(k), voltage_a_v=v, voltage_b_v=v, temperature_k=298.15,
                                    current_a=0.0) for k in range(4)]
    return cyc, meas


@pytest.mark.parametrize("dt_s", [0.0, -1.0])
def test_a_non_positive_step_stops_the_cycle_as_invalid_step(dt_s):
    cyc, meas = _cycle()
    for m in meas[:3]:
        assert cyc.step(m, 1.0).status == safety.Status.ok
    st = cyc.step(meas[3], dt_s)
    assert st.status == safety.Status.invalid_argument and st.mode == safety.Mode.SAFE_STOP
    tr = cyc.transitions()
    assert len(tr) == 1 and tr[0]["time_s"] == 3.0
    assert tr[0]["cause"] == int(safety.TransitionCause.invalid_step)


def test_time_going_back_stops_the_cycle_as_monitor_failed():
    cyc, meas = _cycle()
    for m in meas[:3]:
        assert cyc.step(m, 1.0).status == safety.Status.ok
    st = cyc.step(meas[1], 1.0)  # finite, dt > 0, but t = 1 s after t = 2 s
    assert st.status == safety.Status.invalid_argument and st.mode == safety.Mode.SAFE_STOP
    assert st.command_a == 0.0
    tr = cyc.transitions()
    assert len(tr) == 1 and tr[0]["cause"] == int(safety.TransitionCause.monitor_failed)


def test_a_declining_law_is_a_decision_the_cycle_holds_not_a_failed_call():
    # Given a law that answers once, then declines (Decision.rejected) and fails (an exception),
    # when the cycle steps, then the controller's status stays ok and its decision says what
    # happened: the supervisor holds the last command (hold_max_s 2 s), then stops on the deadline.
    class OnceThenDeclines(cycle.Controller):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def compute(self, inp):
            self.calls += 1
            if self.calls == 1:
                return -2.0
            if self.calls == 2:
                return -2.0, safety.Decision.rejected
            raise RuntimeError("no output")

    law = OnceThenDeclines()
    cyc = cycle.make_cycle(law, soc0=0.5, hold_max_s=2.0)
    got = []
    for k in range(4):
        st = cyc.step(cycle.CycleMeasurements(time_s=float(k), voltage_a_v=3.75, voltage_b_v=3.75,
                                              temperature_k=298.15, current_a=got[-1][3] if got else 0.0), 1.0)
        got.append((st.controller_status, st.controller_decision, st.supervisor.decision, st.command_a, st.mode))
    D, S = safety.Decision, safety.Status
    assert [g[0] for g in got[:3]] == [S.ok, S.ok, S.ok]
    assert [g[1] for g in got[:3]] == [D.applied, D.rejected, D.fallback]  # the exception: its fallback
    assert got[1][2] == got[2][2] == D.applied and got[1][3] == got[2][3] == got[0][3]  # held
    # At t = 3 s the output has been missing for 3 s > hold_max_s: SAFE_STOP, on the deadline,
    # which is the supervisor's decision: the cycle's call itself worked.
    assert got[3][4] == safety.Mode.safe_stop and got[3][3] == 0.0
    assert got[3][2] == D.deadline_missed and got[3][0] == S.ok


def test_mode_is_spelled_as_the_other_enums_and_the_old_names_alias_it():
    for new, old in (("normal", "NORMAL"), ("derated", "DERATED"), ("safe_stop", "SAFE_STOP")):
        assert getattr(safety.Mode, new) == getattr(safety.Mode, old)
        assert getattr(safety.Mode, new).name == old  # the printed name moves with the next release
