"""Closed-loop runs in one C++ call: the true plant, sensors with seeded noise, faults scheduled by
time and the guarded cycle (``ControlCycle`` for one cell, ``PackCycle`` for a pack), so a bench
or a campaign does not step the cycle from a Python loop. A Python law keeps its trampoline::

    from safetwin import loop
    spec = loop.make_spec(duration_s=600, cycle=cycle_config, plant=pack_config,
                          law=loop.constant(-15.0), noise=loop.SensorNoise(0.002, 0.01, 0.2, 0.02),
                          seed=7, faults=[loop.fault("voltage_stuck", 120.0, target=1, node="a")])
    res = loop.run(spec)                         # res.summary (dict), res.trace (numpy arrays)
    zero = loop.run(loop.with_zero_current(spec))  # the same noise, 0 A from the first fault on

Currents are per cell in laws (as the cycle's controllers see them) and per pack on the plant;
> 0 discharges. SI units (K). Step order, noise layout and fault semantics: closed_loop.hpp.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from safetwin._core import (  # noqa: F401  (re-exported API)
    ClosedLoop,
    CounterfactualSpec,
    CycleConfig,
    FaultKind,
    FaultSpec,
    LawKind,
    LawSpec,
    LoopSpec,
    Mode,
    NoiseStream,
    PackConfig,
    PackCycleConfig,
    Replacement,
    ReportingConfig,
    ReportingMode,
    SensorNoise,
    Status,
    TraceLevel,
)

FAULT_KINDS = tuple(FaultKind.__members__)


def constant(current_a: float) -> LawSpec:
    """Requests ``current_a`` (per cell) every step, e.g. ``-3 * 5.15`` for a constant 3C charge."""
    law = LawSpec()
    law.kind, law.current_a = LawKind.constant, float(current_a)
    return law


def profile(current_a: Sequence[float]) -> LawSpec:
    """Requests ``current_a[k]`` at step k (the last value after the end): a drive or load profile."""
    law = LawSpec()
    law.kind, law.profile_a = LawKind.profile, np.asarray(current_a, dtype=float).ravel().tolist()
    return law


def bang_bang(current_a: float, period_s: float) -> LawSpec:
    """Requests ``current_a``, its sign flipped every ``period_s / 2``."""
    law = LawSpec()
    law.kind, law.current_a, law.period_s = LawKind.bang_bang, float(current_a), float(period_s)
    return law


def non_finite() -> LawSpec:
    """A broken law: requests NaN every step."""
    law = LawSpec()
    law.kind = LawKind.non_finite
    return law


def cccv(config) -> LawSpec:
    """CC-CV per cell on the group's measured voltage (``safetwin.battery.CcCvConfig``, per cell)."""
    law = LawSpec()
    law.kind, law.cccv = LawKind.cccv, config
    return law


def controllers() -> LawSpec:
    """The external controllers handed to :func:`run` (the MPC, a ``cycle.Controller`` subclass)."""
    return LawSpec()


def fault(kind: str, onset_s: float, end_s: float = math.inf, *, target: int = 0,
          node: int | str = 0, value: float = 0.0, ramp_s: float = 0.0) -> FaultSpec:
    """A fault from ``onset_s`` to ``end_s``. ``target``: the cell (internal_short, cooling_loss
    with -1 = every cell, connection_resistance) or the series group (sensor faults); ``node``:
    0/"a" or 1/"b" for voltage faults; ``value``: conductance S, cooling factor, ohm, V, V/s, noise
    gain, dropout probability, K or A by kind (NaN for a stuck reading = its value at the onset);
    for ``stealthy_injection`` the SOC offset the attacker wants believed, reached over ``ramp_s``
    (``OnlineStealthyInjection`` of ``safetwin.trust.attacks``, run in the loop)."""
    if kind not in FAULT_KINDS:
        raise ValueError(f"fault kind {kind!r}: must be one of {', '.join(FAULT_KINDS)}")
    if isinstance(node, str):
        if node not in ("a", "b"):
            raise ValueError(f"fault node {node!r}: must be 'a', 'b', 0 or 1")
        node = 0 if node == "a" else 1
    return FaultSpec(FaultKind.__members__[kind], float(onset_s), float(end_s), int(target), int(node), float(value),
                     float(ramp_s))


def replacement(*, current_a: float = 0.0, law: LawSpec | None = None,
                time_s: float | None = None) -> Replacement:
    """From ``time_s`` (default: the first fault's onset) the plant gets ``current_a`` directly
    (pack current; the cycle keeps running on the same noise), or ``law`` replaces the cycle's
    controllers (still guarded by the cycle)."""
    r = Replacement()
    r.enabled = True
    r.at_first_fault = time_s is None
    r.time_s = 0.0 if time_s is None else float(time_s)
    if law is None:
        r.direct, r.current_a = True, float(current_a)
    else:
        r.direct, r.law = False, law
    return r


def _per_cell(values, cells: int, name: str) -> list:
    a = np.asarray(values, dtype=float).ravel()
    if a.size == 1:
        a = np.full(cells, float(a[0]))
    if a.size != cells:
        raise ValueError(f"{name}: {a.size} values given, needs one per cell ({cells})")
    return a.tolist()


def _rows(values, steps: int, width: int, name: str, dtype=float) -> list:
    a = np.asarray(values, dtype=dtype)
    if a.shape != (steps, width):
        raise ValueError(f"{name}: shape {a.shape}, needs (steps, {width}) = ({steps}, {width})")
    return a.ravel().tolist()


def make_spec(*, duration_s: float, cycle: CycleConfig | PackCycleConfig, dt_s: float = 1.0,
              plant: PackConfig | None = None, law: LawSpec | None = None,
              capacity_factor=None, resistance_factor=None, r0_factor=None, soc0=None, temp0_k=None,
              ambient_k: float | None = None, noise: SensorNoise | None = None, seed: int = 0,
              faults: Iterable[FaultSpec] = (), injection_a_v=None, injection_b_v=None,
              injection_temperature_k=None, injection_current_a=None, attestation=None,
              replacement: Replacement | None = None, counterfactual: CounterfactualSpec | None = None,
              trace: str = "full") -> LoopSpec:
    """Builds a :class:`LoopSpec`. ``cycle``: a ``CycleConfig`` runs one cell on ``ControlCycle``,
    a ``PackCycleConfig`` a pack on ``PackCycle``. ``plant``: the TRUE plant (default: the twin's
    cell, 1 group per series group of the cycle); per-cell ``capacity_factor``, ``resistance_factor``,
    ``r0_factor`` (ageing and spread the twin does not know; scalars apply to every cell; given any,
    they replace the plant's spread), ``soc0``, ``temp0_k``. ``injection_a_v/b_v``,
    ``injection_temperature_k`` (steps, series) and ``injection_current_a`` (steps,): additive
    offsets on the readings (an attack computed beforehand, or noise drawn elsewhere), added after
    the runner's own noise and before the faults; ``attestation``: verdict codes (steps, nodes).
    ``counterfactual``: plant-only counterfactuals beside the run (see :func:`counterfactual`).
    ``trace``: "full", "extremes" or "none"."""
    spec = LoopSpec()
    spec.duration_s, spec.dt_s = float(duration_s), float(dt_s)
    if isinstance(cycle, CycleConfig):
        pc = PackCycleConfig(1, 1)
        pc.cell = cycle
        spec.use_pack_cycle, spec.cycle = False, pc
    elif isinstance(cycle, PackCycleConfig):
        spec.use_pack_cycle, spec.cycle = True, cycle
    else:
        raise TypeError(f"cycle: a CycleConfig or a PackCycleConfig, got {type(cycle).__name__}")
    series, parallel = spec.cycle.series, spec.cycle.parallel
    if plant is None:
        plant = PackConfig(series, parallel, spec.cycle.cell.cell)
    spec.plant = plant
    cells = plant.series * plant.parallel
    steps = spec.steps
    if any(f is not None for f in (capacity_factor, resistance_factor, r0_factor)):
        from safetwin.battery import CellScaling

        cf = _per_cell(1.0 if capacity_factor is None else capacity_factor, cells, "capacity_factor")
        rf = _per_cell(1.0 if resistance_factor is None else resistance_factor, cells, "resistance_factor")
        r0 = _per_cell(1.0 if r0_factor is None else r0_factor, cells, "r0_factor")
        spec.scaling = [CellScaling(a, b, c) for a, b, c in zip(cf, rf, r0)]
    if soc0 is not None:
        spec.soc0 = _per_cell(soc0, cells, "soc0")
    if temp0_k is not None:
        spec.temp0_k = _per_cell(temp0_k, cells, "temp0_k")
    if ambient_k is not None:
        spec.ambient_k = float(ambient_k)
    spec.law = law if law is not None else controllers()
    spec.noise = noise if noise is not None else SensorNoise()
    spec.seed = int(seed)
    spec.faults = list(faults)
    if injection_a_v is not None:
        spec.injection_a_v = _rows(injection_a_v, steps, series, "injection_a_v")
    if injection_b_v is not None:
        spec.injection_b_v = _rows(injection_b_v, steps, series, "injection_b_v")
    if injection_temperature_k is not None:
        spec.injection_temperature_k = _rows(injection_temperature_k, steps, series, "injection_temperature_k")
    if injection_current_a is not None:
        spec.injection_current_a = _rows(np.reshape(injection_current_a, (-1, 1)), steps, 1, "injection_current_a")
    if attestation is not None:
        spec.attestation = _rows(attestation, steps, spec.cycle.trust.nodes, "attestation", dtype=np.uint8)
    if replacement is not None:
        spec.replacement = replacement
    if counterfactual is not None:
        spec.counterfactual = counterfactual
    if trace not in TraceLevel.__members__:
        raise ValueError(f"trace {trace!r}: must be one of {', '.join(TraceLevel.__members__)}")
    spec.trace = TraceLevel.__members__[trace]
    return spec


def counterfactual(*, current_a: float = 0.0, time_s: float | None = None) -> CounterfactualSpec:
    """Plant-only counterfactuals run beside the closed loop (no second run): the same plant and
    plant faults under the pack current ``current_a`` applied directly, from t = 0
    (``LoopResult.counterfactual_from_start``) and from ``time_s`` (default: the first fault's
    onset; ``counterfactual_at_onset``), forked from the run's plant at that step. Their plant
    fields equal bit for bit those of ``run(with_zero_current(spec, ...))`` (tests/test_loop_counterfactual.py)."""
    c = CounterfactualSpec()
    c.enabled, c.current_a = True, float(current_a)
    if time_s is not None:
        c.at_first_fault, c.time_s = False, float(time_s)
    return c


def with_zero_current(spec: LoopSpec, *, current_a: float = 0.0, time_s: float | None = None) -> LoopSpec:
    """The counterfactual of ``spec``: the same run (same seed, so the same noise samples) with the
    plant's current forced to ``current_a`` from ``time_s`` (default: the first fault's onset)."""
    out = copy.copy(spec)
    out.replacement = replacement(current_a=current_a, time_s=time_s)
    return out


@dataclass
class LoopResult:
    summary: dict
    trace: dict = field(repr=False)
    loop: ClosedLoop = field(repr=False)

    @property
    def cycle(self):
        """The cycle that ran (PackCycle or ControlCycle): events, transitions, trust."""
        return self.loop.pack_cycle if self.loop.pack_cycle is not None else self.loop.cell_cycle

    @property
    def counterfactual_from_start(self) -> dict | None:
        """The plant-only counterfactual from t = 0 (plant fields), None unless the spec asked for one."""
        s = self.loop.counterfactual_from_start()
        return None if s["status"] == Status.not_initialised else s

    @property
    def counterfactual_at_onset(self) -> dict | None:
        """The plant-only counterfactual from the fork time, None unless asked for and reached."""
        s = self.loop.counterfactual_at_onset()
        return None if s["status"] == Status.not_initialised else s


def run(spec: LoopSpec, controllers: Sequence | None = None) -> LoopResult:
    """Runs ``spec`` in C++ (the GIL released; a Python law takes it back for its compute()).
    ``controllers``: one per series group for ``law=controllers()`` (the same object may repeat);
    they are reset before the run. Raises ValueError naming the field of a refused spec."""
    ctl = list(controllers) if controllers is not None else []
    loop_ = ClosedLoop(spec, ctl)
    loop_.run()
    return LoopResult(loop_.summary(), loop_.trace(), loop_)
