"""Metric maths against closed forms and reference implementations."""

import numpy as np
import pytest
from scipy.linalg import sqrtm

from autophagy.metrics import functional as F


def random_spd(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_of_two_gaussians_closed_form():
    # W2 between N(0,1) and N(10,1) is 10 (POT's test_gaussian.py); we report it squared.
    assert F.gaussian_frechet([0.0], [[1.0]], [10.0], [[1.0]]) == pytest.approx(100.0)
    # 1-d scale change: W2² = (σ1 - σ2)²
    assert F.gaussian_frechet([0.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1.0)


@pytest.mark.parametrize("d", [1, 3, 16])
def test_frechet_matches_the_sqrtm_form(rng, d):
    c1, c2 = random_spd(rng, d), random_spd(rng, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    reference = np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * np.real(sqrtm(c1 @ c2)))
    assert F.gaussian_frechet(m1, c1, m2, c2) == pytest.approx(reference, rel=1e-8)
    assert F.gaussian_frechet(m1, c1, m2, c2) == pytest.approx(F.gaussian_frechet(m2, c2, m1, c1), rel=1e-8)
    assert F.gaussian_w2(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-9)


def test_frechet_handles_a_collapsed_covariance():
    assert F.gaussian_frechet(np.zeros(2), np.zeros((2, 2)), np.zeros(2), np.eye(2)) == pytest.approx(2.0)


def test_identical_sets_give_zero(rng):
    x = rng.normal(size=(300, 4))
    assert F.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert F.sliced_wasserstein(x, x, rng=rng) == pytest.approx(0.0, abs=1e-9)
    p = F.prdc(x, x, nearest_k=5)
    assert (p["precision"], p["recall"], p["coverage"]) == (1.0, 1.0, 1.0)


def test_frechet_of_samples_converges_to_the_closed_form(rng):
    d, n = 3, 20_000
    c1, c2 = random_spd(rng, d), random_spd(rng, d)
    m2 = np.array([1.0, 0.0, -1.0])
    x = rng.multivariate_normal(np.zeros(d), c1, size=n)
    y = rng.multivariate_normal(m2, c2, size=n)
    exact = F.gaussian_frechet(np.zeros(d), c1, m2, c2)
    # the plug-in estimate has O(1/sqrt(n)) fluctuation (scale: traces ~ d) and O(d/n) bias
    tol = 6 * d * np.max(np.linalg.eigvalsh(c1 + c2)) / np.sqrt(n)
    assert abs(F.frechet_distance(x, y) - exact) < tol


def test_sliced_wasserstein_of_shifted_gaussians(rng):
    # For N(0, I) vs N(m, I) every projection is a 1-d shift by θ·m, so SW2² = E(θ·m)² = ‖m‖²/d
    # up to the finite-sample 1-d W2 error and the projection Monte-Carlo error.
    d, n = 4, 4000
    m = np.array([2.0, 0.0, 0.0, 0.0])
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(n, d)) + m
    sw = F.sliced_wasserstein(x, y, n_projections=2000, rng=rng)
    # (θ·m)² has variance ‖m‖⁴·2(d-1)/(d²(d+2)); over 2000 projections its SE is ~0.012 here
    se = np.sqrt(np.linalg.norm(m) ** 4 * 2 * (d - 1) / (d**2 * (d + 2)) / 2000)
    assert abs(sw**2 - np.sum(m**2) / d) < 5 * se + 0.02  # + the 1-d empirical W2 error at n=4000
    again = F.sliced_wasserstein(x, y, n_projections=50, rng=np.random.default_rng(3))
    assert again == F.sliced_wasserstein(x, y, n_projections=50, rng=np.random.default_rng(3))


def test_mmd_is_unbiased_under_the_null_and_positive_otherwise():
    values = []
    for seed in range(40):
        r = np.random.default_rng(seed)
        values.append(F.mmd_rbf(r.normal(size=(100, 2)), r.normal(size=(100, 2))))
    values = np.array(values)
    # unbiased: the mean over independent repeats is within 3 standard errors of 0
    assert abs(values.mean()) < 3 * values.std(ddof=1) / np.sqrt(len(values))
    r = np.random.default_rng(99)
    assert F.mmd_rbf(r.normal(size=(200, 2)), r.normal(size=(200, 2)) + 1.0) > 10 * values.std(ddof=1)


def test_mmd_blocks_do_not_change_the_value(rng):
    x, y = rng.normal(size=(300, 3)), rng.normal(size=(250, 3)) + 0.3
    assert F.mmd_rbf(x, y, block_size=7) == pytest.approx(F.mmd_rbf(x, y, block_size=4096), rel=1e-10)
    # against a direct dense computation
    h = F.median_heuristic_bandwidth(x, y)
    k = lambda a, b: np.exp(-((a[:, None, :] - b[None, :, :]) ** 2).sum(-1) / (2 * h * h))  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    n, m = len(x), len(y)
    dense = (kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1)) - 2 * kxy.mean()
    assert F.mmd_rbf(x, y) == pytest.approx(dense, rel=1e-10)


@pytest.mark.parametrize("k", [1, 5])
def test_prdc_equals_the_reference_package(rng, k):
    prdc_pkg = pytest.importorskip("prdc", reason="the prdc reference package is a test dependency")
    real = rng.normal(size=(400, 5))
    fake = rng.normal(size=(350, 5)) * 1.3 + 0.2
    ours = F.prdc(real, fake, nearest_k=k, block_size=64)
    theirs = prdc_pkg.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(float(theirs[name]), abs=1e-12), name


def test_precision_and_recall_on_nested_supports(global_seed):
    # fake inside a sub-box of the real box: every fake sample is within the real manifold
    rng = np.random.default_rng(global_seed)
    real = rng.uniform(-1, 1, size=(3000, 2))
    fake = rng.uniform(-0.5, 0.5, size=(3000, 2))
    p = F.prdc(real, fake, nearest_k=5)
    assert p["precision"] > 0.99 and p["recall"] < 0.5
    swapped = F.prdc(fake, real, nearest_k=5)
    assert swapped["recall"] > 0.99 and swapped["precision"] < 0.5


def grid_mixture():
    axis = np.arange(5) * 2.0 - 4.0
    means = np.array([(a, b) for a in axis for b in axis])
    covs = np.broadcast_to(0.01 * np.eye(2), (25, 2, 2)).copy()
    return means, covs, np.full(25, 1 / 25)


def test_modes_covered_counts_visited_modes(global_seed):
    rng = np.random.default_rng(global_seed)
    means, covs, weights = grid_mixture()
    full = means[rng.integers(0, 25, 5000)] + 0.1 * rng.normal(size=(5000, 2))
    assert F.modes_covered(full, means, covs, weights)[0] == 25
    ten = means[rng.integers(0, 10, 5000)] + 0.1 * rng.normal(size=(5000, 2))
    covered, shares = F.modes_covered(ten, means, covs, weights)
    assert covered == 10 and shares[10:].sum() == 0
    # samples far off every mode count for none
    assert F.modes_covered(full * 0 + 100.0, means, covs, weights)[0] == 0


def test_shape_and_value_errors():
    with pytest.raises(ValueError, match="same number of features; got 2 and 3"):
        F.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="at least 2 samples"):
        F.frechet_distance(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="y contains non-finite"):
        F.mmd_rbf(np.zeros((5, 2)), np.full((5, 2), np.nan))
    with pytest.raises(ValueError, match=r"shape \(n_samples, n_features\)"):
        F.prdc(np.zeros(5), np.zeros((5, 1)))
