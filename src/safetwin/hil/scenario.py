"""HIL scenarios: TOML files, validated into dataclasses.

Every key carries its unit in its name (``duration_s``, ``temp_c``, ``resistance_ohm``); a key whose
stem is known with another unit (``duration_min``, ``max_cell_temp_k``) is refused as a wrong
unit, an unknown key as unknown, and a value outside its physical range as impossible — each
with the file, the key and the reason (``ScenarioError``, a ValueError).

Layout (see hil/scenarios/*.toml for complete examples):

  [scenario]  name, description, duration_s, dt_s, seed
  [pack]      series, parallel, spread_capacity_rel, spread_r0_rel, spread_seed
  [initial]   soc, temp_c
  [ambient]   temp_c
  [load]      mode (charge|drive|idle), current_a (charge: charger's available current, < 0;
              drive: mean demand), peak_current_a, regen_current_a, profile (constant|drive)
  [firmware]  flags of firmware_sim (charge_current_a, plant_heartbeat_timeout_s, ...)
  [plant]     fw_heartbeat_timeout_s (the plant opens its contactor when the firmware is silent)
  [attestation] every_s: the cell-monitor node sends its SHA-256 attestation digest this often
              (0, the default: never); the firmware then checks it and weights the node by trust
  [sensors.cell_voltage|cell_temp|pack_current|pack_voltage]  noise, bias, quantum, dropout
  [[faults]]  type, at_s, duration_s, and the type's own keys
  [criteria]  max_cell_voltage_v, min_cell_voltage_v, max_cell_temp_c, min_soc,
              max_charge_current_a, max_discharge_current_a, no_faults, contactor_open_within_s,
              [[criteria.detect]] fault, within_s
"""
from __future__ import annotations

import difflib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

# Unit suffixes the project uses, so that "duration_min" is recognised as a duration in a wrong unit.
UNITS = ("s", "ms", "min", "h", "v", "mv", "a", "ma", "c", "k", "degc", "ohm", "mohm", "rel", "hz", "w")

# (type, min, max, min_inclusive) per key; type is float, int, bool, str or a tuple of allowed strings.
Num = tuple
F = float


def _f(lo: float = -math.inf, hi: float = math.inf, lo_incl: bool = True) -> tuple:
    return (float, lo, hi, lo_incl)


def _i(lo: int, hi: int) -> tuple:
    return (int, lo, hi, True)


FAULT_TYPES: dict[str, dict[str, tuple]] = {
    "cooling_failure": {"factor": _f(0.0, 1.0), "cells": (list, 0, 95, True)},
    "internal_short": {"cell": _i(0, 95), "resistance_ohm": _f(0.0, math.inf, False)},
    # a loose busbar: resistance_ohm more in series with the cell (the plant's R0 at 25 degC raised
    # by it, as the closed loop's connection_resistance fault; a loose one is 5-20 mOhm)
    "connection_resistance": {"cell": _i(0, 95), "resistance_ohm": _f(0.0, 1.0, False)},
    "sensor_stuck": {"cell": _i(0, 95), "value_v": _f(0.0, 6.5534)},
    "sensor_offset": {"cell": _i(0, 95), "offset_v": _f(-1.0, 1.0)},
    "frame_loss": {"frames": (list, None, None, True), "probability": _f(0.0, 1.0)},
    "frame_corrupt": {"frames": (list, None, None, True), "probability": _f(0.0, 1.0)},
    "frame_delay": {"frames": (list, None, None, True), "delay_cycles": _i(1, 1000)},
    "plant_heartbeat_loss": {},
    "firmware_crash": {},
    # Attestation (hil/attest_nodes.py; node 0 = the cell monitor): a PCR of the node's measured boot
    # changes; it signs with a key that is not its AK; it re-sends its last quote from before the
    # fault; it stops answering; a third, unenrolled node answers the node's nonces first.
    "node_tampered": {"node": _i(0, 7)},
    "quote_forged": {"node": _i(0, 7)},
    "quote_replay": {"node": _i(0, 7)},
    "node_silent": {"node": _i(0, 7)},
    "nonce_burn": {"node": _i(0, 7)},
    # safetwin.trust.attacks.StealthyInjection on one cell's reading; without the node's key its
    # attestation fails too (with [attestation])
    "stealthy_injection": {"cell": _i(0, 95), "soc_offset": _f(-1.0, 1.0), "ramp_s": _f(0.0, math.inf, False),
                           "holds_valid_key": (bool, None, None, True)},
}
COMMON_FAULT_KEYS = {"type": (tuple(FAULT_TYPES), None, None, True), "at_s": _f(0.0),
                     "duration_s": _f(0.0, math.inf, False)}

SCHEMA: dict[str, dict[str, tuple]] = {
    "scenario": {"name": (str, None, None, True), "description": (str, None, None, True),
                 "duration_s": _f(0.0, 86400.0, False), "dt_s": _f(1e-4, 6.5535), "seed": _i(0, 2**32 - 1)},
    "pack": {"series": _i(1, 96), "parallel": _i(1, 64), "spread_capacity_rel": _f(0.0, 0.5),
             "spread_r0_rel": _f(0.0, 0.5), "spread_seed": _i(0, 2**32 - 1)},
    "initial": {"soc": _f(0.0, 1.0), "temp_c": _f(-40.0, 80.0)},
    "ambient": {"temp_c": _f(-40.0, 80.0)},
    "load": {"mode": (("charge", "drive", "idle"), None, None, True), "current_a": _f(-327.0, 327.0),
             "peak_current_a": _f(0.0, 327.0), "regen_current_a": _f(0.0, 327.0),
             "profile": (("constant", "drive"), None, None, True)},
    "firmware": {"controller": (("mpc", "cccv"), None, None, True), "controller_period_s": _f(0.0, 60.0, False),
                 # horizon: the firmware's own limit is 240, but from 165 on its MPC's QP does not
                 # converge (CONTROLLER_FAULT, measured on nominal_fast_charge): the working range
                 "soc_target": _f(0.0, 1.0), "horizon": _i(1, 160),
                 "charge_current_a": _f(0.0, 327.0, False), "cv_voltage_v": _f(0.0, 6.0, False),
                 "cutoff_current_a": _f(0.0, 327.0),
                 "temp_derate_k": _f(0.0, 50.0, False), "temp_stop_k": _f(0.0, 50.0),
                 "voltage_derate_v": _f(0.0, 1.0, False), "voltage_stop_v": _f(0.0, 1.0, False),
                 "derate_factor": _f(0.0, 1.0), "attest_timeout_s": _f(0.0, 3600.0, False),
                 "plant_heartbeat_timeout_s": _f(0.0, 60.0, False),
                 "meas_loss_timeout_s": _f(0.0, 600.0, False), "meas_max_age_cycles": _i(0, 1000),
                 "e2e_max_delta": _i(1, 14), "stuck_time_s": _f(0.0, 3600.0, False),
                 "imbalance_v": _f(0.0, 5.0, False), "imbalance_time_s": _f(0.0, 3600.0, False),
                 # when the sensor nodes report (firmware_sim --reporting; safetwin.hil.report_nodes)
                 "reporting": (str, None, None, True), "report_max_interval_s": _f(0.0, 600.0, False),
                 # the online diagnostics (firmware_sim/src/diag_events.hpp: FW_EVENT codes 17-21);
                 # anomaly_alpha_per_h: the anomaly score at the shipped calibration's threshold
                 # for this false-alarm rate per hour (safetwin/data/anomaly_calibration.json)
                 "diag": (bool, None, None, True), "anomaly_alpha_per_h": _f(0.0, 1.0, False),
                 "diag_short_leak_a": _f(0.0, 10.0, False), "diag_resistance_step_ohm": _f(0.0, 1.0, False),
                 "diag_sensor_step_v": _f(0.0, 1.0, False), "diag_cooling_z": _f(0.0, 100.0, False)},
    "plant": {"fw_heartbeat_timeout_s": _f(0.0, 60.0, False)},
    # every_s: a round per node this often; nodes: enrolled sensor nodes (node 0 the cell monitor);
    # quote_latency_s: the node's TPM takes this long to quote; tpm: "software" (safetwin's software
    # TPM, keyed from the seed) or "swtpm" (a real TPM 2.0 per node, started by the harness, quoting
    # through tpm2-pytss); ak: the nodes' AK, "ecc" (P-256), "rsassa" or "rsapss" (RSA-2048)
    "attestation": {"every_s": _f(0.0, 3600.0), "nodes": _i(1, 8), "quote_latency_s": _f(0.0, 60.0),
                    "tpm": (str, None, None, True), "ak": (str, None, None, True)},
    "criteria": {"max_cell_voltage_v": _f(0.0, 6.0), "min_cell_voltage_v": _f(0.0, 6.0),
                 "max_cell_temp_c": _f(-40.0, 150.0), "min_soc": _f(0.0, 1.0),
                 "max_charge_current_a": _f(0.0, 1000.0), "max_discharge_current_a": _f(0.0, 1000.0),
                 "no_faults": (bool, None, None, True), "contactor_open_within_s": _f(0.0, 3600.0, False),
                 "detect": (list, None, None, True), "attest": (list, None, None, True),
                 "attest_all_pass": (bool, None, None, True)},
}
SENSOR_SCHEMA: dict[str, dict[str, tuple]] = {
    "cell_voltage": {"noise_v": _f(0.0, 1.0), "bias_v": _f(-1.0, 1.0), "quantum_v": _f(0.0, 1.0), "dropout": _f(0.0, 1.0)},
    "cell_temp": {"noise_c": _f(0.0, 50.0), "bias_c": _f(-50.0, 50.0), "quantum_c": _f(0.0, 10.0), "dropout": _f(0.0, 1.0)},
    "pack_current": {"noise_a": _f(0.0, 100.0), "bias_a": _f(-100.0, 100.0), "quantum_a": _f(0.0, 10.0), "dropout": _f(0.0, 1.0)},
    "pack_voltage": {"noise_v": _f(0.0, 100.0), "bias_v": _f(-100.0, 100.0), "quantum_v": _f(0.0, 10.0), "dropout": _f(0.0, 1.0)},
}
DETECT_SCHEMA = {"fault": (str, None, None, True), "within_s": _f(0.0, 3600.0, False)}
# [[criteria.attest]]: node's rounds end with reason within_s after the first fault (with
# answers_only: only answers of that reason are seen, while its rounds keep passing)
ATTEST_REASONS = ("fail", "fail_signature", "fail_pcr", "fail_replay", "fail_malformed", "timeout")
ATTEST_SCHEMA = {"node": _i(0, 7), "reason": (ATTEST_REASONS, None, None, True), "within_s": _f(0.0, 3600.0, False),
                 "answers_only": (bool, None, None, True)}
REQUIRED = {"scenario": ("name", "duration_s", "dt_s"), "pack": ("series",)}


class ScenarioError(ValueError):
    def __init__(self, file: str | Path, key: str, reason: str) -> None:
        super().__init__(f"{file}: {key}: {reason}")
        self.file, self.key, self.reason = str(file), key, reason


def _stem_unit(key: str) -> tuple[str, str | None]:
    stem, _, unit = key.rpartition("_")
    return (stem, unit) if stem and unit.lower() in UNITS else (key, None)


def _check_key(file: Path, where: str, key: str, schema: dict[str, tuple]) -> None:
    if key in schema:
        return
    stem, unit = _stem_unit(key)
    if unit is not None:
        for known in schema:
            kstem, kunit = _stem_unit(known)
            if kstem == stem and kunit is not None:
                raise ScenarioError(file, f"{where}{key}", f"wrong unit '{unit}': this quantity is given as "
                                    f"'{known}' (unit {kunit})")
    close = difflib.get_close_matches(key, list(schema), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (known: {', '.join(schema)})"
    raise ScenarioError(file, f"{where}{key}", f"unknown key{hint}")


def _check_value(file: Path, name: str, value: Any, spec: tuple) -> Any:
    kind, lo, hi, lo_incl = spec
    if isinstance(kind, tuple):
        if value not in kind:
            raise ScenarioError(file, name, f"{value!r} is not one of {', '.join(kind)}")
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ScenarioError(file, name, f"{value!r} must be true or false")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise ScenarioError(file, name, f"{value!r} must be a string")
        return value
    if kind is list:
        if not isinstance(value, list):
            raise ScenarioError(file, name, f"{value!r} must be a list")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(file, name, f"{value!r} must be a number (units are in the key's name; "
                            "write 45, not \"45 degC\")")
    if kind is int and not float(value).is_integer():
        raise ScenarioError(file, name, f"{value!r} must be an integer")
    v = kind(value)
    if not math.isfinite(v):
        raise ScenarioError(file, name, f"{value!r} is not finite")
    if (v < lo if lo_incl else v <= lo) or v > hi:
        lo_txt = "[" if lo_incl else "("
        kelvin = name.endswith("temp_c") and lo <= v - 273.15 <= hi  # a temperature typed in K
        hint = f" ({value!r} looks like Kelvin: {v - 273.15:.2f} degC)" if kelvin else ""
        raise ScenarioError(file, name, f"{value!r} is impossible: must be in {lo_txt}{lo}, {hi}]{hint}")
    return v


@dataclass
class Fault:
    type: str
    at_s: float
    duration_s: float = math.inf
    params: dict[str, Any] = field(default_factory=dict)

    def active(self, t_s: float) -> bool:
        return self.at_s <= t_s < self.at_s + self.duration_s


@dataclass
class Scenario:
    path: Path
    name: str
    description: str
    duration_s: float
    dt_s: float
    seed: int
    pack: dict[str, Any]
    initial: dict[str, Any]
    ambient_c: float
    load: dict[str, Any]
    firmware: dict[str, Any]
    plant: dict[str, Any]
    attestation: dict[str, Any]
    sensors: dict[str, dict[str, float]]
    faults: list[Fault]
    criteria: dict[str, Any]

    @property
    def steps(self) -> int:
        return int(round(self.duration_s / self.dt_s))


def _section(file: Path, data: dict, name: str) -> dict:
    sec = data.get(name, {})
    if not isinstance(sec, dict):
        raise ScenarioError(file, name, "must be a table")
    out = {}
    for k, v in sec.items():
        _check_key(file, f"{name}.", k, SCHEMA[name])
        out[k] = _check_value(file, f"{name}.{k}", v, SCHEMA[name][k])
    for req in REQUIRED.get(name, ()):
        if req not in out:
            raise ScenarioError(file, f"{name}.{req}", "missing (required)")
    return out


def load_scenario(path: str | Path) -> Scenario:
    file = Path(path)
    try:
        data = tomllib.loads(file.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(file, "(file)", f"not valid TOML: {exc}") from None
    known = set(SCHEMA) | {"sensors", "faults"}
    for top in data:
        if top not in known:
            close = difflib.get_close_matches(top, sorted(known), n=1)
            raise ScenarioError(file, top, "unknown section" + (f" (did you mean '{close[0]}'?)" if close else ""))
    sec = {name: _section(file, data, name) for name in SCHEMA}

    sensors: dict[str, dict[str, float]] = {}
    raw_sensors = data.get("sensors", {})
    for ch, params in raw_sensors.items():
        if ch not in SENSOR_SCHEMA:
            raise ScenarioError(file, f"sensors.{ch}", f"unknown sensor channel (known: {', '.join(SENSOR_SCHEMA)})")
        sensors[ch] = {}
        for k, v in params.items():
            _check_key(file, f"sensors.{ch}.", k, SENSOR_SCHEMA[ch])
            sensors[ch][k] = _check_value(file, f"sensors.{ch}.{k}", v, SENSOR_SCHEMA[ch][k])

    series = sec["pack"]["series"]
    duration = sec["scenario"]["duration_s"]
    faults = []
    for i, f in enumerate(data.get("faults", [])):
        where = f"faults[{i}]."
        ftype = f.get("type")
        if ftype not in FAULT_TYPES:
            raise ScenarioError(file, f"{where}type", f"{ftype!r} is not one of {', '.join(FAULT_TYPES)}")
        schema = {**COMMON_FAULT_KEYS, **FAULT_TYPES[ftype]}
        vals = {}
        for k, v in f.items():
            _check_key(file, where, k, schema)
            vals[k] = _check_value(file, f"{where}{k}", v, schema[k])
        if "at_s" not in vals:
            raise ScenarioError(file, f"{where}at_s", "missing (required)")
        if vals["at_s"] >= duration:
            raise ScenarioError(file, f"{where}at_s", f"{vals['at_s']} is impossible: the scenario ends at "
                                f"duration_s = {duration}")
        if "cell" in vals and vals["cell"] >= series:
            raise ScenarioError(file, f"{where}cell", f"{vals['cell']} is impossible: the pack has cells 0..{series - 1}")
        for c in vals.get("cells", []):
            if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < series:
                raise ScenarioError(file, f"{where}cells", f"{c!r} is impossible: the pack has cells 0..{series - 1}")
        for name in vals.get("frames", []):
            from safetwin.hil.link import PLANT_FRAMES
            if name not in PLANT_FRAMES:
                raise ScenarioError(file, f"{where}frames", f"{name!r} is not a plant frame of the DBC "
                                    f"({', '.join(PLANT_FRAMES)})")
        params = {k: v for k, v in vals.items() if k not in COMMON_FAULT_KEYS}
        faults.append(Fault(type=ftype, at_s=vals["at_s"], duration_s=vals.get("duration_s", math.inf), params=params))

    attest_every = sec["attestation"].get("every_s", 0.0)
    attest_nodes = sec["attestation"].get("nodes", 1)
    for key, allowed in (("tpm", ("software", "swtpm")), ("ak", ("ecc", "rsassa", "rsapss"))):
        if sec["attestation"].get(key, allowed[0]) not in allowed:
            raise ScenarioError(file, f"attestation.{key}", f"{sec['attestation'][key]!r}: one of "
                                f"{', '.join(repr(a) for a in allowed)}")
    for i, f in enumerate(faults):
        if f.type in ("node_tampered", "quote_forged", "quote_replay", "node_silent", "nonce_burn"):
            if not attest_every > 0:
                raise ScenarioError(file, f"faults[{i}].type", f"{f.type!r} is impossible without attestation: "
                                    "set [attestation] every_s > 0 (the node must answer nonces to fail them)")
            if f.params.get("node", 0) >= attest_nodes:
                raise ScenarioError(file, f"faults[{i}].node", f"{f.params['node']} is impossible: [attestation] "
                                    f"nodes = {attest_nodes} enrols nodes 0..{attest_nodes - 1}")

    crit = sec["criteria"]
    detect = []
    for i, d in enumerate(crit.get("detect", [])):
        if not isinstance(d, dict):
            raise ScenarioError(file, f"criteria.detect[{i}]", "must be a table {fault, within_s}")
        for k, v in d.items():
            _check_key(file, f"criteria.detect[{i}].", k, DETECT_SCHEMA)
            _check_value(file, f"criteria.detect[{i}].{k}", v, DETECT_SCHEMA[k])
        from safetwin.hil.link import fault_codes
        if d.get("fault", "").upper() not in fault_codes().values():
            raise ScenarioError(file, f"criteria.detect[{i}].fault", f"{d.get('fault')!r} is not a firmware fault "
                                f"({', '.join(fault_codes().values())})")
        if "within_s" not in d:
            raise ScenarioError(file, f"criteria.detect[{i}].within_s", "missing (required)")
        if not faults:
            raise ScenarioError(file, f"criteria.detect[{i}]", "a detection criterion needs a [[faults]] entry to time it from")
        detect.append({"fault": d["fault"].upper(), "within_s": float(d["within_s"])})
    crit["detect"] = detect
    attest = []
    for i, d in enumerate(crit.get("attest", [])):
        if not isinstance(d, dict):
            raise ScenarioError(file, f"criteria.attest[{i}]", "must be a table {node, reason, within_s}")
        for k, v in d.items():
            _check_key(file, f"criteria.attest[{i}].", k, ATTEST_SCHEMA)
            _check_value(file, f"criteria.attest[{i}].{k}", v, ATTEST_SCHEMA[k])
        for k in ("reason", "within_s"):
            if k not in d:
                raise ScenarioError(file, f"criteria.attest[{i}].{k}", "missing (required)")
        if not faults or not attest_every > 0:
            raise ScenarioError(file, f"criteria.attest[{i}]", "needs [attestation] every_s > 0 and a [[faults]] entry")
        attest.append({"node": 0, "answers_only": False, **d, "within_s": float(d["within_s"])})
    crit["attest"] = attest
    if crit.get("attest_all_pass") and not attest_every > 0:
        raise ScenarioError(file, "criteria.attest_all_pass", "needs [attestation] every_s > 0")
    if "contactor_open_within_s" in crit and not faults:
        raise ScenarioError(file, "criteria.contactor_open_within_s", "needs a [[faults]] entry to time it from")

    alpha = sec["firmware"].get("anomaly_alpha_per_h")
    if alpha is not None:
        from safetwin.hil.diag import anomaly_threshold
        try:
            anomaly_threshold(alpha)
        except ValueError as e:
            raise ScenarioError(file, "firmware.anomaly_alpha_per_h", str(e)) from None
    rep = sec["firmware"].get("reporting")
    if rep is not None:
        period = rep[len("periodic:"):] if rep.startswith("periodic:") else None
        try:
            ok = rep in ("every-step", "self-triggered") or (period is not None and 0 < float(period) < math.inf)
        except ValueError:
            ok = False
        if not ok:
            raise ScenarioError(file, "firmware.reporting", f"{rep!r}: every-step, periodic:T (T in s, > 0) "
                                "or self-triggered")
    load = {"mode": "idle", "current_a": 0.0, "profile": "constant", **sec["load"]}
    if load["mode"] == "charge" and load["current_a"] > 0:
        raise ScenarioError(file, "load.current_a", f"{load['current_a']} is impossible for mode = 'charge': "
                            "a charge current is negative (current > 0 discharges)")
    init = {"soc": 0.5, "temp_c": 25.0, **sec["initial"]}
    s = sec["scenario"]
    return Scenario(path=file, name=s["name"], description=s.get("description", ""), duration_s=s["duration_s"],
                    dt_s=s["dt_s"], seed=int(s.get("seed", 0)),
                    pack={"parallel": 1, "spread_capacity_rel": 0.0, "spread_r0_rel": 0.0, "spread_seed": 0,
                          **sec["pack"]},
                    initial=init, ambient_c=sec["ambient"].get("temp_c", init["temp_c"]), load=load,
                    firmware=sec["firmware"], plant={"fw_heartbeat_timeout_s": 0.5, **sec["plant"]},
                    attestation={"every_s": 0.0, "nodes": 1, "quote_latency_s": 0.0, "tpm": "software", "ak": "ecc",
                                 **sec["attestation"]},
                    sensors=sensors, faults=faults, criteria=crit)


def shipped_scenarios() -> list[Path]:
    """The scenarios shipped with the package (hil/scenarios/ of a source checkout)."""
    from importlib import resources
    packaged = Path(str(resources.files("safetwin.hil") / "scenarios"))
    folder = packaged if packaged.is_dir() else Path(__file__).resolve().parents[3] / "hil" / "scenarios"
    return sorted(folder.glob("*.toml"))
