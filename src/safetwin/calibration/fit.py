"""Fits the one cell model to measured logs: nonlinear least squares over whole profiles in C++.

The parameters (of a structure "1rc" | "2rc" | "3rc", optionally "+hysteresis"):
- the capacity, the OCV on a SOC grid (OCV_NODES points over 0..1; the end points fixed at the
  cut-off voltages, which define SOC 0 and 1),
- R0 and each RC pair's R and tau as tables over SOC (``soc_nodes`` points; 1 = a constant),
- with hysteresis: gamma, M and M0 (Plett vol. 1 sec. 3.10, the core's equations),
- with a charge transfer (``charge_transfer``): the Butler-Volmer exchange current I0 of the core's
  overpotential (2RT/F) asinh(I / (2 I0)) in series with R0 (a resistance falling with current), a
  table over SOC like R0,
- per log, two nuisance parameters: the initial SOC and the current sensor's offset.
Resistances, time constants, the capacity and gamma are fitted as logarithms (positive, relative
steps); the OCV and the nuisances as they are. Every evaluation builds the cell as a cell-file dict,
parses it with ``cellfile.parse_cell`` (the file written at the end is that dict) and runs each log
through the core's ``Cell.simulate`` (the whole profile in one C++ call, the same step as the
plant's). The Jacobian is by finite differences over that simulate (scipy's 2-point scheme): the
core's dual-number Jacobians are bound only for the state and two factors, not for the cell's
parameters.

Temperature: logs at several temperatures (their medians more than TEMP_SPAN_K apart) add two
Arrhenius constants, k_r for every resistance (R0, the RC pairs' R) and k_tau for the time
constants: value(SOC, T) = value(SOC) exp(k (1/T - 1/T_ref)), T_ref the logs' median temperature;
the tables then carry a temperature axis (TEMP_STEP_K apart over the logs' span and one step beyond,
so the bilinear interpolation follows the exponential). Each log is simulated at its own
temperature (initial and ambient: the logs are isothermal or climate-chamber runs).

Regularisation across table cells is a Gaussian smoothness prior: neighbouring nodes of a
log-resistance or log-tau table differ by SMOOTH_LOG (1 sigma), the OCV's second difference by
SMOOTH_OCV_V. The covariance is the Laplace (Gauss-Newton) posterior (J'J)^-1 of the stacked data
and prior rows, the data rows weighted with the noise the residuals are worth: their long-run
variance (``model_error.effective_sigma``: mean square times the integrated autocorrelation time,
per log), floored at the nominal voltage noise. Model error is not white: weighting with the
residual RMS alone counted hundreds of correlated rows as independent and made the intervals too
narrow (the design's DFN coverage test, tests/test_design_model_error.py, shows it for the design).

A parameter is flagged unidentifiable when the prior, not the data, sets it (its posterior sigma
grows more than IDENT_GROWTH times when the smoothness prior is made WEAK_PRIOR times weaker;
``data_share`` reports (sigma / sigma_weak)^2) or its posterior sigma is large
(log parameters: > IDENT_SIGMA_LOG; OCV nodes: > IDENT_SIGMA_OCV_V). A structure parameter group
(R0, an RC pair's R or tau, the hysteresis) flagged on every node means the logs do not excite the
structure asked for: the fit refuses unless told to write the cell anyway.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from safetwin._core import ZERO_CELSIUS_K, Cell, CellParams, CellState
from safetwin.calibration.logs import SEGMENT_KINDS, Log
from safetwin.calibration.model_error import effective_sigma
from safetwin.cellfile import parse_cell

OCV_NODES = 51
SMOOTH_LOG = 0.2        # prior sigma of the log-difference of neighbouring table nodes
SMOOTH_OCV_V = 0.02     # prior sigma of the OCV's second difference on its grid
VOLTAGE_SIGMA_V = 0.002  # nominal voltage noise (the residual RMS replaces it when larger)
WEAK_PRIOR = 10.0
IDENT_GROWTH = 3.0
IDENT_SIGMA_LOG = 0.5
IDENT_SIGMA_OCV_V = 0.05
IDENT_SIGMA_ARRHENIUS_K = 1000.0  # an Arrhenius constant known no better than this is not identified
TAU_RANGES_S = {1: [(1.0, 3000.0)], 2: [(0.5, 60.0), (20.0, 3000.0)],
                3: [(0.5, 20.0), (10.0, 300.0), (100.0, 5000.0)]}
TAU_INIT_S = {1: [60.0], 2: [10.0, 200.0], 3: [5.0, 50.0, 500.0]}
R_INIT_OHM = 0.01
MAX_NFEV = 60
TEMP_SPAN_K = 5.0    # logs whose median temperatures span more than this fit the Arrhenius constants
TEMP_STEP_K = 5.0    # temperature spacing of the tables' nodes
# The Butler-Volmer exchange current (--charge-transfer): its chord resistance RT/(F I0) at I -> 0 is
# 257 mOhm at 0.1 A and 0.26 mOhm at 100 A, so this range spans every cell's; the start, 2 A, puts
# 13 mOhm of a cell's ~20 mOhm into the chord.
I0_RANGE_A = (0.1, 100.0)
I0_INIT_A = 2.0


class FitError(ValueError):
    """A fit that cannot be done or would not be honest (the message says why)."""


@dataclass(frozen=True)
class Structure:
    rc_pairs: int
    hysteresis: bool

    @staticmethod
    def parse(text: str) -> Structure:
        base, _, extra = text.strip().lower().partition("+")
        if base not in ("1rc", "2rc", "3rc") or extra not in ("", "hysteresis"):
            raise FitError(f"--structure = {text!r}: must be 1rc, 2rc or 3rc, optionally +hysteresis")
        return Structure(int(base[0]), extra == "hysteresis")

    def __str__(self) -> str:
        return f"{self.rc_pairs}rc" + ("+hysteresis" if self.hysteresis else "")


@dataclass
class Param:
    name: str
    group: str       # capacity, ocv, r0, r1, tau1, ..., hysteresis, soc0, bias
    log: bool        # fitted as a logarithm
    lo: float        # bounds in the fitted (transformed) space
    hi: float
    x0: float


@dataclass
class FitResult:
    structure: Structure
    names: list[str]
    groups: list[str]
    log_scale: list[bool]
    x: np.ndarray                  # fitted values, transformed space
    covariance: np.ndarray         # Laplace posterior, transformed space
    cell_dict: dict                # the cell file as a dict
    cell: CellParams
    residual_rms_v: dict           # per log path
    segment_rms_v: dict            # per segment kind (all logs)
    unidentifiable: list[str]
    correlated: list[tuple[str, str, float]]
    data_share: np.ndarray
    sigma_v: float                 # the data rows' effective noise in the covariance (model error counted)
    iterations: int
    evaluations: int
    wall_s: float
    model_v: list = field(default_factory=list)  # per log, the fitted model's voltage
    residual_tau: float = 1.0      # the residuals' pooled correlation time, rows (1: white)
    at_bound: dict = field(default_factory=dict)  # name -> "lower" | "upper": the bound, not the data, set it

    @property
    def sigma(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))

    def value(self, name: str) -> float:
        k = self.names.index(name)
        return math.exp(self.x[k]) if self.log_scale[k] else float(self.x[k])

    def correlation(self) -> np.ndarray:
        s = self.sigma
        return self.covariance / np.outer(s, s)


class Problem:
    """The parameter layout, the cell it encodes and the stacked residual."""

    def __init__(self, logs: list[Log], structure: Structure, prior: CellParams, prior_dict: dict,
                 soc_nodes: int = 11, ocv_points: list[tuple[float, float]] | None = None,
                 ocv_nodes: int = OCV_NODES, capacity_ah: float | None = None, charge_r0: bool = False,
                 pulse_weight: float = 1.0, ocv_fixed: bool = False, charge_transfer: bool = False):
        if not 1 <= soc_nodes <= 21:
            raise FitError(f"--soc-nodes = {soc_nodes}: must be in 1..21")
        if not 5 <= ocv_nodes <= 201:
            raise FitError(f"--ocv-nodes = {ocv_nodes}: must be in 5..201")
        self.logs = logs
        self.structure = structure
        self.charge_r0 = charge_r0
        self.charge_transfer = charge_transfer
        if not 1.0 <= pulse_weight <= 1000.0:
            raise FitError(f"--pulse-weight = {pulse_weight}: must be in 1..1000")
        # A pulse's rows weigh pulse_weight times a row of the rests around it (1/sqrt in sigma):
        # in an HPPC the rests outnumber the pulses 100 to 1, and their residuals are correlated
        # model error, not independent information; unweighted, the fit trades the pulses' R0 (what
        # a drive cycle's fast response is made of) for the rests' relaxation.
        self.row_scale = [np.where(lg.segments == SEGMENT_KINDS.index("pulse"), math.sqrt(pulse_weight), 1.0)
                          for lg in logs]
        self.prior_dict = prior_dict
        self.ocv_soc = np.linspace(0.0, 1.0, ocv_nodes)
        # SOC 0 and 1 are where the OCV meets the cut-off voltages (as the shipped OCV tables define
        # them): the end nodes are fixed there, which is what makes the capacity identifiable at all
        # (with both ends free, stretching the SOC axis and the OCV together fits the same voltages).
        self.ocv_ends = (prior.limits.voltage_min_v, prior.limits.voltage_max_v)
        self.table_soc = np.linspace(0.0, 1.0, soc_nodes) if soc_nodes > 1 else np.array([0.5])
        temps = np.concatenate([lg.temperature_c[np.isfinite(lg.temperature_c)] for lg in logs])
        self.temp_c = float(np.median(temps)) if temps.size else prior.ambient_temp_k - ZERO_CELSIUS_K
        self.log_temp_c = [float(np.median(lg.temperature_c[np.isfinite(lg.temperature_c)]))
                           if np.isfinite(lg.temperature_c).any() else self.temp_c for lg in logs]
        self.thermal = max(self.log_temp_c) - min(self.log_temp_c) > TEMP_SPAN_K
        if self.thermal:
            lo_c, hi_c = min(self.log_temp_c) - TEMP_STEP_K, max(self.log_temp_c) + TEMP_STEP_K
            self.table_temp_c = np.linspace(lo_c, hi_c, int(math.ceil((hi_c - lo_c) / TEMP_STEP_K)) + 1)
        else:
            self.table_temp_c = np.array([self.temp_c])
        # ocv_fixed: the prior's OCV is taken as known (e.g. from the electrodes' OCPs) and not fitted;
        # on a flat LFP plateau the fitted OCV trades against R0 and the capacity
        self.ocv_fixed = ocv_fixed
        self.ocv_prior = np.array([prior.ocv.voltage_v(float(s)) for s in self.ocv_soc])
        self.params: list[Param] = []
        self._build(prior, ocv_points or [], capacity_ah or prior.capacity_ah)

    # ---- layout -------------------------------------------------------------------------------
    def _add(self, name, group, log, lo, hi, x0):
        x0 = min(max(x0, lo + 1e-9 * (hi - lo)), hi - 1e-9 * (hi - lo))
        self.params.append(Param(name, group, log, lo, hi, x0))

    def _build(self, prior: CellParams, ocv_points, q0: float):
        q = prior.capacity_ah
        self._add("capacity_ah", "capacity", True, math.log(q / 3), math.log(q * 3), math.log(q0))
        ocv0 = np.array([prior.ocv.voltage_v(s) for s in self.ocv_soc])
        if ocv_points:  # rest / low-rate points: the prior's OCV corrected to them where they reach
            pts = sorted(ocv_points)
            s = np.array([p[0] for p in pts])
            d = np.array([p[1] for p in pts]) - np.array([prior.ocv.voltage_v(x) for x in s])
            ocv0 = ocv0 + np.interp(self.ocv_soc, s, d)
        # Inside the ends, the OCV lies between the cut-off voltages (SOC 0 and 1 are defined there,
        # and an OCV rises with SOC): fixed bounds of 2.0..4.6 V let an LFP fit (2.0..3.6 V) put a
        # node the logs do not reach at 4.59 V.
        v_lo, v_hi = self.ocv_ends
        for j, s in enumerate([] if self.ocv_fixed else self.ocv_soc[1:-1], start=1):
            self._add(f"ocv[{s:.3f}]", "ocv", False, v_lo, v_hi, ocv0[j])
        tk = prior.ambient_temp_k
        for s in self.table_soc:
            self._add(f"r0[{s:.2f}]", "r0", True, math.log(1e-4), math.log(1.0), math.log(prior.r0_ohm.at(s, tk)))
        if self.charge_r0:  # the charge side's R0 (the core's r0_charge_ohm, used when I < 0)
            for s in self.table_soc:
                self._add(f"r0c[{s:.2f}]", "r0c", True, math.log(1e-4), math.log(1.0),
                          math.log(prior.r0_ohm.at(s, tk)))
        n = self.structure.rc_pairs
        for i in range(n):
            lo, hi = TAU_RANGES_S[n][i]
            for s in self.table_soc:
                self._add(f"r{i + 1}[{s:.2f}]", f"r{i + 1}", True, math.log(1e-5), math.log(1.0), math.log(R_INIT_OHM))
            for s in self.table_soc:
                self._add(f"tau{i + 1}[{s:.2f}]", f"tau{i + 1}", True, math.log(lo), math.log(hi),
                          math.log(TAU_INIT_S[n][i]))
        if self.charge_transfer:  # Butler-Volmer I0 (the core's exchange_current_a) over SOC, like R0
            for s in self.table_soc:
                self._add(f"i0[{s:.2f}]", "i0", True, math.log(I0_RANGE_A[0]), math.log(I0_RANGE_A[1]),
                          math.log(I0_INIT_A))
        if self.thermal:  # K: R ~ exp(k / T); about E_a / R_gas of the kinetics (Chen2020: 35 kJ/mol, 4200 K)
            self._add("k_r", "arrhenius", False, -2000.0, 10000.0, 2000.0)
            self._add("k_tau", "arrhenius", False, -5000.0, 10000.0, 0.0)
        if self.structure.hysteresis:
            self._add("gamma", "hysteresis", True, math.log(1e-2), math.log(1e4), math.log(50.0))
            self._add("m_v", "hysteresis", False, 0.0, 0.2, 0.01)
            self._add("m0_v", "hysteresis", False, 0.0, 0.1, 0.001)
        for k, lg in enumerate(self.logs):
            # within [0, 1]: the core refuses an initial SOC outside (a log starting rested at the
            # upper cut-off voltage is at SOC 1 by the OCV table's definition)
            self._add(f"soc0[{k}]", "soc0", False, 0.0, 1.0, self._soc0_guess(lg, prior))
            self._add(f"bias_a[{k}]", "bias", False, -0.5, 0.5, 0.0)
        self.index = {p.name: k for k, p in enumerate(self.params)}

    @staticmethod
    def _soc0_guess(lg: Log, prior: CellParams) -> float:
        v = lg.voltage_v[np.isfinite(lg.voltage_v)][0]
        return float(prior.ocv.soc_at_voltage(float(v + prior.r0_ohm.at(0.5, prior.ambient_temp_k) * lg.current_a[0])))

    @property
    def x0(self) -> np.ndarray:
        return np.array([p.x0 for p in self.params])

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return np.array([p.lo for p in self.params]), np.array([p.hi for p in self.params])

    def _group(self, x, group):
        return np.array([x[k] for k, p in enumerate(self.params) if p.group == group])

    # ---- the cell a parameter vector encodes ---------------------------------------------------
    def _table(self, values: np.ndarray, k: float = 0.0):
        if not self.thermal:
            if len(self.table_soc) == 1:
                return float(values[0])
            return {"soc": [float(s) for s in self.table_soc], "temperature_c": [self.temp_c],
                    "values": [[float(v)] for v in values]}
        t_ref = self.temp_c + ZERO_CELSIUS_K
        factor = np.exp(k * (1.0 / (self.table_temp_c + ZERO_CELSIUS_K) - 1.0 / t_ref))
        soc, vals = (self.table_soc, values) if len(self.table_soc) > 1 else (np.array([0.0, 1.0]), np.repeat(values, 2))
        return {"soc": [float(s) for s in soc], "temperature_c": [float(t) for t in self.table_temp_c],
                "values": [[float(v * f) for f in factor] for v in vals]}

    def _k(self, x: np.ndarray, name: str) -> float:
        return float(x[self.index[name]]) if self.thermal else 0.0

    def cell_dict(self, x: np.ndarray, name: str = "fitted cell") -> dict:
        d = {k: dict(v) for k, v in self.prior_dict.items() if k in ("thermal", "limits")}
        d["cell"] = {"name": name, "capacity_ah": float(math.exp(x[self.index["capacity_ah"]])),
                     "coulombic_efficiency": 1.0}
        d["ocv"] = {"soc": [float(s) for s in self.ocv_soc], "voltage_v": self._ocv(x).tolist()}
        pairs = []
        for i in range(self.structure.rc_pairs):
            pairs.append({"r_ohm": self._table(np.exp(self._group(x, f"r{i + 1}")), self._k(x, "k_r")),
                          "tau_s": self._table(np.exp(self._group(x, f"tau{i + 1}")), self._k(x, "k_tau"))})
        # Tables at one temperature hold no temperature dependence; constants get none either
        # (arrhenius_k = 0): the logs' temperature span decides whether that can be fitted.
        d["resistance"] = {"r0_ohm": self._table(np.exp(self._group(x, "r0")), self._k(x, "k_r")),
                           "arrhenius_k": 0.0, "rc_pairs": pairs}
        if self.charge_transfer:  # a conductance-like rate: its temperature factor is the resistances' inverse
            d["resistance"]["exchange_current_a"] = self._table(np.exp(self._group(x, "i0")), -self._k(x, "k_r"))
        if self.charge_r0:
            d["resistance"]["r0_charge_ohm"] = self._table(np.exp(self._group(x, "r0c")), self._k(x, "k_r"))
        if self.structure.hysteresis:
            d["hysteresis"] = {"gamma": float(math.exp(x[self.index["gamma"]])), "m_v": float(x[self.index["m_v"]]),
                               "m0_v": float(x[self.index["m0_v"]])}
        return d

    def _ocv(self, x: np.ndarray) -> np.ndarray:
        if self.ocv_fixed:
            return self.ocv_prior
        return np.concatenate(([self.ocv_ends[0]], self._group(x, "ocv"), [self.ocv_ends[1]]))

    def cell(self, x: np.ndarray) -> CellParams:
        return parse_cell(self.cell_dict(x), "<fit>")[1]

    # ---- simulate and residuals ----------------------------------------------------------------
    def simulate(self, x: np.ndarray, cell: CellParams | None = None) -> list[np.ndarray]:
        cell = cell or self.cell(x)
        out = []
        ambient = cell.ambient_temp_k
        for k, lg in enumerate(self.logs):
            soc0 = float(x[self.index[f"soc0[{k}]"]])
            bias = float(x[self.index[f"bias_a[{k}]"]])
            temps = lg.temperature_c[np.isfinite(lg.temperature_c)]
            t0 = (float(temps[0]) if temps.size else self.temp_c) + ZERO_CELSIUS_K
            if self.thermal:  # each log at its own temperature (chamber): its ambient too
                cell.ambient_temp_k = self.log_temp_c[k] + ZERO_CELSIUS_K
            else:
                cell.ambient_temp_k = ambient
            sim = Cell(cell, CellState(soc=soc0, temp_k=t0))
            out.append(sim.simulate(np.ascontiguousarray(lg.current_a - bias), lg.dt_s)["cell_voltage_v"][:, 0])
        cell.ambient_temp_k = ambient
        return out

    def data_residual(self, x: np.ndarray, sigma_v: float = VOLTAGE_SIGMA_V) -> np.ndarray:
        parts = []
        for lg, v, w in zip(self.logs, self.simulate(x), self.row_scale):
            ok = np.isfinite(lg.voltage_v)
            parts.append(w[ok] * (v[ok] - lg.voltage_v[ok]) / sigma_v)
        return np.concatenate(parts)

    def table_groups(self) -> list[str]:
        """The groups that are tables over SOC (the structure's resistances and time constants)."""
        return ["r0"] + (["r0c"] if self.charge_r0 else []) + (["i0"] if self.charge_transfer else []) + \
            [f"{a}{i + 1}" for i in range(self.structure.rc_pairs) for a in ("r", "tau")]

    def prior_residual(self, x: np.ndarray) -> np.ndarray:
        rows = []
        rows.append(np.diff(self._ocv(x), 2) / SMOOTH_OCV_V)
        if len(self.table_soc) > 1:
            for g in self.table_groups():
                rows.append(np.diff(self._group(x, g)) / SMOOTH_LOG)
        return np.concatenate(rows)

    def residual(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate((self.data_residual(x), self.prior_residual(x)))


def _rest_rows(lg: Log) -> list[int]:
    """The last row of every rest of 5 min or more."""
    rest = SEGMENT_KINDS.index("rest")
    is_rest = lg.segments == rest
    rows, k = [], 0
    while k < len(is_rest):
        if is_rest[k]:
            j = k
            while j + 1 < len(is_rest) and is_rest[j + 1]:
                j += 1
            if (j - k + 1) * lg.dt_s >= 300.0 and np.isfinite(lg.voltage_v[j]):
                rows.append(j)
            k = j + 1
        else:
            k += 1
    return rows


def capacity_from_rests(logs: list[Log], prior: CellParams) -> float | None:
    """The capacity as the charge drawn between rested voltages over their SOC change through the
    prior's OCV (a least-squares slope per log, pooled); None without two rests 0.2 SOC apart."""
    num = den = 0.0
    for lg in logs:
        rows = _rest_rows(lg)
        if len(rows) < 2:
            continue
        ah = np.concatenate(([0.0], np.cumsum(lg.current_a[:-1]))) * lg.dt_s / 3600.0
        soc = np.array([prior.ocv.soc_at_voltage(float(lg.voltage_v[j])) for j in rows])
        drawn = ah[rows]
        if np.ptp(soc) < 0.2:
            continue
        ds, da = soc - soc.mean(), drawn - drawn.mean()
        num += float(-(ds * da).sum())
        den += float((ds * ds).sum())
    return num / den if den > 0 and num > 0 else None


def rest_ocv_points(logs: list[Log], prior: CellParams, low_rate: list[Log] = (),
                    capacity_ah: float | None = None) -> list[tuple[float, float]]:
    """(SOC, OCV) points for the initial OCV: the last row of every rest of 5 min or more (and every
    row of a low-rate log, corrected by the prior's R0), SOC by coulomb counting (over capacity_ah,
    by default the prior's) from the log's first voltage through the prior's OCV."""
    pts = []
    q = capacity_ah or prior.capacity_ah
    r0 = prior.r0_ohm.at(0.5, prior.ambient_temp_k)
    for lg in list(logs) + list(low_rate):
        soc0 = Problem._soc0_guess(lg, prior)
        soc = soc0 - np.concatenate(([0.0], np.cumsum(lg.current_a[:-1]))) * lg.dt_s / (3600.0 * q)
        if lg in low_rate:
            step = max(1, len(lg.t_s) // 200)
            pts += [(float(soc[k]), float(lg.voltage_v[k] + r0 * lg.current_a[k]))
                    for k in range(0, len(soc), step) if np.isfinite(lg.voltage_v[k])]
            continue
        pts += [(float(soc[j]), float(lg.voltage_v[j])) for j in _rest_rows(lg)]
    return pts


def fit(problem: Problem, force: bool = False, max_nfev: int = MAX_NFEV) -> FitResult:
    start = time.perf_counter()
    lo, hi = problem.bounds
    sol = least_squares(problem.residual, problem.x0, jac="2-point", bounds=(lo, hi), x_scale="jac",
                        method="trf", max_nfev=max_nfev, xtol=1e-8, ftol=1e-9)
    x = sol.x
    n_data = sum(int(np.isfinite(lg.voltage_v).sum()) for lg in problem.logs)
    j_data, j_prior = sol.jac[:n_data], sol.jac[n_data:]
    model = problem.simulate(x)
    per_log, resid_all, kinds_all = {}, [], []
    for lg, v in zip(problem.logs, model):
        ok = np.isfinite(lg.voltage_v)
        r = v[ok] - lg.voltage_v[ok]
        per_log[lg.path] = float(np.sqrt(np.mean(r ** 2)))
        resid_all.append(r)
        kinds_all.append(lg.segments[ok])
    resid_per_log = list(resid_all)
    resid_all = np.concatenate(resid_all)
    kinds_all = np.concatenate(kinds_all)
    segment_rms = {kind: float(np.sqrt(np.mean(resid_all[kinds_all == k] ** 2)))
                   for k, kind in enumerate(SEGMENT_KINDS) if np.any(kinds_all == k)}
    rms = float(np.sqrt(np.mean(resid_all ** 2)))
    # What the data excite is judged with the rows weighted by the residual RMS (as independent
    # rows, the question being which directions the profile moves at all); the covariance written
    # counts the rows' correlation too (model error): the same Gauss-Newton matrix at sigma_eff.
    sigma_v, tau, _ = effective_sigma(resid_per_log, VOLTAGE_SIGMA_V)
    j_data = j_data * (VOLTAGE_SIGMA_V / max(VOLTAGE_SIGMA_V, rms))
    h = j_data.T @ j_data + j_prior.T @ j_prior
    w, vec = np.linalg.eigh(h)
    w_floor = max(w.max() * 1e-14, 1e-300)
    sig = np.sqrt(np.diag((vec / np.maximum(w, w_floor)) @ vec.T))
    j_eff = j_data * (max(VOLTAGE_SIGMA_V, rms) / sigma_v)
    we, vece = np.linalg.eigh(j_eff.T @ j_eff + j_prior.T @ j_prior)
    cov = (vece / np.maximum(we, max(we.max() * 1e-14, 1e-300))) @ vece.T
    # What the data fix and what the prior fixes: the posterior sigma with the smoothness prior
    # weakened WEAK_PRIOR times; a parameter whose sigma then grows by more than IDENT_GROWTH is
    # set by the prior (through a direction the data cannot see), not by the data.
    hw = j_data.T @ j_data + j_prior.T @ j_prior / WEAK_PRIOR ** 2
    w2, vec2 = np.linalg.eigh(hw)
    sig_weak = np.sqrt(np.maximum(np.einsum("ij,j,ij->i", vec2, 1.0 / np.maximum(w2, w_floor), vec2), 0.0))
    share = np.clip(sig / np.maximum(sig_weak, 1e-300), 0.0, 1.0) ** 2  # 1: all from the data
    names = [p.name for p in problem.params]
    flagged = []
    for k, p in enumerate(problem.params):
        if p.group in ("soc0", "bias"):
            continue
        limit = {"ocv": IDENT_SIGMA_OCV_V, "arrhenius": IDENT_SIGMA_ARRHENIUS_K}.get(
            p.group, IDENT_SIGMA_LOG if p.log else 0.05)
        if sig_weak[k] > IDENT_GROWTH * sig[k] or sig[k] > limit:
            flagged.append(p.name)
    at_bound = parameters_at_bounds(problem, x)
    sig_cov = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sig_cov, sig_cov)
    correlated = []
    structural = [k for k, p in enumerate(problem.params) if p.group not in ("ocv", "soc0", "bias")]
    for a_i, a in enumerate(structural):
        for b in structural[a_i + 1:]:
            if abs(corr[a, b]) > 0.99:
                correlated.append((names[a], names[b], float(corr[a, b])))
    groups = [p.group for p in problem.params]
    dead = []
    for g in problem.table_groups() + (["hysteresis"] if problem.structure.hysteresis else []):
        members = [names[k] for k in range(len(names)) if groups[k] == g]
        if members and all(m in flagged for m in members):
            dead.append(g)
    if dead and not force:
        raise FitError(f"too little excitation for --structure {problem.structure}: the logs cannot identify "
                       f"{', '.join(dead)} (unidentifiable: {', '.join(n for n in flagged if groups[names.index(n)] in dead)}); "
                       "add pulses/rests that excite them, choose a smaller structure, or --force to write it anyway")
    cell_dict = problem.cell_dict(x)
    return FitResult(problem.structure, names, groups, [p.log for p in problem.params], x, cov, cell_dict,
                     parse_cell(cell_dict, "<fit>")[1], per_log, segment_rms, flagged, correlated, share, sigma_v,
                     int(sol.nfev), int(sol.nfev + (sol.njev or 0) * len(x)), time.perf_counter() - start, model,
                     tau, at_bound)


def parameters_at_bounds(problem: Problem, x: np.ndarray, rel: float = 1e-6) -> dict:
    """The parameters the optimiser left on a bound of their box (within rel of its width): there the
    data would have moved them further, so the value is the bound's and its Laplace interval (a
    Gaussian around an interior optimum) does not hold. Named so that a user widens the bound or
    reads the value as a limit, not as a fit (an exchange current on its 0.1 A floor at SOC 0)."""
    out = {}
    for k, p in enumerate(problem.params):
        width = p.hi - p.lo
        tol = rel * width if math.isfinite(width) else rel * max(1.0, abs(x[k]))
        if math.isfinite(p.lo) and x[k] - p.lo <= tol:
            out[p.name] = "lower"
        elif math.isfinite(p.hi) and p.hi - x[k] <= tol:
            out[p.name] = "upper"
    return out
