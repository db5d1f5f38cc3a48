"""CBF safety filter over thousands of random states and requests (hypothesis), checked by an
independent implementation of the barrier conditions in numpy/scipy: the REF-CELL-1 equations from
spec/reference-problems.md, numpy.interp for the OCV and scipy's brentq for the voltage roots."""
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

from safetwin import battery, safety

CELL = battery.CellParams.ref_cell_1()
TABLE = battery.reference_ocv_table()
SOC_AXIS, OCV_AXIS = np.asarray(TABLE.soc), np.asarray(TABLE.ocv_v)
CFG = safety.CbfConfig()
FILTER = safety.CbfFilter(CFG)
GAMMA = list(CFG.gamma)  # voltage_max, voltage_min, temp_max, soc_max, soc_min, currents
# Floating-point evaluation differences between the filter's segment walk and numpy/brentq: the
# conditions are compared with this slack (V, K and SOC units), six orders below the 5 mV spec.
TOL = 1e-9


def ocv(soc):
    return float(np.interp(soc, SOC_AXIS, OCV_AXIS))


def model(x, dt):
    """Coefficients of one step at x (resistances at T[k] by Arrhenius, as the plant's step)."""
    soc, v1, v2, T = x
    arr = math.exp(CELL.arrhenius_k * (1.0 / T - 1.0 / 298.15))
    r0, r1, r2 = 0.021 * arr, 0.0075 * arr, 0.023 * arr
    a1, a2 = math.exp(-dt / (0.0075 * 1733.0)), math.exp(-dt / (0.023 * 5652.0))
    c = dt / (3600.0 * CELL.capacity_ah)
    return r0, r1, r2, a1, a2, c


def margins(x, P, dt):
    r0, r1, r2, a1, a2, c = model(x, dt)
    i = int(np.clip(np.searchsorted(SOC_AXIS, x[0], side="right") - 1, 0, len(SOC_AXIS) - 2))
    s = (OCV_AXIS[i + 1] - OCV_AXIS[i]) / (SOC_AXIS[i + 1] - SOC_AXIS[i])
    g0, g1 = np.array([s, -1, -1, 0.0]), np.array([s, -a1, -a2, 0.0])
    k = CFG.confidence_sigma
    mv = k * math.sqrt(max(g0 @ P @ g0, g1 @ P @ g1)) + CFG.model_error_v
    return mv, k * math.sqrt(P[3, 3]) + CFG.model_error_k, k * math.sqrt(P[0, 0]) + CFG.model_error_soc


def slacks(x, I, P, dt, scale):
    """Slack of every barrier condition at current I (>= 0: kept), in the order of safety.Barrier."""
    soc, v1, v2, T = x
    r0, r1, r2, a1, a2, c = model(x, dt)
    mv, mk, ms = margins(x, P, dt)
    v_now = ocv(soc) - r0 * I - v1 - v2
    v_next = ocv(soc - c * I) - r0 * I - (a1 * v1 + r1 * (1 - a1) * I) - (a2 * v2 + r2 * (1 - a2) * I)
    T_next = T + dt / CELL.heat_capacity_j_per_k * (I * I * r0 + v1 ** 2 / r1 + v2 ** 2 / r2
                                                    - CELL.heat_transfer_w_per_k * (T - CELL.ambient_temp_k))
    soc_next = soc - c * I
    L = CELL.limits
    hv, hl = L.voltage_max_v - mv, L.voltage_min_v + mv
    tm = L.temp_max_k - mk
    return [
        # a voltage or SOC barrier never demands the opposite current: I >= 0 (resp. <= 0) keeps it
        max(min(hv - v_now, (hv - v_next) - (1 - GAMMA[0]) * (hv - v_now)), I),
        max(min(v_now - hl, (v_next - hl) - (1 - GAMMA[1]) * (v_now - hl)), -I),
        (tm - T_next) - (1 - GAMMA[2]) * (tm - T),
        max((CFG.soc_max - ms - soc_next) - (1 - GAMMA[3]) * (CFG.soc_max - ms - soc), I),
        max((soc_next - CFG.soc_min - ms) - (1 - GAMMA[4]) * (soc - CFG.soc_min - ms), -I),
        I + L.charge_current_max_a * scale,
        L.discharge_current_max_a * scale - I,
    ]


def safe_interval(x, P, dt, scale):
    """Each barrier's set of currents, found independently: voltage slacks are monotone in I
    (brentq on a bracket), the temperature one is a quadratic, the rest linear."""
    lo, hi = -1e4, 1e4
    f = lambda b: (lambda I: slacks(x, I, P, dt, scale)[b])  # noqa: E731
    bounds = []
    for b, rising in ((0, True), (1, False), (3, True), (4, False), (5, True), (6, False)):
        g = f(b)
        if g(lo) * g(hi) > 0:
            bounds.append((-math.inf, math.inf) if g(0.0) >= 0 else (math.inf, -math.inf))
            continue
        root = brentq(g, lo, hi, xtol=1e-13, rtol=1e-15, maxiter=500)
        bounds.append((root, math.inf) if rising else (-math.inf, root))
    # temperature: slack = a - d*I^2 with d > 0
    a, d = slacks(x, 0.0, P, dt, scale)[2], slacks(x, 0.0, P, dt, scale)[2] - slacks(x, 1.0, P, dt, scale)[2]
    bounds.append((-math.sqrt(a / d), math.sqrt(a / d)) if a >= 0 else (math.inf, -math.inf))
    return max(b[0] for b in bounds), min(b[1] for b in bounds)


states = st.tuples(
    st.floats(0.0, 1.0), st.floats(-0.3, 0.3), st.floats(-0.6, 0.6), st.floats(263.15, 333.15))
covariances = st.lists(st.floats(-3e-2, 3e-2), min_size=16, max_size=16).map(
    lambda v: (lambda L: L @ L.T)(np.array(v).reshape(4, 4) * np.array([0.1, 1.0, 1.0, 10.0])[:, None]))


@settings(max_examples=3000, deadline=None)
@given(x=states, P=covariances, request=st.floats(-40.0, 40.0), dt=st.sampled_from([0.1, 1.0, 5.0]),
       scale=st.floats(0.0, 1.0))
def test_filtered_current_keeps_every_barrier_or_none_exists(x, P, request, dt, scale):
    x = np.array(x)
    v = FILTER.filter(x, P, request, dt, scale)
    assert math.isfinite(v.current_a)
    lo, hi = safe_interval(x, P, dt, scale)
    assert v.status == safety.Status.ok  # a conflict is a decision, not a failed call
    if v.decision == safety.Decision.applied:
        # kept: every condition holds at the filtered current
        assert min(slacks(x, v.current_a, P, dt, scale)) >= -TOL
        # closest: the request clamped into the independently found interval
        assert v.current_a == pytest.approx(min(max(request, lo), hi), abs=1e-7)
        if min(slacks(x, request, P, dt, scale)) > TOL:
            assert v.current_a == request and not v.modified
    else:
        assert v.decision == safety.Decision.fallback
        assert v.current_a == 0.0 and v.conflict != 0
        assert lo > hi - 1e-7  # the independent intervals do not intersect either


@settings(max_examples=1000, deadline=None)
@given(x=states, request=st.floats(-40.0, 40.0))
def test_safe_request_passes_unchanged(x, request):
    x = np.array(x)
    P = np.diag([1e-6, 1e-6, 1e-6, 0.01])
    v = FILTER.filter(x, P, request, 1.0, 1.0)
    if min(slacks(x, request, P, 1.0, 1.0)) > TOL:
        assert v.current_a == request
        assert not v.modified and v.active == 0


def test_margin_follows_the_covariance():
    x = np.array([0.9, -0.02, -0.05, 300.0])
    m = [FILTER.filter(x, np.eye(4) * s, -15.0, 1.0).voltage_margin_v for s in (1e-8, 1e-6, 1e-4)]
    assert m[0] < m[1] < m[2]
    assert m[0] == pytest.approx(margins(x, np.eye(4) * 1e-8, 1.0)[0], rel=1e-12)


def test_non_finite_and_conflict_give_zero():
    v = FILTER.filter(np.array([0.5, math.nan, 0.0, 300.0]), np.zeros((4, 4)), -5.0, 1.0)
    assert v.current_a == 0.0 and v.status == safety.Status.non_finite_input
    hot = FILTER.filter(np.array([0.5, 0.2, 0.4, 320.0]), np.zeros((4, 4)), -5.0, 1.0)
    assert hot.current_a == 0.0 and safety.Barrier.temp_max in hot.conflicting_barriers


NOT_OBSERVED = st.just(math.nan)


@settings(max_examples=300, deadline=None)
@given(soc=st.floats(0.05, 0.95), v_hi=st.floats(3.0, 4.3), spread=st.floats(0.0, 0.2), i_m=st.floats(-15.0, 25.0),
       t_c=st.floats(20.0, 44.9), request=st.floats(-15.0, 25.0), v1=st.floats(-0.12, 0.2), v2=st.floats(-0.35, 0.6),
       sigma_hi=st.floats(0.0, 0.02), sigma_lo=st.floats(0.0, 0.02),
       change_hi=st.floats(-0.02, 0.02) | NOT_OBSERVED, change_lo=st.floats(-0.02, 0.02) | NOT_OBSERVED,
       di=st.floats(-5.0, 5.0) | NOT_OBSERVED)
def test_measured_barriers_against_their_formulas(soc, v_hi, spread, i_m, t_c, request, v1, v2, sigma_hi, sigma_lo,
                                                  change_hi, change_lo, di):
    """The measurement-based barriers (cbf_filter.hpp) from the readings: the step resistance
    R_s = R0 + R1 (1 - a1) + R2 (1 - a2) at x, gamma = 0.5 / 0.5 / 0.1, no cooling credit; the
    held current's drift, the OCV slope times c per ampere and d0 = sum (1 - a_i)(v_i - R_i I_m),
    or the observed drift change + R_s dI + slope c I_m where that is faster, counted only where it
    tightens; each voltage margin max(configured, kappa sigma) of the reading behind the bound."""
    # At an OCV knot the piecewise-linear OCV has no slope: the core and this formula may take the two
    # sides' slopes within an ulp of it (hypothesis found SOC 0.19999999999999998), both legitimate.
    assume(np.min(np.abs(SOC_AXIS - soc)) > 1e-9)
    x = np.array([soc, v1, v2, 298.15])
    r0, r1, r2, a1, a2, c = model(x, 1.0)
    rs = r0 + r1 * (1 - a1) + r2 * (1 - a2)
    i = int(np.clip(np.searchsorted(SOC_AXIS, soc, side="right") - 1, 0, len(SOC_AXIS) - 2))
    sc = (OCV_AXIS[i + 1] - OCV_AXIS[i]) / (SOC_AXIS[i + 1] - SOC_AXIS[i]) * c
    d0 = (1 - a1) * (v1 - r1 * i_m) + (1 - a2) * (v2 - r2 * i_m)
    L = CELL.limits
    v_lo = v_hi - spread
    tm = t_c + 273.15
    v = FILTER.filter(x, np.zeros((4, 4)), request, 1.0, 1.0, measured_voltage_max_v=v_hi, measured_voltage_min_v=v_lo,
                      measured_temperature_max_k=tm, measured_current_a=i_m, measured_voltage_max_sigma_v=sigma_hi,
                      measured_voltage_min_sigma_v=sigma_lo, measured_voltage_max_change_v=change_hi,
                      measured_voltage_min_change_v=change_lo, measured_current_change_a=di)
    B = safety.Barrier
    m_hi = max(CFG.measured_voltage_margin_v, CFG.confidence_sigma * sigma_hi)
    m_lo = max(CFG.measured_voltage_margin_v, CFG.confidence_sigma * sigma_lo)
    seen_hi = change_hi + rs * di + sc * i_m  # NaN when either change is not observed
    seen_lo = change_lo + rs * di + sc * i_m
    drift_hi = max(d0, 0.0, 0.0 if math.isnan(seen_hi) else seen_hi)
    drift_lo = min(d0, 0.0, 0.0 if math.isnan(seen_lo) else seen_lo)
    lo_v = min((rs * i_m + drift_hi - 0.5 * (L.voltage_max_v - m_hi - v_hi)) / (rs + sc), 0.0)
    hi_v = max((rs * i_m + drift_lo + 0.5 * (v_lo - L.voltage_min_v - m_lo)) / (rs + sc), 0.0)
    assert v.barrier_lo_a[int(B.measured_voltage_max)] == pytest.approx(lo_v, rel=1e-12, abs=1e-12)
    assert v.barrier_hi_a[int(B.measured_voltage_min)] == pytest.approx(hi_v, rel=1e-12, abs=1e-12)
    q_in = v1 * v1 / r1 + v2 * v2 / r2 + CELL.heat_transfer_w_per_k * max(CELL.ambient_temp_k - tm, 0.0)
    r = (0.1 * (L.temp_max_k - CFG.measured_temp_margin_k - tm) * CELL.heat_capacity_j_per_k / 1.0 - q_in) / r0
    if r >= 0:
        assert v.barrier_hi_a[int(B.measured_temp_max)] == pytest.approx(math.sqrt(r), rel=1e-12)
    # The released current lies inside every measured barrier (or is the fallback 0).
    if v.status == safety.Status.ok and v.decision == safety.Decision.applied:
        assert lo_v - 1e-12 <= v.current_a <= hi_v + 1e-12


def _verdict_fields(v):
    return (v.current_a, v.decision, v.voltage_margin_v, list(v.barrier_lo_a), list(v.barrier_hi_a))


@settings(max_examples=200, deadline=None)
@given(x=states, P=covariances, request=st.floats(-40.0, 40.0), r0=st.floats(0.8, 2.0), r0_sigma=st.floats(0.0, 0.1),
       cap=st.floats(0.6, 1.1), cap_sigma=st.floats(0.0, 0.1), err_v=st.floats(0.0, 0.02))
def test_the_twin_argument_is_the_conservative_scaling_and_the_learned_error(x, P, request, r0, r0_sigma, cap,
                                                                             cap_sigma, err_v):
    """CbfFilter.filter(twin=...) predicts as a filter configured with the conservative scaling
    (cbf_filter.hpp): R0 x (f + kappa sigma_f), Q x max(c - kappa sigma_c, 0.05), and the larger of
    the configured and the learned model error in the voltage margin."""
    x = np.array(x)
    twin = safety.TwinEstimate()
    twin.r0_factor, twin.r0_factor_sigma, twin.capacity_factor, twin.capacity_factor_sigma = r0, r0_sigma, cap, cap_sigma
    twin.model_error_v = err_v
    kappa = CFG.confidence_sigma
    cfg = safety.CbfConfig()
    cfg.scaling = battery.CellScaling(max(cap - kappa * cap_sigma, 0.05), 1.0, r0 + kappa * r0_sigma)
    cfg.model_error_v = max(CFG.model_error_v, err_v)
    configured = safety.CbfFilter(cfg).filter(x, P, request, 1.0, 1.0)
    assert _verdict_fields(FILTER.filter(x, P, request, 1.0, 1.0, twin=twin)) == _verdict_fields(configured)
    # The nominal twin is the default: the same verdict as no twin at all.
    assert _verdict_fields(FILTER.filter(x, P, request, 1.0, 1.0, twin=safety.TwinEstimate())) == _verdict_fields(
        FILTER.filter(x, P, request, 1.0, 1.0))
