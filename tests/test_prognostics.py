"""Bayesian degradation-rate model: exact conjugate posteriors, RUL, and calibration on a fleet."""
import numpy as np
import pytest
from scipy import stats

from safetwin.diagnostics.prognostics import DegradationModel, DegradationPrior
from safetwin.diagnostics.synthetic import FleetSpec, binomial_interval, evaluate_prognostics, make_fleet


def _data(seed=0, n=40):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.001, 0.004, n)
    g = np.cumsum(d)
    sigma = rng.uniform(0.003, 0.008, n)
    y_fade = 0.01 + 1.3 * g + rng.normal(0, sigma)
    return d, g, sigma, y_fade


def test_known_noise_posterior_equals_bayesian_linear_regression():
    d, g, sigma, y = _data()
    prior = DegradationPrior(fade0_mean=0.0, fade0_sigma=0.02, rate_mean=1.0, rate_sigma=0.5)
    model = DegradationModel(1, prior)
    for k in range(len(d)):
        model.update([d[k]], [1.0 - y[k]], [sigma[k]])
    mean, cov, dof = model.posterior()
    # Closed form: y = [1, G] beta + eps, beta ~ N(m0, V0), eps ~ N(0, diag sigma^2).
    x = np.column_stack([np.ones_like(g), g])
    v0_inv = np.diag([1 / 0.02**2, 1 / 0.5**2])
    w = np.diag(1 / sigma**2)
    vn = np.linalg.inv(v0_inv + x.T @ w @ x)
    mn = vn @ (v0_inv @ np.array([0.0, 1.0]) + x.T @ w @ y)
    # The filter's fade is the fade now: x_n = beta0 + beta1 G_n, so map the regression posterior.
    a = np.array([[1.0, g[-1]], [0.0, 1.0]])
    np.testing.assert_allclose(mean[0], a @ mn, rtol=1e-9)
    np.testing.assert_allclose(cov[0], a @ vn @ a.T, rtol=1e-7)
    assert np.isinf(dof[0])


def test_inverse_gamma_posterior_equals_normal_inverse_gamma_regression():
    d, g, sigma, y = _data(seed=2)
    nu0 = 4.0
    prior = DegradationPrior(fade0_sigma=0.02, rate_sigma=0.5, noise="inverse_gamma", noise_dof0=nu0)
    model = DegradationModel(1, prior)
    s = 0.5 * sigma  # the given sigmas are wrong by a factor 2: the scale has to find it
    for k in range(len(d)):
        model.update([d[k]], [1.0 - y[k]], [s[k]])
    mean, cov, dof = model.posterior()
    # NIG closed form: beta | phi ~ N(m0, V0 / phi), eps ~ N(0, W^-1 / phi), phi ~ Gamma(nu0/2, nu0/2).
    x = np.column_stack([np.ones_like(g), g])
    v0_inv = np.diag([1 / 0.02**2, 1 / 0.5**2])
    m0 = np.array([0.0, 1.0])
    w = np.diag(1 / s**2)
    vn = np.linalg.inv(v0_inv + x.T @ w @ x)
    mn = vn @ (v0_inv @ m0 + x.T @ w @ y)
    an = nu0 / 2 + len(y) / 2
    bn = nu0 / 2 + 0.5 * (y @ w @ y + m0 @ v0_inv @ m0 - mn @ np.linalg.inv(vn) @ mn)
    a = np.array([[1.0, g[-1]], [0.0, 1.0]])
    assert dof[0] == pytest.approx(2 * an)
    np.testing.assert_allclose(mean[0], a @ mn, rtol=1e-9)
    np.testing.assert_allclose(cov[0], (bn / an) * (a @ vn @ a.T), rtol=1e-7)
    assert bn / an == pytest.approx(4.0, rel=0.6)  # the scale found the factor 2 in sigma (variance 4)


def test_rul_without_process_noise_inverts_the_plan():
    model = DegradationModel(1, DegradationPrior(fade0_sigma=1e-6, rate_sigma=1e-6, rate_mean=2.0))
    future = np.linspace(0.001, 0.2, 200)[None, :]  # axis after each future cycle
    rul = model.rul(future, eol_capacity_rel=0.8)
    # x = 0, a = 2: end of life when 2 * G >= 0.2, i.e. G >= 0.1: the first cycle with G >= 0.1.
    k = np.argmax(future[0] >= 0.1)  # linear between the ends of cycles k and k + 1
    assert rul.median[0] == pytest.approx(k + (0.1 - future[0, k - 1]) / (future[0, k] - future[0, k - 1]))
    assert rul.ci90[0] == pytest.approx([rul.median[0]] * 2, abs=0.01)  # a prior of width 1e-6: no spread
    far = model.rul(future * 0.1)  # the plan never reaches EOL
    assert np.isinf(far.median[0]) and far.p_beyond_horizon[0] == 1.0


def test_rul_with_process_noise_is_the_inverse_gaussian_first_passage():
    # A rate known exactly, a random walk eta with variance q per unit of axis, an axis linear in
    # cycles (c per cycle): the first passage of x = a c n + W(q c n) to x_eol is inverse Gaussian
    # with mean x_eol / (a c) and shape x_eol^2 / (q c) (Brownian motion with drift).
    a, c, q, x_eol = 1.0, 1e-3, 2e-4, 0.2
    model = DegradationModel(1, DegradationPrior(fade0_mean=0.0, fade0_sigma=1e-9, rate_mean=a, rate_sigma=1e-9,
                                                 process_sigma=np.sqrt(q)))
    horizon = 2000
    rul = model.rul(c * np.arange(1, horizon + 1)[None, :], eol_capacity_rel=1 - x_eol, samples=20000,
                    rng=np.random.default_rng(5))
    mean_t, shape_t = x_eol / (a * c), x_eol**2 / (q * c)
    ig = stats.invgauss(mu=mean_t / shape_t, scale=shape_t)
    # 20000 draws: the sampling error of these quantiles is about 0.1 cycle (sd of T about 6 cycles).
    assert rul.median[0] == pytest.approx(ig.median(), abs=0.5)
    assert rul.ci90[0, 0] == pytest.approx(ig.ppf(0.05), abs=0.7)
    assert rul.ci90[0, 1] == pytest.approx(ig.ppf(0.95), abs=0.7)
    # Plan deviation alone (axis_sigma) enters the same way, scaled by the rate: a^2 sigma^2 = q.
    model0 = DegradationModel(1, DegradationPrior(fade0_sigma=1e-9, rate_mean=a, rate_sigma=1e-9))
    rul_axis = model0.rul(c * np.arange(1, horizon + 1)[None, :], axis_sigma=np.sqrt(q) / a,
                          eol_capacity_rel=1 - x_eol, samples=20000, rng=np.random.default_rng(6))
    assert rul_axis.median[0] == pytest.approx(ig.median(), abs=0.5)
    assert rul_axis.ci90[0, 1] == pytest.approx(ig.ppf(0.95), abs=0.7)


def test_bad_input_is_refused_and_names_the_field():
    with pytest.raises(ValueError, match="DegradationPrior.rate_sigma"):
        DegradationPrior(rate_sigma=0.0)
    with pytest.raises(ValueError, match="DegradationPrior.noise"):
        DegradationPrior(noise="student")
    model = DegradationModel(2)
    before = model.posterior()[0].copy()
    with pytest.raises(ValueError, match="d_axis"):
        model.update([-0.1, 0.1], [0.99, 0.99], [0.01, 0.01])
    with pytest.raises(ValueError, match="capacity_sigma"):
        model.update([0.1, 0.1], [0.99, 0.99], [0.0, 0.01])
    np.testing.assert_array_equal(model.posterior()[0], before)  # nothing changed
    with pytest.raises(ValueError, match="eol_capacity_rel"):
        model.rul(np.ones((2, 3)), eol_capacity_rel=1.2)
    with pytest.raises(ValueError, match="non-decreasing"):
        model.rul(np.array([[0.1, 0.05], [0.1, 0.2]]))


@pytest.fixture(scope="module")
def fleet_scores():
    # 2000 cells: the Clopper-Pearson 95 % interval of a coverage near 0.9 is about +-0.013.
    fleet = make_fleet(FleetSpec(cells=2000), seed=11)
    assert np.all(fleet["eol_interval"] > 0), "every cell must reach end of life within the horizon"
    return evaluate_prognostics(fleet, lambdas=(0.25, 0.5, 0.75), seed=3)


def test_fleet_rul_90_percent_intervals_cover_88_to_92_percent(fleet_scores):
    for lam, r in fleet_scores.items():
        assert 0.88 <= r["coverage"] <= 0.92, (lam, r)
    # From half life on, the nominal 90 % is inside the binomial interval of the measured coverage
    # (at lambda = 0.25 the coverage is about 0.88: slightly short, from the Gaussian prior on a
    # lognormal rate spread and a usage variability estimated from few intervals).
    for lam in (0.5, 0.75):
        lo, hi = fleet_scores[lam]["coverage_ci95"]
        assert lo <= 0.90 <= hi, (lam, fleet_scores[lam])


def test_fleet_alpha_lambda_accuracy_from_half_life(fleet_scores):
    for lam in (0.5, 0.75):
        assert fleet_scores[lam]["alpha_lambda"] >= 0.80, fleet_scores[lam]


def test_binomial_interval_is_clopper_pearson():
    lo, hi = binomial_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))
