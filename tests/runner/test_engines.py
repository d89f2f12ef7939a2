"""The exact and sampled engines: same law of every per-generation metric, same rows.

The exact engine (:mod:`autophagy.exact`) draws group statistics from their Normal / Wishart
laws instead of samples, so it must reproduce the *distribution* over repeats of every metric
the sampled engine writes, generation by generation, on every loop kind it supports. The
comparisons are two-sample Kolmogorov-Smirnov tests at a stated family-wise level; a power
check shows the same machinery rejects a slightly different config.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import autophagy
from autophagy._rng import stream
from autophagy.exact import ExactState, exact_step
from autophagy.exact import stats as exact_stats

from ..conftest import small_config
from .equivalence import engines, ks_pvalues

MOMENTS = ["gaussian_w2", "cov_trace", "mean_sq_error"]
PROVENANCE = ["train_size", "frac_real_fixed", "frac_real_fresh", "frac_synthetic", "degenerate"]
SKEWED = {"kind": "gaussian", "dim": 2, "mean": [1.0, -2.0], "cov": [[2.0, 0.5], [0.5, 1.0]]}
IDENTITY3 = {"kind": "gaussian", "dim": 3}
# eval.n_samples only feeds sample-based metrics and the unused fake draw of the sampled engine;
# keep it small where only moment metrics are compared (it must exceed eval.nearest_k = 5).
TINY_EVAL = {"n_samples": 10, "snapshot_size": 0}


def _config(data, loop, generator, *, generations=4, metrics=MOMENTS, eval=TINY_EVAL):
    changes = dict(data=data, loop=loop, generator=generator, generations=generations)
    return small_config(**changes, metrics=metrics, eval=eval)


# Small training sets on purpose: an off-by-one in a Wishart df, an estimator's divisor or a
# synthetic split moves the metrics by O(1/n), which these sizes make visible.
CASES = {
    "fully_synthetic": _config(
        SKEWED,
        {"kind": "fully_synthetic", "n_real": 10, "n_synthetic": 10},
        {"kind": "gaussian", "bias": 0.9},
    ),
    "augment": _config(
        IDENTITY3,
        {"kind": "augment", "n_real": 8, "n_synthetic": 16},
        {"kind": "gaussian", "estimator": "unbiased"},
    ),
    "fresh": _config(
        SKEWED,
        {"kind": "fresh", "n_real": 6, "n_synthetic": 12},
        {"kind": "gaussian", "bias": 0.8},
    ),
    "accumulate": _config(
        SKEWED,
        {"kind": "accumulate", "n_real": 8, "n_synthetic": 8, "n_fresh": 4},
        {"kind": "gaussian", "bias": 0.9, "estimator": "unbiased"},
    ),
    "mixed": _config(
        IDENTITY3,
        {"kind": "mixed", "n_fixed": 5, "n_fresh": 5, "n_synthetic": 10},
        {"kind": "gaussian", "bias": 0.7},
    ),
    # 13 synthetic samples over 2, 3, then 4 generators: uneven splits, the earlier ones take the
    # remainder. Mostly synthetic and λ = 0.7 so that drawing from the last generator only is
    # caught (older generators have larger covariances).
    "mixed_all": _config(
        SKEWED,
        {"kind": "mixed", "n_fixed": 0, "n_fresh": 4, "n_synthetic": 13, "synthetic_from": "all"},
        {"kind": "gaussian", "bias": 0.7, "estimator": "unbiased"},
        generations=5,
    ),
    "accumulate_all": _config(
        SKEWED,
        {
            "kind": "accumulate",
            "n_real": 6,
            "n_synthetic": 7,
            "n_fresh": 2,
            "synthetic_from": "all",
        },
        {"kind": "gaussian", "bias": 0.8},
    ),
    # a sample-based metric: the exact engine draws G^t's samples per repeat and evaluates them
    # against that repeat's held-out real samples, as the sampled engine does.
    "fresh_sample_metrics": _config(
        SKEWED,
        {"kind": "fresh", "n_real": 8, "n_synthetic": 8},
        {"kind": "gaussian", "bias": 0.8},
        generations=3,
        metrics=["frechet", "gaussian_w2"],
        eval={"n_samples": 40, "snapshot_size": 0},
    ),
}
EXACT_REPEATS = {"fresh_sample_metrics": 1000}  # per-repeat sample metrics are slow there too
DEFAULT_EXACT_REPEATS = 3000

# Family-wise level of the equivalence tests for one seed: 1e-4, Bonferroni over every
# (config, generation, metric) comparison below, so a correct engine fails a default run
# (3 seeds) with probability <= 3e-4 and the AUTOPHAGY_ALL_SEEDS sweep (100 seeds) <= 1e-2.
FAMILY_ALPHA = 1e-4
N_COMPARISONS = sum(case["generations"] * len(case["metrics"]) for case in CASES.values())
ALPHA = FAMILY_ALPHA / N_COMPARISONS





@pytest.mark.parametrize("case", list(CASES))
def test_exact_and_sampled_engines_agree_in_distribution(case, global_seed):
    config = CASES[case]
    sampled, exact = engines(config, global_seed, EXACT_REPEATS.get(case, DEFAULT_EXACT_REPEATS))
    assert not sampled["degenerate"].any() and not exact["degenerate"].any()
    pvalues = ks_pvalues(sampled, exact, config["metrics"])
    assert len(pvalues) == config["generations"] * len(config["metrics"])
    rejected = {key: p for key, p in pvalues.items() if p < ALPHA}
    assert not rejected, (
        f"{case}: exact and sampled laws differ at (generation, metric) {rejected}; α {ALPHA:.1e}"
    )


# Five generations let λ compound: over 100 seeds the smallest p-value of the bias case was at
# most 1e-10 and of the n_synthetic case (at four generations) 1e-13, against α ≈ 1e-6.
POWER_BASE = _config(
    SKEWED,
    {"kind": "fully_synthetic", "n_real": 10, "n_synthetic": 10},
    {"kind": "gaussian", "bias": 0.9},
    generations=5,
)


@pytest.mark.parametrize(
    "change",
    [
        {"generator": {"kind": "gaussian", "bias": 0.8}},
        {"loop": {"kind": "fully_synthetic", "n_real": 10, "n_synthetic": 20}},
    ],
    ids=["bias-0.8-vs-0.9", "n_synthetic-20-vs-10"],
)
def test_the_two_sample_tests_detect_a_slightly_different_config(change, global_seed):
    # Same sizes, same per-comparison α as the equivalence test: a test that cannot reject this
    # would make the equivalence test vacuous.
    sampled, exact = engines(POWER_BASE, global_seed, DEFAULT_EXACT_REPEATS, exact_changes=change)
    pvalues = ks_pvalues(sampled, exact, MOMENTS)
    assert min(pvalues.values()) < ALPHA, f"no rejection at α = {ALPHA:.1e}: {pvalues}"


# -- engine resolution --------------------------------------------------------------------------
def test_unset_engine_resolves_to_exact_for_a_gaussian_loop():
    config = autophagy.load_config(small_config())
    assert config.engine == "exact"
    assert config.to_dict()["engine"] == "exact"
    explicit = autophagy.load_config(small_config(engine="exact"))
    assert explicit.run_id() == config.run_id(), "unset and explicit exact are the same experiment"
    assert autophagy.load_config(small_config(engine="sampled")).engine == "sampled"
    # and the run really goes through the resolved engine
    pd.testing.assert_frame_equal(
        autophagy.run(small_config(), out=None).metrics,
        autophagy.run(small_config(engine="exact"), out=None).metrics,
    )


NOT_EXACT = {
    "gmm-data": (
        {"data": {"kind": "gmm", "layout": "grid", "grid_size": 2, "std": 0.2}},
        "data.kind",
    ),
    "kde-generator": ({"generator": {"kind": "kde"}}, "generator.kind"),
    "gmm-generator": ({"generator": {"kind": "gmm", "n_components": 1}}, "generator.kind"),
    "accumulate_subsample": (
        {
            "loop": {
                "kind": "accumulate_subsample",
                "n_real": 40,
                "n_synthetic": 40,
                "train_size": 40,
            }
        },
        "accumulate_subsample",
    ),
    # 3 synthetic samples in d = 3 < dim + 1: Ledoit-Wolf shrinkage
    "shrinkage": (
        {
            "generator": {"kind": "gaussian", "shrinkage": True},
            "loop": {"kind": "fully_synthetic", "n_real": 40, "n_synthetic": 3},
        },
        "shrinkage",
    ),
}


@pytest.mark.parametrize("case", list(NOT_EXACT))
def test_engine_falls_back_to_sampled_and_refuses_explicit_exact(case):
    changes, reason = NOT_EXACT[case]
    config = autophagy.load_config(small_config(**changes))
    assert config.engine == "sampled"
    assert config.to_dict()["engine"] == "sampled"
    with pytest.raises(autophagy.InvalidParameterError, match=r"The 'engine' parameter") as info:
        autophagy.load_config(small_config(engine="exact", **changes))
    assert reason in str(info.value)
    assert "Got 'exact' instead" in str(info.value)


def test_unknown_engine_is_refused_by_name():
    with pytest.raises(autophagy.InvalidParameterError, match="engine"):
        autophagy.load_config(small_config(engine="fast"))


# -- same rows ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "loop",
    [
        {
            "kind": "accumulate",
            "n_real": 6,
            "n_synthetic": 7,
            "n_fresh": 3,
            "synthetic_from": "all",
        },
        {"kind": "mixed", "n_fixed": 5, "n_fresh": 4, "n_synthetic": 9},
        {"kind": "fully_synthetic", "n_real": 8, "n_synthetic": 5},
    ],
    ids=["accumulate", "mixed", "fully_synthetic"],
)
def test_both_engines_write_the_same_rows_and_provenance(loop):
    config = small_config(
        loop=loop, data=SKEWED, metrics=[*MOMENTS, "frechet"], eval={"n_samples": 20}
    )
    frames = {
        engine: autophagy.run({**config, "engine": engine}, out=None).metrics
        for engine in ("sampled", "exact")
    }
    names = {
        engine: frame.groupby(["seed", "generation"])["metric"].apply(lambda s: tuple(sorted(s)))
        for engine, frame in frames.items()
    }
    pd.testing.assert_series_equal(names["sampled"], names["exact"])
    expected = tuple(sorted([*MOMENTS, "frechet", *PROVENANCE]))
    assert set(names["exact"]) == {expected}, "every (seed, generation) has every metric once"
    wide = {
        engine: frame.pivot_table(index=["seed", "generation"], columns="metric", values="value")
        for engine, frame in frames.items()
    }
    pd.testing.assert_frame_equal(
        wide["sampled"][PROVENANCE], wide["exact"][PROVENANCE], check_exact=True
    )
    assert (wide["exact"]["degenerate"] == 0.0).all()


# -- autophagy.exact.stats ----------------------------------------------------------------------
COV3 = np.array([[2.0, 0.6, -0.3], [0.6, 1.0, 0.2], [-0.3, 0.2, 0.5]])
MEAN3 = np.array([1.0, -2.0, 0.5])


def _wishart_se(df, cov, repeats):
    """Standard error of the mean of R draws of each entry of Wishart_d(df, C).

    Var W_ij = df (C_ij² + C_ii C_jj) (W is a sum of df outer products of N(0, C) vectors); the
    sample covariance of R Gaussian vectors has the same form with df = 1.
    """
    diag = np.diag(cov)
    return np.sqrt(df * (cov**2 + np.outer(diag, diag)) / repeats)


# Every moment check below is |z| < 5 per entry (two-sided p = 5.7e-7); with at most ~30 entries
# per test the family-wise level per test and seed is below 2e-5.
Z = 5.0


def test_draw_mean_and_scatter_have_their_laws(global_seed):
    rng = np.random.default_rng(global_seed)
    n, repeats = 5, 200_000
    stats = exact_stats.draw(n, MEAN3, np.linalg.cholesky(COV3), rng, repeats)
    assert stats.n == n
    assert stats.mean.shape == (repeats, 3) and stats.scatter.shape == (repeats, 3, 3)
    # x̄ ~ N(m, C/n)
    c = COV3 / n
    se_mean = np.sqrt(np.diag(c) / repeats)
    assert np.all(np.abs(stats.mean.mean(axis=0) - MEAN3) < Z * se_mean)
    assert np.all(np.abs(np.cov(stats.mean, rowvar=False) - c) < Z * _wishart_se(1, c, repeats))
    # S ~ Wishart(n - 1, C): E S = (n - 1) C
    se_scatter = _wishart_se(n - 1, COV3, repeats)
    assert np.all(np.abs(stats.scatter.mean(axis=0) - (n - 1) * COV3) < Z * se_scatter)
    assert np.allclose(stats.scatter, np.swapaxes(stats.scatter, 1, 2))
    factor = getattr(stats, "factor", None)  # a factor of the scatter, where the draw gives one
    if factor is not None:
        np.testing.assert_allclose(factor @ np.swapaxes(factor, 1, 2), stats.scatter, atol=1e-10)
    # x̄ independent of S: their correlation is 0 within Z / sqrt(R)
    corr = np.corrcoef(stats.mean[:, 0], stats.scatter[:, 0, 0])[0, 1]
    assert abs(corr) < Z / np.sqrt(repeats)


def test_draw_keeps_each_repeat_on_its_own_mean_and_factor():
    rng = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [10.0, -10.0], [3.0, 4.0]])
    factors = np.stack([np.eye(2), np.zeros((2, 2)), 2.0 * np.eye(2)])
    stats = exact_stats.draw(6, means, factors, rng, 3)
    # a zero factor is a point mass: its group's mean is exact and its scatter is 0
    np.testing.assert_array_equal(stats.mean[1], means[1])
    np.testing.assert_array_equal(stats.scatter[1], np.zeros((2, 2)))
    assert np.all(np.diag(stats.scatter[0]) > 0) and np.all(np.diag(stats.scatter[2]) > 0)
    # a single sample has no scatter
    one = exact_stats.draw(1, MEAN3, np.linalg.cholesky(COV3), rng, 4)
    np.testing.assert_array_equal(one.scatter, np.zeros((4, 3, 3)))


@pytest.mark.parametrize("df", [7, 3, 2, 1], ids=["df>d", "df=d", "df<d", "df=1"])
def test_wishart_has_mean_df_times_cov_and_chi2_quadratic_forms(df, global_seed):
    rng = np.random.default_rng(global_seed)
    repeats, d = 100_000, 3
    w = exact_stats.wishart(df, np.linalg.cholesky(COV3), rng, repeats)
    assert w.shape == (repeats, d, d)
    np.testing.assert_allclose(w, np.swapaxes(w, 1, 2), atol=1e-12)
    assert np.all(np.abs(w.mean(axis=0) - df * COV3) < Z * _wishart_se(df, COV3, repeats))
    # the full law along fixed directions: aᵀWa = ‖Z Fᵀa‖² ~ (aᵀCa) χ²_df, singular or
    # not; KS against it at α = 1e-6 per direction.
    for a in (np.array([1.0, 0.0, 0.0]), np.array([0.3, -1.0, 2.0])):
        ratio = np.einsum("i,rij,j->r", a, w, a) / (a @ COV3 @ a)
        assert sps.kstest(ratio, sps.chi2(df).cdf).pvalue > 1e-6
    # rank min(df, d): singular below d, positive definite from d on
    ranks = np.linalg.matrix_rank(w[:50])
    np.testing.assert_array_equal(ranks, np.full(50, min(df, d)))


def test_wishart_with_no_degrees_of_freedom_is_zero():
    w = exact_stats.wishart(0, np.eye(2), np.random.default_rng(0), 3)
    np.testing.assert_array_equal(w, np.zeros((3, 2, 2)))


def test_merge_equals_statistics_of_the_concatenation():
    rng = np.random.default_rng(1)
    groups = [
        rng.normal(loc=shift, scale=scale, size=(4, size, 3))
        for shift, scale, size in ((0.0, 1.0, 7), (5.0, 0.5, 5), (-3.0, 2.0, 1))
    ]
    whole = exact_stats.of_samples(np.concatenate(groups, axis=1))
    for parts in (groups, groups[::-1], groups[:2]):
        merged = exact_stats.merge([exact_stats.of_samples(g) for g in parts])
        expected = exact_stats.of_samples(np.concatenate(parts, axis=1))
        assert merged.n == expected.n
        np.testing.assert_allclose(merged.mean, expected.mean, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(merged.scatter, expected.scatter, rtol=1e-10, atol=1e-10)
    assert whole.n == 13
    single = exact_stats.of_samples(groups[0])
    assert exact_stats.merge([single]) is single


def test_of_samples_is_the_mean_and_unnormalised_covariance():
    x = np.random.default_rng(2).normal(size=(3, 9, 2))
    stats = exact_stats.of_samples(x)
    for r in range(3):
        np.testing.assert_allclose(stats.mean[r], x[r].mean(axis=0), rtol=1e-12)
        np.testing.assert_allclose(stats.scatter[r], 8 * np.cov(x[r], rowvar=False), rtol=1e-12)


@pytest.mark.parametrize("loop", [CASES["accumulate"]["loop"], CASES["mixed_all"]["loop"]])
def test_exact_step_keeps_a_factor_of_every_fitted_covariance(loop):
    # Synthetic groups are drawn through FittedGaussians.factor: it must factor cov exactly.
    config = autophagy.load_config(small_config(loop=loop, data=SKEWED, generations=4))
    state, cov = ExactState(), np.asarray(SKEWED["cov"])
    for t in range(1, 5):
        state, info = exact_step(
            config.loop,
            state,
            mean=np.asarray(SKEWED["mean"]),
            factor=np.linalg.cholesky(cov),
            draw_stream=lambda role, t=t: stream(3, t, role),
            bias=0.8,
            estimator="unbiased",
            repeats=5,
        )
        assert state.generation == t and info["train_size"] == config.loop.train_sizes(4)[t - 1]
        for g in state.generators:
            np.testing.assert_allclose(g.factor @ np.swapaxes(g.factor, 1, 2), g.cov, atol=1e-10)


def test_both_engines_snapshot_the_same_real_samples():
    from autophagy.runner.exact_gaussian import ExactEngine
    from autophagy.runner.sampled import SampledEngine

    config = autophagy.load_config(small_config(eval={"n_samples": 20, "snapshot_size": 50}))
    exact = ExactEngine(config, "x", None).real_snapshot()
    sampled = SampledEngine(config.model_copy(update={"engine": "sampled"}), "x", None).real_snapshot()
    np.testing.assert_array_equal(exact, sampled)
    assert exact.shape == (20, 3)
