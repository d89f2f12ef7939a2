"""Interrupting a run after a chosen generation, and comparing the metrics of two runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

KEY = ["seed", "lineage", "generation", "metric"]  # a row's identity; lineage is 0 outside webs


class Stop(KeyboardInterrupt):
    """Raised by :func:`stop_after`'s progress callback: the run is interrupted, as by Ctrl-C."""


def stop_after(generation: int) -> Callable[[dict[str, Any]], None]:
    """A ``progress`` callback for ``autophagy.run`` that interrupts after ``generation``."""

    def progress(info: dict[str, Any]) -> None:
        if info["generation"] == generation:
            raise Stop

    return progress


def metric_values(result: Any) -> np.ndarray:
    """A run's metric values in a canonical row order (seed, lineage, generation, metric)."""
    return result.metrics.sort_values(KEY)["value"].to_numpy()


def resumed_metrics(config: Any, out: Any, generation: int) -> Any:
    """Run ``config`` into ``out``, interrupted after ``generation``, then resume it; assert the
    rows equal an uninterrupted run's (keys and values, in canonical order) and return those rows."""
    import autophagy  # the helpers above stay importable without the package's start-up cost

    whole = autophagy.run(config, out=None).metrics
    try:
        autophagy.run(config, out=out, progress=stop_after(generation))
    except Stop:
        pass
    else:
        raise AssertionError(f"the run was not interrupted after generation {generation}")
    resumed = autophagy.run(config, out=out).metrics
    left, right = resumed.sort_values(KEY).reset_index(drop=True), whole.sort_values(KEY).reset_index(drop=True)
    np.testing.assert_array_equal(left[KEY].to_numpy(), right[KEY].to_numpy())
    np.testing.assert_array_equal(left.value.to_numpy(), right.value.to_numpy())
    return whole
