import os

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # importing autophagy already did; explicit before numpy for the tests

import numpy as np  # noqa: E402
import pytest  # noqa: E402


def small_config(**changes):
    """A fast config used across tests (d = 3 Gaussian, fresh loop)."""
    config = {
        "name": "small",
        "seed": 7,
        "generations": 4,
        "repeats": 2,
        "data": {"kind": "gaussian", "dim": 3},
        "generator": {"kind": "gaussian", "bias": 0.8},
        "loop": {"kind": "fresh", "n_real": 40, "n_synthetic": 40},
        "metrics": ["cov_trace", "loglik_real"],
        "eval": {"n_samples": 200},
    }
    for key, value in changes.items():
        node = config
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return config


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture(params=range(100) if os.environ.get("AUTOPHAGY_ALL_SEEDS") else range(3))
def global_seed(request):
    """Seeds a statistical property must hold for; AUTOPHAGY_ALL_SEEDS=1 runs seeds 0-99."""
    return request.param
