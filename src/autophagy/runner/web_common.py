"""What every web engine shares (``web:``, :mod:`autophagy.loops.web`): the pool's start, its
human arrivals and its update, the pool-level metrics, and the rows of one generation.

A generation t of one web (one repeat, seed s), in the order of :mod:`autophagy.loops.web`::

    human = human_arrivals(config, source, s, t)          # stream (s, t, human)
    drawn_from = with_arrivals(pool, human, t)             # the pool every lineage draws from
    rows_i = draw_rows(drawn_from, n_train, draw, stream(s, t, "draw", batch=i))   # lineage i
    ... lineage i fits on drawn_from.x[rows_i], publishes x_i (stream (s, t, publish, batch=i))
    pool = next_pool(config, pool, [(x_i, i, 1 + depth of rows_i), ...], human, s, t)

``next_pool`` takes the pool *before* the arrivals, as ``with_arrivals`` does, so both see the
same items in the same order (human arrivals first, then what each lineage published, lineage
by lineage); it then evicts (stream (s, t, evict)). Every draw comes from a stream keyed by
(seed, generation, role, lineage), so the pool after generation t is a function of the seed and
the pool after t - 1: the pool is all a web engine needs to resume.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from autophagy._rng import ROLES, _fast_seeding_matches, _seed_words, _SeededWords, stream
from autophagy.config import ExperimentConfig
from autophagy.loops.pool import HUMAN
from autophagy.loops.web import LineageGroup, WebPool, evict
from autophagy.registry import get
from autophagy.runner.engine import Block, draw_holdout

#: The ``batch`` index of the pool's own ``eval`` / ``metric`` streams (lineages use 0..L-1).
POOL_BATCH = 2**31
#: The pool-level sample metrics of vector data, as ``pool_<name>`` rows.
POOL_VECTOR_METRICS = ("frechet", "recall", "coverage")
#: The per-lineage provenance columns :func:`lineage_provenance` gives (after the metrics).
PROVENANCE = ("train_size", "frac_synthetic", "train_depth")

#: One lineage's publication: its items (n, d), its lineage number, their depth.
Published = tuple[np.ndarray, int, float]


def build_lineage_generator(group: LineageGroup, source: Any) -> Any:
    """A new, unfitted generator of one lineage group (as ``registry.build_generator`` builds a
    run's)."""
    return get("generator", group.generator.kind).build(group.generator, source)  # type: ignore[attr-defined]


def lineage_streams(seed: int, t: int, role: str, lineages: range) -> list[np.random.Generator]:
    """``[stream(seed, t, role, batch=i) for i in lineages]``, the very same streams, ~4x cheaper:
    the seed words of every lineage are mixed at once (:func:`autophagy._rng._seed_words`, the
    vectorised SeedSequence of :class:`autophagy._rng.Streams`; checked against SeedSequence once
    per process, else :func:`~autophagy._rng.stream` one by one)."""
    if not _fast_seeding_matches() or not lineages or not (0 <= t < 2**32 and 0 <= lineages[0] and lineages[-1] < 2**32):
        return [stream(seed, t, role, batch=i) for i in lineages]
    keys = np.empty((len(lineages), 3), dtype=np.uint64)
    keys[:, 0], keys[:, 1], keys[:, 2] = t, ROLES[role], np.asarray(lineages)
    words = _seed_words(int(seed), keys)
    return [
        np.random.Generator(np.random.PCG64(_SeededWords(words[k], int(seed), (int(t), ROLES[role], i))))  # type: ignore[arg-type]  # any ISeedSequence
        for k, i in enumerate(lineages)
    ]


def initial_pool(config: ExperimentConfig, source: Any, seed: int) -> WebPool:
    """The pool before generation 1.

    ``initial: human``: ``pool.size`` human items (stream (seed, 0, human)). ``initial: mixed``:
    round(``initial_human_share`` · size) human items, then the rest sampled (stream (seed, 0,
    publish)) at its λ from the first lineage group's generator fitted (stream (seed, 0, fit))
    to ``n_train`` human items of the fixed real set (stream (seed, 0, real_fixed)): the first
    lineage's generation-0 model, so these items carry lineage 0, published 0 and depth 1.
    """
    web = config.web
    assert web is not None
    size = web.pool.size
    n_human = size if web.pool.initial == "human" else int(math.floor(web.pool.initial_human_share * size + 0.5))
    pool = WebPool.of_human(source.sample(n_human, rng=stream(seed, 0, "human")))
    if n_human == size:
        return pool
    group = web.lineages[0]
    generator = build_lineage_generator(group, source)
    generator.fit(source.sample(group.n_train, rng=stream(seed, 0, "real_fixed")), rng=stream(seed, 0, "fit"))
    synthetic = generator.sample(size - n_human, rng=stream(seed, 0, "publish"), bias=group.generator.bias)  # type: ignore[attr-defined]
    return pool.add(synthetic, published=0, lineage=0, depth=1.0)


def human_arrivals(config: ExperimentConfig, source: Any, seed: int, t: int) -> np.ndarray:
    """The ``web.human_at(t, generations)`` human items of generation ``t`` (stream (seed, t,
    human)), shape (h, d); h may be 0."""
    assert config.web is not None
    return source.sample(config.web.human_at(t, config.generations), rng=stream(seed, t, "human"))


def with_arrivals(pool: WebPool, human: np.ndarray, t: int) -> WebPool:
    """``pool`` with generation ``t``'s human arrivals (published t, lineage -1, depth 0): the pool
    every lineage draws from at generation t."""
    if not len(human):
        return pool
    return pool.add(human, published=t, lineage=HUMAN, depth=0.0)


def next_pool(config: ExperimentConfig, pool: WebPool, published: Sequence[Published], human: np.ndarray, seed: int, t: int) -> WebPool:
    """The pool after generation ``t``.

    Args:
        config: the web experiment.
        pool: the pool before generation t's arrivals (the one passed to :func:`with_arrivals`).
        published: each lineage's ``(x (n, d), lineage, depth)``, in lineage order.
        human: generation t's human arrivals, shape (h, d).
        seed: the repeat's seed (uniform eviction: stream (seed, t, evict)).
        t: the generation.

    Returns:
        ``pool`` + ``human`` + the published items (published t), cut back to ``pool.size`` by
        the configured eviction.
    """
    assert config.web is not None
    grown = with_arrivals(pool, human, t)
    parts = [(x, i, d) for x, i, d in published if len(x)]
    if parts:
        xs = np.concatenate([x for x, _, _ in parts])
        lineage = np.concatenate([np.full(len(x), i, np.int64) for x, i, _ in parts])
        depth = np.concatenate([np.full(len(x), d, float) for x, _, d in parts])
        grown = grown.add(xs, published=t, lineage=lineage, depth=depth)
    web = config.web
    rng = stream(seed, t, "evict") if web.pool.eviction == "uniform" else None
    return evict(grown, web.pool.size, web.pool.eviction, rng)  # type: ignore[arg-type]  # only uniform draws


def lineage_provenance(pool: WebPool, rows: np.ndarray) -> tuple[float, float, float]:
    """A lineage's provenance columns (:data:`PROVENANCE`) from its draw ``rows`` (n,) of ``pool``:
    the training-set size, its synthetic share and its mean depth (1 + this is the depth of
    what the lineage publishes)."""
    lineage, depth = pool.lineage[rows], pool.depth[rows]
    return float(len(rows)), float(np.mean(lineage != HUMAN)), float(depth.mean())


def pool_rows(config: ExperimentConfig, source: Any, pool: WebPool, seed: int, t: int, *, holdout: np.ndarray | None = None) -> dict[str, float]:
    """The pool-level metrics of the pool ``pool`` (after generation ``t``'s eviction).

    ``pool_human_share``, ``pool_synthetic_age`` (mean depth of the synthetic items; nan when
    there are none), ``pool_size``; and the quality of a uniform subsample of ``eval.n_samples``
    items (stream (seed, t, eval, batch :data:`POOL_BATCH`)) against the truth: for vector data
    ``pool_frechet``, ``pool_recall``, ``pool_coverage`` against the held-out real samples
    (``holdout``, else :func:`~autophagy.runner.engine.draw_holdout` of the seed); for text with
    a known law (``source.log_prob``, the grammar) ``pool_perplexity``, the true perplexity
    exp(-Σ log P / (n L)) of the items; other text gets no quality row.
    """
    out = {"pool_human_share": pool.human_share(), "pool_synthetic_age": pool.synthetic_age(), "pool_size": float(len(pool))}
    n = min(config.eval.n_samples, len(pool))
    sub = pool.x[np.sort(stream(seed, t, "eval", batch=POOL_BATCH).choice(len(pool), size=n, replace=False))]
    if hasattr(source, "vocab_size"):  # token sequences
        if hasattr(source, "log_prob"):
            from autophagy.text.functional import perplexity

            out["pool_perplexity"] = perplexity(source.log_prob(sub), int(sub.shape[1]))
        return out
    from autophagy.metrics.evaluate import evaluate, make_context

    real = draw_holdout(source, config.eval.n_samples, seed) if holdout is None else holdout
    ctx = make_context(real, sub, None, 1.0, source, config.eval, lambda: stream(seed, t, "metric", batch=POOL_BATCH))
    found = evaluate(list(POOL_VECTOR_METRICS), ctx)
    out.update({f"pool_{name}": found[name] for name in POOL_VECTOR_METRICS})
    return out


def spread_rows(names: Sequence[str], values: np.ndarray) -> dict[str, float]:
    """The spread between lineages of each metric: ``lineage_sd_<m>`` (standard deviation over
    lineages, ddof 0), ``lineage_q10_<m>`` and ``lineage_q90_<m>`` (quantiles), NaNs ignored.

    Args:
        names: the metric names, M of them.
        values: shape (L, M), each lineage's values.
    """
    out: dict[str, float] = {}
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as they should
        sd = np.nanstd(values, axis=0)
        q10, q90 = np.nanquantile(values, [0.1, 0.9], axis=0)
    for j, name in enumerate(names):
        out[f"lineage_sd_{name}"] = float(sd[j])
        out[f"lineage_q10_{name}"] = float(q10[j])
        out[f"lineage_q90_{name}"] = float(q90[j])
    return out


def web_block(seed: int, names: Sequence[str], lineage_values: np.ndarray, pool_values: dict[str, float], *, n_metrics: int | None = None) -> Block:
    """One web's (one repeat's) rows of one generation.

    Args:
        seed: the repeat's seed (every row's ``seed``).
        names: the per-lineage columns, M of them: the metrics first, then provenance columns
            (e.g. :data:`PROVENANCE`).
        lineage_values: shape (L, M), lineage i's values in row i.
        pool_values: the pool-level rows (lineage -1), e.g. :func:`pool_rows` | :func:`spread_rows`.
        n_metrics: how many leading columns are metrics (default: all); ``degenerate`` (1 when
            one of them is not finite) is added to each lineage's rows.

    Returns:
        Rows lineage-major (lineage 0's columns and ``degenerate``, lineage 1's, ...), then the
        pool rows.
    """
    values = np.asarray(lineage_values, dtype=np.float64)
    n_lineages, m = values.shape
    k = m if n_metrics is None else n_metrics
    degenerate = (~np.isfinite(values[:, :k]).all(axis=1)).astype(np.float64).reshape(-1, 1)
    per_lineage = np.concatenate([values, degenerate], axis=1)  # (L, M + 1)
    columns = (*names, "degenerate", *pool_values)
    n_pool = len(pool_values)
    value = np.concatenate([per_lineage.ravel(), np.fromiter(pool_values.values(), np.float64, n_pool)])
    code = np.concatenate([np.tile(np.arange(m + 1, dtype=np.int32), n_lineages), np.arange(m + 1, m + 1 + n_pool, dtype=np.int32)])
    lineage = np.concatenate([np.repeat(np.arange(n_lineages, dtype=np.int64), m + 1), np.full(n_pool, HUMAN, np.int64)])
    return Block(np.full(len(value), seed, np.int64), code, columns, value, lineage)


def concat_blocks(blocks: Sequence[Block]) -> Block:
    """The blocks of several repeats (same columns) as one, in order."""
    first = blocks[0]
    if len(blocks) == 1:
        return first
    assert all(b.names == first.names for b in blocks)
    lineages = [b.lineage if b.lineage is not None else np.zeros(len(b.value), np.int64) for b in blocks]
    return Block(
        np.concatenate([b.seed for b in blocks]),
        np.concatenate([b.code for b in blocks]),
        first.names,
        np.concatenate([b.value for b in blocks]),
        np.concatenate(lineages),
    )


__all__ = [
    "POOL_BATCH",
    "PROVENANCE",
    "Published",
    "build_lineage_generator",
    "concat_blocks",
    "human_arrivals",
    "initial_pool",
    "lineage_streams",
    "lineage_provenance",
    "next_pool",
    "pool_rows",
    "spread_rows",
    "web_block",
    "with_arrivals",
]
