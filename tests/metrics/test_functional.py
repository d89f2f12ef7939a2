"""Metric maths against closed forms and reference implementations.

Monte-Carlo tolerances are derived, not tuned: each comment gives the standard error (SE) of
the estimate at the sample size used, and the bound is a few SE plus any known O(1/n) bias.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import sqrtm
from scipy.spatial.distance import cdist, pdist
from scipy.stats import chi2, ortho_group

from autophagy.exceptions import InvalidParameterError
from autophagy.metrics import functional as F


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    """A well-conditioned random SPD matrix, shape (d, d)."""
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def sqrtm_frechet(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    """The textbook FID form with scipy's general matrix square root of C1 C2."""
    return float(np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2.0 * np.real(sqrtm(c1 @ c2))))


# --------------------------------------------------------------------------- Gaussian W2


def test_gaussian_frechet_1d_closed_forms() -> None:
    # POT's test_gaussian.py: W2(N(0,1), N(10,1)) = 10; we report it squared.
    assert F.gaussian_frechet([0.0], [[1.0]], [10.0], [[1.0]]) == pytest.approx(100.0, rel=1e-12)
    # in 1-d, W2² = (m1 - m2)² + (σ1 - σ2)²
    assert F.gaussian_frechet(1.0, 4.0, -2.0, 0.25) == pytest.approx(9.0 + 1.5**2, rel=1e-12)
    assert F.gaussian_w2([0.0], [[4.0]], [0.0], [[1.0]]) == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("singular", [False, True])
def test_gaussian_frechet_commuting_covariances_closed_form(
    rng: np.random.Generator, singular: bool
) -> None:
    # For C1 = Q A Qᵀ, C2 = Q B Qᵀ (same eigenbasis) W2² = ‖m1 - m2‖² + Σ (√aᵢ - √bᵢ)².
    # With zeros in A, C1 is singular: the Cholesky path fails and the eigh path is used.
    d = 6
    q = ortho_group.rvs(d, random_state=rng)
    a = rng.uniform(0.5, 3.0, size=d)
    if singular:
        a[:2] = 0.0
    b = rng.uniform(0.5, 3.0, size=d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    c1, c2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    c1, c2 = (c1 + c1.T) / 2, (c2 + c2.T) / 2
    exact = np.sum((m1 - m2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    # singular: eigenvalues of C1 at ±1e-16 leave √λ errors of ~1e-8 in the trace term
    assert F.gaussian_frechet(m1, c1, m2, c2) == pytest.approx(
        exact, rel=1e-6 if singular else 1e-10
    )


def test_gaussian_frechet_of_a_point_mass() -> None:
    # δ_0 vs N(0, I₂): W2² = tr I₂ = 2 (both covariances singular or zero)
    assert F.gaussian_frechet(
        np.zeros(2), np.zeros((2, 2)), np.zeros(2), np.eye(2)
    ) == pytest.approx(2.0)
    assert F.gaussian_frechet(
        np.zeros(2), np.eye(2), np.zeros(2), np.zeros((2, 2))
    ) == pytest.approx(2.0)


@pytest.mark.parametrize("d", [1, 3, 16, 64])
def test_gaussian_frechet_matches_the_sqrtm_form(rng: np.random.Generator, d: int) -> None:
    c1, c2 = random_spd(rng, d), random_spd(rng, d)
    m1, m2 = rng.normal(size=d), rng.normal(size=d)
    ours = F.gaussian_frechet(m1, c1, m2, c2)
    assert ours == pytest.approx(sqrtm_frechet(m1, c1, m2, c2), rel=1e-8)
    assert ours == pytest.approx(F.gaussian_frechet(m2, c2, m1, c1), rel=1e-8)  # symmetry
    assert F.gaussian_w2(m1, c1, m2, c2) == ours
    # the Cholesky fast path and the eigh path compute the same cross term
    assert F._trace_sqrt_product(c1, c2) == pytest.approx(
        F._trace_sqrt_product(c1, c2, factor="eigh"), rel=1e-10
    )
    assert F.gaussian_w2(m1, c1, m1, c1) == pytest.approx(0.0, abs=1e-9 * np.trace(c1))


def test_gaussian_w2_is_a_metric(global_seed: int) -> None:
    # W2 (the square root) is a distance: zero on the diagonal, symmetric, triangle inequality;
    # with equal covariances it reduces to the distance between the means.
    rng = np.random.default_rng(global_seed)
    d = 4
    params = [(rng.normal(size=d), random_spd(rng, d)) for _ in range(3)]
    w = [[np.sqrt(F.gaussian_w2(*p, *q)) for q in params] for p in params]
    for i in range(3):
        assert w[i][i] == pytest.approx(0.0, abs=1e-6)
        for j in range(3):
            assert w[i][j] == pytest.approx(w[j][i], rel=1e-8, abs=1e-12)
            for k in range(3):
                assert w[i][k] <= w[i][j] + w[j][k] + 1e-9
    (m1, c1), (m2, _) = params[:2]
    assert F.gaussian_w2(m1, c1, m2, c1) == pytest.approx(np.sum((m1 - m2) ** 2), rel=1e-8)


# --------------------------------------------------------------------------- from samples


def test_identical_sets_give_zero(rng: np.random.Generator) -> None:
    n = 300
    x = rng.normal(size=(n, 4))
    assert F.frechet_distance(x, x) == pytest.approx(0.0, abs=1e-9)
    assert F.sliced_wasserstein(x, x, rng=rng) == pytest.approx(0.0, abs=1e-12)
    p = F.prdc(x, x, nearest_k=5)
    assert (p["precision"], p["recall"], p["coverage"]) == (1.0, 1.0, 1.0)
    # Unbiased MMD² of a set with itself: with S = Σ_{i≠j} k and kbar = S / (n(n-1)),
    # 2S/(n(n-1)) - 2(S + n)/n² = -(2/n)(1 - kbar): slightly negative, never below -2/n.
    h = 1.5
    kernel = np.exp(-(pdist(x) ** 2) / (2 * h * h))
    kbar = kernel.mean()
    value = F.mmd_rbf(x, x, bandwidth=h)
    assert value == pytest.approx(-(2 / n) * (1 - kbar), rel=1e-9)
    assert -2 / n <= value < 0


def frechet_delta_method_se(
    m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray, n: int
) -> float:
    """First-order SE of the plug-in Fréchet distance from two independent n-samples.

    FD = f(x̄, ȳ, Ĉ1, Ĉ2) with ∂f/∂x̄ = 2δ (δ = m1 - m2), ∂f/∂C1 = I - T, ∂f/∂C2 = I - T⁻¹,
    where T = C1^{-1/2} (C1^{1/2} C2 C1^{1/2})^{1/2} C1^{-1/2} is the Gaussian OT map.
    For Gaussian data x̄ ~ N(m1, C1/n) is independent of Ĉ1, and Var tr(A Ĉ) = 2 tr(ACAC)/(n-1).
    (Checked by simulation: over 400 repeats at n = 20,000, d = 3, the SD was 1.03x this.)
    """
    r1 = np.real(sqrtm(c1))
    r1_inv = np.linalg.inv(r1)
    t = r1_inv @ np.real(sqrtm(r1 @ c2 @ r1)) @ r1_inv
    a1, a2 = np.eye(len(m1)) - t, np.eye(len(m1)) - np.linalg.inv(t)
    delta = m1 - m2
    var = (
        4 * delta @ (c1 + c2) @ delta / n
        + 2 * np.trace(a1 @ c1 @ a1 @ c1) / (n - 1)
        + 2 * np.trace(a2 @ c2 @ a2 @ c2) / (n - 1)
    )
    return float(np.sqrt(var))


def test_frechet_of_samples_converges_to_the_closed_form(rng: np.random.Generator) -> None:
    d, n = 3, 20_000
    c1, c2 = random_spd(rng, d), random_spd(rng, d)
    m1, m2 = np.zeros(d), np.array([1.0, 0.0, -1.0])
    x = rng.multivariate_normal(m1, c1, size=n)
    y = rng.multivariate_normal(m2, c2, size=n)
    exact = F.gaussian_frechet(m1, c1, m2, c2)
    se = frechet_delta_method_se(m1, c1, m2, c2, n)  # ≈ 0.035 here, vs exact ≈ 3
    # known upward bias E‖x̄ - ȳ‖² - ‖δ‖² = tr(C1 + C2)/n, plus a second-order covariance
    # term of the same O(d/n) order: allow 5 SE + 2 tr(C1 + C2)/n
    bias = np.trace(c1 + c2) / n
    assert abs(F.frechet_distance(x, y) - exact - bias) < 5 * se + bias


def test_frechet_distance_handles_one_feature() -> None:
    x = np.array([[0.0], [2.0]])  # mean 1, var 2
    y = np.array([[3.0], [5.0], [7.0]])  # mean 5, var 4
    assert F.frechet_distance(x, y) == pytest.approx(16.0 + (np.sqrt(2) - 2.0) ** 2, rel=1e-12)


# --------------------------------------------------------------------------- sliced W2


def test_sliced_wasserstein_equals_an_explicit_computation(rng: np.random.Generator) -> None:
    # Oracle with the same directions: POT draws randn(d, L) from
    # RandomState(rng.integers(2**31 - 1)) and normalises the columns; for n = m uniform
    # samples the 1-d W2² is the mean squared difference of the sorted projections.
    d, n, n_proj = 3, 300, 40
    x, y = rng.normal(size=(n, d)), 1.5 * rng.normal(size=(n, d)) + 0.3
    theta = np.random.RandomState(int(np.random.default_rng(8).integers(2**31 - 1))).randn(
        d, n_proj
    )
    theta /= np.linalg.norm(theta, axis=0)  # (d, L), unit columns
    w2_sq = np.mean((np.sort(x @ theta, axis=0) - np.sort(y @ theta, axis=0)) ** 2, axis=0)  # (L,)
    expected = np.sqrt(w2_sq.mean())
    ours = F.sliced_wasserstein(x, y, n_projections=n_proj, rng=np.random.default_rng(8))
    assert ours == pytest.approx(expected, rel=1e-12)


def test_sliced_wasserstein_of_shifted_gaussians(rng: np.random.Generator) -> None:
    # N(0, I) vs N(m, I): along θ both project to unit-variance normals shifted by θ·m, so
    # W2²(θ#μ, θ#ν) = (θ·m)² and SW2² = E_θ (θ·m)² = ‖m‖² E θ₁² = ‖m‖²/d (θ uniform on the
    # sphere, E θ₁² = 1/d by symmetry).
    d, n, n_proj = 4, 2000, 1000
    m = np.array([2.0, 0.0, 0.0, 0.0])
    x = rng.normal(size=(n, d))
    y = rng.normal(size=(n, d)) + m
    sw2 = F.sliced_wasserstein(x, y, n_projections=n_proj, rng=rng) ** 2
    target = m @ m / d  # = 1
    # SE from the directions: Var (θ·m)² = ‖m‖⁴ (E θ₁⁴ - 1/d²) = ‖m‖⁴ 2(d-1)/(d²(d+2)),
    # with E θ₁⁴ = 3/(d(d+2)); over n_proj directions SE ≈ 0.032.
    se_proj = np.sqrt((m @ m) ** 2 * 2 * (d - 1) / (d**2 * (d + 2)) / n_proj)
    # SE from the samples: the cross term -2(θ·m)θ·(x̄ - ȳ) averages to -2 m·(x̄ - ȳ)/d, with
    # x̄ - ȳ ~ N(0, 2I/n): SE = 2‖m‖ sqrt(2/n)/d ≈ 0.032.
    se_sample = 2 * np.linalg.norm(m) * np.sqrt(2 / n) / d
    # bias: the 1-d W2² between two n-samples of N(0, 1) is O(log log n / n) (Bobkov & Ledoux
    # 2019); measured 7.2/n ± 3.6/n (sd over repeats) at n = 4000, so allow 15/n.
    bias = 15 / n
    assert abs(sw2 - target) < 5 * np.hypot(se_proj, se_sample) + bias


def test_sliced_wasserstein_is_deterministic_given_the_rng(rng: np.random.Generator) -> None:
    x, y = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + 0.5  # n != m is allowed
    first = F.sliced_wasserstein(x, y, n_projections=50, rng=np.random.default_rng(3))
    assert first == F.sliced_wasserstein(x, y, n_projections=50, rng=np.random.default_rng(3))
    assert first != F.sliced_wasserstein(x, y, n_projections=50, rng=np.random.default_rng(4))
    stream = np.random.default_rng(3)
    assert F.sliced_wasserstein(x, y, n_projections=50, rng=stream) == first
    assert F.sliced_wasserstein(x, y, n_projections=50, rng=stream) != first  # the rng advanced
    # POT's global RandomState is left alone
    np.random.seed(0)
    before = np.random.random()
    np.random.seed(0)
    F.sliced_wasserstein(x, y, rng=np.random.default_rng(5))
    assert np.random.random() == before


# --------------------------------------------------------------------------- MMD


def gaussian_rbf_mmd2(mu1: np.ndarray, s1: float, mu2: np.ndarray, s2: float, h: float) -> float:
    """Population MMD² between N(mu1, s1² I) and N(mu2, s2² I) for exp(-‖a - b‖²/(2h²)).

    X - Y ~ N(mu1 - mu2, (s1² + s2²) I), and for Z ~ N(δ, v I) in d dimensions
    E exp(-‖Z‖²/(2h²)) = (h²/(h² + v))^{d/2} exp(-‖δ‖²/(2(h² + v))).
    """
    d = len(mu1)

    def expected_kernel(delta: np.ndarray, v: float) -> float:
        return float(
            (h * h / (h * h + v)) ** (d / 2) * np.exp(-(delta @ delta) / (2 * (h * h + v)))
        )

    zero = np.zeros(d)
    return (
        expected_kernel(zero, 2 * s1 * s1)
        + expected_kernel(zero, 2 * s2 * s2)
        - 2 * expected_kernel(mu1 - mu2, s1 * s1 + s2 * s2)
    )


@pytest.mark.parametrize("shift", [0.0, 0.5])
def test_mmd_is_unbiased_for_the_gaussian_closed_form(shift: float) -> None:
    # With a fixed bandwidth E[MMD²_u] is exactly the population MMD² (Gretton et al. 2012,
    # Lemma 6), 0 for equal distributions: the mean of R independent estimates lies within
    # 3 SE = 3 sd/sqrt(R) of it.
    d, n, h, repeats = 2, 150, 1.0, 40
    mu2 = np.array([shift, 0.0])
    values = np.array(
        [
            F.mmd_rbf(r.normal(size=(n, d)), r.normal(size=(n, d)) + mu2, bandwidth=h)
            for r in map(np.random.default_rng, range(repeats))
        ]
    )
    exact = gaussian_rbf_mmd2(np.zeros(d), 1.0, mu2, 1.0, h)
    se = values.std(ddof=1) / np.sqrt(repeats)
    assert abs(values.mean() - exact) < 3 * se
    if shift == 0.0:
        assert exact == 0.0 and (values < 0).any()  # unbiased under the null: some negative
    else:
        assert exact > 10 * se and (values > 0).all()


def test_mmd_median_heuristic_separates_distributions() -> None:
    r = np.random.default_rng(99)
    same = [F.mmd_rbf(r.normal(size=(200, 2)), r.normal(size=(200, 2))) for _ in range(10)]
    shifted = F.mmd_rbf(r.normal(size=(200, 2)), r.normal(size=(200, 2)) + 1.0)
    assert shifted > 10 * np.std(same)


def test_mmd_matches_a_dense_computation_for_any_block_size(rng: np.random.Generator) -> None:
    # far from the origin on purpose: the blocked code centres before using |a|² + |b|² - 2ab
    x = rng.normal(size=(300, 3)) + 1e3
    y = rng.normal(size=(250, 3)) + 1e3 + 0.3
    h = F.median_heuristic_bandwidth(x, y)
    kxx, kyy, kxy = (
        np.exp(-cdist(a, b, "sqeuclidean") / (2 * h * h)) for a, b in ((x, x), (y, y), (x, y))
    )
    n, m = len(x), len(y)
    dense = (kxx.sum() - n) / (n * (n - 1)) + (kyy.sum() - m) / (m * (m - 1)) - 2 * kxy.mean()
    for block_size in (1, 7, 64, 4096):
        assert F.mmd_rbf(x, y, block_size=block_size) == pytest.approx(dense, rel=1e-9)


def test_median_heuristic_is_the_median_pairwise_distance_of_leading_rows(
    rng: np.random.Generator,
) -> None:
    x, y = rng.normal(size=(30, 2)), rng.normal(size=(20, 2))
    assert F.median_heuristic_bandwidth(x, y) == np.median(pdist(np.vstack([x, y])))
    # deterministic subsample: only the first max_rows rows of each set matter
    h = F.median_heuristic_bandwidth(x, y, max_rows=10)
    x2, y2 = x.copy(), y.copy()
    x2[10:], y2[10:] = 1e6, -1e6
    assert F.median_heuristic_bandwidth(x2, y2, max_rows=10) == h
    # mostly duplicated points: the median of the non-zero distances
    dup = np.zeros((10, 1))
    # (45 of the 66 pairs are 0; the others are ten 1s, one 2 and ten 3s)
    assert F.median_heuristic_bandwidth(dup, np.array([[1.0], [3.0]])) == 2.0
    assert F.median_heuristic_bandwidth(dup, dup) == 1.0


# --------------------------------------------------------------------------- PRDC


@pytest.mark.parametrize(("k", "d"), [(1, 5), (5, 5), (3, 64)])
def test_prdc_equals_the_reference_package(rng: np.random.Generator, k: int, d: int) -> None:
    # d = 5 uses scikit-learn's kd-tree for the radii, d = 64 its brute-force search
    prdc_pkg = pytest.importorskip("prdc", reason="the prdc reference package is a test dependency")
    real = rng.normal(size=(400, d))
    fake = rng.normal(size=(350, d)) * 1.2 + 0.2
    ours = F.prdc(real, fake, nearest_k=k, block_size=64)
    theirs = prdc_pkg.compute_prdc(real_features=real, fake_features=fake, nearest_k=k)
    for name in ("precision", "recall", "density", "coverage"):
        assert ours[name] == pytest.approx(float(theirs[name]), abs=1e-12), name


def test_prdc_does_not_depend_on_the_block_size(rng: np.random.Generator) -> None:
    real, fake = rng.normal(size=(200, 3)), rng.normal(size=(150, 3)) + 0.3
    reference = F.prdc(real, fake, nearest_k=4)
    for block_size in (1, 13, 1000):
        assert F.prdc(real, fake, nearest_k=4, block_size=block_size) == reference


def test_precision_and_recall_on_nested_supports(rng: np.random.Generator) -> None:
    # fake uniform on [-.5, .5]², real uniform on [-1, 1]²: every fake point lies inside the
    # real support, so precision ≈ 1; the fake balls (radius ≈ sqrt(5/(3000π)) ≈ 0.023 for
    # k = 5) cover about the sub-box, area (1 + 2·0.023)²/4 ≈ 0.27 of the real box, so
    # recall ≈ 0.27 (binomial SE ≈ 0.008).
    real = rng.uniform(-1, 1, size=(3000, 2))
    fake = rng.uniform(-0.5, 0.5, size=(3000, 2))
    p = F.prdc(real, fake, nearest_k=5)
    assert p["precision"] > 0.99 and 0.2 < p["recall"] < 0.35
    assert 0.2 < p["coverage"] < 0.35
    swapped = F.prdc(fake, real, nearest_k=5)
    assert swapped["recall"] > 0.99 and 0.2 < swapped["precision"] < 0.35


# --------------------------------------------------------------------------- modes


def grid_mixture() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 5 x 5 grid of the VEEGAN/PacGAN benchmark: means 2 apart, sd 0.1."""
    axis = np.arange(5) * 2.0 - 4.0
    means = np.array([(a, b) for a in axis for b in axis])  # (25, 2)
    covs = np.broadcast_to(0.01 * np.eye(2), (25, 2, 2)).copy()  # (25, 2, 2)
    return means, covs, np.full(25, 1 / 25)


def sample_mixture(
    rng: np.random.Generator, means: np.ndarray, weights: np.ndarray, n: int
) -> np.ndarray:
    components = rng.choice(len(means), size=n, p=weights)
    return means[components] + 0.1 * rng.normal(size=(n, means.shape[1]))


def test_modes_covered_by_the_true_mixture(rng: np.random.Generator) -> None:
    means, covs, weights = grid_mixture()
    n = 5000
    covered, shares = F.modes_covered(sample_mixture(rng, means, weights, n), means, covs, weights)
    assert covered == 25
    # each mode gets w · P(χ²₂ <= 3²) = 0.04 · 0.989 of the samples; binomial SE ≈ 0.0028
    expected = weights * chi2.cdf(3.0**2, df=2)
    assert np.all(np.abs(shares - expected) < 4 * np.sqrt(expected * (1 - expected) / n))


def test_modes_covered_by_a_collapsed_generator(rng: np.random.Generator) -> None:
    means, covs, weights = grid_mixture()
    only_ten = np.r_[np.full(10, 0.1), np.zeros(15)]
    covered, shares = F.modes_covered(
        sample_mixture(rng, means, only_ten, 5000), means, covs, weights
    )
    assert covered == 10 and shares[10:].sum() == 0
    # samples far from every mode count for none
    assert F.modes_covered(np.full((50, 2), 100.0), means, covs, weights)[0] == 0


def test_modes_covered_thresholds() -> None:
    means, covs, weights = np.array([[0.0], [100.0]]), np.array([[[4.0]], [[4.0]]]), np.ones(2)
    # both samples go to mode 0, at Mahalanobis distance |x| / 2: 2.9 is inside radius 3,
    # 3.1 is not
    covered, shares = F.modes_covered([[5.8], [-6.2]], means, covs, weights)
    assert shares.tolist() == [0.5, 0.0] and covered == 1
    # min_share: one sample out of 200 (0.5%) is below 1% but above 0.4%
    samples = np.r_[np.zeros((199, 1)), [[100.0]]]
    assert F.modes_covered(samples, means, covs, weights)[0] == 1
    assert F.modes_covered(samples, means, covs, weights, min_share=0.004)[0] == 2
    # a zero-weight mode is never assigned (and log 0 raises no warning)
    covered, shares = F.modes_covered(samples, means, covs, [1.0, 0.0], min_share=0.004)
    assert covered == 1 and shares[1] == 0.0


# --------------------------------------------------------------------------- errors


def test_sample_validation_errors() -> None:
    with pytest.raises(
        ValueError, match="x and y must have the same number of features; got 2 and 3"
    ):
        F.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="x needs at least 2 samples; got 1"):
        F.frechet_distance(np.zeros((1, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="y needs at least 2 samples; got 1"):
        F.mmd_rbf(np.zeros((5, 2)), np.zeros((1, 2)))
    with pytest.raises(ValueError, match="y contains non-finite"):
        F.mmd_rbf(np.zeros((5, 2)), np.full((5, 2), np.nan))
    with pytest.raises(
        ValueError, match=r"x must have shape \(n_samples, n_features\); got shape \(5,\)"
    ):
        F.sliced_wasserstein(np.zeros(5), np.zeros((5, 1)), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="fake contains non-finite"):
        F.prdc(np.zeros((10, 2)), np.full((10, 2), np.inf))
    with pytest.raises(
        ValueError, match="real and fake must have the same number of features; got 2 and 1"
    ):
        F.prdc(np.zeros((10, 2)), np.zeros((10, 1)))
    with pytest.raises(ValueError, match="real needs at least 6 samples; got 5"):
        F.prdc(np.zeros((5, 2)), np.zeros((10, 2)), nearest_k=5)


def test_parameter_validation_errors() -> None:
    x = np.zeros((10, 2))
    with pytest.raises(
        InvalidParameterError,
        match=r"'nearest_k' parameter of prdc must be an int in the range \[1, inf\)\. Got 0",
    ):
        F.prdc(x, x, nearest_k=0)
    for bad in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(
            ValueError,
            match=r"'bandwidth' parameter of mmd_rbf must be a float in the range \(0, inf\)",
        ):
            F.mmd_rbf(x, x, bandwidth=bad)
    with pytest.raises(ValueError, match="'block_size' parameter of mmd_rbf"):
        F.mmd_rbf(x, x, block_size=0)
    with pytest.raises(ValueError, match="'n_projections' parameter of sliced_wasserstein"):
        F.sliced_wasserstein(x, x, n_projections=0, rng=np.random.default_rng(0))
    with pytest.raises(
        ValueError,
        match="'rng' parameter of sliced_wasserstein must be a numpy.random.Generator. Got 3",
    ):
        F.sliced_wasserstein(x, x, rng=3)  # type: ignore[arg-type]


def test_gaussian_parameter_errors() -> None:
    eye = np.eye(2)
    with pytest.raises(
        ValueError,
        match=r"cov1 must have shape \(d, d\) = \(2, 2\) to match mean1; got shape \(3, 3\)",
    ):
        F.gaussian_frechet(np.zeros(2), np.eye(3), np.zeros(2), eye)
    with pytest.raises(
        ValueError, match="mean1 and mean2 must have the same dimension; got 2 and 3"
    ):
        F.gaussian_frechet(np.zeros(2), eye, np.zeros(3), np.eye(3))
    with pytest.raises(ValueError, match="cov2 must be symmetric"):
        F.gaussian_frechet(np.zeros(2), eye, np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="mean2 contains non-finite"):
        F.gaussian_w2(np.zeros(2), eye, np.array([0.0, np.nan]), eye)


def test_modes_covered_errors() -> None:
    means, covs, weights = grid_mixture()
    samples = np.zeros((5, 2))
    with pytest.raises(ValueError, match=r"covariances must have shape \(K, d, d\) = \(25, 2, 2\)"):
        F.modes_covered(samples, means, covs[:3], weights)
    with pytest.raises(ValueError, match=r"weights must have shape \(K,\) = \(25,\)"):
        F.modes_covered(samples, means, covs, weights[:3])
    with pytest.raises(ValueError, match="samples must have d = 2 features like means; got 3"):
        F.modes_covered(np.zeros((5, 3)), means, covs, weights)
    with pytest.raises(ValueError, match=r"covariances\[1\] is not positive definite"):
        F.modes_covered(samples, means, np.r_[covs[:1], -covs[1:]], weights)
    with pytest.raises(ValueError, match="weights must be >= 0"):
        F.modes_covered(samples, means, covs, -weights)
    for bad in (0.0, 1.5):
        with pytest.raises(
            ValueError,
            match=r"'min_share' parameter of modes_covered must be a float in the range \(0, 1\]",
        ):
            F.modes_covered(samples, means, covs, weights, min_share=bad)
    with pytest.raises(ValueError, match="'radius' parameter of modes_covered"):
        F.modes_covered(samples, means, covs, weights, radius=0.0)
