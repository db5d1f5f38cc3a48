"""The attack demo: a stealthy false-data injection on one voltage node, with and without trust.

Bench: one REF-CELL-1 cell under a slow drive profile, its voltage measured twice, as a BMS does:
``cmu`` (the cell-monitoring node, 2 mV, channel voltage_a; it also reports the temperature)
and ``pack`` (a second, independent node: this cell's share of the pack-voltage measurement,
150 mV per cell, channel voltage_b). The current sensor is honest. From ``attack_start_s`` the
``cmu`` node is compromised: its readings carry the model-consistent stealthy injection (by
default the closed-loop form, :class:`~safetwin.trust.attacks.TwinAwareInjection`: the attacker
runs a copy of the twin and sends what it expects plus a push far below the noise) and, unless the
attacker holds a valid key, it reboots into tampered firmware, so its quotes fail (wrong PCR
digest).

The same sensor streams and the same attestation verdicts go through the C++ BatteryEkf twice
(``trusted_replay``): once with trust weighting (noise scale s = 1/max(trust, eps) on the
node's channels), once without (trust computed, scales left at 1). A third run without any
attack gives the chi-square detector's own false-alarm count on the same noise.

The chi-square detector is the estimator's per-channel NIS gate (1 dof, probability 0.9999):
``detector_alarms`` counts the samples where it rejected a channel; with no attack it still
alarms about samples x 3 channels x 1e-4 times (``expected_false_alarms``). Silent means: no
more alarms than that false-alarm budget allows. (The push shows over long windows: the mean NIS
of the unweighted twin rises by about 0.3 over two hours, which a windowed NIS test with a long
window would notice; the per-sample test does not.) The trust event is raised
when the attacked node's trust falls below the distrust threshold (severity derate; all voltage
nodes distrusted would be a stop).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from .attacks import StealthyInjection, TwinAwareInjection
from .scenario import run_attestation

NODES = ("cmu", "pack")
VOLTAGE_NODES = ("cmu", "pack")


@dataclass(frozen=True)
class DemoConfig:
    duration_s: float = 7200.0
    dt_s: float = 1.0
    soc0: float = 0.85
    attack_start_s: float = 300.0
    soc_offset: float = 0.13  # the SOC error the attacker wants the twin to believe
    ramp_s: float = 6000.0
    holds_valid_key: bool = False
    closed_loop: bool = True  # the attacker also runs a copy of the twin (TwinAwareInjection)
    voltage_a_sigma_v: float = 0.002
    voltage_b_sigma_v: float = 0.15
    temperature_sigma_k: float = 0.2
    current_sigma_a: float = 0.02
    attest_every_s: float = 1.0
    trust_eps: float = 1e-6
    seed: int = 1

    def __post_init__(self) -> None:
        for name in ("duration_s", "dt_s", "ramp_s", "voltage_a_sigma_v", "voltage_b_sigma_v",
                     "temperature_sigma_k", "attest_every_s", "trust_eps"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} = {value}: must be finite and > 0")
        if not 0.0 < self.soc0 < 1.0:
            raise ValueError(f"soc0 = {self.soc0}: must be in (0, 1)")
        if not 0.0 <= self.attack_start_s < self.duration_s:
            raise ValueError(f"attack_start_s = {self.attack_start_s}: must be in [0, duration_s = {self.duration_s})")
        if not abs(self.soc_offset) < 1.0:
            raise ValueError(f"soc_offset = {self.soc_offset}: must be in (-1, 1)")


def drive_profile(n: int, dt_s: float) -> np.ndarray:
    """Square-wave drive: 3 A, 0.5 A, 1.5 A, rest, 2 minutes each (1.25 A mean, ~0.45 SOC in 2 h)."""
    phase = (np.arange(n) * dt_s // 120).astype(int) % 4
    return np.array([3.0, 0.5, 1.5, 0.0])[phase]


@dataclass
class RunSummary:
    soc_rmse: float
    soc_max_error: float
    detector_alarms: int
    trust: float  # the attacked node's final trust
    trust_event: bool  # the attacked node fell below the distrust threshold
    trust_event_time_s: float | None
    trust_event_severity: str
    cusum_alarms: int  # the attacked node's CUSUM alarms

    def as_json(self) -> dict:
        return {"soc_rmse": self.soc_rmse, "soc_max_error": self.soc_max_error,
                "detector_alarms": self.detector_alarms, "trust": self.trust}


@dataclass
class DemoResult:
    config: DemoConfig
    t_s: np.ndarray
    soc_true: np.ndarray
    soc: dict  # run name -> estimate
    trust: dict  # run name -> (rows, nodes) trust
    summaries: dict  # run name -> RunSummary
    clean_detector_alarms: int  # the detector on the same noise with no attack
    expected_false_alarms: float  # samples x channels x (1 - gate probability)
    attestation_failures: int
    extra: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {name: self.summaries[name].as_json() for name in ("with_trust", "without_trust")}


def _summary(t, soc_true, run, attacked: int, threshold: float, voltage_idx) -> RunSummary:
    err = run["soc"] - soc_true
    trust = run["trust"]
    below = trust[:, attacked] < threshold
    first = int(np.argmax(below)) if below.any() else None
    all_voltage = np.all(trust[:, voltage_idx] < threshold, axis=1)
    return RunSummary(
        soc_rmse=float(np.sqrt(np.mean(err ** 2))),
        soc_max_error=float(np.max(np.abs(err))),
        detector_alarms=int(np.count_nonzero(run["gated"])),
        trust=float(trust[-1, attacked]),
        trust_event=first is not None,
        trust_event_time_s=float(t[first]) if first is not None else None,
        trust_event_severity="stop" if all_voltage.any() else ("derate" if first is not None else "none"),
        cusum_alarms=int(run["alarm"][:, attacked].sum()),
    )


def run_attack_demo(config: DemoConfig = DemoConfig()) -> DemoResult:
    from safetwin import _core as core

    cfg = config
    n = int(round(cfg.duration_s / cfg.dt_s))
    t = np.arange(n) * cfg.dt_s
    current = drive_profile(n, cfg.dt_s)
    params = core.CellParams.ref_cell_1()
    truth = core.Cell(params, core.CellState(soc=cfg.soc0)).simulate(current, cfg.dt_s)
    v_true = truth["cell_voltage_v"][:, 0]
    soc_true = truth["cell_soc"][:, 0]
    temp_true = truth["cell_temp_k"][:, 0]

    rng = np.random.default_rng(cfg.seed)
    voltage_a = v_true + cfg.voltage_a_sigma_v * rng.standard_normal(n)
    voltage_b = v_true + cfg.voltage_b_sigma_v * rng.standard_normal(n)
    temperature = temp_true + cfg.temperature_sigma_k * rng.standard_normal(n)
    current_meas = current + cfg.current_sigma_a * rng.standard_normal(n)

    ekf_cfg = core.BatteryEkfConfig()
    ekf_cfg.soc0 = cfg.soc0
    ekf_cfg.voltage_a_sigma_v = cfg.voltage_a_sigma_v
    ekf_cfg.voltage_b_sigma_v = cfg.voltage_b_sigma_v
    ekf_cfg.temperature_sigma_k = cfg.temperature_sigma_k
    ekf_cfg.current_sigma_a = cfg.current_sigma_a
    ekf_cfg.voltage_model_sigma_v = 0.0  # the truth is the twin's own model

    # The attacker's model starts from the cell's state at the attack start; it knows the twin.
    start = int(np.searchsorted(t, cfg.attack_start_s))
    pre = core.Cell(params, core.CellState(soc=cfg.soc0))
    pre.simulate(current[:start], cfg.dt_s)
    common = dict(start_s=float(t[start]), soc_offset=cfg.soc_offset, ramp_s=cfg.ramp_s,
                  holds_valid_key=cfg.holds_valid_key)
    attack = (TwinAwareInjection("cmu", twin_config=ekf_cfg, **common) if cfg.closed_loop
              else StealthyInjection("cmu", **common))
    voltage_a_attacked = attack.apply(t, voltage_a, current_a=current_meas, state0=pre.state, params=params,
                                      voltage_b_v=voltage_b, temperature_k=temperature)

    attested = run_attestation(t, NODES, [attack], every_s=cfg.attest_every_s)
    clean = run_attestation(t, NODES, [], every_s=cfg.attest_every_s)
    trust_cfg = core.TrustConfig()
    trust_cfg.trust_eps = cfg.trust_eps
    channel_map = [core.ChannelNodes(voltage_a=0, voltage_b=1, temperature=0)]

    def replay(weighting: bool, codes, va):
        ekf = core.BatteryEkf(ekf_cfg)
        trust = core.EstimatorTrust(trust_cfg, len(NODES), channel_map, [ekf_cfg], weighting)
        return core.trusted_replay(ekf, trust, t, current_meas, codes, voltage_a_v=va, voltage_b_v=voltage_b,
                                   temperature_k=temperature)

    runs = {"with_trust": replay(True, attested.codes, voltage_a_attacked),
            "without_trust": replay(False, attested.codes, voltage_a_attacked)}
    clean_run = replay(False, clean.codes, voltage_a)
    attacked = NODES.index("cmu")
    voltage_idx = [NODES.index(v) for v in VOLTAGE_NODES]
    summaries = {name: _summary(t, soc_true, r, attacked, trust_cfg.distrust_threshold, voltage_idx)
                 for name, r in runs.items()}
    return DemoResult(
        config=cfg, t_s=t, soc_true=soc_true,
        soc={name: r["soc"] for name, r in runs.items()},
        trust={name: r["trust"] for name, r in runs.items()},
        summaries=summaries,
        clean_detector_alarms=int(np.count_nonzero(clean_run["gated"])),
        expected_false_alarms=n * 3 * (1.0 - ekf_cfg.gate_probability),
        attestation_failures=len(attested.failures("cmu")),
        extra={"clean_soc_max_error": float(np.max(np.abs(clean_run["soc"] - soc_true))),
               "mean_nis": {name: float(np.mean(r["nis"])) for name, r in runs.items()},
               "config": asdict(cfg)},
    )


def plot(result: DemoResult, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t_min = result.t_s / 60.0
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for name, style in (("without_trust", "tab:red"), ("with_trust", "tab:green")):
        ax1.plot(t_min, 100 * (result.soc[name] - result.soc_true), color=style, label=name.replace("_", " "))
    ax1.axvline(result.config.attack_start_s / 60.0, color="k", ls="--", lw=0.8, label="attack start")
    ax1.set_ylabel("SOC error (%)")
    ax1.legend(loc="best")
    ax1.set_title("Stealthy injection on the cell-monitoring node")
    trust = result.trust["with_trust"]
    for j, node in enumerate(NODES):
        ax2.semilogy(t_min, np.maximum(trust[:, j], 1e-12), label=f"trust {node}")
    ax2.axhline(0.1, color="k", ls=":", lw=0.8, label="distrust threshold")
    ax2.set_xlabel("time (min)")
    ax2.set_ylabel("P(uncompromised)")
    ax2.legend(loc="best")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
