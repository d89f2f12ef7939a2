"""A run's metric rows as an append-only journal: parts, one commit record, one compaction.

While a run computes, each checkpoint appends its generations' rows as a new Parquet *part*
(``journal/part-<first>-<last>.parquet``, written whole under a temporary name and renamed), then
saves the loop state (``state.npz``), then replaces the *commit record* ``commit.json`` — the
only file that is fsynced. The commit record lists the committed parts (file, generations, rows,
bytes), so a reader that follows it (:func:`committed_files`) sees exactly the rows of whole
committed generations at any moment, never a part being written. When the run completes, every
row is compacted into ``metrics.parquet``, the commit record is replaced by one naming that file
alone (``complete: true``), and the parts are deleted. Each write is one rename, so a crash at
any instant leaves either the old or the new commit record, and every file it names whole.

Resuming (:meth:`Journal.recover`) trusts nothing it has not checked: the committed rows must
cover generations 1..done for every repeat and agree with the state's generation. Rows that are
missing (a deleted or replaced file) make the run recompute from its last consistent checkpoint
(with a :class:`~autophagy.exceptions.RecoveryWarning`); a file that cannot be read at all is
refused with one line naming it (delete it to recompute). Run directories written before the
journal (``metrics.parquet`` rewritten every generation, no commit record) are read as one part.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from collections import deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.exceptions import CorruptRunError, RecoveryWarning
from autophagy.store.rundir import METRIC_COLUMNS, RunDir, atomic_write_text

COMMIT_NAME = "commit.json"
METRICS_NAME = "metrics.parquet"
PARTS_DIR = "journal"
FORMAT = "autophagy-journal-1"
#: Seconds a part merged into a bigger one is kept: a reader that listed it from an older commit
#: record can still read it (and one that comes later retries with the new record).
OBSOLETE_GRACE_S = 10.0
#: Columns a metrics file may lack (written before they existed), with the value they read as.
OPTIONAL_COLUMNS = {"lineage": 0}


def metric_schema() -> Any:
    """The Arrow schema of every metrics file: run, seed, generation, metric, value, lineage
    (the model lineage of a web simulation, -1 for its pool-level rows; 0 in ordinary runs)."""
    import pyarrow as pa

    return pa.schema(
        [("run", pa.string()), ("seed", pa.int64()), ("generation", pa.int64()), ("metric", pa.string()), ("value", pa.float64()), ("lineage", pa.int64())]
    )


def concat_rows(tables: Sequence[Any]) -> Any:
    """Tables of metric rows as one (their chunks kept); text columns are decoded to plain
    strings when the tables encode them differently (a part read back with rows computed now)."""
    import pyarrow as pa

    if not tables:
        return metric_schema().empty_table()
    if len(tables) == 1:
        return tables[0]
    if any(t.schema != tables[0].schema for t in tables[1:]):
        tables = [t if t.schema == metric_schema() else t.cast(metric_schema()) for t in tables]
    return pa.concat_tables(tables)


@dataclass(frozen=True)
class Part:
    """One committed file of rows: generations ``first``..``last`` (inclusive), ``rows`` rows,
    ``bytes`` long; ``file`` is relative to the run directory."""

    file: str
    first: int
    last: int
    rows: int
    bytes: int


@dataclass(frozen=True)
class Commit:
    """The commit record: rows of generations 1..``generation`` are in ``parts``; ``complete``
    once they were compacted into ``metrics.parquet`` (its only part)."""

    generation: int
    parts: tuple[Part, ...] = field(default_factory=tuple)
    complete: bool = False
    run_id: str | None = None

    def to_json(self) -> str:
        record = {"format": FORMAT, "run_id": self.run_id, "generation": self.generation, "complete": self.complete}
        return json.dumps({**record, "parts": [asdict(p) for p in self.parts]}, indent=1)


def read_commit(run_dir: str | Path) -> Commit | None:
    """The commit record of a run directory; None if it has none (not started, or written before
    the journal).

    Raises:
        CorruptRunError: the record exists but is not one.
    """
    path = Path(run_dir) / COMMIT_NAME
    try:
        record = json.loads(path.read_bytes())
        if record.get("format") != FORMAT:
            raise ValueError(f"not an autophagy commit record ({FORMAT})")
        parts = tuple(Part(str(p["file"]), int(p["first"]), int(p["last"]), int(p["rows"]), int(p["bytes"])) for p in record["parts"])
        return Commit(int(record["generation"]), parts, bool(record["complete"]), record.get("run_id"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise CorruptRunError(f"cannot read {path}: {exc}".splitlines()[0]) from None


def write_commit(run_dir: Path, commit: Commit) -> None:
    """Replace the commit record (the one fsynced write of a checkpoint)."""
    atomic_write_text(run_dir / COMMIT_NAME, commit.to_json(), durable=True)


def committed_files(run_dir: str | Path, *, check_sizes: bool = False) -> list[Path]:
    """The files holding a run's committed rows, for readers: the commit record's parts, or
    ``metrics.parquet`` of a run written before the journal; empty if it has none yet.

    Args:
        check_sizes: also require each file to have the size the commit record gives (a cheap
            check that it was not truncated or replaced; a user's edit fails it too).

    Raises:
        CorruptRunError: the commit record is unreadable, or a part it names is missing (or,
            with ``check_sizes``, has another size).
    """
    run_dir = Path(run_dir)
    commit = read_commit(run_dir)
    if commit is None:
        legacy = run_dir / METRICS_NAME
        return [legacy] if legacy.is_file() else []
    files = []
    for part in commit.parts:
        path = run_dir / part.file
        try:
            size = path.stat().st_size
        except OSError:
            raise CorruptRunError(
                f"cannot read {path}: the file is missing (rerun the run to recompute its rows)"
            ) from None
        if check_sizes and size != part.bytes:
            raise CorruptRunError(f"cannot read {path}: {size} bytes where the commit record says {part.bytes}")
        files.append(path)
    return files


def is_complete(run_dir: str | Path, generations: int) -> bool:
    """Whether the run's commit record says complete through ``generations`` and its file is
    there with the recorded size (a cheap check: no row is read)."""
    try:
        commit = read_commit(run_dir)
        complete = commit is not None and commit.complete and commit.generation == generations
        return complete and bool(committed_files(run_dir, check_sizes=True))
    except CorruptRunError:
        return False


def read_part(path: Path) -> Any:
    """A metrics file as an Arrow table with the columns of :func:`metric_schema`.

    Raises:
        CorruptRunError: it cannot be read, or lacks a column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise CorruptRunError(
            f"cannot read {path}: {exc}".splitlines()[0] + " (delete it to recompute the run from its last consistent checkpoint)"
        ) from None
    for name, value in OPTIONAL_COLUMNS.items():  # a file written before the column existed
        if name not in table.column_names:
            table = table.append_column(name, pa.array(np.full(table.num_rows, value, dtype=np.int64)))
    missing = set(METRIC_COLUMNS) - set(table.column_names)
    if missing:
        raise CorruptRunError(f"cannot read {path}: missing columns {sorted(missing)}")
    try:
        return table.select(METRIC_COLUMNS).cast(metric_schema())
    except (pa.ArrowException, ValueError) as exc:
        raise CorruptRunError(f"cannot read {path}: {exc}".splitlines()[0]) from None


def write_part(path: Path, table: Any) -> int:
    """Write ``table`` (Arrow, the metric columns) to ``path`` atomically; returns its size in bytes.

    Dictionary pages for the two text columns only (a float column of distinct values only costs
    time to try), statistics for the integer columns (what queries filter on).
    """
    import pyarrow.parquet as pq

    def write(tmp: Path) -> None:
        pq.write_table(
            table,
            tmp,
            use_dictionary=["run", "metric"],
            write_statistics=["seed", "generation"],
            store_schema=False,  # read back as plain text columns whatever the in-memory encoding
        )

    from autophagy.store.rundir import atomic_write

    atomic_write(path, write, durable=False)
    return path.stat().st_size


def covered_prefix(seed: np.ndarray, generation: np.ndarray, seeds: Sequence[int], limit: int) -> int:
    """The largest g ≤ ``limit`` such that every repeat (``seeds``) has rows at every generation
    1..g, with the same number of rows per repeat within each generation.

    Args:
        seed, generation: the rows' columns, shape (N,) each.
        seeds: the run's repeat seeds (consecutive integers).
        limit: the highest generation to check.
    """
    if limit <= 0 or len(seed) == 0:
        return 0
    first, repeats = int(seeds[0]), len(seeds)
    keep = (generation >= 1) & (generation <= limit) & (seed >= first) & (seed < first + repeats)
    cell = (generation[keep] - 1) * repeats + (seed[keep] - first)
    counts = np.bincount(cell, minlength=limit * repeats).reshape(limit, repeats)
    good = (counts[:, 0] > 0) & (counts == counts[:, :1]).all(axis=1)
    return limit if good.all() else int(np.argmin(good))


@dataclass
class Recovered:
    """What :meth:`Journal.recover` found: resume after ``done`` with ``rows`` (Arrow table of
    generations 1..done) and ``state`` (the loop state of ``done``; None when done is 0 or the run
    is complete)."""

    done: int
    rows: Any
    state: dict[str, np.ndarray] | None
    complete: bool


class Journal:
    """The writer and checker of a run directory's rows (see the module docstring).

    Args:
        store: the run directory (its lock held by the caller).
        run_id: the run's id, recorded in the commit record.
    """

    def __init__(self, store: RunDir, run_id: str) -> None:
        self.store, self.run_id = store, run_id
        self.commit: Commit | None = None
        self._tables: list[Any] = []  # the rows of each committed part (None: read it back to merge)
        self._obsolete: deque[tuple[float, str]] = deque()  # (when, file) of parts merged away

    @property
    def path(self) -> Path:
        return self.store.path

    # -- resume ---------------------------------------------------------------------------
    def recover(self, seeds: Sequence[int], generations: int) -> Recovered:
        """Check the committed rows against the state and say where to resume.

        Raises:
            CorruptRunError: a file that should be read cannot be (named in the message).
        """
        import pyarrow.compute as pc

        commit = read_commit(self.path)
        if commit is None and not (self.path / METRICS_NAME).exists() and not self.store.state_path.exists():
            self.commit = Commit(0, run_id=self.run_id)  # a fresh run: nothing to check
            return Recovered(0, metric_schema().empty_table(), None, complete=False)
        parts = list(commit.parts) if commit is not None else self._legacy_parts()
        tables, lost = [], None
        for part in parts:
            path = self.path / part.file
            if not path.is_file():
                lost = f"{path} is missing"
                break
            table = read_part(path)
            if part.rows >= 0 and table.num_rows != part.rows:
                lost = f"{path} holds {table.num_rows} rows where the commit record says {part.rows}"
                break
            tables.append(table)
        rows = concat_rows(tables)
        legacy = int(pc.max(rows["generation"]).as_py() or 0) if commit is None else 0
        claimed = min(commit.generation if commit is not None else legacy, generations)
        covered = covered_prefix(rows.column("seed").to_numpy(), rows.column("generation").to_numpy(), seeds, claimed)
        if covered < claimed and lost is None:
            lost = f"the committed rows cover generations 1..{covered}, not 1..{claimed}"
        if commit is not None and commit.complete and lost is None and claimed == generations:
            self.commit = commit
            return Recovered(generations, rows, None, complete=True)
        state = self.store.load_state()
        at = int(state["generation"]) if state is not None else 0
        if at > covered and covered == claimed:  # a crash between the state and the commit record
            ahead = self._uncommitted(covered + 1, at, seeds)
            if ahead is not None:
                rows, covered = concat_rows([rows, ahead]), at
        done = at if at <= covered else 0
        if lost is not None or done < claimed:
            reason = lost or f"its state is of generation {at}"
            warnings.warn(f"{self.path}: {reason}; recomputing from generation {done}", RecoveryWarning, stacklevel=3)
        if int(pc.max(rows["generation"]).as_py() or 0) > done:
            rows = rows.filter(pc.less_equal(rows["generation"], done))
        if commit is not None and commit.generation == done and lost is None and not commit.complete:
            self.adopt(commit)
        elif commit is None and not parts and done == 0:  # a fresh run: nothing to hide or record yet
            self.commit = Commit(0, run_id=self.run_id)
        else:
            self.commit = Commit(done, (self._write(rows, 1, done),) if done else (), run_id=self.run_id)
            self._tables = [rows] if done else []
            write_commit(self.path, self.commit)
        return Recovered(done, rows, state if done else None, complete=False)

    def _legacy_parts(self) -> list[Part]:
        """A directory written before the journal: ``metrics.parquet`` as the one part."""
        path = self.path / METRICS_NAME
        if not path.is_file():
            return []
        return [Part(METRICS_NAME, 1, -1, -1, path.stat().st_size)]  # generations and rows: as read

    def _uncommitted(self, first: int, last: int, seeds: Sequence[int]) -> Any:
        """The rows of generations first..last from a whole part a crash left uncommitted (it may
        be a merged part starting earlier); None if there is none."""
        import pyarrow.compute as pc

        for path in sorted((self.path / PARTS_DIR).glob(f"part-*-{last:08d}.parquet")):
            try:
                start = int(path.name.split("-")[1])
                table = read_part(path) if start <= first else None
            except (CorruptRunError, ValueError, IndexError):
                continue
            if table is None:
                continue
            table = table.filter(pc.greater_equal(table["generation"], first))
            shifted = table.column("generation").to_numpy() - (first - 1)
            if covered_prefix(table.column("seed").to_numpy(), shifted, seeds, last - first + 1) == last - first + 1:
                return table
        return None

    def _write(self, table: Any, first: int, last: int) -> Part:
        name = f"{PARTS_DIR}/{_part_name(first, last)}"
        size = write_part(self.path / name, table)
        return Part(name, first, last, table.num_rows, size)

    # -- writing --------------------------------------------------------------------------
    def adopt(self, commit: Commit) -> None:
        """Continue from ``commit`` as it stands, without :meth:`recover`'s check that the rows
        cover generations 1..done (for writers whose steps may skip, such as a Monitor's); its
        parts are read back from their files when merged."""
        self.commit, self._tables = commit, [None] * len(commit.parts)

    def checkpoint(self, table: Any, first: int, last: int, state: dict[str, np.ndarray]) -> None:
        """Commit generations first..last: their rows (``table``) as a part, then ``state`` (the
        loop state after ``last``), then the commit record.

        Parts are merged like a binary counter: while the newest committed part holds no more
        rows than the new one, the two become one part. A run keeps O(log checkpoints) parts
        (the commit record stays small) and writes each row O(log checkpoints) times, so the
        cost of a long run is linear in its generations up to that logarithm.
        """

        previous = self.commit or Commit(0, run_id=self.run_id)
        if previous.generation != first - 1:
            raise RuntimeError(f"checkpoint of generations {first}..{last} after generation {previous.generation}")
        parts, tables = list(previous.parts), list(self._tables)  # aligned: one table (or None) per part
        obsolete = []
        while parts and parts[-1].file != METRICS_NAME and 0 <= parts[-1].rows <= table.num_rows:
            old, old_table = parts.pop(), tables.pop()
            table = concat_rows([old_table if old_table is not None else read_part(self.path / old.file), table])
            first = old.first
            obsolete.append(old)
        part = self._write(table, first, last)
        self.store.save_state(state)
        self.commit = Commit(last, (*parts, part), run_id=self.run_id)
        write_commit(self.path, self.commit)
        self._tables = [*tables, table]
        now = time.monotonic()
        self._obsolete.extend((now, old.file) for old in obsolete)
        while self._obsolete and now - self._obsolete[0][0] >= OBSOLETE_GRACE_S:
            (self.path / self._obsolete.popleft()[1]).unlink(missing_ok=True)

    def complete(self, table: Any, generations: int, state: dict[str, np.ndarray]) -> None:
        """Compact every row of the run (``table``: generations 1..``generations``) into
        ``metrics.parquet``, commit it as the only part, then delete the parts."""
        size = write_part(self.path / METRICS_NAME, table)
        self.store.save_state(state)
        self.commit = Commit(generations, (Part(METRICS_NAME, 1, generations, table.num_rows, size),), complete=True, run_id=self.run_id)
        write_commit(self.path, self.commit)
        parts = self.path / PARTS_DIR
        if parts.is_dir():
            for leftover in parts.iterdir():
                leftover.unlink(missing_ok=True)
            os.rmdir(parts)


def _part_name(first: int, last: int) -> str:
    return f"part-{first:08d}-{last:08d}.parquet"


__all__ = [
    "COMMIT_NAME",
    "METRICS_NAME",
    "Commit",
    "Journal",
    "Part",
    "Recovered",
    "committed_files",
    "covered_prefix",
    "is_complete",
    "metric_schema",
    "read_commit",
    "read_part",
    "write_part",
]
