"""A monitor's run directory: the same contract as a run's, so every reader of the store works.

``<out>/<name>/<run_id>/`` holds ``config.yaml`` (what the monitor watches: ``kind: monitor``,
modality, metrics, reference size and dimension...), ``run.json`` (status ``running`` while a
monitor holds it, ``complete`` once closed; ``generations_done``: the last step), and the rows
(columns run, seed, generation = the step, metric, value, lineage = 0) in the append-only
journal of :mod:`autophagy.store.journal`: each update is committed as it comes (a part, the
state, then the fsynced commit record), and :meth:`Record.close` compacts them into
``metrics.parquet``. A crash loses at most the update being written; rows already committed are
never touched. The monitor holds the run's lock (:class:`~autophagy.store.lock.RunLock`) from
opening to closing, so ``autophagy runs`` shows it ``running`` (``interrupted`` if its process
died without closing it).

Reopening the same monitor (same name, config and reference: the same run id) resumes it: the
committed rows are read back (their files checked against the commit record) and later steps
are appended. Steps may skip (epochs 5, 10, 15...), which the journal's own recovery, written
for runs whose generations are 1..T, would read as missing rows; so the commit record is
trusted as it stands (:func:`resume`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

import numpy as np

from autophagy._version import __version__
from autophagy.store.journal import (
    Journal,
    committed_files,
    concat_rows,
    metric_schema,
    read_commit,
    read_part,
)
from autophagy.store.lock import RunLock
from autophagy.store.rundir import RunDir, check_directory


def rows_table(run_id: str, seed: int, step: int, values: dict[str, float]) -> Any:
    """One update's rows as an Arrow table of :func:`~autophagy.store.journal.metric_schema`."""
    import pyarrow as pa

    k = len(values)
    return pa.table(
        {
            "run": [run_id] * k,
            "seed": np.full(k, seed, dtype=np.int64),
            "generation": np.full(k, step, dtype=np.int64),
            "metric": list(values),
            "value": np.asarray(list(values.values()), dtype=np.float64),
            "lineage": np.zeros(k, dtype=np.int64),
        },
        schema=metric_schema(),
    )


def resume(journal: Journal) -> tuple[int, list[Any]]:
    """Point ``journal`` at its committed rows as they stand; returns (last step, their tables).

    Raises:
        CorruptRunError: the commit record or a file it names cannot be read (named).
    """
    commit = read_commit(journal.path)
    if commit is None:
        return 0, []
    tables = [read_part(path) for path in committed_files(journal.path, check_sizes=True)]
    journal.adopt(commit)  # Journal.recover would check generations 1..T; a monitor's steps may skip
    return commit.generation, tables


class Record:
    """The run directory of one monitor, locked while open.

    Args:
        out: the run store's root.
        name: the experiment name (a folder under ``out``).
        config: the monitor's config (``config.yaml``).
        run_id: its id (the folder under ``out/name``).
        seed: the ``seed`` column's value.

    Raises:
        InvalidParameterError: ``out`` is not a directory.
        RunBusyError: another monitor (or process) holds the run.
        RunConflictError: the folder holds another config.
    """

    def __init__(self, out: str | Path, name: str, config: dict[str, Any], run_id: str, seed: int) -> None:
        check_directory(out, "out")
        self.run_id, self.seed = run_id, seed
        self.store = RunDir(Path(out) / name / run_id)
        self._lock: RunLock | None = RunLock(self.store.path).__enter__()
        try:
            self.store.open(config, run_id, version=__version__)
            self.journal = Journal(self.store, run_id)
            self.last, self.tables = resume(self.journal)
            state = self.store.load_state() if self.last else None
            self.state = state if state is not None and int(state["generation"]) == self.last else None
            attempts = int(self.store.status.get("attempts") or 0) + 1
            self.store.update_status(status="running", error=None, attempts=attempts, host=socket.gethostname(), pid=os.getpid(), generations_done=self.last)
        except BaseException:
            self.release()
            raise

    @property
    def path(self) -> Path:
        return self.store.path

    def append(self, step: int, values: dict[str, float], state: dict[str, np.ndarray], seconds: float) -> None:
        """Commit one update's rows (step > the last one) and the alert state; ``seconds``: the
        update's compute time (added to ``compute_s``)."""
        table = rows_table(self.run_id, self.seed, step, values)
        self.journal.checkpoint(table, self.last + 1, step, {**state, "generation": np.array(step)})
        self.tables.append(table)
        self.last = step
        spent = float(self.store.status.get("compute_s") or 0.0) + seconds
        self.store.update_status(generations_done=step, compute_s=spent)

    def close(self, state: dict[str, np.ndarray], error: BaseException | None = None) -> None:
        """Compact the rows into ``metrics.parquet`` and mark the run complete (or failed), then unlock."""
        try:
            if error is None:
                self.journal.complete(concat_rows(self.tables), self.last, {**state, "generation": np.array(self.last)})
                self.store.update_status(status="complete", generations=self.last, generations_done=self.last, error=None)
            else:
                self.store.update_status(status="failed", error=f"{type(error).__name__}: {error}".splitlines()[0])
        finally:
            self.release()

    def release(self) -> None:
        if self._lock is not None:
            self._lock.__exit__(None, None, None)
            self._lock = None


__all__ = ["Record", "resume", "rows_table"]
