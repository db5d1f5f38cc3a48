"""The battery model (the core's one cell model: 1-3 RC pairs, optional hysteresis, thermal; REF-CELL-1
by default; cell files in ``safetwin.cellfile``), packs and current profiles.

Everything steps in C++ (``safetwin._core``); this module re-exports it and adds the package's
reference data. Units are SI (A, V, s, K); current > 0 discharges the cell.
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from safetwin._core import (  # noqa: F401  (re-exported API)
    ZERO_CELSIUS_K,  # 273.15: the core's constant (cell_params.hpp), degC only at the edges
    CcCvCharger,
    CcCvConfig,
    Cell,
    CellLimits,
    CellParams,
    CellScaling,
    CellState,
    HysteresisParams,
    OcvTable,
    Pack,
    PackConfig,
    ParamSurface,
    SpreadConfig,
    cell_state_names,
    linearise_step,
    linearise_voltage,
    run_cccv,
)


def reference_ocv_path():
    """Path of the reference OCV table shipped with the package (LG M50, Chen 2020)."""
    return resources.files("safetwin") / "data" / "ocv_lgm50_chen2020.csv"


def reference_ocv_table() -> OcvTable:
    """The reference OCV table read from the package data (the same numbers the core compiles in)."""
    data = np.loadtxt(str(reference_ocv_path()), delimiter=",", skiprows=1)
    return OcvTable(data[:, 0], data[:, 1])


def pack_96s1p(seed: int = 1, initial: CellState | None = None) -> Pack:
    """PACK-96 of the reference problems: 96 REF-CELL-1 cells in series, capacity +/-3 %, R0 +/-10 %."""
    return Pack(PackConfig(series=96, parallel=1, cell=CellParams.ref_cell_1(),
                           spread=SpreadConfig(capacity_rel=0.03, r0_rel=0.10, seed=seed),
                           initial=initial or CellState()))
