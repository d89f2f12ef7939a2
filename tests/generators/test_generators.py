import numpy as np
import pytest

from autophagy.exceptions import DegenerateFitError, InvalidParameterError
from autophagy.testing import check_generator
from autophagy.vectors import GaussianGenerator, GMMGenerator, KDEGenerator


@pytest.mark.parametrize(
    "generator",
    [GaussianGenerator(), GaussianGenerator(estimator="unbiased"), GMMGenerator(n_components=2), KDEGenerator()],
    ids=["gaussian-mle", "gaussian-unbiased", "gmm", "kde"],
)
def test_conformance(generator):
    check_generator(generator, dim=3)


def test_gaussian_fit_matches_closed_form_estimators(rng):
    x = rng.normal(size=(50, 4))
    mle = GaussianGenerator("mle").fit(x, rng=rng)
    unb = GaussianGenerator("unbiased").fit(x, rng=rng)
    np.testing.assert_allclose(mle.mean_, x.mean(0))
    np.testing.assert_allclose(mle.cov_, np.cov(x.T, ddof=0))
    np.testing.assert_allclose(unb.cov_, np.cov(x.T, ddof=1))


def test_gaussian_biased_samples_have_scaled_covariance(rng):
    g = GaussianGenerator().set_state({"mean": np.array([1.0, -1.0]), "cov": np.array([[2.0, 0.5], [0.5, 1.0]])})
    n = 200_000
    s = g.sample(n, rng=rng, bias=0.5)
    # each covariance entry of a Gaussian sample has sd <= sqrt(2) * max variance / sqrt(n); 5 sd margin
    tol = 5 * np.sqrt(2) * 1.0 / np.sqrt(n)
    np.testing.assert_allclose(np.cov(s.T), 0.5 * g.cov_, atol=tol)
    np.testing.assert_allclose(s.mean(0), g.mean_, atol=5 * np.sqrt(1.0 / n))


def test_gaussian_log_prob_matches_scipy(rng):
    from scipy.stats import multivariate_normal

    x = rng.normal(size=(30, 2))
    g = GaussianGenerator().fit(x, rng=rng)
    np.testing.assert_allclose(g.log_prob(x, bias=0.7), multivariate_normal(g.mean_, 0.7 * g.cov_).logpdf(x))


def test_gaussian_too_few_samples_is_an_error_unless_shrinkage(rng):
    x = rng.normal(size=(4, 6))
    with pytest.raises(InvalidParameterError, match=r"n_samples >= 7 .*shrinkage"):
        GaussianGenerator().fit(x, rng=rng)
    g = GaussianGenerator(shrinkage=True).fit(x, rng=rng)
    assert np.all(np.linalg.eigvalsh(g.cov_) > 0)


def test_non_finite_training_data_is_degenerate(rng):
    x = rng.normal(size=(20, 2))
    x[3, 1] = np.nan
    with pytest.raises(DegenerateFitError):
        GaussianGenerator().fit(x, rng=rng)


def test_gmm_bias_scales_each_component(rng):
    g = GMMGenerator(n_components=2).set_state(
        {"weights": np.array([0.5, 0.5]), "means": np.array([[-10.0], [10.0]]), "covariances": np.ones((2, 1, 1))}
    )
    n = 100_000
    s = g.sample(n, rng=rng, bias=0.25)
    left = s[s[:, 0] < 0, 0]
    # variance of each mode is λ·1 = 0.25; sd of a sample variance ≈ var·sqrt(2/m), 5 sd margin
    assert abs(left.var() - 0.25) < 5 * 0.25 * np.sqrt(2 / len(left))
    assert abs(len(left) / n - 0.5) < 5 * 0.5 / np.sqrt(n)
    mean, cov = g.moments(bias=0.25)
    np.testing.assert_allclose(cov, [[100.0 + 0.25]])


def test_kde_moments_and_bias(rng):
    x = rng.normal(size=(300, 2))
    g = KDEGenerator(bandwidth=0.5).fit(x, rng=rng)
    _, cov = g.moments(bias=0.64)
    np.testing.assert_allclose(cov, np.cov(x.T, ddof=0) + 0.64 * 0.25 * np.eye(2))
    n = 200_000
    s = g.sample(n, rng=rng, bias=0.64)
    # trace of the sample covariance: tolerance 5 sd of a variance estimate of a near-Gaussian
    assert abs(np.trace(np.cov(s.T)) - np.trace(cov)) < 5 * np.trace(cov) * np.sqrt(2 / n) * 2
