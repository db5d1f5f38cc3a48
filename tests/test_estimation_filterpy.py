"""The battery EKF against filterpy's ExtendedKalmanFilter running the same model (REF-CELL-1
equations written out again here in numpy, independently of the C++ core), the same noise
settings and the same data, with the gate off (filterpy has none): the same algorithm (Joseph-form
update), so the estimates must agree to 1e-9."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from filterpy.kalman import ExtendedKalmanFilter

from safetwin import battery, estimation

DATA = Path(__file__).parent / "data" / "dfn_lgm50_cccv_1c.csv"
T_REF = 298.15


class RefCell1:
    """REF-CELL-1 (spec/reference-problems.md) with constant parameters: f, h and their Jacobians."""

    def __init__(self):
        p = battery.CellParams.ref_cell_1()
        self.q_as = 3600.0 * p.capacity_ah
        self.e_r, self.c_th, self.ha, self.t_amb = p.arrhenius_k, p.heat_capacity_j_per_k, p.heat_transfer_w_per_k, p.ambient_temp_k
        self.r25 = np.array([0.021, 0.0075, 0.023])
        self.tau = np.array([0.0075 * 1733.0, 0.023 * 5652.0])
        ocv = battery.OcvTable.lgm50_chen2020()
        self.soc_axis, self.ocv_axis = np.asarray(ocv.soc), np.asarray(ocv.ocv_v)

    def resistances(self, temp_k):
        r = self.r25 * np.exp(self.e_r * (1.0 / temp_k - 1.0 / T_REF))
        return r, -r * self.e_r / temp_k**2  # values and dR/dT

    def ocv(self, soc):
        s, v = self.soc_axis, self.ocv_axis
        n = len(s)
        i = int(np.clip(np.floor((soc - s[0]) * (n - 1) / (s[-1] - s[0])), 0, n - 2))
        slope = (v[i + 1] - v[i]) / (s[i + 1] - s[i])
        if soc < s[0]:
            return v[0] + slope * (soc - s[0]), slope
        if soc > s[-1]:
            return v[-1] + slope * (soc - s[-1]), slope
        return v[i] + (soc - s[i]) / (s[i + 1] - s[i]) * (v[i + 1] - v[i]), slope

    def transition(self, x, i, dt):
        soc, v1, v2, t = x
        (r0, r1, r2), (dr0, dr1, dr2) = self.resistances(t)
        a1, a2 = np.exp(-dt / self.tau)
        k = dt / self.c_th
        heat = i * i * r0 + v1 * v1 / r1 + v2 * v2 / r2 - self.ha * (t - self.t_amb)
        xn = np.array([soc - i * dt / self.q_as, a1 * v1 + r1 * (1 - a1) * i, a2 * v2 + r2 * (1 - a2) * i,
                       t + k * heat])
        f = np.eye(4)
        f[1, 1], f[1, 3] = a1, dr1 * (1 - a1) * i
        f[2, 2], f[2, 3] = a2, dr2 * (1 - a2) * i
        f[3, 1], f[3, 2] = k * 2 * v1 / r1, k * 2 * v2 / r2
        f[3, 3] = 1 + k * (i * i * dr0 - v1 * v1 / r1**2 * dr1 - v2 * v2 / r2**2 * dr2 - self.ha)
        g = np.array([-dt / self.q_as, r1 * (1 - a1), r2 * (1 - a2), k * 2 * i * r0])
        return xn, f, g

    def measure(self, x, i):
        (r0, _, _), (dr0, _, _) = self.resistances(x[3])
        v, slope = self.ocv(x[0])
        return np.array([v - r0 * i - x[1] - x[2], x[3]])

    def measure_jacobian(self, x, i):
        (_, _, _), (dr0, _, _) = self.resistances(x[3])
        _, slope = self.ocv(x[0])
        return np.array([[slope, -1.0, -1.0, -i * dr0], [0.0, 0.0, 0.0, 1.0]])


class ModelEkf(ExtendedKalmanFilter):
    """filterpy's EKF with the nonlinear state transition (filterpy's default predict_x is F x)."""

    def __init__(self, model):
        super().__init__(dim_x=4, dim_z=2)
        self.model = model
        self.next_x = None

    def predict_x(self, u=0):
        self.x = self.next_x


@pytest.mark.parametrize("soc0", [0.3, 0.05])
def test_same_as_filterpy_extended_kalman_filter(soc0):
    d = np.genfromtxt(DATA, delimiter=",", names=True)
    keep = np.arange(len(d["t_s"])) % 3 != 2  # drop every third row: dt alternates 1 s and 2 s
    t, cur, volt = d["t_s"][keep][:2500], d["current_meas_a"][keep][:2500], d["voltage_meas_v"][keep][:2500]
    temp = d["temperature_meas_c"][keep][:2500] + battery.ZERO_CELSIUS_K
    cfg = estimation.make_config(soc0=soc0, temp0_k=float(temp[0]), gate_probability=1.0)
    ours = estimation.BatteryEkf(cfg)

    model = RefCell1()
    fp = ModelEkf(model)
    fp.x = np.array([cfg.soc0, cfg.v1_0_v, cfg.v2_0_v, cfg.temp0_k])
    fp.P = np.diag([cfg.soc_sigma0**2, cfg.v_rc_sigma0_v**2, cfg.v_rc_sigma0_v**2, cfg.temp_sigma0_k**2])
    rw = np.array([cfg.soc_rw_per_sqrt_s, cfg.v_rc_rw_v_per_sqrt_s, cfg.v_rc_rw_v_per_sqrt_s, cfg.temp_rw_k_per_sqrt_s])

    for k in range(len(t)):
        dt = t[k] - t[k - 1] if k > 0 else 1.0
        if k > 0:  # predict under the previous sample's current (zero-order hold)
            xn, f, g = model.transition(fp.x, cur[k - 1], dt)
            fp.next_x, fp.F = xn, f
            fp.Q = cfg.current_sigma_a**2 * np.outer(g, g) + np.diag(rw**2 * dt)
            fp.predict()
        # R: sensor + model error inflated by its correlation time + current noise through R0
        r_v = (cfg.voltage_a_sigma_v**2 + cfg.voltage_model_sigma_v**2 * max(1.0, cfg.voltage_model_correlation_s / dt)
               + (0.021 * cfg.current_sigma_a) ** 2)
        fp.update(np.array([volt[k], temp[k]]), model.measure_jacobian, model.measure,
                  R=np.diag([r_v, cfg.temperature_sigma_k**2]), args=(cur[k],), hx_args=(cur[k],))
        ours.step(cur[k], volt[k], temp[k], dt_s=dt)
        np.testing.assert_allclose(ours.state, fp.x, rtol=1e-9, atol=1e-12, err_msg=f"state, row {k}")
        np.testing.assert_allclose(ours.covariance, fp.P, rtol=1e-9, atol=1e-15, err_msg=f"P, row {k}")
        assert ours.report["innovation"][0] == pytest.approx(fp.y[0], rel=1e-7, abs=1e-12)
    # and the run went somewhere: from the guess to the DFN's SOC
    assert abs(ours.soc - d["soc_true"][keep][2499]) < 0.03
