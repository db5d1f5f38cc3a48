"""Prototype a charging law in Python, run it through the guarded C++ control cycle, and compare it
with the MPC on the same scenario (docs/python-control-law.md).

The law below is a CC-CV charger on the twin's estimate: a constant current of `c_rate` C until
the predicted terminal voltage reaches 4.2 V, then the current that holds it there. It knows
nothing of the temperature limit; the CBF filter and the supervisor of the cycle still keep the
cell inside it.
"""
from __future__ import annotations

import numpy as np

from safetwin import battery, control, cycle

CELL = battery.CellParams.ref_cell_1()


class CcCvOnEstimate(cycle.Controller):
    def __init__(self, c_rate: float = 2.0) -> None:
        super().__init__()  # required: the C++ side holds this object
        self.cc_a = -c_rate * CELL.capacity_ah

    def compute(self, inp: cycle.ControllerInput) -> float:
        soc, v1, v2, temp_k = inp.x
        r0 = 0.021 * np.exp(CELL.arrhenius_k * (1.0 / temp_k - 1.0 / 298.15))
        cv_a = (CELL.ocv.voltage_v(soc) - v1 - v2 - CELL.limits.voltage_max_v) / r0  # V = 4.2 V
        return float(np.clip(max(self.cc_a, cv_a), inp.current_min_a, min(inp.current_max_a, 0.0)))


def charge(controller, soc0: float = 0.10, max_s: int = 3600) -> dict:
    """Closed loop on the reference cell until SOC 0.79: the cycle sees the plant's last sample."""
    plant = battery.Cell(CELL, battery.CellState(soc=soc0))
    cfg = cycle.CycleConfig()
    est = cfg.estimator
    est.soc0 = soc0 + 0.05          # a wrong first guess, corrected by the EKF
    est.voltage_model_sigma_v = 0.0  # the plant here is the twin's own model
    cfg.estimator = est
    cyc = cycle.ControlCycle(cfg, controller)
    command, volts = 0.0, plant.voltage_v(0.0)
    max_v = max_t = 0.0
    for k in range(max_s):
        temp_k = plant.state.temp_k
        st = cyc.step(cycle.CycleMeasurements(k, volts, volts, temp_k, command), 1.0)
        command = st.command_a
        volts = plant.step(command, 1.0)
        max_v, max_t = max(max_v, volts), max(max_t, plant.state.temp_k)
        if plant.state.soc >= 0.79:
            return {"time_to_79_s": k + 1, "max_voltage_v": max_v, "max_temperature_c": max_t - 273.15}
    return {"time_to_79_s": None, "max_voltage_v": max_v, "max_temperature_c": max_t - 273.15}


def main() -> None:
    results = {"python law": charge(CcCvOnEstimate(c_rate=2.0)),
               "MPC (C++)": charge(control.BatteryMpc(control.BatteryMpcConfig()))}
    print(f"{'controller':<12} {'t79 (s)':>8} {'max V':>8} {'max T (degC)':>13}")
    for name, r in results.items():
        print(f"{name:<12} {r['time_to_79_s']!s:>8} {r['max_voltage_v']:8.4f} {r['max_temperature_c']:13.2f}")
    for r in results.values():  # both stay inside the limits: the law by the guard, the MPC by design
        assert r["time_to_79_s"] is not None
        assert r["max_voltage_v"] <= 4.2 + 0.005 and r["max_temperature_c"] <= 45.0 + 0.1


if __name__ == "__main__":
    main()
