"""The training pool (provenance-carrying samples several lineages can share) and the stage seam."""

from __future__ import annotations

import numpy as np
import pytest

from autophagy.loops import FIXED, FRESH, HUMAN, SyntheticBatch, TrainingPool, apply_stages


def _pool() -> TrainingPool:
    human = TrainingPool.of(np.zeros((6, 2)), FRESH, HUMAN)
    lineage_1 = TrainingPool.of(np.ones((4, 2)), 3, 1)
    lineage_2 = TrainingPool.of(np.full((2, 2), 2.0), 5, 2)
    return TrainingPool.concat([human, lineage_1, lineage_2])


def test_concat_keeps_rows_and_provenance_in_order():
    pool = _pool()
    assert len(pool) == 12
    assert list(pool.lineage) == [-1] * 6 + [1] * 4 + [2] * 2
    assert list(pool.origin) == [0] * 6 + [3] * 4 + [5] * 2
    assert pool.provenance() == {"train_size": 12.0, "frac_real_fixed": 0.0, "frac_real_fresh": 0.5, "frac_synthetic": 0.5}
    fixed = TrainingPool.of(np.zeros((2, 2)), FIXED)
    assert fixed.provenance()["frac_real_fixed"] == 1.0
    copy = TrainingPool.concat([pool])
    copy.x[0, 0] = 99.0
    assert pool.x[0, 0] == 0.0, "concat copies: training never aliases a stored pool"


def test_draw_without_replacement_takes_distinct_rows_in_pool_order():
    pool = TrainingPool.of(np.arange(20.0)[:, None], np.arange(20))
    drawn = pool.draw(8, np.random.default_rng(0))
    assert len(set(drawn.origin)) == 8 and np.all(np.diff(drawn.origin) > 0)
    np.testing.assert_array_equal(drawn.x[:, 0], drawn.origin)


def test_weighted_draw_never_takes_a_zero_weight_row_and_follows_the_weights():
    pool = _pool()
    weights = np.where(pool.lineage == HUMAN, 3.0, 0.0)
    drawn = pool.draw(5, np.random.default_rng(1), weights=weights)
    assert set(drawn.lineage) == {HUMAN}
    # with replacement, human rows (weight 3 each, 6 rows) vs lineage rows (weight 1, 6 rows): p = 3/4;
    # 4,000 draws put the share within 4 standard errors (sqrt(p(1-p)/n) = 0.0068) of 0.75
    weights = np.where(pool.lineage == HUMAN, 3.0, 1.0)
    share = np.mean(pool.draw(4000, np.random.default_rng(2), weights=weights, replace=True).lineage == HUMAN)
    assert abs(share - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 4000)


def test_stages_run_in_order_and_record_what_survived():
    pool = TrainingPool.of(np.arange(10.0)[:, None], 2)
    batch = SyntheticBatch(pool, (), (2,), source=None, generation=3, bias=1.0)

    def drop_odd(b, *, rng):
        return b.with_pool(b.pool.take(np.flatnonzero(b.pool.x[:, 0] % 2 == 0)))

    def first_two(b, *, rng):
        return b.with_pool(b.pool.take(slice(2)), seen=float(len(b.pool)))

    out = apply_stages([drop_odd, first_two], batch, np.random.default_rng(0))
    assert list(out.pool.x[:, 0]) == [0.0, 2.0]
    assert out.info == {"seen": 5.0, "frac_synthetic_kept": 0.2}
    with pytest.raises(TypeError, match="must return a SyntheticBatch"):
        apply_stages([lambda b, *, rng: b.pool], batch, np.random.default_rng(0))
