"""Read run directories back: each run's record, the files of its committed rows, the rows.

A run directory holds ``run.json``, ``config.yaml`` and its committed metric rows (the journal's
parts while it runs, ``metrics.parquet`` once complete; see :mod:`autophagy.store.journal`).
A run that cannot be read back is kept with status ``corrupt`` and the reason as its error:
shown, skipped, never blocking the others.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autophagy.exceptions import CorruptRunError
from autophagy.mitigation.base import mitigation_label
from autophagy.store.catalog import flatten

_KEY_COLUMNS = ("run", "seed", "generation", "metric")
_METRIC_COLUMNS = (*_KEY_COLUMNS, "value")


@dataclass(frozen=True)
class RunRecord:
    """One run directory as read back.

    Attributes:
        path: The run directory.
        run_id: ``run.json``'s run_id (the directory name if absent).
        name: The experiment name (``run.json``, else ``config.yaml``, else the parent folder).
        status: ``running``, ``complete``, ``failed`` (or whatever ``run.json`` says).
        error: The error text of a failed run, else None.
        generations: Generations asked for, if known.
        generations_done: Generations finished, if known.
        config: The resolved config (nested), ``{}`` when ``config.yaml`` is absent.
        flat: ``config`` flattened to dotted keys (``"generator.bias"``).
        files: The files of its committed metric rows (:func:`readable_runs` fills them in).
    """

    path: Path
    run_id: str
    name: str
    status: str
    error: str | None
    generations: int | None
    generations_done: int | None
    config: dict[str, Any]
    flat: dict[str, Any]
    files: tuple[Path, ...] = ()

    @property
    def metrics_path(self) -> Path:
        """Where this run's metrics table lives once the run is complete."""
        return self.path / "metrics.parquet"


def read_run(path: str | Path) -> RunRecord:
    """Read ``run.json`` and ``config.yaml`` of one run directory.

    Raises:
        CorruptRunError: If either file exists but cannot be parsed (the message names it).
    """
    import yaml

    path = Path(path)
    status_path, config_path = path / "run.json", path / "config.yaml"
    try:
        status = json.loads(status_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptRunError(f"cannot read {status_path}: {exc}".splitlines()[0]) from None
    config: Any = {}
    if config_path.exists():
        try:
            config = yaml.safe_load(config_path.read_text()) or {}
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise CorruptRunError(f"cannot read {config_path}: {exc}".splitlines()[0]) from None
    if not isinstance(status, dict) or not isinstance(config, dict):
        bad = status_path if not isinstance(status, dict) else config_path
        raise CorruptRunError(f"cannot read {bad}: expected a mapping at the top level")
    name = status.get("name") or config.get("name") or path.parent.name
    return RunRecord(
        path=path,
        run_id=str(status.get("run_id") or path.name),
        name=str(name),
        status=str(status.get("status") or "unknown"),
        error=None if status.get("error") is None else str(status["error"]),
        generations=_int_or_none(status.get("generations", config.get("generations"))),
        generations_done=_int_or_none(status.get("generations_done")),
        config=config,
        flat=_flat(config),
    )


def _flat(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` flattened for reports: ``mitigation`` as its readable label, and a web's
    lineage groups by index (``web.lineages.0.generator.bias``, the keys ``--set`` and sweep
    grids take) rather than one JSON text, without the top-level ``generator`` they fill in."""
    flat = {**flatten(config), "mitigation": _mitigation(config.get("mitigation"))}
    groups = (config.get("web") or {}).get("lineages") if isinstance(config.get("web"), dict) else None
    if isinstance(groups, list) and all(isinstance(g, dict) for g in groups):
        del flat["web.lineages"]  # and the top-level generator, which a web fills in from its first group
        flat = {k: v for k, v in flat.items() if not k.startswith("generator.")}
        flat.update(flatten({str(i): g for i, g in enumerate(groups)}, "web.lineages."))
    return flat


def _mitigation(stages: Any) -> str:
    """The readable label of a run's ``mitigation:`` list (``none`` without one)."""
    return mitigation_label(stages if isinstance(stages, list) and all(isinstance(s, dict) for s in stages) else None)


def read_metrics(files: Sequence[str | Path]) -> Any:
    """Read many ``metrics.parquet`` files at once with DuckDB.

    Args:
        files: Paths of metrics tables.

    Returns:
        A pandas DataFrame with columns run, seed, generation, metric, value, lineage, file (the path
        of the table each row came from, as given in ``files``).

    Raises:
        CorruptRunError: If a file cannot be read or lacks a column; names the first such file.
    """
    import duckdb
    import pandas as pd

    names = [str(f) for f in files]
    if not names:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY_DTYPES.items()})
    con = duckdb.connect()
    try:
        source = "read_parquet($files, filename = true, union_by_name = true)"
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}", {"files": names}).fetchall()}
        # files written before the lineage column read as lineage 0 (an ordinary run)
        lineage = "coalesce(lineage, 0)::BIGINT" if "lineage" in columns else "0::BIGINT"
        frame = con.execute(
            "SELECT run::VARCHAR AS run, seed::BIGINT AS seed, generation::BIGINT AS generation, "
            f"metric::VARCHAR AS metric, value::DOUBLE AS value, {lineage} AS lineage, filename AS file "
            f"FROM {source}",
            {"files": names},
        ).df()
    except duckdb.Error as exc:
        _raise_for_bad_file(names, exc)
    finally:
        con.close()
    incomplete = frame[frame[list(_KEY_COLUMNS)].isna().any(axis=1)]
    if len(incomplete):  # union_by_name fills a column missing from one file with NULLs
        _raise_for_bad_file(sorted(set(incomplete["file"])), None)
    return frame


def _raise_for_bad_file(files: Sequence[str], exc: Exception | None) -> Any:
    """Find which of ``files`` DuckDB choked on and raise a CorruptRunError naming it."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for file in files:
        _check_file(Path(file))  # the footer and the columns
        try:
            pq.read_table(file, columns=list(_METRIC_COLUMNS))  # the pages
        except (pa.ArrowException, OSError, KeyError) as err:
            raise CorruptRunError(f"cannot read {file}: {err}".splitlines()[0]) from None
    if exc is None:
        raise CorruptRunError(f"cannot read {files[0]}: a key column holds nulls")
    raise CorruptRunError(f"cannot read {', '.join(files)}: {exc}".splitlines()[0]) from None


#: The experiment name given to runs whose run.json or config.yaml cannot be read.
UNREADABLE = "unreadable-runs"


def readable_runs(paths: Iterable[Path]) -> list[RunRecord]:
    """Each run directory's record with the files of its committed rows.

    A run that cannot be read back is kept with status ``corrupt`` and the reason (naming the
    file) as its error, and contributes no rows: shown, skipped, never blocking the others. One
    whose run.json or config.yaml is unreadable goes to the experiment :data:`UNREADABLE`.
    """
    from dataclasses import replace

    from autophagy.store.journal import committed_files

    runs = []
    for path in paths:
        try:
            run = read_run(path)
        except CorruptRunError as exc:
            runs.append(RunRecord(path, path.name, UNREADABLE, "corrupt", str(exc), None, None, {}, {}))
            continue
        try:
            files = committed_files(path)
            for file in files:
                _check_file(file)
        except CorruptRunError as exc:
            runs.append(replace(run, status="corrupt", error=str(exc)))
            continue
        runs.append(replace(run, files=tuple(files)))
    return runs


def _check_file(file: Path) -> None:
    """Raise CorruptRunError naming ``file`` unless its footer reads and it has the metric columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(file)
    except (pa.ArrowException, OSError) as exc:
        raise CorruptRunError(f"cannot read {file}: {exc}".splitlines()[0]) from None
    missing = [c for c in _METRIC_COLUMNS if c not in schema.names]
    if missing:
        raise CorruptRunError(f"cannot read {file}: missing columns {missing}")


def _int_or_none(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


_EMPTY_DTYPES = {
    "run": object,
    "seed": "int64",
    "generation": "int64",
    "metric": object,
    "value": "float64",
    "lineage": "int64",
    "file": object,
}
