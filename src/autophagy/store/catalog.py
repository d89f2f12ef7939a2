"""Query many run directories together with DuckDB (no shared database file).

:func:`catalog` is the one table of a run store (one row per run: status, flattened config,
final metrics); :func:`query` runs any SQL over the views ``metrics`` and ``runs``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from autophagy.exceptions import CorruptRunError, InvalidParameterError
from autophagy.store.journal import committed_files, metric_schema, read_commit
from autophagy.store.lock import is_locked
from autophagy.store.rundir import SAFE_LOADER


def find_runs(root: str | Path) -> list[Path]:
    """Run directories under ``root`` (any depth; ``root`` itself may be one), sorted.

    A run directory is one holding ``run.json``; runs without committed rows yet (failed or
    still at generation 0) are included, so that their status can be reported.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidParameterError(f"The directory {str(root)!r} does not exist.")
    return sorted(p.parent for p in root.rglob("run.json") if p.is_file())


#: The columns of :func:`runs_table` before the flattened config keys.
RUN_COLUMNS = ["run_id", "name", "status", "generations", "generations_done", "attempts", "compute_s", "error"]


def runs_table(root: str | Path) -> Any:
    """One row per run: :data:`RUN_COLUMNS`, the flattened config keys, then ``path``.

    ``status`` is read from ``run.json`` and checked against the run's lock: a run marked
    ``running`` (or ``pending``) that no process holds is ``interrupted`` (resp. ``pending``),
    one marked ``pending`` that a process holds is ``running``. A run whose run.json,
    config.yaml or commit record cannot be read, or whose committed files are missing, is
    ``corrupt`` with the reason (naming the file) as its ``error``.
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    for path in find_runs(root):
        try:
            status, config = _read_run(path)
            commit = read_commit(path)
            committed_files(path)  # every file the commit record names is there
        except CorruptRunError as exc:  # shown, not blocking the store
            rows.append({"run_id": path.name, "status": "corrupt", "error": str(exc), "path": str(path)})
            continue
        row = {k: status.get(k) for k in RUN_COLUMNS}
        row["status"] = effective_status(path, status.get("status"))
        if commit is not None and row["status"] != "complete":
            row["generations_done"] = commit.generation  # the committed generations (run.json lags behind)
        row.update(flatten(config))
        row["path"] = str(path)
        rows.append(row)
    frame = pd.DataFrame(rows)
    for column in frame.columns:
        frame[column] = _uniform(frame[column])
    return frame


def effective_status(path: Path, recorded: str | None) -> str:
    """What a run is doing now: ``run.json``'s status corrected by whether its lock is held."""
    if recorded in ("running", "pending", "interrupted"):
        if is_locked(path):
            return "running"
        return "pending" if recorded == "pending" else "interrupted"
    return recorded or "unknown"


def _read_run(path: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import yaml

    status_path, config_path = path / "run.json", path / "config.yaml"
    try:
        status = json.loads(status_path.read_bytes())
    except (OSError, ValueError) as exc:
        raise CorruptRunError(f"cannot read {status_path}: {exc}".splitlines()[0]) from None
    try:
        config = yaml.load(config_path.read_bytes(), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise CorruptRunError(f"cannot read {config_path}: {exc}".splitlines()[0]) from None
    if not isinstance(status, dict) or not isinstance(config, dict):
        raise CorruptRunError(f"cannot read the run in {path}: run.json or config.yaml is not a mapping")
    return status, config


def _uniform(column: Any) -> Any:
    """One type per column (DuckDB needs it): numbers stay numbers, mixed values become text."""
    values = column.dropna()
    if values.empty or all(isinstance(v, bool) for v in values):
        return column
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        return column.astype("float64") if any(isinstance(v, float) for v in values) else column.astype("Int64")
    return column.map(lambda v: None if v is None or v != v else str(v)).astype("object")


def catalog(root: str | Path, where: str | Sequence[str] | None = None) -> Any:
    """Every run under ``root`` as one DataFrame row, with its last generation's metrics.

    Columns: :data:`RUN_COLUMNS`, the flattened config keys (``loop.kind``,
    ``generator.bias``, ...), ``path``, then ``final.<metric>``: the mean over the run's
    repeats at its last committed generation, over the finite values (NaN for runs without
    metrics). Built with DuckDB over the runs' committed files (``metrics.parquet`` of finished
    runs, the journal's parts of runs in progress); a run whose files cannot be read is listed
    with status ``corrupt`` and its reason as ``error``.

    Args:
        root: A run store (any depth of run directories below it).
        where: SQL conditions on those columns, ANDed, e.g. ``"loop.kind = 'fresh'"`` or
            ``"generator.bias < 1 AND final.frechet > 2"`` (dotted names need no quotes).

    Raises:
        InvalidParameterError: if ``root`` does not exist or a condition is not valid SQL over
            the columns (the message lists them).
    """
    import duckdb

    runs = runs_table(root)
    if runs.empty:
        return runs
    conditions = [where] if isinstance(where, str) else list(where or [])
    files = run_files(runs)
    con = _sandbox(duckdb.connect())
    try:
        con.register("runs", runs)
        finals = _final_metrics(con, files)
        columns = list(runs.columns) + [f"final.{m}" for m in finals]
        sql = "SELECT * FROM runs" + (" NATURAL LEFT JOIN finals" if finals else "")
        if conditions:
            sql += " WHERE " + " AND ".join(f"({quote_columns(c, columns)})" for c in conditions)
        try:
            frame = con.execute(sql + " ORDER BY name, path").df()
        except duckdb.Error as exc:
            raise InvalidParameterError(
                f"The '--where' parameter must be SQL over the columns {columns}, text in single quotes "
                f"(loop.kind = 'fresh'). Got {' AND '.join(conditions)!r} instead ({str(exc).splitlines()[0]})."
            ) from None
    finally:
        con.close()
    return frame[columns]


def run_files(runs: Any) -> list[Path]:
    """The files of committed rows of the runs of a :func:`runs_table` (``corrupt`` runs have
    none); a run whose commit record names a missing or resized file is marked ``corrupt`` in
    ``runs`` (in place), with the reason as its error."""
    files: list[Path] = []
    for i, path in enumerate(runs["path"]):
        if runs.at[i, "status"] == "corrupt":
            continue
        try:
            files.extend(committed_files(path))
        except CorruptRunError as exc:
            runs.at[i, "status"], runs.at[i, "error"] = "corrupt", str(exc)
    return files


def metrics_dataset(files: Sequence[str | Path]) -> Any:
    """The rows of ``files`` as one lazily read Arrow dataset (columns of the metric schema)."""
    import pyarrow.dataset as ds

    return ds.dataset([str(f) for f in files], schema=metric_schema(), format="parquet")


def _sandbox(con: Any) -> Any:
    """Forbid the connection any file access of its own (no ``COPY … TO``, ``ATTACH``,
    ``read_csv('/etc/…')``, extension installs): it reads only what was registered with it."""
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _final_metrics(con: Any, files: list[Path]) -> list[str]:
    """Create the table ``finals`` (run_id, final.<metric>...) in ``con``; returns the metric names."""
    import duckdb
    import pyarrow as pa

    if not files:
        return []
    try:
        con.register("metric_rows", metrics_dataset(files))
        con.execute(
            """CREATE TABLE last AS
            SELECT run AS run_id, metric, avg(value) AS value
            FROM (SELECT *, max(generation) OVER (PARTITION BY run) AS last FROM metric_rows)
            WHERE generation = last AND isfinite(value) GROUP BY run, metric"""
        )
    except (duckdb.Error, pa.ArrowException, OSError) as exc:
        raise CorruptRunError(f"cannot read the metrics of the runs: {exc}".splitlines()[0]) from None
    metrics = [row[0] for row in con.execute("SELECT DISTINCT metric FROM last ORDER BY metric").fetchall()]
    con.execute('CREATE TABLE finals AS PIVOT last ON metric USING first(value) GROUP BY run_id')
    for m in metrics:
        con.execute(f'ALTER TABLE finals RENAME COLUMN "{m}" TO "final.{m}"')
    return metrics


_LITERAL = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\")")


def quote_columns(condition: str, columns: Sequence[str]) -> str:
    """Double-quote the dotted column names in an SQL condition (outside literals), so that
    ``loop.kind = 'fresh'`` reads as the column ``"loop.kind"``, not a table ``loop``.

    >>> quote_columns("loop.kind = 'a.b' and generator.bias<1", ["loop.kind", "generator.bias"])
    '"loop.kind" = \'a.b\' and "generator.bias"<1'
    """
    dotted = sorted((c for c in columns if "." in c), key=len, reverse=True)
    if not dotted:
        return condition
    pattern = re.compile(r"(?<![\w.\"])(" + "|".join(re.escape(c) for c in dotted) + r")(?![\w.])")
    parts = _LITERAL.split(condition)
    return "".join(part if i % 2 else pattern.sub(r'"\1"', part) for i, part in enumerate(parts))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{'loop': {'kind': 'fresh'}} -> {'loop.kind': 'fresh'}; lists become JSON text."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value)
        else:
            out[name] = value
    return out


def query(root: str | Path, sql: str = "SELECT * FROM metrics") -> Any:
    """Run ``sql`` over every run's committed metrics under ``root``; returns a pandas DataFrame.

    Two tables are defined: ``metrics`` (run, seed, generation, metric, value, lineage: the committed
    rows of every readable run, including runs in progress) and ``runs`` (one row per run with
    its flattened config; unreadable runs have status ``corrupt``), so e.g.
    ``SELECT r."loop.kind", avg(value) FROM metrics m JOIN runs r ON m.run = r.run_id ...``.
    The query is read-only: it cannot touch any file (``COPY … TO``, ``ATTACH`` are refused).
    """
    import duckdb
    import pyarrow as pa

    for attempt in range(_READ_ATTEMPTS):
        runs = runs_table(root)
        files = run_files(runs) if not runs.empty else []
        if not files:
            raise InvalidParameterError(f"No run with metrics under {str(root)!r}.")
        con = _sandbox(duckdb.connect())
        try:
            con.register("metric_rows", metrics_dataset(files))
            con.execute(  # a file written before the lineage column reads as lineage 0
                "CREATE VIEW metrics AS SELECT run, seed, generation, metric, value, "
                "coalesce(lineage, 0)::BIGINT AS lineage FROM metric_rows"
            )
            con.register("runs", runs)
            try:
                return con.execute(sql).df()
            except duckdb.Error as exc:
                if not _vanished(files):
                    raise InvalidParameterError(f"The query failed: {exc}".splitlines()[0]) from None
        except (pa.ArrowException, OSError) as exc:
            if not _vanished(files) or attempt == _READ_ATTEMPTS - 1:
                raise CorruptRunError(f"cannot read the metrics under {root}: {exc}".splitlines()[0]) from None
        finally:
            con.close()
    raise CorruptRunError(f"cannot read the metrics under {root}: its runs kept changing while being read")


#: Reads of a store whose runs are being written: a run may commit (and delete the parts a
#: reader listed) between listing and reading; the reader then lists again.
_READ_ATTEMPTS = 5


def _vanished(files: Sequence[Path]) -> bool:
    """Whether some of ``files`` no longer exist (a run committed or compacted meanwhile)."""
    return not all(f.exists() for f in files)


def load_metrics(root: str | Path) -> Any:
    """Every run's metrics under ``root`` as one DataFrame, with the run's name added."""
    return query(
        root,
        "SELECT m.*, r.name FROM metrics m JOIN runs r ON m.run = r.run_id ORDER BY r.name, m.run, m.seed, m.generation, m.metric",
    )
