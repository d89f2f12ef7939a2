import pytest

import autophagy

#: The run store of the comparison tests: loop.kind x generator.bias x root seed.
LOOPS = ("fresh", "fully_synthetic")
BIASES = (1.0, 0.7)
SEEDS = (0, 10)  # each run has 2 repeats: seeds 0, 1 and 10, 11
COMPARED = ("gaussian_w2", "frechet", "cov_trace")


def comparison_config(loop, bias, seed):
    """A tiny Gaussian loop (d = 2, 3 generations, exact engine): a few ms per run."""
    return {
        "name": "compare",
        "seed": seed,
        "generations": 3,
        "repeats": 2,
        "data": {"kind": "gaussian", "dim": 2},
        "generator": {"kind": "gaussian", "bias": bias},
        "loop": {"kind": loop, "n_real": 200, "n_synthetic": 200},
        "metrics": list(COMPARED),
        "eval": {"n_samples": 300},
    }


@pytest.fixture(scope="session")
def comparison_store(tmp_path_factory):
    """8 runs (2 loops x 2 biases x 2 root seeds, 2 repeats each) written by ``autophagy.run``.

    Shared by several tests: treat it as read-only (copy it to add runs or a default report).
    """
    root = tmp_path_factory.mktemp("compare-runs")
    for loop in LOOPS:
        for bias in BIASES:
            for seed in SEEDS:
                autophagy.run(comparison_config(loop, bias, seed), out=root)
    return root
