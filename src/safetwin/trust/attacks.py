"""Attacks on sensor streams, for tests and benches (numpy in, numpy out).

Each attack acts on one node's stream between ``start_s`` and ``stop_s`` and returns an attacked
copy; the stream outside that window is untouched. A compromised node also fails attestation
from ``start_s`` on (its measured boot changed), unless ``holds_valid_key`` says the attacker can
sign golden quotes (see :mod:`safetwin.trust.scenario`).

- :class:`Bias`, :class:`Drift`, :class:`Freeze`, :class:`Replay`, :class:`Noise`: the classic
  sensor faults and attacks; each shows in the innovations, so the CUSUM catches them.
- :class:`StealthyInjection`: a false-data injection consistent with the twin's model. The
  attacker runs the twin's own model (REF-CELL-1 through ``safetwin.battery``) from the cell's
  state at the attack start under the measured current, and injects the voltage difference
  between that trajectory and the same trajectory with a phantom SOC error. The error starts at
  0, is ramped in at a rate the estimator's SOC random walk absorbs, then persists as a SOC
  error does in the model (an integrator); its voltage signature follows the OCV slope along
  the real trajectory. The chi-square (NIS) detector stays silent while the estimate walks away
  from the truth.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def _window(t: np.ndarray, start_s: float, stop_s: float) -> np.ndarray:
    return (t >= start_s) & (t < stop_s)


@dataclass(frozen=True)
class Attack:
    """Base: which node, when. ``holds_valid_key``: the node still attests cleanly."""

    node: str
    start_s: float
    stop_s: float = math.inf
    holds_valid_key: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start_s) and self.start_s >= 0):
            raise ValueError(f"start_s = {self.start_s}: must be finite and >= 0")
        if not self.stop_s > self.start_s:
            raise ValueError(f"stop_s = {self.stop_s}: must be > start_s = {self.start_s}")

    def active(self, t: np.ndarray) -> np.ndarray:
        return _window(np.asarray(t, dtype=float), self.start_s, self.stop_s)

    def apply(self, t: np.ndarray, values: np.ndarray, **context) -> np.ndarray:
        t = np.asarray(t, dtype=float)
        values = np.asarray(values, dtype=float)
        if t.shape != values.shape or t.ndim != 1:
            raise ValueError(f"t {t.shape} and values {values.shape}: must be 1-D arrays of one length")
        out = values.copy()
        mask = self.active(t)
        if mask.any():
            self._inject(t, out, mask, **context)
        return out

    def _inject(self, t, out, mask, **context) -> None:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class Bias(Attack):
    offset: float = 0.0

    def _inject(self, t, out, mask, **_):
        out[mask] += self.offset


@dataclass(frozen=True)
class Drift(Attack):
    rate_per_s: float = 0.0

    def _inject(self, t, out, mask, **_):
        out[mask] += self.rate_per_s * (t[mask] - self.start_s)


@dataclass(frozen=True)
class Freeze(Attack):
    """Holds the last value before the attack (or the first value inside it)."""

    def _inject(self, t, out, mask, **_):
        first = int(np.argmax(mask))
        held = out[first - 1] if first > 0 else out[first]
        out[mask] = held


@dataclass(frozen=True)
class Replay(Attack):
    """Replays the ``record_s`` seconds recorded just before the attack, in a loop."""

    record_s: float = 60.0

    def _inject(self, t, out, mask, **_):
        recorded = np.flatnonzero((t >= self.start_s - self.record_s) & (t < self.start_s))
        if recorded.size == 0:
            raise ValueError(f"record_s = {self.record_s}: no samples recorded before start_s = {self.start_s}")
        tape = out[recorded].copy()
        idx = np.flatnonzero(mask)
        out[idx] = tape[np.arange(idx.size) % tape.size]


@dataclass(frozen=True)
class Noise(Attack):
    sigma: float = 0.0
    seed: int = 0

    def _inject(self, t, out, mask, **_):
        rng = np.random.default_rng(self.seed)
        out[mask] += rng.normal(0.0, self.sigma, int(mask.sum()))


@dataclass(frozen=True)
class StealthyInjection(Attack):
    """Model-consistent false-data injection on a voltage stream (see the module docstring).

    ``soc_offset``: the SOC error the attacker wants the twin to believe (negative: the twin
    thinks the cell is emptier than it is, so a charger overcharges it), reached linearly over
    ``ramp_s`` seconds and then held. Context needed by :meth:`apply`: ``current_a`` (the
    measured current, same length as ``t``), ``state0`` (a ``CellState`` at ``start_s``) and
    optionally ``params`` (``CellParams``; REF-CELL-1 by default). Uniform sample times.
    """

    soc_offset: float = -0.2
    ramp_s: float = 1800.0

    def _inject(self, t, out, mask, current_a=None, state0=None, params=None, **_):
        from safetwin import battery  # the twin's own model, in C++

        if current_a is None or state0 is None:
            raise ValueError("StealthyInjection needs current_a and state0 (the cell state at start_s)")
        current_a = np.asarray(current_a, dtype=float)
        idx = np.flatnonzero(mask)
        dt = np.diff(t[idx])
        dt_s = float(dt[0]) if dt.size else 1.0
        if dt.size and not np.allclose(dt, dt_s):
            raise ValueError("StealthyInjection: sample times must be uniform inside the attack window")
        params = params if params is not None else battery.CellParams.ref_cell_1()
        # The attacker's copy of the twin: the cell's trajectory under the measured current.
        soc = battery.Cell(params, state0).simulate(current_a[idx], dt_s)["cell_soc"][:, 0]
        # The phantom SOC error, ramped in slowly enough for the estimator's SOC random walk to
        # follow it without a large innovation, then held (a constant SOC error is invisible: the
        # SOC is an integrator, the error persists under any current).
        elapsed = t[idx] - self.start_s
        delta = self.soc_offset * np.clip(elapsed / self.ramp_s, 0.0, 1.0)
        # A SOC error reaches the terminal voltage only through the OCV (REF-CELL-1's resistances
        # do not depend on SOC), so the faked reading is the real one plus the OCV difference:
        # the sensor's own noise and every RC/thermal transient stay genuine.
        ocv = params.ocv
        out[idx] += np.interp(soc + delta, ocv.soc, ocv.ocv_v) - np.interp(soc, ocv.soc, ocv.ocv_v)


@dataclass(frozen=True)
class TwinAwareInjection(StealthyInjection):
    """The closed-loop form of the stealthy injection (Mo and Sinopoli's attack on a Kalman
    filter): the attacker also holds a copy of the twin's estimator (its configuration
    ``twin_config``, a ``BatteryEkfConfig``), runs it on everything it reads on the bus, and sends
    at each sample exactly what the twin expects to measure, h(x_pred), plus the real sensor's own
    noise, plus a small push (at most ``max_push_sigma`` of the channel's sigma) toward the fake
    SOC trajectory. The twin's innovation on the attacked channel is then the honest noise plus a
    bias far below anything a chi-square test sees, while the open-loop form leaves a lag bias.

    Context for :meth:`apply`: ``current_a``, ``state0`` (the cell state at ``start_s``),
    ``voltage_b_v`` and ``temperature_k`` (the other streams the twin gets), optionally ``params``.
    """

    twin_config: object = None
    max_push_sigma: float = 0.4
    gain: float = 1.0

    def _inject(self, t, out, mask, current_a=None, state0=None, params=None, voltage_b_v=None,
                temperature_k=None, **_):
        from safetwin import _core as core

        if self.twin_config is None or current_a is None or state0 is None:
            raise ValueError("TwinAwareInjection needs twin_config, current_a and state0")
        idx = np.flatnonzero(mask)
        k0 = int(idx[0])
        if k0 == 0:
            raise ValueError(f"start_s = {self.start_s}: the attacker must see the twin before it attacks")
        params = params if params is not None else core.CellParams.ref_cell_1()
        i = np.asarray(current_a, dtype=float)
        vb = None if voltage_b_v is None else np.asarray(voltage_b_v, dtype=float)
        temp = None if temperature_k is None else np.asarray(temperature_k, dtype=float)
        dt_s = float(t[idx[1]] - t[idx[0]]) if idx.size > 1 else 1.0
        # The attacker's model of the true cell, and the fake SOC it wants the twin to believe.
        truth = core.Cell(params, state0).simulate(i[idx], dt_s)
        soc_true, v_true = truth["cell_soc"][:, 0], truth["cell_voltage_v"][:, 0]
        target = soc_true + self.soc_offset * np.clip((t[idx] - self.start_s) / self.ramp_s, 0.0, 1.0)
        # The twin's copy, in step with the twin on everything before the attack.
        twin = core.BatteryEkf(self.twin_config)
        twin.run(t[:k0], i[:k0], out[:k0], None if vb is None else vb[:k0], None if temp is None else temp[:k0])
        max_push = self.max_push_sigma * self.twin_config.voltage_a_sigma_v
        # Sequential by nature (each sample depends on the twin's reaction to the previous one).
        for j, k in enumerate(idx):
            x = twin.state
            cell = core.Cell(params, core.CellState(soc=x[0], v1_v=x[1], v2_v=x[2], temp_k=x[3]))
            cell.step(float(i[k - 1]), float(t[k] - t[k - 1]))  # the twin's prediction (zero-order hold)
            expected = cell.voltage_v(float(i[k]))
            soc_pred = cell.state.soc
            push = self.gain * params.ocv.slope_v(soc_pred) * (target[j] - soc_pred)
            y = expected + (out[k] - v_true[j]) + float(np.clip(push, -max_push, max_push))
            out[k] = y
            twin.step(float(i[k]), voltage_a_v=y, temperature_k=None if temp is None else float(temp[k]),
                      voltage_b_v=None if vb is None else float(vb[k]), dt_s=float(t[k] - t[k - 1]))


def attack_node_streams(t: np.ndarray, streams: dict, attacks: list, context: dict | None = None) -> dict:
    """Apply every attack to its node's stream: ``streams`` maps node -> 1-D array."""
    out = {k: np.asarray(v, dtype=float).copy() for k, v in streams.items()}
    for atk in attacks:
        if atk.node not in out:
            raise ValueError(f"attack on node {atk.node!r}: no such stream (have {sorted(out)})")
        out[atk.node] = atk.apply(t, out[atk.node], **(context or {}).get(atk.node, {}))
    return out


class OnlineStealthyInjection:
    """:class:`StealthyInjection` computed sample by sample, for closed-loop benches where the
    current is not known in advance (the controller reacts to the faked readings).

    The attacker's copy of the cell starts from ``state0`` at ``attack.start_s`` and is stepped
    with each sample's current; :meth:`offset_v` returns what to add to the node's reading of the
    sample taken at ``t_s`` under ``current_a`` (0 outside the attack window).
    """

    def __init__(self, attack: StealthyInjection, state0, params=None):
        from safetwin import battery

        self.attack = attack
        self._params = params if params is not None else battery.CellParams.ref_cell_1()
        self._cell = battery.Cell(self._params, state0)

    def offset_v(self, t_s: float, current_a: float, dt_s: float) -> float:
        atk = self.attack
        if not atk.start_s <= t_s < atk.stop_s:
            return 0.0
        soc = self._cell.state.soc
        delta = atk.soc_offset * min(max((t_s - atk.start_s) / atk.ramp_s, 0.0), 1.0)
        ocv = self._params.ocv
        self._cell.step(current_a, dt_s)
        return ocv.voltage_v(soc + delta) - ocv.voltage_v(soc)
