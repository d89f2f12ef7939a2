"""The discriminator score and density ratio: separation, no information under the null,
cross-fitting, determinism, text features, load-time refusals."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

import autophagy
from autophagy.exceptions import InvalidParameterError
from autophagy.loops import SyntheticBatch, TrainingPool
from autophagy.mitigation.discriminator import (
    check_score,
    density_ratio,
    discriminator,
    fit_discriminator,
    quadratic_features,
    token_features,
)
from autophagy.registry import entries

VECTORS = SimpleNamespace()  # a vector source: no image or text hooks
SHIFT = np.array([1.0, 0.0])
SCALES = np.array([1.6, 0.6])  # synthetic std per axis: the optimal discriminator is quadratic


def draw_synthetic(n, rng):
    return SHIFT + SCALES * rng.standard_normal((n, 2))


def true_log_ratio(x):
    """log N(x; 0, I) - log N(x; SHIFT, diag(SCALES²)), shape (n,)."""
    real = stats.norm.logpdf(x).sum(1)
    synthetic = stats.norm.logpdf(x, loc=SHIFT, scale=SCALES).sum(1)
    return real - synthetic


def auc(real_scores, synthetic_scores):
    """P(score of a real row > score of a synthetic row) (Mann–Whitney U / (n_r n_s))."""
    u = stats.mannwhitneyu(real_scores, synthetic_scores, alternative="two-sided").statistic
    return u / (len(real_scores) * len(synthetic_scores))


def null_auc_se(n_r, n_s):
    """Standard error of the AUC of a fixed score on independent rows of one law (exact)."""
    return np.sqrt((n_r + n_s + 1) / (12 * n_r * n_s))


def batch_of(x, reference, source=VECTORS):
    pool = TrainingPool.of(x, origin=1)
    return SyntheticBatch(pool, (), (1,), source=source, generation=2, bias=1.0, real=lambda n: reference[:n])


def test_quadratic_features_hold_every_monomial_of_degree_one_and_two():
    x = np.array([[2.0, 3.0]])
    np.testing.assert_array_equal(quadratic_features(x), [[2.0, 3.0, 4.0, 6.0, 9.0]])


def test_fitted_discriminator_separates_two_gaussians_nearly_as_well_as_the_true_ratio():
    rng = np.random.default_rng(0)
    n_train, n_test = 1000, 2000
    score = fit_discriminator(VECTORS, rng.standard_normal((n_train, 2)), draw_synthetic(n_train, rng))
    real_test, synthetic_test = rng.standard_normal((n_test, 2)), draw_synthetic(n_test, rng)
    fitted = auc(score(real_test), score(synthetic_test))
    bayes = auc(true_log_ratio(real_test), true_log_ratio(synthetic_test))
    se = null_auc_se(n_test, n_test)  # ≈ 0.009
    assert fitted > 0.5 + 5 * se, fitted  # far above chance (bayes ≈ 0.78 here)
    # both AUCs on the same test rows: their difference is the fit's excess error (5 quadratic
    # coefficients from 2000 rows: O(p/n) ≈ 0.003) plus MC noise smaller than the AUC's own SE;
    # 2 SE bounds both.
    assert fitted > bayes - 2 * se, (fitted, bayes)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_discriminator_between_equal_laws_carries_no_information(seed):
    """Conditionally on its training rows the classifier is a fixed function, so on independent
    test rows of one law its AUC is exactly the Mann–Whitney null: mean ½, the SE below."""
    rng = np.random.default_rng(seed)
    n_train, n_test = 800, 2000
    score = fit_discriminator(VECTORS, rng.standard_normal((n_train, 2)), rng.standard_normal((n_train, 2)))
    got = auc(score(rng.standard_normal((n_test, 2))), score(rng.standard_normal((n_test, 2))))
    assert abs(got - 0.5) < 4 * null_auc_se(n_test, n_test), got


def test_cross_fitted_score_follows_the_true_log_ratio_and_is_deterministic():
    rng = np.random.default_rng(4)
    x, reference = draw_synthetic(1200, rng), rng.standard_normal((1200, 2))
    batch = batch_of(x, reference)
    score = discriminator(SimpleNamespace(score="discriminator", reference=1000))
    a = score(batch, x, np.random.default_rng(7))
    assert a.shape == (1200,) and np.all(np.isfinite(a))
    # every row is scored by the classifier of the other fold; the estimate tracks the truth
    assert stats.spearmanr(a, true_log_ratio(x)).statistic > 0.9
    np.testing.assert_array_equal(a, score(batch, x, np.random.default_rng(7)))
    assert not np.array_equal(a, score(batch, x, np.random.default_rng(8)))  # other folds
    ratio = density_ratio(batch, x, 1000, np.random.default_rng(7))
    np.testing.assert_allclose(ratio, np.exp(a))


def test_too_few_rows_give_no_information():
    x = np.zeros((3, 2))
    batch = batch_of(x, np.ones((10, 2)))
    np.testing.assert_array_equal(density_ratio(batch, x, 10, np.random.default_rng(0)), np.ones(3))


def test_token_features_are_frequencies_and_separate_two_token_laws():
    rows = np.array([[1, 2, 1, 0]], dtype=float)
    f = token_features(rows, vocab_size=3).toarray()
    np.testing.assert_allclose(f[0, :3], [0.25, 0.5, 0.25])
    assert f.shape == (1, 3 + 4096) and np.isclose(f[0, 3:].sum(), 3 / 4)  # 3 bigrams of 4 tokens
    rng = np.random.default_rng(5)
    text = SimpleNamespace(vocab_size=20)
    real = lambda n: rng.integers(0, 10, size=(n, 16)).astype(float)  # noqa: E731
    synthetic = lambda n: rng.integers(0, 20, size=(n, 16)).astype(float)  # noqa: E731
    score = fit_discriminator(text, real(300), synthetic(300))
    assert auc(score(real(500)), score(synthetic(500))) > 0.5 + 5 * null_auc_se(500, 500)


def test_check_score_refuses_classifier_confidence_without_labelled_images():
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.score' parameter must be .*labelled images.*Got 'classifier_confidence' instead\.$"):
        check_score("classifier_confidence", VECTORS, None, "mitigation.0.score")
    check_score("discriminator", VECTORS, None, "mitigation.0.score")  # every family
    check_score("classifier_confidence", SimpleNamespace(class_probs=lambda x: x), None, "k")


@pytest.mark.skipif("threshold" not in entries("stage"), reason="the threshold stage is not registered yet")
def test_classifier_confidence_on_gaussian_data_is_refused_at_load_in_one_line():
    config = {
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": 50},
        "mitigation": [{"kind": "threshold", "score": "classifier_confidence", "keep": 0.5}],
    }
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation\.0\.score' parameter must be .*labelled images.*Got 'classifier_confidence' instead\.$") as info:
        autophagy.load_config(config)
    assert "\n" not in str(info.value)
