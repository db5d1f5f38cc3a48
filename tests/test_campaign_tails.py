"""The GPD tail with its threshold chosen by parameter stability, on distributions whose tail is
known in closed form."""
import math

import numpy as np
import pytest
from scipy import stats

from safetwin.campaign import tails

# A bulk uniform on [0, 0.9] (70 %) and a Pareto tail (xm = 1, alpha = 3; 30 %): above u >= 1 the
# excesses are exactly GPD(xi = 1/3, sigma = u/3), and P(X > t) = 0.3 t^-3 for t >= 1.
ALPHA, TAIL_SHARE = 3.0, 0.3


def mixture(n, seed):
    rng = np.random.default_rng(seed)
    tail = rng.random(n) < TAIL_SHARE
    return np.where(tail, (1.0 - rng.random(n)) ** (-1.0 / ALPHA), 0.9 * rng.random(n))


def test_mean_residual_life_of_exponential_data_is_its_mean_at_every_threshold():
    x = np.random.default_rng(1).exponential(2.0, 20000)  # memoryless: e(u) = 2 for every u
    for row in tails.mean_residual_life(x, [0.0, 1.0, 2.0, 4.0]):
        assert row["ci95"][0] - 1e-12 <= 2.0 <= row["ci95"][1] + 1e-12, row


def test_the_selected_threshold_is_where_the_excesses_become_gpd_and_the_tail_is_right():
    x = mixture(5000, seed=7)
    limit = 6.0
    truth = TAIL_SHARE * limit ** -ALPHA
    auto = tails.fit(x, None, limit, seed=7)
    assert auto["threshold_selected"] and auto["threshold"] >= 0.9  # nothing of the bulk lies above 0.9
    assert auto["ci95"][0] <= truth <= auto["ci95"][1]
    shape_se = (1 + auto["shape"]) / math.sqrt(auto["n_excesses"])
    assert abs(auto["shape"] - 1 / ALPHA) <= 1.96 * shape_se
    # at a threshold inside the bulk the fit describes the bulk: its interval misses the truth
    low = tails.fit(x, 0.0, limit, seed=7)
    assert not (low["ci95"][0] <= truth <= low["ci95"][1])


def test_exponential_exceedances_give_the_closed_form_tail():
    x = np.random.default_rng(3).exponential(1.0, 5000)
    limit = 7.0
    res = tails.fit(x, None, limit, seed=3)
    truth = math.exp(-limit)
    assert res["ci95"][0] <= truth <= res["ci95"][1]
    shape_se = (1 + res["shape"]) / math.sqrt(res["n_excesses"])
    assert abs(res["shape"]) <= 1.96 * shape_se  # xi = 0 for exponential excesses


def test_too_few_samples_give_no_threshold_and_say_why():
    res = tails.fit(np.arange(30.0), None, 100.0)
    assert res["p_exceed"] is None and "needed" in res["reason"]


def test_gpd_excess_probability_is_scipys_for_a_fixed_threshold():
    x = stats.genpareto.rvs(0.2, scale=1.5, size=4000, random_state=11)
    res = tails.fit(x, 0.0, 10.0, seed=0)
    c, _, scale = stats.genpareto.fit(x, floc=0.0)
    assert res["p_exceed"] == pytest.approx(stats.genpareto.sf(10.0, c, scale=scale), rel=1e-9)
