"""A run's metric rows between checkpoints: engine blocks in, one Arrow table out.

Engines hand over each generation's rows column-wise (:class:`~autophagy.runner.engine.Block`);
nothing is converted per generation. At a checkpoint (or the end of the run) the pending blocks
become one Arrow table with the columns of :func:`autophagy.store.journal.metric_schema` (text
dictionary-encoded), built with a handful of NumPy concatenations — what the journal writes as a
part and what the DataFrame of :attr:`autophagy.runner.loop.Result.metrics` is decoded from.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy.runner.engine import Block
from autophagy.store.journal import concat_rows, metric_schema


class PendingRows:
    """The rows of generations computed since the last checkpoint.

    Args:
        run_id: the run column's value.
    """

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.blocks: list[tuple[int, Block]] = []

    def add(self, generation: int, block: Block) -> None:
        self.blocks.append((generation, block))

    @property
    def first(self) -> int:
        """The first pending generation (only when some are pending)."""
        return self.blocks[0][0]

    def __len__(self) -> int:
        return len(self.blocks)

    def take(self) -> Any:
        """The pending rows as an Arrow table (generation-major, as computed); empties the buffer."""
        table = to_table(self.run_id, self.blocks)
        self.blocks = []
        return table


def to_table(run_id: str, blocks: list[tuple[int, Block]]) -> Any:
    """Blocks of (generation, rows) as one Arrow table with the metric columns, its text columns
    dictionary-encoded (int16 indices into the run id and the metric names).

    Nothing is spelled out per row: the run column is one index repeated, the metric column one
    block's indices tiled when every block has the same layout (as engines give every
    generation), else the names of all blocks pooled into one dictionary. The table is what the
    journal writes (Parquet encodes dictionaries directly) and what :func:`to_frame` decodes.
    """
    import pyarrow as pa

    if not blocks:
        return metric_schema().empty_table()
    sizes = [len(b.value) for _, b in blocks]
    n = sum(sizes)
    first = blocks[0][1]
    if all(b.names == first.names and (b.code is first.code or np.array_equal(b.code, first.code)) for _, b in blocks):
        names, codes = list(first.names), np.tile(first.code.astype(np.int16), len(blocks))
    else:
        names, codes = _pooled(blocks)
    if len(names) > np.iinfo(np.int16).max:  # beyond int16 indices: plain text
        metric = pa.array(names, pa.string()).take(pa.array(codes))
    else:
        metric = pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int16, copy=False)), pa.array(names, pa.string()))
    return pa.table(
        {
            "run": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int16)), pa.array([run_id], pa.string())),
            "seed": np.concatenate([b.seed for _, b in blocks]).astype(np.int64, copy=False),
            "generation": _generations(blocks, sizes),
            "metric": metric,
            "value": np.concatenate([b.value for _, b in blocks]).astype(np.float64, copy=False),
            "lineage": _lineages(blocks, sizes, n),
        }
    )


def _generations(blocks: list[tuple[int, Block]], sizes: list[int]) -> np.ndarray:
    """The generation column: each block's generation once per row, shape (N,) int64."""
    generations = np.array([t for t, _ in blocks], dtype=np.int64)
    if len(set(sizes)) == 1:  # a broadcast copy: ~20x faster than np.repeat's one copy per element
        return np.broadcast_to(generations[:, None], (len(blocks), sizes[0])).ravel()
    return np.repeat(generations, sizes)


def _lineages(blocks: list[tuple[int, Block]], sizes: list[int], n: int) -> np.ndarray:
    """The lineage column, shape (N,) int64: zeros unless a block carries lineages."""
    if all(b.lineage is None for _, b in blocks):
        return np.zeros(n, dtype=np.int64)
    return np.concatenate([b.lineage if b.lineage is not None else np.zeros(size, np.int64) for (_, b), size in zip(blocks, sizes, strict=True)]).astype(np.int64, copy=False)


def _pooled(blocks: list[tuple[int, Block]]) -> tuple[list[str], np.ndarray]:
    """The metric names of blocks whose layouts differ, pooled: (names, index of each row's)."""
    names: dict[str, int] = {}
    remaps: dict[tuple[str, ...], np.ndarray] = {}
    codes = []
    for _, b in blocks:
        if b.names not in remaps:
            remaps[b.names] = np.array([names.setdefault(name, len(names)) for name in b.names], dtype=np.int64)
        codes.append(remaps[b.names][b.code] if len(b.code) else b.code.astype(np.int64))
    return list(names), np.concatenate(codes)


def to_frame(tables: list[Any]) -> Any:
    """Arrow tables of metric rows as one pandas DataFrame (columns run, seed, generation,
    metric, value, lineage; text as strings, int64 and float64 numbers)."""
    table = concat_rows(tables)
    return (table if table.schema == metric_schema() else table.cast(metric_schema())).to_pandas()


__all__ = ["PendingRows", "to_frame", "to_table"]
