"""MPC-FC from Python: the C++ battery MPC in closed loop, against the CasADi nonlinear MPC and the
whole-problem cvxpy model; the same closed loop with Python solver hooks; chance margins."""
from __future__ import annotations

import numpy as np
import pytest

from safetwin import battery, control
from safetwin._core import Decision, Status

T25 = 298.15


def fresh_cell(state=None):
    return battery.Cell(battery.CellParams.ref_cell_1(), state or battery.CellState(soc=0.10, temp_k=T25))


def mpc(horizon=30, **fields):
    cfg = control.BatteryMpcConfig()
    cfg.horizon = horizon
    for k, v in fields.items():
        setattr(cfg, k, v)
    return control.BatteryMpc(cfg)


@pytest.fixture(scope="module")
def builtin_run():
    return control.run_charge_loop(fresh_cell(), mpc())


def test_closed_loop_reaches_soc_079_within_limits(builtin_run):
    r = builtin_run
    assert r["reached"]
    assert r["non_ok_steps"] == 0
    assert r["voltage_v"].max() <= 4.2 + 0.005
    assert r["temp_k"].max() <= 45.0 + 273.15 + 0.1
    assert r["soc"][-1] >= 0.79
    assert np.all((r["current_a"] >= -15.0) & (r["current_a"] <= 0.0))
    # The loop's interpolated crossing lies inside the last step.
    assert r["steps"] - 1 <= r["time_to_stop_s"] <= r["steps"]


def test_time_to_079_matches_the_casadi_nonlinear_mpc():
    pytest.importorskip("casadi")
    from safetwin.control.prototypes import CasadiNmpc, MpcFcSettings

    horizon = 10  # the spec's shortest scaling run keeps IPOPT's share of the test time small
    nmpc = CasadiNmpc(MpcFcSettings(horizon=horizon))
    ref = control.run_charge_loop(fresh_cell(), nmpc)
    assert ref["reached"] and ref["non_ok_steps"] == 0
    ours = control.run_charge_loop(fresh_cell(), mpc(horizon))
    assert ours["time_to_stop_s"] == pytest.approx(ref["time_to_stop_s"], rel=0.01)  # the goal: 1 %
    # Both meet the limits; the linear MPC tracks the nonlinear one's current profile closely.
    assert ref["temp_k"].max() <= 318.15 + 0.1 and ref["voltage_v"].max() <= 4.205
    k = min(ours["steps"], ref["steps"])
    assert np.median(np.abs(ours["current_a"][:k] - ref["current_a"][:k])) < 0.05


def test_casadi_equations_equal_the_cores_one_model():
    """The NMPC's symbolic step and voltage (CasADi needs expressions) against the core's model."""
    pytest.importorskip("casadi")
    from safetwin.control.prototypes import CasadiNmpc, MpcFcSettings

    nmpc = CasadiNmpc(MpcFcSettings(horizon=2))
    cell = battery.CellParams.ref_cell_1()
    rng = np.random.default_rng(3)
    for _ in range(20):
        x = np.array([rng.uniform(0.05, 0.95), rng.uniform(-0.1, 0.1), rng.uniform(-0.3, 0.3), rng.uniform(280, 320)])
        i = rng.uniform(-15, 10)
        step = battery.linearise_step(cell, x, i, 1.0)
        np.testing.assert_allclose(nmpc.step_fn(x, i).full().ravel(), step["x_next"], rtol=1e-13, atol=1e-13)
        v = battery.linearise_voltage(cell, x, i)["v"]
        assert float(nmpc.voltage_fn(x, i)) == pytest.approx(v, abs=1e-12)


def test_cvxpy_whole_problem_model_gives_the_same_move():
    pytest.importorskip("cvxpy")
    from safetwin.control.prototypes import CvxpyMpc, MpcFcSettings

    proto = CvxpyMpc(MpcFcSettings(horizon=30))
    ours = mpc(30, cold_start_linearisations=1, cold_start_cccv=False)  # both linearise about the last current held
    for x, last in [((0.5, -0.05, -0.2, 317.0), -12.0), ((0.75, -0.08, -0.3, 315.0), -6.0),
                    ((0.3, -0.1, -0.3, 318.0), -15.0)]:
        inp = control.ControllerInput(np.array(x), last_current_a=last)
        i_proto, st_proto = proto.compute(inp)
        st, out = ours.compute(inp)
        assert st == Status.ok and st_proto == Status.ok
        # Clarabel's default tolerances on the unscaled sparse model: about 1e-6 A here.
        assert out.current_a == pytest.approx(i_proto, abs=1e-4)
        proto.plan = None
        ours.reset()


def limit_phase_state():
    """A state just before the temperature limit binds (from the built-in closed loop)."""
    cell = fresh_cell()
    control.run_charge_loop(cell, mpc(), max_steps=290)
    return cell.state


@pytest.mark.parametrize("name", ["osqp", "cvxpy", "casadi", "daqp"])
def test_python_hooks_close_the_same_loop(name):
    pytest.importorskip({"osqp": "osqp", "cvxpy": "cvxpy", "casadi": "casadi", "daqp": "daqp"}[name])
    state = limit_phase_state()
    ref = control.run_charge_loop(fresh_cell(state), mpc(), max_steps=40)
    hook = control.make_solver(name)
    with_hook = control.BatteryMpc(control.BatteryMpcConfig(), hook)
    got = control.run_charge_loop(fresh_cell(state), with_hook, max_steps=40)
    assert got["non_ok_steps"] == 0, hook.last_error
    assert got["temp_k"].max() > 318.15 - 0.05  # the thermal limit binds in this window
    # Same problem, another solver: the same currents to the solvers' tolerances.
    assert np.abs(got["current_a"] - ref["current_a"]).max() < 1e-3


class RaisingHook(control.QpSolver):
    def __init__(self):
        control.QpSolver.__init__(self)

    def solve(self, qp):
        raise RuntimeError("solver exploded")


class WrongShapeHook(control.QpSolver):
    def __init__(self):
        control.QpSolver.__init__(self)

    def solve(self, qp):
        return np.zeros(qp.n + 1)


class NanHook(control.QpSolver):
    def __init__(self):
        control.QpSolver.__init__(self)

    def solve(self, qp):
        return np.full(qp.n, np.nan), "optimal", 3


class NotConvergedHook(control.QpSolver):
    def __init__(self):
        control.QpSolver.__init__(self)

    def solve(self, qp):
        return np.zeros(qp.n), "max_iterations", 1000


@pytest.mark.parametrize("hook_cls,message", [(RaisingHook, "solver exploded"), (WrongShapeHook, "expected shape"),
                                              (NanHook, ""), (NotConvergedHook, "")])
def test_bad_hook_gives_fallback_not_crash(hook_cls, message):
    m = mpc()
    inp = control.ControllerInput(np.array([0.3, 0.0, 0.0, T25]), last_current_a=-15.0)
    st, out = m.compute(inp)
    assert st == Status.ok
    plan = m.plan_a
    hook = hook_cls()
    m.set_solver(hook)
    inp.current_min_a = -12.0
    st, out = m.compute(inp)
    assert st == Status.ok and out.decision == Decision.fallback  # the call worked; it fell back
    assert m.last_step.decision == Decision.fallback
    assert np.isfinite(out.current_a)
    assert out.current_a == pytest.approx(np.clip(plan[1], -12.0, 0.0))
    assert message in hook.last_error
    if hook_cls in (RaisingHook, WrongShapeHook):
        assert m.last_step.qp_status == control.QpStatus.solver_error
    # The whole closed loop with a broken hook runs to the end with finite currents.
    r = control.run_charge_loop(fresh_cell(), control.BatteryMpc(control.BatteryMpcConfig(), hook_cls()),
                                max_steps=20)
    assert r["steps"] == 20 and r["non_ok_steps"] == 20
    assert np.all(np.isfinite(r["current_a"]))


def test_callable_hook_and_python_controller():
    from safetwin.control.hooks import CallableHook

    # Any function of the QP: here the built-in solver called from Python (the same answers).
    inner = control.DenseQpSolver(30, 60)

    def fn(qp):
        sol = inner.solve(qp.H, qp.f, qp.A, qp.lower, qp.upper, qp.lb, qp.ub, qp.soft_penalty)
        return sol.x, sol.status, sol.iterations

    state = limit_phase_state()
    ref = control.run_charge_loop(fresh_cell(state), mpc(), max_steps=20)
    got = control.run_charge_loop(fresh_cell(state), control.BatteryMpc(control.BatteryMpcConfig(), CallableHook(fn)),
                                  max_steps=20)
    assert np.abs(got["current_a"] - ref["current_a"]).max() < 1e-9

    class HalfC(control.Controller):
        """A control law written in Python: C/2 charge, a NaN once (refused by the trampoline)."""

        def __init__(self):
            control.Controller.__init__(self)
            self.calls = 0

        def compute(self, inp):
            self.calls += 1
            return (np.nan if self.calls in (3, 10) else -2.575), Status.ok

    law = HalfC()
    r = control.run_charge_loop(fresh_cell(), law, max_steps=10)
    assert r["steps"] == 10 and law.calls == 10
    for k in (2, 9):
        assert r["current_a"][k] == 0.0 and r["decision"][k] == int(Decision.fallback)
        assert r["status"][k] == int(Status.ok)
    assert np.all(np.delete(r["current_a"], [2, 9]) == -2.575)
    assert "non-finite" in law.last_error  # the message of the last call


def test_chance_multipliers_and_margins_are_monotone():
    stats = pytest.importorskip("scipy.stats")
    for alpha in (0.001, 0.01, 0.05, 0.2, 0.5):
        assert control.chance_multiplier(control.ChanceForm.gaussian, alpha) == pytest.approx(
            stats.norm.ppf(1 - alpha), abs=1e-12)
        assert control.chance_multiplier(control.ChanceForm.cantelli, alpha) == pytest.approx(
            np.sqrt((1 - alpha) / alpha))
    with pytest.raises(ValueError, match="alpha"):
        control.chance_multiplier(control.ChanceForm.gaussian, 0.6)

    def margins(alpha, scale, form=control.ChanceForm.gaussian):
        m = mpc(10, chance_alpha=alpha, chance_form=form, cold_start_linearisations=1, cold_start_cccv=False)
        P = np.diag([1e-4, 1e-5, 1e-5, 0.04]) * scale
        st, _ = m.compute(control.ControllerInput(np.array([0.5, 0.0, 0.0, 310.0]), P=P, last_current_a=-10.0))
        assert st == Status.ok
        return np.concatenate([m.margin_voltage_v, m.margin_temp_k])

    alphas = [0.005, 0.01, 0.05, 0.1, 0.3]
    by_alpha = [margins(a, 1.0) for a in alphas]
    for tighter, looser in zip(by_alpha, by_alpha[1:]):
        assert np.all(tighter > looser)
    by_var = [margins(0.05, s) for s in (0.25, 1.0, 4.0)]
    for small, large in zip(by_var, by_var[1:]):
        assert np.all(large > small)
        assert np.allclose(large, 2.0 * small)  # margin ~ sqrt(variance)
    assert np.all(margins(0.05, 1.0, control.ChanceForm.cantelli) > by_alpha[2])


def test_bad_input_and_bad_config():
    m = mpc()
    st, out = m.compute(control.ControllerInput(np.array([np.nan, 0, 0, T25])))
    assert st == Status.non_finite_input and np.isfinite(out.current_a)
    st, out = m.compute(control.ControllerInput(np.array([0.3, 0, 0, T25]), P=np.full((4, 4), np.inf)))
    assert st == Status.non_finite_input and np.isfinite(out.current_a)
    st, out = m.compute(control.ControllerInput(np.array([0.3, 0, 0, T25]), current_min_a=3.0, current_max_a=1.0))
    assert st == Status.invalid_argument and out.current_a == 0.0
    with pytest.raises(ValueError, match="max_horizon = 120"):
        m.set_horizon(500)
    cfg = control.BatteryMpcConfig()
    cfg.horizon = 200
    with pytest.raises(ValueError, match="BatteryMpcConfig.horizon"):
        control.BatteryMpc(cfg)
    cfg = control.BatteryMpcConfig()
    cfg.chance_alpha = 0.9
    with pytest.raises(ValueError, match="BatteryMpcConfig.chance_alpha"):
        cfg.validate()
    with pytest.raises(ValueError, match="solver = 'gurobi'"):
        control.make_solver("gurobi")
