"""Control: the battery fast-charge MPC (MPC-FC), its QP solver hooks and the closed loop.

Everything steps in C++ (``safetwin._core``): ``BatteryMpc`` condenses MPC-FC into a dense QP and
hands it to a ``QpSolver`` -- the built-in ``DenseQpSolver`` or a hook written in Python
(``safetwin.control.hooks``: OSQP, cvxpy, CasADi, DAQP). ``run_charge_loop`` closes the loop on a
``Cell`` with any ``Controller`` (a C++ one or a Python subclass). ``safetwin.control.prototypes``
writes the same problem as a whole cvxpy model and as a CasADi nonlinear MPC, to compare against.

Units are SI (A, V, s, K); current > 0 discharges the cell.
"""
from __future__ import annotations

from safetwin._core import (  # noqa: F401  (re-exported API)
    BatteryMpc,
    BatteryMpcConfig,
    BatteryMpcStep,
    ChanceForm,
    ChargeLoopConfig,
    Controller,
    ControllerInput,
    ControllerOutput,
    Decision,
    DenseQpSettings,
    DenseQpSolver,
    QpProblem,
    QpSolution,
    QpSolver,
    QpStatus,
    chance_multiplier,
    run_charge_loop,
)

__all__ = [
    "BatteryMpc", "BatteryMpcConfig", "BatteryMpcStep", "ChanceForm", "ChargeLoopConfig", "Controller",
    "ControllerInput", "ControllerOutput", "Decision", "DenseQpSettings", "DenseQpSolver", "QpProblem", "QpSolution",
    "QpSolver", "QpStatus", "chance_multiplier", "run_charge_loop", "make_solver", "SOLVERS",
]

SOLVERS = ("builtin", "osqp", "cvxpy", "casadi", "daqp")


def make_solver(name: str, **options) -> QpSolver | None:
    """The QP solver hook called ``name`` (None for the built-in solver of the core).

    ``osqp``, ``cvxpy``, ``casadi`` and ``daqp`` need their packages (extra ``solvers``).
    """
    if name == "builtin":
        return None
    from safetwin.control import hooks

    factories = {"osqp": hooks.OsqpHook, "cvxpy": hooks.CvxpyHook, "casadi": hooks.CasadiHook,
                 "daqp": hooks.DaqpHook}
    if name not in factories:
        raise ValueError(f"solver = {name!r}: must be one of {', '.join(SOLVERS)}")
    return factories[name](**options)
