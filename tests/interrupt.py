"""Interrupting a run after a chosen generation, and comparing the metrics of two runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


class Stop(KeyboardInterrupt):
    """Raised by :func:`stop_after`'s progress callback: the run is interrupted, as by Ctrl-C."""


def stop_after(generation: int) -> Callable[[dict[str, Any]], None]:
    """A ``progress`` callback for ``autophagy.run`` that interrupts after ``generation``."""

    def progress(info: dict[str, Any]) -> None:
        if info["generation"] == generation:
            raise Stop

    return progress


def metric_values(result: Any) -> np.ndarray:
    """A run's metric values in a canonical row order (seed, generation, metric)."""
    return result.metrics.sort_values(["seed", "generation", "metric"])["value"].to_numpy()
