"""Loop policies compose D^t with exact sizes and provenance (property-based)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from autophagy._rng import stream
from autophagy.config import load_config
from autophagy.loops import FIXED, FRESH, LoopState, step, with_generator
from autophagy.vectors import GaussianSource


class Stamp:
    """A generator whose samples are rows filled with its generation number."""

    def __init__(self, generation: int) -> None:
        self.generation = generation

    def sample(self, n, *, rng, bias=1.0):
        return np.full((n, 2), float(self.generation))


SOURCE = GaussianSource(np.full(2, -100.0), np.eye(2) * 1e-6)  # real rows sit near -100

LOOPS = st.sampled_from(["fully_synthetic", "augment", "fresh", "accumulate", "accumulate_subsample", "mixed", "keep_original"])


@st.composite
def loop_configs(draw):
    kind = draw(LOOPS)
    size = st.integers(2, 30)
    loop = {"kind": kind, "synthetic_from": draw(st.sampled_from(["last", "all"]))}
    if kind == "mixed":
        loop |= {"n_fixed": draw(st.integers(0, 30)), "n_fresh": draw(size), "n_synthetic": draw(st.integers(0, 30))}
    elif kind == "keep_original":
        loop |= {"n_real": draw(st.integers(3, 30)), "keep": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])), "resample": draw(st.booleans())}
    else:
        loop |= {"n_real": draw(st.integers(3, 30)), "n_synthetic": draw(size)}
    if kind.startswith("accumulate"):
        loop["n_fresh"] = draw(st.integers(0, 10))
    if kind == "accumulate_subsample":
        loop["train_size"] = draw(st.integers(3, 60))
    return load_config(
        {"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "kde"}, "loop": loop, "generations": 6}
    )


@settings(max_examples=60, deadline=None)
@given(config=loop_configs(), seed=st.integers(0, 2**32 - 1))
def test_sizes_and_provenance(config, seed):
    loop = config.loop
    expected_sizes = loop.train_sizes(config.generations)
    state = LoopState()
    pool_size = 0
    for t in range(1, config.generations + 1):
        state, train = step(loop, state, source=SOURCE, draw=lambda role, t=t: stream(seed, t, role), bias=1.0)
        plan = loop.plan(t)
        x, origin = train.x, train.origin
        assert len(x) == len(origin) == expected_sizes[t - 1]
        # provenance is truthful: real rows are near -100, synthetic rows carry their generation
        real = origin <= 0
        assert np.all(x[real] < -90)
        np.testing.assert_array_equal(x[~real, 0], origin[~real])
        assert np.all(origin[~real] < t) and np.all(origin[~real] >= 1)
        if t == 1:
            assert np.all(real), "generation 1 trains on real data only"
        if plan.accumulate:
            pool_size += plan.n_fresh + plan.n_synthetic + (plan.n_fixed if t == 1 else 0)
            assert len(state.pool) == pool_size, "the accumulate pool grows by exactly what is added"
            if plan.subsample is None:
                assert np.sum(origin == FIXED) == plan.n_fixed
        else:
            fixed = plan.n_fixed if plan.fixed_used is None else min(plan.fixed_used, plan.n_fixed)
            assert np.sum(origin == FIXED) == (fixed if plan.use_fixed else 0)
            assert np.sum(origin == FRESH) == plan.n_fresh
            assert np.sum(origin > 0) == (plan.n_synthetic if t > 1 else 0)
            if t > 1 and plan.n_synthetic:
                counts = np.bincount(origin[origin > 0], minlength=t)[1:]
                if loop.synthetic_from == "last":
                    assert set(np.unique(origin[origin > 0])) == {t - 1}
                else:  # evenly over all previous generations, earlier ones taking the remainder
                    even = [len(part) for part in np.array_split(np.arange(plan.n_synthetic), t - 1)]
                    np.testing.assert_array_equal(counts, even)
        info = train.info
        assert info["train_size"] == len(x)
        assert abs(info["frac_real_fixed"] + info["frac_real_fresh"] + info["frac_synthetic"] - 1) < 1e-12
        state = with_generator(loop, state, Stamp(t))


def test_fixed_set_is_reused_and_fresh_is_new():
    config = load_config(
        {"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "kde"}, "loop": {"kind": "mixed", "n_fixed": 5, "n_fresh": 5, "n_synthetic": 3}}
    )
    source = GaussianSource(np.zeros(2), np.eye(2))
    state = LoopState()
    fixed_sets, fresh_sets = [], []
    for t in (1, 2, 3):
        state, train = step(config.loop, state, source=source, draw=lambda role, t=t: stream(0, t, role), bias=1.0)
        fixed_sets.append(train.x[train.origin == FIXED])
        fresh_sets.append(train.x[train.origin == FRESH])
        state = with_generator(config.loop, state, Stamp(t))
    np.testing.assert_array_equal(fixed_sets[0], fixed_sets[2])
    assert not np.allclose(fresh_sets[0], fresh_sets[1])


def test_keep_original_keeps_a_share_of_the_original_data_fixed_or_resampled():
    """Shumailov et al.'s protocol: D_0 first, then (1 - keep) n synthetic + keep n of D_0."""
    source = GaussianSource(np.zeros(2), np.eye(2))
    kept = {}
    for resample in (False, True):
        config = load_config(
            {"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "kde"},
             "loop": {"kind": "keep_original", "n_real": 50, "keep": 0.1, "resample": resample}, "generations": 4}
        )
        assert config.loop.n_synthetic == 45 and config.loop.train_sizes(4) == [50, 50, 50, 50]
        assert config.engine == "sampled"
        state, rows = LoopState(), []
        for t in range(1, 5):
            state, train = step(config.loop, state, source=source, draw=lambda role, t=t: stream(3, t, role), bias=1.0)
            rows.append(train.x[train.origin == FIXED])
            state = with_generator(config.loop, state, Stamp(t))
        original = {tuple(r) for r in rows[0]}
        assert len(rows[0]) == 50 and all(len(r) == 5 for r in rows[1:])
        assert all({tuple(r) for r in part} <= original for part in rows[1:])  # always rows of D_0
        kept[resample] = [frozenset(map(tuple, part)) for part in rows[1:]]
    assert len(set(kept[False])) == 1  # the same five rows every generation
    assert len(set(kept[True])) == 3  # a new random five each generation


def test_keep_original_has_no_closed_form_moment_recursion():
    import pytest

    from autophagy.exceptions import InvalidParameterError
    from autophagy.theory import moment_recursion

    with pytest.raises(InvalidParameterError, match="'loop.kind' parameter must be a loop that trains on whole groups"):
        moment_recursion({"kind": "keep_original", "n_real": 20, "keep": 0.1}, 3, trace=1.0)
