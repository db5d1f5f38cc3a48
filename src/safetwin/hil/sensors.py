"""Sensor models between the plant's true state and the frames: bias, Gaussian noise,
quantisation, random dropout (NaN = the frame says "not available"), saturation at the DBC's
range, plus the scenario's sensor faults (stuck, offset). Seeded: the same scenario gives the
same readings."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from safetwin.hil import _link_layout as L


@dataclass
class SensorModel:
    """One channel's parameters; PackSensors applies them to every channel in one pass."""
    noise: float = 0.0     # standard deviation, in the channel's unit
    bias: float = 0.0
    quantum: float = 0.0   # resolution of the converter (0: the DBC's own resolution only)
    dropout: float = 0.0   # probability that a reading is not available in a cycle
    lo: float = -np.inf    # the DBC's range: readings saturate there
    hi: float = np.inf

    @classmethod
    def from_params(cls, params: dict[str, float], unit: str, lo: float, hi: float) -> SensorModel:
        return cls(noise=params.get(f"noise_{unit}", 0.0), bias=params.get(f"bias_{unit}", 0.0),
                   quantum=params.get(f"quantum_{unit}", 0.0), dropout=params.get("dropout", 0.0), lo=lo, hi=hi)


class PackSensors:
    """Every measured channel of a pack, read in one vectorised pass per cycle (cell voltages,
    cell temperatures, pack current, pack voltage). Ranges are the DBC's (hil/safetwin_hil.dbc)."""

    def __init__(self, params: dict[str, dict[str, float]], seed: int, n_cells: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.n = n_cells
        chans = [SensorModel.from_params(params.get("cell_voltage", {}), "v", L.CELL_V_A_CELL_V_001_MIN,
                                         L.CELL_V_A_CELL_V_001_MAX),
                 SensorModel.from_params(params.get("cell_temp", {}), "c", L.CELL_T_CELL_T_001_MIN,
                                         L.CELL_T_CELL_T_001_MAX),
                 SensorModel.from_params(params.get("pack_current", {}), "a", L.PACK_MEAS_PACK_CURRENT_MIN,
                                         L.PACK_MEAS_PACK_CURRENT_MAX),
                 SensorModel.from_params(params.get("pack_voltage", {}), "v", L.PACK_MEAS_PACK_VOLTAGE_MIN,
                                         L.PACK_MEAS_PACK_VOLTAGE_MAX)]
        sizes = (n_cells, n_cells, 1, 1)
        self.cell_v, self.cell_t, self.pack_i, self.pack_v = chans

        def vec(attr):
            return np.concatenate([np.full(k, getattr(c, attr), dtype=float) for c, k in zip(chans, sizes)])
        self.bias, self.sigma, self.quantum = vec("bias"), vec("noise"), vec("quantum")
        self.lo, self.hi, self.dropout = vec("lo"), vec("hi"), vec("dropout")
        self.has_noise = bool(np.any(self.sigma > 0))
        self.q_mask = self.quantum > 0
        self.has_dropout = bool(np.any(self.dropout > 0))
        self.x = np.empty(2 * n_cells + 2)
        self.stuck: dict[int, float] = {}    # cell -> stuck reading, V
        self.offset: dict[int, float] = {}   # cell -> added offset, V

    def read(self, cell_v: np.ndarray, cell_t_c: np.ndarray, pack_i: float, pack_v: float):
        n, x = self.n, self.x
        x[:n] = cell_v
        x[n:2 * n] = cell_t_c
        x[2 * n] = pack_i
        x[2 * n + 1] = pack_v
        x += self.bias
        if self.has_noise:
            x += self.rng.standard_normal(x.shape) * self.sigma
        if self.q_mask.any():
            x[self.q_mask] = np.round(x[self.q_mask] / self.quantum[self.q_mask]) * self.quantum[self.q_mask]
        np.clip(x, self.lo, self.hi, out=x)
        if self.has_dropout:
            x[self.rng.random(x.shape) < self.dropout] = np.nan
        v = x[:n].copy()
        for cell, off in self.offset.items():
            v[cell] = min(max(v[cell] + off, self.cell_v.lo), self.cell_v.hi)
        for cell, value in self.stuck.items():
            v[cell] = value
        return v, x[n:2 * n].copy(), float(x[2 * n]), float(x[2 * n + 1])
