"""``self_correct``: the exact OT maps (Gaussian, per mixture component), the reference map,
the text dispatch, the fully synthetic Gaussian loop held by γ = 1 and W2 falling in γ."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

import autophagy
from autophagy.core.source import Mixture
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch, apply_stages, stage_rows
from autophagy.mitigation.correct import SelfCorrectConfig, SelfCorrectStage, gaussian_map
from autophagy.theory.mitigation import rejection_moments, self_correct_moments
from autophagy.vectors.gaussian import GaussianGenerator
from autophagy.vectors.gaussian_data import GaussianSource
from autophagy.vectors.gmm import GMMGenerator
from tests.mitigation.test_rejection import corpus_loop, loop

MEAN = np.array([1.0, -2.0])
COV = np.array([[2.0, 0.6], [0.6, 0.5]])


def gaussian_batch(n, rng, bias=1.0, source=None, real=None):
    gen = GaussianGenerator()
    gen.mean_, gen.cov_ = np.array([0.3, 0.4]), np.array([[0.7, -0.2], [-0.2, 1.4]])
    source = source or GaussianSource(MEAN, COV)
    x = gen.sample(n, rng=rng, bias=bias)
    return SyntheticBatch(TrainingPool.of(x, 2), (gen,), (2,), source, 3, bias, real=real)


def correct(batch, rng, **keys):
    return SelfCorrectStage(SelfCorrectConfig(**keys))(batch, rng=rng)


def test_the_gaussian_map_pushes_the_model_onto_the_truth():
    a, b = gaussian_map(np.zeros(2), np.array([[0.7, -0.2], [-0.2, 1.4]]), MEAN, COV)
    np.testing.assert_allclose(a @ np.array([[0.7, -0.2], [-0.2, 1.4]]) @ a, COV, atol=1e-12)  # A C A = Σ
    np.testing.assert_allclose(a, a.T, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(a) > 0)  # the gradient of a convex function: the OT map


@pytest.mark.parametrize("gamma", [0.25, 0.5, 1.0])
def test_the_exact_map_moves_sample_moments_along_mccanns_interpolant(rng, gamma):
    """The map is affine, so the corrected batch's sample moments are exactly B S B and
    (1-γ) x̄ + γ T(x̄), B = (1-γ) I + γ A, whatever the draw."""
    batch = gaussian_batch(400, rng, bias=0.8)
    out = correct(batch, rng, strength=gamma, map="exact")
    gen = batch.generators[0]
    a, b = gaussian_map(gen.mean_, 0.8 * gen.cov_, MEAN, COV)  # at the batch's sampling bias λ = 0.8
    x = batch.pool.x
    bmat = (1 - gamma) * np.eye(2) + gamma * a
    np.testing.assert_allclose(out.pool.x.mean(axis=0), (1 - gamma) * x.mean(axis=0) + gamma * (a @ x.mean(axis=0) + b), atol=1e-12)
    np.testing.assert_allclose(np.cov(out.pool.x.T), bmat @ np.cov(x.T) @ bmat, atol=1e-12)
    assert len(out.pool) == 400 and set(out.pool.origin) == {2}
    assert stage_rows(apply_stages([SelfCorrectStage(SelfCorrectConfig(strength=gamma))], batch, rng))["removed_by_self_correct"] == 0.0
    assert out.info["self_correct_shift"] > 0


def test_gamma_one_gives_exact_draws_of_the_truth(rng):
    out = correct(gaussian_batch(40_000, rng), rng, strength=1.0)
    x = out.pool.x
    # moments of N(MEAN, COV): standard errors √(Σ_ii / n) for the mean, √(2/n) Σ_ii for the variances
    assert np.all(np.abs(x.mean(axis=0) - MEAN) < 4 * np.sqrt(np.diag(COV) / len(x)))
    assert np.all(np.abs(np.diag(np.cov(x.T)) - np.diag(COV)) < 4 * np.sqrt(2 / len(x)) * np.diag(COV))


def test_gamma_zero_changes_nothing(rng):
    batch = gaussian_batch(50, rng)
    np.testing.assert_array_equal(correct(batch, rng, strength=0.0).pool.x, batch.pool.x)


def test_a_mixture_is_moved_onto_the_true_mixture_component_by_component(rng):
    truth = Mixture(np.array([0.5, 0.5]), np.array([[-5.0, 0.0], [5.0, 0.0]]), np.array([np.eye(2) * 0.5, np.eye(2) * 2.0]))

    class Source:
        def truth(self):
            return truth

    gen = GMMGenerator(n_components=2)
    # the model's components are listed in the other order, shifted, too narrow and mis-weighted
    gen.mixture_ = Mixture(np.array([0.7, 0.3]), np.array([[4.0, 1.0], [-4.0, -1.0]]), np.array([np.eye(2) * 0.2, np.eye(2) * 0.1]))
    x = gen.sample(20_000, rng=rng)
    batch = SyntheticBatch(TrainingPool.of(x, 1), (gen,), (1,), Source(), 2, 1.0)
    out = correct(batch, rng, strength=1.0, map="exact").pool.x
    right = out[:, 0] > 0
    # γ = 1 transports the weights too (the components' OT plan): ½ each, binomial standard error
    assert abs(right.mean() - 0.5) < 4 * np.sqrt(0.25 / len(out))
    for rows, j in ((right, 1), (~right, 0)):
        part = out[rows]
        assert np.all(np.abs(part.mean(axis=0) - truth.means[j]) < 4 * np.sqrt(np.diag(truth.covariances[j]) / len(part)))
        assert np.all(np.abs(np.diag(np.cov(part.T)) - np.diag(truth.covariances[j])) < 4 * np.sqrt(2 / len(part)) * np.diag(truth.covariances[j]))


def test_the_reference_map_matches_the_real_rows_mean_and_keeps_image_labels_and_range(rng):
    real = rng.normal(3.0, 0.5, size=(500, 2))
    batch = gaussian_batch(300, rng, real=lambda n: real[:n])
    out = correct(batch, rng, strength=1.0, map="reference", reference=500)
    np.testing.assert_allclose(out.pool.x.mean(axis=0), real.mean(axis=0), atol=1e-10)  # T(x̄) = mean of the real rows

    class Images:
        image_shape = (1, 2, 2)

        def truth(self):
            return None

    pixels = np.column_stack([rng.random((200, 4)) * 0.5, rng.integers(0, 3, 200)])
    real_rows = np.column_stack([0.5 + rng.random((300, 4)) * 0.5, rng.integers(0, 3, 300)])
    batch = SyntheticBatch(TrainingPool.of(pixels, 1), (None,), (1,), Images(), 2, 1.0, real=lambda n: real_rows[:n])
    out = correct(batch, rng, strength=1.0, reference=300).pool.x  # auto: no closed form -> reference
    np.testing.assert_array_equal(out[:, -1], pixels[:, -1])
    assert out[:, :-1].min() >= 0.0 and out[:, :-1].max() <= 1.0 and out[:, :-1].mean() > 0.6


def test_text_is_handed_to_the_grammar_correction(rng, monkeypatch):
    seen = {}

    def correct_tokens(batch, x, strength, rng):
        seen["strength"] = strength
        out = x.copy()
        out[:, 0] = 1.0
        return out

    module = types.ModuleType("autophagy.mitigation.correct_text")
    module.correct_tokens = correct_tokens
    monkeypatch.setitem(sys.modules, "autophagy.mitigation.correct_text", module)

    class Grammar:
        vocab_size = 5

    x = np.zeros((10, 4))
    batch = SyntheticBatch(TrainingPool.of(x, 1), (None,), (1,), Grammar(), 2, 1.0)
    out = correct(batch, rng, strength=0.5)
    assert seen == {"strength": 0.5} and np.all(out.pool.x[:, 0] == 1.0)
    assert out.info["self_correct_shift"] == pytest.approx(0.25)  # a quarter of the tokens changed


def test_exact_without_a_closed_form_is_refused(rng, tmp_path):
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.strength' parameter must be less than or equal to 1\. Got 1\.5 instead\.$"):
        autophagy.load_config(loop(mitigation=[{"kind": "self_correct", "strength": 1.5}]))
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.strength' parameter must be greater than or equal to 0\. Got -0\.1 instead\.$"):
        autophagy.load_config(loop(mitigation=[{"kind": "self_correct", "strength": -0.1}]))
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.map' parameter must be one with a closed form.*Got 'exact' instead\.$"):
        autophagy.load_config(corpus_loop(tmp_path, [{"kind": "self_correct", "map": "exact"}]))
    # a single Gaussian fitted to mixture data: no closed-form OT map (refused when it runs)
    truth = Mixture(np.array([0.5, 0.5]), np.array([[-1.0, 0.0], [1.0, 0.0]]), np.array([np.eye(2)] * 2))

    class Source:
        def truth(self):
            return truth

    with pytest.raises(InvalidParameterError, match=r"'exact' needs a Gaussian generator on Gaussian data or a GMM generator"):
        correct(gaussian_batch(20, rng, source=Source()), rng, map="exact")


def runs(gammas, **changes):
    out = {}
    for gamma in gammas:
        config = loop(metrics=["gaussian_w2", "cov_trace", "mean_sq_error"], mitigation=[{"kind": "self_correct", "strength": gamma}], **changes)
        m = autophagy.run(config, out=None).metrics
        out[gamma] = m.pivot_table(index=["seed", "generation"], columns="metric", values="value")
    return out


def test_the_fully_synthetic_loop_with_gamma_one_stays_at_its_generation_one_level_and_w2_falls_in_gamma():
    """Done-when: d = 2, n = 50, 30 generations, unbiased: with γ = 1 every generation trains on
    exact draws of the truth (E‖μ_t - μ‖² = 0.04, E tr Σ_t = 2); W2 at generation 30 falls
    strictly as γ rises over 0, ¼, ½, 1."""
    curves = runs([0.0, 0.25, 0.5, 1.0], repeats=120)
    wide = curves[1.0]
    later = wide[wide.index.get_level_values("generation") >= 2]
    theory = rejection_moments(30, 50, 50, trace=2.0, estimator="unbiased")
    for metric, expected in (("mean_sq_error", theory.mean_sq_error[-1]), ("cov_trace", theory.cov_trace[-1])):
        values = later[metric].to_numpy()
        # fits of successive generations are independent (exact draws each time): 4 standard errors
        se = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - expected) < 4 * se, (metric, values.mean(), expected, se)
    last = [curves[g].xs(30, level="generation")["gaussian_w2"] for g in (0.0, 0.25, 0.5, 1.0)]
    means = [v.mean() for v in last]
    # successive differences are paired by seed (the same generation-1 fit): each must be
    # positive by more than 3 standard errors of the paired difference
    for hi, lo in zip(last, last[1:], strict=False):
        diff = (hi - lo).to_numpy()
        assert diff.mean() > 3 * diff.std(ddof=1) / np.sqrt(len(diff)), means


def test_the_one_dimensional_recursion_in_gamma_matches_the_loop():
    """d = 1, γ = ½, λ = 0.9, mle: the exact (E s, E s², E(μ - μ₀)²) recursion at generation 10."""
    repeats, gamma = 400, 0.5
    config = loop(generations=10, repeats=repeats, data={"kind": "gaussian", "dim": 1}, generator={"kind": "gaussian", "estimator": "mle", "bias": 0.9},
                  metrics=["gaussian_w2", "cov_trace", "mean_sq_error"], mitigation=[{"kind": "self_correct", "strength": gamma}])
    m = autophagy.run(config, out=None).metrics
    theory = self_correct_moments(10, 50, 50, variance=1.0, strength=gamma, bias=0.9, estimator="mle")
    predicted = {"gaussian_w2": theory.w2[-1], "cov_trace": 0.9 * theory.cov_trace[-1], "mean_sq_error": theory.mean_sq_error[-1]}
    for metric, expected in predicted.items():
        values = m[(m.metric == metric) & (m.generation == 10)].value.to_numpy()
        se = values.std(ddof=1) / np.sqrt(repeats)  # independent repeats: 4 standard errors
        assert abs(values.mean() - expected) < 4 * se, (metric, values.mean(), expected, se)
