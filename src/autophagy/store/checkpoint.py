"""Per-generation checkpoints of neural generators: ``<run>/checkpoints/gen-NNNN.pt``.

A checkpoint is ``torch.save`` of a plain dict — format tag, run id, generation and the
generators' state dicts as tensors (keys ``s<seed>/g<generation>/<parameter>``, and ``s<seed>/gref/<parameter>`` for the
generation-1 reference model some metrics keep, as in ``state.npz``) — written atomically and read back with ``torch.load(weights_only=True)``, so
loading one never runs pickled code. A checkpoint carries the run id of its config: resuming
refuses one written by a different config (a stale file copied into the run directory).
One file per generation is kept, so every G^t of a run can be loaded afterwards
(:func:`load_checkpoint`); ``state.npz`` holds the rest of the loop state.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from autophagy.exceptions import CorruptRunError, RunConflictError
from autophagy.store.rundir import atomic_write

FORMAT = "autophagy-checkpoint-1"
#: state.npz keys that are generator weights (what goes into a checkpoint instead).
WEIGHT_KEY = re.compile(r"^s\d+/g(\d+|ref)/")


def checkpoint_path(run_dir: str | Path, generation: int) -> Path:
    return Path(run_dir) / "checkpoints" / f"gen-{generation:04d}.pt"


def save_checkpoint(run_dir: str | Path, generation: int, run_id: str, arrays: dict[str, np.ndarray]) -> Path:
    """Write G^``generation``'s weights ``arrays`` (name -> array) atomically; returns the path."""
    from autophagy.neural._torch import require_torch

    torch = require_torch()
    payload = {
        "format": FORMAT,
        "run_id": run_id,
        "generation": int(generation),
        "tensors": {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()},
    }
    path = checkpoint_path(run_dir, generation)
    atomic_write(path, lambda tmp: torch.save(payload, tmp))
    return path


def load_checkpoint(run_dir: str | Path, generation: int, run_id: str | None = None) -> dict[str, np.ndarray]:
    """The weights saved for ``generation`` as NumPy arrays, checked against ``run_id``.

    Raises:
        CorruptRunError: the file is missing, unreadable or not an autophagy checkpoint.
        RunConflictError: it belongs to another config (run id) or another generation.
    """
    from autophagy.neural._torch import require_torch

    torch = require_torch()
    path = checkpoint_path(run_dir, generation)
    if not path.is_file():
        raise CorruptRunError(f"cannot read {path}: the checkpoint of generation {generation} is missing")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - unpickling refused or a damaged file: the same user error
        raise CorruptRunError(f"cannot read {path}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT or not isinstance(payload.get("tensors"), dict):
        raise CorruptRunError(f"cannot read {path}: not an autophagy checkpoint ({FORMAT})")
    if run_id is not None and (payload.get("run_id") != run_id or payload.get("generation") != generation):
        raise RunConflictError(
            f"{path} is a checkpoint of run {payload.get('run_id')!r}, generation {payload.get('generation')}, "
            f"not of this config (run {run_id!r}, generation {generation}); refusing to resume from it "
            "(delete the run directory or choose another --out)."
        )
    return {k: v.numpy() for k, v in payload["tensors"].items()}
