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
from autophagy.store.lock import is_locked
from autophagy.store.rundir import SAFE_LOADER


def find_runs(root: str | Path) -> list[Path]:
    """Run directories under ``root`` (any depth; ``root`` itself may be one), sorted.

    A run directory is one holding ``run.json``; runs without ``metrics.parquet`` yet (failed
    or still at generation 0) are included, so that their status can be reported.
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
    one marked ``pending`` that a process holds is ``running``.
    """
    import pandas as pd

    rows = []
    for path in find_runs(root):
        status, config = _read_run(path)
        row = {k: status.get(k) for k in RUN_COLUMNS}
        row["status"] = effective_status(path, status.get("status"))
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

    try:
        status = json.loads((path / "run.json").read_text())
        config = yaml.load((path / "config.yaml").read_text(), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except (OSError, json.JSONDecodeError, yaml.YAMLError) as exc:
        raise CorruptRunError(f"cannot read the run in {path}: {exc}".splitlines()[0]) from None
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
    repeats at its last finished generation (NaN for runs without metrics). Built with DuckDB
    over the runs' ``metrics.parquet`` files.

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
    con = duckdb.connect()
    try:
        con.register("runs", runs)
        finals = _final_metrics(con, [str(Path(p) / "metrics.parquet") for p in runs["path"] if (Path(p) / "metrics.parquet").exists()])
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


def _final_metrics(con: Any, files: list[str]) -> list[str]:
    """Create the table ``finals`` (run_id, final.<metric>...) in ``con``; returns the metric names."""
    import duckdb

    if not files:
        return []
    try:
        con.execute(
            f"""CREATE TABLE last AS
            SELECT run AS run_id, metric, avg(value) AS value
            FROM (SELECT *, max(generation) OVER (PARTITION BY run) AS last FROM read_parquet({files!r}))
            WHERE generation = last GROUP BY run, metric"""
        )
    except duckdb.Error as exc:
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


def _metric_files(root: str | Path) -> list[str]:
    files = [str(p / "metrics.parquet") for p in find_runs(root) if (p / "metrics.parquet").exists()]
    if not files:
        raise InvalidParameterError(f"No run with metrics under {str(root)!r}.")
    return files


def query(root: str | Path, sql: str = "SELECT * FROM metrics") -> Any:
    """Run ``sql`` over every run's metrics under ``root``; returns a pandas DataFrame.

    Two views are defined: ``metrics`` (run, seed, generation, metric, value) and ``runs``
    (one row per run with its flattened config), so e.g.
    ``SELECT r."loop.kind", avg(value) FROM metrics m JOIN runs r ON m.run = r.run_id ...``.
    """
    import duckdb

    con = duckdb.connect()
    try:
        files = _metric_files(root)
        try:
            con.execute(f"CREATE VIEW metrics AS SELECT * FROM read_parquet({files!r})")
        except duckdb.Error as exc:
            raise CorruptRunError(f"cannot read the metrics under {root}: {exc}".splitlines()[0]) from None
        runs = runs_table(root)
        con.register("runs", runs)
        try:
            return con.execute(sql).df()
        except duckdb.Error as exc:
            raise InvalidParameterError(f"The query failed: {exc}".splitlines()[0]) from None
    finally:
        con.close()


def load_metrics(root: str | Path) -> Any:
    """Every run's metrics under ``root`` as one DataFrame, with the run's name added."""
    return query(
        root,
        "SELECT m.*, r.name FROM metrics m JOIN runs r ON m.run = r.run_id ORDER BY r.name, m.run, m.seed, m.generation, m.metric",
    )
