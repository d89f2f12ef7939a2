"""Every example and bundled demo config validates and expands (no work is run)."""

from pathlib import Path

import pytest

from autophagy.demo import demo_configs
from autophagy.runner.sweep import expand

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_example_expands_to_valid_runs(path):
    configs = expand(path)
    assert configs and len({c.run_id() for c in configs}) == len(configs)


def test_demo_is_three_loops_by_two_biases_on_two_datasets():
    configs = demo_configs(repeats=2)
    assert len(configs) == 3 * 2 * 2 * 2
    settings = {(c.name, c.loop.kind, c.generator.bias) for c in configs}
    assert len(settings) == 12
    assert {c.generator.bias for c in configs} == {1.0, 0.7}


def test_sweep_expansion_grid_zip_seeds():
    raw = {
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fresh", "n_real": 10},
        "seed": 5,
        "sweep": {"grid": {"generator.bias": [1.0, 0.5]}, "zip": {"loop.n_real": [10, 20], "loop.n_synthetic": [1, 2]}, "seeds": 2},
    }
    configs = expand(raw)
    assert len(configs) == 2 * 2 * 2
    pairs = {(c.loop.n_real, c.loop.n_synthetic) for c in configs}
    assert pairs == {(10, 1), (20, 2)}
    assert {c.seed for c in configs} == {5, 6}
    assert expand(raw) == configs, "expansion is deterministic"
