"""PyTorch on demand: the import with its install hint, devices, seeded generators.

Every torch random draw of the lab comes from a ``torch.Generator`` seeded from one of the
run's NumPy streams (:func:`generator_from`), so a run is reproducible from its seed alone.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from typing import Any

import numpy as np

from autophagy.exceptions import InvalidParameterError, MissingExtraError

#: The one line a user without PyTorch sees.
INSTALL_HINT = "pip install 'autophagy[neural]'  (CPU-only wheel: pip install torch==2.13.0)"


@functools.cache
def require_torch() -> Any:
    """The ``torch`` module, set to this process's thread budget; MissingExtraError without it."""
    try:
        import torch
    except ImportError:
        raise MissingExtraError(f"The neural generator families need PyTorch, which is not installed: {INSTALL_HINT}") from None
    # one intra-op thread per process, like BLAS (DESIGN.md: parallelise across processes)
    torch.set_num_threads(max(1, int(os.environ.get("OMP_NUM_THREADS", "1") or 1)))
    return torch


def cuda_available() -> bool:
    return bool(require_torch().cuda.is_available())


def resolve_device(name: str, key: str = "generator.device") -> str:
    """``auto`` -> ``cuda`` when a CUDA device is present, else ``cpu``; ``cuda`` needs one.

    Raises:
        InvalidParameterError: ``cuda`` asked for on a machine where torch sees no CUDA device.
    """
    if name == "auto":
        return "cuda" if cuda_available() else "cpu"
    if name == "cuda" and not cuda_available():
        torch = require_torch()
        build = f"torch {torch.__version__}" + (" (a CPU-only build)" if torch.version.cuda is None else "")
        raise InvalidParameterError(
            f"The '{key}' parameter must be 'cpu' or 'auto' here: {build} sees no CUDA device. Got 'cuda' instead."
        )
    if name not in ("cpu", "cuda"):
        raise InvalidParameterError(f"The '{key}' parameter must be one of 'auto', 'cpu', 'cuda'. Got {name!r} instead.")
    return name


def generator_from(rng: np.random.Generator, device: str = "cpu") -> Any:
    """A ``torch.Generator`` on ``device`` seeded by one draw from the NumPy stream ``rng``."""
    torch = require_torch()
    gen = torch.Generator(device=device)
    gen.manual_seed(int(rng.integers(2**63 - 1)))
    return gen


@contextlib.contextmanager
def autocast(device: str, enabled: bool) -> Iterator[None]:
    """bfloat16 autocast on CUDA when ``enabled`` (weights and optimiser stay float32); no-op on CPU."""
    if device != "cuda" or not enabled:
        yield
        return
    with require_torch().autocast(device_type="cuda", dtype=require_torch().bfloat16):
        yield
