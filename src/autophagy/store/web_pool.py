"""A web run's shared pool, read back from its run directory (``autophagy.load_pool``).

The web engines commit every repeat's pool, with each item's provenance, in the run's state
(``state.npz``, saved with each checkpoint's rows; :func:`~autophagy.loops.web.pools_state`), so
the pool of the last finished generation is on disk for resuming, and for reading here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from autophagy.exceptions import InvalidParameterError
from autophagy.loops.web import pools_from_state
from autophagy.store.rundir import RunDir


def load_pool(run: str | Path) -> Any:
    """The pool of a web run after its last finished generation.

    Args:
        run: the run's directory (``<out>/<name>/<run-id>``).

    Returns:
        A DataFrame, one row per item of every repeat's pool: ``seed``, ``generation`` (the
        last finished one), the item ``x0``..``x{d-1}`` (text: the token ids), ``lineage``
        (-1: human), ``published`` (the generation it arrived), ``depth`` (model generations
        from human data) and ``arrival`` (FIFO order).

    Raises:
        InvalidParameterError: ``run`` is not a run directory of a web that has finished a
            generation (one line saying which).
    """
    import pandas as pd

    path = Path(run)
    config_file = path / "config.yaml"
    if not config_file.is_file():
        raise InvalidParameterError(f"The 'run' parameter must be a run directory (with a config.yaml). Got {str(path)!r} instead.")
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    if not config.get("web"):
        raise InvalidParameterError(f"The 'run' parameter must be the directory of a web run (a config with web:). Got {str(path)!r} instead.")
    state = RunDir(path).load_state()
    if state is None:
        raise InvalidParameterError(f"The 'run' parameter must be a web run that has finished a generation. Got {str(path)!r}, which has none yet.")
    seed, repeats = int(config.get("seed", 0)), int(config.get("repeats", 1))
    pools = pools_from_state(state, [seed + r for r in range(repeats)])
    generation = int(state["generation"])
    return pd.concat([pool.frame().assign(seed=s, generation=generation) for s, pool in pools.items()], ignore_index=True).pipe(
        lambda f: f[["seed", "generation", *[c for c in f.columns if c not in ("seed", "generation")]]]
    )


__all__ = ["load_pool"]
