"""A user's own vectors from a local file as the real distribution (``data.kind: table``).

Rows are samples, columns are dimensions. The file type is read from the extension:

* ``.npy`` - one 2-D numeric array (N, d); its columns are named ``'0'``, ``'1'``, ...
* ``.npz`` - one named 2-D array: the file's only array, else the one ``array`` names;
* ``.csv`` - a header row of column names, then one sample a line (read with pandas);
* ``.parquet`` - a table of columns (read with pyarrow).

``columns`` chooses columns by name, in that order (for ``.npy``/``.npz`` by the names above);
by default every numeric column is kept and the others are skipped. A chosen column that is not
numeric, a NaN or an infinite value (the message gives its row, counted from 0 without the
header, and its column), fewer than 2 training rows, or, with ``holdout`` > 0, fewer than 2
held-out rows is an error when the config is loaded. Nothing is ever downloaded; a relative
path is relative to the working directory.

**Split.** The N rows are shuffled once by ``split_seed`` (independent of the run seed) and
``round(holdout * N)`` of them are held out: the metrics compare generated samples with held-out
rows; training draws (the fixed real set and fresh draws) come from the others. With
``holdout: 0`` both come from all N rows. P_r is the empirical distribution of the training
rows.

**Draws.** :meth:`TableSource.sample` draws training rows uniformly with replacement;
:meth:`TableSource.holdout` draws held-out rows without replacement while n fits the held-out
pool, with replacement beyond.

**Standardize.** ``standardize: true`` z-scores every column with the mean and standard deviation
(ddof 0) of the training rows, held-out rows included (same statistics). A column constant on the
training rows has no scale: it is an error naming the column (drop it with ``columns``).

A file is parsed once per (resolved path, modification time, size, ``columns``, ``array``):
config validation and the run then share one read-only array.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, NonNegativeInt, model_validator

from autophagy._validation import Model, check
from autophagy.exceptions import InvalidParameterError
from autophagy.registry import register

#: The file types read, by extension.
SUFFIXES = (".npy", ".npz", ".csv", ".parquet")
EXPECTED = "a readable .npy, .npz, .csv or .parquet file of numeric rows"


class TableConfig(Model):
    """``data: {kind: table, path, columns, array, holdout, standardize, split_seed}`` (see the module docstring)."""

    kind: Literal["table"] = "table"
    path: str
    columns: list[str] | None = Field(default=None, min_length=1, description="the columns to use (default: every numeric column)")
    array: str | None = Field(default=None, description="the array of a .npz file holding several")
    holdout: float = Field(default=0.2, ge=0.0, le=0.9, description="share of the rows held out for the metrics")
    standardize: bool = False
    split_seed: NonNegativeInt = 0

    @model_validator(mode="after")
    def _keys(self) -> TableConfig:
        if self.columns is not None:
            check(len(set(self.columns)) == len(self.columns), "data.columns", "a list of distinct column names", self.columns)
        check(self.array is None or Path(self.path).suffix.lower() == ".npz", "data.array", "unset unless data.path is a .npz file", self.array)
        return self


class TableSource:
    """Rows of a table, split into a training pool and a held-out pool.

    Args:
        rows: the table, shape (N, d), float64 and finite.
        columns: the d column names.
        holdout: share of the rows held out (0: none; held-out draws then come from all rows).
        split_seed: seed of the one shuffle that splits the rows.
        standardize: z-score the columns with the training rows' mean and standard deviation.
        name: what the errors call the table (the file, for a config).

    Attributes:
        rows: the table as used (standardized when asked), shape (N, d), float64, read-only.
        columns: the d column names.
        train_index, test_index: the split, sorted index arrays into ``rows``.
        mean, scale: shape (d,) each, the training statistics applied by ``standardize`` (else None).

    Raises:
        InvalidParameterError: with ``standardize``, a column is constant on the training rows.
    """

    def __init__(
        self, rows: np.ndarray, columns: list[str], *, holdout: float = 0.2, split_seed: int = 0, standardize: bool = False, name: str = "rows"
    ) -> None:
        order = np.random.default_rng(np.random.SeedSequence(split_seed, spawn_key=(0,))).permutation(len(rows))
        n_test = held_out_count(len(rows), holdout)
        self.test_index, self.train_index = np.sort(order[:n_test]), np.sort(order[n_test:])
        self.columns = list(columns)
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        if standardize:
            train = rows[self.train_index]
            mean, scale = train.mean(axis=0), train.std(axis=0)
            flat = np.flatnonzero(~(scale > 0))
            if len(flat):
                raise InvalidParameterError(
                    f"The 'data.standardize' parameter must be false when a column is constant on the training rows. "
                    f"Got True instead (column {self.columns[flat[0]]!r} of {name!r} is constant; leave it out with data.columns)."
                )
            rows = (rows - mean) / scale
            rows.flags.writeable = False
            self.mean, self.scale = mean, scale
        self.rows = rows
        self._held_out = self.test_index if n_test else self.train_index

    @property
    def dim(self) -> int:
        return int(self.rows.shape[1])

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n training rows (n, d), float64, drawn uniformly with replacement."""
        return self.rows[self.train_index[rng.integers(0, len(self.train_index), size=n)]]

    def holdout(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n held-out rows (n, d), float64: without replacement while n fits the pool, with replacement beyond."""
        pool = self._held_out
        return self.rows[pool[rng.choice(len(pool), size=n, replace=n > len(pool))]]

    def truth(self) -> None:
        """An empirical distribution: no closed form."""


def held_out_count(n_rows: int, holdout: float) -> int:
    """How many of ``n_rows`` rows ``holdout`` holds out (0 when holdout is 0)."""
    return round(holdout * n_rows) if holdout > 0 else 0


def _bad(shown: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(f"The 'data.path' parameter must be {EXPECTED}. Got {shown!r} instead ({why}).")


def read_table(path: str, columns: list[str] | None = None, array: str | None = None) -> tuple[np.ndarray, list[str]]:
    """The checked numeric rows of a local file: (rows (N, d) float64 read-only, the d column names).

    Raises:
        InvalidParameterError: the file is missing, of another type, unreadable, not a numeric
            2-D table, holds NaN or infinite values, or ``columns``/``array`` name nothing in it.
    """
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise _bad(path, "no such file")
    if resolved.suffix.lower() not in SUFFIXES:
        raise _bad(path, f"the file name ends in {resolved.suffix or 'nothing'!r}, not {', '.join(SUFFIXES)}")
    stat = resolved.stat()
    rows, names = _read_cached(str(resolved.resolve()), stat.st_mtime_ns, stat.st_size, tuple(columns) if columns else None, array, path)
    return rows, list(names)


@functools.lru_cache(maxsize=4)
def _read_cached(
    resolved: str, mtime_ns: int, size: int, columns: tuple[str, ...] | None, array: str | None, shown: str
) -> tuple[np.ndarray, tuple[str, ...]]:
    # keyed by (file, modification time, size, selection): config checks and the run read a file once
    suffix = Path(resolved).suffix.lower()
    try:
        if suffix in (".npy", ".npz"):
            raw: Any = _read_numpy(resolved, array, shown)
        elif suffix == ".csv":
            import pandas as pd

            raw = pd.read_csv(resolved)
        else:
            import pyarrow.parquet as pq

            raw = pq.read_table(resolved).to_pandas()
    except InvalidParameterError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is the same user error
        raise _bad(shown, f"not readable: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    rows, names = _from_array(raw, columns, shown) if isinstance(raw, np.ndarray) else _from_frame(raw, columns, shown)
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        row, col = (int(i) for i in bad[0])
        raise _bad(shown, f"{rows[row, col]} at row {row}, column {names[col]!r}; {len(bad)} NaN or infinite value(s) in all")
    rows.flags.writeable = False  # shared through the cache
    return rows, tuple(names)


def _read_numpy(resolved: str, array: str | None, shown: str) -> np.ndarray:
    loaded = np.load(resolved, allow_pickle=False)
    if isinstance(loaded, np.ndarray):
        return loaded
    with loaded:
        keys = sorted(loaded.files)
        if not keys:
            raise _bad(shown, "the .npz file holds no array")
        if array is None and len(keys) == 1:
            return loaded[keys[0]]
        if array not in keys:
            raise InvalidParameterError(f"The 'data.array' parameter must name one of the arrays of {shown!r}: {keys}. Got {array!r} instead.")
        return loaded[array]


def _select(names: list[str], columns: tuple[str, ...] | None, shown: str) -> list[int]:
    """Indices of the chosen ``columns`` among ``names``; unknown names are an error listing them all."""
    if columns is None:
        return list(range(len(names)))
    unknown = [c for c in columns if c not in names]
    if unknown:
        raise InvalidParameterError(f"The 'data.columns' parameter must name columns of {shown!r} (available: {names}). Got {unknown} instead.")
    return [names.index(c) for c in columns]


def _from_array(x: np.ndarray, columns: tuple[str, ...] | None, shown: str) -> tuple[np.ndarray, list[str]]:
    if x.ndim != 2:
        raise _bad(shown, f"an array of shape {x.shape}, not 2-D (N rows, d columns)")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
        raise _bad(shown, f"the array has dtype {x.dtype}, not a real number")
    names = [str(j) for j in range(x.shape[1])]
    index = _select(names, columns, shown)
    if not index:
        raise _bad(shown, f"an array of shape {x.shape}, with no column")
    return np.asarray(x[:, index], dtype=np.float64), [names[j] for j in index]


def _from_frame(frame: Any, columns: tuple[str, ...] | None, shown: str) -> tuple[np.ndarray, list[str]]:
    """Numeric columns of a pandas DataFrame -> (rows (N, d) float64, names)."""
    from pandas.api.types import is_complex_dtype, is_numeric_dtype

    names = [str(c) for c in frame.columns]
    if len(frame) == 0:
        raise _bad(shown, "it holds no rows")
    numeric = [is_numeric_dtype(frame.dtypes.iloc[j]) and not is_complex_dtype(frame.dtypes.iloc[j]) for j in range(len(names))]
    if columns is None:
        index = [j for j in range(len(names)) if numeric[j]]
        if not index:
            raise _bad(shown, f"no numeric column among {names}")
    else:
        index = _select(names, columns, shown)
        for j in index:
            if not numeric[j]:
                raise _bad(shown, f"column {names[j]!r} is not numeric")
    return frame.iloc[:, index].to_numpy(dtype=np.float64, na_value=np.nan), [names[j] for j in index]


@register("data", "table", "your own vectors: rows of a local .npy, .npz, .csv or .parquet file, split into training and held-out rows", TableConfig)
def build(config: TableConfig) -> TableSource:
    rows, names = read_table(config.path, config.columns, config.array)
    n_test = held_out_count(len(rows), config.holdout)
    n_train = len(rows) - n_test
    if n_train < 2 or (config.holdout > 0 and n_test < 2):
        if config.holdout > 0:
            why = f"{n_train} for training and {n_test} held out with data.holdout {config.holdout}; at least 2 of each are needed"
        else:
            why = "at least 2 are needed"
        raise _bad(config.path, f"{len(rows)} row(s): {why}")
    return TableSource(rows, names, holdout=config.holdout, split_seed=config.split_seed, standardize=config.standardize, name=config.path)
