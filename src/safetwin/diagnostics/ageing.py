"""Calendar + cycle ageing of the cell (Schmalstieg et al. 2014), vectorised over cells and intervals.

The model is the C++ core's ``AgeingModel`` (``cpp/include/safetwin/battery/ageing.hpp``): M.
Schmalstieg, S. Käbitz, M. Ecker, D. U. Sauer, "A holistic aging model for Li(NiMnCo)O2 based 18650
lithium-ion batteries", J. Power Sources 257 (2014) 325-334, with the paper's fitted parameters:

    capacity   C/C0 = 1 - alpha_cap(V, T) t^0.75 - beta_cap(Vavg, DOD) sqrt(Q)
    resistance R/R0 = 1 + alpha_res(V, T) t^0.75 + beta_res(Vavg, DOD) Q

(t in days, T in K, V the OCV at the interval's mean SOC, Q the charge throughput scaled to the
paper's 2.15 Ah cell by equivalent full cycles). Under varying stress each term is advanced by the
equivalent-time rule. ``age`` runs many cells over many intervals in one C++ call;
``cycling_stress`` turns a duty cycle (DOD, C-rate, rest, ambient) into per-cycle stress;
``aged_scaling`` hands the result to the plant (``Pack.set_scaling``).
"""
from __future__ import annotations

import numpy as np

from safetwin._core import (  # noqa: F401  (re-exported API)
    AgeingCoefficients,
    AgeingModel,
    AgeingParams,
    AgeingState,
    AgeingStress,
)
from safetwin.battery import CellParams, CellScaling

SECONDS_PER_HOUR = 3600.0


def age(duration_s, temp_k, soc_mean, throughput_ah, dod, *, calendar_rate_factor=None,
        cycle_rate_factor=None, model: AgeingModel | None = None) -> dict:
    """Ages fresh cells over consecutive intervals in one C++ call.

    Stress arguments broadcast to ``(cells, intervals)`` (a 1-D array is one cell); rate factors
    are one value per cell. Returns ``capacity_factor`` and ``resistance_factor`` of shape
    ``(cells, intervals)``: the cell after each interval. Bad values raise ValueError naming the
    field, the cell, the interval and the limit (nothing is aged).
    """
    arrays = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in
                                   (duration_s, temp_k, soc_mean, throughput_ah, dod)))
    one_cell = arrays[0].ndim <= 1
    arrays = [np.ascontiguousarray(np.atleast_2d(a)) for a in arrays]
    if arrays[0].ndim != 2:
        raise ValueError(f"stress arrays must be at most 2-D (cells, intervals); got {arrays[0].ndim} dims")

    def factors(f, name):
        if f is None:
            return None
        f = np.ascontiguousarray(np.broadcast_to(np.asarray(f, dtype=float), (arrays[0].shape[0],)))
        return f

    out = (model or AgeingModel()).age_many(*arrays, calendar_rate_factor=factors(calendar_rate_factor, "calendar"),
                                            cycle_rate_factor=factors(cycle_rate_factor, "cycle"))
    if one_cell:
        return {k: v[0] for k, v in out.items()}
    return out


def cycle_temperature_k(ambient_k, c_rate, duty, cell: CellParams | None = None):
    """Mean cell temperature of a duty cycle from the plant's lumped thermal model.

    Joule heat of the total series resistance at 25 degC, I^2 (R0 + R1 + R2), over the heat
    transfer coefficient, weighted by the fraction of time under current (``duty``).
    """
    cell = cell or CellParams.ref_cell_1()
    current_a = np.asarray(c_rate, dtype=float) * cell.capacity_ah
    r_ohm = cell.r0_ohm.at(0.5, 298.15) + cell.r1_ohm.at(0.5, 298.15) + cell.r2_ohm.at(0.5, 298.15)
    return np.asarray(ambient_k, dtype=float) + np.asarray(duty, dtype=float) * current_a**2 * r_ohm / cell.heat_transfer_w_per_k


def cycling_stress(dod, c_rate, soc_mean, ambient_k, rest_h=0.0, capacity_ah: float | None = None) -> dict:
    """Stress of one full cycle (a charge and a discharge of ``dod`` at ``c_rate``, then a rest).

    All arguments broadcast; returns the keyword arguments of ``age`` for one interval per cycle:
    duration (2 dod / c_rate hours + rest), mean cell temperature (``cycle_temperature_k``), mean
    SOC, throughput (2 dod capacity: charge and discharge) and DOD.
    """
    capacity_ah = capacity_ah or CellParams.ref_cell_1().capacity_ah
    dod, c_rate = np.asarray(dod, dtype=float), np.asarray(c_rate, dtype=float)
    if np.any(~(c_rate > 0)):
        raise ValueError(f"c_rate = {c_rate.min()!r}: must be > 0")
    active_h = 2.0 * dod / c_rate
    duration_h = active_h + np.asarray(rest_h, dtype=float)
    duty = np.divide(active_h, duration_h, out=np.zeros(np.broadcast(active_h, duration_h).shape),
                     where=duration_h > 0)
    return {
        "duration_s": duration_h * SECONDS_PER_HOUR,
        "temp_k": cycle_temperature_k(ambient_k, c_rate, duty),
        "soc_mean": np.asarray(soc_mean, dtype=float),
        "throughput_ah": 2.0 * dod * capacity_ah,
        "dod": dod,
    }


def aged_scaling(scaling: CellScaling, capacity_factor: float, resistance_factor: float) -> CellScaling:
    """The plant's scaling of a cell after ageing: spread times ageing (for ``Pack.set_scaling``)."""
    return CellScaling(capacity_factor=scaling.capacity_factor * capacity_factor,
                       resistance_factor=scaling.resistance_factor * resistance_factor,
                       r0_factor=scaling.r0_factor)
