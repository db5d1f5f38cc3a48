"""The semi-Markov regime load model: its MLE against hand counts, its log-likelihood against
scipy.stats, samples against the model's closed-form statistics, the shipped models against a
refit, and `safetwin campaign fit-load`."""
import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from safetwin import cli
from safetwin.campaign import regime, spec
from safetwin.campaign import simulate as sim

ROOT = Path(__file__).resolve().parent.parent

# A hand-made log: three current levels, the segments (level index, dwell in samples) by hand.
LEVELS = np.array([-1.0, 0.5, 2.0])
HAND = [(1, 3), (2, 2), (1, 1), (0, 4), (1, 2), (2, 5), (0, 1), (1, 3), (2, 1), (1, 2), (0, 2), (2, 3), (1, 4)]
# Transitions counted by hand from HAND: 1->2 three times, 2->1 three times, 1->0 twice,
# 0->1 twice, 2->0 once, 0->2 once.
COUNTS = np.array([[0, 2, 1],
                   [2, 0, 3],
                   [1, 3, 0]], dtype=float)


def hand_log() -> np.ndarray:
    return np.concatenate([np.full(d, LEVELS[s]) for s, d in HAND])


def test_the_mle_transition_matrix_is_the_normalised_transition_counts():
    m = regime.fit([hand_log()], dt_s=1.0, n_levels=3)
    np.testing.assert_allclose(m.levels_a, LEVELS, rtol=0, atol=1e-12)
    np.testing.assert_allclose(m.transition, COUNTS / COUNTS.sum(axis=1, keepdims=True), rtol=0, atol=1e-15)
    seg = regime.segments(hand_log(), m.levels_a)
    assert seg.states.tolist() == [s for s, _ in HAND] and seg.dwells.tolist() == [d for _, d in HAND]


def _scipy_loglik(m, states, dwells) -> float:
    """The same log-likelihood from scipy.stats.nbinom (D - 1 ~ NB(r, p)); the last dwell censored."""
    ll = sum(math.log(m.transition[a, b]) for a, b in zip(states[:-1], states[1:]))
    for i, (s, d) in enumerate(zip(states, dwells)):
        r, p = m.dwell_r[s], m.dwell_p[s]
        ll += stats.nbinom.logpmf(d - 1, r, p) if i < len(states) - 1 else stats.nbinom.logsf(d - 2, r, p)
    return float(ll)


def test_the_log_likelihood_agrees_with_scipy_stats_on_the_same_sequence():
    m = regime.fit([hand_log()], dt_s=1.0, n_levels=3)
    states, dwells = [s for s, _ in HAND], [d for _, d in HAND]
    expected = _scipy_loglik(m, states, dwells)
    assert m.log_likelihood(regime.Segments(np.array(states), np.array(dwells))) == pytest.approx(expected, rel=1e-12)
    assert m.provenance["log_likelihood"] == pytest.approx(expected, rel=1e-12)
    # and on a model with other dwell parameters (not only at the fitted point)
    other = regime.RegimeModel(m.levels_a, m.transition, np.array([0.7, 3.0, 12.0]), np.array([0.2, 0.55, 0.9]), 1.0)
    assert other.log_likelihood(regime.Segments(np.array(states), np.array(dwells))) == \
        pytest.approx(_scipy_loglik(other, states, dwells), rel=1e-12)


def test_the_fitted_dwell_parameters_maximise_the_scipy_likelihood():
    log = np.r_[hand_log(), hand_log()[::-1], hand_log()]
    m = regime.fit([log], dt_s=1.0, n_levels=3)
    seg = regime.segments(log, m.levels_a)
    base = _scipy_loglik(m, seg.states, seg.dwells)
    for level in range(3):
        for dr, dp in ((1.02, 1.0), (0.98, 1.0), (1.0, 1.01), (1.0, 0.99)):
            if dr > 1 and m.dwell_r[level] >= regime.R_MAX * 0.999:
                continue  # the MLE is at the bound r -> infinity (a Poisson dwell): no move outward
            r, p = m.dwell_r.copy(), m.dwell_p.copy()
            r[level] *= dr
            p[level] = min(p[level] * dp, 1.0)
            moved = regime.RegimeModel(m.levels_a, m.transition, r, p, 1.0)
            assert _scipy_loglik(moved, seg.states, seg.dwells) <= base + 1e-9


def test_sampled_profiles_reproduce_the_model_occupancy_and_mean_current():
    """M independent profiles of N segments, each started from the embedded chain's stationary
    distribution: the share of segments at each level has mean pi exactly; time shares and the
    mean current are ratios of means (delta-method CLT interval over the replicates)."""
    m = regime.shipped("udds")
    # 3 K + 1 interval checks, each at 1 - 0.001 / (3 K + 1) (Bonferroni): 99.9 % for them all
    z = float(stats.norm.ppf(1 - 0.0005 / (3 * m.k + 1)))
    rng = np.random.default_rng(2024)
    M, N = 400, 40
    seg_share = np.empty((M, m.k))
    time_at = np.empty((M, m.k))
    charge = np.empty(M)
    total = np.empty(M)
    first = np.zeros(m.k)
    for j in range(M):
        sg = m.sample_segments(rng, n_segments=N)
        assert sg.states.size == N and not sg.censored_last
        first[sg.states[0]] += 1
        seg_share[j] = np.bincount(sg.states, minlength=m.k) / N
        time_at[j] = np.bincount(sg.states, weights=sg.dwells, minlength=m.k)
        charge[j] = np.sum(m.levels_a[sg.states] * sg.dwells)
        total[j] = sg.dwells.sum()
    pi = m.stationary()
    half = z * seg_share.std(axis=0, ddof=1) / math.sqrt(M)
    assert np.all(np.abs(seg_share.mean(axis=0) - pi) <= half)
    # the first segment's level is a multinomial draw from pi: a binomial interval per level
    half_first = z * np.sqrt(pi * (1 - pi) / M)
    assert np.all(np.abs(first / M - pi) <= half_first)

    def ratio_ok(a, b, truth):
        r = a.sum() / b.sum()
        se = np.std(a - r * b, ddof=1) / math.sqrt(M) / b.mean()
        return abs(r - truth) <= z * se

    occ = m.occupancy()
    for i in range(m.k):
        assert ratio_ok(time_at[:, i], total, occ[i]), i
    assert ratio_ok(charge, total, m.mean_current_a())


def test_a_profile_covers_the_duration_on_the_campaign_grid():
    m = regime.shipped("us06")
    rng = np.random.default_rng(3)
    prof = m.profile(rng, 1800.0, 0.5, scale=2.0)
    assert prof.shape == (3600,)
    assert set(np.unique(prof)) <= set(2.0 * m.levels_a)
    assert np.all(prof[0::2] == prof[1::2])  # the model's 1 s samples held over two 0.5 s steps


def _shipped_fitter():
    s = importlib.util.spec_from_file_location("fit_load_models", ROOT / "tools" / "fit_load_models.py")
    mod = importlib.util.module_from_spec(s)
    s.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", regime.SHIPPED)
def test_the_shipped_models_are_the_fit_of_their_drive_cycle(name):
    shipped = regime.shipped(name)
    refit = _shipped_fitter().fit_shipped(name)
    np.testing.assert_allclose(shipped.levels_a, refit.levels_a, rtol=1e-12)
    np.testing.assert_allclose(shipped.transition, refit.transition, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(shipped.dwell_r, refit.dwell_r, rtol=1e-6)
    np.testing.assert_allclose(shipped.dwell_p, refit.dwell_p, rtol=1e-6)
    assert shipped.capacity_ah == 5.0 and "drive_cycles" in shipped.provenance["source"]
    # the model's long-run mean current is the cycle's (quantised) mean within 2 %
    assert shipped.mean_current_a() == pytest.approx(shipped.provenance["quantised_mean_current_a"], rel=0.02)


def _write_log(path: Path, current, dt_s=1.0) -> Path:
    t = np.arange(len(current)) * dt_s
    path.write_text("t_s,current_a\n" + "".join(f"{float(a)!r},{float(b)!r}\n" for a, b in zip(t, current)))
    return path


def test_cli_fit_load_writes_the_model_the_library_fits(tmp_path, capsys):
    from safetwin import drive_cycles

    a = _write_log(tmp_path / "a.csv", drive_cycles.cell_current("udds"))
    b = _write_log(tmp_path / "b.csv", drive_cycles.cell_current("hwfet"))
    out = tmp_path / "model.toml"
    assert cli.main(["campaign", "fit-load", str(a), str(b), "-o", str(out), "--levels", "5", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    direct = regime.fit([drive_cycles.cell_current("udds"), drive_cycles.cell_current("hwfet")], 1.0, 5)
    np.testing.assert_allclose(got["levels_a"], direct.levels_a, rtol=1e-12)
    np.testing.assert_allclose(got["transition"], direct.transition, rtol=1e-12, atol=1e-15)
    assert got["log_likelihood"] == pytest.approx(direct.provenance["log_likelihood"], rel=1e-9)
    model = regime.RegimeModel.from_toml(out.read_text())
    np.testing.assert_allclose(model.dwell_r, direct.dwell_r, rtol=1e-12)
    # a campaign accepts the file as a law
    text = f"""[campaign]
name = "mine"
n = 2
duration_s = 60.0
[failure]
event = "robust_voltage_max_v < 0"
[variables.soc0]
dist = "uniform"
low = 0.3
high = 0.9
[fixed]
law = "regime:{out}"
"""
    spec.loads(text)


@pytest.mark.parametrize("content, message", [
    ("time,i\n0,1\n1,2\n", "line 1"),
    ("t_s,current_a\n0,1\n1,x\n", "line 3"),
    ("t_s,current_a\n0,1\n1,2\n3,2\n", "fixed interval"),
    ("t_s,current_a\n0,1\n1,nan\n", "must be finite"),
])
def test_cli_fit_load_refuses_bad_logs_in_one_line(tmp_path, capsys, content, message):
    p = tmp_path / "bad.csv"
    p.write_text(content)
    assert cli.main(["campaign", "fit-load", str(p)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and str(p) in err and message in err


def test_a_campaign_refuses_a_missing_load_model_file(tmp_path):
    text = """[campaign]
n = 2
[failure]
event = "robust_voltage_max_v < 0"
[variables.soc0]
dist = "uniform"
low = 0.3
high = 0.9
[fixed]
law = "regime:/nonexistent/model.toml"
"""
    with pytest.raises(spec.CampaignError, match="fixed.law.*cannot read the load model"):
        spec.loads(text, "c.toml")


def test_a_closed_loop_sample_follows_its_regime_profile():
    """A cell at mid SOC on the UDDS regime profile: the true current is the profile (no derate
    at 0.5C), so its largest discharge is the largest level the profile used, scaled to the cell."""
    model = regime.shipped("udds")
    scale = 5.15 / model.capacity_ah  # REF-CELL-1 is a 5.15 Ah cell
    rng = np.random.default_rng(11)
    rec = sim.simulate({"topology": "cell", "law": "regime_udds", "soc0": 0.6}, rng, 300.0, 1.0)
    assert np.min(np.abs(model.levels_a * scale - rec["max_discharge_cell_current_a"])) < 1e-9
    assert rec["violated"] is False and rec["nonfinite_commands"] == 0 and not rec["safe_stop"]
