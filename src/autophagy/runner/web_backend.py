"""Choosing where a web's lineages run: ``with lineage_backend("process", workers=4): run(...)``.

See :mod:`autophagy.runner.web_workers` for the backends and what a run picks without a choice.
The ``process`` backend lives here: a pool of spawned worker processes on this machine, one BLAS
thread each, that die with the run's process (:func:`~autophagy.runner.executors.die_with`, the
sweep's); the data source reaches each worker once, through the pool's initializer.
"""

from __future__ import annotations

import multiprocessing as mp
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager

from autophagy._threads import limit_threads, set_single_thread_env
from autophagy._validation import check
from autophagy.runner.executors import BACKENDS, die_with
from autophagy.runner.ray_session import require_ray
from autophagy.runner.web_tasks import (
    LineageResult,
    LineageTask,
    WorkerInputs,
    install_inputs,
    run_lineages,
)
from autophagy.runner.web_workers import LineageWorkers, LocalWorkers, RayWorkers, choose, chunks


def _init_worker(inputs: WorkerInputs, parent: int) -> None:
    die_with(parent)
    set_single_thread_env()
    limit_threads()
    install_inputs(inputs)


class ProcessWorkers:
    """A pool of ``workers`` spawned processes, started on the first generation."""

    name = "process"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    def map(self, tasks: list[LineageTask], inputs: WorkerInputs) -> list[LineageResult]:
        if self._pool is None:
            from autophagy.plugins import check_importable

            check_importable(inputs.registrations)  # a spawned worker imports what it unpickles
            set_single_thread_env()  # inherited by the spawned workers before numpy loads
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=(inputs, os.getpid())
            )
        return [result for part in self._pool.map(run_lineages, chunks(tasks, self.workers)) for result in part]

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def open_workers(name: str, workers: int | None = None, address: str | None = None) -> LineageWorkers:
    """The workers of backend ``name`` (``workers``: processes or local Ray CPUs; None: the cores)."""
    count = workers or os.cpu_count() or 1
    if name == "ray":
        return RayWorkers(count, address)
    if name == "process" and count > 1:
        return ProcessWorkers(count)
    return LocalWorkers()


@contextmanager
def lineage_backend(name: str = "local", *, workers: int | None = None, address: str | None = None) -> Iterator[None]:
    """Run the lineages of the web runs started inside the block on ``name`` (``local``,
    ``process`` or ``ray``); the workers start with the first generation that needs them and
    stop when the block ends. Every backend gives the same rows.

    Raises:
        InvalidParameterError: an unknown backend, ``workers`` < 1, or ``address`` without ``ray``.
        MissingExtraError: ``ray`` without Ray installed.
    """
    check(name in BACKENDS, "backend", f"one of {', '.join(BACKENDS)}", name)
    check(workers is None or workers >= 1, "workers", "an int >= 1 or None (all cores)", workers)
    check(address is None or name == "ray", "address", "unset unless backend is 'ray'", address)
    if name == "ray":
        require_ray()
    with choose(lambda: open_workers(name, workers, address)):
        yield


__all__ = ["ProcessWorkers", "lineage_backend", "open_workers"]
