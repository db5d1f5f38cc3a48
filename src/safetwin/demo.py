"""``safetwin demo``: the whole stack in one closed loop.

A 4s2p pack of REF-CELL-1 cells (or of a cell file's cells, ``DemoConfig.cell_file``) with
cell-to-cell spread is fast-charged from 10 % SOC by the MPC
through the guarded pack cycle (per series group: estimator with trust weighting, MPC, CBF filter,
invariant monitor, supervisor; the pack takes the most conservative group command), while the
bench injects, at announced times, a stealthy false-data injection on the cell-monitoring node's
reading of one group and a cooling failure. Two nodes measure every group voltage (the cell
monitor, 2 mV, and a redundant monitor, 10 mV); both attest every few seconds with TPM-style
quotes that a verifier checks; the compromised node's measured boot changes at the attack.

The whole closed loop (plant, sensors, the attack in the loop, the cooling failure, the pack
cycle) runs in C++ through the closed-loop runner (``safetwin.loop``); Python computes the
attestation verdicts and the sensor noise beforehand and reports.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Callable

import numpy as np

from safetwin import battery, control, loop
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
from safetwin.trust.attacks import StealthyInjection
from safetwin.trust.scenario import run_attestation

ZERO_C = battery.ZERO_CELSIUS_K
NODES = ("cell_monitor", "redundant_monitor")  # trust nodes 0 and 1: voltage_a and voltage_b
CHATTER_SETS = 4  # an invariant set more often than this in one group is summarised in one line
# units of the monitor's signals in the report (temperatures converted from K to degC)
SIGNAL_UNITS = {"temperature_k": "degC", "voltage_b_v": "V", "voltage_a_v": "V", "nis": "1",
                "trust_0": "1", "trust_1": "1", "trusted_voltage_nodes": "1"}


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
    # A TOML cell file (safetwin.cellfile) for the pack's cells instead of REF-CELL-1: plant, twin and
    # the monitor's tiers (placed as far from the file's limits as demo_monitor.toml's are from
    # REF-CELL-1's). The twin's MPC and estimator must take its structure (demo_cell refuses others).
    cell_file: str | None = None

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


def demo_cell(cfg: DemoConfig) -> tuple[str, battery.CellParams]:
    """(name, cell) of the demo's pack: REF-CELL-1, or the cell file's. A cell whose structure the
    twin's MPC or estimator does not take is refused in one line naming the structure."""
    if cfg.cell_file is None:
        return "REF-CELL-1", battery.CellParams.ref_cell_1()
    from safetwin import _core, cellfile
    from safetwin.estimation import BatteryEkfConfig
    name, cell = cellfile.load_cell_named(cfg.cell_file)
    for consumer, config in (("MPC", control.BatteryMpcConfig()), ("estimator", BatteryEkfConfig())):
        config.cell = cell
        try:
            config.validate()
        except ValueError as e:
            raise cellfile.CellFileError(
                f"{cfg.cell_file}: cell '{name}' has {_core.cell_structure_name(cell)}, which the demo's "
                f"{consumer} does not support ({e})") from None
    return name, cell


def monitor_definition(cfg: DemoConfig | None = None) -> MonitorDefinition:
    """The demo's invariants (package data ``demo_monitor.toml``): tiered voltage and temperature
    limits, the temperature rise rate, the estimator's consistency and the trust of the nodes. For a
    cell file's cell the voltage and temperature tiers move with its limits (the same distances from
    them as from REF-CELL-1's)."""
    text = (resources.files("safetwin") / "data" / "demo_monitor.toml").read_text()
    if cfg is None or cfg.cell_file is None:
        return MonitorDefinition.from_toml(text)
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    d = tomllib.loads(text)
    ref, lim = battery.CellParams.ref_cell_1().limits, demo_cell(cfg)[1].limits
    shift = {"temperature_k": lim.temp_max_k - ref.temp_max_k}
    for entry in d["tiered"]:
        if entry["signal"] in ("voltage_a_v", "voltage_b_v"):
            shift[entry["signal"]] = (lim.voltage_max_v - ref.voltage_max_v if entry["side"] == "hi"
                                      else lim.voltage_min_v - ref.voltage_min_v)
        delta = shift[entry["signal"]]
        for tier in ("operating", "recommended", "maximum"):
            entry[tier] += delta
    return MonitorDefinition.from_dict(d)


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
    mc = monitor_definition(cfg).config()
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
    """Runs the closed loop; returns the summary (stable keys, see ``summarise``) and the trace.

    The whole loop (plant, sensors, the attack and the cooling failure, the pack cycle) runs in
    C++ through the closed-loop runner (``safetwin.loop``), 60 steps per call between progress
    reports. The attack is the attack library's online stealthy injection run inside the loop;
    the attestation verdicts are computed here beforehand; the sensor noise is drawn here from
    numpy's generator (seed ``cfg.seed``) and handed over as additive arrays."""
    rng = np.random.default_rng(cfg.seed)
    cell_name, cell = demo_cell(cfg)
    cell.heat_transfer_w_per_k = cfg.heat_transfer_w_per_k  # the twin knows the nominal cooling only
    plant = battery.PackConfig(
        series=cfg.series, parallel=cfg.parallel, cell=cell,
        spread=battery.SpreadConfig(capacity_rel=0.03, r0_rel=0.10, seed=cfg.spread_seed),
        initial=battery.CellState(soc=cfg.soc0))
    mpc_cfg = control.BatteryMpcConfig()
    mpc_cfg.horizon = cfg.horizon
    mpc_cfg.cell = cell
    mpcs = [control.BatteryMpc(mpc_cfg) for _ in range(cfg.series)]

    n = int(round(cfg.duration_s / cfg.dt_s))
    t = np.arange(n) * cfg.dt_s
    attack = StealthyInjection(node=NODES[0], start_s=cfg.attack_at_s, soc_offset=cfg.attack_soc_offset,
                               ramp_s=cfg.attack_ramp_s)
    verdicts = run_attestation(t, NODES, [attack], every_s=cfg.attest_every_s).codes
    groups = cfg.series
    # Both monitors read each group's voltage, the hottest cell per group, the current: per step
    # the readings' noise in the order voltage a, voltage b, temperature (per group), current.
    sigma = np.concatenate([np.full(groups, cfg.voltage_a_sigma_v), np.full(groups, cfg.voltage_b_sigma_v),
                            np.full(groups, cfg.temperature_sigma_k), [cfg.current_sigma_a]])
    noise = rng.standard_normal((n, 3 * groups + 1)) * sigma
    spec = loop.make_spec(
        duration_s=cfg.duration_s, dt_s=cfg.dt_s, cycle=_cycle_config(cfg, cell, trust_weighting), plant=plant,
        law=loop.controllers(), noise=loop.SensorNoise(voltage_b=True),
        faults=[loop.fault("stealthy_injection", cfg.attack_at_s, target=cfg.attack_group, node="a",
                           value=cfg.attack_soc_offset, ramp_s=cfg.attack_ramp_s),
                loop.fault("cooling_loss", cfg.cooling_failure_at_s, target=-1, value=cfg.cooling_factor)],
        injection_a_v=noise[:, :groups], injection_b_v=noise[:, groups:2 * groups],
        injection_temperature_k=noise[:, 2 * groups:3 * groups], injection_current_a=noise[:, 3 * groups],
        attestation=verdicts)
    runner = loop.ClosedLoop(spec, mpcs)
    for k in range(0, n, 60):
        runner.advance(60)
        if progress is not None:
            progress(min(k + 60, n) / n)
    lt = runner.trace()
    tr = {"t_s": t, "command_a": lt["command_a"], "current_a": lt["applied_current_a"],
          "cycle_us": lt["cycle_ns"] / 1e3, "mode": lt["mode"].astype(int),
          "cell_voltage_v": lt["cell_voltage_v"], "cell_temp_c": lt["cell_temp_k"] - ZERO_C,
          "cell_soc": lt["cell_soc"], "soc_est": lt["soc_est"], "soc_sigma": lt["soc_sigma"],
          "voltage_a_v": lt["voltage_a_v"], "voltage_b_v": lt["voltage_b_v"],
          "temp_meas_c": lt["temperature_k"] - ZERO_C, "temp_est_c": lt["temp_est_k"] - ZERO_C,
          "trust": lt["trust"]}
    tr["soc_true"] = tr["cell_soc"].reshape(n, groups, cfg.parallel).mean(axis=2)
    summary = summarise(cfg, runner.pack_cycle, cell, tr)
    return DemoResult(dict(summary, cell=cell_name) if cfg.cell_file is not None else summary, tr)


def _first_time(t: np.ndarray, mask: np.ndarray) -> float | None:
    idx = np.flatnonzero(mask)
    return float(t[idx[0]]) if idx.size else None


def _signal_of(cfg: DemoConfig | None = None) -> dict:
    """Invariant name -> the signal it watches (demo_monitor.toml)."""
    return {inv.name: inv.signal for inv in monitor_definition(cfg).invariants}


def _in_report_units(value: float, signal: str) -> float:
    return value - ZERO_C if signal == "temperature_k" else value


def tiers_c(cfg: DemoConfig | None = None) -> dict:
    """The demo monitor's temperature tiers in degC (demo_monitor.toml, 'temperature')."""
    return {inv.name.split(".")[1]: inv.hi - ZERO_C for inv in monitor_definition(cfg).invariants
            if inv.name.startswith("temperature.") and inv.signal == "temperature_k"}


def collapse(events: list[dict]) -> list[dict]:
    """The events with each chattering invariant (set more than CHATTER_SETS times in one group)
    summarised in one record: how often it was set, between which times, its largest value."""
    counts: dict[tuple, list[dict]] = {}
    for e in events:
        counts.setdefault((e["group"], e["invariant"]), []).append(e)
    out, done = [], set()
    for e in events:
        key = (e["group"], e["invariant"])
        run = counts[key]
        sets = [r for r in run if r["kind"] == "set"]
        if len(sets) <= CHATTER_SETS:
            out.append(dict(e))
            continue
        if key in done:
            continue
        done.add(key)
        out.append({"time_s": run[0]["time_s"], "group": e["group"], "invariant": e["invariant"],
                    "severity": e["severity"], "kind": "chattering", "sets": len(sets),
                    "first_s": run[0]["time_s"], "last_s": run[-1]["time_s"],
                    "max_value": max(r["value"] for r in run), "limit": e["limit"], "unit": e["unit"],
                    "still_set": run[-1]["kind"] == "set"})
    return out


def summarise(cfg: DemoConfig, cycle: PackCycle, cell: battery.CellParams, tr: dict) -> dict:
    """The summary with stable keys (the ``--json`` contract). Groups are numbered from 1, as in
    the text; values and limits of temperature events are in degC, as the limits."""
    t = tr["t_s"]
    lim = cell.limits
    signal_of = _signal_of(cfg)
    events, transitions = [], []
    for g in range(cfg.series):
        cyc = cycle.group(g)
        for e in cyc.events():
            name = cyc.invariant_name(int(e["invariant"]))
            signal = signal_of.get(name, "")
            events.append(dict(time_s=float(e["time_s"]), group=g + 1, invariant=name,
                               severity=Severity(int(e["severity"])).name,
                               kind=EventKind(int(e["kind"])).name,
                               value=float(_in_report_units(float(e["value"]), signal)),
                               limit=float(_in_report_units(float(e["limit"]), signal)),
                               unit=SIGNAL_UNITS.get(signal, "")))
        for tr_ in cyc.transitions():
            transitions.append(dict(time_s=float(tr_["time_s"]), group=g + 1, **{
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
    warm_events = [e for e in events if e["kind"] == "set" and e["time_s"] >= cfg.cooling_failure_at_s
                   and e["invariant"].startswith("temperature")]
    max_v = float(np.nanmax(tr["cell_voltage_v"]))
    max_t = float(np.nanmax(tr["cell_temp_c"]))
    v_limit, t_limit = lim.voltage_max_v, lim.temp_max_k - ZERO_C
    tiers = tiers_c(cfg)
    max_t_meas = float(np.nanmax(tr["temp_meas_c"]))
    reason = None
    if t80 is None:
        stops = [e for e in events if e["severity"] == "stop" and e["kind"] == "set"]
        if stops:
            e = stops[0]
            if e["invariant"] == "temperature.maximum":
                reason = (f"SAFE_STOP at {e['time_s']:.0f} s: group {e['group']}'s measured temperature "
                          f"{e['value']:.2f} degC passed the monitor's stop tier {e['limit']:.2f} degC "
                          f"(temperature.maximum of demo_monitor.toml, below the cell's {t_limit:.1f} degC limit: "
                          f"a cooled pack this warm has lost its cooling); the true cells peaked at {max_t:.2f} degC; "
                          f"the charge stopped at SOC {soc_mean[-1]:.3f}")
            else:
                unit = f" {e['unit']}" if e["unit"] not in ("", "1") else ""
                reason = (f"SAFE_STOP at {e['time_s']:.0f} s: {e['invariant']} in group {e['group']} "
                          f"({e['value']:.4g}{unit} beyond {e['limit']:.4g}{unit}); "
                          f"the charge stopped at SOC {soc_mean[-1]:.3f}")
        else:
            reason = f"SOC reached {soc_mean[-1]:.3f} in {cfg.duration_s:.0f} s under the limits in force"
    failed = t >= cfg.cooling_failure_at_s
    temp_err = np.abs(tr["temp_est_c"] - tr["temp_meas_c"])
    us = tr["cycle_us"]
    return {
        "pack": f"{cfg.series}s{cfg.parallel}p",
        "duration_s": float(cfg.duration_s),
        "soc_start": float(soc_mean[0]),
        "soc_end": float(soc_mean[-1]),
        "time_to_80_s": t80,
        "reason_80_not_reached": reason,
        "limits": {
            # the true plant state (the simulation's cells), not what the sensors read
            "max_cell_voltage_v": max_v, "voltage_limit_v": v_limit,
            "max_cell_temperature_c": max_t, "temperature_limit_c": t_limit,
            "held": bool(max_v <= v_limit + 0.005 and max_t <= t_limit + 0.1),
            # the monitor's temperature tiers on the measured temperature (warning, derate, stop)
            "temperature_tiers_c": tiers,
            "max_measured_temperature_c": max_t_meas,
        },
        "attack": {"node": NODES[0], "group": cfg.attack_group + 1, "at_s": cfg.attack_at_s,
                   "soc_offset": cfg.attack_soc_offset, "distrusted_at_s": attacked_distrusted},
        "cooling_failure": {"at_s": cfg.cooling_failure_at_s, "cooling_factor": cfg.cooling_factor,
                            "detected_at_s": cooling_events[0]["time_s"] if cooling_events else None,
                            # the severity of the first limit event after the failure: derate or stop
                            "answer": cooling_events[0]["severity"] if cooling_events else None,
                            # the first temperature event of any severity after the failure (a warning
                            # when the filter keeps the pack under the derate tier), and whether it did
                            "first_temperature_event_s": warm_events[0]["time_s"] if warm_events else None,
                            "held_under_derate_tier": bool(max_t_meas < tiers["recommended"])},
        "trust": {name: {"final": float(trust[-1, i]), "min": float(np.nanmin(trust[:, i]))}
                  for i, name in enumerate(NODES)},
        "estimation": {"soc_rmse": float(np.sqrt(np.mean(err[after] ** 2))),
                       "soc_max_error": float(np.max(np.abs(err[after]))),
                       "within_3_sigma": float(np.mean(np.abs(err) <= 3 * tr["soc_sigma"])),
                       # the twin's thermal model assumes working cooling: after the failure its
                       # temperature estimate falls behind the measurement
                       "temperature_error_before_failure_k": float(np.max(temp_err[~failed])),
                       "temperature_error_after_failure_k": float(np.max(temp_err[failed]))},
        "cycle_time_us": {"median": float(np.median(us)), "p99": float(np.percentile(us, 99)), "max": float(us.max())},
        "events": events,
        "event_summary": collapse(events),
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


def plot_end_s(summary: dict, cfg: DemoConfig) -> float:
    """Where the time axis stops: 300 s after the last event of interest -- the last mode change,
    the cooling failure, or the first temperature event after it (the warm-up the filter holds)."""
    warm = summary["cooling_failure"].get("first_temperature_event_s")
    last = max([m["time_s"] for m in summary["mode_changes"]] + [cfg.cooling_failure_at_s]
               + ([warm] if warm is not None else []))
    return min(cfg.duration_s, last + 300.0)


def _rolling(x: np.ndarray, width: int, fn) -> np.ndarray:
    pad = np.concatenate([np.full(width - 1, x[0]), x])
    return fn(np.lib.stride_tricks.sliding_window_view(pad, width), axis=1)


def plot(path: Path, tr: dict, cfg: DemoConfig, cell: battery.CellParams, summary: dict | None = None) -> None:
    """demo.png: time in s as in the summary; true values solid, measured and estimated marked as
    such; the monitor's tiers on the temperature panel; the attacked node's reading against the true
    voltage of its group; trust as log-odds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summary or summarise_for_plot(tr, cfg)
    t = tr["t_s"]
    t_end = plot_end_s(summary, cfg)
    g_att = cfg.attack_group
    stop_t = next((m["time_s"] for m in summary["mode_changes"] if m["to"] == "SAFE_STOP"), None)
    fig, ax = plt.subplots(8, 1, figsize=(11, 21), sharex=True,
                           gridspec_kw={"height_ratios": [1, 1.2, 1, 1.5, 1.1, 0.9, 1, 0.7]})

    ax[0].plot(t, tr["current_a"], color="k", lw=1.2, label="pack current (2 cells in parallel share it)")
    ax[0].axhline(-cell.limits.charge_current_max_a * cfg.parallel, color="r", ls="--", lw=0.8,
                  label=f"charge limit {cell.limits.charge_current_max_a:g} A per cell")
    ax[0].set_ylabel("pack current (A)\n< 0 charges")
    ax[0].legend(loc="lower right", fontsize=8)

    for j in range(tr["cell_voltage_v"].shape[1]):
        ax[1].plot(t, tr["cell_voltage_v"][:, j], color="0.6", lw=0.7, label="true cell voltages (8 cells)" if j == 0 else None)
    ax[1].axhline(cell.limits.voltage_max_v, color="r", ls="--", lw=0.8, label=f"V max {cell.limits.voltage_max_v:g} V")
    ax[1].set_ylabel("cell voltage (V)")
    ax[1].legend(loc="lower right", fontsize=8)

    true_v = tr["cell_voltage_v"][:, g_att * cfg.parallel]
    band = 2e3 * cfg.voltage_a_sigma_v
    ax[2].fill_between(t, -band, band, color="tab:blue", alpha=0.12, label=f"cell_monitor noise (2 sigma, {band:g} mV)")
    ax[2].plot(t, 1e3 * (tr["voltage_b_v"][:, g_att] - true_v), color="tab:orange", lw=0.5, alpha=0.7,
               label="redundant_monitor reading - true (10 mV noise)")
    ax[2].plot(t, 1e3 * (tr["voltage_a_v"][:, g_att] - true_v), color="tab:blue", lw=0.8,
               label="cell_monitor reading - true (the attacked node)")
    ax[2].set_ylabel(f"group {g_att + 1} voltage\nreading - true (mV)")
    ax[2].legend(loc="lower left", fontsize=8)

    for j in range(tr["cell_temp_c"].shape[1]):
        ax[3].plot(t, tr["cell_temp_c"][:, j], color="0.55", lw=0.8, label="true cell temperatures" if j == 0 else None)
    for g in range(cfg.series):
        ax[3].plot(t, tr["temp_meas_c"][:, g], lw=0.4, alpha=0.6, label="measured, hottest cell per group" if g == 0 else None,
                   color="tab:purple")
    tiers = summary["limits"]["temperature_tiers_c"]
    for (name, value), color in zip(sorted(tiers.items(), key=lambda kv: kv[1]), ("gold", "orange", "red")):
        sev = {"operating": "warning", "recommended": "derate", "maximum": "stop"}.get(name, name)
        ax[3].axhline(value, color=color, ls=":", lw=1.2)
        ax[3].text(t_end, value, f" {value:g} degC: {sev}", color=color, va="center", fontsize=8)
    tmax = cell.limits.temp_max_k - ZERO_C
    ax[3].axhline(tmax, color="r", ls="--", lw=0.8)
    ax[3].text(t_end, tmax + 0.6, f" {tmax:g} degC: cell limit", color="r", va="center", fontsize=8)
    ax[3].set_ylabel("temperature (degC)")
    ax[3].legend(loc="upper left", fontsize=8)

    for g in range(cfg.series):
        line, = ax[4].plot(t, tr["soc_true"][:, g], lw=1.4, label=f"group {g + 1}")
        ax[4].plot(t, tr["soc_est"][:, g], lw=1.0, ls=(0, (2, 2)), color=line.get_color())
    ax[4].plot([], [], color="k", lw=1.4, label="true (solid)")
    ax[4].plot([], [], color="k", lw=1.0, ls=(0, (2, 2)), label="EKF estimate (dashed)")
    ax[4].set_ylabel("SOC")
    ax[4].legend(loc="upper left", fontsize=8, ncol=3)
    for g in range(cfg.series):
        ax[5].plot(t, 100 * (tr["soc_est"][:, g] - tr["soc_true"][:, g]), lw=1.0, label=f"group {g + 1}")
    for sign in (-1, 1):
        ax[5].plot(t, sign * 300 * tr["soc_sigma"][:, g_att], color="tab:orange", ls=":", lw=1.0,
                   label=f"group {g_att + 1}: +/-3 sigma of its EKF" if sign > 0 else None)
    worst = float(np.nanmax(np.abs(tr["soc_est"] - tr["soc_true"])[t >= cfg.attack_at_s])) * 100
    band = 300 * float(np.nanmax(tr["soc_sigma"][t >= cfg.attack_at_s, g_att]))
    top = max(2.0, 1.5 * worst, 1.1 * band)  # from the attack on: the start's 5 % sigma would hide the errors
    ax[5].set_ylim(-top, top)
    ax[5].set_ylabel("SOC estimate - true\n(% SOC)")
    ax[5].legend(loc="lower left", fontsize=8, ncol=5)

    # Trust after an attestation round is a belief; it recovers between the node's failed quotes,
    # so the raw trace zig-zags over decades. The band is its range over 30 s, the line its median.
    width = max(1, int(round(30.0 / cfg.dt_s)))
    for i, (name, color) in enumerate(zip(NODES, ("tab:blue", "tab:orange"))):
        p = np.clip(tr["trust"][:, i], 1e-12, 1 - 1e-12)
        odds = np.log10(p / (1 - p))
        ax[6].fill_between(t, _rolling(odds, width, np.min), _rolling(odds, width, np.max), color=color, alpha=0.25)
        ax[6].plot(t, _rolling(odds, width, np.median), color=color, lw=1.2, label=f"{name} (30 s median, range shaded)")
    ax[6].axhline(np.log10(0.1 / 0.9), color="k", ls="--", lw=0.8, label="distrusted below trust 0.1")
    ax[6].set_ylabel("trust, log10 odds\nlog10(p / (1 - p))")
    ax[6].legend(loc="lower left", fontsize=8)

    for g in range(cfg.series):
        ax[7].step(t, _group_mode(summary, g + 1, t), where="post",
                   lw=1.2, label=f"group {g + 1}", alpha=0.8)
    ax[7].set_yticks([0, 1, 2], ["NORMAL", "DERATED", "SAFE_STOP"])
    ax[7].set_xlabel("time (s)")
    ax[7].legend(loc="upper left", fontsize=8, ncol=4)

    marks = [(cfg.attack_at_s, "attack", "purple"), (cfg.cooling_failure_at_s, "cooling failure", "teal")]
    if stop_t is not None:
        marks.append((stop_t, "SAFE_STOP", "red"))
    for a in ax:
        for x, _, color in marks:
            a.axvline(x, color=color, ls=":", lw=1)
        a.grid(alpha=0.3)
        a.set_xlim(0, t_end)
    for x, label, color in marks:
        ax[0].text(x, 1.02, label, color=color, transform=ax[0].get_xaxis_transform(), ha="center", fontsize=9)
    fig.suptitle(f"safetwin demo: {cfg.series}s{cfg.parallel}p fast charge; stealthy attack on {NODES[0]}'s reading "
                 f"of group {g_att + 1} at {cfg.attack_at_s:g} s, cooling failure at {cfg.cooling_failure_at_s:g} s",
                 fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.93, 0.98))
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _group_mode(summary: dict, group: int, t: np.ndarray) -> np.ndarray:
    """A group's mode at each time, from its mode changes (0 NORMAL, 1 DERATED, 2 SAFE_STOP)."""
    level = {"NORMAL": 0, "DERATED": 1, "SAFE_STOP": 2}
    mode = np.zeros_like(t)
    for m in summary["mode_changes"]:
        if m["group"] == group:
            mode[t >= m["time_s"]] = level.get(m["to"], 0)
    return mode + 0.03 * (group - 2.5)  # a hair apart, so that groups in the same mode stay visible


def summarise_for_plot(tr: dict, cfg: DemoConfig) -> dict:
    """The parts of the summary the plot needs when it is called without one (mode changes from the
    pack's mode trace; the tiers from demo_monitor.toml)."""
    changes = [{"time_s": float(tr["t_s"][k]), "group": g + 1, "to": Mode(int(tr["mode"][k])).name}
               for k in np.flatnonzero(np.diff(tr["mode"], prepend=0)) for g in range(cfg.series)]
    return {"mode_changes": changes, "limits": {"temperature_tiers_c": tiers_c(cfg)}}
