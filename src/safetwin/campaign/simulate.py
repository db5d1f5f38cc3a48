"""One closed-loop scenario: the true plant, the sensors with their faults, and the guarded cycle
of the core (``ControlCycle`` for a cell, ``PackCycle`` with trust for a pack) -> one record.

This is the only module of the campaign engine that touches the closed-loop machinery. A sample
runs on the core's closed-loop runner (``safetwin.loop``, one C++ call with its plant-only
counterfactuals) where it is built in; the Python loop over the core's step calls here (the bench
side -- plant, sensors, faults -- stepped as in ``safetwin.demo``) stays as the benchmark's baseline.

Randomness: everything random in a scenario (the pack's cell-to-cell spread, the faulty group,
the drive cycle, every sensor's noise) comes from the generator the caller passes, which the
sampler derives from (campaign seed, stage, sample index) alone.

The record (one flat dict, see ``RECORD_FIELDS``):

- robustness of each limit on the TRUE plant (every cell): the minimum over time of the signed
  distance to the limit (< 0: violated), as in signal temporal logic;
- the counterfactual: the same scenario with the same noise and the current forced to 0 A from
  the first fault onset (from t = 0 when there is no fault, the fault is ageing present from the
  start, or the closed loop left the envelope before the onset); a side violated in the closed loop
  but not in the counterfactual is *avoidable*, one violated in both *unavoidable*;
- detection: the first derate or stop event, or mode change out of NORMAL, at or after the onset;
- the final mode, SAFE_STOP, non-finite commands, failed controller outputs, and the true cell
  currents against their limits.
"""
from __future__ import annotations

import functools
import math
import re
import time
from importlib import resources

import numpy as np

from safetwin import battery, control, profiles
from safetwin._core import (
    CcCvCharger,
    CcCvConfig,
    ControlCycle,
    Controller,
    CycleConfig,
    CycleMeasurements,
    Decision,
    EventKind,
    Mode,
    PackCycle,
    PackCycleConfig,
    Severity,
    Status,
)
from safetwin.campaign import regime
from safetwin.cycle import BUILTIN_SIGNALS
from safetwin.safety import MonitorDefinition
from safetwin.trust.attacks import Bias, OnlineStealthyInjection, StealthyInjection
from safetwin.trust.scenario import run_attestation

ZERO_C = battery.ZERO_CELSIUS_K
NODES = ("cell_monitor", "redundant_monitor")  # trust nodes 0 and 1: voltage_a and voltage_b

# Fault classes. Sensor faults act on node a's reading of one group (the cell monitor); plant
# faults on the true cells; ageing (capacity fade, R0 growth) on every cell from t = 0, unknown
# to the twin. severity in [0, 1] maps onto each class's physical range (see _fault_size).
SENSOR_FAULTS = ("voltage_stuck", "voltage_offset", "voltage_drift", "voltage_noise", "voltage_dropout",
                 "voltage_nan", "temperature_stuck_low", "stealthy_injection", "node_tampered")
PLANT_FAULTS = ("internal_short", "cooling_loss")
AGEING_FAULTS = ("capacity_fade", "r0_growth")
# link_loss: every measurement frame lost (both voltage nodes and the temperature of every group
# invalid) from the onset for a duration; the cycle is blind and must fail closed.
LINK_FAULTS = ("link_loss",)
FAULTS = ("none",) + PLANT_FAULTS + SENSOR_FAULTS + AGEING_FAULTS + LINK_FAULTS

# Control laws: the core's MPC, a CC-CV charger, a drive cycle (discharge demand), and deliberately
# unsafe ones the guarded cycle must contain.
# regime_NAME: a load profile drawn from the regime model fitted to a standard drive cycle
# (safetwin.campaign.regime, data/load_models); "regime:PATH" one from a model file (campaign fit-load).
REGIME_LAWS = tuple(f"regime_{name}" for name in regime.SHIPPED)
REGIME_FILE = "regime:"
SAFE_LAWS = ("mpc", "cccv", "drive_cycle") + REGIME_LAWS
UNSAFE_LAWS = ("const_3c", "bang_bang", "ignore_temperature", "faulty")
LAWS = SAFE_LAWS + UNSAFE_LAWS


def import_law(path: str):
    """A control law by import path, ``package.module:factory``: ``factory(twin_cell_params)``
    returns a ``safetwin.cycle.Controller`` (one is made per series group)."""
    import importlib

    module, _, attr = path.partition(":")
    if not module or not attr:
        raise ValueError(f"law = {path!r}: an import path reads 'package.module:factory'")
    try:
        factory = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"law = {path!r}: cannot import ({exc})") from None
    if not callable(factory):
        raise ValueError(f"law = {path!r}: {attr} is not callable")
    return factory

@functools.lru_cache(maxsize=32)
def regime_model(law: str) -> regime.RegimeModel:
    """The regime load model a law names: regime_NAME (shipped) or regime:PATH (a model file)."""
    if law.startswith(REGIME_FILE):
        path = law[len(REGIME_FILE):]
        try:
            with open(path) as f:
                text = f.read()
        except OSError as exc:
            raise ValueError(f"law = {law!r}: cannot read the load model ({exc.strerror})") from None
        return regime.RegimeModel.from_toml(text, path)
    return regime.shipped(law[len("regime_"):])


TOPOLOGY = re.compile(r"^(cell|([1-9][0-9]?)s([1-9][0-9]?)p)$")

# The variables a closed-loop campaign may sample or fix: (allowed values or (low, high)), default.
# A law may also be an import path (see import_law).
VARIABLES = {
    "topology": ("cell or NsMp", "cell"),
    "law": (LAWS, "mpc"),
    "fault": (FAULTS, "none"),
    "soc0": ((0.01, 0.99), 0.5),
    "soc0_error": ((-0.3, 0.3), 0.0),          # the twin's initial SOC minus the true one
    "ambient_c": ((-20.0, 50.0), 25.0),
    "onset_s": ((0.0, math.inf), 300.0),
    "severity": ((0.0, 1.0), 0.5),
    "spread_capacity_rel": ((0.0, 0.2), 0.03),
    "spread_r0_rel": ((0.0, 0.5), 0.10),
}

# Sensors (as the demo's two monitors: the cell monitor 2 mV, the redundant monitor 10 mV).
VOLTAGE_A_SIGMA_V, VOLTAGE_B_SIGMA_V = 0.002, 0.010
TEMPERATURE_SIGMA_K, CURRENT_SIGMA_A = 0.2, 0.02
ATTEST_EVERY_S = 5.0
CURRENT_SLACK_A = 1e-6  # a cell current counts as over its limit beyond rounding only

RECORD_FIELDS = (
    "fault_group", "robust_voltage_max_v", "robust_voltage_min_v", "robust_temp_max_k",
    "robust_charge_current_a", "robust_discharge_current_a", "max_cell_voltage_v", "min_cell_voltage_v",
    "max_cell_temp_c", "max_charge_cell_current_a", "max_discharge_cell_current_a",
    "cf_robust_voltage_max_v", "cf_robust_voltage_min_v", "cf_robust_temp_max_k", "cf_from_s",
    "violated", "avoidable", "unavoidable", "avoidable_sides", "unavoidable_sides", "first_violation_s",
    "cf_first_violation_s", "unavoidable_lead_s", "detect_s", "detect_delay_s", "first_event", "final_mode",
    "safe_stop", "safe_stop_s", "false_stop", "nonfinite_commands", "controller_failures",
    "current_limit_exceeded", "engine", "wall_s",
    # reporting (issue 18): measurement frames sent by the sensor nodes (-1: the Python loop, which
    # reports every step and does not count them), per node kind, early reports, missed reports
    "frames", "frames_voltage_a", "frames_voltage_b", "frames_temperature", "event_reports", "missed_reports")
# Reporting schemes of the closed-loop runner (ReportingConfig.mode; `periodic` with its period).
REPORTING = ("every_step", "periodic", "self_triggered")
SIDES = ("voltage_max", "voltage_min", "temp_max")


def parse_topology(topology: str) -> tuple[int, int]:
    m = TOPOLOGY.match(str(topology))
    if m is None:
        raise ValueError(f"topology = {topology!r}: must be 'cell' or 'NsMp' (N, M in 1..99, e.g. '4s2p')")
    return (1, 1) if m.group(1) == "cell" else (int(m.group(2)), int(m.group(3)))


def _fault_size(fault: str, severity: float) -> float:
    """The physical size of a fault of the given severity in [0, 1]."""
    s = float(severity)
    return {
        "internal_short": 10 ** (2.0 - 2.0 * s),      # leak resistance 100 ohm .. 1 ohm (log)
        "cooling_loss": 1.0 - 0.95 * s,               # cooling factor 1 .. 0.05
        "voltage_stuck": 0.0,                          # stuck at its reading at the onset
        "voltage_offset": -0.15 + 0.30 * s,           # V, -150 .. +150 mV
        "voltage_drift": (-0.2 + 0.4 * s) * 1e-3,     # V/s, -0.2 .. +0.2 mV/s
        "voltage_noise": 2.0 + 8.0 * s,               # noise x2 .. x10
        "temperature_stuck_low": 5.0 * s,             # reads the ambient minus 0 .. 5 K
        "stealthy_injection": -(0.05 + 0.25 * s),     # SOC offset the attacker wants believed
        "capacity_fade": 1.0 - 0.30 * s,              # capacity factor 1 .. 0.7
        "r0_growth": 1.0 + 1.0 * s,                   # R0 factor 1 .. 2
        "link_loss": 10 ** (3.0 * s),                 # frames lost for 1 s .. 1000 s (log)
    }.get(fault, 0.0)


@functools.cache
def _monitor_definition(with_trust: bool) -> MonitorDefinition:
    """The shipped invariants of the demo; a cell runs without trust, so without its invariants."""
    text = (resources.files("safetwin") / "data" / "demo_monitor.toml").read_text()
    d = MonitorDefinition.from_toml(text)
    if with_trust:
        return d
    keep = [i for i in d.invariants if i.signal in BUILTIN_SIGNALS]
    return MonitorDefinition([s for s in d.signals if s in BUILTIN_SIGNALS], keep, d.sample_period_s, d.event_capacity)


@functools.lru_cache(maxsize=16)
def _honest_attestation(n: int, dt_s: float) -> np.ndarray:
    """Both nodes honest: their verdicts are the same for every scenario of one length."""
    codes = run_attestation(np.arange(n) * dt_s, NODES, [], every_s=ATTEST_EVERY_S).codes
    codes.setflags(write=False)
    return codes


class _Law(Controller):
    """A control law written in Python, guarded by the C++ cycle like any controller."""

    def __init__(self, fn):
        super().__init__()
        self._fn = fn

    def compute(self, inp):
        return self._fn(inp)


def _make_laws(law: str, groups: int, twin: battery.CellParams, dt_s: float, n: int, rng: np.random.Generator,
               readings: dict) -> list:
    """One controller per series group (cell currents, A, > 0 discharges)."""
    one_c = twin.capacity_ah
    if law in ("mpc", "ignore_temperature"):
        cfg = control.BatteryMpcConfig()
        cell = battery.CellParams.ref_cell_1() if law == "ignore_temperature" else twin
        if law == "ignore_temperature":
            cell.ambient_temp_k = twin.ambient_temp_k
            lim = cell.limits
            lim.temp_max_k = ZERO_C + 80.0  # the law plans as if the cell could take 80 degC
            cell.limits = lim
        cfg.cell = cell
        cfg.dt_s = dt_s
        return [control.BatteryMpc(cfg) for _ in range(groups)]
    if law == "cccv":
        chargers = [CcCvCharger(CcCvConfig(charge_current_a=one_c)) for _ in range(groups)]
        return [_Law(lambda inp, g=g: chargers[g].current_a(readings["voltage_a_v"][g])) for g in range(groups)]
    if law == "drive_cycle":
        demand = profiles.drive_cycle(n * dt_s, dt_s, seed=int(rng.integers(2**31)), mean_current_a=5.0,
                                      peak_current_a=25.0, regen_current_a=10.0)
        laws = [_Law(lambda inp: float(demand[min(int(round(inp.time_s / dt_s)), n - 1)])) for _ in range(groups)]
        for law_ in laws:
            law_.profile_a = demand  # the core runner takes it as a built-in profile law
        return laws
    if law in REGIME_LAWS or law.startswith(REGIME_FILE):
        model = regime_model(law)
        # the model's currents are for its own cell: the same C-rate on the twin's cell
        scale = one_c / model.capacity_ah if math.isfinite(model.capacity_ah) else 1.0
        demand = model.profile(rng, n * dt_s, dt_s, scale=scale)
        laws = [_Law(lambda inp: float(demand[min(int(round(inp.time_s / dt_s)), n - 1)])) for _ in range(groups)]
        for law_ in laws:
            law_.profile_a = demand
        return laws
    if law == "const_3c":
        return [_Law(lambda inp: -3.0 * one_c) for _ in range(groups)]
    if law == "bang_bang":
        return [_Law(lambda inp: -3.0 * one_c if int(inp.time_s // 60.0) % 2 == 0 else 3.0 * one_c)
                for _ in range(groups)]
    if law == "faulty":
        def faulty(inp):
            k = int(round(inp.time_s / dt_s))
            if k % 7 == 3:
                return math.nan
            if k % 11 == 5:
                return None
            if k % 13 == 7:
                raise RuntimeError("faulty law: deliberate failure")
            return -2.0 * one_c
        return [_Law(faulty) for _ in range(groups)]
    if ":" in law:
        factory = import_law(law)
        laws = [factory(twin) for _ in range(groups)]
        if not all(isinstance(c, Controller) for c in laws):
            raise ValueError(f"law = {law!r}: the factory must return a safetwin.cycle.Controller")
        return laws
    raise ValueError(f"law = {law!r}: must be one of {list(LAWS)} or an import path 'module:factory'")


def _cycle_config(twin: battery.CellParams, soc0_twin: float, temp0_k: float, with_trust: bool) -> CycleConfig:
    c = CycleConfig()
    c.cell = twin
    c.soc0, c.soc_sigma0, c.temp0_k = soc0_twin, 0.05, temp0_k
    c.estimate_cooling = True  # the thermal twin (issue 13 item 6; opt-in in CycleConfig)
    est = c.estimator
    est.voltage_a_sigma_v, est.voltage_b_sigma_v = VOLTAGE_A_SIGMA_V, VOLTAGE_B_SIGMA_V
    est.temperature_sigma_k, est.current_sigma_a = TEMPERATURE_SIGMA_K, CURRENT_SIGMA_A
    c.estimator = est
    mc = _monitor_definition(with_trust).config()
    mc.signals = [s for s in mc.signals if s not in BUILTIN_SIGNALS]  # the cycle adds its own
    c.monitor = mc
    return c


def _plant(series: int, parallel: int, cell: battery.CellParams, spread: tuple, state: battery.CellState):
    cfg = battery.PackConfig(series=series, parallel=parallel, cell=cell,
                             spread=battery.SpreadConfig(capacity_rel=spread[0], r0_rel=spread[1], seed=spread[2]),
                             initial=state)
    return battery.Pack(cfg)


def _age(plant, fault: str, size: float) -> None:
    """Capacity fade or R0 growth on every cell, on top of its spread."""
    if fault not in AGEING_FAULTS:
        return
    for j, s in enumerate(plant.scaling):
        if fault == "capacity_fade":
            s.capacity_factor = s.capacity_factor * size
        else:
            s.r0_factor = s.r0_factor * size
        plant.set_scaling(j, s)


def _break_plant(plant, fault: str, size: float, cell: int) -> None:
    if fault == "internal_short":
        plant.set_leak_resistance(cell, size)
    elif fault == "cooling_loss":
        for j in range(plant.cells):
            plant.set_cooling_factor(j, size)


def _copy_state(s) -> battery.CellState:
    # Pack.states refers to the plant's own cells, which go on changing: copy the values
    return battery.CellState(soc=s.soc, v1_v=s.v1_v, v2_v=s.v2_v, temp_k=s.temp_k)


def _rest(plant, steps: int, dt_s: float, parts_v: list, parts_t: list) -> None:
    # Pack.simulate records the state before each step; the closed loop records it after each
    # step: drop the first row and append the state after the last step, so both align in time.
    r = plant.simulate(np.zeros(steps), dt_s)
    parts_v.append(np.vstack([r["cell_voltage_v"][1:], plant.cell_voltage_v]))
    parts_t.append(np.vstack([r["cell_temp_k"][1:], plant.cell_temp_k]))


def _robustness(v: np.ndarray, temp_k: np.ndarray, lim) -> dict:
    """Minimum over time of the signed distance to each envelope limit, over every cell."""
    return {"voltage_max": float(lim.voltage_max_v - np.max(v)),
            "voltage_min": float(np.min(v) - lim.voltage_min_v),
            "temp_max": float(lim.temp_max_k - np.max(temp_k))}


def _first_violation(t: np.ndarray, v: np.ndarray, temp_k: np.ndarray, lim) -> float:
    bad = (v.max(axis=1) > lim.voltage_max_v) | (v.min(axis=1) < lim.voltage_min_v) | (temp_k.max(axis=1) > lim.temp_max_k)
    idx = np.flatnonzero(bad)
    return float(t[idx[0]]) if idx.size else math.nan


@functools.lru_cache(maxsize=1)
def runner_available() -> bool:
    """The core's closed-loop runner (safetwin.loop) is built into this installation, and its
    Python face matches the compiled module (a fault spec can be made: a source tree newer than
    its build is not mistaken for a runner)."""
    try:
        from safetwin import loop

        loop.fault("voltage_offset", 0.0)
    except (ImportError, TypeError, AttributeError):
        return False
    return True


@functools.lru_cache(maxsize=1)
def _runner_has_stealthy_injection() -> bool:
    from safetwin import loop

    return "stealthy_injection" in loop.FAULT_KINDS


# Which loop runs a sample by default: the core's runner where it is built in (checked against the
# Python loop by tests/test_campaign_simulate.py on the same physics), the Python loop otherwise.
# The record's "engine" field says which ran; the two draw their sensor noise from different
# generators (numpy Philox here, splitmix64 in the runner), so one campaign folder holds one engine.
DEFAULT_ENGINE = "auto"


def simulate(scenario: dict, rng: np.random.Generator, duration_s: float, dt_s: float,
             engine: str = DEFAULT_ENGINE, reporting: str = "every_step", report_period_s: float = 1.0,
             counterfactual: str = "fork") -> dict:
    """Runs one scenario (its variables, see VARIABLES) and returns its record (RECORD_FIELDS).

    engine: "core" (the closed-loop runner, one C++ call per run), "python" (the loop over the
    core's step calls, the benchmark's baseline), "auto": the runner when it is built in (a
    stealthy injection needs a runner that runs the attack in the loop; otherwise the Python loop).
    reporting: when the sensor nodes report (REPORTING; not every_step: the runner only).
    counterfactual (the runner only): "fork", the runner's plant-only counterfactual beside the
    run; "rerun", a whole second run with the current forced to 0 A (the reference the fork is
    tested against, and the benchmark's before)."""
    if engine not in ("auto", "core", "python"):
        raise ValueError(f"engine = {engine!r}: must be 'auto', 'core' or 'python'")
    if reporting not in REPORTING:
        raise ValueError(f"reporting = {reporting!r}: must be one of {list(REPORTING)}")
    if counterfactual not in ("fork", "rerun"):
        raise ValueError(f"counterfactual = {counterfactual!r}: must be 'fork' or 'rerun'")
    if not (report_period_s > 0 and math.isfinite(report_period_s)):
        raise ValueError(f"report_period_s = {report_period_s}: must be finite and > 0")
    wall0 = time.perf_counter()
    sc = {name: scenario.get(name, default) for name, (_, default) in VARIABLES.items()}
    series, parallel = parse_topology(sc["topology"])
    pack = (series, parallel) != (1, 1)
    fault, law = str(sc["fault"]), str(sc["law"])
    size = _fault_size(fault, sc["severity"])
    n = int(round(duration_s / dt_s))
    t = np.arange(n) * dt_s
    onset_s = 0.0 if fault in AGEING_FAULTS else float(sc["onset_s"])
    k_onset = n if fault == "none" else min(int(math.ceil(onset_s / dt_s - 1e-9)), n)

    # Exogenous randomness, all drawn up front from the sample's own generator.
    fault_group = int(rng.integers(series))
    spread = (float(sc["spread_capacity_rel"]), float(sc["spread_r0_rel"]), int(rng.integers(2**31)))
    noise_va = rng.normal(0.0, VOLTAGE_A_SIGMA_V, (n, series))
    noise_vb = rng.normal(0.0, VOLTAGE_B_SIGMA_V, (n, series))
    noise_t = rng.normal(0.0, TEMPERATURE_SIGMA_K, (n, series))
    noise_i = rng.normal(0.0, CURRENT_SIGMA_A, n)

    ambient_k = float(sc["ambient_c"]) + ZERO_C
    twin = battery.CellParams.ref_cell_1()
    twin.ambient_temp_k = ambient_k  # the twin knows the ambient, not the faults or the ageing
    truth = battery.CellParams.ref_cell_1()
    truth.ambient_temp_k = ambient_k
    lim = truth.limits
    state0 = battery.CellState(soc=float(sc["soc0"]), temp_k=ambient_k)
    plant = _plant(series, parallel, truth, spread if pack else (0.0, 0.0, 0), state0)
    _age(plant, fault, size)
    fault_cell = fault_group * parallel

    readings = {"voltage_a_v": np.zeros(series)}
    laws = _make_laws(law, series, twin, dt_s, n, rng, readings)
    soc0_twin = float(np.clip(sc["soc0"] + sc["soc0_error"], 0.01, 0.99))
    ccfg = _cycle_config(twin, soc0_twin, ambient_k, pack)
    use_core = engine == "core" or (engine == "auto" and runner_available() and
                                    (fault != "stealthy_injection" or _runner_has_stealthy_injection()))
    if reporting != "every_step" and not use_core:
        raise ValueError(f"reporting = {reporting!r} needs the closed-loop runner (engine 'core')")
    if use_core:
        if fault == "stealthy_injection" and not _runner_has_stealthy_injection():
            raise ValueError("engine = 'core': this runner build has no stealthy_injection fault")
        m = _core_run(sc, series, parallel, fault, law, size, n, dt_s, t, onset_s, k_onset, fault_group,
                      fault_cell, spread, ambient_k, truth, state0, ccfg, laws, int(rng.integers(2**63)),
                      reporting=reporting, report_period_s=report_period_s, counterfactual=counterfactual)
        return _record(m, fault_group, lim, onset_s, fault, law, dt_s, wall0)
    if pack:
        pc = PackCycleConfig(series, parallel)
        pc.cell = ccfg
        trust = pc.trust
        trust.enabled, trust.weighting, trust.nodes = True, True, len(NODES)
        pc.trust = trust
        cycle = PackCycle(pc, laws)
        if fault in ("stealthy_injection", "node_tampered") and k_onset < n:
            atk = [StealthyInjection(node=NODES[0], start_s=onset_s, soc_offset=size, ramp_s=600.0)
                   if fault == "stealthy_injection" else Bias(node=NODES[0], start_s=onset_s, offset=0.0)]
            verdicts = run_attestation(t, NODES, atk, every_s=ATTEST_EVERY_S).codes
        else:
            verdicts = _honest_attestation(n, dt_s)
        groups_of = [cycle.group(g) for g in range(series)]
    else:
        cycle = ControlCycle(ccfg, laws[0])
        groups_of = [cycle]

    v_true = np.empty((n, plant.cells))
    temp_true = np.empty((n, plant.cells))
    i_true = np.empty((n, plant.cells))
    va_valid = np.ones(series, dtype=bool)
    vb_valid = np.ones(series, dtype=bool)
    temp_valid = np.ones(series, dtype=bool)
    command = 0.0
    nonfinite = 0
    controller_failures = 0
    safe_stop_s = math.nan
    injector = None
    stuck_v = math.nan
    snapshot = None
    for k in range(n):
        if k == k_onset:
            _break_plant(plant, fault, size, fault_cell)
            snapshot = [_copy_state(c) for c in plant.states]  # the counterfactual goes on from here at 0 A
            if fault == "stealthy_injection":
                injector = OnlineStealthyInjection(
                    StealthyInjection(node=NODES[0], start_s=onset_s, soc_offset=size, ramp_s=600.0),
                    _copy_state(plant.states[fault_cell]), twin)
        temps_k = plant.cell_temp_k
        plant.step(command, dt_s)
        v_cells = plant.cell_voltage_v
        v_true[k], temp_true[k], i_true[k] = v_cells, plant.cell_temp_k, plant.cell_current_a
        # Sensors: both nodes read each group's voltage, the hottest cell of each group, the current.
        v_group = v_cells[::parallel]
        va = v_group + noise_va[k]
        vb = v_group + noise_vb[k]
        temp = temps_k.reshape(series, parallel).max(axis=1) + noise_t[k]
        plant_current = command if plant.contactor_closed else 0.0
        measured_current = plant_current + noise_i[k]
        if k >= k_onset:
            g = fault_group
            if fault == "voltage_stuck":
                stuck_v = va[g] if math.isnan(stuck_v) else stuck_v
                va[g] = stuck_v
            elif fault == "voltage_offset":
                va[g] += size
            elif fault == "voltage_drift":
                va[g] += size * (t[k] - onset_s)
            elif fault == "voltage_noise":
                va[g] += (size - 1.0) * noise_va[k, g]
            elif fault == "voltage_nan":
                va[g] = math.nan
            elif fault == "temperature_stuck_low":
                temp[g] = ambient_k - size
            elif fault == "stealthy_injection":
                va[g] += injector.offset_v(t[k], plant_current / parallel, dt_s)
            va_valid[g] = fault != "voltage_dropout"
            if fault == "link_loss":  # every node silent, then the link is back
                lost = t[k] < onset_s + size
                va_valid[:], vb_valid[:], temp_valid[:] = not lost, not lost, not lost
        readings["voltage_a_v"] = va
        if pack:
            st = cycle.step(t[k], measured_current, va, temp, dt_s, voltage_b_v=vb, attestation=verdicts[k],
                            voltage_a_valid=va_valid, voltage_b_valid=vb_valid, temperature_valid=temp_valid)
        else:
            st = cycle.step(CycleMeasurements(time_s=t[k], voltage_a_v=va[0], voltage_b_v=vb[0],
                                              temperature_k=temp[0], current_a=measured_current,
                                              voltage_a_valid=bool(va_valid[0]), voltage_b_valid=bool(vb_valid[0]),
                                              temperature_valid=bool(temp_valid[0])), dt_s)
        command = st.command_a
        if not math.isfinite(command):
            nonfinite += 1
            command = 0.0  # counted; the plant never takes a non-finite current
        plant.contactor_closed = st.contactor_closed
        if st.mode == Mode.SAFE_STOP and math.isnan(safe_stop_s):
            safe_stop_s = float(t[k])
        if st.mode != Mode.SAFE_STOP:  # in SAFE_STOP the controller is not asked
            statuses = [cycle.group_status(g) for g in range(series)] if pack else [st]
            controller_failures += sum(s.controller_status != Status.ok or s.controller_decision != Decision.applied
                                       for s in statuses)
    final_mode = (cycle.mode if not pack else st.mode).name

    rob = _robustness(v_true, temp_true, lim)
    first_violation_s = _first_violation(t, v_true, temp_true, lim)

    # Counterfactual: 0 A from the onset (or from t = 0, see the module docstring), same plant faults.
    from_zero = fault == "none" or fault in AGEING_FAULTS or snapshot is None or \
        (not math.isnan(first_violation_s) and first_violation_s < onset_s)
    k_cf = 0 if from_zero else k_onset
    cf = _plant(series, parallel, truth, spread if pack else (0.0, 0.0, 0), state0)
    _age(cf, fault, size)
    if not from_zero:
        for j, s in enumerate(snapshot):
            cf.set_state(j, s)
    parts_v, parts_t = [v_true[:k_cf]], [temp_true[:k_cf]]
    k = k_cf
    if fault in PLANT_FAULTS and k_onset > k:  # rest until the onset, then the fault
        _rest(cf, k_onset - k, dt_s, parts_v, parts_t)
        k = k_onset
    if fault in PLANT_FAULTS and k_onset < n:
        _break_plant(cf, fault, size, fault_cell)
    if k < n:
        _rest(cf, n - k, dt_s, parts_v, parts_t)
    v_cf, temp_cf = np.concatenate(parts_v), np.concatenate(parts_t)
    rob_cf = _robustness(v_cf, temp_cf, lim)
    cf_first_violation_s = _first_violation(t, v_cf, temp_cf, lim)

    m = {"rob": rob, "rob_cf": rob_cf, "first_violation_s": first_violation_s,
         "cf_first_violation_s": cf_first_violation_s, "k_cf": k_cf, "groups_of": groups_of,
         "charge_max": float(max(0.0, -np.min(i_true))), "discharge_max": float(max(0.0, np.max(i_true))),
         "max_v": float(v_true.max()), "min_v": float(v_true.min()), "max_t_k": float(temp_true.max()),
         "final_mode": final_mode, "safe_stop_s": safe_stop_s, "nonfinite": nonfinite,
         "controller_failures": controller_failures, "engine": "python"}
    return _record(m, fault_group, lim, onset_s, fault, law, dt_s, wall0)


def _record(m: dict, fault_group: int, lim, onset_s: float, fault: str, law: str, dt_s: float, wall0: float) -> dict:
    """The record of a run (RECORD_FIELDS) from its measured quantities, whichever loop ran it."""
    rob, rob_cf = m["rob"], m["rob_cf"]
    first_violation_s, cf_first_violation_s = m["first_violation_s"], m["cf_first_violation_s"]
    safe_stop_s = m["safe_stop_s"]
    violated = [s for s in SIDES if rob[s] < 0]
    avoidable = [s for s in violated if rob_cf[s] >= 0]
    unavoidable = [s for s in violated if rob_cf[s] < 0]

    # Detection: the first derate/stop event or mode change out of NORMAL at or after the onset.
    detect_s, first_event = math.inf, ""
    for cyc in m["groups_of"]:
        for e in cyc.events():
            if (int(e["kind"]) == int(EventKind.set) and int(e["severity"]) >= int(Severity.derate)
                    and e["time_s"] >= onset_s and e["time_s"] < detect_s):
                detect_s, first_event = float(e["time_s"]), cyc.invariant_name(int(e["invariant"]))
        for tr in cyc.transitions():
            if int(tr["to"]) != int(Mode.NORMAL) and tr["time_s"] >= onset_s and tr["time_s"] < detect_s:
                detect_s, first_event = float(tr["time_s"]), f"mode.{Mode(int(tr['to'])).name}"
    detected = fault != "none" and math.isfinite(detect_s)

    charge_max, discharge_max = m["charge_max"], m["discharge_max"]
    safe_stop = not math.isnan(safe_stop_s)
    return {
        "fault_group": fault_group,
        "robust_voltage_max_v": rob["voltage_max"], "robust_voltage_min_v": rob["voltage_min"],
        "robust_temp_max_k": rob["temp_max"],
        "robust_charge_current_a": lim.charge_current_max_a - charge_max,
        "robust_discharge_current_a": lim.discharge_current_max_a - discharge_max,
        "max_cell_voltage_v": m["max_v"], "min_cell_voltage_v": m["min_v"],
        "max_cell_temp_c": m["max_t_k"] - ZERO_C,
        "max_charge_cell_current_a": charge_max, "max_discharge_cell_current_a": discharge_max,
        "cf_robust_voltage_max_v": rob_cf["voltage_max"], "cf_robust_voltage_min_v": rob_cf["voltage_min"],
        "cf_robust_temp_max_k": rob_cf["temp_max"], "cf_from_s": float(m["k_cf"] * dt_s),
        "violated": bool(violated), "avoidable": bool(avoidable), "unavoidable": bool(unavoidable),
        "avoidable_sides": ",".join(avoidable), "unavoidable_sides": ",".join(unavoidable),
        "first_violation_s": first_violation_s, "cf_first_violation_s": cf_first_violation_s,
        # how much earlier the closed loop reached an unavoidable violation than 0 A did (> 0: earlier)
        "unavoidable_lead_s": (cf_first_violation_s - first_violation_s) if unavoidable else math.nan,
        "detect_s": detect_s if detected else math.nan,
        "detect_delay_s": detect_s - onset_s if detected else math.nan,
        "first_event": first_event if detected else "",
        "final_mode": m["final_mode"], "safe_stop": safe_stop, "safe_stop_s": safe_stop_s,
        "false_stop": bool(safe_stop and fault == "none" and law in SAFE_LAWS),
        "nonfinite_commands": int(m["nonfinite"]), "controller_failures": int(m["controller_failures"]),
        "current_limit_exceeded": bool(charge_max > lim.charge_current_max_a + CURRENT_SLACK_A
                                       or discharge_max > lim.discharge_current_max_a + CURRENT_SLACK_A),
        "engine": m["engine"],
        "wall_s": time.perf_counter() - wall0,
        **{k: int(m.get(k, -1)) for k in ("frames", "frames_voltage_a", "frames_voltage_b", "frames_temperature",
                                          "event_reports", "missed_reports")},
    }


def _core_run(sc, series, parallel, fault, law, size, n, dt_s, t, onset_s, k_onset, fault_group, fault_cell,
              spread, ambient_k, truth, state0, ccfg, laws, noise_seed: int, reporting: str = "every_step",
              report_period_s: float = 1.0, counterfactual: str = "fork") -> dict:
    """The same scenario on the core's closed-loop runner (safetwin.loop): one C++ call for the
    run and its counterfactuals at 0 A (plant-only, from t = 0 and forked from the run at the onset)."""
    from safetwin import loop

    pack = (series, parallel) != (1, 1)
    one_c = truth.capacity_ah
    plant_cfg = battery.PackConfig(series=series, parallel=parallel, cell=truth,
                                   spread=battery.SpreadConfig(capacity_rel=spread[0], r0_rel=spread[1], seed=spread[2])
                                   if pack else battery.SpreadConfig(), initial=state0)
    ageing = {}
    if fault in AGEING_FAULTS:  # the runner's scaling replaces the spread: multiply it in here
        scaling = battery.Pack(plant_cfg).scaling
        key = "capacity_factor" if fault == "capacity_fade" else "r0_factor"
        ageing = {"capacity_factor": [s.capacity_factor for s in scaling],
                  "resistance_factor": [s.resistance_factor for s in scaling],
                  "r0_factor": [s.r0_factor for s in scaling]}
        ageing[key] = [v * size for v in ageing[key]]
    controllers = None
    if law == "cccv":
        spec_law = loop.cccv(CcCvConfig(charge_current_a=one_c))
    elif law == "const_3c":
        spec_law = loop.constant(-3.0 * one_c)
    elif law == "bang_bang":
        spec_law = loop.bang_bang(-3.0 * one_c, 120.0)
    elif law == "drive_cycle" or law in REGIME_LAWS or law.startswith(REGIME_FILE):
        spec_law = loop.profile(laws[0].profile_a)
    else:  # the MPC, the faulty law, a law by import path: the cycle's own controllers
        spec_law, controllers = loop.controllers(), laws
    faults = []
    if fault != "none" and fault not in AGEING_FAULTS and k_onset < n:
        g, on = fault_group, float(t[k_onset])
        kind, value, target = {
            "internal_short": ("internal_short", 1.0 / size if fault == "internal_short" else 0.0, fault_cell),
            "cooling_loss": ("cooling_loss", size, -1),
            "voltage_stuck": ("voltage_stuck", math.nan, g),
            "voltage_offset": ("voltage_offset", size, g),
            "voltage_drift": ("voltage_drift", size, g),
            "voltage_noise": ("voltage_noise", size, g),
            "voltage_dropout": ("voltage_dropout", 1.0, g),
            "voltage_nan": ("voltage_nan", 0.0, g),
            "temperature_stuck_low": ("temperature_stuck", ambient_k - size, g),
        }.get(fault, (None, 0.0, 0))
        if kind is not None:
            faults.append(loop.fault(kind, on, target=target, node="a", value=value))
        if fault == "link_loss":  # every node silent from the onset for `size` seconds
            faults.append(loop.fault("link_loss", on, on + size))
        if fault == "stealthy_injection":  # the attack library's online injection, run in the loop
            faults.append(loop.fault("stealthy_injection", on, target=g, node="a", value=size, ramp_s=600.0))
    attestation = None
    if pack:
        cyc = PackCycleConfig(series, parallel)
        cyc.cell = ccfg
        trust = cyc.trust
        trust.enabled, trust.weighting, trust.nodes = True, True, len(NODES)
        cyc.trust = trust
        if fault in ("stealthy_injection", "node_tampered") and k_onset < n:  # node a fails attestation
            attestation = run_attestation(t, NODES, [Bias(node=NODES[0], start_s=onset_s, offset=0.0)],
                                          every_s=ATTEST_EVERY_S).codes
        else:
            attestation = _honest_attestation(n, dt_s)
    else:
        cyc = ccfg
    noise = loop.SensorNoise()
    noise.voltage_a_v, noise.voltage_b_v = VOLTAGE_A_SIGMA_V, VOLTAGE_B_SIGMA_V
    noise.temperature_k, noise.current_a = TEMPERATURE_SIGMA_K, CURRENT_SIGMA_A
    # The 0 A counterfactuals run beside the run, from t = 0 and forked at the onset (no second run;
    # their plant fields equal those of a re-run with the current forced to 0 A: test_loop_counterfactual)
    cf_spec = loop.counterfactual(current_a=0.0, time_s=float(k_onset * dt_s) if k_onset < n else None)
    spec = loop.make_spec(duration_s=n * dt_s, dt_s=dt_s, cycle=cyc, plant=plant_cfg, law=spec_law, noise=noise,
                          seed=noise_seed, faults=faults, attestation=attestation, counterfactual=cf_spec,
                          trace="none", **ageing)
    rep = spec.reporting  # when the nodes report (the counterfactual below keeps the same scheme)
    rep.mode = getattr(loop.ReportingMode, reporting)
    rep.period_s = float(report_period_s)
    spec.reporting = rep
    res = loop.run(spec, controllers=controllers)
    s = res.summary
    lim = truth.limits
    rob = {"voltage_max": s["min_margin_voltage_max_v"], "voltage_min": s["min_margin_voltage_min_v"],
           "temp_max": s["min_margin_temp_max_k"]}
    firsts = [s["first_violation_voltage_max_s"], s["first_violation_voltage_min_s"], s["first_violation_temp_max_s"]]
    first_violation_s = min((v for v in firsts if not math.isnan(v)), default=math.nan)
    from_zero = fault == "none" or fault in AGEING_FAULTS or k_onset >= n or \
        (not math.isnan(first_violation_s) and first_violation_s < onset_s)
    k_cf = 0 if from_zero else k_onset
    if counterfactual == "rerun":  # a whole second run, cycle and controllers included
        cf = loop.run(loop.with_zero_current(spec, time_s=float(k_cf * dt_s)), controllers=controllers).summary
    else:
        cf = res.counterfactual_from_start if k_cf == 0 else res.counterfactual_at_onset
    rob_cf = {"voltage_max": cf["min_margin_voltage_max_v"], "voltage_min": cf["min_margin_voltage_min_v"],
              "temp_max": cf["min_margin_temp_max_k"]}
    cf_firsts = [cf["first_violation_voltage_max_s"], cf["first_violation_voltage_min_s"], cf["first_violation_temp_max_s"]]
    cycle = res.cycle
    groups_of = [cycle.group(g) for g in range(series)] if pack else [cycle]
    final_mode = s["final_mode"]
    return {"rob": rob, "rob_cf": rob_cf, "first_violation_s": first_violation_s,
            "cf_first_violation_s": min((v for v in cf_firsts if not math.isnan(v)), default=math.nan),
            "k_cf": k_cf, "groups_of": groups_of,
            "charge_max": float(max(0.0, lim.charge_current_max_a - s["min_margin_charge_current_a"])),
            "discharge_max": float(max(0.0, lim.discharge_current_max_a - s["min_margin_discharge_current_a"])),
            "max_v": float(s["max_voltage_v"]), "min_v": float(s["min_voltage_v"]), "max_t_k": float(s["max_temp_k"]),
            "final_mode": final_mode.name if hasattr(final_mode, "name") else str(final_mode),
            "safe_stop_s": float(s["first_safe_stop_s"]), "nonfinite": s["nonfinite_commands"],
            # -1: a runner build that does not count them yet
            "controller_failures": s.get("controller_failures", -1), "engine": "core",
            "frames": s["frames"], "frames_voltage_a": s["frames_by_node"]["voltage_a"],
            "frames_voltage_b": s["frames_by_node"]["voltage_b"], "frames_temperature": s["frames_by_node"]["temperature"],
            "event_reports": s["event_reports"], "missed_reports": s["missed_reports"]}
