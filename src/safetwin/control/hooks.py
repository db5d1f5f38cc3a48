"""QP solver hooks written in Python, pluggable into the C++ MPC (``BatteryMpc(config, hook)``).

A hook is a ``safetwin.control.QpSolver`` subclass whose ``solve(self, qp)`` receives a
``QpProblem`` (numpy copies of the condensed, already scaled QP) and returns ``x`` or
``(x, status, iterations)``. The C++ MPC calls it inside its own closed loop with the GIL taken;
anything a hook raises or returns wrongly becomes ``QpStatus.solver_error`` (message in
``hook.last_error``) and the MPC applies its fallback.

The QP has L1-softened rows (``soft_penalty`` finite), which the built-in solver handles inside;
general solvers get the standard slack form (``slack_form``): one slack ``s_i >= 0`` per soft row,
``lower_i - s_i <= A_i x <= upper_i + s_i`` and ``soft_penalty_i * s_i`` in the cost -- the same
optimum, with ``n + (#soft rows)`` variables.

Hooks shipped here (extra ``solvers``): ``OsqpHook`` (osqp directly: set up once, then matrices
and vectors updated in place and warm-started), ``CvxpyHook`` (any cvxpy QP solver, parameters
updated in place), ``CasadiHook`` (CasADi's ``conic`` interface: qpOASES, OSQP, HiGHS, ...),
``DaqpHook`` (DAQP, the dual active-set anchor), and ``CallableHook`` (any function of a QpProblem).
Each records ``solver_time_s``: the wall time of its last library call alone (benchmarks).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from safetwin._core import QpProblem, QpSolver, QpStatus


@dataclass
class SlackQp:
    """min 1/2 z'Pz + q'z  s.t.  l <= C z <= u, zl <= z <= zu, with z = [x, s]."""

    P: np.ndarray
    q: np.ndarray
    C: np.ndarray
    l: np.ndarray
    u: np.ndarray
    zl: np.ndarray
    zu: np.ndarray
    n: int
    soft: np.ndarray  # indices of the soft rows (one slack each, in order)
    hard: np.ndarray  # indices of the hard rows

    @property
    def nz(self) -> int:
        return self.P.shape[0]


def slack_form(qp: QpProblem, slack_curvature: float = 0.0) -> SlackQp:
    """The standard-form QP of a softened one: rows [A_hard 0; A_soft -I; A_soft +I].

    ``slack_curvature`` adds that much to the Hessian diagonal of the slacks, for solvers that
    require a positive definite Hessian (it changes the optimum by O(slack_curvature * s^2)).
    """
    n, m = qp.n, qp.m
    rho = np.asarray(qp.soft_penalty)
    soft = np.flatnonzero(np.isfinite(rho))
    hard = np.flatnonzero(~np.isfinite(rho))
    ns = soft.size
    nz = n + ns
    P = np.zeros((nz, nz))
    P[:n, :n] = qp.H
    P[n:, n:] = slack_curvature * np.eye(ns)
    q = np.concatenate([qp.f, rho[soft]])
    A = np.asarray(qp.A).reshape(m, n)
    eye = np.eye(ns)
    C = np.vstack([
        np.hstack([A[hard], np.zeros((hard.size, ns))]),
        np.hstack([A[soft], -eye]),   # A x - s <= upper
        np.hstack([A[soft], eye]),    # A x + s >= lower
    ])
    inf = np.full(ns, np.inf)
    lower, upper = np.asarray(qp.lower), np.asarray(qp.upper)
    l = np.concatenate([lower[hard], -inf, lower[soft]])
    u = np.concatenate([upper[hard], upper[soft], inf])
    zl = np.concatenate([qp.lb, np.zeros(ns)])
    zu = np.concatenate([qp.ub, inf])
    keep = np.isfinite(l) | np.isfinite(u)  # drop rows with no limit (MPC-FC: the lower sides)
    return SlackQp(P, q, C[keep], l[keep], u[keep], zl, zu, n, soft, hard)


def _structure_key(qp: QpProblem) -> tuple:
    # What must stay the same for a solver set up once to be updated in place.
    return (qp.n, qp.m, qp.hessian_id, tuple(np.isfinite(qp.soft_penalty)), tuple(np.isfinite(qp.lower)),
            tuple(np.isfinite(qp.upper)))


class CallableHook(QpSolver):
    """Wraps any function ``fn(qp) -> x | (x, status, iterations)`` as a hook."""

    def __init__(self, fn: Callable[[QpProblem], object]):
        QpSolver.__init__(self)
        self.fn = fn

    def solve(self, qp: QpProblem):
        return self.fn(qp)


class OsqpHook(QpSolver):
    """osqp used directly: set up once per QP structure, then q, l, u and the constraint values
    updated in place (the full dense pattern is kept, so it never changes) and warm-started from
    the MPC's shifted plan (primal) and the previous duals."""

    def __init__(self, eps_abs: float = 1e-5, eps_rel: float = 1e-5, max_iter: int = 20000,
                 polish: bool = True, **settings):
        QpSolver.__init__(self)
        import osqp  # noqa: F401  (fail early when the extra is missing)

        self.settings = dict(eps_abs=eps_abs, eps_rel=eps_rel, max_iter=max_iter, polishing=polish,
                             verbose=False, warm_starting=True, **settings)
        self._key = None
        self._prob = None
        self._y = None

    @staticmethod
    def _matrix(sq: SlackQp):
        from scipy import sparse

        # Constraint matrix with the bounds as identity rows (OSQP's form), dense pattern kept.
        full = np.vstack([sq.C, np.eye(sq.nz)])
        rows, cols = full.shape
        indptr = np.arange(cols + 1) * rows
        indices = np.tile(np.arange(rows), cols)
        return sparse.csc_matrix((full.T.ravel(), indices, indptr), shape=full.shape), full

    def solve(self, qp: QpProblem):
        import osqp
        from scipy import sparse

        sq = slack_form(qp)
        Amat, full = self._matrix(sq)
        l = np.concatenate([sq.l, sq.zl])
        u = np.concatenate([sq.u, sq.zu])
        key = _structure_key(qp)
        t0 = time.perf_counter()
        if key != self._key:
            self._prob = osqp.OSQP()
            self._prob.setup(sparse.triu(sparse.csc_matrix(sq.P), format="csc"), sq.q, Amat, l, u, **self.settings)
            self._key = key
            self._y = None
        else:
            self._prob.update(q=sq.q, l=l, u=u, Ax=full.T.ravel())
        if qp.x_warm is not None:
            slack = np.maximum(0.0, np.asarray(qp.A)[sq.soft] @ qp.x_warm - np.asarray(qp.upper)[sq.soft])
            self._prob.warm_start(x=np.concatenate([qp.x_warm, slack]), y=self._y)
        res = self._prob.solve(raise_error=False)
        self.solver_time_s = time.perf_counter() - t0
        status = {osqp.SolverStatus.OSQP_SOLVED: QpStatus.optimal,
                  osqp.SolverStatus.OSQP_MAX_ITER_REACHED: QpStatus.max_iterations,
                  osqp.SolverStatus.OSQP_PRIMAL_INFEASIBLE: QpStatus.primal_infeasible,
                  osqp.SolverStatus.OSQP_DUAL_INFEASIBLE: QpStatus.dual_infeasible}.get(
                      osqp.SolverStatus(res.info.status_val), QpStatus.numerical_error)
        if status == QpStatus.optimal:
            self._y = res.y
        return res.x[:qp.n], status, int(res.info.iter)


class CvxpyHook(QpSolver):
    """Any cvxpy QP solver (default Clarabel). The problem is built once per QP structure with
    parameters (f, A, limits, bounds: DPP) and re-solved with the new values each call."""

    def __init__(self, solver: str = "CLARABEL", **solver_options):
        QpSolver.__init__(self)
        import cvxpy  # noqa: F401

        self.solver = solver
        self.options = solver_options
        self._key = None

    def _build(self, qp: QpProblem, sq: SlackQp):
        import cvxpy as cp

        n, ns = qp.n, sq.soft.size
        self._x = cp.Variable(n)
        self._s = cp.Variable(ns, nonneg=True)
        self._f = cp.Parameter(n)
        self._rho = cp.Parameter(ns, nonneg=True)
        self._A = cp.Parameter((qp.m, n))
        self._upper = cp.Parameter(qp.m)
        self._lower = cp.Parameter(qp.m)
        self._lb = cp.Parameter(n)
        self._ub = cp.Parameter(n)
        H = 0.5 * (np.asarray(qp.H) + np.asarray(qp.H).T)
        # Finite limits only (cvxpy parameters must be finite); which are finite is part of the key.
        self._masks = (np.isfinite(qp.upper), np.isfinite(qp.lower), np.isfinite(qp.ub), np.isfinite(qp.lb))
        cons = []
        select = np.zeros((qp.m, max(ns, 1)))  # slack k sits on soft row soft[k]
        select[sq.soft, np.arange(ns)] = 1.0
        slack = select[:, :ns] @ self._s if ns else 0.0
        ax = self._A @ self._x
        up, lo, ub, lb = self._masks
        if up.any():
            cons.append((ax - slack)[np.flatnonzero(up)] <= self._upper[np.flatnonzero(up)])
        if lo.any():
            cons.append((ax + slack)[np.flatnonzero(lo)] >= self._lower[np.flatnonzero(lo)])
        if ub.any():
            cons.append(self._x[np.flatnonzero(ub)] <= self._ub[np.flatnonzero(ub)])
        if lb.any():
            cons.append(self._x[np.flatnonzero(lb)] >= self._lb[np.flatnonzero(lb)])
        obj = 0.5 * cp.quad_form(self._x, cp.psd_wrap(H)) + self._f @ self._x
        if ns:
            obj = obj + self._rho @ self._s
        self._prob = cp.Problem(cp.Minimize(obj), cons)

    def solve(self, qp: QpProblem):
        import cvxpy as cp

        sq = slack_form(qp)
        key = _structure_key(qp) + tuple(np.isfinite(qp.upper)) + tuple(np.isfinite(qp.lower)) + \
            tuple(np.isfinite(qp.ub)) + tuple(np.isfinite(qp.lb))
        if key != self._key:
            self._build(qp, sq)
            self._key = key
        finite = lambda v: np.where(np.isfinite(v), v, 0.0)  # noqa: E731  (masked out anyway)
        self._f.value = np.asarray(qp.f)
        self._rho.value = np.asarray(qp.soft_penalty)[sq.soft]
        self._A.value = np.asarray(qp.A)
        self._upper.value = finite(np.asarray(qp.upper))
        self._lower.value = finite(np.asarray(qp.lower))
        self._ub.value = finite(np.asarray(qp.ub))
        self._lb.value = finite(np.asarray(qp.lb))
        if qp.x_warm is not None:
            self._x.value = np.asarray(qp.x_warm)
        t0 = time.perf_counter()
        self._prob.solve(solver=self.solver, warm_start=True, **self.options)
        self.solver_time_s = time.perf_counter() - t0
        st = self._prob.status
        status = {cp.OPTIMAL: QpStatus.optimal, cp.INFEASIBLE: QpStatus.primal_infeasible,
                  cp.UNBOUNDED: QpStatus.dual_infeasible,
                  cp.OPTIMAL_INACCURATE: QpStatus.max_iterations}.get(st, QpStatus.numerical_error)
        iters = self._prob.solver_stats.num_iters if self._prob.solver_stats is not None else 0
        x = self._x.value if self._x.value is not None else np.full(qp.n, np.nan)
        return np.asarray(x, dtype=float), status, int(iters or 0)


class CasadiHook(QpSolver):
    """CasADi's QP interface (``casadi.conic``) with any of its plugins: qpoases (default, the
    active-set anchor), osqp, highs, proxqp, qrqp, daqp. Built once per QP structure."""

    def __init__(self, plugin: str = "qpoases", **options):
        QpSolver.__init__(self)
        import casadi

        if not casadi.has_conic(plugin):
            raise ValueError(f"plugin = {plugin!r}: CasADi has no such QP solver plugin here")
        self.plugin = plugin
        defaults = {"qpoases": {"printLevel": "none", "sparse": False, "error_on_fail": False},
                    "osqp": {"osqp": {"verbose": False, "eps_abs": 1e-7, "eps_rel": 1e-7}, "error_on_fail": False},
                    "highs": {"highs": {"output_flag": False}, "error_on_fail": False}}
        self.options = {**defaults.get(plugin, {"error_on_fail": False}), **options}
        self._key = None

    def solve(self, qp: QpProblem):
        import casadi

        # qpOASES and friends want a positive definite Hessian on the slacks too: a curvature of
        # 1e-9 in scaled units moves the optimum far below the comparison tolerances.
        sq = slack_form(qp, slack_curvature=1e-9)
        key = _structure_key(qp)
        if key != self._key:
            self._solver = casadi.conic("mpc_qp", self.plugin,
                                        {"h": casadi.Sparsity.dense(sq.nz, sq.nz),
                                         "a": casadi.Sparsity.dense(*sq.C.shape)}, self.options)
            self._key = key
        big = 1e20  # CasADi's conic wants finite-or-inf; qpOASES treats |b| >= 1e20 as none
        args = dict(h=sq.P, g=sq.q, a=sq.C, lba=np.clip(sq.l, -big, big), uba=np.clip(sq.u, -big, big),
                    lbx=np.clip(sq.zl, -big, big), ubx=np.clip(sq.zu, -big, big))
        if qp.x_warm is not None:
            slack = np.maximum(0.0, np.asarray(qp.A)[sq.soft] @ qp.x_warm - np.asarray(qp.upper)[sq.soft])
            args["x0"] = np.concatenate([qp.x_warm, slack])
        t0 = time.perf_counter()
        sol = self._solver(**args)
        self.solver_time_s = time.perf_counter() - t0
        stats = self._solver.stats()
        status = QpStatus.optimal if stats.get("success", False) else QpStatus.numerical_error
        iters = int(stats.get("iter_count", stats.get("n_iter", 0)) or 0)
        return np.asarray(sol["x"]).ravel()[:qp.n], status, iters


class DaqpHook(QpSolver):
    """DAQP, a dual active-set solver (the anchor of the built-in one), on the slack form with a
    small slack curvature (DAQP needs H positive definite; 1e-6 in scaled units: with 1e-9 DAQP
    stops with exit flag 4 on MPC-FC QPs; a met row has zero slack, so the optimum is unchanged
    unless a limit is violated), warm-started from the previous active
    set (its duals). Each call redoes DAQP's setup: factorisation and constraint transformation."""

    def __init__(self, primal_tol: float = 1e-9, **settings):
        QpSolver.__init__(self)
        import daqp  # noqa: F401

        self.settings = dict(primal_tol=primal_tol, **settings)
        self._lam = None
        self._key = None

    def solve(self, qp: QpProblem):
        import daqp

        sq = slack_form(qp, slack_curvature=1e-6)
        big = 1e30
        bupper = np.clip(np.concatenate([sq.zu, sq.u]), -big, big)
        blower = np.clip(np.concatenate([sq.zl, sq.l]), -big, big)
        sense = np.zeros(bupper.size, dtype=np.int32)
        key = _structure_key(qp)
        if key != self._key:
            self._lam, self._key = None, key
        kw = dict(self.settings)
        if self._lam is not None:
            kw["dual_start"] = self._lam
        t0 = time.perf_counter()
        x, _, exitflag, info = daqp.solve(sq.P, sq.q, sq.C, bupper, blower, sense, **kw)
        self.solver_time_s = time.perf_counter() - t0
        status = {1: QpStatus.optimal, 2: QpStatus.optimal, -1: QpStatus.primal_infeasible,
                  -4: QpStatus.max_iterations}.get(int(exitflag), QpStatus.numerical_error)
        if status == QpStatus.optimal:
            self._lam = np.asarray(info["lam"], dtype=float)
        return np.asarray(x, dtype=float)[:qp.n], status, int(info.get("iterations", 0))
