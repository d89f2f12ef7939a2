"""``autophagy.load_pool``: a web run's pool, read back from its run directory."""

from __future__ import annotations

import numpy as np
import pytest

import autophagy
from autophagy.exceptions import InvalidParameterError

WEB = {
    "name": "web-pool", "generations": 3, "repeats": 2, "data": {"kind": "gaussian", "dim": 3}, "eval": {"n_samples": 100},
    "web": {
        "lineages": [{"generator": {"kind": "gaussian"}, "count": 4, "n_train": 30, "publish": 25}],
        "pool": {"size": 300, "human_per_generation": {"kind": "linear", "from": 60, "to": 0}, "eviction": "fifo"},
    },
}


@pytest.mark.parametrize("engine", ["exact", "sampled"])
def test_the_pool_on_disk_is_the_one_the_rows_describe(tmp_path, engine):
    result = autophagy.run(autophagy.load_config({**WEB, "engine": engine}), out=tmp_path)
    pool = autophagy.load_pool(result.path)
    assert list(pool.columns) == ["seed", "generation", "x0", "x1", "x2", "lineage", "published", "depth", "arrival"]
    assert set(pool.seed) == {0, 1} and set(pool.generation) == {3}
    rows = result.metrics[(result.metrics.lineage == -1) & (result.metrics.generation == 3)].set_index(["seed", "metric"]).value
    for seed, items in pool.groupby("seed"):
        assert len(items) == rows[seed, "pool_size"] == 300
        assert (items.lineage == -1).mean() == rows[seed, "pool_human_share"]
        synthetic = items[items.lineage >= 0]
        assert synthetic.depth.mean() == pytest.approx(rows[seed, "pool_synthetic_age"])
        assert set(synthetic.lineage) <= set(range(4)) and (synthetic.published >= 1).all()
        assert np.all(np.diff(items.arrival.to_numpy()) > 0)  # FIFO order kept


def test_load_pool_refuses_what_is_not_a_finished_web_run(tmp_path):
    plain = autophagy.run({"name": "plain", "generations": 1, "data": {"kind": "gaussian", "dim": 2},
                           "generator": {"kind": "gaussian"}, "loop": {"kind": "fresh", "n_real": 20, "n_synthetic": 20},
                           "metrics": ["cov_trace"]}, out=tmp_path)
    with pytest.raises(InvalidParameterError, match=r"must be the directory of a web run"):
        autophagy.load_pool(plain.path)
    with pytest.raises(InvalidParameterError, match=r"must be a run directory"):
        autophagy.load_pool(tmp_path / "nothing")
