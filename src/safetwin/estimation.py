"""State and parameter estimation: the battery EKF and the pack estimator of the C++ core.

Everything steps in C++ (``safetwin._core``): ``BatteryEkf.run`` and ``PackEstimator.run`` replay a
whole logged sequence in one call. Units are SI (A, V, s, K); current > 0 discharges.

Measurement channels, in this order: ``voltage_a`` (the cell-monitoring node), ``voltage_b`` (a
redundant second voltage node), ``temperature``. In a step, ``None`` means the channel is absent
and NaN a missing sample; either way nothing is fused from it.
"""
from __future__ import annotations

import numpy as np

from safetwin._core import (  # noqa: F401  (re-exported API)
    CHANNEL_GATE_RESET,
    CHANNEL_GATED,
    CHANNEL_MISSING,
    CHANNEL_NON_FINITE,
    CHANNEL_USED,
    FILTER_COVARIANCE_RECOVERED,
    FILTER_INNOVATION_SINGULAR,
    FILTER_MODEL_FAILED,
    BatteryEkf,
    BatteryEkfConfig,
    Channel,
    PackEstimator,
    chi_square_cdf,
    chi_square_quantile,
    replay_cell,
)
from safetwin.battery import ZERO_CELSIUS_K, CellParams

CHANNELS = ("voltage_a", "voltage_b", "temperature")


def make_config(cell: CellParams | None = None, **fields) -> BatteryEkfConfig:
    """A validated BatteryEkfConfig: REF-CELL-1 (or ``cell``) with the named fields set.

    Unknown field names raise TypeError; bad values raise ValueError naming the field.
    """
    cfg = BatteryEkfConfig()
    if cell is not None:
        cfg.cell = cell
    for name, value in fields.items():
        if name.startswith("_") or not hasattr(cfg, name) or callable(getattr(cfg, name)):
            raise TypeError(f"BatteryEkfConfig has no field {name!r}")
        setattr(cfg, name, value)
    cfg.validate()
    return cfg


def soc_from_rested_voltage(voltage_v: float, cell: CellParams | None = None) -> float:
    """Initial SOC guess from a rested terminal voltage through the OCV table (clamped to the table)."""
    if not np.isfinite(voltage_v):
        raise ValueError(f"voltage_v = {voltage_v!r}: must be finite")
    cell = cell or CellParams.ref_cell_1()
    return float(cell.ocv.soc_at_voltage(float(voltage_v)))


def run(t_s, current_a, voltage_a_v=None, temperature_k=None, voltage_b_v=None,
        config: BatteryEkfConfig | None = None) -> dict:
    """Replays a logged sequence through a new estimator of the config's cell structure (1..3 RC
    pairs, optional hysteresis: the cell file decides) in C++ (one call) and returns a dict of
    arrays, row k holding the estimate after sample k: ``soc, soc_sigma, v1_v, v2_v, temp_k,
    r0_ohm, capacity_ah, nis, innovation_v, gated, missing``, the whole state ``state`` (n x size)
    with its column names ``state_names`` (v2_v is NaN for a 1RC cell), and the counts
    ``rows_with_missing, rows_gated, numerical_errors``. ``gated``/``missing`` are bit sets over the
    channels (bit 0 voltage_a, 1 voltage_b, 2 temperature; ``missing`` bit 7: the current).
    """
    def arr(x, name):
        if x is None:
            return None
        a = np.ascontiguousarray(x, dtype=float)
        if a.ndim != 1:
            raise ValueError(f"{name} must be a 1-D array")
        return a

    return replay_cell(config if config is not None else BatteryEkfConfig(), arr(t_s, "t_s"),
                       arr(current_a, "current_a"), voltage_a_v=arr(voltage_a_v, "voltage_a_v"),
                       voltage_b_v=arr(voltage_b_v, "voltage_b_v"), temperature_k=arr(temperature_k, "temperature_k"))


def celsius_to_kelvin(temp_c):
    return np.asarray(temp_c, dtype=float) + ZERO_CELSIUS_K
