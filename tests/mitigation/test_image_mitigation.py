"""Mitigation on images (the bundled 8×8 digits): the source's class-probability and embedding
hooks, the classifier_confidence and discriminator scores, and the stages in a tiny VAE loop."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import autophagy
from autophagy.images.source import ImageSetConfig, build
from autophagy.loops import SyntheticBatch, TrainingPool
from autophagy.mitigation.discriminator import (
    classifier_confidence,
    discriminator,
    fit_discriminator,
)
from autophagy.registry import entries

pytest.importorskip("torch")

PIXELS = 64


@pytest.fixture(scope="module")
def digits():
    """(source, 300 held-out rows with labels, 600 training rows): the classifier trains once."""
    source = build(ImageSetConfig())
    rng = np.random.default_rng(0)
    return source, source.holdout(300, rng=rng), source.sample(600, rng=rng)


def noise_rows(n, rng):
    """Unlabelled rows (label -1) of uniform pixels: nothing like a digit."""
    return np.column_stack([rng.random((n, PIXELS)), -np.ones(n)])


def batch_of(source, x, reference):
    pool = TrainingPool.of(x, origin=1)
    return SyntheticBatch(pool, (), (1,), source=source, generation=2, bias=1.0, real=lambda n: reference[:n])


def test_class_probs_are_distributions_that_classify_held_out_digits(digits):
    source, held_out, _ = digits
    probs = source.class_probs(held_out)
    assert probs.shape == (300, 10) and np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs, source.class_probs(held_out[:, :PIXELS]))  # label column optional
    assert np.mean(probs.argmax(1) == held_out[:, -1]) > 0.9  # the lab's classifier is ≈ 97 % accurate
    assert source.embed(held_out).shape == (300, 128)
    with pytest.raises(ValueError, match="64 pixels"):
        source.class_probs(np.zeros((2, 10)))


def test_classifier_confidence_ranks_digits_above_noise(digits):
    source, held_out, _ = digits
    x = np.vstack([held_out[:100], noise_rows(100, np.random.default_rng(1))])
    score = classifier_confidence(None)(batch_of(source, x, held_out), x, np.random.default_rng(2))
    assert score.shape == (200,) and np.all((score >= 0.1 - 1e-9) & (score <= 1 + 1e-9))  # in [1/K, 1]
    assert np.median(score[:100]) > np.median(score[100:])


def test_discriminator_tells_noisy_digits_from_real_ones_in_the_classifier_embedding(digits):
    source, held_out, train = digits
    rng = np.random.default_rng(3)

    def noisy(rows):
        out = rows.copy()
        out[:, :PIXELS] = np.clip(out[:, :PIXELS] + 0.25 * rng.standard_normal((len(rows), PIXELS)), 0, 1)
        out[:, -1] = -1.0  # unlabelled, as unconditional samples: the label column is never a feature
        return out

    score = fit_discriminator(source, train[:300], noisy(train[300:]))
    real_scores, fake_scores = score(held_out[:150]), score(noisy(held_out[150:]))
    u = stats.mannwhitneyu(real_scores, fake_scores).statistic / (150 * 150)
    se = np.sqrt((150 + 150 + 1) / (12 * 150 * 150))  # the AUC's SE under no information
    assert u > 0.5 + 5 * se, u
    # the cross-fitted score of a batch half real, half noisy ranks the real half higher
    x = np.vstack([held_out[:100, :], noisy(held_out[100:200])])
    x[:, -1] = -1.0
    s = discriminator(type("Cfg", (), {"reference": 300})())(batch_of(source, x, held_out), x, np.random.default_rng(4))
    assert np.median(s[:100]) > np.median(s[100:])


def vae_config(mitigation, **changes):
    config = {
        "name": "tiny-vae-mitigation",
        "seed": 3,
        "generations": 3,
        "data": {"kind": "images"},
        "generator": {"kind": "vae", "device": "cpu", "steps": 25, "width": 32, "latent_dim": 4, "batch_size": 64},
        "loop": {"kind": "fully_synthetic", "n_real": 200, "n_synthetic": 200},
        "metrics": ["fid", "class_entropy"],
        "eval": {"n_samples": 120, "snapshot_size": 16},
        "mitigation": mitigation,
    }
    config.update(changes)
    return config


STAGES = {
    "importance": ({"kind": "importance", "reference": 200}, "importance_ess"),
    "threshold": ({"kind": "threshold", "score": "classifier_confidence", "keep": 0.5}, "threshold_score_kept"),
    "self_correct": ({"kind": "self_correct", "map": "reference", "strength": 0.5, "reference": 200}, "self_correct_shift"),
}


@pytest.mark.parametrize("name", list(STAGES))
def test_each_stage_runs_in_a_tiny_vae_loop_deterministically(name):
    stage, row = STAGES[name]
    if stage["kind"] not in entries("stage"):
        pytest.skip(f"the {stage['kind']} stage is not registered yet")
    a = autophagy.run(vae_config([stage]), out=None)
    rows = a.metrics.pivot_table(index="generation", columns="metric", values="value")
    assert np.all(np.isfinite(rows.loc[2:, row])) and np.all(np.isfinite(rows["fid"]))
    kept = 0.5 if name == "threshold" else 1.0
    np.testing.assert_allclose(rows.loc[2:, "kept_fraction"], kept)
    np.testing.assert_allclose(rows.loc[2:, "train_size"], 200 * kept)
    b = autophagy.run(vae_config([stage]), out=None)
    np.testing.assert_array_equal(a.metrics["value"].to_numpy(), b.metrics["value"].to_numpy())
