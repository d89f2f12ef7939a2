"""One BLAS/OpenMP thread per process.

Measured on a shared 2-core machine: two BLAS threads per process run 10-200x slower as soon
as anything else wants a core, so autophagy parallelises across processes only. The
environment variables must be set before numpy loads; :func:`limit_threads` also caps pools
that are already running (via threadpoolctl).
"""

from __future__ import annotations

import os

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
#: Hugging Face tokenizers' own thread pool: off, like BLAS (one thread per process).
_OFF_VARIABLES = {"TOKENIZERS_PARALLELISM": "false"}


def set_single_thread_env() -> None:
    """Default every BLAS/OpenMP thread variable to 1 (user settings win)."""
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, "1")
    for name, value in _OFF_VARIABLES.items():
        os.environ.setdefault(name, value)


_LIMITED: set[str] = set()


def limit_threads() -> None:
    """Cap already-loaded BLAS/OpenMP pools to one thread (call in every worker).

    threadpoolctl scans the loaded libraries (~1.5 ms), so the scan runs again only when the
    thread setting changed since the last call in this process.
    """
    set_single_thread_env()
    setting = os.environ.get("OMP_NUM_THREADS", "1")
    if setting in _LIMITED:
        return
    from threadpoolctl import threadpool_limits

    threadpool_limits(int(setting))
    _LIMITED.add(setting)
