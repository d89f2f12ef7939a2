"""The Gaussian closed forms of :mod:`autophagy.theory.gaussian` against simulation and algebra.

Statistical checks compare a Monte-Carlo mean with its prediction as
``|mean - theory| < z · SE``; ``z`` is Bonferroni-corrected over all comparisons of one test
call so that the call fails falsely with probability at most ``ALPHA`` (normal approximation
of the mean of >= 400 independent repeats). With ``ALPHA = 1e-5`` the ~2,900 statistical test
calls of an ``AUTOPHAGY_ALL_SEEDS=1`` run of tests/theory fail falsely with probability ~3 %.
"""

import math

import numpy as np
import pytest
from scipy.stats import norm

import autophagy
from autophagy.theory import (
    expected_log_det,
    fresh_limit,
    fresh_map,
    log_det_drift,
    log_det_variance,
    moment_recursion,
)

from ..conftest import small_config

ALPHA = 1e-5  # false-failure probability of one statistical test call

IDENTITY3 = {"kind": "gaussian", "dim": 3}
POWERLAW3 = {"kind": "gaussian", "dim": 3, "cov": {"kind": "powerlaw", "exponent": 1.0}}


def trace_of(data):
    """tr Σ of the data configs above (power law: eigenvalues i^-1, i = 1..3)."""
    return 1.0 + 1.0 / 2.0 + 1.0 / 3.0 if "cov" in data else float(data["dim"])


def z_bonferroni(comparisons, alpha=ALPHA):
    """Two-sided normal quantile for ``comparisons`` tests at family-wise level ``alpha``."""
    return float(norm.isf(alpha / (2 * comparisons)))


def simulate(
    loop, *, data, estimator, bias, generations, repeats, seed, engine="exact", metrics=None
):
    """Run the loop and return {metric: array of shape (repeats, generations)}."""
    names = metrics or ["cov_trace", "mean_sq_error"]
    config = small_config(
        engine=engine,
        seed=seed,
        repeats=repeats,
        generations=generations,
        data=data,
        loop=loop,
        metrics=names,
        generator={"kind": "gaussian", "bias": bias, "estimator": estimator},
        # few generated samples: the moment metrics do not use them (sampled engine draws them)
        eval={"n_samples": 6, "snapshot_size": 0},
    )
    wide = autophagy.run(config, out=None).wide()
    out = {name: wide[name].unstack("generation").to_numpy() for name in names}
    for value in out.values():
        assert value.shape == (repeats, generations)
        assert np.all(np.isfinite(value))
    return out


def assert_matches_recursion(sim, curve, z):
    """Per generation: mean of the metrics within z·SE of λ·E tr Σ_t and E‖μ_t - μ‖²."""
    repeats = sim["cov_trace"].shape[0]
    predictions = {"cov_trace": curve.bias * curve.cov_trace, "mean_sq_error": curve.mean_sq_error}
    for name, theory in predictions.items():
        mean = sim[name].mean(axis=0)
        se = sim[name].std(axis=0, ddof=1) / math.sqrt(repeats)
        score = np.abs(mean - theory) / se
        assert np.all(score < z), f"{name}: {mean} vs {theory}, |z| = {score.round(2)} >= {z:.2f}"


# -- 1. moment_recursion against the simulation, every loop kind --------------------------------
# Small training sets make each loop's structure (which groups are shared, reused, merged) a
# large effect next to the Monte-Carlo error. λ < 1 everywhere; both estimators for each loop.
FULLY_SYNTHETIC = {"kind": "fully_synthetic", "n_real": 30, "n_synthetic": 12}
AUGMENT = {"kind": "augment", "n_real": 12, "n_synthetic": 30}
FRESH = {"kind": "fresh", "n_real": 8, "n_synthetic": 25}
ACCUMULATE = {"kind": "accumulate", "n_real": 10, "n_synthetic": 12, "n_fresh": 5}
MIXED = {"kind": "mixed", "n_fixed": 8, "n_fresh": 6, "n_synthetic": 20}
MIXED_ALL = {**MIXED, "n_fixed": 5, "n_synthetic": 21, "synthetic_from": "all"}
# n_synthetic = 7 over up to 5 earlier generators: groups of one sample (zero scatter) too;
# "last" instead of "all" would move λ·E tr Σ_6 by ~12 SE here
ACCUMULATE_ALL = {
    "kind": "accumulate", "n_real": 5, "n_synthetic": 7, "n_fresh": 1, "synthetic_from": "all"
}
LOOP_CASES = [
    pytest.param(FULLY_SYNTHETIC, 0.9, POWERLAW3, id="fully_synthetic"),
    pytest.param(AUGMENT, 0.8, IDENTITY3, id="augment"),
    pytest.param(FRESH, 0.7, IDENTITY3, id="fresh"),
    pytest.param(ACCUMULATE, 0.9, IDENTITY3, id="accumulate"),
    pytest.param(MIXED, 0.8, IDENTITY3, id="mixed"),
    pytest.param(MIXED_ALL, 0.75, POWERLAW3, id="mixed-all"),
    pytest.param(ACCUMULATE_ALL, 0.6, IDENTITY3, id="accumulate-all"),
]


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
@pytest.mark.parametrize(("loop", "bias", "data"), LOOP_CASES)
def test_moment_recursion_matches_exact_engine(loop, bias, data, estimator, global_seed):
    generations, repeats = 6, 2000
    sim = simulate(
        loop,
        data=data,
        estimator=estimator,
        bias=bias,
        generations=generations,
        repeats=repeats,
        seed=global_seed,
    )
    trace = trace_of(data)
    curve = moment_recursion(loop, generations, trace=trace, bias=bias, estimator=estimator)
    assert curve.bias == bias
    assert curve.generations.tolist() == list(range(1, generations + 1))
    assert_matches_recursion(sim, curve, z_bonferroni(2 * generations))


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
def test_moment_recursion_matches_sampled_accumulate_subsample(estimator, global_seed):
    # The exact engine cannot subsample a pool, so this one draws samples. The sampled engine
    # gives repeat r the seed seed + r: space the runs of different global seeds apart.
    loop = {"kind": "accumulate_subsample", "n_real": 8, "n_synthetic": 8, "n_fresh": 4}
    loop["train_size"] = 10
    generations, repeats, bias = 4, 400, 0.8
    sim = simulate(
        loop,
        data={"kind": "gaussian", "dim": 2},
        estimator=estimator,
        bias=bias,
        generations=generations,
        repeats=repeats,
        seed=10_000 * global_seed,
        engine="sampled",
    )
    curve = moment_recursion(loop, generations, trace=2.0, bias=bias, estimator=estimator)
    assert_matches_recursion(sim, curve, z_bonferroni(2 * generations))


def test_subsampling_changes_the_prediction():
    # guards the test above against a recursion that ignores train_size: subsampling raises
    # E‖μ_t - μ‖² by over 40 %; with 400 repeats that is 6-10 SE at generations 2-4, beyond
    # the test's bound z ≈ 4.9
    base = {"kind": "accumulate", "n_real": 8, "n_synthetic": 8, "n_fresh": 4}
    full = moment_recursion(base, 4, trace=2.0, bias=0.8)
    subsampled = {**base, "kind": "accumulate_subsample", "train_size": 10}
    sub = moment_recursion(subsampled, 4, trace=2.0, bias=0.8)
    assert np.all(sub.mean_sq_error[1:] > 1.4 * full.mean_sq_error[1:])


# -- 2. closed forms ----------------------------------------------------------------------------
def test_docstring_examples():
    loop = {"kind": "fully_synthetic", "n_real": 10, "n_synthetic": 10}
    curve = moment_recursion(loop, 3, trace=1.0, estimator="unbiased")
    np.testing.assert_allclose(curve.cov_trace, [1.0, 1.0, 1.0], rtol=1e-12)
    np.testing.assert_allclose(curve.mean_sq_error, [0.1, 0.2, 0.3], rtol=1e-12)
    lim = fresh_limit(100, 0, trace=1.0)
    assert (round(lim.mean_sq_error, 6), round(lim.cov_trace, 6), lim.rate) == (0.01, 1.0, 0.0)
    assert round(log_det_drift(10, 1), 4) == -0.1152


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
@pytest.mark.parametrize(
    ("n_r", "n_s", "bias", "trace"), [(10, 10, 1.0, 1.0), (30, 7, 0.9, 3.0), (5, 40, 0.6, 1.8)]
)
def test_fully_synthetic_closed_forms(n_r, n_s, bias, trace, estimator):
    delta = 0 if estimator == "mle" else 1
    generations = 12
    loop = {"kind": "fully_synthetic", "n_real": n_r, "n_synthetic": n_s}
    curve = moment_recursion(loop, generations, trace=trace, bias=bias, estimator=estimator)
    t = np.arange(1, generations + 1)
    s = trace * (n_r - 1) / (n_r - delta) * (bias * (n_s - 1) / (n_s - delta)) ** (t - 1)
    np.testing.assert_allclose(curve.cov_trace, s, rtol=1e-12)
    g = np.empty(generations)
    g[0] = trace / n_r
    for k in range(1, generations):
        g[k] = g[k - 1] + bias * s[k - 1] / n_s
    np.testing.assert_allclose(curve.mean_sq_error, g, rtol=1e-12)


FRESH_SETTINGS = [
    (20, 30, 3.0, 0.8, "mle"),
    (10, 50, 1.0, 1.0, "unbiased"),
    (5, 100, 1.5, 0.95, "unbiased"),
    (40, 10, 2.0, 0.5, "mle"),
]


@pytest.mark.parametrize(("n_r", "n_s", "trace", "bias", "estimator"), FRESH_SETTINGS)
def test_fresh_limit_is_the_large_t_recursion(n_r, n_s, trace, bias, estimator):
    lim = fresh_limit(n_r, n_s, trace=trace, bias=bias, estimator=estimator)
    assert 0.0 < lim.rate < 1.0
    # the distance to the limit shrinks like rate^t: run until it is far below 1e-10
    generations = math.ceil(math.log(1e-14) / math.log(lim.rate)) + 10
    loop = {"kind": "fresh", "n_real": n_r, "n_synthetic": n_s}
    curve = moment_recursion(loop, generations, trace=trace, bias=bias, estimator=estimator)
    assert abs(curve.mean_sq_error[-1] - lim.mean_sq_error) < 1e-10 * max(1.0, lim.mean_sq_error)
    assert abs(curve.cov_trace[-1] - lim.cov_trace) < 1e-10 * max(1.0, lim.cov_trace)


@pytest.mark.parametrize(("n_r", "n_s", "trace", "bias", "estimator"), FRESH_SETTINGS)
def test_fresh_map_is_one_step_of_the_recursion(n_r, n_s, trace, bias, estimator):
    a, b = fresh_map(n_r, n_s, trace=trace, bias=bias, estimator=estimator)
    loop = {"kind": "fresh", "n_real": n_r, "n_synthetic": n_s}
    curve = moment_recursion(loop, 8, trace=trace, bias=bias, estimator=estimator)
    x = np.column_stack([curve.mean_sq_error, curve.cov_trace])  # (T, 2)
    np.testing.assert_allclose(x[1:], x[:-1] @ a.T + b, rtol=1e-12)


def test_fresh_limit_without_synthetic_is_one_real_fit():
    lim = fresh_limit(25, 0, trace=2.0, bias=0.7, estimator="mle")
    assert lim.rate == 0.0
    assert lim.mean_sq_error == pytest.approx(2.0 / 25, rel=1e-12)
    assert lim.cov_trace == pytest.approx(2.0 * 24 / 25, rel=1e-12)


# -- 3. Shumailov's variance collapse -----------------------------------------------------------
def _trace_moments(t_max, n_r, n_s, dim, delta, bias):
    """Exact E tr Σ_t and Var tr Σ_t, t = 1..T, of the fully synthetic loop from Σ = I_d.

    Σ_{t+1} = c A^{1/2} W A^{1/2}, A = Σ_t, W ~ Wishart_d(k, I), c = λ/(n_s - δ), k = n_s - 1.
    With W = Σᵢ xᵢxᵢᵀ, E[W B W] = k(k+1) B + k tr(B) I, so the pair
    ((tr Σ)², tr Σ²) maps linearly in expectation:
        E (tr Σ_{t+1})² = c² (k² (tr A)² + 2k tr A²)
        E tr Σ_{t+1}²   = c² (k (tr A)² + k(k+1) tr A²)
    (generation 1: A = I, c = 1/(n_r - δ), k = n_r - 1, no λ).
    """
    def step(x, k, c):
        return c**2 * np.array([[k**2, 2 * k], [k, k * (k + 1)]]) @ x

    mean, var = [], []
    x = step(np.array([dim**2, dim], dtype=float), n_r - 1, 1.0 / (n_r - delta))
    m = dim * (n_r - 1) / (n_r - delta)
    for _ in range(t_max):
        mean.append(m)
        var.append(x[0] - m**2)
        x = step(x, n_s - 1, bias / (n_s - delta))
        m = m * bias * (n_s - 1) / (n_s - delta)
    return np.array(mean), np.array(var)


def test_trace_moments_helper_against_a_direct_draw(rng):
    # the helper's variance recursion (used as the SE below) checked once by brute force, d = 2
    n, reps = 6, 200_000
    x = rng.standard_normal((reps, n, 2))
    xc = x - x.mean(axis=1, keepdims=True)
    tr = np.einsum("rni,rni->r", xc, xc) / (n - 1)
    mean, var = _trace_moments(1, n, n, 2, 1, 1.0)
    # tr Σ_1 = χ²_{2(n-1)}/(n-1): exact mean 2 and variance 2·2(n-1)/(n-1)² = 4/(n-1)
    assert mean[0] == pytest.approx(2.0) and var[0] == pytest.approx(4.0 / (n - 1))
    z = z_bonferroni(1)
    assert abs(tr.mean() - mean[0]) < z * math.sqrt(var[0] / reps)


# (dim, n, generations, median bound / τ at the last generation). d = 1: log det Σ_t drifts by
# -0.21 (unbiased) / -0.40 (mle) per generation, so after 50 generations the median of tr Σ_t
# is ~2e-5 or below. d = 2: the log-eigenvalue gap of Σ_t grows linearly too, and past a
# condition number of ~1e16 Σ_t is singular in floating point (cov_logdet = -inf, reported);
# n = 10 keeps its tails light and 40 generations keep it far from that (largest log condition
# number seen in 30,000 repeats: 24 of 37), where the median is ~2 % of τ and still falling.
COLLAPSE_CASES = [pytest.param(1, 6, 50, 1e-3, id="d1"), pytest.param(2, 10, 40, 5e-2, id="d2")]


@pytest.mark.parametrize(("dim", "n", "generations", "median_bound"), COLLAPSE_CASES)
@pytest.mark.parametrize("estimator", ["unbiased", "mle"])
def test_shumailov_collapse(estimator, dim, n, generations, median_bound, global_seed):
    # fully synthetic, λ = 1, n_r = n_s = n: (unbiased) E tr Σ_t stays at τ = d while the
    # typical Σ_t collapses, because log det Σ_t is a random walk with negative drift
    bias, repeats = 1.0, 1500
    delta = 0 if estimator == "mle" else 1
    sim = simulate(
        {"kind": "fully_synthetic", "n_real": n, "n_synthetic": n},
        data={"kind": "gaussian", "dim": dim},
        estimator=estimator,
        bias=bias,
        generations=generations,
        repeats=repeats,
        seed=global_seed,
        metrics=["cov_trace", "cov_logdet"],
    )
    tr, log_det = sim["cov_trace"], sim["cov_logdet"]  # (R, T); Σ = I so log det Σ = 0
    if dim == 1:
        np.testing.assert_allclose(log_det, np.log(tr), rtol=1e-10, atol=1e-12)
    # comparisons: 3 early means of tr Σ_t, T means of log det, 1 drift
    early = [1, 2, 3]
    z = z_bonferroni(len(early) + generations + 1)

    # E tr Σ_t at its closed form, where the test is well powered (heavy tails later on: for
    # d = 1, unbiased, Var tr Σ_t = ((n+1)/(n-1))^t - 1); the SE is the exact variance
    mean, var = _trace_moments(generations, n, n, dim, delta, bias)
    closed = dim * ((n - 1) / (n - delta)) ** np.arange(1, generations + 1)
    np.testing.assert_allclose(mean, closed, rtol=1e-12)
    t = np.arange(1, generations + 1)
    if estimator == "unbiased":
        np.testing.assert_allclose(mean, float(dim), rtol=1e-12)  # E tr Σ_t stays at τ
    if dim == 1 and estimator == "unbiased":  # E Σ_t² = E[(χ²_{n-1}/(n-1))²]^t
        np.testing.assert_allclose(var, ((n + 1) / (n - 1)) ** t - 1.0, rtol=1e-9)
    elif dim == 1:  # E Σ_t² = ((n²-1)/n²)^t, (E Σ_t)² = ((n-1)/n)^{2t}
        closed_var = ((n * n - 1) / n**2) ** t - ((n - 1) / n) ** (2 * t)
        np.testing.assert_allclose(var, closed_var, rtol=1e-9)
    for g in early:
        se = math.sqrt(var[g - 1] / repeats)
        simulated = tr[:, g - 1].mean()
        assert abs(simulated - mean[g - 1]) < z * se, (g, simulated, mean[g - 1], se)

    # E log det Σ_t is a random walk's mean: exact, with sd sqrt(Var₁ + (t-1) Var)
    expected = expected_log_det(generations, n, n, dim, bias=bias, estimator=estimator)
    sd = np.sqrt(log_det_variance(n, dim) * t)
    score = np.abs(log_det.mean(axis=0) - expected) / (sd / math.sqrt(repeats))
    assert np.all(score < z), score.round(2)

    # the drift is negative and is the mean increment of log det Σ_t
    drift = log_det_drift(n, dim, bias=bias, estimator=estimator)
    assert drift < 0
    increments = (log_det[:, -1] - log_det[:, 0]) / (generations - 1)
    se = math.sqrt(log_det_variance(n, dim) / ((generations - 1) * repeats))
    assert abs(increments.mean() - drift) < z * se, (increments.mean(), drift, se)

    # ... while the typical Σ_t collapses: the median falls toward 0
    step = generations // 5
    medians = np.median(tr[:, step - 1 :: step], axis=0)  # five generations up to the last
    assert np.all(np.diff(medians) < 0), medians
    assert medians[-1] < median_bound * dim  # τ = d


@pytest.mark.parametrize(
    ("n", "dim", "bias", "estimator"), [(10, 3, 1.0, "unbiased"), (8, 2, 0.5, "mle")]
)
def test_log_det_drift_and_variance_against_scipy_wishart(n, dim, bias, estimator):
    # one step of the fully synthetic loop in d > 1: log det(λ W / (n - δ)), W ~ Wishart_d(n-1, I)
    # drawn by scipy (an implementation independent of the Bartlett draws of autophagy)
    from scipy.stats import wishart

    delta = 0 if estimator == "mle" else 1
    draws = 20_000
    w = wishart(df=n - 1, scale=np.eye(dim)).rvs(size=draws, random_state=np.random.default_rng(5))
    log_det = np.linalg.slogdet(bias * w / (n - delta))[1]
    drift = log_det_drift(n, dim, bias=bias, estimator=estimator)
    variance = log_det_variance(n, dim)
    assert drift < 0
    z = z_bonferroni(2)
    assert abs(log_det.mean() - drift) < z * math.sqrt(variance / draws), (log_det.mean(), drift)
    # SE of a sample variance: sqrt((m4 - s⁴) / N)
    centred = log_det - log_det.mean()
    var_se = math.sqrt((np.mean(centred**4) - np.mean(centred**2) ** 2) / draws)
    assert abs(centred.var(ddof=1) - variance) < z * var_se, (centred.var(ddof=1), variance)


# -- 4. the expected distance of the mean grows --------------------------------------------------
def test_mean_error_grows_linearly_closed_form():
    n_r, n_s, trace, generations = 7, 13, 2.5, 20
    loop = {"kind": "fully_synthetic", "n_real": n_r, "n_synthetic": n_s}
    curve = moment_recursion(loop, generations, trace=trace, estimator="unbiased")
    t = np.arange(1, generations + 1)
    np.testing.assert_allclose(curve.mean_sq_error, trace * (1 / n_r + (t - 1) / n_s), rtol=1e-12)


def test_mean_error_grows_linearly_simulated(global_seed):
    # n = 20, d = 2: E tr Σ_t² grows like ~1.16^t, so by t = 20 the tails are still mild and
    # the sample SE is reliable.
    n_r, n_s, generations, repeats = 20, 20, 20, 2000
    sim = simulate(
        {"kind": "fully_synthetic", "n_real": n_r, "n_synthetic": n_s},
        data={"kind": "gaussian", "dim": 2},
        estimator="unbiased",
        bias=1.0,
        generations=generations,
        repeats=repeats,
        seed=global_seed,
    )
    checked = np.array([1, 5, 10, 15, 20])
    z = z_bonferroni(2 * len(checked))
    theory = 2.0 * (1 / n_r + (checked - 1) / n_s)
    for name, target in (("mean_sq_error", theory), ("cov_trace", np.full(len(checked), 2.0))):
        values = sim[name][:, checked - 1]
        se = values.std(axis=0, ddof=1) / math.sqrt(repeats)
        score = np.abs(values.mean(axis=0) - target) / se
        assert np.all(score < z), (name, values.mean(axis=0), target, score.round(2))
    # the growth itself: generation 20 far above generation 1 (E: 1.0 vs 0.1)
    assert sim["mean_sq_error"][:, -1].mean() > 5 * sim["mean_sq_error"][:, 0].mean()
