"""The engine a config names: sampled (any family) or exact (Gaussian or linear-regression loops).

See :mod:`autophagy.runner.engine` for what engines share and the random streams of each.
"""

from __future__ import annotations

import numpy as np

from autophagy.config import ExperimentConfig
from autophagy.exceptions import InvalidParameterError
from autophagy.runner.engine import Engine
from autophagy.runner.exact_gaussian import ExactEngine
from autophagy.runner.exact_linear import LinearExactEngine
from autophagy.runner.sampled import SampledEngine


def make_engine(config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> Engine:
    """The engine named by ``config.engine``, restored from ``saved`` state when resuming."""
    if config.web is not None:  # the web engines are being built (issue 16): refuse rather than run a plain loop
        raise InvalidParameterError("The 'web' parameter must be unset: the web engines are not built yet. Got a web section instead.")
    if config.engine == "exact":
        if config.data.kind == "linear":
            return LinearExactEngine(config, run_id, saved)
        return ExactEngine(config, run_id, saved)
    return SampledEngine(config, run_id, saved)


__all__ = ["Engine", "ExactEngine", "LinearExactEngine", "SampledEngine", "make_engine"]
