"""The ``importance`` stage: resampling by the true ratio recovers the target, the learned ratio
moves toward it, and in a run: sizes, provenance, determinism, resume, refusals at load."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import autophagy
from autophagy.exceptions import InvalidParameterError
from autophagy.loops import SyntheticBatch, TrainingPool
from autophagy.mitigation.importance import (
    ImportanceConfig,
    ImportanceStage,
    clipped_weights,
    effective_sample_share,
)
from tests.interrupt import Stop, stop_after

SHIFT = np.array([0.5, -0.3])
SCALE = 1.2  # synthetic std (> the real 1): the true ratio p/q is bounded


def batch_of(x, reference=None, origin=2):
    pool = TrainingPool(x, np.full(len(x), origin, dtype=np.int64), np.zeros(len(x), dtype=np.int64))
    real = None if reference is None else (lambda n: reference[:n])
    return SyntheticBatch(pool, (), (origin,), source=SimpleNamespace(), generation=3, bias=1.0, real=real)


def true_log_ratio(x):
    """log N(x; 0, I) - log N(x; SHIFT, SCALE² I), shape (n,)."""
    return stats.norm.logpdf(x).sum(1) - stats.norm.logpdf(x, loc=SHIFT, scale=SCALE).sum(1)


def test_weights_are_normalised_then_capped_and_their_effective_size_is_kish():
    np.testing.assert_allclose(clipped_weights(np.array([1.0, 1.0, 2.0, 96.0]), clip=3.0), [0.04, 0.04, 0.08, 3.0])
    np.testing.assert_allclose(clipped_weights(np.array([1.0, 3.0]), clip=None), [0.5, 1.5])
    np.testing.assert_array_equal(clipped_weights(np.zeros(3), clip=None), np.ones(3))
    assert effective_sample_share(np.ones(10)) == 1.0
    assert effective_sample_share(np.r_[1.0, np.zeros(9)]) == pytest.approx(0.1)
    # the cap's guarantee (module docstring): ESS share >= mean(w) / clip
    w = clipped_weights(np.random.default_rng(0).lognormal(0.0, 3.0, size=1000), clip=5.0)
    assert w.max() <= 5.0 and effective_sample_share(w) >= w.mean() / 5.0


def test_resampling_by_the_true_ratio_recovers_the_target_mean():
    rng = np.random.default_rng(0)
    n = 4000
    x = SHIFT + SCALE * rng.standard_normal((n, 2))
    stage = ImportanceStage(ImportanceConfig(clip=None))
    stage.log_ratio = lambda batch, rows, rng: true_log_ratio(rows)  # the perfect ratio, injected
    out = stage(batch_of(x), rng=np.random.default_rng(1))
    assert len(out.pool) == n and np.all(out.pool.origin == 2)  # size and provenance kept
    w = np.exp(true_log_ratio(x))
    w = w / w.sum()
    target = np.zeros(2)
    # SE of the resampled mean: the self-normalised weighted mean's (Σ w_i² (x_i - x̄_w)²) plus the
    # multinomial resampling's (Var_w(x) / n); the test allows 4 SE per coordinate
    mean_w = w @ x
    se = np.sqrt((w**2) @ (x - mean_w) ** 2 + (w @ (x - mean_w) ** 2) / n)
    got = out.pool.x.mean(0)
    assert np.all(np.abs(got - target) < 4 * se), (got, se)
    assert np.all(np.abs(x.mean(0)[0] - target[0]) > 10 * se[0])  # the shift was far beyond the error
    assert 0 < out.info["importance_ess"] < 1 and 0 < out.info["importance_distinct"] < 1


def test_extreme_log_ratios_do_not_overflow_into_uniform_weights():
    x = np.arange(4.0)[:, None]
    stage = ImportanceStage(ImportanceConfig(clip=None))
    stage.log_ratio = lambda batch, rows, rng: np.array([0.0, 0.0, 0.0, 2000.0])  # exp(2000) = inf
    out = stage(batch_of(x), rng=np.random.default_rng(0))
    np.testing.assert_array_equal(out.pool.x[:, 0], [3.0] * 4)
    assert out.info["importance_ess"] == pytest.approx(0.25)


def test_resampling_by_the_learned_ratio_removes_most_of_a_mean_shift():
    """Behavioural, not a closed form: a consistent discriminator drives the resampled mean to
    the real one; with 2,000 rows at least half of a shift of 0.5 (≈ 30 SE) must go."""
    rng = np.random.default_rng(2)
    x, reference = SHIFT + SCALE * rng.standard_normal((2000, 2)), rng.standard_normal((1000, 2))
    stage = ImportanceStage(ImportanceConfig(reference=1000))
    out = stage(batch_of(x, reference), rng=np.random.default_rng(3))
    assert np.linalg.norm(out.pool.x.mean(0)) < 0.5 * np.linalg.norm(x.mean(0))
    again = stage(batch_of(x, reference), rng=np.random.default_rng(3))
    np.testing.assert_array_equal(out.pool.x, again.pool.x)


def config(**changes):
    base = {
        "name": "importance",
        "seed": 4,
        "generations": 5,
        "repeats": 2,
        "engine": "sampled",
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": 200},
        "metrics": ["cov_trace", "gaussian_w2"],
        "eval": {"n_samples": 100},
        "mitigation": [{"kind": "importance", "reference": 300}],
        "store": {"checkpoint_every_s": 0},
    }
    base.update(changes)
    return base


def table(result):
    return result.metrics.sort_values(["seed", "generation", "metric"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def whole():
    return autophagy.run(config(), out=None)


def test_a_run_records_the_stage_keeps_sizes_and_is_deterministic(whole):
    rows = whole.metrics.pivot_table(index=["seed", "generation"], columns="metric", values="value")
    later = rows.xs(slice(2, None), level="generation", drop_level=False)
    assert np.all(later["train_size"] == 200) and np.all(later["frac_synthetic"] == 1.0)
    assert np.all(later["kept_fraction"] == 1.0) and np.all(later["removed_by_importance"] == 0.0)
    assert np.all((later["importance_ess"] > 0) & (later["importance_ess"] <= 1))
    assert rows.loc[(slice(None), 1), "importance_ess"].isna().all()  # no synthetic data at t = 1
    pd.testing.assert_frame_equal(table(autophagy.run(config(), out=None)), table(whole))
    assert not table(autophagy.run(config(seed=5), out=None))["value"].equals(table(whole)["value"])


def test_a_resumed_run_equals_the_uninterrupted_one(tmp_path, whole):
    with pytest.raises(Stop):
        autophagy.run(config(), out=tmp_path, progress=stop_after(2))
    resumed = autophagy.run(config(), out=tmp_path)
    pd.testing.assert_frame_equal(table(resumed), table(whole), check_dtype=False)


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        ({"reference": 1}, r"^The 'mitigation\.0\.reference' parameter must be greater than or equal to 2\. Got 1 instead\.$"),
        ({"clip": 1}, r"^The 'mitigation\.0\.clip' parameter must be greater than 1\. Got 1 instead\.$"),
        ({"clip": -3.0}, r"^The 'mitigation\.0\.clip' parameter must be greater than 1\. Got -3\.0 instead\.$"),
    ],
)
def test_bad_input_is_refused_at_load_in_one_line(stage, message):
    with pytest.raises(InvalidParameterError, match=message):
        autophagy.load_config(config(mitigation=[{"kind": "importance", **stage}]))


def test_more_reference_rows_than_the_images_hold_out_are_refused_at_load():
    digits = config(data={"kind": "images"}, generator={"kind": "vae"}, metrics=["class_entropy"], mitigation=[{"kind": "importance"}])
    with pytest.raises(InvalidParameterError, match=r"^The 'mitigation\.0\.reference' parameter must be <= the 359 held-out rows .*Got 1000 instead\.$"):
        autophagy.load_config(digits)
