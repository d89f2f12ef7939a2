"""What every engine shares: the rows of a generation, the protocol, the per-repeat evaluation.

The ways to run a loop's generations: on samples, or exactly on sufficient statistics.

An engine advances every repeat of a run by one generation and returns the metric rows; the
runner (:mod:`.loop`) owns the store, the resume and the progress. Every engine writes the same
rows (every metric, the provenance rows, ``degenerate``) so reports and queries never need to
know which one ran. ``engine: exact`` is :class:`ExactEngine` for Gaussian loops and
:class:`LinearExactEngine` for linear-regression loops.

Random streams:
    ``sampled`` — repeat r uses seed ``seed + r`` and its own streams (see :mod:`autophagy._rng`),
    so ``repeats: 3`` gives the rows of three runs with seeds s, s+1, s+2.
    ``exact`` — generation t draws all repeats at once from the streams (seed, t, role) of the run
    seed (batched arrays are what make it fast), so a repeat's values depend on the run seed and
    the number of repeats; the ``seed`` column still labels repeat r as ``seed + r``. Metrics that
    need samples (precision, MMD, ...) draw them per repeat from its own streams, as ``sampled``.
    The linear engine draws the downstream model's statistics of all repeats from the stream
    (seed, t, ``eval``, batch 0), independent of those per-repeat ``eval`` streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from autophagy._rng import stream
from autophagy.config import ExperimentConfig
from autophagy.metrics.evaluate import evaluate, make_context


@dataclass(frozen=True)
class Block:
    """One generation's metric rows, column-wise (the run id and generation are implied).

    Attributes:
        seed: shape (N,), int64.
        code: shape (N,), index of each row's metric name in ``names``.
        names: the metric names.
        value: shape (N,), float64.
        lineage: shape (N,), int64, each row's model lineage (a web simulation: -1 for
            pool-level rows); None: every row 0 (an ordinary run).
    """

    seed: np.ndarray
    code: np.ndarray
    names: tuple[str, ...]
    value: np.ndarray
    lineage: np.ndarray | None = None


def _block(seeds: list[int], names: list[str], values: np.ndarray) -> Block:
    """Rows seed-major from a (R, M) value matrix."""
    r, m = values.shape
    seed = np.repeat(np.asarray(seeds, dtype=np.int64), m)
    return Block(seed, np.tile(np.arange(m, dtype=np.int32), r), tuple(names), values.ravel())


class Rows:
    """Builds a generation's :class:`Block` from a (R, M) value matrix whose columns are the
    metrics, the provenance rows and ``degenerate`` (filled in here); the seed/name layout is the
    same every generation, so it is built once."""

    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds
        self.layout: Block | None = None

    def block(self, values: np.ndarray, names: list[str], info: dict[str, float]) -> Block:
        values[:, len(names) : -1] = tuple(info.values())
        values[:, -1] = ~np.isfinite(values[:, : len(names)]).all(axis=1)
        columns = (*names, *info, "degenerate")
        if self.layout is None or self.layout.names != columns:
            self.layout = _block(self.seeds, list(columns), values)
        return Block(self.layout.seed, self.layout.code, columns, values.ravel())


class Engine(Protocol):
    """Advances all repeats of one run, generation by generation."""

    #: arrays the metrics of the last generation stored for the report (name -> array; the
    #: runner saves them per generation), e.g. every sample's perplexity.
    artifacts: dict[str, np.ndarray]

    def real_snapshot(self) -> np.ndarray:
        """Held-out real samples of the first repeat (the report's reference scatter)."""
        ...

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        """Run generation ``t``; return its rows and, if ``snapshot``, first-repeat samples."""
        ...

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        """Everything needed to resume after generation ``t``."""
        ...


def draw_holdout(source: Any, n: int, seed: int) -> np.ndarray:
    """The metrics' held-out real samples of repeat ``seed``: from the source's held-out pool
    where it has one (image sets), else fresh draws from P_r."""
    draw = getattr(source, "holdout", source.sample)
    return draw(n, rng=stream(seed, 0, "holdout"))


def seeds_of(config: ExperimentConfig) -> list[int]:
    return [config.seed + r for r in range(config.repeats)]


class PerRepeat:
    """What the batched engines still do repeat by repeat, exactly as the sampled engine does it
    for repeat r from r's own streams: the held-out real samples (drawn on first use), and drawing
    ``eval.n_samples`` from G^t to compute the sample-based metrics."""

    def __init__(self, config: ExperimentConfig, source: Any, seeds: list[int]) -> None:
        self.config, self.source, self.seeds = config, source, seeds
        self._holdout: dict[int, np.ndarray] = {}

    def holdout(self, r: int) -> np.ndarray:
        if r not in self._holdout:
            self._holdout[r] = draw_holdout(self.source, self.config.eval.n_samples, self.seeds[r])
        return self._holdout[r]

    def real_snapshot(self) -> np.ndarray:
        return self.holdout(0)[: self.config.eval.snapshot_size]

    def evaluate(
        self, t: int, generator_of: Any, columns: list[int], values: np.ndarray, *, repeats: int | None = None
    ) -> list[np.ndarray]:
        """Sample every repeat's G^t (``generator_of(r)``) and fill ``values[r, columns]`` with the
        metrics ``config.metrics[j]`` of ``columns``.

        Returns:
            The samples of the first ``repeats`` repeats (default: all), shape (n_samples, dim) each.
        """
        config, bias = self.config, self.config.generator.bias
        assert config.metrics is not None  # resolved by load_config
        names = [config.metrics[j] for j in columns]
        draws = []
        for r, seed in enumerate(self.seeds[: repeats if repeats is not None else len(self.seeds)]):
            generator = generator_of(r)
            fake = generator.sample(config.eval.n_samples, rng=stream(seed, t, "eval"), bias=bias)
            draws.append(fake)
            if names:
                # the metric stream is made only if a metric uses it (the same stream either way)
                metric_stream = lambda seed=seed: stream(seed, t, "metric")  # noqa: E731
                ctx = make_context(self.holdout(r), fake, generator, bias, self.source, config.eval, metric_stream)
                found = evaluate(names, ctx)
                values[r, columns] = [found[name] for name in names]
        return draws


