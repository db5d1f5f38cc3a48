"""Standard drive cycles (UDDS, US06, HWFET, WLTC class 3b) as cell current profiles.

The package ships the cycles' speed traces (``data/drive_cycles``, with their source); a road-load
vehicle model turns speed into the power the pack delivers, and the pack's cell count and the cell's
nominal voltage turn power into one cell's current (A, > 0 discharges, as everywhere in safetwin).

    P_wheel = (m a + m g C_rr [v > 0] + 0.5 rho C_dA v^2) v
    P_pack  = P_wheel / eta_drive + P_aux            when P_wheel >= 0 (traction)
            = P_wheel * eta_drive * regen_fraction + P_aux   when braking (part of it regenerated)
    I_cell  = P_pack / (cells * V_nominal)

The default vehicle is a mid-size battery-electric car (1 800 kg with driver, C_dA 0.62 m^2,
C_rr 0.009, 90 % drivetrain, 60 % of braking power regenerated, 500 W of auxiliaries) on a
96s46p pack of LG M50 cells (about 80 kWh), so that one cell sees what it would in that car:
118 Wh/km on UDDS (peak 2.5 A = 0.5C), 172 Wh/km on US06 (peak 6.3 A = 1.2C), 142 Wh/km on WLTC.
`scale` multiplies the current (the same car on a smaller pack: scale 2 is a 96s23p pack).
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import numpy as np

CYCLES = ("udds", "us06", "hwfet", "wltc_class3b")
GRAVITY_M_S2 = 9.80665
AIR_DENSITY_KG_M3 = 1.2


@dataclass(frozen=True)
class Vehicle:
    """Road-load parameters of the car and the size of its pack."""
    mass_kg: float = 1800.0
    drag_area_m2: float = 0.62          # C_d * frontal area
    rolling_resistance: float = 0.009   # C_rr
    drive_efficiency: float = 0.90      # battery to wheel, and wheel to battery when regenerating
    regen_fraction: float = 0.6         # share of braking power the brakes leave to the motor
    auxiliary_w: float = 500.0
    cells: int = 96 * 46
    cell_nominal_v: float = 3.63

    def __post_init__(self) -> None:
        for name in ("mass_kg", "drag_area_m2", "drive_efficiency", "cells", "cell_nominal_v"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"Vehicle.{name} = {value!r}: must be finite and > 0")
        for name, hi in (("rolling_resistance", 0.1), ("regen_fraction", 1.0)):
            value = getattr(self, name)
            if not (np.isfinite(value) and 0 <= value <= hi):
                raise ValueError(f"Vehicle.{name} = {value!r}: must be in [0, {hi}]")
        if self.drive_efficiency > 1:
            raise ValueError(f"Vehicle.drive_efficiency = {self.drive_efficiency!r}: must be in (0, 1]")
        if not (np.isfinite(self.auxiliary_w) and self.auxiliary_w >= 0):
            raise ValueError(f"Vehicle.auxiliary_w = {self.auxiliary_w!r}: must be finite and >= 0")


def speed_trace(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, speed_m_s) of a shipped cycle, at 1 s."""
    if name not in CYCLES:
        raise ValueError(f"drive cycle {name!r}: unknown, expected one of {', '.join(CYCLES)}")
    text = resources.files("safetwin").joinpath("data", "drive_cycles", f"{name}.csv").read_text()
    data = np.loadtxt(text.splitlines()[1:], delimiter=",")
    return data[:, 0], data[:, 1]


def pack_power_w(t_s: np.ndarray, speed_m_s: np.ndarray, vehicle: Vehicle = Vehicle()) -> np.ndarray:
    """Power the pack delivers (W, > 0 discharges) at each sample; acceleration by forward
    difference, so sample k's power drives the car from v[k] to v[k+1] (zero-order hold)."""
    t = np.asarray(t_s, dtype=float)
    v = np.asarray(speed_m_s, dtype=float)
    if t.shape != v.shape or t.ndim != 1 or len(t) < 2:
        raise ValueError(f"t_s and speed_m_s must be 1-D of one length >= 2, got {t.shape} and {v.shape}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(v)) and np.all(np.diff(t) > 0)):
        raise ValueError("t_s must be finite and strictly increasing, speed_m_s finite")
    accel = np.append(np.diff(v) / np.diff(t), 0.0)
    rolling = vehicle.mass_kg * GRAVITY_M_S2 * vehicle.rolling_resistance * (v > 0)
    drag = 0.5 * AIR_DENSITY_KG_M3 * vehicle.drag_area_m2 * v ** 2
    wheel = (vehicle.mass_kg * accel + rolling + drag) * v
    battery = np.where(wheel >= 0, wheel / vehicle.drive_efficiency,
                       wheel * vehicle.drive_efficiency * vehicle.regen_fraction)
    return battery + vehicle.auxiliary_w


def cell_current(name: str, dt_s: float = 1.0, repeats: int = 1, scale: float = 1.0,
                 vehicle: Vehicle = Vehicle()) -> np.ndarray:
    """One cell's current (A, > 0 discharges) over `repeats` back-to-back runs of cycle `name`,
    resampled to dt_s with the current held over each second of the trace (zero-order hold)."""
    if not (np.isfinite(dt_s) and 0 < dt_s <= 60):
        raise ValueError(f"dt_s = {dt_s!r}: must be in (0, 60] s")
    if not (isinstance(repeats, (int, np.integer)) and 1 <= repeats <= 1000):
        raise ValueError(f"repeats = {repeats!r}: must be an integer in [1, 1000]")
    if not (np.isfinite(scale) and 0 < scale <= 100):
        raise ValueError(f"scale = {scale!r}: must be in (0, 100]")
    t, v = speed_trace(name)
    current = pack_power_w(t, v, vehicle) / (vehicle.cells * vehicle.cell_nominal_v) * scale
    current = np.tile(current[:-1], repeats)  # the last sample ends the cycle: no interval after it
    grid = np.arange(0.0, len(current), dt_s)
    return current[np.minimum(grid.astype(int), len(current) - 1)]
