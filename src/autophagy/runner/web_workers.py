"""Where a web's lineage trainings run: the interface, the ``local`` and ``ray`` workers, and the
choice the engine reads.

Each generation of a web (:class:`~autophagy.runner.web_sampled.WebSampledEngine`) hands the
lineages' tasks (:class:`~autophagy.runner.web_tasks.LineageTask`: a draw from the pool, never
the pool) to a :class:`LineageWorkers` and waits for all of them: the pool update is the
barrier between generations. Results come back in task order and depend on nothing but their
task, so every backend and any number of workers give the same rows.

- ``local``: in the run's own process (the default).
- ``process``: a pool of spawned worker processes on this machine
  (:class:`~autophagy.runner.web_backend.ProcessWorkers`).
- ``ray``: Ray tasks of one CPU each, on a local Ray instance (started with ``workers`` CPUs
  and stopped at the end) or the cluster at ``address``.

A backend is chosen for the runs started inside ``with lineage_backend(...)``
(:mod:`autophagy.runner.web_backend`; the CLI: ``autophagy run web.yaml --backend process
--workers 4``), which pushes its opener here (:func:`choose`). Outside it lineages run locally,
except in a run that is itself a Ray task (a sweep on ``--backend ray``): its lineages go to the
same cluster as nested Ray tasks. In a sweep on the ``process`` backend every run is already a
worker process, so its lineages run in it. (The process pool lives in its own module, away from
the engine, because it reuses the sweep's executors, which import the runner.)
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from autophagy._threads import limit_threads
from autophagy.runner.ray_session import start_ray
from autophagy.runner.web_tasks import (
    LineageResult,
    LineageTask,
    WorkerInputs,
    install_inputs,
    run_lineages,
)


class LineageWorkers(Protocol):
    """Runs a generation's lineage tasks and returns their results in task order."""

    name: str
    workers: int

    def map(self, tasks: list[LineageTask], inputs: WorkerInputs) -> list[LineageResult]:
        """Every task's result, in order (``inputs``: the run's data source, for new workers)."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


def chunks(tasks: list[LineageTask], workers: int) -> list[list[LineageTask]]:
    """``tasks`` in about four contiguous chunks per worker (fewer hand-overs than one task
    each, and a slow chunk still leaves the others busy)."""
    size = max(1, -(-len(tasks) // (4 * workers)))
    return [tasks[k : k + size] for k in range(0, len(tasks), size)]


class LocalWorkers:
    """Runs the tasks in this process."""

    name = "local"
    workers = 1

    def map(self, tasks: list[LineageTask], inputs: WorkerInputs) -> list[LineageResult]:
        return run_lineages(tasks)

    def close(self) -> None:
        pass


def _ray_chunk(tasks: list[LineageTask], inputs: WorkerInputs) -> list[LineageResult]:
    install_inputs(inputs)
    limit_threads()
    return run_lineages(tasks)


class RayWorkers:
    """Ray tasks of one CPU each; starts a local Ray instance unless Ray is running or ``address``
    names a cluster (as :class:`~autophagy.runner.executors.RayExecutor` does)."""

    name = "ray"

    def __init__(self, workers: int, address: str | None) -> None:
        ray, self._started = start_ray(workers, address)
        self._ray = ray
        self.workers = max(1, int(ray.cluster_resources().get("CPU", workers)))
        self._remote = ray.remote(_ray_chunk).options(num_cpus=1, max_retries=0)
        self._inputs: dict[int, Any] = {}  # id of a run's WorkerInputs -> its object-store ref

    def map(self, tasks: list[LineageTask], inputs: WorkerInputs) -> list[LineageResult]:
        ref = self._inputs.get(id(inputs))
        if ref is None:
            ref = self._inputs[id(inputs)] = self._ray.put(inputs)
        handles = [self._remote.remote(part, ref) for part in chunks(tasks, self.workers)]
        return [result for part in self._ray.get(handles) for result in part]

    def close(self) -> None:
        self._inputs.clear()
        if self._started:
            self._ray.shutdown()


#: The open ``lineage_backend`` blocks, innermost last: (opener, the workers it opened).
_chosen: list[tuple[Callable[[], LineageWorkers], list[LineageWorkers]]] = []


@contextmanager
def choose(opener: Callable[[], LineageWorkers]) -> Iterator[None]:
    """Web engines started inside the block run their lineages on ``opener()`` (opened by the
    first engine that asks, closed when the block ends)."""
    opened: list[LineageWorkers] = []
    _chosen.append((opener, opened))
    try:
        yield
    finally:
        _chosen.pop()
        for workers in opened:
            workers.close()


def current_workers() -> LineageWorkers:
    """The workers a web engine starting now uses (see the module docstring)."""
    if _chosen:
        opener, opened = _chosen[-1]
        if not opened:
            opened.append(opener())
        return opened[0]
    if _in_ray_worker():
        return RayWorkers(1, None)
    return LocalWorkers()


def _in_ray_worker() -> bool:
    """Whether this process is a Ray worker (a run of a sweep on ``--backend ray``); Ray is not
    imported to find out."""
    ray = sys.modules.get("ray")
    if ray is None or not ray.is_initialized():
        return False
    try:
        return bool(ray.get_runtime_context().worker.mode == ray.WORKER_MODE)
    except AttributeError:  # a Ray without these handles: stay local
        return False
