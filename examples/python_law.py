"""Prototype a charging law in Python, run it through the guarded C++ control cycle, and compare it
with the MPC on the same scenario (docs/python-control-law.md).

The law below is a CC-CV charger on the twin's estimate: a constant current of `c_rate` C until
the predicted terminal voltage reaches 4.2 V, then the current that holds it there. It knows
nothing of the temperature limit; the CBF filter and the supervisor of the cycle still keep the
cell inside it.
"""
from __future__ import annotations

import numpy as np

from safetwin import battery, control, cycle, loop

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
    """Closed loop on the reference cell until SOC 0.79, in one C++ call (safetwin.loop): the plant,
    the estimator, the law (through its trampoline), the CBF filter and the supervisor."""
    cfg = cycle.CycleConfig()
    est = cfg.estimator
    est.soc0 = soc0 + 0.05          # a wrong first guess, corrected by the EKF
    est.voltage_model_sigma_v = 0.0  # the plant here is the twin's own model
    cfg.estimator = est
    plant = battery.PackConfig(1, 1, CELL, battery.SpreadConfig(), battery.CellState(soc=soc0))
    spec = loop.make_spec(duration_s=max_s, cycle=cfg, plant=plant, law=loop.controllers())
    tr = loop.run(spec, [controller]).trace  # row k: the plant at k s, under the command of step k
    soc, volts, temp_c = tr["cell_soc"][:, 0], tr["cell_voltage_v"][:, 0], tr["cell_temp_k"][:, 0] - 273.15
    reached = np.flatnonzero(soc >= 0.79)
    end = int(reached[0]) if reached.size else len(soc)
    return {"time_to_79_s": end if reached.size else None,
            "max_voltage_v": float(volts[:end].max()), "max_temperature_c": float(temp_c[:end + 1].max())}


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
