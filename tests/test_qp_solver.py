"""The built-in dense QP solver against Clarabel and OSQP on the same QPs, KKT conditions, warm
starts and the statuses of infeasible, bad and badly scaled data."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetwin import battery, control

cp = pytest.importorskip("cvxpy")
osqp = pytest.importorskip("osqp")
sparse = pytest.importorskip("scipy.sparse")


def reference_solve(H, f, A, lower, upper, lb, ub, rho):
    """The same QP as one cvxpy model solved by Clarabel (interior point), slacks for soft rows."""
    n, m = len(f), len(lower)
    x = cp.Variable(n)
    s = cp.Variable(m, nonneg=True)
    soft = np.isfinite(rho)
    cons = []
    ax = A @ x
    for i in range(m):
        slack = s[i] if soft[i] else 0.0
        if np.isfinite(upper[i]):
            cons.append(ax[i] <= upper[i] + slack)
        if np.isfinite(lower[i]):
            cons.append(ax[i] >= lower[i] - slack)
    cons += [x[j] <= ub[j] for j in range(n) if np.isfinite(ub[j])]
    cons += [x[j] >= lb[j] for j in range(n) if np.isfinite(lb[j])]
    obj = 0.5 * cp.quad_form(x, cp.psd_wrap(H)) + f @ x + np.where(soft, rho, 0.0) @ s
    prob = cp.Problem(cp.Minimize(obj), cons)
    prob.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11, tol_feas=1e-11)
    return prob.status, (None if x.value is None else np.asarray(x.value)), prob.value


def objective(H, f, A, lower, upper, rho, x):
    ax = A @ x
    soft = np.isfinite(rho)
    pen = np.where(soft, rho, 0.0) * (np.maximum(0, ax - upper) + np.maximum(0, lower - ax))
    return 0.5 * x @ H @ x + f @ x + pen.sum()


def kkt_residuals(H, f, A, lower, upper, lb, ub, rho, sol):
    """Largest violation of stationarity, feasibility, complementarity and multiplier ranges."""
    x, y, z = sol.x, sol.y, sol.z
    ax = A @ x
    scale = max(1.0, np.abs(f).max(), np.abs(H).max())
    e = {"stationarity": np.abs(H @ x + f + A.T @ y + z).max() / scale}
    soft = np.isfinite(rho)
    hard_viol = np.concatenate([np.where(soft, 0, np.maximum(0, ax - upper)), np.where(soft, 0, np.maximum(0, lower - ax)),
                                np.maximum(0, x - ub), np.maximum(0, lb - x)])
    e["feasibility"] = hard_viol.max(initial=0.0)
    # y_i > 0 only at the upper limit (or above it, soft), < 0 only at the lower one; |y| <= rho.
    with np.errstate(invalid="ignore"):  # 0 * inf for rows without that limit: no condition
        comp = np.where(y > 0, np.abs(y) * np.maximum(0, upper - ax), np.abs(y) * np.maximum(0, ax - lower))
        comp = np.concatenate([comp, np.where(z > 0, z * (ub - x), -z * (x - lb))])
    e["complementarity"] = np.nan_to_num(comp, nan=0.0).max(initial=0.0)
    e["multiplier_range"] = np.maximum(0, np.abs(y) - np.where(soft, rho, np.inf)).max(initial=0.0)
    # A violated soft row pays its full penalty: |y| = rho.
    violated = soft & ((ax > upper + 1e-7) | (ax < lower - 1e-7))
    e["soft_at_penalty"] = np.abs(np.abs(y[violated]) - rho[violated]).max(initial=0.0)
    return e


@st.composite
def feasible_qps(draw):
    n = draw(st.integers(1, 8))
    m = draw(st.integers(0, 10))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n))
    cond = draw(st.sampled_from([1e-2, 1.0]))
    H = M @ M.T + cond * np.eye(n)
    f = rng.normal(scale=3.0, size=n)
    A = rng.normal(size=(m, n))
    x_feas = rng.uniform(-0.5, 0.5, size=n)
    ax = A @ x_feas
    lower = ax - rng.uniform(0.05, 1.0, size=m)
    upper = ax + rng.uniform(0.05, 1.0, size=m)
    lower[rng.random(m) < 0.4] = -np.inf
    lb, ub = np.full(n, -1.0), np.full(n, 1.0)
    rho = np.where(rng.random(m) < 0.5, rng.uniform(0.1, 5.0, size=m), np.inf)
    return H, f, A, lower, upper, lb, ub, rho


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feasible_qps())
def test_random_qps_match_clarabel_and_satisfy_kkt(qp):
    H, f, A, lower, upper, lb, ub, rho = qp
    solver = control.DenseQpSolver(8, 10)
    sol = solver.solve(H, f, A, lower, upper, lb, ub, rho)
    assert sol.status == control.QpStatus.optimal
    status, x_ref, _ = reference_solve(H, f, A, lower, upper, lb, ub, rho)
    assert status == "optimal"
    obj, obj_ref = objective(H, f, A, lower, upper, rho, sol.x), objective(H, f, A, lower, upper, rho, x_ref)
    assert sol.objective == pytest.approx(obj, rel=1e-12, abs=1e-12)
    assert abs(obj - obj_ref) <= 1e-6 * max(1.0, abs(obj_ref))
    for name, value in kkt_residuals(H, f, A, lower, upper, lb, ub, rho, sol).items():
        assert value < 1e-7, name


@settings(max_examples=25, deadline=None)
@given(feasible_qps())
def test_hard_qps_match_osqp(qp):
    H, f, A, lower, upper, lb, ub, _ = qp
    rho = np.full(len(lower), np.inf)
    sol = control.DenseQpSolver(8, 10).solve(H, f, A, lower, upper, lb, ub, rho)
    assert sol.status == control.QpStatus.optimal
    n = len(f)
    C = sparse.csc_matrix(np.vstack([A, np.eye(n)]))
    prob = osqp.OSQP()
    prob.setup(sparse.triu(sparse.csc_matrix(H), format="csc"), f, C, np.concatenate([lower, lb]),
               np.concatenate([upper, ub]), eps_abs=1e-10, eps_rel=1e-10, max_iter=200000, polishing=True,
               verbose=False)
    res = prob.solve(raise_error=False)
    assert res.info.status_val == osqp.SolverStatus.OSQP_SOLVED
    obj_ref = 0.5 * res.x @ H @ res.x + f @ res.x
    assert sol.objective == pytest.approx(obj_ref, rel=1e-6, abs=1e-6)
    # OSQP's multipliers (y for [A; I]) are those of the same Lagrangian.
    assert np.allclose(sol.y, res.y[:len(lower)], atol=1e-5)
    assert np.allclose(sol.z, res.y[len(lower):], atol=1e-5)


def mpc_fc_qps(steps=(5, 300, 310, 400, 600, 900), horizon=30):
    """QPs of MPC-FC taken from the closed loop with the built-in solver, and the MPC's solutions."""
    mpc = control.BatteryMpc(control.BatteryMpcConfig())
    mpc.set_horizon(horizon)
    cell = battery.Cell(battery.CellParams.ref_cell_1(), battery.CellState(soc=0.1, temp_k=298.15))
    last, out = 0.0, []
    for k in range(max(steps) + 1):
        s = cell.state
        status, o = mpc.compute(control.ControllerInput(np.array([s.soc, s.v1_v, s.v2_v, s.temp_k]), last_current_a=last))
        assert status == battery_status_ok()
        if k in steps:
            out.append((mpc.last_qp(), mpc.last_step.iterations))
        cell.step(o.current_a, 1.0)
        last = o.current_a
    return out


def battery_status_ok():
    from safetwin._core import Status

    return Status.ok


@pytest.fixture(scope="module")
def mpc_qps():
    return mpc_fc_qps()


def test_mpc_fc_qps_match_clarabel_and_satisfy_kkt(mpc_qps):
    solver = control.DenseQpSolver(30, 60)
    active_soft = 0
    for qp, _ in mpc_qps:
        args = (qp.H, qp.f, qp.A, qp.lower, qp.upper, qp.lb, qp.ub, qp.soft_penalty)
        sol = solver.solve(*args, hessian_id=qp.hessian_id)
        assert sol.status == control.QpStatus.optimal
        status, x_ref, _ = reference_solve(*args)
        assert status == "optimal"
        obj, obj_ref = sol.objective, objective(qp.H, qp.f, qp.A, qp.lower, qp.upper, qp.soft_penalty, x_ref)
        assert abs(obj - obj_ref) <= 1e-6 * max(1.0, abs(obj_ref))
        for name, value in kkt_residuals(*args, sol).items():
            assert value < 1e-7, name
        active_soft += int(np.sum(np.abs(sol.row_state) >= 1))
    assert active_soft > 0  # the sample includes QPs where the voltage/temperature rows bind
    assert solver.factorisations == 1  # one Hessian for the whole charge


def test_warm_start_cuts_iterations_on_mpc_fc(mpc_qps):
    # The MPC warm-starts from its shifted previous working set; solving the same QPs cold takes more.
    solver = control.DenseQpSolver(30, 60)
    warm = sum(it for _, it in mpc_qps)
    cold = sum(solver.solve(q.H, q.f, q.A, q.lower, q.upper, q.lb, q.ub, q.soft_penalty).iterations
               for q, _ in mpc_qps)
    assert warm * 3 < cold
    # And a warm start from the exact solution of the same QP needs no iteration at all.
    q = mpc_qps[3][0]
    args = (q.H, q.f, q.A, q.lower, q.upper, q.lb, q.ub, q.soft_penalty)
    first = solver.solve(*args)
    again = solver.solve(*args, warm=first)
    assert first.iterations > 0
    assert again.iterations == 0
    assert np.allclose(again.x, first.x, atol=1e-12)


def test_infeasible_inconsistent_and_bad_data_statuses():
    s = control.DenseQpSolver(3, 3)
    H, f = np.eye(2), np.zeros(2)
    # x0 + x1 >= 3 with x in [0, 1]^2
    sol = s.solve(H, f, np.array([[1.0, 1.0]]), lower=np.array([3.0]), lb=np.zeros(2), ub=np.ones(2))
    assert sol.status == control.QpStatus.primal_infeasible
    # x0 <= 0 and x0 >= 1 as two hard rows
    sol = s.solve(H, f, np.array([[1.0, 0.0], [1.0, 0.0]]), lower=np.array([-np.inf, 1.0]), upper=np.array([0.0, np.inf]))
    assert sol.status == control.QpStatus.primal_infeasible
    # Clarabel agrees that it is infeasible
    status, _, _ = reference_solve(H, f, np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([-np.inf, 1.0]),
                                   np.array([0.0, np.inf]), np.full(2, -np.inf), np.full(2, np.inf), np.full(2, np.inf))
    assert status == "infeasible"
    assert s.solve(H, np.array([np.nan, 0.0])).status == control.QpStatus.invalid_input
    assert s.solve(np.array([[1.0, 2.0], [2.0, 1.0]]), f).status == control.QpStatus.numerical_error  # indefinite
    assert s.solve(np.ones((2, 2)), f).status == control.QpStatus.numerical_error  # singular
    with pytest.raises(ValueError, match="H must have shape"):
        s.solve(np.eye(3), f)
    with pytest.raises(ValueError, match="exceeds n_max"):
        s.solve(np.eye(4), np.zeros(4))
    with pytest.raises(ValueError, match="lower must have shape"):
        s.solve(H, f, np.ones((1, 2)), lower=np.zeros(2))
    with pytest.raises(ValueError, match="DenseQpSettings.max_iterations"):
        control.DenseQpSettings(max_iterations=0)


def test_badly_scaled_qp_solved_to_the_reference():
    # Variables in units 1e-4 and 1e4 apart, rows with coefficients 1e6 and 1e-6.
    rng = np.random.default_rng(3)
    n, m = 6, 8
    d = 10.0 ** rng.uniform(-4, 4, size=n)
    M = rng.normal(size=(n, n))
    H0 = M @ M.T + np.eye(n)
    H = H0 / np.outer(d, d)
    f = rng.normal(size=n) / d
    A = rng.normal(size=(m, n)) / d * 10.0 ** rng.uniform(-6, 6, size=(m, 1))
    upper = A @ (0.1 * d) + np.abs(A) @ d * 0.01
    lower = np.full(m, -np.inf)
    lb, ub = -d, d
    rho = np.full(m, np.inf)
    sol = control.DenseQpSolver(n, m).solve(H, f, A, lower, upper, lb, ub, rho)
    assert sol.status == control.QpStatus.optimal
    # Reference in the well-scaled variables u = x / d (same problem): Clarabel there.
    As = A * d
    r = np.linalg.norm(As, axis=1)
    status, u_ref, _ = reference_solve(H0, f * d, As / r[:, None], lower, upper / r, -np.ones(n), np.ones(n), rho)
    assert status == "optimal"
    assert np.allclose(sol.x / d, u_ref, atol=1e-7)
    # A Hessian that is singular to working precision (condition ~1e17) after the diagonal scaling
    # is refused, not solved into garbage.
    eps = 1e-17
    bad = np.array([[1.0, 1.0 - eps], [1.0 - eps, 1.0]]) * np.outer([1e-4, 1e4], [1e-4, 1e4])
    assert control.DenseQpSolver(2, 0).solve(bad, np.ones(2)).status == control.QpStatus.numerical_error
