"""Joining Ray, shared by the sweep's Ray executor and a web's Ray lineage workers.

Kept apart from both: the executors import the runner, which imports the web engines, which
import their workers.
"""

from __future__ import annotations

import os
from typing import Any

from autophagy.exceptions import MissingExtraError


def require_ray() -> Any:
    """The ``ray`` module, or the one-line error naming the extra."""
    try:
        import ray
    except ImportError:
        raise MissingExtraError("The 'ray' backend needs Ray, which is not installed: pip install 'autophagy[ray]'") from None
    return ray


def start_ray(workers: int, address: str | None) -> tuple[Any, bool]:
    """``ray``, initialised: a private local instance of ``workers`` CPUs, or the cluster at
    ``address``, unless Ray is already running in this process; and whether this call started
    it (then the caller shuts it down when done)."""
    ray = require_ray()
    if ray.is_initialized():
        return ray, False
    quiet = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
    if address is None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private instance on this machine
        ray.init(num_cpus=workers, **quiet)
    else:
        ray.init(address=address, **quiet)
    return ray, True
