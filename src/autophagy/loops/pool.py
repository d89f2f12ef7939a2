"""The training pool: samples with their provenance, which one or many model lineages draw from.

Every training sample carries where it came from: ``origin`` (:data:`FIXED` = -1 the fixed real
set, :data:`FRESH` = 0 fresh real data, k >= 1 a sample of the generator of generation k) and
``lineage`` (the model lineage that published it; 0 in an ordinary single-lineage run, -1 for
human-made data in a pool several lineages share). A loop composes each generation's training
set D^t as a :class:`TrainingPool`; accumulating loops keep one across generations; a
simulation of many models publishing into one pool shares one between lineages, drawing
training sets with :meth:`TrainingPool.draw` and adding their output with :meth:`TrainingPool.extend`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FIXED = -1
FRESH = 0
#: ``lineage`` of data no model made (in a pool shared by lineages).
HUMAN = -1


@dataclass(frozen=True)
class TrainingPool:
    """Samples and their provenance.

    Attributes:
        x: the samples, shape (n, d).
        origin: shape (n,) int64, see the module docstring.
        lineage: shape (n,) int64, the lineage that published each sample.
    """

    x: np.ndarray
    origin: np.ndarray
    lineage: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, origin: int | np.ndarray, lineage: int | np.ndarray = 0) -> TrainingPool:
        """A pool of ``x`` (n, d) with one ``origin``/``lineage`` for all rows, or per-row arrays."""
        n = len(x)
        return cls(x, _column(origin, n), _column(lineage, n))

    @classmethod
    def concat(cls, parts: Sequence[TrainingPool]) -> TrainingPool:
        """The rows of ``parts`` in order (at least one part), copied."""
        return cls(
            np.concatenate([p.x for p in parts]),
            np.concatenate([p.origin for p in parts]).astype(np.int64, copy=False),
            np.concatenate([p.lineage for p in parts]).astype(np.int64, copy=False),
        )

    def __len__(self) -> int:
        return len(self.x)

    def take(self, rows: np.ndarray | slice) -> TrainingPool:
        """The rows ``rows`` (indices or a slice), provenance kept."""
        return TrainingPool(self.x[rows], self.origin[rows], self.lineage[rows])

    def extend(self, other: TrainingPool) -> TrainingPool:
        """This pool with ``other``'s rows appended."""
        return TrainingPool.concat([self, other])

    def draw(self, n: int, rng: np.random.Generator, *, weights: np.ndarray | None = None, replace: bool = False) -> TrainingPool:
        """``n`` rows drawn at random (without replacement unless ``replace``), kept in pool order;
        ``weights`` (len(self),) >= 0 makes a row's chance proportional to its weight (e.g. a
        crawler preferring human data)."""
        p = None if weights is None else np.asarray(weights, dtype=float) / np.sum(weights)
        rows = rng.choice(len(self), size=n, replace=replace, p=p)
        return self.take(np.sort(rows))

    def provenance(self) -> dict[str, float]:
        """Bookkeeping rows: training-set size and the fraction of each provenance."""
        return provenance(self.origin)


def provenance(origin: np.ndarray) -> dict[str, float]:
    """Training-set size and the fraction of each provenance of the rows ``origin`` (n,)."""
    n = len(origin)
    if not n:
        return {"train_size": 0.0, "frac_real_fixed": 0.0, "frac_real_fresh": 0.0, "frac_synthetic": 0.0}
    # count / n is np.mean of the boolean mask exactly (its sum is an integer, exact in float64)
    return {
        "train_size": float(n),
        "frac_real_fixed": np.count_nonzero(origin == FIXED) / n,
        "frac_real_fresh": np.count_nonzero(origin == FRESH) / n,
        "frac_synthetic": np.count_nonzero(origin > 0) / n,
    }


def _column(value: int | np.ndarray, n: int) -> np.ndarray:
    """``value`` as an int64 column of ``n`` rows (a new array)."""
    if isinstance(value, int | np.integer):
        return np.full(n, value, dtype=np.int64)
    return np.broadcast_to(np.asarray(value, dtype=np.int64), (n,)).copy()
