"""The closed-loop runner from Python (safetwin.loop) against the same loop stepped by hand through
the existing bindings (Pack, ControlCycle, PackCycle), its noise against an independent splitmix64
and the normal law, the zero-current counterfactual, fault schedules and refused specs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from safetwin import battery, control, cycle, loop
from safetwin._core import PackCycle, PackCycleConfig
from safetwin.trust.attacks import OnlineStealthyInjection, StealthyInjection

C0 = battery.ZERO_CELSIUS_K
MASK64 = (1 << 64) - 1


# ---- an independent splitmix64 and Box-Muller (Python integers, libm through math) ------------

def splitmix64_bits(seed: int, count: int) -> list[int]:
    out, s = [], seed
    for _ in range(count):
        s = (s + 0x9E3779B97F4A7C15) & MASK64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        out.append(z ^ (z >> 31))
    return out


def box_muller(bits: list[int], i: int) -> float:
    u1 = 1.0 - (bits[2 * i] >> 11) * 2.0 ** -53
    u2 = (bits[2 * i + 1] >> 11) * 2.0 ** -53
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)


# ---- the loop stepped by hand: the reference the runner must reproduce -------------------------

def python_loop(spec: loop.LoopSpec, controllers, readings: dict | None = None) -> dict:
    """Steps the plant, the sensors and the cycle from Python in the order of closed_loop.hpp, as
    safetwin.demo does. Supports what the tests and the benchmark use: external controllers, the
    plant's per-cell initial SOC, voltage offsets, internal shorts, cooling loss, the attack
    library's online stealthy injection, injection offsets, attestation verdicts and the direct
    replacement current. ``readings``: if given, its "voltage_a_v" is each step's node-a readings
    before the cycle steps (for a Python law that needs them, as the runner's CC-CV does)."""
    n, dt = spec.steps, spec.dt_s
    S, P = spec.plant.series, spec.plant.parallel
    plant = battery.Pack(spec.plant)
    if spec.soc0:
        for j, s in enumerate(spec.soc0):
            st = plant.states[j]
            st.soc = s
            plant.set_state(j, st)
    pack = spec.use_pack_cycle
    cyc = PackCycle(spec.cycle, controllers) if pack else cycle.ControlCycle(spec.cycle.cell, controllers[0])
    noise = loop.NoiseStream(spec.seed)
    nz = spec.noise
    C = 3 * S + 1
    inj_a = np.asarray(spec.injection_a_v).reshape(n, S) if spec.injection_a_v else None
    verdicts = np.asarray(spec.attestation, dtype=np.uint8).reshape(n, -1) if spec.attestation else None
    faults = list(spec.faults)
    first_fault = min((f.onset_s for f in faults), default=math.inf)
    repl_t = first_fault if spec.replacement.at_first_fault else spec.replacement.time_s
    active = [False] * len(faults)
    injectors = {}
    command, closed = 0.0, True
    out = {k: np.zeros(n) for k in ("command_a", "applied_current_a", "measured_current_a")}
    out["voltage_a_v"] = np.zeros((n, S))
    out["cell_voltage_v"] = np.zeros((n, S * P))
    out["mode"] = np.zeros(n, dtype=np.uint8)
    out["soc_est"] = np.zeros((n, S))
    out["trust"] = np.zeros((n, spec.cycle.trust.nodes))
    for k in range(n):
        t = k * dt
        for i, f in enumerate(faults):
            on = f.onset_s <= t < f.end_s
            if on != active[i]:
                active[i] = on
                if f.kind == loop.FaultKind.internal_short:
                    plant.set_leak_resistance(f.target, 1.0 / f.value if on else math.inf)
                if f.kind == loop.FaultKind.cooling_loss:
                    for j in range(S * P) if f.target < 0 else [f.target]:
                        plant.set_cooling_factor(j, f.value if on else 1.0)
                if f.kind == loop.FaultKind.stealthy_injection and on:
                    s0 = plant.states[f.target * P]
                    injectors[i] = OnlineStealthyInjection(
                        StealthyInjection(node="a", start_s=f.onset_s, stop_s=f.end_s, soc_offset=f.value,
                                          ramp_s=f.ramp_s),
                        battery.CellState(soc=s0.soc, v1_v=s0.v1_v, v2_v=s0.v2_v, temp_k=s0.temp_k),
                        spec.cycle.cell.estimator.cell)
        applied = command if closed else 0.0
        if spec.replacement.enabled and spec.replacement.direct and t >= repl_t:
            applied = spec.replacement.current_a
        temps = plant.cell_temp_k
        plant.step(applied, dt)
        v = plant.cell_voltage_v
        z = noise.normals(k * C, C)
        va = np.empty(S)
        vb = np.empty(S)
        tk = np.empty(S)
        for g in range(S):
            add_a = sum(f.value for i, f in enumerate(faults) if active[i] and f.target == g and f.node == 0
                        and f.kind == loop.FaultKind.voltage_offset)
            for i, atk in injectors.items():
                if active[i] and faults[i].target == g and faults[i].node == 0:
                    add_a += atk.offset_v(t, applied / P, dt)
            # truth + noise, + the exogenous offset arrays, + the faults' offsets (closed_loop.cpp's order)
            va[g] = v[g * P] + nz.voltage_a_v * z[g] + (inj_a[k, g] if inj_a is not None else 0.0) + add_a
            vb[g] = v[g * P] + nz.voltage_b_v * z[S + g] + 0.0
            tk[g] = max(temps[g * P:(g + 1) * P]) + nz.temperature_k * z[2 * S + g] + 0.0
        measured = applied + nz.current_a * z[3 * S]
        if readings is not None:
            readings["voltage_a_v"] = va
        if pack:
            st = cyc.step(t, measured, va, tk, dt, voltage_b_v=vb,
                          attestation=verdicts[k] if verdicts is not None else None)
        else:
            st = cyc.step(cycle.CycleMeasurements(t, va[0], vb[0], tk[0], measured), dt)
        command, closed = st.command_a, st.contactor_closed
        out["command_a"][k] = command
        out["applied_current_a"][k] = applied
        out["measured_current_a"][k] = measured
        out["voltage_a_v"][k] = va
        out["cell_voltage_v"][k] = v
        out["mode"][k] = int(st.mode)
        gs = [cyc.group_status(g) for g in range(S)] if pack else [st]
        out["soc_est"][k] = [x.x[0] for x in gs]
        if verdicts is not None:
            out["trust"][k] = cyc.trust()
    out["cell_soc"] = plant.cell_soc
    out["cycle"] = cyc
    return out


class Constant(control.Controller):
    """A Python law (through the trampoline): a constant request, except a charge pause at 30 s."""

    def __init__(self, current_a):
        super().__init__()
        self.current_a = current_a

    def compute(self, inp):
        return 0.0 if 30.0 <= inp.time_s < 40.0 else self.current_a


def cell_spec(duration_s=120.0, **kw):
    cfg = cycle.CycleConfig()
    cfg.soc0 = 0.47
    plant = battery.PackConfig(1, 1, battery.CellParams.ref_cell_1(), battery.SpreadConfig(), battery.CellState(soc=0.5))
    return loop.make_spec(duration_s=duration_s, cycle=cfg, plant=plant,
                          noise=loop.SensorNoise(0.002, 0.005, 0.2, 0.02), seed=2024, **kw)


def pack_config(series=4, parallel=2, soc0=0.2, trust=False):
    pc = PackCycleConfig(series, parallel)
    c = pc.cell
    est = c.estimator
    est.soc0 = soc0
    c.estimator = est
    pc.cell = c
    t = pc.trust
    t.enabled, t.nodes = trust, 2
    pc.trust = t
    return pc


def pack_spec(duration_s=120.0, trust=False, **kw):
    plant = battery.PackConfig(4, 2, battery.CellParams.ref_cell_1(), battery.SpreadConfig(0.03, 0.10, 7),
                               battery.CellState(soc=0.2))
    return loop.make_spec(duration_s=duration_s, cycle=pack_config(trust=trust), plant=plant,
                          noise=loop.SensorNoise(0.002, 0.010, 0.2, 0.02), seed=11, **kw)


def mpcs(n, horizon=10):
    cfg = control.BatteryMpcConfig()
    cfg.horizon = horizon
    return [control.BatteryMpc(cfg) for _ in range(n)]


# ---- tests -------------------------------------------------------------------------------------

def test_noise_stream_is_splitmix64_and_box_muller():
    ns = loop.NoiseStream(987654321)
    ref = splitmix64_bits(987654321, 2000)
    assert [ns.bits(i) for i in range(2000)] == ref
    assert splitmix64_bits(0, 1)[0] == 0xE220A8397B1DCDAF  # the published first output for seed 0
    z = ns.normals(0, 1000)
    assert z.tolist() == [box_muller(ref, i) for i in range(1000)]


def test_runner_noise_has_the_configured_sigmas():
    """Readings minus the truth, divided by each channel's sigma, are N(0, 1): mean, variance and a
    Kolmogorov-Smirnov test against the normal law (bounds at 4 standard errors / p > 1e-4)."""
    sig = loop.SensorNoise(0.002, 0.010, 0.3, 0.05)
    spec = pack_spec(2000.0, law=loop.constant(0.0))
    spec.noise = sig
    tr = loop.run(spec).trace
    v_true = tr["cell_voltage_v"][:, ::2]
    chans = {"a": (tr["voltage_a_v"] - v_true) / sig.voltage_a_v,
             "b": (tr["voltage_b_v"] - v_true) / sig.voltage_b_v,
             "i": (tr["measured_current_a"] - tr["applied_current_a"]) / sig.current_a}
    t_true = tr["cell_temp_k"].reshape(-1, 4, 2).max(axis=2)
    chans["t"] = (tr["temperature_k"] - t_true) / sig.temperature_k
    for name, z in chans.items():
        z = z.ravel()
        n = z.size
        assert abs(z.mean()) < 4 / math.sqrt(n), name
        assert abs(z.var() - 1.0) < 4 * math.sqrt(2 / n), name
        assert stats.kstest(z, "norm").pvalue > 1e-4, name
    # Channels are independent: the correlation of node a and node b noise is 0 within 4/sqrt(n).
    a, b = chans["a"].ravel(), chans["b"].ravel()
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(a.size)


def test_single_cell_runner_equals_the_python_loop_with_a_python_law():
    spec = cell_spec(150.0, law=loop.controllers())
    res = loop.run(spec, [Constant(-10.0)])
    ref = python_loop(spec, [Constant(-10.0)])
    tr = res.trace
    np.testing.assert_array_equal(tr["command_a"], ref["command_a"])
    np.testing.assert_array_equal(tr["voltage_a_v"], ref["voltage_a_v"])
    np.testing.assert_array_equal(tr["cell_voltage_v"], ref["cell_voltage_v"])
    np.testing.assert_array_equal(tr["mode"], ref["mode"])
    np.testing.assert_array_equal(res.loop.plant.cell_soc, ref["cell_soc"])
    assert tr["command_a"][35] == 0.0 and tr["command_a"][10] < -5.0  # the law's pause and charge
    assert res.summary["final_mode"] == ref["cycle"].mode


def test_pack_runner_equals_the_python_loop_with_mpc_trust_and_injection():
    n = 120
    inj = np.zeros((n, 4))
    inj[60:, 1] = 2e-4 * np.arange(n - 60)  # a ramped false-data offset on group 1, node a
    verdicts = np.zeros((n, 2), dtype=np.uint8)
    verdicts[::5] = 1
    verdicts[60::5, 0] = 2  # node a fails its attestation after the attack
    spec = pack_spec(float(n), trust=True, law=loop.controllers(), injection_a_v=inj, attestation=verdicts,
                     faults=[loop.fault("voltage_offset", 40.0, target=2, node="a", value=0.03),
                             loop.fault("internal_short", 80.0, target=5, value=1 / 3.0)])
    res = loop.run(spec, mpcs(4))
    ref = python_loop(spec, mpcs(4))
    tr = res.trace
    np.testing.assert_array_equal(tr["command_a"], ref["command_a"])
    np.testing.assert_array_equal(tr["voltage_a_v"], ref["voltage_a_v"])
    np.testing.assert_array_equal(tr["cell_voltage_v"], ref["cell_voltage_v"])
    np.testing.assert_array_equal(res.loop.plant.cell_soc, ref["cell_soc"])
    assert res.cycle.trust() == ref["cycle"].trust()
    assert res.cycle.trust()[0] < 0.5  # the failed attestations reached the trust layer
    assert tr["command_a"].min() < -5.0  # the MPC did charge


def test_demo_like_pack_run_equals_the_python_loop_with_the_attack_library():
    """safetwin demo's scenario in short: MPC per group, trust with attestation, the attack
    library's online stealthy injection on node a of group 1 and a cooling failure; the runner's
    fault is the same attack run in the loop, so both give the same numbers bit for bit."""
    n = 400
    verdicts = np.zeros((n, 2), dtype=np.uint8)
    verdicts[::5] = 1
    verdicts[100::5, 0] = 2
    spec = pack_spec(float(n), trust=True, law=loop.controllers(), attestation=verdicts,
                     faults=[loop.fault("stealthy_injection", 100.0, target=1, node="a", value=-0.25, ramp_s=200.0),
                             loop.fault("cooling_loss", 200.0, target=-1, value=0.05)])
    res = loop.run(spec, mpcs(4))
    ref = python_loop(spec, mpcs(4))
    tr = res.trace
    np.testing.assert_array_equal(tr["voltage_a_v"], ref["voltage_a_v"])
    np.testing.assert_array_equal(tr["command_a"], ref["command_a"])
    np.testing.assert_array_equal(tr["soc_est"], ref["soc_est"])
    np.testing.assert_array_equal(tr["trust"], ref["trust"])
    np.testing.assert_array_equal(res.loop.plant.cell_soc, ref["cell_soc"])
    offset = tr["voltage_a_v"][:, 1] - tr["cell_voltage_v"][:, 2] - 0.002 * np.array(
        [loop.NoiseStream(spec.seed).normal(k * 13 + 1) for k in range(n)])
    assert np.all(np.abs(offset[:100]) < 1e-14) and offset[-1] < -0.01  # the phantom SOC reads lower
    assert tr["trust"].shape == (n, 2) and tr["trust"][-1, 0] < 0.1  # the attacked node lost its trust


def test_zero_current_counterfactual_has_identical_noise_up_to_and_after_the_onset():
    spec = pack_spec(300.0, law=loop.constant(-10.0),
                     faults=[loop.fault("internal_short", 100.0, target=3, value=1 / 1.5)])
    base = loop.run(spec)
    zero = loop.run(loop.with_zero_current(spec))
    a, b = base.trace, zero.trace
    assert zero.summary["replacement_s"] == 100.0
    np.testing.assert_array_equal(a["voltage_a_v"][:100], b["voltage_a_v"][:100])
    np.testing.assert_array_equal(a["command_a"][:100], b["command_a"][:100])
    assert np.all(b["applied_current_a"][100:] == 0.0)
    assert np.any(a["applied_current_a"][100:] != 0.0)
    z = loop.NoiseStream(spec.seed)
    C = 13
    for k in range(0, 300, 7):
        noise = 0.002 * z.normals(k * C, 4)
        # reading - truth is sigma * the same number in both runs (to rounding of a 4 V value)
        np.testing.assert_allclose(a["voltage_a_v"][k] - a["cell_voltage_v"][k, ::2], noise, rtol=0, atol=4e-15)
        np.testing.assert_allclose(b["voltage_a_v"][k] - b["cell_voltage_v"][k, ::2], noise, rtol=0, atol=4e-15)
    # The original spec is untouched by with_zero_current.
    assert not spec.replacement.enabled


def test_a_stuck_node_reads_its_value_at_onset_and_a_nan_node_stops_the_pack():
    spec = pack_spec(80.0, law=loop.constant(-5.0),
                     faults=[loop.fault("voltage_stuck", 20.0, 50.0, target=1, node="a", value=math.nan),
                             loop.fault("voltage_nan", 60.0, target=3, node="b")])
    res = loop.run(spec)
    va = res.trace["voltage_a_v"][:, 1]
    assert np.all(va[20:50] == va[20])
    assert va[19] != va[20] and va[50] != va[20]
    assert np.isnan(res.trace["voltage_b_v"][60, 3])
    s = res.summary
    assert s["first_safe_stop_s"] == 60.0
    assert s["final_mode"] == loop.Mode.SAFE_STOP
    assert np.all(res.trace["applied_current_a"][61:] == 0.0)
    assert s["nonfinite_commands"] == 0


def test_unsafe_laws_and_the_summary_margins():
    """A 3C charge on an aged cell the twin does not know (R0 x 2, capacity -25 %): the true cell
    leaves its voltage limit; the summary's margins are the trace's extremes."""
    cfg = cycle.CycleConfig()
    cfg.soc0 = 0.7
    # Only the nominal model's barriers: the measured ones and the learned model error keep this
    # aged cell inside its limits, and the test needs a violation to summarise.
    cbf = cfg.cbf
    cbf.measured_limits = False
    cfg.cbf = cbf
    cfg.learn_model_error = False
    plant = battery.PackConfig(1, 1, battery.CellParams.ref_cell_1(), battery.SpreadConfig(), battery.CellState(soc=0.7))
    spec = loop.make_spec(duration_s=900.0, cycle=cfg, plant=plant, law=loop.constant(-3 * 5.15),
                          capacity_factor=0.75, resistance_factor=2.0,
                          noise=loop.SensorNoise(0.002, 0.005, 0.2, 0.02), seed=5)
    res = loop.run(spec)
    s, tr = res.summary, res.trace
    lim = battery.CellParams.ref_cell_1().limits
    v = tr["cell_voltage_v"][:, 0]
    assert s["min_margin_voltage_max_v"] == lim.voltage_max_v - v.max()
    assert s["min_margin_temp_max_k"] == lim.temp_max_k - tr["cell_temp_k"].max()
    assert s["max_abs_cell_current_a"] == np.abs(tr["cell_current_a"]).max()
    over = np.flatnonzero(v > lim.voltage_max_v)
    assert over.size > 0 and s["first_violation_voltage_max_s"] == float(over[0])
    assert math.isnan(s["first_violation_voltage_min_s"])
    # extremes-only traces give the same summary and the same per-step extremes
    spec.trace = loop.TraceLevel.extremes
    ext = loop.run(spec)
    assert ext.summary.keys() == s.keys()
    for key, value in s.items():
        assert ext.summary[key] == value or (math.isnan(value) and math.isnan(ext.summary[key])), key
    np.testing.assert_array_equal(ext.trace["voltage_max_v"], v)
    assert ext.trace["cell_voltage_v"].size == 0


def test_a_python_law_that_raises_or_returns_nan_never_reaches_the_plant():
    class Raises(control.Controller):
        def __init__(self):
            super().__init__()

        def compute(self, inp):
            raise RuntimeError("law failed")

    res = loop.run(cell_spec(20.0, law=loop.controllers()), [Raises()])
    assert res.summary["nonfinite_commands"] == 0
    assert res.summary["controller_failures"] >= 1
    assert res.summary["first_safe_stop_s"] <= 20.0
    res = loop.run(cell_spec(20.0, law=loop.non_finite()))
    assert res.summary["nonfinite_requests"] >= 1
    assert np.all(np.isfinite(res.trace["command_a"]))


def test_bad_specs_are_refused_naming_the_field():
    with pytest.raises(ValueError, match=r"LoopSpec.faults\[0\].target"):
        loop.run(pack_spec(law=loop.constant(-1.0), faults=[loop.fault("voltage_offset", 1.0, target=9, value=0.1)]))
    with pytest.raises(ValueError, match="one controller per series group"):
        loop.run(pack_spec(law=loop.controllers()), mpcs(2))
    with pytest.raises(ValueError, match=r"injection_a_v: shape \(3, 4\)"):
        pack_spec(injection_a_v=np.zeros((3, 4)))
    with pytest.raises(ValueError, match="fault kind 'melt'"):
        loop.fault("melt", 1.0)
    with pytest.raises(ValueError, match="soc0: 3 values given, needs one per cell"):
        pack_spec(soc0=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="LoopSpec.duration_s"):
        loop.run(cell_spec(-1.0))
