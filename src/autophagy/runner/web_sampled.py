"""The web engine for every family: lineages of any generators sharing one pool (``web:``).

A generation t of each repeat (seed s), in the order of :mod:`autophagy.loops.web`: the human
arrivals join the pool; every lineage i draws its ``n_train`` items (stream (s, t, draw,
batch i)); the lineages' trainings run as tasks (:mod:`.web_tasks`: the synthetic part of the
draw through the group's stages, fit, publish, evaluate) on the chosen workers
(:mod:`.web_workers`: ``local``, ``process`` or ``ray``, chosen with
:func:`~.web_backend.lineage_backend`), every lineage of every repeat at
once; when all are back (the barrier), each repeat's pool takes what its lineages published and
evicts (:func:`~.web_common.next_pool`), and the pool-level rows are computed on it.

Rows per lineage: the metrics against the truth, ``train_size``, ``frac_synthetic`` and
``train_depth`` of its training set (after its stages: the stages' rows ``frac_synthetic_kept``,
``kept_fraction``, ``removed_by_<kind>``... where they ran), and ``degenerate`` (1 when a metric
is not finite, or its fit failed: it then publishes nothing that generation). Pool rows
(lineage -1): :func:`~.web_common.pool_rows` and the spread of each metric over the lineages
(:func:`~.web_common.spread_rows`).

The pools live in the run store: :meth:`WebSampledEngine.state_arrays` is every repeat's pool
with its provenance, which the journal commits with the rows (``state.npz``); a lineage's model
is retrained from scratch every generation, so the pool is all a resume needs, and a resumed run
gives the rows of an uninterrupted one. Workers receive their draws, never the pool.
"""

from __future__ import annotations

import numpy as np

from autophagy._rng import stream
from autophagy.config import ExperimentConfig
from autophagy.loops.web import WebPool, draw_rows, pools_from_state, pools_state
from autophagy.registry import build_source
from autophagy.runner.engine import Block, draw_holdout, seeds_of
from autophagy.runner.web_common import (
    PROVENANCE,
    Published,
    concat_blocks,
    human_arrivals,
    initial_pool,
    next_pool,
    pool_rows,
    spread_rows,
    web_block,
    with_arrivals,
)
from autophagy.runner.web_tasks import LineageResult, LineageTask, WorkerInputs, worker_inputs
from autophagy.runner.web_workers import LineageWorkers, current_workers


class WebSampledEngine:
    """Runs a web of lineages of any families, every repeat, generation by generation.

    Attributes:
        artifacts: what lineage 0 of the first repeat's metrics stored (on snapshot generations).
        compute_s: seconds the lineage tasks took inside their workers, summed over every task
            of this engine (what a benchmark compares the wall time with).
    """

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        assert config.web is not None and config.metrics is not None  # a resolved web config
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        self.seeds = seeds_of(config)
        self.group_of = config.web.group_of()
        self._payload = config.to_dict()
        self._holdout: dict[int, np.ndarray] = {}
        self.pools = {seed: self._restore(seed, saved) for seed in self.seeds}
        self.workers: LineageWorkers = current_workers()
        self._inputs: WorkerInputs | None = None
        self.artifacts: dict[str, np.ndarray] = {}
        self.compute_s = 0.0

    def holdout(self, seed: int) -> np.ndarray:
        if seed not in self._holdout:
            self._holdout[seed] = draw_holdout(self.source, self.config.eval.n_samples, seed)
        return self._holdout[seed]

    def real_snapshot(self) -> np.ndarray:
        return self.holdout(self.seeds[0])[: self.config.eval.snapshot_size]

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        web = self.config.web
        assert web is not None
        arrivals, drawn_from, tasks = {}, {}, []
        for seed in self.seeds:
            arrivals[seed] = human_arrivals(self.config, self.source, seed, t)
            drawn_from[seed] = pool = with_arrivals(self.pools[seed], arrivals[seed], t)
            for i, g in enumerate(self.group_of):
                group = web.lineages[g]
                rows = draw_rows(pool, group.n_train, web.draw, stream(seed, t, "draw", batch=i))
                tasks.append(LineageTask(
                    self.run_id, self._payload, seed, t, i, int(g), pool.x[rows], pool.human[rows], pool.published[rows],
                    pool.depth[rows], keep_samples=snapshot and seed == self.seeds[0] and i == 0,
                ))
        results = self.workers.map(tasks, self._worker_inputs())
        self.compute_s += sum(r.compute_s for r in results)
        by_seed: dict[int, list[LineageResult]] = {seed: [] for seed in self.seeds}
        for result in results:
            by_seed[result.seed].append(result)
        blocks = [self._repeat_block(seed, t, by_seed[seed], arrivals[seed]) for seed in self.seeds]
        first = by_seed[self.seeds[0]][0]
        self.artifacts = first.artifacts
        samples = first.samples[: self.config.eval.snapshot_size] if snapshot and first.samples is not None else None
        return concat_blocks(blocks), samples

    def _repeat_block(self, seed: int, t: int, results: list[LineageResult], human: np.ndarray) -> Block:
        """One repeat's pool update (the barrier) and rows."""
        config = self.config
        metrics = list(config.metrics or ())
        published: list[Published] = [(r.published, r.lineage, r.depth) for r in results]
        self.pools[seed] = pool = next_pool(config, self.pools[seed], published, human, seed, t)
        extra = list(dict.fromkeys(k for r in results for k in r.values if k not in metrics and k not in PROVENANCE and k != "degenerate"))
        names = [*metrics, *PROVENANCE, *extra]
        values = np.array([[r.values.get(k, np.nan) for k in names] for r in results], dtype=np.float64)
        rows = {**pool_rows(config, self.source, pool, seed, t, holdout=self.holdout(seed)), **spread_rows(metrics, values[:, : len(metrics)])}
        block = web_block(seed, names, values, rows, n_metrics=len(metrics))
        if not extra:
            return block
        # a stage's rows exist only for the lineages whose group has the stage and that generation
        # had synthetic items to curate: the others' (NaN) are left out rather than written
        codes = np.arange(len(metrics) + len(PROVENANCE), len(names))
        absent = np.isin(block.code, codes) & (block.lineage >= 0) & np.isnan(block.value)  # type: ignore[operator]
        keep = ~absent
        return Block(block.seed[keep], block.code[keep], block.names, block.value[keep], block.lineage[keep])  # type: ignore[index]

    def _worker_inputs(self) -> WorkerInputs:
        """The data source (and the image metrics' classifier) for new workers, built once."""
        if self._inputs is None:
            self._inputs = worker_inputs(self.config, self.source, share_classifier=self.workers.name != "local")
        return self._inputs

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        return {"generation": np.asarray(t), **pools_state(self.pools)}

    def _restore(self, seed: int, saved: dict[str, np.ndarray] | None) -> WebPool:
        return initial_pool(self.config, self.source, seed) if saved is None else pools_from_state(saved, [seed])[seed]


__all__ = ["WebSampledEngine"]
