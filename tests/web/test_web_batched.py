"""The batched web engine (Gaussian lineages): pool semantics, fits equal to GaussianGenerator's,
determinism, resume, and the fresh-human limit against theory."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import autophagy
from autophagy._rng import stream
from autophagy.loops.web import draw_rows
from autophagy.metrics.functional import gaussian_w2
from autophagy.registry import build_source
from autophagy.runner.engines import make_engine
from autophagy.runner.web_batched import WebBatchedEngine
from autophagy.runner.web_common import PROVENANCE, human_arrivals, initial_pool, with_arrivals
from autophagy.theory.wasserstein import expected_distance
from autophagy.vectors.gaussian import GaussianGenerator
from tests.interrupt import resumed_metrics

METRICS = ["gaussian_w2", "cov_trace", "mean_sq_error", "cov_logdet"]
TINY = {
    "name": "web-tiny",
    "generations": 3,
    "data": {"kind": "gaussian", "dim": 2},
    "eval": {"n_samples": 100},
    "web": {
        "lineages": [
            {"generator": {"kind": "gaussian"}, "count": 1, "n_train": 20, "publish": 10},
            {"generator": {"kind": "gaussian", "estimator": "unbiased", "bias": 0.7}, "count": 1, "n_train": 30, "publish": 10},
        ],
        "pool": {"size": 200, "human_per_generation": 30, "eviction": "fifo"},
    },
}


def tiny(**pool):
    config = copy.deepcopy(TINY)
    config["web"]["pool"].update(pool)
    return config


def wide(result):
    """(seed, generation, lineage) x metric."""
    return result.metrics.pivot_table(index=["seed", "generation", "lineage"], columns="metric", values="value")


def test_a_gaussian_web_defaults_to_the_moment_metrics_and_runs_batched():
    config = autophagy.load_config(tiny())
    assert config.engine == "exact" and config.metrics == METRICS
    assert isinstance(make_engine(config, config.run_id(), None), WebBatchedEngine)
    sampled = autophagy.load_config({**tiny(), "metrics": ["gaussian_w2", "recall"]})  # a sample metric: not batched
    assert sampled.engine == "sampled"
    with pytest.raises(autophagy.InvalidParameterError, match=r"^The 'engine' parameter must be 'sampled' here \(metric 'recall' needs samples.*Got 'exact' instead\.$"):
        autophagy.load_config({**tiny(), "metrics": ["recall"], "engine": "exact"})


@pytest.mark.parametrize(("eviction", "sizes"), [("fifo", [200, 200, 200]), ("uniform", [200, 200, 200]), ("none", [250, 300, 350])])
def test_the_pool_size_after_eviction(eviction, sizes):
    config = autophagy.load_config(tiny(eviction=eviction))
    engine = make_engine(config, config.run_id(), None)
    for t, size in enumerate(sizes, start=1):
        block, _ = engine.advance(t, snapshot=False)
        pool = engine.pools[0]
        assert len(pool) == size  # + 30 human + 2 x 10 published per generation, cut back to 200
        rows = dict(zip((block.names[c] for c in block.code[block.lineage == -1]), block.value[block.lineage == -1], strict=True))
        assert rows["pool_size"] == size
        if eviction == "fifo":  # the oldest arrivals left: what stays is the newest 200
            assert pool.arrival.min() == 200 + 50 * t - size
        assert np.all(np.diff(pool.arrival) > 0) and (pool.published[~pool.human] >= 1).all()


def test_human_share_synthetic_age_and_lineage_columns_by_hand():
    result = autophagy.run(tiny(eviction="none"), out=None)
    m, rows = result.metrics, wide(result)
    assert set(m.lineage) == {-1, 0, 1}
    lineage_rows = set(m[m.lineage >= 0].metric)
    assert lineage_rows == {*METRICS, *PROVENANCE, "degenerate"}
    assert all(name.startswith(("pool_", "lineage_")) for name in m[m.lineage == -1].metric)
    pool = rows.xs(-1, level="lineage")
    # eviction none: 200 human at start; each generation + 30 human, + 10 per lineage
    for t in (1, 2, 3):
        assert pool.loc[(0, t), "pool_human_share"] == pytest.approx((200 + 30 * t) / (200 + 50 * t), abs=1e-15)
    lin = {i: rows.xs(i, level="lineage") for i in (0, 1)}
    assert lin[0]["train_size"].eq(20).all() and lin[1]["train_size"].eq(30).all()
    # generation 1 draws from an all-human pool: every published item has depth 1
    assert pool.loc[(0, 1), "pool_synthetic_age"] == 1.0 and lin[0].loc[(0, 1), "frac_synthetic"] == 0.0
    # later: depth of a published item = 1 + the mean depth of its lineage's draw (train_depth)
    depths = [10 * [1.0] * 2]
    for t in (2, 3):
        depths.append([1.0 + lin[i].loc[(0, t), "train_depth"] for i in (0, 1)] * 10)
        flat = np.concatenate([np.asarray(d) for d in depths])
        assert pool.loc[(0, t), "pool_synthetic_age"] == pytest.approx(flat.mean(), rel=1e-12)
    spread = pool.loc[(0, 3), "lineage_sd_gaussian_w2"]
    assert spread == pytest.approx(np.std([lin[i].loc[(0, 3), "gaussian_w2"] for i in (0, 1)]), rel=1e-12)


def test_each_lineage_fits_and_publishes_what_gaussian_generator_would_on_its_draw():
    config = autophagy.load_config(tiny(eviction="none", initial="mixed"))
    source, seed = build_source(config), config.seed
    engine = make_engine(config, config.run_id(), None)
    start = initial_pool(config, source, seed)
    assert len(start) == 200 and start.human_share() == 0.5 and (start.lineage[~start.human] == 0).all()
    block, _ = engine.advance(1, snapshot=False)
    drawn = with_arrivals(start, human_arrivals(config, source, seed, 1), 1)
    truth = source.truth()
    for i, group in enumerate(config.web.lineages):
        rows = draw_rows(drawn, group.n_train, config.web.draw, stream(seed, 1, "draw", batch=i))
        g = GaussianGenerator(estimator=group.generator.estimator).fit(drawn.x[rows], rng=stream(seed, 1, "fit"))
        expected = g.sample(group.publish, rng=stream(seed, 1, "publish", batch=i), bias=group.generator.bias)
        pool = engine.pools[0]
        got = pool.x[(pool.lineage == i) & (pool.published == 1)]
        # the same arithmetic as GaussianGenerator (fit: mean and scatter / (n - ddof); sample:
        # mean + z Fᵀ, F from eigh of λΣ): equal up to BLAS rounding
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
        assert np.all(pool.depth[(pool.lineage == i) & (pool.published == 1)] == 1.0 + drawn.depth[rows].mean())
        w2 = block.value[(block.lineage == i) & (block.code == block.names.index("gaussian_w2"))]
        mean, cov = g.moments(bias=group.generator.bias)
        assert w2[0] == pytest.approx(gaussian_w2(mean, cov, truth.means[0], truth.covariances[0]), rel=1e-9)


def test_same_seed_same_rows_other_seed_other_rows():
    config = tiny(eviction="uniform")
    config["repeats"] = 2
    a, b = autophagy.run(config, out=None).metrics, autophagy.run(config, out=None).metrics
    assert a.equals(b)
    c = autophagy.run({**config, "seed": 5}, out=None).metrics
    assert not np.array_equal(a.value.to_numpy(), c.value.to_numpy())
    single = autophagy.run({**config, "repeats": 1, "seed": 1}, out=None).metrics  # repeat r is the web of seed + r
    np.testing.assert_array_equal(a[a.seed == 1].value.to_numpy(), single.value.to_numpy())


@pytest.mark.parametrize("eviction", ["fifo", "uniform"])
def test_a_resumed_web_equals_an_uninterrupted_one(tmp_path, eviction):
    config = tiny(eviction=eviction, initial="mixed", human_per_generation={"kind": "linear", "from": 40, "to": 0})
    config.update(generations=4, repeats=2)
    whole = resumed_metrics(config, tmp_path, 2)
    assert set(whole.generation) == {1, 2, 3, 4}


def test_the_fresh_human_limit_matches_theory():
    """publish 0: the pool stays all human, so every lineage is a fit to n_train real samples.

    L x T = 200 x 5 = 1000 lineage-generations. Draws of 20 items from a pool of 2 x 20000 share
    n²/N = 0.01 items on average, so the values are independent to within 1 %; the sample mean's
    Monte-Carlo error is sd / sqrt(1000), and 4 of those (plus the theory's own error) bound a
    miss by chance to ~6e-5 (two-sided normal tail).
    """
    d, n = 4, 20
    config = {
        "name": "web-fresh",
        "generations": 5,
        "data": {"kind": "gaussian", "dim": d},
        "eval": {"n_samples": 200},
        "web": {
            "lineages": [{"generator": {"kind": "gaussian", "estimator": "unbiased"}, "count": 200, "n_train": n, "publish": 0}],
            "pool": {"size": 20000, "human_per_generation": 20000, "eviction": "fifo"},
        },
    }
    m = autophagy.run(config, out=None).metrics
    lineage = m[m.lineage >= 0]
    assert (lineage[lineage.metric == "frac_synthetic"].value == 0).all()
    trace = lineage[lineage.metric == "cov_trace"].value.to_numpy()
    w2 = lineage[lineage.metric == "gaussian_w2"].value.to_numpy()
    assert len(trace) == 1000
    assert abs(trace.mean() - d) < 4 * trace.std() / np.sqrt(len(trace))  # E tr Σ̂ = tr I_d (unbiased)
    theory = expected_distance(n, d, estimator="unbiased")
    assert abs(w2.mean() - theory.value) < 4 * np.hypot(w2.std() / np.sqrt(len(w2)), theory.stderr)


def test_lineage_streams_are_the_streams_of_each_lineage():
    from autophagy.runner.web_common import lineage_streams

    for seed, t, role, lineages in [(0, 1, "draw", range(5)), (2**40 + 3, 77, "publish", range(10, 14))]:
        got = [rng.random(4) for rng in lineage_streams(seed, t, role, lineages)]
        np.testing.assert_array_equal(got, [stream(seed, t, role, batch=i).random(4) for i in lineages])


LINEAR = {
    "name": "web-linear",
    "generations": 3,
    "data": {"kind": "linear", "dim": 6},
    "eval": {"n_samples": 100},
    "web": {
        "lineages": [
            {"generator": {"kind": "linear_ridge"}, "count": 3, "n_train": 20, "publish": 10},
            {"generator": {"kind": "linear_ridge"}, "count": 1, "n_train": 4, "publish": 5},  # α = 0 below d rows: minimum norm
            {"generator": {"kind": "linear_ridge", "alpha": 0.1, "bias": 0.5}, "count": 2, "n_train": 12, "publish": 10},
        ],
        "pool": {"size": 300, "initial": "mixed", "human_per_generation": 30, "eviction": "none"},
    },
}


def test_linear_lineages_fit_and_publish_what_linear_ridge_would_on_their_draws():
    from autophagy.regression.ridge import LinearRidge, label_noise

    config = autophagy.load_config(LINEAR)
    assert config.engine == "exact" and config.metrics == ["test_error", "test_error_real", "test_error_bias", "test_error_variance", "param_error"]
    source, seed = build_source(config), config.seed
    engine = make_engine(config, config.run_id(), None)
    assert isinstance(engine, WebBatchedEngine)
    start = initial_pool(config, source, seed)
    block, _ = engine.advance(1, snapshot=False)
    drawn = with_arrivals(start, human_arrivals(config, source, seed, 1), 1)
    lineage_of = np.repeat(np.arange(len(config.web.lineages)), [g.count for g in config.web.lineages])
    w0 = source.regression().w0
    for i, g in enumerate(lineage_of):
        group = config.web.lineages[g]
        rows = draw_rows(drawn, group.n_train, config.web.draw, stream(seed, 1, "draw", batch=i))
        labeller = LinearRidge(source, group.generator.alpha, label_noise(group.generator, source)).fit(drawn.x[rows], rng=stream(seed, 1, "fit"))
        expected = labeller.sample(group.publish, rng=stream(seed, 1, "publish", batch=i), bias=group.generator.bias)
        pool = engine.pools[0]
        got = pool.x[(pool.lineage == i) & (pool.published == 1)]
        # Gram-statistics solve vs LinearRidge's lstsq / solve on the rows: equal up to rounding
        np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
        param = block.value[(block.lineage == i) & (block.code == block.names.index("param_error"))]
        assert param[0] == pytest.approx(np.linalg.norm(labeller.coef_ - w0), rel=1e-8)


@pytest.mark.parametrize("family", ["gaussian", "linear"])
def test_a_web_resumed_after_its_first_generation_equals_an_uninterrupted_one(tmp_path, family):
    config = copy.deepcopy(LINEAR if family == "linear" else TINY)
    config.update(generations=3, repeats=2)
    config["web"]["pool"]["eviction"] = "uniform"
    resumed_metrics(config, tmp_path, 1)
