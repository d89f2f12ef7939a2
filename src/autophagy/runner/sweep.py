"""Sweeps: a grid of configs × seeds, run on an executor (local, process pool, Ray), resumable.

``sweep: {grid: {key: [values]}, zip: {key: [values]}, seeds: N}`` in an experiment file
expands deterministically into run configs (grid = Cartesian product over dotted keys, zip =
paired lists forming one more axis, seeds = N consecutive seeds from the config's seed). Every
expanded config is validated before any run starts. Each run is an ordinary run directory named
by its run id (a hash of its resolved config and seed), so restarting a sweep skips the
finished runs and resumes the interrupted ones, and a changed config gets a new directory.

A sweep stopped by ``SIGTERM`` (or Ctrl-C) stops its workers at once and exits with status 143
(130): finished runs stay complete and the runs cut short resume on the next sweep. Killed by
``SIGKILL``, its process-pool workers follow it (:func:`~.executors.die_with`).
"""

from __future__ import annotations

import itertools
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from autophagy._validation import check
from autophagy.config import LINKED_KEYS, ExperimentConfig, load_config, load_yaml, overridden
from autophagy.exceptions import InvalidParameterError
from autophagy.runner.executors import BACKENDS, Executor, RunTask, open_executor
from autophagy.runner.ray_session import require_ray
from autophagy.runner.shared import gather
from autophagy.store.journal import is_complete
from autophagy.store.rundir import RunDir


def expand(source: str | Path | Mapping[str, Any], overrides: list[str] | None = None) -> list[ExperimentConfig]:
    """Expand a config with a ``sweep`` section into validated run configs (in a fixed order).

    An override of a key the sweep varies (or of its linked key, ``generator.bias`` /
    ``generator.guidance``) fixes it: that axis leaves the grid (or the zip)."""
    raw = load_yaml(source) if isinstance(source, (str, Path)) else dict(source)
    raw = overridden(_fixed(raw, overrides or []), overrides or [])
    base = load_config(raw)  # validates the base and the sweep section itself
    sweep = base.sweep
    raw = {k: v for k, v in raw.items() if k != "sweep"}
    if sweep is None:
        return [base]  # validated above, from the same keys
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
    for grid_values in itertools.product(*(sweep.grid[k] for k in grid_keys)):
        for pair in zipped:
            for s in range(sweep.seeds):
                point = {**dict(zip(grid_keys, grid_values, strict=True)), **pair, "seed": base.seed + s}
                configs.append(load_config(overridden(raw, point)))
    return configs


def _fixed(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """``raw`` without the sweep axes that ``overrides`` set (see :func:`expand`)."""
    sweep = raw.get("sweep")
    if not isinstance(sweep, Mapping) or not overrides:
        return raw
    keys = {o.split("=", 1)[0].strip() for o in overrides}
    keys |= {LINKED_KEYS[k] for k in keys if k in LINKED_KEYS}
    axes = {part: {k: v for k, v in sweep[part].items() if k not in keys} for part in ("grid", "zip") if isinstance(sweep.get(part), Mapping)}
    return {**raw, "sweep": {**sweep, **axes}}


def run_sweep(
    configs: list[ExperimentConfig],
    *,
    out: str | Path = "runs",
    workers: int | None = None,
    backend: str = "process",
    address: str | None = None,
    retries: int = 1,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """Run every config not yet complete under ``out``; returns one summary per config, in order.

    First every run directory is written with ``status: pending`` (existing ones are kept), so
    the sweep's state is on disk from the start (``autophagy status``). Complete runs are
    skipped without a task. A run another process is computing (another sweep into the same
    store) is left to it, then waited for at the end and read back, so each run is computed
    once. A failed run is retried up to ``retries`` times (it resumes after its last finished
    generation), then reported failed; the others go on.

    Args:
        configs: Expanded run configs (see :func:`expand`).
        out: Root of the run store.
        workers: Worker processes (default: the number of cores, at most the runs to do); for
            ``ray`` the CPUs of a local Ray instance (a cluster's own are used with ``address``).
        backend: ``local``, ``process`` or ``ray`` (see :mod:`.executors`).
        address: The Ray cluster to connect to (``ray`` only; default: start one locally).
        retries: Extra attempts of a failed run.
        on_event: Called with ``{"kind": "run", ...summary}`` when a run ends (``skipped`` runs
            first), ``{"kind": "retry", "run_id", "attempt", "error"}`` before a retry and
            ``{"kind": "generation", "run_id", "generation", ...}`` after each generation
            (``local`` and ``process`` backends).

    Returns:
        Dicts with run_id, name, status (``complete`` | ``failed``), error, path, attempts,
        compute_s (seconds in workers during this sweep) and skipped (already complete).
    """
    check(backend in BACKENDS, "backend", f"one of {', '.join(BACKENDS)}", backend)
    check(workers is None or workers >= 1, "workers", "an int >= 1 or None (all cores)", workers)
    check(isinstance(retries, int) and retries >= 0, "retries", "an int >= 0", retries)
    check(address is None or backend == "ray", "address", "unset unless backend is 'ray'", address)
    if backend == "ray":
        require_ray()
    emit = on_event or (lambda event: None)
    runs = plan(configs, out)
    summaries: dict[str, dict[str, Any]] = {}
    todo = []
    for run in runs:
        if run.complete:
            summaries[run.run_id] = _summary(run, "complete", skipped=True)
            emit({"kind": "run", **summaries[run.run_id]})
        else:
            todo.append(run)
    if todo:
        workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
        shared = gather([r.config for r in todo], out)
        executor = open_executor(backend, workers=workers, shared=shared, emit=emit, address=address)
        try:
            with _exit_on_sigterm():
                for summary in _schedule(executor, todo, str(out), retries, emit):
                    summaries[summary["run_id"]] = summary
        except BaseException as exc:
            # interrupted (SIGTERM, Ctrl-C): stop the workers now rather than await their runs
            executor.close(abort=not isinstance(exc, Exception))
            raise
        executor.close()
    return [summaries[run.run_id] for run in runs]


def sweep(
    config: str | Path | Mapping[str, Any],
    overrides: list[str] | None = None,
    *,
    out: str | Path = "runs",
    workers: int | None = None,
    backend: str = "process",
    address: str | None = None,
    retries: int = 1,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> list[dict[str, Any]]:
    """``autophagy sweep`` in Python: expand ``config``'s ``sweep:`` section (:func:`expand`;
    a config without one is one run), then run every point not yet complete under ``out``
    (:func:`run_sweep`, which documents the arguments and the returned summaries).

    Examples:
        >>> import autophagy
        >>> runs = autophagy.sweep("examples/augment_vs_fresh_gmm.yaml", ["generations=2"], out="runs")  # doctest: +SKIP
        >>> autophagy.catalog("runs")  # doctest: +SKIP
    """
    configs = expand(config, overrides)
    return run_sweep(configs, out=out, workers=workers, backend=backend, address=address, retries=retries, on_event=on_event)


@contextmanager
def _exit_on_sigterm() -> Iterator[None]:
    """While the sweep runs, ``SIGTERM`` raises ``SystemExit(143)`` (128 + 15, the status of a
    process ended by it) in the main thread, so the sweep can stop its workers on the way out;
    the previous handler is restored after. Off the main thread, where Python cannot install
    handlers, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)


@dataclass(frozen=True)
class PlannedRun:
    """A run of a sweep: its config, id, directory and whether it is already complete."""

    config: ExperimentConfig
    run_id: str
    path: Path
    complete: bool


def plan(configs: list[ExperimentConfig], out: str | Path) -> list[PlannedRun]:
    """Write each run's directory as ``pending`` unless it exists; read back which are complete.

    Raises:
        RunConflictError: if a run directory holds another config.
    """
    from autophagy._version import __version__
    from autophagy.runner.loop import run_dir_for

    runs, seen = [], set()
    for config in configs:
        run_id = config.run_id()
        if run_id in seen:  # a grid listing one value twice
            continue
        seen.add(run_id)
        store = RunDir(run_dir_for(config, out))
        created = store.create_pending(config.to_dict(), run_id, version=__version__)
        status = {} if created else store.read_status()  # a run just written as pending is not complete
        done = (
            status.get("status") == "complete"
            and status.get("generations_done") == config.generations
            and is_complete(store.path, config.generations)  # its rows are there, not just its status
        )
        runs.append(PlannedRun(config, run_id, store.path, done))
    return runs


def _summary(run: PlannedRun, status: str, *, error: str | None = None, attempts: int = 0, compute_s: float = 0.0, skipped: bool = False) -> dict[str, Any]:
    return {
        "run_id": run.run_id,
        "name": run.config.name,
        "status": status,
        "error": error,
        "path": str(run.path),
        "attempts": attempts,
        "compute_s": compute_s,
        "skipped": skipped,
    }


def _schedule(executor: Executor, runs: list[PlannedRun], out: str, retries: int, emit: Callable[[dict[str, Any]], None]) -> Any:
    """Feed ``runs`` to ``executor`` and yield a summary per run as each ends (see :func:`run_sweep`).

    At most two tasks per worker are handed over at a time: the workers never wait for work, and
    a worker pool that breaks (a worker killed) fails only the tasks it held, not the whole sweep.
    """
    by_id = {run.run_id: run for run in runs}
    compute: dict[str, float] = dict.fromkeys(by_id, 0.0)
    waiting = deque(RunTask(run.config.to_dict(), run.run_id, out) for run in runs)
    deferred: list[RunTask] = []
    window, in_flight = 2 * executor.workers, 0
    while waiting or in_flight or deferred:
        while waiting and in_flight < window:
            executor.submit(waiting.popleft())
            in_flight += 1
        if not in_flight:  # only runs another sweep was computing are left: wait for them, read them back
            waiting.extend(deferred)
            deferred = []
            continue
        for outcome in executor.poll(timeout=0.2):
            in_flight -= 1
            task, run = outcome.task, by_id[outcome.task.run_id]
            compute[run.run_id] += outcome.compute_s
            if outcome.status == "busy":
                deferred.append(replace(task, wait=True))
            elif outcome.status == "failed" and task.attempt <= retries:
                emit({"kind": "retry", "run_id": run.run_id, "attempt": task.attempt + 1, "error": outcome.error})
                waiting.appendleft(replace(task, attempt=task.attempt + 1))
            else:
                summary = _summary(run, outcome.status, error=outcome.error, attempts=task.attempt, compute_s=compute[run.run_id])
                emit({"kind": "run", **summary})
                yield summary
