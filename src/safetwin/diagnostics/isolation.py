"""Offline fault isolation on a pack log: which fault, where, how large, and when it was seen.

A pack log has one measured current (the series string's; per cell: divided by the parallel count),
and per series group two redundant voltage readings (nodes a and b) and one temperature. Faults
are told apart by what each one changes, in this order:

- ``sensor`` (bias, stuck, drift, noise on one node): the two nodes of a group disagree
  (their difference leaves its baseline in mean or variance) while a battery fault moves both
  alike. The node blamed is the one whose reading departed further from the rest of the pack
  (the reasoning of ``trust/node_attribution.hpp``); the battery detectors then read the other node.
- ``connection_resistance`` (a loose busbar, +5-20 mOhm on one cell): the group's voltage against
  the median of the other groups, regressed on the current over a sliding window, has a slope
  -(R_g - R_others); a step up of that resistance from its baseline (the first ``baseline_s``).
  The other groups are the reference, so the twin's model error and the shared current cancel.
- ``internal_short`` (a leak resistance, <= 100 Ohm) and ``cooling_loss`` (the heat-transfer
  coefficient dropping): the heat balance (``_heat``). The lumped thermal model of each group,
  C dT/dt = a I^2 R + P - h (T - T_amb), is fitted over a sliding window in integral form; P is
  heat the current does not explain (a leak's V^2 / R_leak, there at rest too), h the heat
  transfer, a the scale of the twin's Joule heat (which is not the cell's). Against the median of
  the other groups, the leak heat P_g - median P and the ratio h_g / median h. Both faults keep
  their cell warm, but a leak heats at any temperature and a lost cooling lets less heat out of a
  warm cell, so the fit tells them apart: a 100 Ohm leak (0.14 W, 37 mA) is some 15 standard
  errors of P, while the charge balance had a nominal spread of +-56 mA in leak current. The
  charge balance (each group's twin SOC against the coulomb count, ``_short``) stays beside it as
  a cross-check of the leak current (``charge_balance_leak_current_a``).

Each detector's statistic is a number that grows with the fault; its threshold is the (1 - alpha)
quantile of the statistic's maximum over nominal runs (``calibrate_thresholds``), the same rule as
the anomaly score's. The verdict of a log follows the order of ``isolate`` (sensor, then the
electrical detectors by statistic / threshold, then cooling), at the group where it fired.
Estimates carry a 95 % interval from the window's regression with the residuals' lag-1
autocorrelation taken into account (AR(1) variance inflation) and the nominal runs' spread; the
leak's and the heat transfer's are calibrated on faulty runs instead where the thresholds carry
that calibration (``fault_campaign.size_interval_calibration``: the fit's error is mostly bias, a
leak's heat comes out some 25 % low). The detection time is the end of the first window over the threshold, as an online detector
running these windows would raise it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.integrate import cumulative_trapezoid

from safetwin import estimation
from safetwin.battery import CellParams

FAULT_CLASSES = ("nominal", "internal_short", "connection_resistance", "sensor", "cooling_loss")
DETECTORS = FAULT_CLASSES[1:]
Z95 = 1.959963984540054
REF_TEMP_K = 298.15


@dataclass(frozen=True)
class IsolationSettings:
    baseline_s: float = 600.0          # the healthy start every step detector compares with
    sensor_window_s: float = 60.0
    resistance_window_s: float = 300.0
    short_window_s: float = 1200.0
    cooling_window_s: float = 600.0    # one cell's heat balance (single_cell)
    heat_window_s: float = 1800.0      # the pack's heat-balance regression (internal short, cooling loss)
    step_s: float = 60.0               # windows end every step_s (the online check's period)
    cooling_min_rise_k: float = 0.5    # a window whose mean T - T_amb is below this says nothing on h

    def __post_init__(self):
        for name in ("baseline_s", "sensor_window_s", "resistance_window_s", "short_window_s", "cooling_window_s",
                     "heat_window_s", "step_s", "cooling_min_rise_k"):
            v = getattr(self, name)
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"IsolationSettings.{name} = {v!r}: must be finite and > 0")


def _windows(n: int, dt_s: float, window_s: float, step_s: float, start: int = 0):
    """(begin, end) sample ranges of the sliding windows ending every step_s."""
    w = min(n, max(2, int(round(window_s / dt_s))))
    s = max(1, int(round(step_s / dt_s)))
    ends = np.arange(start + w, n + 1, s)
    return [(e - w, e) for e in ends]


def _ols(x: np.ndarray, y: np.ndarray):
    """Least squares of y on x (columns): coefficients and their standard errors, the residuals'
    variance inflated by (1 + rho) / (1 - rho) for their lag-1 autocorrelation rho (AR(1))."""
    ok = np.all(np.isfinite(x), axis=1) & np.isfinite(y)
    x, y = x[ok], y[ok]
    n, p = x.shape
    if n <= p + 2:
        return None
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    r = y - x @ beta
    s2 = float(r @ r) / (n - p)
    rho = float(np.clip(np.corrcoef(r[:-1], r[1:])[0, 1], 0.0, 0.99)) if n > 3 and np.std(r) > 0 else 0.0
    xtx = x.T @ x
    if np.linalg.cond(xtx) > 1e12:
        return None
    cov = np.linalg.inv(xtx) * s2 * (1.0 + rho) / (1.0 - rho)
    return beta, np.sqrt(np.maximum(np.diag(cov), 0.0))


def _others_median(v: np.ndarray) -> np.ndarray:
    """Per group g, the median over the other groups (n, S)."""
    n, s = v.shape
    out = np.empty_like(v)
    for g in range(s):
        out[:, g] = np.median(np.delete(v, g, axis=1), axis=1)
    return out


def _sensor(t, va, vb, st: IsolationSettings, dt):
    """Per group: the node-disagreement statistic per window, the blamed node and its estimate."""
    n, s = va.shape
    base = t - t[0] < st.baseline_s
    d = va - vb
    ea, eb = va - _others_median(va), vb - _others_median(vb)
    wins = _windows(n, dt, st.sensor_window_s, st.step_s, start=int(base.sum()))
    out = []
    for g in range(s):
        mu0, sd0 = float(np.mean(d[base, g])), float(np.std(d[base, g], ddof=1))
        sd0 = max(sd0, 1e-6)
        stat, ends = np.zeros(len(wins)), np.zeros(len(wins))
        for i, (a, b) in enumerate(wins):
            w = d[a:b, g]
            z_mean = abs(np.mean(w) - mu0) / (sd0 / np.sqrt(b - a))
            z_var = (np.var(w, ddof=1) / sd0**2 - 1.0) * np.sqrt((b - a - 1) / 2.0)
            stat[i], ends[i] = max(z_mean, z_var), t[b - 1]
        # Blame: the node whose departure from the rest of the pack changed more after the baseline
        # (in mean, and in the spread of its sample-to-sample steps: noise and stuck readings).
        late = ~base
        change = []
        for e in (ea[:, g], eb[:, g]):
            de = np.diff(e)
            step_sd0, step_sd1 = np.std(de[base[1:]]), np.std(de[late[1:]]) if late.sum() > 2 else 0.0
            change.append(abs(np.mean(e[late]) - np.mean(e[base])) if late.any() else 0.0)
            change[-1] += abs(step_sd1 - step_sd0)
        node = 0 if change[0] >= change[1] else 1
        out.append({"stat": stat, "t_end": ends, "node": node, "mu0": mu0, "sd0": sd0})
    return out


def _sensor_estimate(t, va, vb, g, node, t_detect, sd0, mu0):
    """What the blamed node does after detection: offset (mean of the disagreement), drift (its
    slope), noise (spread ratio) or stuck (no sample-to-sample change)."""
    sel = t >= t_detect
    d = (va[:, g] - vb[:, g]) * (1.0 if node == 0 else -1.0)
    reading = va[:, g] if node == 0 else vb[:, g]
    after = d[sel] - (mu0 if node == 0 else -mu0)
    if after.size < 4:
        return {"kind": "unknown"}, None
    steps = np.diff(reading[sel])
    if np.all(steps == 0.0):
        return {"kind": "stuck", "value_v": float(reading[sel][0])}, None
    ratio = float(np.std(after) / sd0)
    fit = _ols(np.column_stack([np.ones(after.size), t[sel] - t[sel][0]]), after)
    if fit is not None and abs(fit[0][1]) > 4 * fit[1][1] and abs(fit[0][1]) * (t[sel][-1] - t[sel][0]) > 3 * sd0:
        b, se = fit
        return {"kind": "drift", "drift_v_per_s": float(b[1])}, [float(b[1] - Z95 * se[1]), float(b[1] + Z95 * se[1])]
    m, se = float(np.mean(after)), float(np.std(after, ddof=1) / np.sqrt(after.size))
    if ratio > 2.0 and abs(m) < 3 * sd0:
        return {"kind": "noise", "noise_ratio": ratio}, None
    return {"kind": "offset", "offset_v": m}, [m - Z95 * se, m + Z95 * se]


def _resistance(t, v, i_cell, st, dt, parallel):
    """Per group: the step of its series resistance (ohm, per cell branch) against the other groups."""
    n, s = v.shape
    r = v - _others_median(v)
    base = t - t[0] < st.baseline_s
    wins = _windows(n, dt, st.resistance_window_s, st.step_s, start=int(base.sum()))
    out = []
    for g in range(s):
        fit0 = _ols(np.column_stack([np.ones(base.sum()), i_cell[base]]), r[base, g])
        stat, est, se_, ends = (np.full(len(wins), np.nan) for _ in range(4))
        for k, (a, b) in enumerate(wins):
            ends[k] = t[b - 1]
            fit = _ols(np.column_stack([np.ones(b - a), i_cell[a:b]]), r[a:b, g])
            if fit is None or fit0 is None:
                continue
            # slope = -(R_g - R_others) in V per cell-ampere; a step up makes it more negative.
            dr = -(fit[0][1] - fit0[0][1])
            se = float(np.hypot(fit[1][1], fit0[1][1]))
            est[k], se_[k], stat[k] = dr, se, dr / se
        out.append({"stat": np.nan_to_num(stat, nan=0.0), "t_end": ends, "estimate": est, "se": se_})
    return out


def _twin_soc(t, i_cell, v, temp_k, cell: CellParams):
    """Each group's SOC from its own twin (the core's EKF, one C++ call per group)."""
    n, s = v.shape
    soc = np.empty((n, s))
    for g in range(s):
        ok = np.flatnonzero(np.isfinite(v[:, g]) & (np.abs(i_cell) < 0.05 * cell.capacity_ah))
        v0 = float(v[ok[0], g]) if ok.size else float(v[0, g])
        cfg = estimation.make_config(cell=cell, soc0=float(np.clip(estimation.soc_from_rested_voltage(v0, cell), 0, 1)),
                                     temp0_k=float(temp_k[0, g]))
        soc[:, g] = estimation.run(t, i_cell, voltage_a_v=v[:, g], temperature_k=temp_k[:, g], config=cfg)["soc"]
    return soc


def _short(t, i_cell, soc, st, dt, cell: CellParams):
    """Per group: the leak current (A) from the charge balance against the other groups."""
    n, s = soc.shape
    q_as = cell.capacity_ah * 3600.0
    steps = np.concatenate(([0.0], np.diff(t)))
    charge_as = np.cumsum(i_cell * steps)                     # discharged charge
    balance = q_as * (soc[0][None, :] - soc) - charge_as[:, None]  # A s lost beyond the coulomb count
    rel = balance - _others_median(balance)
    throughput = np.cumsum(np.abs(i_cell) * steps)
    wins = _windows(n, dt, st.short_window_s, st.step_s)
    out = []
    for g in range(s):
        stat, est, se_, ends = (np.full(len(wins), np.nan) for _ in range(4))
        for k, (a, b) in enumerate(wins):
            ends[k] = t[b - 1]
            tt = t[a:b] - t[a]
            x = np.column_stack([np.ones(b - a), tt, i_cell[a:b], charge_as[a:b] - charge_as[a], throughput[a:b] - throughput[a]])
            fit = _ols(x, rel[a:b, g])
            if fit is None:
                continue
            est[k], se_[k] = fit[0][1], fit[1][1]
            stat[k] = fit[0][1] / fit[1][1]
        out.append({"stat": np.nan_to_num(stat, nan=0.0), "t_end": ends, "estimate": est, "se": se_})
    return out


def _cooling(t, i_cell, temp_k, st, dt, cell: CellParams, ambient_k: float):
    """Per group: the heat-transfer factor (estimate / the twin's) over sliding windows.
    One cell's log (``single_cell``); a pack log is read by the fit of ``_heat``."""
    n, s = temp_k.shape
    r_tot = sum(getattr(cell, f).at(0.5, REF_TEMP_K) for f in ("r0_ohm", "r1_ohm", "r2_ohm"))
    steps = np.concatenate(([0.0], np.diff(t)))
    wins = _windows(n, dt, st.cooling_window_s, st.step_s)
    h_twin, c = cell.heat_transfer_w_per_k, cell.heat_capacity_j_per_k
    out = []
    for g in range(s):
        q = i_cell**2 * r_tot
        heat_j = np.cumsum(q * steps)
        rise = temp_k[:, g] - ambient_k
        rise_ks = np.cumsum(rise * steps)
        stat, est, se_, ends = (np.full(len(wins), np.nan) for _ in range(4))
        for k, (a, b) in enumerate(wins):
            ends[k] = t[b - 1]
            b1 = b - 1
            denom = rise_ks[b1] - rise_ks[a]
            span = t[b1] - t[a]
            if not denom > st.cooling_min_rise_k * span:
                continue
            # Ends as means of 10 samples: the sensor noise on T_end - T_start stays small.
            m = max(1, min(10, (b - a) // 4))
            dT = np.mean(temp_k[b - m:b, g]) - np.mean(temp_k[a:a + m, g])
            h = (heat_j[b1] - heat_j[a] - c * dT) / denom
            f = h / h_twin
            # Spread of f from the temperature noise (the ends) and the heat model (10 % on R).
            noise = np.std(np.diff(temp_k[a:b, g])) / np.sqrt(2 * m)
            sf = np.hypot(c * noise * np.sqrt(2) / denom, 0.1 * (heat_j[b1] - heat_j[a]) / denom) / h_twin
            est[k], se_[k], stat[k] = f, sf, 1.0 - f
        out.append({"stat": np.nan_to_num(stat, nan=-np.inf), "t_end": ends, "estimate": est, "se": se_})
    return out


def _heat(t, i_cell, temp_k, st, dt, cell: CellParams, ambient_k: float):
    """Per group, over sliding windows: the lumped heat balance C dT/dt = a I^2 R + P - h (T - T_amb)
    fitted in integral form (no derivative of the noisy temperature),

        C T(t) = c0 + a Q(t) + P (t - t_a) - h S(t),   Q = int I^2 R dt,  S = int (T - T_amb) dt,

    by least squares over the window's samples. a absorbs the twin's Joule-heat error (its I^2 R is
    not the cell's), P is heat the current does not explain (a leak's V^2 / R_leak, at rest too),
    h the heat transfer. Each group is taken against the median of the other groups, so the common
    model error cancels: ``internal_short`` is the leak heat P_g - median(P_others) over its standard
    error, ``cooling_loss`` the heat-transfer ratio h_g / median(h_others) (statistic 1 - ratio).
    A cooling loss and a leak both keep a cell warm; the fit tells them apart, since a leak's heat
    is there at any temperature and a lost cooling is heat not leaving a warm cell."""
    n, s = temp_k.shape
    r_tot = sum(getattr(cell, f).at(0.5, REF_TEMP_K) for f in ("r0_ohm", "r1_ohm", "r2_ohm"))
    c = cell.heat_capacity_j_per_k
    q = cumulative_trapezoid(i_cell**2 * r_tot, t, initial=0.0)
    wins = _windows(n, dt, st.heat_window_s, st.step_s)
    m = len(wins)
    p, p_se, h, h_se = (np.full((m, s), np.nan) for _ in range(4))
    for g in range(s):
        rise = cumulative_trapezoid(temp_k[:, g] - ambient_k, t, initial=0.0)
        for k, (a, b) in enumerate(wins):
            x = np.column_stack([np.ones(b - a), q[a:b] - q[a], t[a:b] - t[a], -(rise[a:b] - rise[a])])
            fit = _ols(x, c * temp_k[a:b, g])
            if fit is not None:
                p[k, g], p_se[k, g], h[k, g], h_se[k, g] = fit[0][2], fit[1][2], fit[0][3], fit[1][3]
    ends = np.array([t[b - 1] for _, b in wins])
    short, cool = [], []
    for g in range(s):
        others = np.delete(np.arange(s), g)
        p_ref, h_ref = np.median(p[:, others], axis=1), np.median(h[:, others], axis=1)
        dp = p[:, g] - p_ref
        dp_se = np.hypot(p_se[:, g], np.median(p_se[:, others], axis=1))
        ratio = h[:, g] / h_ref
        ratio_se = np.abs(ratio) * np.hypot(h_se[:, g] / h[:, g], np.median(h_se[:, others], axis=1) / h_ref)
        ok = np.isfinite(dp) & (dp_se > 0)
        short.append({"stat": np.where(ok, dp / np.where(ok, dp_se, 1.0), 0.0), "t_end": ends, "estimate": dp,
                      "se": dp_se})
        okh = np.isfinite(ratio) & (h_ref > 0)
        cool.append({"stat": np.where(okh, 1.0 - ratio, -np.inf), "t_end": ends, "estimate": ratio, "se": ratio_se})
    return short, cool


def statistics(log: dict, cell: CellParams | None = None, settings: IsolationSettings = IsolationSettings()) -> dict:
    """Every detector's windowed statistic per group. ``log``: ``t_s`` (n,), ``current_a`` (n,, the
    pack's measured current, > 0 discharges), ``voltage_a_v`` and ``temperature_k`` (n, series),
    optional ``voltage_b_v`` (n, series), ``parallel`` (default 1), ``ambient_k``."""
    cell = cell or CellParams.ref_cell_1()
    t = np.asarray(log["t_s"], dtype=float)
    va = np.atleast_2d(np.asarray(log["voltage_a_v"], dtype=float).T).T
    n, s = va.shape
    if t.shape != (n,) or not np.all(np.diff(t) > 0):
        raise ValueError(f"t_s: {t.shape[0]} samples strictly increasing needed (voltage_a_v has {n})")
    if s < 3:
        raise ValueError(f"voltage_a_v: {s} series groups; isolation compares each group with the others' "
                         "median and needs >= 3")
    vb = log.get("voltage_b_v")
    vb = None if vb is None else np.atleast_2d(np.asarray(vb, dtype=float).T).T
    temp = np.atleast_2d(np.asarray(log["temperature_k"], dtype=float).T).T
    parallel = int(log.get("parallel", 1))
    i_cell = np.asarray(log["current_a"], dtype=float) / parallel
    ambient = float(log.get("ambient_k", cell.ambient_temp_k))
    dt = float(np.median(np.diff(t)))
    out = {"t_s": t, "groups": s}
    v = va.copy()
    if vb is not None:
        sens = _sensor(t, va, vb, settings, dt)
        out["sensor"] = sens
        v = 0.5 * (va + vb)
        out["_vb"] = vb
    out["_va"], out["_v"], out["_temp"], out["_i_cell"], out["_cell"] = va, v, temp, i_cell, cell
    out["_settings"], out["_dt"], out["_ambient"], out["_parallel"] = settings, dt, ambient, parallel
    return out


def _battery_statistics(out: dict, v: np.ndarray) -> None:
    t, st, dt, cell = out["t_s"], out["_settings"], out["_dt"], out["_cell"]
    i_cell, temp = out["_i_cell"], out["_temp"]
    out["connection_resistance"] = _resistance(t, v, i_cell, st, dt, out["_parallel"])
    soc = _twin_soc(t, i_cell, v, temp, cell)
    out["_charge_balance"] = _short(t, i_cell, soc, st, dt, cell)
    out["internal_short"], out["cooling_loss"] = _heat(t, i_cell, temp, st, dt, cell, out["_ambient"])


def run_statistics(log: dict, cell: CellParams | None = None, settings: IsolationSettings = IsolationSettings(),
                   sensor_thresholds: float | None = None) -> dict:
    """``statistics`` plus the battery detectors, which read a group's node b alone where node a
    was found faulty (and node a where b was) at ``sensor_thresholds`` (None: both nodes' mean)."""
    out = statistics(log, cell, settings)
    v = out["_v"].copy()
    if "sensor" in out and sensor_thresholds is not None:
        for g, sg in enumerate(out["sensor"]):
            if sg["stat"].size and sg["stat"].max() > sensor_thresholds:
                v[:, g] = out["_vb"][:, g] if sg["node"] == 0 else out["_va"][:, g]
    _battery_statistics(out, v)
    return out


def run_maxima(stats: dict) -> dict:
    """The per-run calibration sample: each detector's largest statistic over windows and groups;
    and the size estimates' model error in a nominal run, where the truth is known to be nil:
    ``<kind>:spread95``, the 95th percentile over windows and groups of |estimate| (a leak current,
    a resistance step) or of |f / median f - 1| (the heat-transfer factor); ``cooling_loss:scale``,
    the median heat-transfer factor (the twin's I^2 R heat is not the cell's, so f of a nominal
    cell is not 1)."""
    out = {k: max((float(np.max(g["stat"])) if g["stat"].size else -np.inf) for g in stats[k])
           for k in DETECTORS if k in stats}
    for k in ("internal_short", "connection_resistance"):
        e = np.concatenate([g["estimate"] for g in stats[k]])
        e = e[np.isfinite(e)]
        if e.size:
            out[f"{k}:spread95"] = float(np.percentile(np.abs(e), 95))
    f = np.concatenate([g["estimate"] for g in stats["cooling_loss"]])
    f = f[np.isfinite(f)]
    if f.size:
        scale = float(np.median(f))
        out["cooling_loss:scale"] = scale
        out["cooling_loss:spread95"] = float(np.percentile(np.abs(f / scale - 1.0), 95))
    return out


def calibrate_thresholds(nominal_maxima: list, alpha_per_run: float) -> dict:
    """Per detector: the (1 - alpha) quantile (the next order statistic up) of its per-run maxima
    over nominal runs; alpha is a false-alarm probability per run and detector. The model-error
    entries of ``run_maxima`` (names with a colon) are the median over the runs."""
    if not nominal_maxima:
        raise ValueError("nominal_maxima: no nominal runs")
    n = len(nominal_maxima)
    if not (0 < alpha_per_run < 1) or alpha_per_run * n < 1:
        raise ValueError(f"alpha_per_run = {alpha_per_run!r}: must be in (0, 1) with at least one exceedance "
                         f"expected over the {n} nominal runs (alpha >= {1 / n:.3g})")
    out = {}
    for k in nominal_maxima[0]:
        values = [m[k] for m in nominal_maxima if k in m]
        out[k] = float(np.median(values)) if ":" in k else float(np.quantile(values, 1.0 - alpha_per_run,
                                                                              method="higher"))
    return out


def isolate(log: dict, thresholds: dict, cell: CellParams | None = None,
            settings: IsolationSettings = IsolationSettings()) -> dict:
    """The verdict on one pack log: ``fault`` (one of FAULT_CLASSES), ``group`` (or None) and
    ``faults``, per class: detected, group, time_s (first window over the threshold), estimate,
    ci95, statistic, threshold.

    Which fault when several detectors fire: a voltage-sensor detection first (a battery detector
    reading a broken node is no evidence); then the larger statistic / threshold of the internal
    short and the connection resistance, whose statistics are electrical (a resistance's I^2 dR
    heat shows a little in the leak heat, its voltage far more); cooling loss when neither fired,
    or when the short's group has its heat transfer below the cooling threshold in the last window
    (``_cooling_explains_heat``), or when an electrical fault fired in one group while another's
    heat transfer is still below it (``_cooling_elsewhere``).
    """
    stats = run_statistics(log, cell, settings, thresholds.get("sensor"))
    faults = {}
    for k in DETECTORS:
        if k not in stats:
            faults[k] = _not_evaluated("needs the redundant voltage node (voltage_b_v)")
            continue
        faults[k] = _detect(k, stats, stats[k], thresholds[k], thresholds)
    if faults["sensor"].get("detected"):
        best = "sensor"
    else:
        ratios = {k: _exceedance(faults[k]["statistic"], faults[k]["threshold"])
                  for k in ("internal_short", "connection_resistance") if faults[k].get("detected")}
        best = max(ratios, key=ratios.get) if ratios else ("cooling_loss" if faults["cooling_loss"].get("detected")
                                                            else "nominal")
        if best == "internal_short" and _cooling_explains_heat(stats, faults, thresholds):
            best = "cooling_loss"
        elif best != "nominal" and best != "cooling_loss" and _cooling_elsewhere(stats, faults[best]["group"], thresholds):
            best = "cooling_loss"
    return {"fault": best, "group": faults[best]["group"] if best != "nominal" else None, "faults": faults}


def _cooling_explains_heat(stats: dict, faults: dict, thresholds: dict) -> bool:
    """A short's heat in a group whose heat transfer is below the cooling threshold in the last
    window (the fault present throughout): the fit gave part of a lost cooling's heat to P (the two
    are near collinear while the cell sits warm), so the cooling loss is the verdict. (Windows
    straddling a leak's onset show a transient drop of the ratio; the last window does not.)"""
    g = faults["internal_short"]["group"]
    cool = stats["cooling_loss"][g]["stat"]
    return bool(cool.size and cool[-1] > thresholds["cooling_loss"])


def _cooling_elsewhere(stats: dict, group: int, thresholds: dict) -> bool:
    """An electrical detection in one group while another group's heat transfer is below the
    cooling threshold still in the last window: the single fault is that cooling loss. A cell
    far warmer than the rest has a lower resistance and another voltage under load, which moves
    the median of the other groups that every electrical detector compares with (with four groups
    the median of three switches members), so the electrical statistic of a healthy group rises."""
    for g, per in enumerate(stats["cooling_loss"]):
        if g != group and per["stat"].size and per["stat"][-1] > thresholds["cooling_loss"]:
            return True
    return False


def _detect(k: str, stats: dict, per: list, th: float, calibration: dict) -> dict:
    g = int(np.argmax([np.max(x["stat"]) if x["stat"].size else -np.inf for x in per]))
    stat = per[g]["stat"]
    peak = float(np.max(stat)) if stat.size else -np.inf
    detected = bool(peak > th)
    entry = {"evaluated": True, "detected": detected, "group": g if detected else None, "time_s": None,
             "estimate": None, "ci95": None, "statistic": peak, "threshold": th}
    if detected:
        first = int(np.argmax(stat > th))
        entry["time_s"] = float(per[g]["t_end"][first])
        entry.update(_estimate(k, stats, per[g], g, entry["time_s"], calibration))
    return entry


def _exceedance(peak: float, th: float) -> float:
    """How far over the threshold, comparable across detectors: peak / threshold for positive
    thresholds, else (peak - th) / |th| + 1."""
    return peak / th if th > 0 else (peak - th) / max(abs(th), 1e-12) + 1.0


def _estimate(kind: str, stats: dict, per: dict, g: int, t_detect: float, calibration: dict) -> dict:
    """The size of the fault with its 95 % interval: the strongest window's regression interval,
    widened by the estimator's model error measured on nominal runs (``run_maxima``) where the
    calibration has it, and the heat-transfer factor divided by its nominal median."""
    t = stats["t_s"]
    if kind == "sensor":
        est, ci = _sensor_estimate(t, stats["_va"], stats["_vb"], g, per["node"], t_detect, per["sd0"], per["mu0"])
        est["node"] = "ab"[per["node"]]
        return {"estimate": est, "ci95": ci}
    # The estimate of the strongest window (the fault fully present), with its interval; the heat
    # fit's of the last window: its strongest windows are those straddling the onset, where a step
    # in the leak heat or the cooling is fitted by constants, the latest holds the fault throughout.
    if kind in ("internal_short", "cooling_loss"):
        k = int(np.flatnonzero(np.isfinite(per["estimate"]))[-1])
    else:
        k = int(np.nanargmax(per["stat"]))
    value, se = float(per["estimate"][k]), float(per["se"][k])
    unit = {"internal_short": "leak_current_a", "connection_resistance": "resistance_step_ohm",
            "cooling_loss": "heat_transfer_factor"}[kind]
    spread = float(calibration.get(f"{kind}:spread95", 0.0))
    if f"{kind}:error_lo" in calibration:
        # Calibrated on faulty runs (fault_campaign.size_interval_calibration): the estimator's
        # error against the injected size, relative (leak) or absolute (heat-transfer factor).
        lo_e, hi_e = float(calibration[f"{kind}:error_lo"]), float(calibration[f"{kind}:error_hi"])
        if kind == "cooling_loss":
            scale = float(calibration.get("cooling_loss:scale", 1.0))
            value = value / scale
            ci = [value - hi_e, value - lo_e]
        else:
            ci = sorted([value / (1.0 + hi_e), value / (1.0 + lo_e)]) if lo_e > -1.0 else [value / (1.0 + hi_e), np.inf]
        half = None
    elif kind == "cooling_loss":
        scale = float(calibration.get("cooling_loss:scale", 1.0))
        value, se = value / scale, se / scale
        half = float(np.hypot(Z95 * se, spread * value))
    else:
        half = float(np.hypot(Z95 * se, spread))
    est = {unit: value}
    if half is not None:
        ci = [value - half, value + half]
    if kind == "internal_short":
        # The fit gives the leak's heat V I_leak (W): the current at the group's mean voltage.
        v_mean = float(np.nanmean(stats["_v"][:, g]))
        est = {"leak_heat_w": value, unit: value / v_mean}
        ci = [c / v_mean for c in ci]
        if value > 0:
            est["leak_resistance_ohm"] = v_mean**2 / value
        cb = stats["_charge_balance"][g]
        j = int(np.argmax(cb["stat"]))
        est["charge_balance_leak_current_a"] = float(cb["estimate"][j])  # cross-check, not the decision
    if kind == "connection_resistance":
        est[unit] *= stats["_parallel"]
        ci = [c * stats["_parallel"] for c in ci]
    return {"estimate": est, "ci95": ci}


# ---- one cell alone (safetwin diagnose LOG.csv): what can be told without the other groups -------

NOMINAL_CURRENT_BIAS_A = 0.03      # calibration.NominalSpec.current_bias_a: a bias within spec
NOMINAL_THERMAL_SPREAD = 0.2       # calibration.NominalSpec.thermal_spread_rel: h within spec


def single_cell(log: dict, cell: CellParams | None = None, soc0: float | None = None) -> dict:
    """Fault estimates from one cell's log (``t_s, current_a, voltage_v, temperature_k``).

    - internal_short: the charge balance of the whole log (the twin's SOC from the core's EKF
      against the coulomb count), regressed on [1, t, I, charge, throughput]: the slope on t is the
      leak current plus any current-sensor bias, which one cell cannot tell apart; detected when
      the 95 % interval lies above the bias a sensor within spec may have (NOMINAL_CURRENT_BIAS_A).
      A log without rests has t and charge nearly collinear: the interval is then wide.
    - cooling_loss: the heat balance over sliding windows (``_cooling``), the ambient taken as the
      first temperature sample (a log that starts at rest); the estimate is the lowest window's
      heat transfer relative to the first window's (a drop within the log: the twin's absolute heat
      model may be off), reported but not decided (evaluated: false, with the reason): on the DFN
      cell's nominal charge it drops to 0.44, so no threshold on one cell's log is safe.
    - connection_resistance and sensor need the other cells of the group and the
      redundant node: not evaluated here (``isolate`` on a pack log does them).
    """
    cell = cell or CellParams.ref_cell_1()
    t = np.asarray(log["t_s"], dtype=float)
    i = np.asarray(log["current_a"], dtype=float)
    v = np.asarray(log["voltage_v"], dtype=float)
    temp = np.asarray(log["temperature_k"], dtype=float)
    ok = np.isfinite(i)
    i_f = np.where(ok, i, 0.0)
    out = {}
    tk = temp[np.isfinite(temp)]
    cfg = estimation.make_config(cell=cell, soc0=float(np.clip(soc0 if soc0 is not None else
                                                                 estimation.soc_from_rested_voltage(float(v[np.isfinite(v)][0]), cell), 0, 1)),
                                 temp0_k=float(tk[0]) if tk.size else cell.ambient_temp_k)
    soc = estimation.run(t, i, voltage_a_v=v, temperature_k=temp, config=cfg)["soc"]
    steps = np.concatenate(([0.0], np.diff(t)))
    charge = np.cumsum(i_f * steps)
    balance = cell.capacity_ah * 3600.0 * (soc[0] - soc) - charge
    x = np.column_stack([np.ones_like(t), t - t[0], i_f, charge, np.cumsum(np.abs(i_f) * steps)])
    fit = _ols(x, balance)
    if fit is None:  # throughput = -charge when the current never changes sign (a charge): drop it
        fit = _ols(x[:, :4], balance)
    if fit is None:
        out["internal_short"] = _not_evaluated("the log is too short or its regressors are collinear")
    else:
        b, se = fit[0][1], fit[1][1]
        ci = [b - Z95 * se, b + Z95 * se]
        detected = bool(ci[0] > NOMINAL_CURRENT_BIAS_A)
        est = {"leak_current_a": float(b), "includes_current_sensor_bias": True}
        if b > 0:
            est["leak_resistance_ohm"] = float(np.nanmean(v) / b)
        out["internal_short"] = {"evaluated": True, "detected": detected, "time_s": None, "estimate": est,
                                 "ci95": [float(c) for c in ci]}
    ambient = float(tk[0]) if tk.size else cell.ambient_temp_k
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    cool = _cooling(t, i_f, temp[:, None], IsolationSettings(), dt, cell, ambient)[0] if dt > 0 else None
    good = np.flatnonzero(np.isfinite(cool["estimate"])) if cool is not None else np.array([], dtype=int)
    if good.size < 2:
        out["cooling_loss"] = _not_evaluated("fewer than two windows in which the cell was 0.5 K above its "
                                             "starting temperature on average")
    else:
        # A loss is the estimate dropping within the log: the twin's heat model is not the cell's
        # (its absolute h can be off by a factor), so each window is compared with the first.
        f, sf = cool["estimate"][good], cool["se"][good]
        ratio = f / f[0]
        ratio_sigma = ratio * np.hypot(sf / f, sf[0] / f[0])
        k = int(np.argmin(ratio))
        ci = [float(ratio[k] - Z95 * ratio_sigma[k]), float(ratio[k] + Z95 * ratio_sigma[k])]
        # Measured: on the DFN cell's nominal 1C CC-CV charge (tests/data) this drop is 0.44 (95 %:
        # 0.26..0.62): the twin's I^2 R heat is off by a factor that changes with the current, so
        # one cell's log cannot call a cooling loss. The estimate is reported, undecided; a pack log
        # decides against the other cells (``isolate``).
        out["cooling_loss"] = {"evaluated": False, "detected": None, "time_s": None,
                               "estimate": {"heat_transfer_drop_rel": float(ratio[k]),
                                            "heat_transfer_factor_first": float(f[0])}, "ci95": ci,
                               "reason": "one cell's heat balance is not decisive (the twin's heat model is off by "
                                         "a current-dependent factor); a pack log decides against the other cells"}
    out["connection_resistance"] = _not_evaluated("needs the other cells of the group (a pack log: isolation.isolate)")
    out["sensor"] = _not_evaluated("needs the redundant voltage node (a pack log: isolation.isolate)")
    return out


def _not_evaluated(reason: str) -> dict:
    return {"evaluated": False, "detected": None, "time_s": None, "estimate": None, "ci95": None, "reason": reason}
