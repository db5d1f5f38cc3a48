"""Subset simulation (Au & Beck 2001) against the closed-form family's exact probability."""
import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from safetwin.campaign import closed_form, distributions, engine, spec, subset

FAMILY = """
[campaign]
name = "cf_subset"
family = "closed_form"
seed = 0
n = {n}
method = "subset"
batch_size = {batch}
[failure]
event = "soc0 > 0.97 and severity > 0.7"
[subset]
p0 = 0.1
[variables.soc0]
dist = "uniform"
low = 0.0
high = 1.0
[variables.severity]
dist = "beta"
a = 2.0
b = 5.0
low = 0.0
high = 1.0
[variables.fault]
dist = "categorical"
values = ["none", "cooling_loss", "internal_short"]
probs = [0.5, 0.3, 0.2]
"""


def family(n=1000, batch=100000) -> spec.Campaign:
    return spec.loads(FAMILY.format(n=n, batch=batch))


def test_the_standard_normal_map_gives_each_variable_its_distribution():
    u = np.array([-2.0, -0.3, 0.0, 1.1, 7.5])
    beta = distributions.Beta(0.0, 1.0, 2.0, 5.0)
    x = subset.to_x(beta, u)
    # the beta's tail probabilities at x are the normal's at u (each side where it is small)
    np.testing.assert_allclose(np.where(u <= 0, stats.beta(2, 5).cdf(x), stats.beta(2, 5).sf(x)),
                               np.where(u <= 0, stats.norm.cdf(u), stats.norm.sf(u)), rtol=1e-9)
    assert subset.to_x(beta, np.array([9.0]))[0] < 1.0  # far tail: the upper quantile, not 1 by rounding
    cat = distributions.Categorical(("a", "b", "c"), (0.5, 0.3, 0.2))
    # Phi(u) below 0.5 -> a, in [0.5, 0.8) -> b, above -> c
    assert list(subset.to_x(cat, stats.norm.ppf([0.49, 0.51, 0.79, 0.81]))) == ["a", "b", "b", "c"]


def test_gamma_of_constant_chains_is_ns_minus_one_and_of_iid_chains_near_zero():
    ns = 10
    const = np.repeat(np.array([1, 0, 0, 1, 0, 0, 0, 0, 0, 0])[:, None], ns, axis=1).astype(float)
    # rho(k) = 1 for every lag: gamma = 2 sum_{k=1}^{Ns-1} (1 - k/Ns) = Ns - 1
    assert subset.gamma(const, ns) == pytest.approx(ns - 1, rel=1e-12)
    iid = (np.random.default_rng(0).random((2000, ns)) < 0.1).astype(float)
    assert abs(subset.gamma(iid, ns)) < 0.1


def test_one_campaign_interval_covers_the_exact_probability_and_reports_its_cov():
    c = family(n=1000)
    truth = closed_form.exact_probability(c)
    s = engine.run(c).summary
    assert s["method"] == "subset" and s["ci95"][0] <= truth <= s["ci95"][1]
    # P = 3.3e-4 with p0 = 0.1: three intermediate levels and the final one
    assert len(s["levels"]) == math.ceil(math.log(truth) / math.log(0.1))
    assert 0 < s["cov"] < 1
    # simulations: 1000 at level 0, then 1000 - 100 seeds' copies per conditional level
    assert s["n_scenarios"] == 1000 + (len(s["levels"]) - 1) * 900


def test_repeated_campaigns_are_unbiased_and_their_spread_lies_between_the_cov_bounds():
    c = family(n=500)
    truth = closed_form.exact_probability(c)
    R = 50
    est, cov, cov_upper, covered = [], [], [], 0
    for seed in range(R):
        s = engine.run(dataclasses.replace(c, seed=seed)).summary
        est.append(s["p_failure"])
        cov.append(s["cov"])
        cov_upper.append(s["cov_upper"])
        covered += s["ci95"][0] <= truth <= s["ci95"][1]
    est = np.array(est)
    z = stats.norm.ppf(0.9995)
    assert abs(est.mean() - truth) <= z * est.std(ddof=1) / math.sqrt(R)
    # the empirical coefficient of variation, within its chi-square interval, lies between Au & Beck's
    # bounds: levels uncorrelated (cov) and fully correlated (cov_upper)
    emp = est.std(ddof=1) / truth
    lo, hi = math.sqrt(stats.chi2.ppf(0.0005, R - 1) / (R - 1)), math.sqrt(stats.chi2.ppf(0.9995, R - 1) / (R - 1))
    assert emp / np.mean(cov) >= lo and emp / np.mean(cov_upper) <= hi, (emp, np.mean(cov), np.mean(cov_upper))
    # the interval (on cov_upper) covers the truth at least as often as a 95 % one would
    assert stats.binom.cdf(covered, R, 0.95) > 0.001, covered
    print(f"subset: mean {est.mean():.3e} vs {truth:.3e}, coverage {covered}/{R}, cov empirical {emp:.3f}, "
          f"reported {np.mean(cov):.3f} (lower) {np.mean(cov_upper):.3f} (upper)")


def test_records_do_not_depend_on_the_batching():
    a = engine.run(family(n=200, batch=100000))
    b = engine.run(family(n=200, batch=30))  # 3 chains of 10 per task
    assert a.summary["p_failure"] == b.summary["p_failure"]
    strip = ("wall_s",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in a.rows] == \
        [{k: v for k, v in r.items() if k not in strip} for r in b.rows]


def test_a_partial_subset_campaign_resumes_to_the_uninterrupted_result(tmp_path):
    from safetwin.campaign import execution

    c = family(n=200, batch=50)
    full = engine.run(c)
    with pytest.raises(execution.Interrupted):
        engine.run(c, out_dir=tmp_path, max_batches=1)
    with pytest.raises(execution.Interrupted):
        engine.run(c, out_dir=tmp_path, max_batches=3)  # finishes level 0, stops inside level 1
    resumed = engine.run(c, out_dir=tmp_path)
    assert resumed.summary["p_failure"] == full.summary["p_failure"]
    assert resumed.summary["ci95"] == full.summary["ci95"]


@pytest.mark.parametrize("edit, message", [
    (("n = 1000", "n = 1005"), "multiple of 1/p0"),
    (("p0 = 0.1", "p0 = 0.3"), "1/p0 must be an integer"),
])
def test_bad_subset_settings_are_refused_naming_the_key(edit, message):
    text = FAMILY.format(n=1000, batch=100).replace(*edit)
    with pytest.raises(spec.CampaignError, match=message):
        spec.loads(text, "s.toml")


CLOSED_LOOP = """
[campaign]
name = "cl_subset"
family = "closed_loop"
seed = 3
n = 20
method = "subset"
batch_size = {batch}
duration_s = 120.0
[failure]
event = "robust_voltage_max_v < 0"
[subset]
p0 = 0.1
max_levels = 2
[variables.soc0]
dist = "uniform"
low = 0.5
high = 0.95
[variables.severity]
dist = "uniform"
low = 0.0
high = 1.0
[fixed]
topology = "cell"
law = "const_3c"
fault = "voltage_offset"
onset_s = 10.0
"""


def test_closed_loop_chains_stay_in_their_level_and_do_not_depend_on_the_batching():
    from test_campaign_execution import _equal  # records equal field by field, NaN equal to NaN

    runs = [engine.run(spec.loads(CLOSED_LOOP.format(batch=b))) for b in (10, 20)]
    assert _equal(runs[0].rows, runs[1].rows)
    s = runs[0].summary
    levels = [lv["threshold"] for lv in s["levels"]]
    assert levels[0] is None and levels[1] > levels[2]  # nested levels: thresholds decrease
    # every state of the last level's chains is inside that level (score <= its threshold), and a
    # state repeated along a chain is the same simulation (its exogenous key), not a new one
    assert all(r["score"] <= levels[-1] for r in runs[0].rows)
    keys = {(r["exo_stage"], r["exo_index"]) for r in runs[0].rows}
    assert len(keys) <= len(runs[0].rows) and s["n_scenarios"] == 20 + 2 * 18


def test_a_campaign_that_neither_samples_nor_fixes_the_topology_is_summarised_with_its_default():
    text = CLOSED_LOOP.format(batch=10).replace('topology = "cell"\n', "").replace('method = "subset"', 'method = "mc"')
    s = engine.run(dataclasses.replace(spec.loads(text), n=2)).summary
    assert s["pack_runs"] == 0 and s["by_fault"]["voltage_offset"]["count"] == 2
