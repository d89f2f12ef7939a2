"""Find run directories, read them back and summarise repeats of one setting.

A run directory holds ``run.json`` (and, once a generation is done, ``metrics.parquet``); see
:mod:`autophagy.store.rundir` for the full contract. Runs are grouped by experiment ``name``.
Within an experiment a *setting* is one combination of the flattened config keys that vary
between its runs, ``seed`` and ``repeats`` excluded: the seeds inside one run (repeats) and
runs that differ only in ``seed`` (a sweep) are both repeats of one setting.

Everything but the readers (:func:`read_run`, :func:`read_metrics`,
:func:`collect`) is a pure function of its arguments.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autophagy.exceptions import InvalidParameterError
from autophagy.report.reading import (  # the readers, re-exported: collect is where users look
    _EMPTY_DTYPES,
    UNREADABLE,
    RunRecord,
    read_metrics,
    read_run,
    readable_runs,
)
from autophagy.store.catalog import find_runs

#: Flattened config keys that only pick seeds, so never tell settings apart.
REPEAT_KEYS: frozenset[str] = frozenset({"seed", "repeats"})

#: Bookkeeping rows of the loop (not quality metrics): always shown last, in this order.
BOOKKEEPING: tuple[str, ...] = (
    "train_size",
    "frac_real_fixed",
    "frac_real_fresh",
    "frac_synthetic",
    "frac_synthetic_kept",
    "kept_fraction",
    "degenerate",
)

#: What each mitigation stage removed (``removed_by_<kind>``): bookkeeping, shown beside
#: ``kept_fraction``.
REMOVED_PREFIX = "removed_by_"




@dataclass(frozen=True)
class Setting:
    """The runs of an experiment that share every config value but the seed.

    Attributes:
        label: ``"loop.kind=fresh, generator.bias=0.7"`` (the experiment name if nothing varies).
        values: The varying keys and this setting's values, in the order of ``Experiment.varying``.
        runs: The run directories of this setting, sorted by path.
    """

    label: str
    values: dict[str, Any]
    runs: tuple[RunRecord, ...]


@dataclass(frozen=True)
class Experiment:
    """All runs sharing one experiment name.

    Attributes:
        name: The experiment name (not escaped: escape it before writing HTML).
        common: Flattened config keys with the same value in every run.
        varying: Flattened config keys whose value differs between runs (no repeat keys).
        settings: One entry per distinct combination of ``varying`` values, sorted by value.
        metrics: Tidy table with columns run, seed, generation, metric, value, setting, path
            (``path`` is the run directory as a string); empty when no run has metrics yet.
    """

    name: str
    common: dict[str, Any]
    varying: tuple[str, ...]
    settings: tuple[Setting, ...]
    metrics: Any


def varying_keys(flats: Sequence[dict[str, Any]]) -> list[str]:
    """Flattened keys whose value differs between configs (a missing key counts as None).

    Keys are ordered by first appearance; :data:`REPEAT_KEYS` are left out.

    >>> varying_keys([{"seed": 0, "a": 1, "b.c": 2}, {"seed": 1, "a": 1, "b.c": 3}])
    ['b.c']
    """
    keys: dict[str, None] = {}
    for flat in flats:
        keys.update(dict.fromkeys(flat))
    return [
        key
        for key in keys
        if key not in REPEAT_KEYS and len({_hashable(f.get(key)) for f in flats}) > 1
    ]


def format_value(value: Any) -> str:
    """A config value as shown in labels and tables (``None`` as ``null``, like YAML)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def setting_label(values: dict[str, Any], name: str) -> str:
    """``"loop.kind=fresh, generator.bias=0.7"``; ``name`` when ``values`` is empty.

    >>> setting_label({"loop.kind": "fresh", "generator.bias": 0.7}, "x")
    'loop.kind=fresh, generator.bias=0.7'
    >>> setting_label({}, "gaussian-8d")
    'gaussian-8d'
    """
    if not values:
        return name
    return ", ".join(f"{key}={format_value(value)}" for key, value in values.items())


def group_experiments(runs: Iterable[RunRecord], metrics: Any = None) -> list[Experiment]:
    """Group runs by experiment name and split each experiment into settings.

    Args:
        runs: Run records (any order).
        metrics: The output of :func:`read_metrics` for these runs' metrics files, or None.

    Returns:
        Experiments sorted by name; each carries its own slice of ``metrics`` with a
        ``setting`` (label) and ``path`` (run directory) column added.
    """
    import pandas as pd

    by_name: dict[str, list[RunRecord]] = {}
    for run in sorted(runs, key=lambda r: str(r.path)):
        by_name.setdefault(run.name, []).append(run)
    if metrics is None:
        metrics = pd.DataFrame({c: pd.Series(dtype=t) for c, t in _EMPTY_DTYPES.items()})
    experiments = []
    for name in sorted(by_name):
        members = by_name[name]
        flats = [r.flat for r in members]
        varying = varying_keys(flats)
        common = {
            k: v for k, v in members[0].flat.items() if k not in varying and k not in REPEAT_KEYS
        }
        groups: dict[tuple[Any, ...], list[RunRecord]] = {}
        for run in members:
            groups.setdefault(tuple(_hashable(run.flat.get(k)) for k in varying), []).append(run)
        settings = []
        for key in sorted(groups, key=_sort_key):
            values = {k: groups[key][0].flat.get(k) for k in varying}
            settings.append(Setting(setting_label(values, name), values, tuple(groups[key])))
        label_of = {str(f): s.label for s in settings for r in s.runs for f in r.files}
        path_of = {str(f): str(r.path) for r in members for f in r.files}
        mine = metrics[metrics["file"].isin(label_of)].copy()
        mine["setting"] = mine["file"].map(label_of)
        mine["path"] = mine["file"].map(path_of)
        mine = mine.drop(columns="file").reset_index(drop=True)
        experiments.append(Experiment(name, common, tuple(varying), tuple(settings), mine))
    return experiments


def collect(root: str | Path) -> list[Experiment]:
    """Read every run under ``root`` and group them into experiments.

    Raises:
        InvalidParameterError: If ``root`` does not exist or holds no run directory.
        CorruptRunError: If a file of a run directory cannot be read (names the file).
    """
    paths = find_runs(root)
    if not paths:
        raise InvalidParameterError(f"No run directory (holding run.json) under {str(root)!r}.")
    runs = readable_runs(paths)
    metrics = read_metrics([f for r in runs for f in r.files])
    return group_experiments(runs, metrics)


def metric_order(names: Iterable[str]) -> list[str]:
    """Registered metrics in registry order, then others alphabetically, bookkeeping last.

    >>> metric_order(["train_size", "zeta", "mmd", "frechet"])
    ['frechet', 'mmd', 'zeta', 'train_size']
    >>> metric_order(["degenerate", "removed_by_rejection", "kept_fraction", "mmd"])
    ['mmd', 'kept_fraction', 'removed_by_rejection', 'degenerate']
    """
    from autophagy.registry import entries

    known = list(entries("metric"))

    def key(name: str) -> tuple[int, int, str]:
        if name in BOOKKEEPING:
            return (2, 2 * BOOKKEEPING.index(name), name)
        if name.startswith(REMOVED_PREFIX):  # right after kept_fraction
            return (2, 2 * BOOKKEEPING.index("kept_fraction") + 1, name)
        if name in known:
            return (0, known.index(name), name)
        return (1, 0, name)

    return sorted(set(names), key=key)


def summarise(df: Any, level: float = 0.95) -> Any:
    """Mean over repeats and a Student-t confidence band, per setting, metric and generation.

    With ``n`` finite values, ``mean ± t.ppf((1 + level) / 2, n - 1) · sd / √n`` (``sd`` with
    ``ddof=1``); with ``n = 1`` the band collapses to the mean, with ``n = 0`` all are NaN.
    Non-finite values (NaN, ``inf`` or ``-inf``: a degenerate generation, e.g. the
    log-likelihood of a collapsed fit) are left out of ``mean``/``lo``/``hi`` and counted in
    ``n_nan``, so one degenerate repeat never turns a mean into ``-inf`` or NaN.

    Args:
        df: Tidy table with at least the columns setting, metric, generation, value.
        level: Confidence level of the band.

    Returns:
        DataFrame with columns setting, metric, generation, mean, lo, hi, n (finite values),
        n_nan (non-finite values left out); settings in order of first appearance in ``df``,
        metrics in :func:`metric_order`.
    """
    import numpy as np
    import pandas as pd
    from scipy import stats

    columns = ["setting", "metric", "generation", "mean", "lo", "hi", "n", "n_nan"]
    if len(df) == 0:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns}).astype(
            {
                "setting": object,
                "metric": object,
                "generation": "int64",
                "n": "int64",
                "n_nan": "int64",
            }
        )
    keys = ["setting", "metric", "generation"]
    values = df["value"].astype("float64")
    values = values.where(np.isfinite(values))  # +-inf is degenerate too: left out like NaN
    grouped = values.groupby([df[k] for k in keys], sort=False)
    out = pd.DataFrame(
        {
            "mean": grouped.mean(),  # skips NaN
            "sd": grouped.std(ddof=1),
            "n": grouped.count().astype("int64"),
            "n_nan": grouped.size().astype("int64") - grouped.count().astype("int64"),
        }
    ).reset_index()
    n = out["n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        quantile = stats.t.ppf(0.5 + level / 2, np.maximum(n - 1, 1))
        half = np.where(n >= 2, quantile * out["sd"].to_numpy() / np.sqrt(n), 0.0)
    out["lo"] = out["mean"] - half
    out["hi"] = out["mean"] + half
    setting_rank = {s: i for i, s in enumerate(pd.unique(df["setting"]))}
    metric_rank = {m: i for i, m in enumerate(metric_order(df["metric"]))}
    out = out.assign(
        _s=out["setting"].map(setting_rank), _m=out["metric"].map(metric_rank)
    ).sort_values(["_s", "_m", "generation"], kind="stable")
    return out[columns].reset_index(drop=True)


def _hashable(value: Any) -> Any:
    """Config values as dict keys (lists/dicts become JSON text)."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    return value


def _sort_key(values: tuple[Any, ...]) -> tuple[tuple[int, Any], ...]:
    """Sort settings numerically where values are numbers, else by text."""
    out: list[tuple[int, Any]] = []
    for value in values:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append((0, float(value)))
        else:
            out.append((1, format_value(value)))
    return tuple(out)


__all__ = [
    "BOOKKEEPING",
    "REPEAT_KEYS",
    "UNREADABLE",
    "Experiment",
    "RunRecord",
    "Setting",
    "collect",
    "format_value",
    "group_experiments",
    "metric_order",
    "read_metrics",
    "read_run",
    "readable_runs",
    "setting_label",
    "summarise",
    "varying_keys",
]
