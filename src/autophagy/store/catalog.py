"""Query many run directories together with DuckDB (no shared database file)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..exceptions import CorruptRunError, InvalidParameterError


def find_runs(root: str | Path) -> list[Path]:
    """Run directories under ``root`` (any depth; ``root`` itself may be one), sorted.

    A run directory is one holding ``run.json``; runs without ``metrics.parquet`` yet (failed
    or still at generation 0) are included, so that their status can be reported.
    """
    root = Path(root)
    if not root.is_dir():
        raise InvalidParameterError(f"The directory {str(root)!r} does not exist.")
    return sorted(p.parent for p in root.rglob("run.json") if p.is_file())


def runs_table(root: str | Path) -> Any:
    """One row per run: run_id, name, status, generations_done, path, plus flattened config keys."""
    import pandas as pd
    import yaml

    rows = []
    for path in find_runs(root):
        try:
            status = json.loads((path / "run.json").read_text())
            config = yaml.safe_load((path / "config.yaml").read_text())
        except (OSError, json.JSONDecodeError, yaml.YAMLError) as exc:
            raise CorruptRunError(f"cannot read the run in {path}: {exc}".splitlines()[0]) from None
        row = {k: status.get(k) for k in ("run_id", "name", "status", "generations_done")}
        row.update(flatten(config))
        row["path"] = str(path)
        rows.append(row)
    return pd.DataFrame(rows)


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
