"""The sampled engine's shortcuts give the values of the long way, bit for bit.

The engine makes no ``fit`` stream for a generator whose fit draws nothing
(``deterministic_fit``), draws the evaluation samples only when a metric reads them (for a
generator that vouches its samples are finite, ``samples_finite``) and makes the ``metric``
stream only when a metric uses it. The Gaussian's fit computes ``np.cov`` without ``np.cov``, and
the loop composes D^t without ``np.array_split`` or ``np.mean`` of masks. Each is checked here
against the long way, value for value.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import autophagy
from autophagy.config import load_config
from autophagy.loops.policy import synthesize
from autophagy.loops.pool import FIXED, FRESH, TrainingPool
from autophagy.metrics.evaluate import EvalConfig, EvalContext, evaluate
from autophagy.runner.engines import make_engine
from autophagy.runner.sampled import _UNUSED
from autophagy.vectors.gaussian import GaussianGenerator, mean_cov

from ..conftest import small_config

ALL_GAUSSIAN = ["gaussian_w2", "cov_trace", "mean_sq_error", "cov_logdet", "loglik_real", "frechet", "sliced_wasserstein", "precision"]

CASES = {
    "moments only": small_config(metrics=["gaussian_w2", "cov_trace"], generations=5, repeats=3),
    "sample metrics": small_config(metrics=ALL_GAUSSIAN, eval={"n_samples": 30}),
    "accumulate, synthetic_from all": small_config(
        loop={"kind": "mixed", "n_fixed": 10, "n_fresh": 10, "n_synthetic": 31, "synthetic_from": "all"},
        metrics=["gaussian_w2", "cov_trace", "mean_sq_error"], generations=5,
    ),
    "shrinkage": small_config(
        data={"kind": "gaussian", "dim": 6}, generator={"kind": "gaussian", "shrinkage": True},
        loop={"kind": "fully_synthetic", "n_real": 5, "n_synthetic": 5}, metrics=["gaussian_w2", "cov_trace"],
    ),
    "degenerate repeats": small_config(
        data={"kind": "gaussian", "dim": 4}, loop={"kind": "fully_synthetic", "n_real": 5, "n_synthetic": 5},
        metrics=["gaussian_w2", "cov_trace", "cov_logdet"], generations=40, repeats=3,
    ),
}


@pytest.fixture
def long_way(monkeypatch):
    """The engine without its shortcuts: a fit stream for every fit, evaluation samples always drawn."""

    def use() -> None:
        monkeypatch.setattr(GaussianGenerator, "deterministic_fit", False)
        monkeypatch.setattr(GaussianGenerator, "samples_finite", None)

    return use


@pytest.mark.parametrize("case", list(CASES))
def test_shortcuts_give_the_values_of_the_long_way(case, long_way):
    config = {**CASES[case], "engine": "sampled"}
    short = autophagy.run(config, out=None)
    long_way()
    long = autophagy.run(config, out=None)
    pd.testing.assert_frame_equal(short.metrics, long.metrics)  # same rows, same order, same bits
    degenerate = short.metrics.loc[short.metrics["metric"] == "degenerate", "value"]
    assert degenerate.any() == (case == "degenerate repeats")  # the collapse case reaches a non-finite metric


def test_moment_metrics_draw_no_evaluation_samples(monkeypatch):
    config = load_config({**small_config(metrics=["gaussian_w2", "cov_trace"], repeats=3, generations=3), "engine": "sampled"})
    draws: list[int] = []
    sample = GaussianGenerator.sample

    def counted(self, n, *, rng, bias=1.0):
        draws.append(n)
        return sample(self, n, rng=rng, bias=bias)

    monkeypatch.setattr(GaussianGenerator, "sample", counted)
    engine = make_engine(config, config.run_id(), None)
    for t in range(1, 4):
        _, fake = engine.advance(t, snapshot=t == 3)
    n_eval, n_synthetic = config.eval.n_samples, config.loop.n_synthetic  # type: ignore[attr-defined]
    # synthetic draws of generations 2 and 3 for every repeat, and one snapshot draw
    assert sorted(draws) == sorted([n_synthetic] * 6 + [n_eval])
    assert fake is not None and len(fake) == min(n_eval, config.eval.snapshot_size)


def test_the_snapshot_is_the_first_repeats_evaluation_samples(long_way):
    config = load_config({**small_config(metrics=["cov_trace"], generations=2), "engine": "sampled"})
    short = make_engine(config, config.run_id(), None)
    snapshots = [short.advance(t, snapshot=True)[1] for t in (1, 2)]
    long_way()
    long = make_engine(config, config.run_id(), None)
    for t, snapshot in zip((1, 2), snapshots, strict=True):
        np.testing.assert_array_equal(long.advance(t, snapshot=True)[1], snapshot)


def test_mean_cov_is_np_cov_bit_for_bit():
    rng = np.random.default_rng(0)
    for _ in range(300):
        n, d = int(rng.integers(2, 200)), int(rng.integers(1, 12))
        x = rng.standard_normal((n, d)) * 10.0 ** rng.integers(-4, 5) + rng.standard_normal(d) * 10.0 ** rng.integers(-2, 6)
        for data in (x, np.asfortranarray(x), np.concatenate([x, x])[::2], x[::-1]):
            for ddof in (0, 1):
                mean, cov = mean_cov(data, ddof)
                assert mean.tobytes() == data.mean(axis=0).tobytes()
                assert cov.tobytes() == np.atleast_2d(np.cov(data, rowvar=False, ddof=ddof)).tobytes()
                assert cov.shape == (d, d)


def test_sampling_factor_follows_the_fitted_covariance():
    rng = np.random.default_rng(1)
    g = GaussianGenerator().fit(rng.standard_normal((50, 3)), rng=rng)
    first = g.sample(5, rng=np.random.default_rng(2), bias=0.5)
    g.set_state({"mean": np.zeros(3), "cov": np.diag([1.0, 4.0, 9.0])})
    np.testing.assert_allclose(g.sample(20000, rng=np.random.default_rng(3)).var(axis=0), [1.0, 4.0, 9.0], rtol=0.05)
    g.cov_ = np.eye(3) * 1e-12  # set by hand: the factor follows
    assert np.abs(g.sample(10, rng=np.random.default_rng(4))).max() < 1e-4
    assert not np.array_equal(first, g.sample(5, rng=np.random.default_rng(2), bias=0.5))


def test_samples_finite_refuses_what_could_overflow():
    g = GaussianGenerator().set_state({"mean": np.zeros(2), "cov": np.eye(2)})
    assert g.samples_finite(bias=1.0)
    assert not GaussianGenerator().set_state({"mean": np.array([1e301, 0.0]), "cov": np.eye(2)}).samples_finite()
    assert not GaussianGenerator().set_state({"mean": np.array([np.nan, 0.0]), "cov": np.eye(2)}).samples_finite()


def test_the_unused_fit_stream_refuses_to_draw():
    with pytest.raises(RuntimeError, match="deterministic_fit"):
        _UNUSED.standard_normal(3)


def test_a_lazy_context_makes_its_samples_and_stream_once():
    made: list[str] = []
    real, samples = np.random.default_rng(6).standard_normal((2, 10, 2))

    def fake() -> np.ndarray:
        made.append("fake")
        return samples

    def rng() -> np.random.Generator:
        made.append("rng")
        return np.random.default_rng(0)

    ctx = EvalContext(real, fake, None, 1.0, None, EvalConfig(), rng)  # type: ignore[arg-type]
    assert made == []
    assert ctx.fake is ctx.fake and ctx.rng is ctx.rng
    assert made == ["fake", "rng"]
    eager = EvalContext(real, samples, None, 1.0, None, EvalConfig(), np.random.default_rng(0))  # type: ignore[arg-type]
    names = ["frechet", "sliced_wasserstein"]
    assert evaluate(names, ctx) == evaluate(names, eager)


def test_provenance_and_the_synthetic_split_are_the_numpy_ones():
    rng = np.random.default_rng(5)
    origin = rng.integers(-1, 4, size=97)
    rows = TrainingPool.of(np.empty((97, 0)), origin).provenance()
    assert rows == {
        "train_size": 97.0,
        "frac_real_fixed": float(np.mean(origin == FIXED)),
        "frac_real_fresh": float(np.mean(origin == FRESH)),
        "frac_synthetic": float(np.mean(origin > 0)),
    }

    class Const:
        def __init__(self, value: float) -> None:
            self.value = value

        def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
            return np.full((n, 1), self.value)

    for n, k in ((10, 3), (7, 7), (5, 1), (3, 5)):
        x, o = synthesize(n, [Const(float(i)) for i in range(k)], list(range(1, k + 1)), rng, 1.0)
        sizes = [len(part) for part in np.array_split(np.arange(n), k)]
        np.testing.assert_array_equal(o, np.repeat(np.arange(1, k + 1), sizes))
        np.testing.assert_array_equal(x[:, 0], np.repeat(np.arange(k, dtype=float), sizes))
        assert o.dtype == np.int64
