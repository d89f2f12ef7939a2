"""Theory curves for a run's metrics, where a closed form exists (the report's overlays)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from .gaussian import MomentCurve, moment_recursion


def predict(config: Mapping[str, Any] | Any, metric: str, generations: np.ndarray) -> np.ndarray | None:
    """Expected value of ``metric`` at each of ``generations`` for this config, or None.

    Exact predictions exist for Gaussian data with a Gaussian generator (every loop kind,
    estimator and λ; :func:`~autophagy.theory.gaussian.moment_recursion`):

    * ``cov_trace`` — E tr(λ Σ_t), the trace of G^t's sampling covariance;
    * ``mean_sq_error`` — E‖μ_t - μ‖².

    Ledoit-Wolf shrinkage below dim + 1 samples has no closed form (None).

    Args:
        config: a resolved config (an ExperimentConfig or its nested dict).
        metric: a metric name.
        generations: generation numbers, shape (T,), each >= 1.

    Returns:
        Predicted values, shape (T,), or None where there is no prediction.
    """
    if metric not in ("cov_trace", "mean_sq_error"):
        return None
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    curve = _curve(json.dumps(data, sort_keys=True))
    if curve is None:
        return None
    index = np.asarray(generations, dtype=np.int64) - 1
    values = curve.bias * curve.cov_trace if metric == "cov_trace" else curve.mean_sq_error
    return values[index]


@functools.lru_cache(maxsize=256)
def _curve(text: str) -> MomentCurve | None:
    from ..config import build_source, load_config

    config = load_config(json.loads(text))
    if config.data.kind != "gaussian" or config.generator.kind != "gaussian":
        return None
    if min(config.loop.train_sizes(config.generations)) < config.data.dim + 1:  # type: ignore[attr-defined]
        return None  # Ledoit-Wolf shrinkage somewhere: no closed form
    trace = float(np.trace(build_source(config).cov))
    return moment_recursion(
        config.loop, config.generations, trace=trace, bias=config.generator.bias,
        estimator=config.generator.estimator,  # type: ignore[attr-defined]
    )
