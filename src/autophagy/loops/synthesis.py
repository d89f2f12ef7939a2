"""Drawing a generation's synthetic samples from the earlier generators."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def synthesize(
    n: int, generators: Sequence[Any], ids: Sequence[int], rng: np.random.Generator, bias: float
) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``n`` samples split evenly over ``generators`` (earlier ones take the remainder), in
    order from the one stream ``rng``; returns the samples (n, d) and their origins (n,) int64."""
    if len(generators) == 1:  # one generator: its draw is the whole batch
        return np.asarray(generators[0].sample(n, rng=rng, bias=bias)), np.full(n, ids[0], dtype=np.int64)
    each, extra = divmod(n, len(generators))  # the sizes of np.array_split
    sizes = [each + 1 if i < extra else each for i in range(len(generators))]
    xs = [g.sample(size, rng=rng, bias=bias) for g, size in zip(generators, sizes, strict=True) if size]
    origins = [np.full(size, k, dtype=np.int64) for k, size in zip(ids, sizes, strict=True) if size]
    return np.concatenate(xs), np.concatenate(origins)
