"""The exact Gaussian engine's fast paths draw the very same numbers as the plain ones.

The engine seeds its streams in blocks (:class:`autophagy._rng.Streams`, a vectorised
SeedSequence), places Bartlett's normals with one scatter (:func:`autophagy.exact.stats._fill`)
and keeps √λ F between generations; each must leave every stream and every value unchanged.
The golden values at the end were computed by the engine before these fast paths (commit
6ddfad3): a change of stream moves them by O(1), a different BLAS kernel at most in the last
bits, hence ``rel=1e-12``.
"""

import numpy as np
import pytest

import autophagy
from autophagy import _rng
from autophagy._rng import ROLES, Streams, _seed_words, stream
from autophagy.exact import ExactState, exact_step
from autophagy.exact import stats as exact_stats
from autophagy.loops.policy import FullySyntheticConfig

SEEDS = [0, 7, 2**32 - 1, 2**32 + 5, 2**64 + 3, 2**130 + 11]


@pytest.mark.parametrize("seed", SEEDS)
def test_streams_are_the_streams_of_stream(seed):
    streams = Streams(seed)
    for generation in (0, 1, 2, 255, 256, 257, 1000):  # across seeding blocks
        for role in ROLES:
            fast, plain = streams(generation, role), stream(seed, generation, role)
            assert fast.bit_generator.state == plain.bit_generator.state, (generation, role)
            np.testing.assert_array_equal(fast.standard_normal(4), plain.standard_normal(4))


def test_every_call_starts_its_stream_afresh():
    streams = Streams(5)
    first = streams(3, "synthetic").standard_normal(3)
    np.testing.assert_array_equal(streams(3, "synthetic").standard_normal(3), first)


def test_seed_words_match_seed_sequence_for_random_keys(global_seed):
    rng = np.random.default_rng(global_seed)
    keys = rng.integers(0, 2**32, size=(50, 3), dtype=np.uint64)
    seed = int(rng.integers(0, 2**63))
    words = _seed_words(seed, keys)
    for key, got in zip(keys, words, strict=True):
        expected = np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in key)).generate_state(4, np.uint64)
        np.testing.assert_array_equal(got, expected)


def test_streams_spawn_and_seed_sequence_like_stream():
    fast, plain = Streams(3)(4, "eval"), stream(3, 4, "eval")
    for a, b in zip(fast.spawn(2), plain.spawn(2), strict=True):
        assert a.bit_generator.state == b.bit_generator.state
    np.testing.assert_array_equal(
        fast.bit_generator.seed_seq.generate_state(8), plain.bit_generator.seed_seq.generate_state(8)
    )


def test_streams_fall_back_to_stream_when_the_seeding_differs(monkeypatch):
    monkeypatch.setattr(_rng, "_fast_seeding_matches", lambda: False)
    fast = Streams(9)(2, "real_fresh")
    assert fast.bit_generator.state == stream(9, 2, "real_fresh").bit_generator.state
    assert isinstance(fast.bit_generator.seed_seq, np.random.SeedSequence)


def _bartlett_by_rows(df, d, normals, rng, extra=None):
    """The layout of Bartlett's A, one row at a time (the reference the scatter must match)."""
    a = np.zeros((normals.shape[0], d, d if extra is None else d + 1))
    start = 0
    for i in range(1, d):
        a[:, i, :i] = normals[:, start : start + i]
        start += i
    steps = np.arange(d)
    a[:, steps, steps] = np.sqrt(rng.chisquare(df - steps, size=(normals.shape[0], d)))
    if extra is not None:
        a[:, :, d] = extra
    return a


@pytest.mark.parametrize("d", [1, 2, 5, exact_stats._SCATTER_MAX_D, exact_stats._SCATTER_MAX_D + 1])
def test_bartlett_fill_matches_the_row_by_row_layout(d):
    z = np.random.default_rng(d).standard_normal((4, d + d * (d - 1) // 2))
    for extra in (None, z[:, :d]):
        got = exact_stats._bartlett(d + 3, d, z[:, d:], np.random.default_rng(1), extra=extra)
        expected = _bartlett_by_rows(d + 3, d, z[:, d:], np.random.default_rng(1), extra=extra)
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        exact_stats._fill(d + 3, d, z, np.random.default_rng(1), extra=True),
        _bartlett_by_rows(d + 3, d, z[:, d:], np.random.default_rng(1), extra=z[:, :d]),
    )


def test_sampling_factor_is_the_scaled_factor_and_is_dropped_once_drawn_from():
    loop = FullySyntheticConfig(n_real=8, n_synthetic=8)
    state, step = ExactState(), dict(mean=np.zeros(3), factor=np.eye(3), bias=0.7, estimator="mle", repeats=2)
    state, _ = exact_step(loop, state, draw_stream=lambda role: stream(0, 1, role), **step)
    first = state.generators[-1]
    scaled = first.sampling_factor(0.7)
    np.testing.assert_array_equal(scaled, np.sqrt(0.7) * first.factor)
    assert first.sampling_factor(0.7) is scaled, "kept for the next generation's draws"
    assert first.sampling_factor(1.0) is first.factor
    state, _ = exact_step(loop, state, draw_stream=lambda role: stream(0, 2, role), **step)
    assert "_sampling" not in first.__dict__, "dropped once the next generation is composed"


GOLDEN_BASE = {
    "name": "golden",
    "seed": 3,
    "generations": 5,
    "repeats": 2,
    "engine": "exact",
    "metrics": ["gaussian_w2", "cov_trace", "mean_sq_error"],
    "eval": {"n_samples": 10, "snapshot_size": 0},
}
GOLDEN = {
    # one Bartlett group per generation, λ = 0.8
    "fully_synthetic": (
        {
            "data": {"kind": "gaussian", "dim": 3},
            "generator": {"kind": "gaussian", "bias": 0.8},
            "loop": {"kind": "fully_synthetic", "n_real": 12, "n_synthetic": 10},
        },
        [[2.311095645844948, 0.32873213186187944, 0.7604542567924374], [2.8045239275759357, 0.5848411505246185, 1.1413046596395304]],
    ),
    # groups below d + 1 samples (singular Wishart), merged; every earlier generator; unbiased
    "mixed_all_small_groups": (
        {
            "data": {"kind": "gaussian", "dim": 4},
            "generator": {"kind": "gaussian", "bias": 0.9, "estimator": "unbiased"},
            "loop": {"kind": "mixed", "n_fixed": 3, "n_fresh": 2, "n_synthetic": 9, "synthetic_from": "all"},
        },
        [[1.9521589630088334, 3.3409426228180346, 0.7373235323279573], [1.8655399316466568, 5.407728078807914, 0.828746773929247]],
    ),
    # a growing pool, a skewed truth
    "accumulate": (
        {
            "data": {"kind": "gaussian", "dim": 2, "mean": [1.0, -2.0], "cov": [[2.0, 0.5], [0.5, 1.0]]},
            "generator": {"kind": "gaussian"},
            "loop": {"kind": "accumulate", "n_real": 8, "n_synthetic": 8, "n_fresh": 4},
        },
        [[0.16616605657062955, 3.1121228817924433, 0.09034071040233803], [0.26453238323387485, 1.5761822553957812, 0.025231328406713046]],
    ),
}


@pytest.mark.parametrize("case", list(GOLDEN))
def test_exact_engine_gives_the_golden_values(case):
    changes, expected = GOLDEN[case]
    m = autophagy.run({**GOLDEN_BASE, **changes}, out=None).metrics
    last = m[m["generation"] == 5].pivot(index="seed", columns="metric", values="value")
    got = last[GOLDEN_BASE["metrics"]].to_numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0)
