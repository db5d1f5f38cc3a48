"""The control cycle of the core from Python: estimator -> controller -> CBF filter ->
supervisor/monitor, one ``ControlCycle.step(measurements, dt_s)`` per period, all in C++.

A control law written in Python takes the controller's place by subclassing ``Controller``::

    class MyLaw(cycle.Controller):
        def __init__(self):
            super().__init__()
        def compute(self, inp):          # inp: ControllerInput (x, P, limits, last current)
            return -15.0                 # requested cell current in A; None = no output this cycle

and is still guarded by the C++ filter and supervisor. Timing (see control_cycle.hpp): the
measurements are the sample of the interval that just ended, under the current that flowed in it.
"""
from __future__ import annotations

from safetwin._core import (  # noqa: F401  (re-exported API)
    ControlCycle,
    Controller,
    ControllerInput,
    CycleChannel,
    CycleConfig,
    CycleMeasurements,
    CycleStatus,
)
from safetwin.safety import MonitorDefinition

# Signals the cycle writes to its monitor every step; invariants may use them by name.
BUILTIN_SIGNALS = ("voltage_a_v", "voltage_b_v", "temperature_k", "current_a", "soc", "soc_sigma",
                   "temp_est_k", "voltage_est_v", "nis", "controller_ok", "request_a", "command_a",
                   "plausibility_a_v", "plausibility_b_v", "anomaly_score", "heat_fault",
                   "plausibility_temperature_w")


def make_cycle(controller: Controller | None = None, *, cell=None, soc0: float = 0.5, soc_sigma0: float = 0.05,
               temp0_k: float = 298.15, monitor: MonitorDefinition | None = None,
               hold_max_s: float | None = None, derate_factor: float | None = None,
               **estimator) -> ControlCycle:
    """A cycle on one cell model (REF-CELL-1 unless ``cell`` is given) with an optional monitor
    definition; its signals may name the built-in ones (BUILTIN_SIGNALS) and extra ones (trust values).
    Further keyword arguments set fields of the estimator's BatteryEkfConfig (for example
    ``voltage_model_sigma_v=0.0`` when the plant is the estimator's own model)."""
    cfg = CycleConfig()
    if cell is not None:
        cfg.cell = cell
    cfg.soc0, cfg.soc_sigma0, cfg.temp0_k = soc0, soc_sigma0, temp0_k
    if estimator:
        est = cfg.estimator
        for name, value in estimator.items():
            if not hasattr(est, name):
                raise TypeError(f"make_cycle: unknown estimator setting {name!r}")
            setattr(est, name, value)
        cfg.estimator = est
    if monitor is not None:
        mc = monitor.config()
        mc.signals = [s for s in mc.signals if s not in BUILTIN_SIGNALS]  # the cycle adds these itself
        cfg.monitor = mc
    sup = cfg.supervisor
    if hold_max_s is not None:
        sup.hold_max_s = hold_max_s
    if derate_factor is not None:
        sup.derate_factor = derate_factor
    cfg.supervisor = sup
    return ControlCycle(cfg, controller)
