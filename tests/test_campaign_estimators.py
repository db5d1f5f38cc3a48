"""Campaign estimators against closed-form truths: the closed-form family's P(failure) is an
exact integral (scipy CDFs), so the estimators' bias and interval coverage can be measured."""
import dataclasses
import math

import numpy as np
import pytest
from scipy import stats

from safetwin.campaign import closed_form, distributions, engine, estimators, events, sampler, spec
from safetwin.campaign.batch import run_batch

FAMILY = """
[campaign]
name = "cf"
family = "closed_form"
seed = 0
n = {n}
method = "{method}"
batch_size = 100000
[failure]
event = "{event}"
[ce]
stage_n = {stage_n}
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


def family(event: str, method: str, n: int, stage_n: int = 500) -> spec.Campaign:
    return spec.loads(FAMILY.format(event=event, method=method, n=n, stage_n=stage_n))


def test_exact_probability_of_the_intersection_is_the_product_of_scipy_tails():
    c = family("soc0 > 0.97 and severity > 0.7", "ce-is", 1000)
    # by hand: P(U > 0.97) = 0.03; P(Beta(2,5) > 0.7) = (1-x)^5 (1 + 5x) at x = 0.7 (the beta(2,5) tail)
    assert closed_form.exact_probability(c) == pytest.approx(0.03 * 0.3 ** 5 * (1 + 5 * 0.7), rel=1e-12)
    union = family("soc0 > 0.97 or severity > 0.7", "mc", 10)
    assert closed_form.exact_probability(union) == pytest.approx(1 - 0.97 * (1 - 0.3 ** 5 * 4.5), rel=1e-12)


def test_ce_is_interval_covers_the_truth_in_93_to_97_percent_of_200_campaigns():
    c = family("soc0 > 0.97 and severity > 0.7", "ce-is", n=1000, stage_n=500)
    truth = closed_form.exact_probability(c)
    estimates, covered, sims = [], 0, []
    for seed in range(200):
        r = engine.run(dataclasses.replace(c, seed=seed))
        lo, hi = r.summary["ci95"]
        covered += lo <= truth <= hi
        estimates.append(r.summary["p_failure"])
        sims.append(r.summary["n_scenarios"])
    assert 0.93 <= covered / 200 <= 0.97
    # unbiased: the mean of 200 independent estimates within 3 standard errors of the truth
    est = np.array(estimates)
    assert abs(est.mean() - truth) < 3 * est.std(ddof=1) / math.sqrt(200)
    # and far cheaper than crude MC at the same relative precision: (1.96/0.2)^2 (1-p)/p samples
    rel_half = np.median([1.96 * est.std(ddof=1) / truth])
    mc_needed = (1.96 / rel_half) ** 2 * (1 - truth) / truth
    assert mc_needed > 10 * np.mean(sims)


def test_crude_mc_wilson_interval_covers_the_truth_in_93_to_97_percent_of_200_campaigns():
    c = family("soc0 > 0.8 and severity > 0.4", "mc", n=400)
    truth = closed_form.exact_probability(c)
    covered = 0
    for seed in range(200):
        r = engine.run(dataclasses.replace(c, seed=seed))
        lo, hi = r.summary["ci95"]
        covered += lo <= truth <= hi
        assert r.summary["n_failures"] == round(r.summary["p_failure"] * 400)
    assert 0.93 <= covered / 200 <= 0.97


def test_wilson_interval_matches_statsmodels_formula_by_hand():
    # k = 3 of n = 40, z = 1.959964: centre (p + z^2/2n)/(1 + z^2/n), half z sqrt(p(1-p)/n + z^2/4n^2)/(1+z^2/n)
    z = stats.norm.ppf(0.975)
    p = 3 / 40
    centre = (p + z * z / 80) / (1 + z * z / 40)
    half = z * math.sqrt(p * (1 - p) / 40 + z * z / (4 * 1600)) / (1 + z * z / 40)
    assert estimators.wilson(3, 40) == pytest.approx((centre - half, centre + half), rel=1e-12)


def test_weights_are_p_over_q_of_the_defensive_mixture():
    c = family("soc0 > 0.97 and severity > 0.7", "ce-is", 10)
    tilted = {"soc0": distributions.Beta(0.0, 1.0, 30.0, 1.5), "severity": distributions.Beta(0.0, 1.0, 3.0, 2.0),
              "fault": distributions.Categorical(("none", "cooling_loss", "internal_short"), (0.2, 0.5, 0.3))}
    prop = sampler.Proposal(c.variables, tilted, 0.1)
    rows = run_batch(c, 1, prop.params(), list(range(50)))
    for r in rows:
        p = stats.uniform.pdf(r["soc0"]) * stats.beta.pdf(r["severity"], 2, 5) * {"none": 0.5, "cooling_loss": 0.3, "internal_short": 0.2}[r["fault"]]
        q_t = stats.beta.pdf(r["soc0"], 30, 1.5) * stats.beta.pdf(r["severity"], 3, 2) * {"none": 0.2, "cooling_loss": 0.5, "internal_short": 0.3}[r["fault"]]
        assert r["weight"] == pytest.approx(p / (0.1 * p + 0.9 * q_t), rel=1e-9)
        assert r["weight"] <= 10.0 + 1e-9  # a defensive mixture bounds every weight by 1/defensive
        assert r["failure"] == (r["soc0"] > 0.97 and r["severity"] > 0.7)


def test_ce_tilts_toward_the_failure_region_and_keeps_unrelated_variables_nominal():
    c = family("soc0 > 0.97 and severity > 0.7", "ce-is", 1000, stage_n=1000)
    r = engine.run(c)
    last = r.stages[-1]["proposal"]["tilted"]
    soc = distributions.from_params(last["soc0"])
    assert soc.scipy().sf(0.97) > 0.5            # nominal: 0.03
    assert r.summary["n_failures"] > 300          # of 1000: crude MC would see about 0.3
    fault = np.array(last["fault"]["probs"])
    assert np.allclose(fault, [0.5, 0.3, 0.2], atol=0.1)


@pytest.mark.parametrize("text, cols, expected", [
    ("a < 1", {"a": [0.5, 2.0]}, [-0.5, 1.0]),
    ("a > 1 and b < 0", {"a": [2.0, 2.0, 0.0], "b": [-1.0, 3.0, -1.0]}, [-1.0, 3.0, 1.0]),
    ("a > 1 or b < 0", {"a": [2.0, 0.0, 0.0], "b": [3.0, -2.0, 1.0]}, [-1.0, -2.0, 1.0]),
    ("not a > 1", {"a": [2.0, 0.0]}, [1.0, -1.0]),
    ("a > 60", {"a": [np.nan, 10.0]}, [-np.inf, 50.0]),          # NaN (never detected) counts as +inf
    ("flag and a < 0", {"flag": [True, False, True], "a": [-2.0, -2.0, 3.0]}, [-1.0, 1.0, 3.0]),
    ("2 < a", {"a": [3.0, 1.0]}, [-1.0, 1.0]),
])
def test_event_scores_follow_the_quantitative_semantics(text, cols, expected):
    ev = events.parse(text)
    got = ev.score({k: np.asarray(v) for k, v in cols.items()})
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(ev.holds({k: np.asarray(v) for k, v in cols.items()}), np.asarray(expected) < 0)


def test_event_boundaries_and_refusals():
    ev = events.parse("a <= 1")
    assert ev.holds({"a": np.array([1.0])})[0] and not events.parse("a < 1").holds({"a": np.array([1.0])})[0]
    for bad, why in [("a + 1 < 2", "one field and one number"), ("a < b", "one field and one number"), ("1 < a < 2", "comparisons"),
                     ("f(a) < 1", "one field and one number"), ("f(a)", "Call"), ("a == 1", "comparisons"), ("", "non-empty")]:
        with pytest.raises(ValueError, match=why):
            events.parse(bad)
    with pytest.raises(ValueError, match=r"unknown fields \['zz'\]"):
        events.parse("zz < 1", known={"a"})


def test_categorical_and_beta_densities_are_normalised():
    from scipy import integrate

    b = distributions.Beta(-0.05, 0.05, 2.0, 3.0)
    assert integrate.quad(lambda x: math.exp(b.logpdf(x)), -0.05, 0.05)[0] == pytest.approx(1.0, rel=1e-9)
    cat = distributions.Categorical(("x", "y"), (0.25, 0.75))
    assert np.exp(cat.logpdf(np.array(["x", "y"], dtype=object))).sum() == pytest.approx(1.0)
    draws = cat.sample(np.random.default_rng(0), 20000)
    assert abs(np.mean(draws == "y") - 0.75) < 4 * math.sqrt(0.75 * 0.25 / 20000)
