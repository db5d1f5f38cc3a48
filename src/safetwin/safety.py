"""The safety layer: invariant monitor, CBF safety filter and supervisor (all running in C++).

Invariants are defined here, as dataclasses or in a TOML file, and handed to the C++
``InvariantMonitor``; a definition is checked when it is made, by the core's own validation, and a
refused one raises ``ValueError`` naming the invariant. Limits come in tiers as in production BMSs:
``tiered()`` makes one invariant per tier (operating limit -> warning, recommended safety limit ->
derate, maximum safety limit -> stop).

Temporal invariants (``always_within``, ``eventually_within``) have RTAMT's discrete-time STL
semantics for ``always[0,T]`` / ``eventually[0,T]`` of ``lo <= x <= hi``, evaluated with a delay of
T (equivalently ``historically[0,T]`` / ``once[0,T]`` at the present sample, as RTAMT's online
monitor after ``pastify()``); see cpp/include/safetwin/safety/monitor.hpp.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.9/3.10: the same parser from PyPI (a dependency there, see pyproject.toml)
    import tomli as tomllib

from safetwin._core import (  # noqa: F401  (re-exported API)
    Barrier,
    CbfConfig,
    CbfFilter,
    CbfVerdict,
    Decision,
    EventKind,
    InvariantKind,
    InvariantMonitor,
    InvariantSpec,
    Mode,
    MonitorConfig,
    MonitorVerdict,
    Severity,
    Status,
    Supervisor,
    SupervisorConfig,
    SupervisorVerdict,
    TransitionCause,
    TwinEstimate,
)

KINDS = {k: getattr(InvariantKind, k) for k in
         ("range", "rate", "finite", "nis_window", "always_within", "eventually_within")}
SEVERITIES = {s: getattr(Severity, s) for s in ("warning", "derate", "stop")}
TIERS = (("operating", "warning"), ("recommended", "derate"), ("maximum", "stop"))
# Units an invariant's limits may be written in, as (scale, offset) to the signal's SI unit. The core
# checks SI signals; the definition converts its limits in and the events back out (edges in degC).
UNITS = {"": (1.0, 0.0), "K": (1.0, 0.0), "degC": (1.0, 273.15), "V": (1.0, 0.0), "mV": (1e-3, 0.0), "A": (1.0, 0.0)}


@dataclass(frozen=True)
class Invariant:
    """One invariant over one named signal; limits in the signal's SI unit, windows in s."""

    name: str
    signal: str
    kind: str = "range"
    lo: float = -math.inf
    hi: float = math.inf
    window_s: float = 0.0
    severity: str = "warning"
    set_count: int = 1
    clear_count: int = 1
    clear_lo: float = math.nan   # hysteresis: an active invariant clears only back inside [clear_lo, clear_hi]
    clear_hi: float = math.nan   # (NaN: the set limit on that side); range, rate and nis_window
    unit: str = ""               # the unit of the limits above when it is not the signal's SI unit (UNITS)

    def __post_init__(self):
        if self.unit not in UNITS:
            raise ValueError(f"invariant '{self.name}': unit = {self.unit!r} must be one of {sorted(UNITS)}")
        if self.kind not in KINDS:
            raise ValueError(f"invariant '{self.name}': kind = {self.kind!r} must be one of {sorted(KINDS)}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"invariant '{self.name}': severity = {self.severity!r} must be one of "
                             f"{sorted(SEVERITIES)}")
        # Everything but the signal list and the sample period is checked now, by the core itself
        # (a window is a whole number of periods of itself).
        period = self.window_s if (isinstance(self.window_s, (int, float)) and self.window_s > 0) else 1.0
        MonitorConfig([self.signal], [self.to_spec()], period).validate()

    def to_si(self, value: float) -> float:
        """A limit of this invariant in the signal's SI unit (a rate has no offset: 1 degC/s = 1 K/s)."""
        scale, offset = UNITS[self.unit]
        return float(value) * scale + (0.0 if self.kind == "rate" else offset)

    def from_si(self, value: float) -> float:
        """A value the core reports (SI) in this invariant's unit (the reverse of to_si)."""
        scale, offset = UNITS[self.unit]
        return (float(value) - (0.0 if self.kind == "rate" else offset)) / scale

    def to_spec(self) -> InvariantSpec:
        s = InvariantSpec()
        s.name, s.signal, s.kind = self.name, self.signal, KINDS[self.kind]
        s.lo, s.hi, s.window_s = self.to_si(self.lo), self.to_si(self.hi), float(self.window_s)
        s.clear_lo, s.clear_hi = self.to_si(self.clear_lo), self.to_si(self.clear_hi)
        s.severity = SEVERITIES[self.severity]
        s.set_count, s.clear_count = int(self.set_count), int(self.clear_count)
        return s


def tiered(name: str, signal: str, *, side: str, operating: float, recommended: float, maximum: float,
           set_count: int = 1, clear_count: int = 1, hysteresis: float = 0.0, unit: str = "") -> list[Invariant]:
    """Three range invariants, one per tier: ``<name>.operating`` (warning), ``.recommended``
    (derate), ``.maximum`` (stop). side "hi": x <= limit; "lo": x >= limit. The tiers must widen.
    ``hysteresis`` (>= 0, in the limits' unit): a tier set at its limit clears only once the value is
    back that far inside it (the clear threshold), so a reading hovering at a limit does not chatter."""
    if side not in ("hi", "lo"):
        raise ValueError(f"tiered '{name}': side = {side!r} must be 'hi' or 'lo'")
    if not (isinstance(hysteresis, (int, float)) and math.isfinite(hysteresis) and hysteresis >= 0):
        raise ValueError(f"tiered '{name}': hysteresis = {hysteresis!r} must be finite and >= 0")
    limits = (operating, recommended, maximum)
    widening = all(a <= b for a, b in zip(limits, limits[1:])) if side == "hi" else \
        all(a >= b for a, b in zip(limits, limits[1:]))
    if not widening:
        raise ValueError(f"tiered '{name}': limits {limits} must widen from operating to maximum")
    def clear(limit: float, own_side: str) -> float:
        if hysteresis == 0 or side != own_side:
            return math.nan
        return limit - hysteresis if side == "hi" else limit + hysteresis
    return [Invariant(f"{name}.{tier}", signal, "range",
                      lo=limit if side == "lo" else -math.inf, hi=limit if side == "hi" else math.inf,
                      severity=sev, set_count=set_count, clear_count=clear_count,
                      clear_lo=clear(limit, "lo"), clear_hi=clear(limit, "hi"), unit=unit)
            for (tier, sev), limit in zip(TIERS, limits)]


@dataclass
class MonitorDefinition:
    """Signals (their order is their index in the core) and invariants; validated on construction."""

    signals: list[str]
    invariants: list[Invariant] = field(default_factory=list)
    sample_period_s: float = 1.0
    event_capacity: int = 256

    def __post_init__(self):
        self.config().validate()

    def config(self) -> MonitorConfig:
        return MonitorConfig(list(self.signals), [i.to_spec() for i in self.invariants],
                             float(self.sample_period_s), int(self.event_capacity))

    def build(self) -> InvariantMonitor:
        return InvariantMonitor(self.config())

    @classmethod
    def from_toml(cls, source: str | Path) -> MonitorDefinition:
        """Reads a file path, or TOML text when ``source`` contains a newline (see load_toml)."""
        text = source if isinstance(source, str) and "\n" in source else Path(source).read_text()
        return cls.from_dict(tomllib.loads(text))

    @classmethod
    def from_dict(cls, d: dict) -> MonitorDefinition:
        known = {"signals", "sample_period_s", "event_capacity", "invariant", "tiered"}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"monitor definition: unknown keys {sorted(unknown)} (known: {sorted(known)})")
        invariants = [Invariant(**entry) for entry in d.get("invariant", [])]
        for entry in d.get("tiered", []):
            invariants += tiered(**entry)
        return cls(list(d.get("signals", [])), invariants, d.get("sample_period_s", 1.0),
                   d.get("event_capacity", 256))


def event_records(monitor: InvariantMonitor, definition: MonitorDefinition | None = None) -> list[dict]:
    """The monitor's events, oldest first, as records with names instead of indices. With the
    definition the monitor was built from, values and limits are in the units its invariants were
    written in (degC for an invariant with unit "degC", not the core's K)."""
    names = [monitor.spec(i).name for i in range(monitor.invariant_count)]
    by_name = {inv.name: inv for inv in definition.invariants} if definition is not None else {}

    def edge(name: str, v: float, robustness: bool) -> float:
        inv = by_name.get(name)
        if inv is None or not math.isfinite(v):
            return float(v)
        if robustness:  # temporal invariants report a robustness: a distance, scaled but not offset
            return float(v) / UNITS[inv.unit][0]
        return inv.from_si(v)

    out = []
    for e in monitor.events():
        name = names[e["invariant"]]
        temporal = name in by_name and by_name[name].kind in ("always_within", "eventually_within")
        out.append(dict(time_s=float(e["time_s"]), invariant=name, value=edge(name, e["value"], temporal),
                        limit=edge(name, e["limit"], temporal) if not temporal else float(e["limit"]),
                        severity=Severity(int(e["severity"])).name, kind=EventKind(int(e["kind"])).name))
    return out
