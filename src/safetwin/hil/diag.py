"""The HIL bench's side of the diagnostics (issue 15): the plant's connection-resistance fault and
the anomaly threshold the firmware is given for a false-alarm rate (firmware_sim/src/diag_events.hpp
raises the FW_EVENT codes 17-21)."""
from __future__ import annotations

import functools
from importlib import resources

from safetwin import battery
from safetwin.diagnostics.calibration import load_calibration

REFERENCE_TEMP_K = 298.15  # the cell model's reference temperature (cell_model.hpp kReferenceTempK)


def connection_resistance(pack: battery.Pack, cell: int, ohm: float) -> None:
    """Adds ``ohm`` (negative: removes it again) in series with plant cell ``cell``: a loose busbar.

    The same model as the closed loop's connection_resistance fault (cycle/closed_loop.hpp): the
    cell's R0 factor grows by ohm / (R0 at 25 degC, SOC 0.5, times its ageing factor), so the
    parallel split and the branch voltage are exact and the Joule heat is counted in the cell. The
    step is additive in the factor, so removing it restores the cell's own spread exactly."""
    s = pack.scaling[cell]
    r0 = pack.params.r0_ohm.at(0.5, REFERENCE_TEMP_K) * s.resistance_factor
    s.r0_factor = s.r0_factor + ohm / r0
    pack.set_scaling(cell, s)


@functools.cache
def _shipped() -> dict:
    return load_calibration(resources.files("safetwin") / "data" / "anomaly_calibration.json")


def anomaly_threshold(alpha_per_h: float) -> float:
    """The shipped calibration's anomaly-score threshold for a false-alarm rate per hour; ValueError
    naming the rates it holds otherwise."""
    thresholds = _shipped()["thresholds"]
    for a, t in thresholds.items():
        if abs(float(a) - alpha_per_h) <= 1e-12 * alpha_per_h:
            return float(t)
    raise ValueError(f"{alpha_per_h!r} per h is not calibrated (the shipped calibration holds "
                     f"{', '.join(sorted(thresholds))} per h)")
