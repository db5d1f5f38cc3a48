"""Campaign files (TOML), validated into a ``Campaign`` before anything runs.

Layout (see src/safetwin/data/campaigns/*.toml)::

  [campaign]   name, description, family ("closed_loop" | "closed_form"), seed, n, method
               ("mc" | "ce-is"), batch_size, duration_s, dt_s (closed_loop only)
  [failure]    event: a Boolean expression over the record's fields (safetwin.campaign.events)
  [variables.NAME]  dist = "uniform" | "beta" | "normal" | "categorical" and its parameters
  [fixed]      NAME = value: variables held at one value
  [ce]         stage_n, rho, max_stages, smoothing, defensive (the cross-entropy method)
  [filter]     the verification filter's stricter limits: voltage_max_v, voltage_min_v, temp_max_c
  [tail]       field, threshold (a number or "auto", the default), limit: the peaks-over-threshold fit
  [subset]     p0, max_levels, spread (subset simulation)

A closed_loop campaign samples the variables ``safetwin.campaign.simulate.VARIABLES`` knows; a
closed_form campaign's record is its sampled variables themselves (its failure probability is an
integral computed exactly, see ``closed_form``). Every refusal is a ``CampaignError`` naming the
file, the key and the reason.
"""
from __future__ import annotations

import hashlib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from safetwin.campaign import distributions, events
from safetwin.campaign import simulate as sim
from safetwin.campaign import subset as subset_sim

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FAMILIES = ("closed_loop", "closed_form")
METHODS = ("mc", "ce-is", "subset")
RECORD_SIDES = ("index", "stage", "log_p", "log_q", "weight", "score", "failure")


class CampaignError(ValueError):
    """A campaign file refused: the message names the file, the key and the reason."""


@dataclass(frozen=True)
class CeSettings:
    stage_n: int = 500        # samples per adaptive stage
    rho: float = 0.1          # elite fraction: the level is the rho-quantile of the stage's scores
    max_stages: int = 10
    smoothing: float = 0.7    # new = smoothing * fitted + (1 - smoothing) * previous
    defensive: float = 0.1    # share of the nominal distribution in the proposal (weights <= 1/defensive)


@dataclass(frozen=True)
class FilterLimits:
    """The verification filter's invariant set S_inv (stricter than the true limits)."""

    voltage_max_v: float = 4.15
    voltage_min_v: float = 2.6
    temp_max_c: float = 43.0


@dataclass(frozen=True)
class TailSettings:
    field: str = "max_cell_temp_c"
    threshold: float | None = None   # None ("auto"): chosen by parameter stability (tails.select_threshold)
    limit: float = 45.0


@dataclass(frozen=True)
class Campaign:
    name: str
    family: str
    seed: int
    n: int
    method: str
    batch_size: int
    event: events.Event
    variables: dict                     # name -> distribution (the nominal density p)
    fixed: dict = field(default_factory=dict)
    description: str = ""
    duration_s: float = 1800.0
    dt_s: float = 1.0
    reporting: str = "every_step"      # when the sensor nodes report (simulate.REPORTING; --reporting)
    report_period_s: float = 1.0       # periodic reporting's period
    ce: CeSettings = CeSettings()
    subset: subset_sim.Settings = subset_sim.Settings()
    filter: FilterLimits | None = None
    tail: TailSettings | None = None
    source: str = ""                   # the file's path
    digest: str = ""                   # SHA-256 of the file's text: a resumed run must match it

    def with_options(self, **changes) -> Campaign:
        """A copy with command-line overrides (n, method, seed), checked as the file's keys are."""
        import dataclasses

        where = f"{self.source or self.name}: command line"
        if "n" in changes and not (isinstance(changes["n"], int) and changes["n"] >= 1):
            raise CampaignError(f"{where}: --n = {changes['n']!r}: must be an integer >= 1")
        if "method" in changes and changes["method"] not in METHODS:
            raise CampaignError(f"{where}: --method = {changes['method']!r}: must be one of {list(METHODS)}")
        if changes.get("method", self.method) == "subset" and not _whole_chains(changes.get("n", self.n), self.subset.p0):
            raise CampaignError(f"{where}: --n = {changes.get('n', self.n)!r}: subset simulation needs n a multiple of "
                                f"1/p0 = {round(1 / self.subset.p0)} (whole chains)")
        if "seed" in changes and not (isinstance(changes["seed"], int) and 0 <= changes["seed"] < 2**63):
            raise CampaignError(f"{where}: --seed = {changes['seed']!r}: must be an integer in [0, 2**63)")
        return dataclasses.replace(self, **changes)


def _whole_chains(n: int, p0: float) -> bool:
    return n % round(1.0 / p0) == 0


def record_fields(family: str, variables: dict, fixed: dict) -> set:
    """Fields an event may name."""
    names = set(variables) | set(fixed)
    if family == "closed_loop":
        names |= set(sim.RECORD_FIELDS) | set(sim.VARIABLES)
    return names


def _err(where: str, msg: str) -> CampaignError:
    return CampaignError(f"{where}: {msg}")


def _table(where: str, d: dict, key: str, known: set, required: bool = False) -> dict:
    if key not in d:
        if required:
            raise _err(where, f"missing table [{key}]")
        return {}
    t = d[key]
    if not isinstance(t, dict):
        raise _err(f"{where}: {key}", f"must be a table, found {type(t).__name__}")
    unknown = set(t) - known
    if unknown:
        raise _err(f"{where}: {key}", f"unknown keys {sorted(unknown)} (known: {sorted(known)})")
    return t


def _number(where: str, key: str, v: Any, lo: float, hi: float, integer: bool = False, lo_open: bool = False):
    ok_type = isinstance(v, int) if integer else isinstance(v, (int, float))
    if isinstance(v, bool) or not ok_type:
        raise _err(where, f"{key} = {v!r}: must be {'an integer' if integer else 'a number'}")
    if not math.isfinite(v) or v < lo or v > hi or (lo_open and v == lo):
        raise _err(where, f"{key} = {v!r}: must be in {'(' if lo_open else '['}{lo}, {hi}]")
    return v


def _check_closed_loop_variable(where: str, name: str, dist_or_value, is_fixed: bool, duration_s: float) -> None:
    if name not in sim.VARIABLES:
        raise _err(where, f"unknown variable {name!r} for family closed_loop (known: {sorted(sim.VARIABLES)})")
    allowed, _ = sim.VARIABLES[name]
    if name == "onset_s":
        allowed = (0.0, duration_s)
    if is_fixed:
        values = [dist_or_value]
    elif isinstance(dist_or_value, distributions.Categorical):
        values = list(dist_or_value.values)
    else:
        values = None
    if name == "topology":
        for v in values or []:
            try:
                sim.parse_topology(v)
            except ValueError as exc:
                raise _err(where, str(exc)) from None
        if values is None:
            raise _err(where, "topology must be categorical or fixed")
        return
    if isinstance(allowed[0], str):  # a set of names
        if values is None:
            raise _err(where, f"{name} must be categorical or fixed (one of {list(allowed)})")
        bad = [v for v in values if v not in allowed and not (name == "law" and isinstance(v, str) and ":" in v)]
        for v in values:
            if name == "law" and isinstance(v, str) and v.startswith(sim.REGIME_FILE):
                try:
                    sim.regime_model(v)
                except ValueError as exc:
                    raise _err(where, str(exc)) from None
            elif name == "law" and isinstance(v, str) and ":" in v:
                try:
                    sim.import_law(v)
                except ValueError as exc:
                    raise _err(where, str(exc)) from None
        if bad:
            raise _err(where, f"{name}: values {bad} unknown (known: {list(allowed)})")
        return
    lo, hi = allowed
    if values is not None:
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not (lo <= v <= hi):
                raise _err(where, f"{name} = {v!r}: must be a number in [{lo}, {hi}]")
        return
    s_lo, s_hi = dist_or_value.support()
    if s_lo < lo or s_hi > hi:
        raise _err(where, f"{name}: support [{s_lo}, {s_hi}] leaves the variable's range [{lo}, {hi}]"
                          " (use a uniform or beta inside it)")


def load(path: str | Path) -> Campaign:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise CampaignError(f"{path}: cannot read ({exc.strerror})") from None
    return loads(text, str(path))


def loads(text: str, source: str = "<campaign>") -> Campaign:
    where = source
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CampaignError(f"{where}: not valid TOML ({exc})") from None
    top = {"campaign", "failure", "variables", "fixed", "ce", "subset", "filter", "tail"}
    unknown = set(d) - top
    if unknown:
        raise _err(where, f"unknown tables {sorted(unknown)} (known: {sorted(top)})")
    c = _table(where, d, "campaign", {"name", "description", "family", "seed", "n", "method", "batch_size",
                                      "duration_s", "dt_s"}, required=True)
    w = f"{where}: campaign"
    family = c.get("family", "closed_loop")
    if family not in FAMILIES:
        raise _err(w, f"family = {family!r}: must be one of {list(FAMILIES)}")
    name = c.get("name", Path(source).stem)
    if not isinstance(name, str) or not name:
        raise _err(w, f"name = {name!r}: must be a non-empty string")
    seed = _number(w, "seed", c.get("seed", 0), 0, 2**63 - 1, integer=True)
    n = _number(w, "n", c.get("n", 100), 1, 10**9, integer=True)
    method = c.get("method", "mc")
    if method not in METHODS:
        raise _err(w, f"method = {method!r}: must be one of {list(METHODS)}")
    default_batch = 4 if family == "closed_loop" else 5000
    batch_size = _number(w, "batch_size", c.get("batch_size", default_batch), 1, 10**7, integer=True)
    duration_s = float(_number(w, "duration_s", c.get("duration_s", 1800.0), 0.0, 86400.0, lo_open=True))
    dt_s = float(_number(w, "dt_s", c.get("dt_s", 1.0), 0.0, 60.0, lo_open=True))
    if family == "closed_form" and ("duration_s" in c or "dt_s" in c):
        raise _err(w, "duration_s and dt_s belong to closed_loop campaigns (a closed_form sample has no time)")
    if duration_s / dt_s < 2:
        raise _err(w, f"duration_s = {duration_s} with dt_s = {dt_s}: needs at least 2 steps")

    v = d.get("variables", {})
    if not isinstance(v, dict) or not v:
        raise _err(where, "[variables] must hold at least one sampled variable ([variables.NAME] tables)")
    variables = {k: distributions.parse(f"{where}: variables.{k}", spec) for k, spec in v.items()}
    fixed = d.get("fixed", {})
    if not isinstance(fixed, dict):
        raise _err(where, "[fixed] must be a table of NAME = value")
    both = set(fixed) & set(variables)
    if both:
        raise _err(f"{where}: fixed", f"{sorted(both)} are also sampled in [variables]")
    if family == "closed_loop":
        for k, dist in variables.items():
            _check_closed_loop_variable(f"{where}: variables.{k}", k, dist, False, duration_s)
        for k, value in fixed.items():
            _check_closed_loop_variable(f"{where}: fixed.{k}", k, value, True, duration_s)
    else:
        for k, dist in variables.items():
            if isinstance(dist, distributions.Categorical) and not all(isinstance(x, str) for x in dist.values):
                raise _err(f"{where}: variables.{k}", "closed_form categorical values must be strings")

    f = _table(where, d, "failure", {"event"}, required=True)
    if "event" not in f:
        raise _err(f"{where}: failure", "missing key 'event' (a Boolean expression over the record's fields)")
    try:
        event = events.parse(f["event"], record_fields(family, variables, fixed), where=f"{where}: failure.event")
    except ValueError as exc:
        raise CampaignError(str(exc)) from None

    ce_t = _table(where, d, "ce", {"stage_n", "rho", "max_stages", "smoothing", "defensive"})
    wc = f"{where}: ce"
    ce = CeSettings(
        stage_n=_number(wc, "stage_n", ce_t.get("stage_n", CeSettings.stage_n), 10, 10**8, integer=True),
        rho=float(_number(wc, "rho", ce_t.get("rho", CeSettings.rho), 0.01, 0.5)),
        max_stages=_number(wc, "max_stages", ce_t.get("max_stages", CeSettings.max_stages), 1, 100, integer=True),
        smoothing=float(_number(wc, "smoothing", ce_t.get("smoothing", CeSettings.smoothing), 0.0, 1.0, lo_open=True)),
        defensive=float(_number(wc, "defensive", ce_t.get("defensive", CeSettings.defensive), 0.0, 1.0, lo_open=True)))

    ss_t = _table(where, d, "subset", {"p0", "max_levels", "spread"})
    ws = f"{where}: subset"
    ss = subset_sim.Settings(
        p0=float(_number(ws, "p0", ss_t.get("p0", subset_sim.Settings.p0), 0.01, 0.5)),
        max_levels=_number(ws, "max_levels", ss_t.get("max_levels", subset_sim.Settings.max_levels), 1, 100,
                           integer=True),
        spread=float(_number(ws, "spread", ss_t.get("spread", subset_sim.Settings.spread), 0.0, 10.0, lo_open=True)))
    if abs(1.0 / ss.p0 - round(1.0 / ss.p0)) > 1e-9:
        raise _err(ws, f"p0 = {ss.p0}: 1/p0 must be an integer (the states per Markov chain)")
    if method == "subset" and not _whole_chains(n, ss.p0):
        raise _err(w, f"n = {n}: subset simulation needs n a multiple of 1/p0 = {round(1 / ss.p0)} (whole chains)")

    flt = None
    if "filter" in d:
        if family != "closed_loop":
            raise _err(f"{where}: filter", "the verification filter checks closed_loop samples only")
        ft = _table(where, d, "filter", {"voltage_max_v", "voltage_min_v", "temp_max_c"})
        wf = f"{where}: filter"
        flt = FilterLimits(
            voltage_max_v=float(_number(wf, "voltage_max_v", ft.get("voltage_max_v", FilterLimits.voltage_max_v), 2.0, 5.0)),
            voltage_min_v=float(_number(wf, "voltage_min_v", ft.get("voltage_min_v", FilterLimits.voltage_min_v), 2.0, 5.0)),
            temp_max_c=float(_number(wf, "temp_max_c", ft.get("temp_max_c", FilterLimits.temp_max_c), -40.0, 100.0)))
        if not flt.voltage_min_v < flt.voltage_max_v:
            raise _err(wf, f"voltage_min_v = {flt.voltage_min_v} must be < voltage_max_v = {flt.voltage_max_v}")

    tail = None
    if "tail" in d:
        tt = _table(where, d, "tail", {"field", "threshold", "limit"})
        wt = f"{where}: tail"
        fld = tt.get("field", TailSettings.field)
        if fld not in record_fields(family, variables, fixed):
            raise _err(wt, f"field = {fld!r}: not a field of the record")
        thr = tt.get("threshold", "auto")
        thr = None if thr == "auto" else float(_number(wt, "threshold", thr, -1e9, 1e9))
        lim = float(_number(wt, "limit", tt.get("limit", TailSettings.limit), -1e9, 1e9))
        if thr is not None and not lim > thr:
            raise _err(wt, f"limit = {lim} must be > threshold = {thr}")
        tail = TailSettings(fld, thr, lim)

    desc = c.get("description", "")
    if not isinstance(desc, str):
        raise _err(w, "description must be a string")
    return Campaign(name=name, family=family, seed=int(seed), n=int(n), method=method, batch_size=int(batch_size),
                    event=event, variables=variables, fixed=dict(fixed), description=desc,
                    duration_s=duration_s, dt_s=dt_s, ce=ce, subset=ss, filter=flt, tail=tail, source=source,
                    digest=hashlib.sha256(text.encode()).hexdigest())
