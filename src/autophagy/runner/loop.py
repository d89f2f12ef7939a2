"""Run one experiment: generations × repeats, deterministic, resumable.

This is the only place that touches both the loop machinery and the store. Generations are
the outer loop and repeats the inner one. Rows and state are committed to the run's journal
(:mod:`autophagy.store.journal`) on a cadence — every generation that takes a second or more,
else about once a second (``store.checkpoint_every_s``) — and when the loop stops on an
exception; the rows are compacted into ``metrics.parquet`` when the run completes. A crash
loses at most the work since the last checkpoint, and the resumed run ends with exactly the
rows an uninterrupted run gives (every random stream is keyed by (seed, generation, role), see
:mod:`autophagy._rng`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from autophagy._threads import limit_threads
from autophagy._version import __version__
from autophagy.config import ExperimentConfig, load_config
from autophagy.exceptions import InvalidParameterError
from autophagy.runner.engine import seeds_of
from autophagy.runner.engines import make_engine
from autophagy.runner.rows import PendingRows, to_frame
from autophagy.store.checkpoint import WEIGHT_KEY, load_checkpoint, save_checkpoint
from autophagy.store.journal import Journal, concat_rows
from autophagy.store.lock import RunLock
from autophagy.store.rundir import RunDir, check_directory

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns.

    Attributes:
        rows: the metric rows as a ``pyarrow.Table`` (columns run, seed, generation, metric,
            value), as computed or read back.
        config: the resolved config.
        run_id: stable id of the config.
        path: the run directory (None for an in-memory run).
    """

    rows: Any
    config: ExperimentConfig
    run_id: str
    path: Path | None

    @functools.cached_property
    def metrics(self) -> Any:
        """pandas DataFrame with columns run, seed, generation, metric, value (int64 seed and
        generation, float64 value); built from :attr:`rows` on first use."""
        return to_frame([self.rows])

    def wide(self) -> Any:
        """Metrics pivoted to one column per metric, indexed by (seed, generation)."""
        return self.metrics.pivot_table(index=["seed", "generation"], columns="metric", values="value")


def run_dir_for(config: ExperimentConfig, out: str | Path) -> Path:
    return Path(out) / config.name / config.run_id()


def run(
    config: ExperimentConfig | Mapping[str, Any] | str | Path,
    *,
    out: str | Path | None = "runs",
    run_dir: str | Path | None = None,
    progress: Progress | None = None,
    overrides: list[str] | dict[str, Any] | None = None,
    wait: bool = False,
) -> Result:
    """Run (or resume, or just read back) one experiment.

    Args:
        config: an ExperimentConfig, a dict or a YAML path.
        out: root of the run store; the run goes to ``<out>/<name>/<run_id>/``. None keeps
            everything in memory (no files, no resume).
        run_dir: an explicit run directory instead of the one under ``out``.
        progress: called after each generation with {run_id, name, generation, generations}.
        overrides: ``key=value`` strings or a dict of dotted keys applied before validation.
        wait: if another process is computing the same run directory, wait for it (then read
            back or resume) instead of raising :class:`~autophagy.exceptions.RunBusyError`.

    Returns:
        The :class:`Result`; a run already complete on disk is read back without work.
    """
    config = load_config(config, overrides)
    if config.sweep is not None:
        raise InvalidParameterError(
            "The 'sweep' parameter is only for 'autophagy sweep'. Got a sweep section in a config given to run."
        )
    if run_dir is not None:
        check_directory(run_dir, "run_dir")
    elif out is not None:
        check_directory(out, "out")
    limit_threads()
    run_id = config.run_id()
    if run_dir is None:
        if out is None:
            return Result(_loop(config, run_id, None, progress), config, run_id, None)
        store, cache = RunDir(run_dir_for(config, out)), Path(out) / ".cache"
    else:
        store = RunDir(run_dir)
        cache = store.path / "cache"
    with RunLock(store.path, wait=wait):
        store.open(config.to_dict(), run_id, version=__version__)
        set_caches(config, cache)
        try:
            rows = _loop(config, run_id, store, progress)
        except BaseException as exc:
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            store.update_status(status=status, error=f"{type(exc).__name__}: {exc}")
            raise
    return Result(rows, config, run_id, store.path)


def _loop(config: ExperimentConfig, run_id: str, store: RunDir | None, progress: Progress | None) -> Any:
    seeds = seeds_of(config)
    journal = Journal(store, run_id) if store is not None else None
    recovered = journal.recover(seeds, config.generations) if journal is not None else None
    done, saved = (recovered.done, recovered.state) if recovered is not None else (0, None)
    committed = [recovered.rows] if recovered is not None and recovered.rows.num_rows else []
    if store is not None and recovered is not None and recovered.complete:
        if (store.status.get("status"), store.status.get("generations_done")) != ("complete", done):
            store.update_status(status="complete", generations_done=done, error=None)
        return recovered.rows
    checkpointed = store is not None and _neural(config)
    if checkpointed and saved is not None:
        saved.update(load_checkpoint(store.path, done, run_id))  # type: ignore[union-attr]
    engine = make_engine(config, run_id, saved)
    started = time.perf_counter()
    if store is not None:
        status = store.status
        store.update_status(
            status="running", error=None, attempts=int(status.get("attempts") or 0) + 1, host=socket.gethostname(), pid=os.getpid()
        )
        if done == 0 and config.eval.snapshot_size:
            store.save_samples("real", engine.real_snapshot())
    snapshots = _snapshot_generations(config.generations)
    pending = PendingRows(run_id)
    every_s = config.store.checkpoint_every_s
    last_checkpoint = time.perf_counter()
    stepping = False  # inside engine.advance: the engine's state may be half-way through a step
    try:
        for t in range(done + 1, config.generations + 1):
            want = store is not None and t in snapshots and config.eval.snapshot_size > 0
            stepping = True
            block, fake = engine.advance(t, snapshot=want)
            stepping = False
            pending.add(t, block)
            if store is not None:
                if want and fake is not None:
                    store.save_samples(f"gen-{t:04d}", fake)
                for name, array in engine.artifacts.items():
                    store.save_samples(f"{name}/gen-{t:04d}", array)
                if checkpointed:  # every G^t's weights are kept (a torch checkpoint per generation)
                    save_checkpoint(store.path, t, run_id, _weights(engine.state_arrays(t)))
                if t < config.generations and time.perf_counter() - last_checkpoint >= every_s:
                    committed.append(_commit(journal, pending, engine, t, checkpointed))
                    store.update_status(generations_done=t, compute_s=_spent(status, started))
                    last_checkpoint = time.perf_counter()
            if progress is not None:
                progress({"run_id": run_id, "name": config.name, "generation": t, "generations": config.generations})
    except BaseException:
        if journal is not None and len(pending) and not stepping:
            with contextlib.suppress(Exception):  # keep what is whole; the original error is the one to report
                last = pending.blocks[-1][0]
                _commit(journal, pending, engine, last, checkpointed)
                store.update_status(generations_done=last)  # type: ignore[union-attr]
        raise
    if pending:
        committed.append(pending.take())
    if journal is not None and store is not None:
        table = concat_rows(committed)
        journal.complete(table, config.generations, _rest(engine.state_arrays(config.generations), checkpointed))
        store.update_status(status="complete", generations_done=config.generations, error=None, compute_s=_spent(status, started))
        return table
    return concat_rows(committed)


def _commit(journal: Journal | None, pending: PendingRows, engine: Any, t: int, checkpointed: bool) -> Any:
    """Commit the pending generations (through ``t``) with the engine's state; returns their rows."""
    assert journal is not None
    first = pending.first
    table = pending.take()
    journal.checkpoint(table, first, t, _rest(engine.state_arrays(t), checkpointed))
    return table


def _weights(state: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: v for k, v in state.items() if WEIGHT_KEY.match(k)}


def _rest(state: dict[str, np.ndarray], checkpointed: bool) -> dict[str, np.ndarray]:
    """The state for ``state.npz``: without the weights when they go to torch checkpoints."""
    return {k: v for k, v in state.items() if not WEIGHT_KEY.match(k)} if checkpointed else state


def _spent(status: dict[str, Any], started: float) -> float:
    """Seconds spent computing the run: earlier attempts' plus this one's so far."""
    return float(status.get("compute_s") or 0.0) + time.perf_counter() - started


def set_caches(config: ExperimentConfig, folder: Path) -> None:
    """Where what a run trains once per data set is kept: the image metrics' feature classifier,
    a corpus's BPE tokenizer (both also cached in memory)."""
    if _neural(config):
        from autophagy.images.features import set_cache_dir

        set_cache_dir(folder)
    if config.data.kind == "corpus":
        from autophagy.text.tokenizers import set_cache_dir as set_tokenizer_cache

        set_tokenizer_cache(folder)


def _neural(config: ExperimentConfig) -> bool:
    """Whether the generator is a neural (torch) family: weights go to per-generation checkpoints."""
    from autophagy.neural.config import NeuralConfig

    return isinstance(config.generator, NeuralConfig)


def _snapshot_generations(generations: int) -> set[int]:
    return {1, (generations + 1) // 2, generations}


__all__ = ["Result", "run", "run_dir_for", "set_caches"]
