"""Run one experiment: generations × repeats, deterministic, resumable.

This is the only place that touches both the loop machinery and the store. Generations are
the outer loop and repeats the inner one, so after each generation one atomic write records
every repeat's rows and state; an interrupted run resumes after its last finished generation
and ends with exactly the rows an uninterrupted run gives (every random stream is keyed by
(seed, generation, role), see :mod:`autophagy._rng`).
"""

from __future__ import annotations

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
from autophagy.runner.engine import Block
from autophagy.runner.engines import make_engine
from autophagy.store.checkpoint import WEIGHT_KEY, load_checkpoint, save_checkpoint
from autophagy.store.lock import RunLock
from autophagy.store.rundir import METRIC_COLUMNS, RunDir

Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Result:
    """What :func:`run` returns.

    Attributes:
        metrics: pandas DataFrame with columns run, seed, generation, metric, value.
        config: the resolved config.
        run_id: stable id of the config.
        path: the run directory (None for an in-memory run).
    """

    metrics: Any
    config: ExperimentConfig
    run_id: str
    path: Path | None

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
            frame = _loop(config, run_id, store, progress)
        except BaseException as exc:
            status = "failed" if isinstance(exc, Exception) else "interrupted"
            store.update_status(status=status, error=f"{type(exc).__name__}: {exc}")
            raise
    return Result(frame, config, run_id, store.path)


def _loop(config: ExperimentConfig, run_id: str, store: RunDir | None, progress: Progress | None) -> Any:
    import pandas as pd

    frame = store.read_metrics() if store else pd.DataFrame(columns=METRIC_COLUMNS)
    saved = store.load_state() if store else None
    done = int(saved["generation"]) if saved is not None else 0
    checkpointed = store is not None and _neural(config)
    if checkpointed and saved is not None:
        saved.update(load_checkpoint(store.path, done, run_id))  # type: ignore[union-attr]
    frame = frame[frame["generation"] <= done].reset_index(drop=True)
    engine = make_engine(config, run_id, saved)
    if store is not None and done >= config.generations:
        store.update_status(status="complete", generations_done=done, error=None)
        return frame
    started = time.perf_counter()
    if store is not None:
        status = store.read_status()
        store.update_status(
            status="running", error=None, attempts=int(status.get("attempts") or 0) + 1, host=socket.gethostname(), pid=os.getpid()
        )
        if done == 0 and config.eval.snapshot_size:
            store.save_samples("real", engine.real_snapshot())
    snapshots = _snapshot_generations(config.generations)
    pending: list[tuple[int, Block]] = []  # generations not yet in ``frame``
    for t in range(done + 1, config.generations + 1):
        want = store is not None and t in snapshots and config.eval.snapshot_size > 0
        block, fake = engine.advance(t, snapshot=want)
        if want and fake is not None:
            store.save_samples(f"gen-{t:04d}", fake)  # type: ignore[union-attr]
        if store is not None:
            for name, array in engine.artifacts.items():
                store.save_samples(f"{name}/gen-{t:04d}", array)
        pending.append((t, block))
        if store is not None:
            frame = _extend(frame, run_id, pending)
            pending = []
            # metrics first, then state: a crash in between recomputes generation t exactly.
            store.write_metrics(frame)
            state = engine.state_arrays(t)
            if checkpointed:  # weights as a torch checkpoint (kept per generation), the rest in state.npz
                save_checkpoint(store.path, t, run_id, {k: v for k, v in state.items() if WEIGHT_KEY.match(k)})
                state = {k: v for k, v in state.items() if not WEIGHT_KEY.match(k)}
            store.save_state(state)
            store.update_status(generations_done=t, compute_s=_spent(status, started))
        if progress is not None:
            progress({"run_id": run_id, "name": config.name, "generation": t, "generations": config.generations})
    frame = _extend(frame, run_id, pending)
    if store is not None:
        store.update_status(status="complete", generations_done=config.generations, error=None, compute_s=_spent(status, started))
    types = {"seed": "int64", "generation": "int64", "value": "float64"}
    if all(str(frame[column].dtype) == kind for column, kind in types.items()):
        return frame
    return frame.astype(types)


def _spent(status: dict[str, Any], started: float) -> float:
    """Seconds spent computing the run: earlier attempts' plus this one's so far."""
    return float(status.get("compute_s") or 0.0) + time.perf_counter() - started


def _extend(frame: Any, run_id: str, blocks: list[tuple[int, Block]]) -> Any:
    """``frame`` with the rows of ``blocks`` appended (one DataFrame built for all of them)."""
    import pandas as pd
    import pyarrow as pa

    if not blocks:
        return frame
    names: dict[str, int] = {}
    remaps: dict[tuple[str, ...], np.ndarray] = {}
    codes = []
    for _, b in blocks:
        if b.names not in remaps:
            remaps[b.names] = np.array([names.setdefault(name, len(names)) for name in b.names], dtype=np.int32)
        codes.append(remaps[b.names][b.code] if len(b.code) else b.code)
    sizes = [len(b.value) for _, b in blocks]
    n = sum(sizes)
    # string columns through Arrow: a dictionary lookup instead of n Python strings
    metric = pa.array(list(names), pa.string()).take(pa.array(np.concatenate(codes)))
    run = pa.array([run_id], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))
    new = pd.DataFrame(
        {
            "run": run.to_pandas().array,
            "seed": np.concatenate([b.seed for _, b in blocks]),
            "generation": np.repeat(np.array([t for t, _ in blocks], dtype=np.int64), sizes),
            "metric": metric.to_pandas().array,
            "value": np.concatenate([b.value for _, b in blocks]),
        },
        columns=METRIC_COLUMNS,
    )
    return pd.concat([frame, new], ignore_index=True) if len(frame) else new


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
