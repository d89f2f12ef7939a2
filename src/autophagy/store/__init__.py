"""Run directories and the DuckDB catalog over many of them."""

from autophagy.store.catalog import catalog, find_runs, load_metrics, query
from autophagy.store.rundir import METRIC_COLUMNS, RunDir, atomic_write

__all__ = ["METRIC_COLUMNS", "RunDir", "atomic_write", "catalog", "find_runs", "load_metrics", "query"]
