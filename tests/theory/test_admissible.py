"""The effective sample size and admissible synthetic data (:mod:`autophagy.theory.admissible`).

Statistical checks are ``|estimate - reference| < z · SE`` with the SE combined from both
sides' Monte-Carlo errors and ``z`` Bonferroni-corrected so that one test call fails falsely
with probability at most ``ALPHA`` (normal approximation of means of >= 1000 independent
repeats; the calculators' own stderr is a normal-theory standard error as well).
"""

import math

import numpy as np
import pytest
from scipy.stats import chi2, norm

import autophagy
from autophagy.metrics.functional import gaussian_w2
from autophagy.theory import (
    admissible_synthetic,
    effective_sample_size,
    expected_distance,
    fresh_limit,
    limit_distance,
)

from ..conftest import small_config

ALPHA = 1e-5  # false-failure probability of one statistical test call


def z_bonferroni(comparisons, alpha=ALPHA):
    """Two-sided normal quantile for ``comparisons`` tests at family-wise level ``alpha``."""
    return float(norm.isf(alpha / (2 * comparisons)))


# -- 1. the distance of one real fit -------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "dim", "estimator"), [(8, 3, "unbiased"), (30, 2, "unbiased"), (12, 2, "mle")]
)
def test_expected_distance_matches_brute_force(n, dim, estimator, global_seed):
    # draw n samples of N(0, I_d), fit mean and covariance, W₂² to the truth; 2000 repeats
    repeats = 2000
    rng = np.random.default_rng(1000 + global_seed)
    x = rng.standard_normal((repeats, n, dim))
    mean = x.mean(axis=1)
    centred = x - mean[:, None, :]
    cov = np.einsum("rni,rnj->rij", centred, centred) / (n - (1 if estimator == "unbiased" else 0))
    truth_mean, truth_cov = np.zeros(dim), np.eye(dim)
    w2 = np.array([gaussian_w2(mean[r], cov[r], truth_mean, truth_cov) for r in range(repeats)])
    brute, brute_se = w2.mean(), w2.std(ddof=1) / math.sqrt(repeats)
    est = expected_distance(n, dim, estimator=estimator, seed=global_seed)
    assert 0 < est.stderr < brute_se  # control variates make the calculator the sharper of the two
    z = z_bonferroni(1)
    assert abs(est.value - brute) < z * math.hypot(brute_se, est.stderr), (est, brute, brute_se)


def test_expected_distance_docstring_example():
    # The docstring of expected_distance shows (0.0151, True); the exact value (closed form
    # below) is 0.015044..., so round(e.value, 4) is 0.015: the docstring is off (reported).
    e = expected_distance(100, 1)
    assert round(e.value, 4) == 0.015 and e.stderr < 1e-5


@pytest.mark.parametrize("estimator", ["unbiased", "mle"])
@pytest.mark.parametrize("n", [3, 7.5, 40, 100])
def test_expected_distance_one_dimension_closed_form(n, estimator):
    # d = 1: W₂² = x̄² + (σ̂ - 1)², σ̂ = sqrt(χ²_{n-1} / (n - δ)), so
    # E W₂² = 1/n + E σ̂² - 2 E σ̂ + 1 with E sqrt(χ²_k) = sqrt(2) Γ((k+1)/2) / Γ(k/2).
    from scipy.special import gammaln

    delta = 0 if estimator == "mle" else 1
    k = n - 1.0
    mean_root = math.sqrt(2.0 / (n - delta)) * math.exp(gammaln((k + 1) / 2) - gammaln(k / 2))
    exact = 1.0 / n + k / (n - delta) - 2.0 * mean_root + 1.0
    e = expected_distance(n, 1, estimator=estimator)
    # the calculator's Monte-Carlo error is its stderr; 8 comparisons in this family
    assert abs(e.value - exact) < z_bonferroni(8) * e.stderr + 1e-12, (e, exact)


def test_expected_distance_decreases_with_n():
    values = [expected_distance(n, 2).value for n in (4, 8, 16, 64, 256)]
    assert np.all(np.diff(values) < 0)


# -- 2. the fresh loop's limit -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n_r", "n_s", "dim", "estimator"), [(20, 20, 2, "unbiased"), (12, 30, 3, "mle")]
)
def test_limit_distance_matches_simulated_fresh_loop(n_r, n_s, dim, estimator, global_seed):
    # λ = 1: the gaussian_w2 metric is W₂²(N(μ_t, Σ_t), N(0, I)), the distance limit_distance
    # predicts. Burn in until the moments are within 1e-8 of their limit (bias far below the
    # SE), then average each repeat over a window; repeats are independent.
    rate = fresh_limit(n_r, n_s, trace=float(dim), estimator=estimator).rate
    burn = math.ceil(math.log(1e-8) / math.log(rate))
    window, repeats = 20, 1000
    config = small_config(
        engine="exact",
        seed=global_seed,
        repeats=repeats,
        generations=burn + window,
        data={"kind": "gaussian", "dim": dim},
        generator={"kind": "gaussian", "bias": 1.0, "estimator": estimator},
        loop={"kind": "fresh", "n_real": n_r, "n_synthetic": n_s},
        metrics=["gaussian_w2"],
        eval={"n_samples": 6, "snapshot_size": 0},
    )
    wide = autophagy.run(config, out=None).wide()
    w2 = wide["gaussian_w2"].unstack("generation").to_numpy()  # (R, T)
    per_repeat = w2[:, burn:].mean(axis=1)
    sim, sim_se = per_repeat.mean(), per_repeat.std(ddof=1) / math.sqrt(repeats)
    lim = limit_distance(n_r, n_s, 1.0, dim, estimator=estimator, seed=500 + global_seed)
    assert lim.stderr > 0
    z = z_bonferroni(1)
    assert abs(lim.value - sim) < z * math.hypot(sim_se, lim.stderr), (lim, sim, sim_se)


def test_limit_without_synthetic_is_one_real_fit():
    # n_s = 0: every generation is a fresh fit on n_r real samples
    lim = limit_distance(40, 0, 1.0, 2, repeats=2000, seed=3)
    one = expected_distance(40, 2, seed=4)
    assert abs(lim.value - one.value) < z_bonferroni(1) * math.hypot(lim.stderr, one.stderr)


# -- 3. MAD's qualitative findings ---------------------------------------------------------------
GRID = [0, 25, 100, 400, 1600]


def test_mad_unbiased_synthetic_data_is_admissible_everywhere(global_seed):
    answer = admissible_synthetic(100, 1.0, 4, n_synthetic=GRID, seed=global_seed)
    assert answer.threshold is None and answer.threshold_bracket is None
    assert answer.admissible_everywhere
    assert [p.n_synthetic for p in answer.curve] == GRID
    ratio = np.array([p.ratio for p in answer.curve])
    se = np.array([p.ratio_stderr for p in answer.curve])
    assert ratio[0] == 1.0 and se[0] == 0.0  # n_s = 0: one real fit, exactly
    assert np.all(np.diff(ratio) > 0), ratio  # n_e/n_r rises with n_s ...
    assert np.all(ratio <= 2.0 + 3.0 * se), (ratio, se)  # ... toward 2, never beyond
    assert 1.8 < ratio[-1]
    assert all(p.admissible and not p.at_floor for p in answer.curve)


def test_mad_biased_sampling_has_a_finite_threshold(global_seed):
    thresholds = {}
    for bias in (0.9, 0.7):
        answer = admissible_synthetic(100, bias, 4, n_synthetic=GRID, seed=global_seed)
        assert not answer.admissible_everywhere
        assert answer.threshold is not None
        lo, hi = answer.threshold_bracket
        assert lo == answer.threshold < hi
        curve = {p.n_synthetic: p for p in answer.curve}
        assert curve[lo].admissible and not curve[hi].admissible
        assert curve[0].ratio == 1.0
        assert curve[GRID[-1]].ratio < 1.0  # a flood of biased synthetic data hurts
        thresholds[bias] = answer.threshold
    assert 0 < thresholds[0.7] < thresholds[0.9] < GRID[-1], thresholds


# -- 4. the reported stderr is honest -------------------------------------------------------------
def test_effective_sample_size_stderr_matches_seed_spread(global_seed):
    # Independent seeds give independent estimates (each seed has its own common random numbers).
    # Under an honest stderr, (k-1) s² / mean(stderr²) ~ χ²_{k-1}; two-sided bounds at a false
    # failure probability of ALPHA. With 10 seeds that only catches a stderr off by a factor
    # of ~2 or more: the test is a guard against gross errors, not a calibration.
    seeds = range(10 * global_seed, 10 * global_seed + 10)
    results = [effective_sample_size(20, 40, 1.0, 1, precision=0.02, seed=s) for s in seeds]
    ratios = np.array([r.ratio for r in results])
    stderr = np.array([r.ratio_stderr for r in results])
    assert np.all(stderr > 0)
    assert np.all(np.abs(stderr / ratios) <= 0.02)  # the asked precision was reached
    k = len(results)
    statistic = (k - 1) * ratios.var(ddof=1) / np.mean(stderr**2)
    lower, upper = chi2.ppf(ALPHA / 2, k - 1), chi2.isf(ALPHA / 2, k - 1)
    assert lower < statistic < upper, (statistic, lower, upper, ratios, stderr)


# -- 5. bad input ---------------------------------------------------------------------------------
GOOD = {"n_real": 20, "n_synthetic": 20, "bias": 1.0, "dim": 2}
CALLS = {
    "effective_sample_size": lambda **kw: effective_sample_size(**{**GOOD, **kw}),
    "admissible_synthetic": lambda **kw: admissible_synthetic(
        **{**GOOD, "n_synthetic": [0, 10], **kw}
    ),
    "limit_distance": lambda **kw: limit_distance(**{**GOOD, **kw}),
}

BAD = [
    ({"n_real": 1, "dim": 1}, "n_real"),
    ({"n_real": 3, "dim": 3}, "n_real"),
    ({"n_real": 2, "dim": 2}, "n_real"),
    ({"bias": 0}, "bias"),
    ({"bias": 1.5}, "bias"),
    ({"bias": -1}, "bias"),
    ({"dim": 0}, "dim"),
    ({"estimator": "foo"}, "estimator"),
]


@pytest.mark.parametrize("name", list(CALLS))
@pytest.mark.parametrize(("changes", "key"), BAD)
def test_bad_input_names_the_key(name, changes, key):
    with pytest.raises(autophagy.InvalidParameterError, match=f"'{key}'"):
        CALLS[name](**changes)


@pytest.mark.parametrize("name", ["effective_sample_size", "limit_distance"])
def test_negative_n_synthetic(name):
    with pytest.raises(autophagy.InvalidParameterError, match="'n_synthetic'"):
        CALLS[name](n_synthetic=-1)


def test_negative_n_synthetic_in_a_grid():
    with pytest.raises(autophagy.InvalidParameterError, match="'n_synthetic'"):
        CALLS["admissible_synthetic"](n_synthetic=[0, -1])


@pytest.mark.parametrize("name", ["effective_sample_size", "admissible_synthetic"])
@pytest.mark.parametrize("precision", [0, 1, 0.0, 1.0])
def test_bad_precision(name, precision):
    with pytest.raises(autophagy.InvalidParameterError, match="'precision'"):
        CALLS[name](precision=precision)


@pytest.mark.parametrize(
    ("changes", "key"),
    [({"dim": 0}, "dim"), ({"n": 3, "dim": 3}, "n"), ({"estimator": "foo"}, "estimator")],
)
def test_expected_distance_bad_input(changes, key):
    with pytest.raises(autophagy.InvalidParameterError, match=f"'{key}'"):
        expected_distance(**{"n": 10, "dim": 2, **changes})


def test_unreachable_precision_says_what_it_reached():
    with pytest.raises(autophagy.PrecisionNotReachedError, match=r"reached ±\d+\.\d+%") as info:
        effective_sample_size(20, 20, 1.0, 2, precision=1e-4, max_repeats=64)
    assert "max_repeats=64" in str(info.value)


def test_limit_distance_rejects_too_few_repeats_and_negative_seeds():
    from autophagy.theory import limit_distance

    with pytest.raises(autophagy.InvalidParameterError, match="'repeats' parameter must be an int >= 2"):
        limit_distance(50, 10, 0.9, 2, repeats=0)
    with pytest.raises(autophagy.InvalidParameterError, match="'seed' parameter must be an int >= 0"):
        limit_distance(50, 10, 0.9, 2, seed=-3)
