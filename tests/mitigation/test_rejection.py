"""``rejection``: the perfect verifier — exact draws of the truth, refilled batches, the
fully synthetic Gaussian loop held at its generation-1 error, refusals at load."""

from __future__ import annotations

import numpy as np
import pytest

import autophagy
from autophagy.core.source import Mixture
from autophagy.exceptions import InvalidParameterError
from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch, apply_stages, stage_rows
from autophagy.mitigation.rejection import RejectionConfig, RejectionStage, ShortBatchWarning
from autophagy.theory.mitigation import rejection_moments
from autophagy.vectors.gaussian import GaussianGenerator
from autophagy.vectors.gaussian_data import GaussianSource
from tests.interrupt import resumed_metrics


def loop(**changes):
    config = {
        "name": "rejection",
        "seed": 3,
        "generations": 30,
        "repeats": 16,
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "gaussian", "estimator": "unbiased"},
        "loop": {"kind": "fully_synthetic", "n_real": 50, "n_synthetic": 50},
        "metrics": ["cov_trace", "mean_sq_error"],
        "eval": {"n_samples": 100},
        "mitigation": [{"kind": "rejection"}],
    }
    config.update(changes)
    return config


def gaussian_batch(n, mean, cov, rng, source=None):
    """A batch of n draws of G = N(mean, cov) (a fitted GaussianGenerator), truth N(0, I) by default."""
    d = len(mean)
    gen = GaussianGenerator()
    gen.mean_, gen.cov_ = np.asarray(mean, float), np.asarray(cov, float)
    source = source or GaussianSource(np.zeros(d), np.eye(d))
    x = gen.sample(n, rng=rng)
    return SyntheticBatch(TrainingPool.of(x, 4), (gen,), (4,), source, 5, 1.0)


def test_a_bounded_ratio_gives_exact_draws_of_the_truth(rng):
    # G = N(0, 4) against the truth N(0, 1): r = 2 exp(-3x²/8) <= 2 = M, reached at x = 0
    batch = gaussian_batch(20_000, [0.0], [[4.0]], rng)
    out = RejectionStage(RejectionConfig(M=2.0))(batch, rng=rng)
    x = out.pool.x[:, 0]
    assert len(out.pool) == 20_000 and out.proposed > 20_000  # refilled to its size
    # the accepted rows are N(0, 1): mean within 4 standard errors (1/√n), variance within 4·√(2/n)
    assert abs(x.mean()) < 4 / np.sqrt(len(x)) and abs(x.var() - 1.0) < 4 * np.sqrt(2 / len(x))
    # acceptance = 1/M = ½; binomial standard error over the ≈ 40 000 proposals
    assert abs(out.info["rejection_acceptance"] - 0.5) < 4 * np.sqrt(0.25 / out.proposed)
    assert out.info["rejection_log_M"] == pytest.approx(np.log(2.0))


def test_without_fill_only_what_passes_is_kept_with_its_provenance(rng):
    batch = gaussian_batch(4000, [0.0], [[4.0]], rng)
    out = RejectionStage(RejectionConfig(M=2.0, fill=False))(batch, rng=rng)
    assert out.proposed == 4000 and 0 < len(out.pool) < 4000
    assert abs(len(out.pool) / 4000 - 0.5) < 4 * np.sqrt(0.25 / 4000)
    assert set(out.pool.origin) == {4}
    rows = {tuple(r) for r in batch.pool.x}
    assert all(tuple(r) in rows for r in out.pool.x)  # kept rows are rows of the batch, unchanged


def test_an_estimated_M_is_the_largest_ratio_seen_and_the_run_is_deterministic():
    batch = gaussian_batch(500, [0.3, -0.2], [[0.8, 0.1], [0.1, 1.3]], np.random.default_rng(1))
    a = apply_stages([RejectionStage(RejectionConfig())], batch, np.random.default_rng(7))
    b = apply_stages([RejectionStage(RejectionConfig())], batch, np.random.default_rng(7))
    np.testing.assert_array_equal(a.pool.x, b.pool.x)
    assert a.info == b.info and len(a.pool) == 500
    rows = stage_rows(a)
    assert rows["kept_fraction"] == pytest.approx(500 / a.proposed)
    assert rows["removed_by_rejection"] == pytest.approx(1 - 500 / a.proposed)
    assert np.isfinite(a.info["rejection_log_M"]) and 0 < a.info["rejection_acceptance"] <= 1


def test_max_rounds_bounds_the_refill():
    # a model far from the truth: almost nothing passes, one round is not enough
    batch = gaussian_batch(200, [3.0], [[0.05]], np.random.default_rng(2))
    with pytest.warns(ShortBatchWarning, match=r"^rejection at generation 5: \d+ of 200 samples accepted after 1 fill rounds"):
        out = RejectionStage(RejectionConfig(max_rounds=1))(batch, rng=np.random.default_rng(3))
    assert len(out.pool) < 200 and out.proposed <= 200 + 16 * 200


def test_the_fully_synthetic_loop_stays_at_its_generation_one_level():
    """Done-when: d = 2, n = 50, 30 generations; with rejection every generation trains on 50
    (approximately) exact draws of the truth, so E‖μ_t - μ‖² = τ/n = 0.04 and E tr Σ_t = τ = 2."""
    result = autophagy.run(loop(), out=None)
    wide = result.metrics.pivot_table(index=["seed", "generation"], columns="metric", values="value")
    later = wide[wide.index.get_level_values("generation") >= 2]
    theory = rejection_moments(30, 50, 50, trace=2.0, estimator="unbiased")
    for metric, expected in (("mean_sq_error", theory.mean_sq_error[-1]), ("cov_trace", theory.cov_trace[-1])):
        values = later[metric].to_numpy()
        # generations are close to independent (each fit is on fresh exact draws): standard error
        # of the mean over 16 repeats × 29 generations; 4 of them, plus the estimated-M bias that
        # the module states (a few per cent of the variance in the truth's tails): 5 %
        se = values.std(ddof=1) / np.sqrt(len(values))
        assert abs(values.mean() - expected) < 4 * se + 0.05 * expected, (metric, values.mean(), expected, se)
    plain = autophagy.run(loop(mitigation=[]), out=None).metrics
    last = plain[(plain.generation == 30) & (plain.metric == "mean_sq_error")].value.mean()
    assert last > 5 * theory.mean_sq_error[-1]  # without it the mean has walked away (≈ 30 × 0.04)


def test_resume_equals_an_uninterrupted_run(tmp_path):
    config = loop(generations=8, repeats=2, mitigation=[{"kind": "self_correct", "strength": 0.5}, {"kind": "threshold", "score": "self_loglik", "keep": 0.8}, {"kind": "rejection"}], store={"checkpoint_every_s": 0})
    whole = resumed_metrics(config, tmp_path, 4)
    assert {"kept_fraction", "removed_by_rejection", "removed_by_threshold", "removed_by_self_correct", "rejection_acceptance"} <= set(whole.metric)


def corpus_loop(tmp_path, mitigation):
    """A character-level corpus (law unknown) with an n-gram model."""
    path = tmp_path / "corpus.txt"
    path.write_text("the cat sat on the mat and the dog sat on the log. " * 1000, encoding="utf-8")
    return loop(
        data={"kind": "corpus", "path": str(path), "tokenizer": "char", "seq_len": 16},
        generator={"kind": "ngram", "order": 2}, metrics=None, mitigation=mitigation,
    )


def test_a_source_without_a_known_law_or_a_generator_without_log_prob_is_refused_at_load(tmp_path):
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.kind' parameter must be one that does not need the true density.*Got 'rejection' instead\.$"):
        autophagy.load_config(corpus_loop(tmp_path, [{"kind": "rejection"}]))
    config = loop(data={"kind": "linear", "dim": 3}, generator={"kind": "linear_ridge"}, metrics=["test_error"])
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.kind' parameter must be one the generator can serve \(it needs the generator's log_prob"):
        autophagy.load_config(config)
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation.0.M' parameter must be greater than 0\. Got -1\.0 instead\.$"):
        autophagy.load_config(loop(mitigation=[{"kind": "rejection", "M": -1.0}]))


def test_the_truth_is_a_mixture_for_a_gmm_source(rng):
    # several modes: the ratio is taken against the whole true mixture
    truth = Mixture(np.array([0.5, 0.5]), np.array([[-2.0], [2.0]]), np.array([[[0.25]], [[0.25]]]))

    class Source:
        def truth(self):
            return truth

    batch = gaussian_batch(20_000, [0.0], [[9.0]], rng, source=Source())
    out = RejectionStage(RejectionConfig())(batch, rng=rng)
    x = out.pool.x[:, 0]
    # mixture moments: mean 0, variance 0.25 + 4 = 4.25; share of the right mode ½ (binomial se)
    assert abs(np.mean(x > 0) - 0.5) < 4 * np.sqrt(0.25 / len(x))
    assert abs(x.var() - 4.25) < 4 * x.var() * np.sqrt(2 / len(x)) + 0.02
