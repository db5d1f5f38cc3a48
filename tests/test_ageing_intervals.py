"""The ageing-drift intervals of safetwin diagnose (capacity and R0 factors): calibrated on nominal
runs (diagnostics.ageing_intervals), their coverage on held-out nominal hours, measured with
Clopper-Pearson intervals."""
import json

import numpy as np
import pytest

from safetwin.commands.diagnose import shipped_calibration_path
from safetwin.diagnostics import ageing_intervals, fault_campaign
from safetwin.diagnostics.calibration import load_calibration

HELDOUT_SEED0 = 40_000_000  # the shipped table came from seeds 0..9999
HELDOUT_HOURS = 600


def test_conformal_ranks_are_the_hand_counted_order_statistics():
    # n = 99: the lower rank floor(0.025 * 100) = 2, the upper ceil(0.975 * 100) = 98 (1-based),
    # so of z = 1..99 the interval is [2, 98]; with n = 20 the upper rank 21 > n: +inf.
    assert ageing_intervals._conformal_ranks(np.arange(99, 0, -1.0), 0.95) == (2.0, 98.0)
    lo, hi = ageing_intervals._conformal_ranks(np.arange(1.0, 21.0), 0.95)
    assert lo == -np.inf and hi == np.inf


def test_interval_is_the_pivot_quantiles_around_the_estimate():
    # Three bins by sigma / sigma0 (0.85 -> bin 0, 0.95 -> bin 1, 1.0 -> bin 2): the interval is
    # [v - q_hi sigma, v - q_lo sigma] with that bin's quantiles.
    samples, truth = {}, 1.0
    rng = np.random.default_rng(0)
    for kind in ageing_intervals.KINDS:
        rows = []
        for b, shrink in enumerate((0.85, 0.95, 1.0)):
            z = rng.normal(b, 1.0, 200)
            rows += [(truth + zi * 0.1 * shrink, 0.1 * shrink, truth) for zi in z]
        samples[kind] = rows
    table = ageing_intervals.calibrate(samples, {k: 0.1 for k in ageing_intervals.KINDS})
    t = table["capacity_factor"]
    assert t["runs"] == [200, 200, 200]
    lo, hi = ageing_intervals.interval(table, "capacity_factor", 0.9, 0.095)
    assert lo == pytest.approx(0.9 - t["q_hi"][1] * 0.095) and hi == pytest.approx(0.9 - t["q_lo"][1] * 0.095)
    # Each bin's pivots are N(b, 1): its quantiles lie near b -+ 1.96 (201st-rank spread ~0.2).
    for b in range(3):
        assert t["q_lo"][b] == pytest.approx(b - 1.96, abs=0.5) and t["q_hi"][b] == pytest.approx(b + 1.96, abs=0.5)
    with pytest.raises(ValueError, match="capacity_factor bin 0 .* has 10 nominal runs, needs >= 40"):
        ageing_intervals.calibrate({k: v[190:] for k, v in samples.items()}, {k: 0.1 for k in ageing_intervals.KINDS})


def test_bad_tables_in_a_calibration_file_are_refused(tmp_path):
    data = json.loads(shipped_calibration_path().read_text())
    data["ageing_intervals"]["r0_factor"]["q_hi"] = [1.0, float("nan"), 2.0]
    p = tmp_path / "c.json"
    p.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"ageing_intervals.r0_factor.q_hi = \[1.0, nan, 2.0\]"):
        load_calibration(p)


def test_calibrated_intervals_cover_95_percent_of_heldout_nominal_hours():
    """600 held-out nominal hours of cells aged within spec: the EKF's own +-1.96 sigma holds the
    truth too rarely (its Clopper-Pearson interval lies below 0.95; the benchmark measured 0.89 /
    0.87 of 2000 held-out hours), the calibrated interval as often as its level says (0.95 inside the
    Clopper-Pearson 95 % interval of the measured coverage)."""
    table = load_calibration(shipped_calibration_path())["ageing_intervals"]
    cov = fault_campaign.ageing_interval_coverage(range(HELDOUT_SEED0, HELDOUT_SEED0 + HELDOUT_HOURS), table)
    for kind, per in cov.items():
        assert per["ekf"]["runs"] == HELDOUT_HOURS
        assert per["ekf"]["ci95"][1] < 0.95, (kind, per["ekf"])
        lo, hi = per["calibrated"]["ci95"]
        assert lo <= 0.95 <= hi, (kind, per["calibrated"])
