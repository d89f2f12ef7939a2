"""A run's metric rows between checkpoints: engine blocks in, one Arrow table out.

Engines hand over each generation's rows column-wise (:class:`~autophagy.runner.engine.Block`);
nothing is converted per generation. At a checkpoint (or the end of the run) the pending blocks
become one Arrow table with the columns of :func:`autophagy.store.journal.metric_schema`, built
with a handful of NumPy concatenations and two dictionary decodes — what the journal writes as a
part and what the returned DataFrame is made of.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy.runner.engine import Block
from autophagy.store.journal import metric_schema


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
    """Blocks of (generation, rows) as one Arrow table with the metric columns.

    The metric names of all blocks are pooled into one dictionary (blocks may differ in their
    names, e.g. after a config adds a metric), then decoded to plain text.
    """
    import pyarrow as pa

    if not blocks:
        return metric_schema().empty_table()
    names: dict[str, int] = {}
    remaps: dict[tuple[str, ...], np.ndarray] = {}
    codes = []
    for _, b in blocks:
        if b.names not in remaps:
            remaps[b.names] = np.array([names.setdefault(name, len(names)) for name in b.names], dtype=np.int32)
        codes.append(remaps[b.names][b.code] if len(b.code) else b.code.astype(np.int32))
    sizes = [len(b.value) for _, b in blocks]
    n = sum(sizes)
    table = pa.table(
        {
            "run": pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int32)), pa.array([run_id], pa.string())),
            "seed": np.concatenate([b.seed for _, b in blocks]).astype(np.int64, copy=False),
            "generation": np.repeat(np.array([t for t, _ in blocks], dtype=np.int64), sizes),
            "metric": pa.DictionaryArray.from_arrays(pa.array(np.concatenate(codes)), pa.array(list(names), pa.string())),
            "value": np.concatenate([b.value for _, b in blocks]).astype(np.float64, copy=False),
        }
    )
    return table.cast(metric_schema())


def to_frame(tables: list[Any]) -> Any:
    """Arrow tables of metric rows as one pandas DataFrame (columns run, seed, generation,
    metric, value; int64 and float64 numbers)."""
    import pyarrow as pa

    if not tables:
        return metric_schema().empty_table().to_pandas()
    table = pa.concat_tables(tables) if len(tables) > 1 else tables[0]
    return table.to_pandas()


__all__ = ["PendingRows", "to_frame", "to_table"]
