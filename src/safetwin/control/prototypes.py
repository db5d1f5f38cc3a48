"""MPC-FC written as whole-problem prototypes, to compare the C++ MPC against.

* ``CvxpyMpc``: the linearised MPC-FC as one sparse cvxpy model -- states, currents and slacks as
  variables, the dynamics linearised about the shifted previous plan (the same real-time-iteration
  scheme, proximal term and L1 penalties as the C++ ``BatteryMpc``) -- solved by any cvxpy solver.
  With the same linearisation point it gives the same first move as the condensed C++ QP. Its
  model and Jacobians are the core's one cell model (``safetwin._core.linearise_step``).
* ``CasadiNmpc``: the nonlinear MPC-FC (the REF-CELL-1 equations as they are: Arrhenius
  resistances, heat I^2 R0(T), OCV table), multiple shooting, solved by IPOPT, warm-started from
  the shifted previous solution. The reference for the time to SOC 0.79. IPOPT needs the equations
  as CasADi expressions, so they are written here symbolically (``CellModel``) and checked against
  the core's model by tests/test_mpc_fc.py.

Both are ``safetwin.control.Controller`` subclasses, so ``run_charge_loop`` closes the loop on
the C++ plant exactly as for the C++ MPC. They cover cells with constant parameters (REF-CELL-1).
Units SI; current > 0 discharges.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetwin._core import CellParams, Controller, ControllerInput, Decision, Status, linearise_step, linearise_voltage

T_REF_K = 298.15


@dataclass
class MpcFcSettings:
    """The MPC-FC problem of the reference problems (defaults) for the prototypes."""

    horizon: int = 30
    dt_s: float = 1.0
    soc_target: float = 0.8
    soc_weight: float = 100.0
    rate_weight: float = 1e-3
    voltage_penalty: float = 1e4
    temperature_penalty: float = 1e4
    current_min_a: float = -15.0
    current_max_a: float = 0.0
    proximal_weight: float = 1e-2   # CvxpyMpc only (as the C++ MPC); the NMPC needs none

    def __post_init__(self):
        if not (isinstance(self.horizon, int) and 1 <= self.horizon <= 1000):
            raise ValueError(f"MpcFcSettings.horizon = {self.horizon}: must be an int in [1, 1000]")
        for name in ("dt_s", "soc_weight", "rate_weight", "voltage_penalty", "temperature_penalty"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"MpcFcSettings.{name} = {v}: must be finite and > 0")
        if not self.current_min_a < self.current_max_a <= 0.0:
            raise ValueError(f"MpcFcSettings.current_min_a = {self.current_min_a}, current_max_a = "
                             f"{self.current_max_a}: need current_min_a < current_max_a <= 0")


class CellModel:
    """REF-CELL-1 equations in numpy (constant parameters with Arrhenius resistances)."""

    def __init__(self, cell: CellParams | None = None):
        cell = cell or CellParams.ref_cell_1()
        for name in ("r0_ohm", "r1_ohm", "r2_ohm", "c1_f", "c2_f"):
            if not getattr(cell, name).is_constant:
                raise ValueError(f"CellParams.{name}: the prototypes need constant parameters")
        self.cell = cell
        self.r25 = np.array([cell.r0_ohm.at(0.5, T_REF_K), cell.r1_ohm.at(0.5, T_REF_K), cell.r2_ohm.at(0.5, T_REF_K)])
        self.tau = np.array([self.r25[1] * cell.c1_f.at(0.5, T_REF_K), self.r25[2] * cell.c2_f.at(0.5, T_REF_K)])
        self.e_k = cell.arrhenius_k
        self.soc_tab = np.asarray(cell.ocv.soc)
        self.ocv_tab = np.asarray(cell.ocv.ocv_v)

    def resistances(self, temp_k):
        return self.r25 * np.exp(self.e_k * (1.0 / temp_k - 1.0 / T_REF_K))


class CvxpyMpc(Controller):
    """Linearised MPC-FC as one cvxpy model (sparse: states are variables), re-linearised each step."""

    def __init__(self, settings: MpcFcSettings | None = None, cell: CellParams | None = None, solver: str = "CLARABEL"):
        Controller.__init__(self)
        import cvxpy as cp

        self.s = settings or MpcFcSettings()
        self.model = CellModel(cell)
        self.solver = solver
        n = self.s.horizon
        self.plan = None
        self.solve_status = None
        x = cp.Variable((4, n + 1))
        u = cp.Variable(n)
        sv = cp.Variable(n, nonneg=True)
        st = cp.Variable(n, nonneg=True)
        self.p_x0 = cp.Parameter(4)
        self.p_u_last = cp.Parameter()
        self.p_u_nom = cp.Parameter(n)
        self.p_lb = cp.Parameter()
        self.p_ub = cp.Parameter()
        # x[k+1] = Ad_k x[k] + Bd_k u[k] + c_k; V[k] = Cv_k x[k] + Dv_k u[k] + e_k
        self.p_ad = [cp.Parameter((4, 4)) for _ in range(n)]
        self.p_bd = cp.Parameter((4, n))
        self.p_c = cp.Parameter((4, n))
        self.p_cv = cp.Parameter((n, 4))
        self.p_dv = cp.Parameter(n)
        self.p_ev = cp.Parameter(n)
        lim = self.model.cell.limits
        cons = [x[:, 0] == self.p_x0, u >= self.p_lb, u <= self.p_ub]
        for k in range(n):
            cons.append(x[:, k + 1] == self.p_ad[k] @ x[:, k] + self.p_bd[:, k] * u[k] + self.p_c[:, k])
            cons.append(self.p_cv[k, :] @ x[:, k] + self.p_dv[k] * u[k] + self.p_ev[k] <= lim.voltage_max_v + sv[k])
        cons.append(x[3, 1:] <= lim.temp_max_k + st)
        du = cp.hstack([u[0] - self.p_u_last, u[1:] - u[:-1]]) if n > 1 else u[0] - self.p_u_last
        cost = (self.s.soc_weight * cp.sum_squares(x[0, 1:] - self.s.soc_target)
                + self.s.rate_weight * cp.sum_squares(du)
                + self.s.proximal_weight * cp.sum_squares(u - self.p_u_nom)
                + self.s.voltage_penalty * cp.sum(sv) + self.s.temperature_penalty * cp.sum(st))
        self.problem = cp.Problem(cp.Minimize(cost), cons)
        self.u = u

    def linearise(self, x0: np.ndarray, u_nom: np.ndarray) -> None:
        """Sets the parameters: the core's one cell model and its Jacobians (``linearise_step``,
        ``linearise_voltage``: dual numbers in C++) about (nominal trajectory, u_nom)."""
        c = self.model.cell
        n, dt = self.s.horizon, self.s.dt_s
        bd, cc = np.zeros((4, n)), np.zeros((4, n))
        cv, dv, ev = np.zeros((n, 4)), np.zeros(n), np.zeros(n)
        x = np.array(x0, dtype=float)
        for k in range(n):
            i = float(u_nom[k])
            step = linearise_step(c, x, i, dt)
            volt = linearise_voltage(c, x, i)
            ad, b, nxt = step["f"], step["g"], step["x_next"]
            self.p_ad[k].value = ad
            bd[:, k] = b
            cc[:, k] = nxt - ad @ x - b * i
            cv[k] = volt["dv_dx"]
            dv[k] = volt["dv_di"]
            ev[k] = volt["v"] - cv[k] @ x - dv[k] * i
            x = nxt
        self.p_bd.value, self.p_c.value = bd, cc
        self.p_cv.value, self.p_dv.value, self.p_ev.value = cv, dv, ev

    def compute(self, inp: ControllerInput):
        lb = max(self.s.current_min_a, inp.current_min_a)
        ub = min(self.s.current_max_a, inp.current_max_a)
        if lb > ub or not np.all(np.isfinite(inp.x)):
            return 0.0, Status.invalid_argument
        n = self.s.horizon
        u_nom = (np.append(self.plan[1:], self.plan[-1]) if self.plan is not None
                 else np.full(n, inp.last_current_a))
        u_nom = np.clip(u_nom, lb, ub)
        self.linearise(np.asarray(inp.x), u_nom)
        self.p_x0.value = np.asarray(inp.x)
        self.p_u_last.value = inp.last_current_a
        self.p_u_nom.value = u_nom
        self.p_lb.value, self.p_ub.value = lb, ub
        self.problem.solve(solver=self.solver, warm_start=True)
        self.solve_status = self.problem.status
        if self.problem.status != "optimal" or self.u.value is None:
            i = float(np.clip(self.plan[1], lb, ub)) if self.plan is not None and n > 1 else 0.0
            return i, Decision.fallback
        self.plan = np.clip(np.asarray(self.u.value), lb, ub)
        return float(self.plan[0]), Status.ok


class CasadiNmpc(Controller):
    """Nonlinear MPC-FC: multiple shooting over the REF-CELL-1 equations, IPOPT."""

    def __init__(self, settings: MpcFcSettings | None = None, cell: CellParams | None = None,
                 ipopt_options: dict | None = None):
        Controller.__init__(self)
        import casadi as ca

        self.s = settings or MpcFcSettings()
        self.model = CellModel(cell)
        m, c, s = self.model, self.model.cell, self.s
        n, dt = s.horizon, s.dt_s
        ocv = ca.interpolant("ocv", "linear", [m.soc_tab], m.ocv_tab)
        a = np.exp(-dt / m.tau)
        beta = dt / c.heat_capacity_j_per_k
        q = c.coulombic_efficiency * dt / (3600.0 * c.capacity_ah)

        def res(t):
            f = ca.exp(m.e_k * (1.0 / t - 1.0 / T_REF_K))
            return m.r25[0] * f, m.r25[1] * f, m.r25[2] * f

        # One step and the terminal voltage as CasADi functions (checked against the core's model).
        xs, us = ca.SX.sym("x", 4), ca.SX.sym("u")
        r0s, r1s, r2s = res(xs[3])
        heat_s = us * us * r0s + xs[1] ** 2 / r1s + xs[2] ** 2 / r2s - c.heat_transfer_w_per_k * (xs[3] - c.ambient_temp_k)
        self.step_fn = ca.Function("step", [xs, us], [ca.vertcat(
            xs[0] - q * us, a[0] * xs[1] + r1s * (1 - a[0]) * us, a[1] * xs[2] + r2s * (1 - a[1]) * us,
            xs[3] + beta * heat_s)])
        self.voltage_fn = ca.Function("voltage", [xs, us], [ocv(xs[0]) - r0s * us - xs[1] - xs[2]])

        X = ca.SX.sym("X", 4, n + 1)
        U = ca.SX.sym("U", n)
        SV = ca.SX.sym("SV", n)
        ST = ca.SX.sym("ST", n)
        P = ca.SX.sym("P", 5)  # x0 (4), last current
        g, lbg, ubg = [X[:, 0] - P[:4]], [0.0] * 4, [0.0] * 4
        cost = 0
        lim = c.limits
        for k in range(n):
            i = U[k]
            g += [X[:, k + 1] - self.step_fn(X[:, k], i)]
            lbg += [0.0] * 4
            ubg += [0.0] * 4
            g += [self.voltage_fn(X[:, k], i) - SV[k], X[3, k + 1] - ST[k]]
            lbg += [-ca.inf, -ca.inf]
            ubg += [lim.voltage_max_v, lim.temp_max_k]
            prev = P[4] if k == 0 else U[k - 1]
            cost += s.soc_weight * (X[0, k + 1] - s.soc_target) ** 2 + s.rate_weight * (i - prev) ** 2
            cost += s.voltage_penalty * SV[k] + s.temperature_penalty * ST[k]
        w = ca.vertcat(ca.reshape(X, -1, 1), U, SV, ST)
        opts = {"ipopt.print_level": 0, "print_time": False, "ipopt.tol": 1e-10, "ipopt.sb": "yes",
                "ipopt.max_iter": 500, "ipopt.warm_start_init_point": "yes"}
        opts.update(ipopt_options or {})
        self.solver = ca.nlpsol("mpc_fc", "ipopt", {"x": w, "f": cost, "g": ca.vertcat(*g), "p": P}, opts)
        self.lbg, self.ubg = np.concatenate([np.ravel(v) for v in lbg]), np.concatenate([np.ravel(v) for v in ubg])
        self.nx = 4 * (n + 1)
        self.w0 = None
        self.lam_g = None
        self.lam_x = None
        self.last_iterations = 0
        self.solve_status = None

    def _bounds(self, lb: float, ub: float):
        n = self.s.horizon
        inf = np.inf
        lbw = np.concatenate([np.full(self.nx, -inf), np.full(n, lb), np.zeros(2 * n)])
        ubw = np.concatenate([np.full(self.nx, inf), np.full(n, ub), np.full(2 * n, inf)])
        return lbw, ubw

    def compute(self, inp: ControllerInput):
        n = self.s.horizon
        lb = max(self.s.current_min_a, inp.current_min_a)
        ub = min(self.s.current_max_a, inp.current_max_a)
        x0 = np.asarray(inp.x, dtype=float)
        if lb > ub or not np.all(np.isfinite(x0)):
            return 0.0, Status.invalid_argument
        if self.w0 is None:  # initial guess: the state held, the last current
            w0 = np.concatenate([np.tile(x0, n + 1), np.full(n, np.clip(inp.last_current_a, lb, ub)), np.zeros(2 * n)])
        else:  # shift the previous solution by one step
            X = self.w0[:self.nx].reshape(n + 1, 4)
            U, S = self.w0[self.nx:self.nx + n], self.w0[self.nx + n:]
            X = np.vstack([X[1:], X[-1:]])
            X[0] = x0
            U = np.append(U[1:], U[-1])
            S = np.concatenate([np.append(S[1:n], S[n - 1]), np.append(S[n + 1:], S[-1])])
            w0 = np.concatenate([X.ravel(), np.clip(U, lb, ub), S])
        lbw, ubw = self._bounds(lb, ub)
        args = dict(x0=w0, p=np.append(x0, inp.last_current_a), lbx=lbw, ubx=ubw, lbg=self.lbg, ubg=self.ubg)
        if self.lam_g is not None:
            args.update(lam_g0=self.lam_g, lam_x0=self.lam_x)
        sol = self.solver(**args)
        stats = self.solver.stats()
        self.solve_status = stats["return_status"]
        self.last_iterations = int(stats.get("iter_count", 0))
        if not stats["success"]:
            self.w0 = None
            self.lam_g = self.lam_x = None
            return 0.0, Decision.fallback
        self.w0 = np.asarray(sol["x"]).ravel()
        self.lam_g, self.lam_x = np.asarray(sol["lam_g"]).ravel(), np.asarray(sol["lam_x"]).ravel()
        return float(np.clip(self.w0[self.nx], lb, ub)), Status.ok

    def reset(self):
        self.w0 = None
        self.lam_g = self.lam_x = None
