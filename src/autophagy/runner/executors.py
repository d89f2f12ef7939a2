"""Where the runs of a sweep execute: ``local``, ``process`` or ``ray``, behind one interface.

A task is a whole run (:class:`RunTask`: a resolved config and the run store); executing it
calls :func:`autophagy.runner.loop.run`, which takes the run directory's lock, resumes what is
on disk and writes every generation as it finishes. An executor only moves tasks to workers
and outcomes back; retries, skipping and waiting are the scheduler's (:mod:`.sweep`).

- ``local``: in this process, one run at a time (for debugging: breakpoints and tracebacks work).
- ``process``: a pool of spawned worker processes on this machine, one BLAS thread each. The
  workers die with the sweep's process, however it ends (see :func:`die_with`).
- ``ray``: Ray tasks (extra ``ray``), on a local Ray instance or the cluster at ``address``.
  Every node must see the run store at the same path (a shared file system) and have
  autophagy installed. Runs whose generator asks for CUDA request one GPU each.

Shared inputs (:mod:`.shared`) reach process workers once through the pool initializer and Ray
workers through the object store (one ``ray.put`` per data set), never with each task.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing as mp
import os
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Protocol

from autophagy._threads import limit_threads, set_single_thread_env
from autophagy.exceptions import RunBusyError
from autophagy.runner.ray_session import start_ray
from autophagy.runner.shared import SharedInputs, install

BACKENDS = ("local", "process", "ray")

Emit = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RunTask:
    """One run to execute.

    Attributes:
        config: The resolved config (``ExperimentConfig.to_dict()``).
        run_id: Its stable id.
        out: Root of the run store.
        attempt: 1 for the first try, 2 for the first retry, ...
        wait: Wait for another process computing this run instead of reporting ``busy``.
    """

    config: dict[str, Any]
    run_id: str
    out: str
    attempt: int = 1
    wait: bool = False


@dataclass(frozen=True)
class Outcome:
    """What became of a task.

    Attributes:
        status: ``complete``, ``failed`` or ``busy`` (another process holds the run's lock).
        error: ``"ErrorType: message"`` of a failure.
        compute_s: Seconds the task took inside its worker.
    """

    task: RunTask
    status: str
    error: str | None = None
    path: str | None = None
    compute_s: float = 0.0


def execute(task: RunTask, emit: Emit | None = None) -> Outcome:
    """Run ``task`` in this process (what every backend's worker calls)."""
    from autophagy.runner.loop import run

    limit_threads()
    started = time.perf_counter()
    try:
        result = run(task.config, out=task.out, progress=emit, wait=task.wait)
    except RunBusyError:
        return Outcome(task, "busy")
    except Exception as exc:  # recorded in run.json by run(); the sweep goes on
        return Outcome(task, "failed", _message(exc), compute_s=time.perf_counter() - started)
    return Outcome(task, "complete", path=str(result.path), compute_s=time.perf_counter() - started)


def _message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


class Executor(Protocol):
    """Runs tasks and hands back their outcomes; generation events go to the ``emit`` it was
    opened with (``{"kind": "generation", "run_id", "generation", ...}``)."""

    name: str
    workers: int

    def submit(self, task: RunTask) -> None:
        """Queue ``task``."""

    def poll(self, timeout: float) -> list[Outcome]:
        """Outcomes of the tasks finished since the last call (waits up to ``timeout`` s for one)."""

    def close(self, *, abort: bool = False) -> None:
        """Stop the workers (tasks still queued are dropped); with ``abort``, at once: tasks
        running are killed, not awaited (their runs stay resumable)."""


def open_executor(backend: str, *, workers: int, shared: SharedInputs, emit: Emit, address: str | None = None) -> Executor:
    """The executor of ``backend`` (one of :data:`BACKENDS`; checked by the caller)."""
    if backend == "ray":
        return RayExecutor(workers, shared, emit, address)
    if backend == "process" and workers > 1:
        return ProcessExecutor(workers, shared, emit)
    return LocalExecutor(shared, emit)


class LocalExecutor:
    """Runs each task in this process when polled."""

    name = "local"
    workers = 1

    def __init__(self, shared: SharedInputs, emit: Emit) -> None:
        install(shared)
        self._emit = emit
        self._tasks: deque[RunTask] = deque()

    def submit(self, task: RunTask) -> None:
        self._tasks.append(task)

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._tasks:
            return []
        return [execute(self._tasks.popleft(), lambda e: self._emit({"kind": "generation", **e}))]

    def close(self, *, abort: bool = False) -> None:
        self._tasks.clear()


#: The generation-event queue of a process worker (set by its initializer).
_events: Any = None


#: ``prctl`` option: the signal this process gets when its parent ends (Linux).
_PR_SET_PDEATHSIG = 1

#: Seconds between two looks of the watchdog thread for the parent (no ``prctl``).
_WATCH_INTERVAL = 0.5


def die_with(parent: int) -> None:
    """End this process when process ``parent`` ends (called in a pool worker, ``parent`` being
    the sweep's process, whose pid is passed in rather than read, since a fork server or another
    intermediary may stand between the two).

    Without this, the workers of a sweep killed by ``SIGKILL`` (or any signal it does not handle)
    compute the runs already queued to them and then wait for work forever. On Linux, when
    ``parent`` is this process's parent, the kernel sends ``SIGKILL`` when it ends
    (``prctl(PR_SET_PDEATHSIG)``; strictly when the *thread* that started this process ends,
    which is the sweep's main thread); a parent that ended before the ``prctl`` call is caught by
    comparing ``os.getppid()`` right after. Elsewhere (macOS, no ``prctl``, or an intermediary
    parent) a daemon thread looks every :data:`_WATCH_INTERVAL` s and calls ``os._exit``.
    """
    if os.getppid() == parent and _parent_death_signal(signal.SIGKILL):
        if os.getppid() != parent:  # the parent ended before prctl took effect
            os._exit(1)
        return
    threading.Thread(target=_watch, args=(parent, os.getppid()), name="autophagy-parent-watch", daemon=True).start()


def _parent_death_signal(signum: int) -> bool:
    """Ask the kernel for ``signum`` when the parent ends; False where ``prctl`` is missing."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signum), 0, 0, 0)) == 0
    except (OSError, AttributeError):  # no libc by that name, or no prctl in it
        return False


def _watch(parent: int, parent_now: int) -> None:
    """Exit once ``parent`` has ended: this process re-parented, or ``parent`` gone."""
    while os.getppid() == parent_now and _alive(parent):
        time.sleep(_WATCH_INTERVAL)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's: a pid reused after ours ended
        return True
    return True


def _init_worker(events: Any, shared: SharedInputs, parent: int) -> None:
    global _events
    die_with(parent)
    set_single_thread_env()
    limit_threads()
    install(shared)
    _events = events


def _execute_in_worker(task: RunTask) -> Outcome:
    return execute(task, _events.put if _events is not None else None)


class ProcessExecutor:
    """A pool of spawned processes (a worker that dies fails its task, and the pool is rebuilt).

    The workers end with this process (:func:`die_with`), and ``close(abort=True)`` ends them at
    once, so a sweep stopped by a signal leaves no worker behind.
    """

    name = "process"

    def __init__(self, workers: int, shared: SharedInputs, emit: Emit) -> None:
        from autophagy.plugins import check_importable

        check_importable(shared.registrations)  # a spawned worker imports what it unpickles
        self.workers = workers
        self._shared, self._emit = shared, emit
        self._context = mp.get_context("spawn")
        self._events = self._context.Queue()
        self._pool: ProcessPoolExecutor | None = None
        self._futures: dict[Future[Outcome], RunTask] = {}

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            set_single_thread_env()  # inherited by the spawned workers before numpy loads
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=self._context,
                initializer=_init_worker,
                initargs=(self._events, self._shared, os.getpid()),
            )
        return self._pool

    def submit(self, task: RunTask) -> None:
        self._futures[self._ensure_pool().submit(_execute_in_worker, task)] = task

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._futures:
            return []
        done, _ = wait(self._futures, timeout=timeout, return_when=FIRST_COMPLETED)
        self._drain()
        outcomes = []
        for future in done:
            task = self._futures.pop(future)
            try:
                outcomes.append(future.result())
            except BrokenProcessPool as exc:
                outcomes.append(Outcome(task, "failed", f"worker process died: {_message(exc)}"))
                self._pool = None  # the next submit starts a new pool
            except Exception as exc:  # noqa: BLE001 - e.g. an outcome that cannot be unpickled
                outcomes.append(Outcome(task, "failed", _message(exc)))
        return outcomes

    def _drain(self) -> None:
        while True:
            try:
                event = self._events.get_nowait()
            except (queue.Empty, EOFError, OSError):
                return
            self._emit({"kind": "generation", **event})

    def close(self, *, abort: bool = False) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and abort:
            workers = list((getattr(pool, "_processes", None) or {}).values())  # private: no public handle
            pool.shutdown(wait=False, cancel_futures=True)
            _stop(workers)
        elif pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if not abort:  # a worker killed while writing may have left half an event in the queue
            self._drain()
        self._events.close()


def _stop(workers: list[Any], grace: float = 2.0) -> None:
    """``SIGTERM`` the worker processes, then ``SIGKILL`` those still alive after ``grace`` s.

    A run killed mid-way keeps on disk what it had committed, and its lock goes with its process
    (the store then reports it ``interrupted``), so the next sweep resumes it.
    """
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
    deadline = time.monotonic() + grace
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
        if worker.is_alive():
            worker.kill()
            worker.join(1.0)


def _ray_task(task: RunTask, shared: SharedInputs) -> Outcome:
    install(shared)
    return execute(task)


class RayExecutor:
    """Ray tasks of one CPU each (plus one GPU for runs on CUDA); starts Ray if it is not running.

    Without ``address`` a local Ray instance with ``workers`` CPUs is started (and stopped on
    close); with one, the driver connects to that cluster. Generation events stay in the
    workers (the progress counts whole runs).
    """

    name = "ray"

    def __init__(self, workers: int, shared: SharedInputs, emit: Emit, address: str | None) -> None:
        ray, self._started = start_ray(workers, address)
        self._ray = ray
        resources = ray.cluster_resources()
        self.workers = int(resources.get("CPU", workers))
        self._has_gpus = resources.get("GPU", 0) > 0
        self._remote = ray.remote(_ray_task)
        self._shared = shared
        self._refs: dict[str, Any] = {}  # data key -> object-store ref of its SharedInputs
        self._running: dict[Any, RunTask] = {}

    def _shared_ref(self, task: RunTask) -> Any:
        """The object-store ref of the shared inputs of ``task``'s data set (put once)."""
        from autophagy.registry import data_key

        key = data_key(task.config)
        if key not in self._refs:
            self._refs[key] = self._ray.put(self._shared.for_config(task.config))
        return self._refs[key]

    def submit(self, task: RunTask) -> None:
        gpus = 1 if wants_gpu(task.config["generator"].get("device"), self._has_gpus) else 0
        handle = self._remote.options(num_cpus=1, num_gpus=gpus, max_retries=0).remote(task, self._shared_ref(task))
        self._running[handle] = task

    def poll(self, timeout: float) -> list[Outcome]:
        if not self._running:
            return []
        ready, rest = self._ray.wait(list(self._running), num_returns=1, timeout=timeout)
        if ready and rest:  # and whatever else has finished meanwhile
            ready += self._ray.wait(rest, num_returns=len(rest), timeout=0)[0]
        outcomes = []
        for ref in ready:
            task = self._running.pop(ref)
            try:
                outcomes.append(self._ray.get(ref))
            except Exception as exc:  # noqa: BLE001 - a lost worker or node
                outcomes.append(Outcome(task, "failed", _message(exc).splitlines()[0]))
        return outcomes

    def close(self, *, abort: bool = False) -> None:
        for ref in self._running:
            self._ray.cancel(ref, force=True)
        self._running.clear()
        if self._started:
            self._ray.shutdown()


def wants_gpu(device: str | None, cluster_has_gpus: bool) -> bool:
    """Whether a run whose ``generator.device`` is ``device`` (None: a family without one) needs a
    GPU from Ray: ``cuda``, or ``auto`` on a cluster with GPUs."""
    return device == "cuda" or (device == "auto" and cluster_has_gpus)
