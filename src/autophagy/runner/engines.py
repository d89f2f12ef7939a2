"""The engine a config names: sampled (any family) or exact (Gaussian or linear-regression loops);
for a web (``web:``) the batched web engine (Gaussian lineages) or the sampled one (any family).

See :mod:`autophagy.runner.engine` for what engines share and the random streams of each.
"""

from __future__ import annotations

import numpy as np

from autophagy.config import ExperimentConfig
from autophagy.runner.engine import Engine
from autophagy.runner.exact_gaussian import ExactEngine
from autophagy.runner.exact_linear import LinearExactEngine
from autophagy.runner.sampled import SampledEngine
from autophagy.runner.web_batched import WebBatchedEngine
from autophagy.runner.web_sampled import WebSampledEngine


def make_engine(config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> Engine:
    """The engine named by ``config.engine``, restored from ``saved`` state when resuming."""
    if config.web is not None:
        if config.engine == "exact":
            return WebBatchedEngine(config, run_id, saved)
        return WebSampledEngine(config, run_id, saved)
    if config.engine == "exact":
        if config.data.kind == "linear":
            return LinearExactEngine(config, run_id, saved)
        return ExactEngine(config, run_id, saved)
    return SampledEngine(config, run_id, saved)


__all__ = ["Engine", "ExactEngine", "LinearExactEngine", "SampledEngine", "WebBatchedEngine", "WebSampledEngine", "make_engine"]
