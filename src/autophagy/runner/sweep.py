"""Sweeps: a grid of configs × seeds, run on a local process pool, resumable.

``sweep: {grid: {key: [values]}, zip: {key: [values]}, seeds: N}`` in an experiment file
expands deterministically into run configs (grid = Cartesian product over dotted keys, zip =
paired lists forming one more axis, seeds = N consecutive seeds from the config's seed). Every
expanded config is validated before any run starts. Each run is an ordinary run directory, so
restarting a sweep skips the finished runs and resumes the interrupted ones.
"""

from __future__ import annotations

import itertools
import os
import queue
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._threads import limit_threads, set_single_thread_env
from ..config import ExperimentConfig, apply_overrides, load_config, load_yaml
from .._validation import check
from ..exceptions import InvalidParameterError


@dataclass(frozen=True)
class SweepRun:
    """One expanded run of a sweep: its config and where it will be written."""

    config: ExperimentConfig
    path: Path


def expand(source: str | Path | Mapping[str, Any], overrides: list[str] | None = None) -> list[ExperimentConfig]:
    """Expand a config with a ``sweep`` section into validated run configs (in a fixed order)."""
    raw = load_yaml(source) if isinstance(source, (str, Path)) else dict(source)
    raw = apply_overrides(raw, overrides or [])
    base = load_config(raw)  # validates the base and the sweep section itself
    sweep = base.sweep
    raw = {k: v for k, v in raw.items() if k != "sweep"}
    if sweep is None:
        return [load_config(raw)]
    lengths = {len(v) for v in sweep.zip.values()}
    if len(lengths) > 1:
        raise InvalidParameterError(
            f"The 'sweep.zip' parameter must hold lists of equal length. Got lengths {sorted(lengths)} instead."
        )
    for key, values in {**sweep.grid, **sweep.zip}.items():
        if not values:
            raise InvalidParameterError(f"The 'sweep.grid.{key}' parameter must be a non-empty list. Got [] instead.")
    grid_keys = list(sweep.grid)
    zipped = [dict(zip(sweep.zip, values, strict=True)) for values in zip(*sweep.zip.values(), strict=True)] or [{}]
    configs = []
    for values in itertools.product(*(sweep.grid[k] for k in grid_keys)):
        for pair in zipped:
            for s in range(sweep.seeds):
                point = {**dict(zip(grid_keys, values, strict=True)), **pair, "seed": base.seed + s}
                configs.append(load_config(apply_overrides(raw, point)))
    return configs


def _worker_init() -> None:
    set_single_thread_env()
    limit_threads()


def _run_one(config_dict: dict[str, Any], out: str, events: Any) -> dict[str, Any]:
    from .loop import run

    def progress(event: dict[str, Any]) -> None:
        if events is not None:
            events.put(event)

    try:
        result = run(config_dict, out=out, progress=progress)
    except Exception as exc:  # reported in the summary; the sweep goes on
        return {"run_id": load_config(config_dict).run_id(), "status": "failed", "error": f"{type(exc).__name__}: {exc}"}
    return {"run_id": result.run_id, "status": "complete", "error": None, "path": str(result.path)}


def run_sweep(
    configs: list[ExperimentConfig],
    *,
    out: str | Path = "runs",
    workers: int | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every config (skipping finished ones) on a process pool; returns one summary per run.

    Args:
        configs: expanded run configs (see :func:`expand`).
        out: root of the run store.
        workers: processes (default: the number of cores, at most the number of runs); 1 runs
            in this process.
        on_event: called with ``{"kind": "generation", ...}`` after each generation of any run
            and ``{"kind": "run", ...}`` when a run ends.
    """
    check(workers is None or workers >= 1, "workers", "an int >= 1 or None (all cores)", workers)
    emit = on_event or (lambda event: None)
    workers = max(1, min(workers or os.cpu_count() or 1, len(configs)))
    summaries: list[dict[str, Any]] = []
    if workers == 1:
        for config in configs:
            summary = _run_one(config.to_dict(), str(out), _Direct(emit))
            summaries.append(summary)
            emit({"kind": "run", **summary})
        return summaries
    import multiprocessing as mp

    set_single_thread_env()
    context = mp.get_context("spawn")
    with context.Manager() as manager, ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init) as pool:
        events = manager.Queue()
        pending: set[Future[dict[str, Any]]] = {pool.submit(_run_one, c.to_dict(), str(out), events) for c in configs}
        while pending:
            finished, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(events, emit)
            for future in finished:
                summary = future.result()
                summaries.append(summary)
                emit({"kind": "run", **summary})
        _drain(events, emit)
    order = {c.run_id(): i for i, c in enumerate(configs)}
    return sorted(summaries, key=lambda s: order.get(s["run_id"], 0))


class _Direct:
    """A queue stand-in for in-process runs: forwards generation events straight away."""

    def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
        self.emit = emit

    def put(self, event: dict[str, Any]) -> None:
        self.emit({"kind": "generation", **event})


def _drain(events: Any, emit: Callable[[dict[str, Any]], None]) -> None:
    while True:
        try:
            event = events.get_nowait()
        except (queue.Empty, EOFError, OSError):
            return
        emit({"kind": "generation", **event})
