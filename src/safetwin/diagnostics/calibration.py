"""Calibration of the online anomaly score: its threshold from simulated nominal operation.

The design's rule: the threshold is the (1 - alpha) quantile of the score over simulated nominal
operation of the twin's own generative model, alpha a false-alarm rate per hour. One nominal run
is one hour of one cell; its statistic is the largest score of the hour (with a full window), so
the threshold at alpha is the (1 - alpha) quantile of the hourly maxima and a held-out nominal
hour alarms with probability alpha. Where the runs hold fewer than 50 expected exceedances the
quantile comes from a generalised Pareto fit to the upper 5 % (peaks over threshold,
``threshold_for``): the order statistic alone would be too noisy (10 000 hours hold 10 at 1e-3).
The rate is the nominal distribution's as a whole: a pack whose load mix differs (fewer drive
cycles, say) sees its own rate, so calibrate on the mix it will see. One calibration serves every
cell of a pack (the cells are exchangeable under it); a per-pack rate is about cells x alpha.

What "nominal" spans (``NominalSpec``), each drawn per run from a seeded generator:
- the plant against the twin: capacity and resistance spread, RC pairs and time constants, heat
  transfer and heat capacity, the Arrhenius constant, and a smooth cell-to-cell OCV deviation
  (the structural error a real cell shows against the twin's 2RC model);
- ageing within spec: capacity 85-100 %, resistance 100-130 % of new;
- sensors: white voltage noise, temperature noise and offset, current noise and bias;
- load profiles: drive cycles, constant-current charges and discharges, pulses (HPPC), rests;
- ambient temperature and initial SOC.
Each run is one C++ plant simulation and one C++ EKF + score replay (``_core.score_replay``),
with the estimator configured as ``safetwin diagnose`` configures it. Runs go to a thread pool
(the C++ calls release the GIL, so two cores run two runs).
"""
from __future__ import annotations

import contextlib
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from safetwin import _core, estimation, profiles
from safetwin.battery import ZERO_CELSIUS_K, Cell, CellParams, CellScaling, CellState, OcvTable, ParamSurface

CALIBRATION_VERSION = 1
DEFAULT_ALPHAS_PER_H = (1e-2, 1e-3)
PROFILE_KINDS = ("drive", "cc_discharge", "cc_charge", "pulses", "rest_mix")


@dataclass(frozen=True)
class NominalSpec:
    """Ranges of nominal operation (uniform draws unless said otherwise)."""

    hours: float = 1.0
    dt_s: float = 1.0
    ambient_c: tuple = (10.0, 40.0)
    capacity_spread_rel: float = 0.03
    r0_spread_rel: float = 0.10
    rc_spread_rel: float = 0.20           # R1, R2, C1, C2
    thermal_spread_rel: float = 0.20      # heat transfer, heat capacity, Arrhenius constant
    ocv_deviation_sigma_v: float = 0.005  # per coefficient of the smooth OCV deviation
    ageing_capacity: tuple = (0.85, 1.0)
    ageing_resistance: tuple = (1.0, 1.3)
    voltage_noise_v: tuple = (0.001, 0.003)
    temperature_noise_k: float = 0.2
    temperature_offset_k: float = 0.5
    current_noise_a: float = 0.02
    current_bias_a: float = 0.03
    profile_weights: tuple = (0.35, 0.2, 0.15, 0.15, 0.15)  # over PROFILE_KINDS

    def __post_init__(self):
        if not (self.hours > 0 and self.dt_s > 0):
            raise ValueError(f"NominalSpec.hours = {self.hours!r}, dt_s = {self.dt_s!r}: must be > 0")
        w = np.asarray(self.profile_weights, dtype=float)
        if w.shape != (len(PROFILE_KINDS),) or np.any(w < 0) or not w.sum() > 0:
            raise ValueError(f"NominalSpec.profile_weights = {self.profile_weights!r}: "
                             f"{len(PROFILE_KINDS)} weights >= 0 over {PROFILE_KINDS}")


@dataclass(frozen=True)
class ScoreSettings:
    """The score and the estimator it watches (recorded in the calibration file)."""

    window_samples: int = 300
    channel_mask: int = 0x5   # voltage_a and temperature (the log's channels)
    z2_cap: float = 100.0
    ekf: dict = field(default_factory=lambda: {"estimate_params": True})

    def score_config(self, threshold: float = 1e300) -> _core.AnomalyScoreConfig:
        c = _core.AnomalyScoreConfig()
        c.window_samples, c.channel_mask, c.z2_cap, c.threshold = (self.window_samples, self.channel_mask,
                                                                    self.z2_cap, threshold)
        c.validate()
        return c


def _uniform_rel(rng, rel):
    return 1.0 + rng.uniform(-rel, rel)


def _plant_params(rng, spec: NominalSpec) -> tuple:
    base = CellParams.ref_cell_1()
    p = CellParams.ref_cell_1()
    ref_t = 298.15
    for name, rel in (("r1_ohm", spec.rc_spread_rel), ("r2_ohm", spec.rc_spread_rel),
                      ("c1_f", spec.rc_spread_rel), ("c2_f", spec.rc_spread_rel)):
        setattr(p, name, ParamSurface.constant(getattr(base, name).at(0.5, ref_t) * _uniform_rel(rng, rel)))
    p.heat_transfer_w_per_k = base.heat_transfer_w_per_k * _uniform_rel(rng, spec.thermal_spread_rel)
    p.heat_capacity_j_per_k = base.heat_capacity_j_per_k * _uniform_rel(rng, spec.thermal_spread_rel / 2)
    p.arrhenius_k = base.arrhenius_k * _uniform_rel(rng, spec.thermal_spread_rel)
    p.ambient_temp_k = rng.uniform(*spec.ambient_c) + ZERO_CELSIUS_K
    soc, ocv = np.asarray(base.ocv.soc), np.asarray(base.ocv.ocv_v)
    a = rng.normal(0.0, spec.ocv_deviation_sigma_v, 3)
    p.ocv = OcvTable(soc, ocv + a[0] + a[1] * np.sin(np.pi * soc) + a[2] * np.sin(2 * np.pi * soc))
    scaling = CellScaling(capacity_factor=_uniform_rel(rng, spec.capacity_spread_rel) * rng.uniform(*spec.ageing_capacity),
                          resistance_factor=rng.uniform(*spec.ageing_resistance),
                          r0_factor=_uniform_rel(rng, spec.r0_spread_rel))
    p.validate()
    return p, scaling


def _profile(rng, kind: str, n: int, dt_s: float, capacity_ah: float) -> np.ndarray:
    """A current profile of n samples (A, > 0 discharges) starting with a rest sample."""
    if kind == "drive":
        i = profiles.drive_cycle(n * dt_s, dt_s, seed=int(rng.integers(2**31)),
                                 mean_current_a=rng.uniform(0.5, 1.5) * capacity_ah * 0.5)
    elif kind == "cc_discharge":
        c = rng.uniform(0.2, 1.0)
        on = int(rng.uniform(0.3, 0.7) * n)
        i = np.concatenate([np.full(on, c * capacity_ah), np.zeros(n - on)])
    elif kind == "cc_charge":
        c = rng.uniform(0.2, 0.7)
        on = int(rng.uniform(0.3, 0.7) * n)
        i = np.concatenate([np.full(on, -c * capacity_ah), np.zeros(n - on)])
    elif kind == "pulses":
        i = profiles.hppc(capacity_ah, dt_s, pulses=3, settle_s=rng.uniform(300, 900))
        i = np.resize(i, n)
    else:  # rest_mix: rests and moderate steps
        steps = rng.integers(3, 8)
        edges = np.sort(rng.integers(0, n, steps))
        i = np.zeros(n)
        for a, b in zip(edges[:-1], edges[1:]):
            i[a:b] = rng.choice([0.0, rng.uniform(-0.5, 1.0) * capacity_ah])
    i = np.asarray(i, dtype=float)[:n]
    i[0] = 0.0
    return i


def nominal_log(seed: int, spec: NominalSpec = NominalSpec()) -> dict:
    """One simulated nominal hour of one cell: the measured log (the ``safetwin estimate``
    columns, SI temperature in K) and the truth it came from."""
    rng = np.random.default_rng(seed)
    params, scaling = _plant_params(rng, spec)
    n = int(round(spec.hours * 3600.0 / spec.dt_s))
    kind = PROFILE_KINDS[int(rng.choice(len(PROFILE_KINDS), p=np.asarray(spec.profile_weights) / sum(spec.profile_weights)))]
    current = _profile(rng, kind, n, spec.dt_s, params.capacity_ah)
    # Initial SOC such that the profile stays inside [0.05, 0.95].
    charge = np.cumsum(current) * spec.dt_s / 3600.0 / (params.capacity_ah * scaling.capacity_factor)
    lo, hi = 0.05 + max(charge.max(), 0.0), 0.95 + min(charge.min(), 0.0)
    soc0 = rng.uniform(lo, hi) if hi > lo else 0.5
    cell = Cell(params, CellState(soc0, 0.0, 0.0, params.ambient_temp_k))
    cell.pack.set_scaling(0, scaling)
    sim = cell.simulate(current, spec.dt_s)
    v = sim["cell_voltage_v"][:, 0] + rng.normal(0, rng.uniform(*spec.voltage_noise_v), n)
    t_k = (sim["cell_temp_k"][:, 0] + rng.uniform(-1, 1) * spec.temperature_offset_k
           + rng.normal(0, spec.temperature_noise_k, n))
    i_meas = current + rng.uniform(-1, 1) * spec.current_bias_a + rng.normal(0, spec.current_noise_a, n)
    # The truth of the ageing-drift estimates: capacity and R0 relative to the twin's cell.
    return {"t_s": np.arange(n) * spec.dt_s, "current_a": i_meas, "voltage_v": v, "temperature_k": t_k,
            "soc_true": sim["cell_soc"][:, 0], "profile": kind, "capacity_rel_true": scaling.capacity_factor,
            "r0_rel_true": scaling.resistance_factor * scaling.r0_factor}


_STDERR_LOCK = threading.Lock()


def ekf_config_for(log: dict, settings: ScoreSettings, quiet: bool = False,
                   cell: CellParams | None = None) -> estimation.BatteryEkfConfig:
    """The estimator as ``safetwin diagnose`` sets it up for a log (initial SOC from the first
    rested voltage, initial temperature from the first sample) on ``cell`` (default REF-CELL-1)."""
    from safetwin.commands.estimate import initial_soc

    cell = cell if cell is not None else CellParams.ref_cell_1()
    if quiet:
        # initial_soc warns on stderr for a log that never rests; a calibration of thousands of
        # runs keeps quiet. The lock: redirect_stderr swaps a process-wide object.
        with _STDERR_LOCK, contextlib.redirect_stderr(io.StringIO()):
            soc0 = initial_soc(log, cell)
    else:
        soc0 = initial_soc(log, cell)
    soc0 = float(np.clip(soc0, 0.0, 1.0))
    t = log["temperature_k"][np.isfinite(log["temperature_k"])]
    return estimation.make_config(cell=cell, soc0=soc0, temp0_k=float(t[0]) if t.size else cell.ambient_temp_k,
                                  **settings.ekf)


def score_log(log: dict, settings: ScoreSettings, threshold: float = 1e300, quiet: bool = False) -> dict:
    """The EKF + anomaly score over one log, in one C++ call (``_core.score_replay``)."""
    return _core.score_replay(log["t_s"], log["current_a"], voltage_a_v=log["voltage_v"],
                              temperature_k=log["temperature_k"], ekf_config=ekf_config_for(log, settings, quiet),
                              score_config=settings.score_config(threshold))


def _nominal_run(seed: int, spec: NominalSpec, settings: ScoreSettings) -> tuple:
    """One nominal hour: its largest score and, per ageing estimate, (value, sigma, truth) at the
    end of the log (the sample of the ageing intervals' calibration)."""
    log = nominal_log(seed, spec)
    res = score_log(log, settings, quiet=True)
    ageing = {kind: (float(res[kind][-1]), float(res[kind + "_sigma"][-1]), float(log[truth]))
              for kind, truth in (("capacity_factor", "capacity_rel_true"), ("r0_factor", "r0_rel_true"))}
    return float(res["max_score"]), ageing


def nominal_runs(seeds, spec: NominalSpec = NominalSpec(), settings: ScoreSettings = ScoreSettings(),
                 workers: int = 2, progress=None) -> tuple:
    """Every seed's nominal hour (thread pool; C++ releases the GIL): the hourly maxima of the score
    (array) and the ageing samples (dict of lists, ``ageing_intervals.calibrate``'s input)."""
    seeds = list(seeds)
    out = np.empty(len(seeds))
    ageing = {"capacity_factor": [], "r0_factor": []}
    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        for k, (value, a) in enumerate(pool.map(lambda s: _nominal_run(s, spec, settings), seeds)):
            out[k] = value
            for kind, row in a.items():
                ageing[kind].append(row)
            if progress is not None:
                progress(k + 1, len(seeds))
    return out, ageing


def hourly_max_scores(seeds, spec: NominalSpec = NominalSpec(), settings: ScoreSettings = ScoreSettings(),
                      workers: int = 2, progress=None) -> np.ndarray:
    """The largest score of each nominal hour, one per seed."""
    return nominal_runs(seeds, spec, settings, workers, progress)[0]


def ekf_prior_sigmas(settings: ScoreSettings = ScoreSettings()) -> dict:
    """The EKF's prior sigma of each ageing estimate, as ``safetwin diagnose`` configures it."""
    cfg = estimation.make_config(**settings.ekf)
    return {"capacity_factor": cfg.capacity_factor_sigma0, "r0_factor": cfg.r0_factor_sigma0}


# Below this many expected exceedances the empirical quantile is too noisy; the tail is fitted.
MIN_EMPIRICAL_EXCEEDANCES = 50
POT_TAIL_FRACTION = 0.05


def threshold_for(max_scores: np.ndarray, alpha_per_h: float, hours_per_run: float = 1.0) -> tuple:
    """The (1 - alpha) quantile of the hourly maxima and how it was found: ``(threshold, method)``.

    With at least MIN_EMPIRICAL_EXCEEDANCES expected exceedances (alpha n >= 50), the empirical
    quantile (the next order statistic up: "empirical"). With fewer, the order statistic is too
    noisy (its exceedance probability has a relative spread of 1/sqrt(alpha n)), so the tail is
    fitted instead: peaks over the threshold u at the 95 % quantile, a generalised Pareto
    distribution fitted by maximum likelihood (scipy.stats.genpareto) to the exceedances, and
    the quantile u + GPD^-1(1 - alpha / 0.05) ("gpd_pot"; extreme-value theory).
    """
    x = np.asarray(max_scores, dtype=float)
    alpha = alpha_per_h * hours_per_run  # per run
    if not (0 < alpha_per_h < 1):
        raise ValueError(f"alpha_per_h = {alpha_per_h!r}: must be in (0, 1)")
    if len(x) * alpha < 1:
        raise ValueError(f"alpha_per_h = {alpha_per_h!r} needs at least {int(np.ceil(1 / alpha))} nominal "
                         f"hours to calibrate; got {len(x)}")
    if len(x) * alpha >= MIN_EMPIRICAL_EXCEEDANCES or alpha >= POT_TAIL_FRACTION:
        return float(np.quantile(x, 1.0 - alpha, method="higher")), "empirical"
    from scipy.stats import genpareto

    u = float(np.quantile(x, 1.0 - POT_TAIL_FRACTION))
    excess = x[x > u] - u
    shape, _, scale = genpareto.fit(excess, floc=0.0)
    p_u = excess.size / x.size
    return float(u + genpareto.ppf(1.0 - alpha / p_u, shape, 0.0, scale)), "gpd_pot"


def calibrate(hours: int, alphas_per_h=DEFAULT_ALPHAS_PER_H, seed0: int = 0, spec: NominalSpec = NominalSpec(),
              settings: ScoreSettings = ScoreSettings(), workers: int = 2, progress=None) -> dict:
    """Simulates ``hours`` nominal hours (seeds seed0, seed0 + 1, ...) and returns the calibration
    (a JSON-ready dict with one threshold per alpha)."""
    if int(hours) != hours or hours < 1:
        raise ValueError(f"hours = {hours!r}: must be an integer >= 1")
    runs = int(round(hours / spec.hours))
    scores, ageing = nominal_runs(range(seed0, seed0 + runs), spec, settings, workers, progress)
    return calibration_from_scores(scores, alphas_per_h, seed0, spec, settings, ageing)


def calibration_from_scores(scores, alphas_per_h, seed0: int, spec: NominalSpec, settings: ScoreSettings,
                            ageing: dict | None = None) -> dict:
    """The calibration (JSON-ready) from the hourly maxima of runs seed0, seed0 + 1, ... and, given
    their ageing samples (``nominal_runs``), the ageing-drift intervals (``ageing_intervals``)."""
    from safetwin.diagnostics import ageing_intervals

    scores = np.asarray(scores, dtype=float)
    found = {f"{a:g}": threshold_for(scores, a, spec.hours) for a in alphas_per_h}
    extra = {}
    if ageing is not None:
        try:
            extra["ageing_intervals"] = ageing_intervals.calibrate(ageing, ekf_prior_sigmas(settings))
        except ValueError as exc:  # too few runs in a bin: diagnose then uses the EKF's own intervals
            extra["ageing_intervals_note"] = f"not calibrated: {exc}"
    return {
        "version": CALIBRATION_VERSION,
        "kind": "safetwin anomaly-score calibration",
        "statistic": "hourly maximum of the window mean of squared whitened innovations",
        "window_samples": settings.window_samples,
        "channel_mask": settings.channel_mask,
        "z2_cap": settings.z2_cap,
        "ekf": dict(settings.ekf),
        "dt_s": spec.dt_s,
        "hours": len(scores) * spec.hours,
        "seed0": seed0,
        "thresholds": {a: t for a, (t, _) in found.items()},
        "threshold_method": {a: m for a, (_, m) in found.items()},
        "max_score_quantiles": {f"{q:g}": float(np.quantile(scores, q)) for q in (0.5, 0.9, 0.99, 0.999)},
        "nominal": asdict(spec),
        **extra,
    }


def save_calibration(calibration: dict, path) -> None:
    Path(path).write_text(json.dumps(calibration, indent=2) + "\n")


def load_calibration(path) -> dict:
    """Reads a calibration file; raises ValueError naming what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"calibration file {str(path)!r} does not exist")
    try:
        data = json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not a JSON calibration file ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("version") != CALIBRATION_VERSION:
        raise ValueError(f"{path}: version = {data.get('version') if isinstance(data, dict) else None!r}: "
                         f"expected a calibration file of version {CALIBRATION_VERSION}")
    for key in ("window_samples", "channel_mask", "z2_cap", "thresholds", "ekf"):
        if key not in data:
            raise ValueError(f"{path}: missing key {key!r}")
    for a, t in data["thresholds"].items():
        if not (isinstance(t, (int, float)) and np.isfinite(t) and t > 0):
            raise ValueError(f"{path}: thresholds[{a!r}] = {t!r}: must be a finite number > 0")
    if "ageing_intervals" in data:
        from safetwin.diagnostics import ageing_intervals

        ageing_intervals.validate(data["ageing_intervals"], str(path))
    return data


def settings_of(calibration: dict) -> ScoreSettings:
    return ScoreSettings(window_samples=int(calibration["window_samples"]), channel_mask=int(calibration["channel_mask"]),
                         z2_cap=float(calibration["z2_cap"]), ekf=dict(calibration["ekf"]))
