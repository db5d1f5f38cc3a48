"""``safetwin demo``: the whole stack in one closed loop.

A 4s2p pack of REF-CELL-1 cells with cell-to-cell spread is fast-charged from 10 % SOC by the MPC
through the guarded pack cycle (per series group: estimator with trust weighting, MPC, CBF filter,
invariant monitor, supervisor; the pack takes the most conservative group command), while the
bench injects, at announced times, a stealthy false-data injection on the cell-monitoring node's
reading of one group and a cooling failure. Two nodes measure every group voltage (the cell
monitor, 2 mV, and a redundant monitor, 10 mV); both attest every few seconds with TPM-style
quotes that a verifier checks; the compromised node's measured boot changes at the attack.

The bench (plant, sensors, attack, attestation) runs here in Python; everything on the controller
side runs in C++ through one ``PackCycle.step`` per period.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from safetwin import battery, control
from safetwin._core import (
    EventKind,
    Mode,
    PackCycle,
    PackCycleConfig,
    Severity,
    TransitionCause,
)
from safetwin.cycle import BUILTIN_SIGNALS
from safetwin.safety import MonitorDefinition
from safetwin.trust.attacks import OnlineStealthyInjection, StealthyInjection
from safetwin.trust.scenario import run_attestation

ZERO_C = battery.ZERO_CELSIUS_K
NODES = ("cell_monitor", "redundant_monitor")  # trust nodes 0 and 1: voltage_a and voltage_b


@dataclass(frozen=True)
class DemoConfig:
    """The demo's embedded defaults (SI units; temperatures of the report in degC)."""

    series: int = 4
    parallel: int = 2
    spread_seed: int = 7
    soc0: float = 0.10
    soc_target: float = 0.80
    duration_s: float = 2400.0
    dt_s: float = 1.0
    horizon: int = 30
    attack_at_s: float = 300.0
    attack_group: int = 1
    attack_soc_offset: float = -0.25   # the twin is led to believe the group is emptier: overcharge
    attack_ramp_s: float = 600.0
    cooling_failure_at_s: float = 600.0
    heat_transfer_w_per_k: float = 1.0  # a cold-plate cooled pack (REF-CELL-1's 0.3 is forced air)
    cooling_factor: float = 0.05       # coolant pump lost: what is left is conduction to the frame
    attest_every_s: float = 5.0
    voltage_a_sigma_v: float = 0.002
    voltage_b_sigma_v: float = 0.010
    temperature_sigma_k: float = 0.2
    current_sigma_a: float = 0.02
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("duration_s", "dt_s", "attest_every_s", "attack_ramp_s"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"DemoConfig.{name} = {v}: must be finite and > 0")
        if not 0 <= self.soc0 < self.soc_target <= 1:
            raise ValueError(f"DemoConfig.soc0 = {self.soc0}, soc_target = {self.soc_target}: need 0 <= soc0 < target <= 1")
        if not 0 <= self.attack_group < self.series:
            raise ValueError(f"DemoConfig.attack_group = {self.attack_group}: must be in [0, {self.series})")
        if not 0 <= self.cooling_factor <= 1:
            raise ValueError(f"DemoConfig.cooling_factor = {self.cooling_factor}: must be in [0, 1]")


def monitor_definition() -> MonitorDefinition:
    """The demo's invariants (package data ``demo_monitor.toml``): tiered voltage and temperature
    limits, the temperature rise rate, the estimator's consistency and the trust of the nodes."""
    text = (resources.files("safetwin") / "data" / "demo_monitor.toml").read_text()
    return MonitorDefinition.from_toml(text)


def _cycle_config(cfg: DemoConfig, cell: battery.CellParams, trust_weighting: bool) -> PackCycleConfig:
    pc = PackCycleConfig(cfg.series, cfg.parallel)
    c = pc.cell
    c.cell = cell
    est = c.estimator
    est.soc0, est.soc_sigma0 = cfg.soc0, 0.05
    est.voltage_a_sigma_v, est.voltage_b_sigma_v = cfg.voltage_a_sigma_v, cfg.voltage_b_sigma_v
    est.temperature_sigma_k = cfg.temperature_sigma_k
    est.current_sigma_a = cfg.current_sigma_a
    c.estimator = est
    mc = monitor_definition().config()
    mc.signals = [s for s in mc.signals if s not in BUILTIN_SIGNALS]  # the cycle adds its own
    c.monitor = mc
    pc.cell = c
    trust = pc.trust
    trust.enabled, trust.weighting, trust.nodes = True, trust_weighting, len(NODES)
    pc.trust = trust
    return pc


@dataclass
class DemoResult:
    summary: dict
    trace: dict = field(repr=False)


def run(cfg: DemoConfig = DemoConfig(), trust_weighting: bool = True,
        progress: Callable[[float], None] | None = None) -> DemoResult:
    """Runs the closed loop; returns the summary (stable keys, see ``summarise``) and the trace."""
    rng = np.random.default_rng(cfg.seed)
    cell = battery.CellParams.ref_cell_1()
    cell.heat_transfer_w_per_k = cfg.heat_transfer_w_per_k  # the twin knows the nominal cooling only
    plant = battery.Pack(battery.PackConfig(
        series=cfg.series, parallel=cfg.parallel, cell=cell,
        spread=battery.SpreadConfig(capacity_rel=0.03, r0_rel=0.10, seed=cfg.spread_seed),
        initial=battery.CellState(soc=cfg.soc0)))
    mpc_cfg = control.BatteryMpcConfig()
    mpc_cfg.horizon = cfg.horizon
    mpc_cfg.cell = cell
    mpcs = [control.BatteryMpc(mpc_cfg) for _ in range(cfg.series)]
    cycle = PackCycle(_cycle_config(cfg, cell, trust_weighting), mpcs)

    n = int(round(cfg.duration_s / cfg.dt_s))
    t = np.arange(n) * cfg.dt_s
    attack = StealthyInjection(node=NODES[0], start_s=cfg.attack_at_s, soc_offset=cfg.attack_soc_offset,
                               ramp_s=cfg.attack_ramp_s)
    verdicts = run_attestation(t, NODES, [attack], every_s=cfg.attest_every_s).codes
    injector: OnlineStealthyInjection | None = None

    groups, cells = cfg.series, cfg.series * cfg.parallel
    tr = {k: np.full(n, np.nan) for k in ("command_a", "current_a", "cycle_us")}
    tr["mode"] = np.zeros(n, dtype=int)
    for k in ("cell_voltage_v", "cell_temp_c", "cell_soc"):
        tr[k] = np.full((n, cells), np.nan)
    for k in ("soc_true", "soc_est", "soc_sigma", "voltage_a_v", "voltage_b_v"):
        tr[k] = np.full((n, groups), np.nan)
    tr["trust"] = np.full((n, len(NODES)), np.nan)

    command = 0.0
    cooling_failed = False
    for k in range(n):
        if not cooling_failed and t[k] >= cfg.cooling_failure_at_s:
            for j in range(cells):
                plant.set_cooling_factor(j, cfg.cooling_factor)
            cooling_failed = True
        if injector is None and t[k] >= cfg.attack_at_s:
            g0 = cfg.attack_group * cfg.parallel
            injector = OnlineStealthyInjection(attack, plant.states[g0], cell)
        # Plant: the interval k under the command of the previous cycle.
        tr["cell_soc"][k] = plant.cell_soc
        tr["cell_temp_c"][k] = plant.cell_temp_k - ZERO_C
        temps_k = plant.cell_temp_k
        plant.step(command, cfg.dt_s)
        v_cells = plant.cell_voltage_v
        tr["cell_voltage_v"][k] = v_cells
        # Sensors: both monitors read each group's voltage, the hottest cell per group, the current.
        v_group = v_cells[::cfg.parallel]
        va = v_group + rng.normal(0.0, cfg.voltage_a_sigma_v, groups)
        vb = v_group + rng.normal(0.0, cfg.voltage_b_sigma_v, groups)
        temp = temps_k.reshape(groups, cfg.parallel).max(axis=1) + rng.normal(0.0, cfg.temperature_sigma_k, groups)
        plant_current = command if plant.contactor_closed else 0.0
        measured_current = plant_current + rng.normal(0.0, cfg.current_sigma_a)
        if injector is not None:
            va[cfg.attack_group] += injector.offset_v(t[k], plant_current / cfg.parallel, cfg.dt_s)
        tr["voltage_a_v"][k], tr["voltage_b_v"][k] = va, vb
        tr["current_a"][k] = plant_current
        # Controller side: one C++ call for the whole pack.
        t0 = time.perf_counter_ns()
        st = cycle.step(t[k], measured_current, va, temp, cfg.dt_s, voltage_b_v=vb, attestation=verdicts[k])
        tr["cycle_us"][k] = (time.perf_counter_ns() - t0) / 1e3
        command = st.command_a
        plant.contactor_closed = st.contactor_closed
        tr["command_a"][k] = command
        tr["mode"][k] = int(st.mode)
        tr["trust"][k] = cycle.trust()
        for g in range(groups):
            gs = cycle.group_status(g)
            tr["soc_est"][k, g] = gs.x[0]
            tr["soc_sigma"][k, g] = math.sqrt(max(gs.P[0, 0], 0.0))
        tr["soc_true"][k] = tr["cell_soc"][k].reshape(groups, cfg.parallel).mean(axis=1)
        if progress is not None and (k % 60 == 0 or k == n - 1):
            progress((k + 1) / n)
    tr["t_s"] = t
    return DemoResult(summarise(cfg, cycle, cell, tr), tr)


def _first_time(t: np.ndarray, mask: np.ndarray) -> float | None:
    idx = np.flatnonzero(mask)
    return float(t[idx[0]]) if idx.size else None


def summarise(cfg: DemoConfig, cycle: PackCycle, cell: battery.CellParams, tr: dict) -> dict:
    """The summary with stable keys (the ``--json`` contract)."""
    t = tr["t_s"]
    lim = cell.limits
    events, transitions = [], []
    for g in range(cfg.series):
        cyc = cycle.group(g)
        for e in cyc.events():
            events.append(dict(time_s=float(e["time_s"]), group=g, invariant=cyc.invariant_name(int(e["invariant"])),
                               severity=Severity(int(e["severity"])).name,
                               kind=EventKind(int(e["kind"])).name,
                               value=float(e["value"]), limit=float(e["limit"])))
        for tr_ in cyc.transitions():
            transitions.append(dict(time_s=float(tr_["time_s"]), group=g, **{
                "from": Mode(int(tr_["from"])).name, "to": Mode(int(tr_["to"])).name,
                "cause": TransitionCause(int(tr_["cause"])).name}))
    events.sort(key=lambda e: (e["time_s"], e["group"]))
    transitions.sort(key=lambda e: (e["time_s"], e["group"]))

    soc_mean = tr["soc_true"].mean(axis=1)
    t80 = _first_time(t, soc_mean >= cfg.soc_target)
    err = tr["soc_est"] - tr["soc_true"]
    after = t >= 300.0
    trust = tr["trust"]
    attacked_distrusted = _first_time(t, (trust[:, 0] < 0.1) & (t >= cfg.attack_at_s))
    cooling_events = [e for e in events if e["kind"] == "set" and e["time_s"] >= cfg.cooling_failure_at_s
                      and e["invariant"].startswith("temperature") and e["severity"] in ("derate", "stop")]
    max_v = float(np.nanmax(tr["cell_voltage_v"]))
    max_t = float(np.nanmax(tr["cell_temp_c"]))
    v_limit, t_limit = lim.voltage_max_v, lim.temp_max_k - ZERO_C
    reason = None
    if t80 is None:
        stops = [e for e in events if e["severity"] == "stop" and e["kind"] == "set"]
        if stops:
            e = stops[0]
            reason = (f"SAFE_STOP at {e['time_s']:.0f} s: {e['invariant']} in group {e['group'] + 1} "
                      f"({e['value'] - ZERO_C if e['invariant'].startswith('temperature') else e['value']:.2f} "
                      f"beyond {e['limit'] - ZERO_C if e['invariant'].startswith('temperature') else e['limit']:.2f}); "
                      f"the charge stopped at SOC {soc_mean[-1]:.3f}")
        else:
            reason = f"SOC reached {soc_mean[-1]:.3f} in {cfg.duration_s:.0f} s under the limits in force"
    us = tr["cycle_us"]
    return {
        "pack": f"{cfg.series}s{cfg.parallel}p",
        "duration_s": float(cfg.duration_s),
        "soc_start": float(soc_mean[0]),
        "soc_end": float(soc_mean[-1]),
        "time_to_80_s": t80,
        "reason_80_not_reached": reason,
        "limits": {
            "max_cell_voltage_v": max_v, "voltage_limit_v": v_limit,
            "max_cell_temperature_c": max_t, "temperature_limit_c": t_limit,
            "held": bool(max_v <= v_limit + 0.005 and max_t <= t_limit + 0.1),
        },
        "attack": {"node": NODES[0], "group": cfg.attack_group, "at_s": cfg.attack_at_s,
                   "soc_offset": cfg.attack_soc_offset, "distrusted_at_s": attacked_distrusted},
        "cooling_failure": {"at_s": cfg.cooling_failure_at_s, "cooling_factor": cfg.cooling_factor,
                            "detected_at_s": cooling_events[0]["time_s"] if cooling_events else None,
                            # the severity of the first limit event after the failure: derate or stop
                            "answer": cooling_events[0]["severity"] if cooling_events else None},
        "trust": {name: {"final": float(trust[-1, i]), "min": float(np.nanmin(trust[:, i]))}
                  for i, name in enumerate(NODES)},
        "estimation": {"soc_rmse": float(np.sqrt(np.mean(err[after] ** 2))),
                       "soc_max_error": float(np.max(np.abs(err[after]))),
                       "within_3_sigma": float(np.mean(np.abs(err) <= 3 * tr["soc_sigma"]))},
        "cycle_time_us": {"median": float(np.median(us)), "p99": float(np.percentile(us, 99)), "max": float(us.max())},
        "events": events,
        "mode_changes": transitions,
    }


def write_csv(path: Path, tr: dict, cfg: DemoConfig) -> None:
    cells, groups = cfg.series * cfg.parallel, cfg.series
    cols = [tr["t_s"], tr["current_a"], tr["command_a"], tr["mode"]]
    names = ["t_s", "current_a", "command_a", "mode"]
    for key, unit, count in (("cell_voltage_v", "voltage_v", cells), ("cell_temp_c", "temperature_c", cells),
                             ("cell_soc", "soc", cells)):
        cols += list(tr[key].T)
        names += [f"{unit}_{j + 1}" for j in range(count)]
    for key in ("soc_true", "soc_est", "soc_sigma"):
        cols += list(tr[key].T)
        names += [f"{key}_g{g + 1}" for g in range(groups)]
    cols += list(tr["trust"].T)
    names += [f"trust_{n}" for n in NODES]
    np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(names), comments="", fmt="%.7g")


def plot(path: Path, tr: dict, cfg: DemoConfig, cell: battery.CellParams) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = tr["t_s"] / 60.0
    fig, ax = plt.subplots(6, 1, figsize=(10, 14), sharex=True)
    ax[0].plot(t, tr["current_a"], label="pack current")
    ax[0].set_ylabel("current (A)")
    ax[1].plot(t, tr["cell_voltage_v"], lw=0.8)
    ax[1].axhline(cell.limits.voltage_max_v, color="r", ls="--", label="V max")
    ax[1].set_ylabel("cell voltage (V)")
    ax[2].plot(t, tr["cell_temp_c"], lw=0.8)
    ax[2].axhline(cell.limits.temp_max_k - ZERO_C, color="r", ls="--", label="T max")
    ax[2].set_ylabel("cell temperature (degC)")
    for g in range(cfg.series):
        line, = ax[3].plot(t, tr["soc_true"][:, g], lw=1.2, label=f"group {g + 1} truth")
        ax[3].plot(t, tr["soc_est"][:, g], lw=0.8, ls="--", color=line.get_color())
    ax[3].set_ylabel("SOC (truth, - - estimate)")
    for i, name in enumerate(NODES):
        ax[4].semilogy(t, np.maximum(tr["trust"][:, i], 1e-9), label=name)
    ax[4].set_ylabel("trust")
    ax[4].legend(loc="lower left")
    ax[5].step(t, tr["mode"], where="post")
    ax[5].set_yticks([0, 1, 2], ["NORMAL", "DERATED", "SAFE_STOP"])
    ax[5].set_xlabel("time (min)")
    for a in ax:
        a.axvline(cfg.attack_at_s / 60, color="purple", ls=":", lw=1)
        a.axvline(cfg.cooling_failure_at_s / 60, color="teal", ls=":", lw=1)
        a.grid(alpha=0.3)
    ax[0].set_title(f"safetwin demo: {cfg.series}s{cfg.parallel}p fast charge; purple: stealthy attack on "
                    f"{NODES[0]} (group {cfg.attack_group + 1}); teal: cooling failure")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
