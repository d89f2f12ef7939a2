"""Who is computing a run: an exclusive advisory lock on its directory.

A process computing a run holds ``fcntl.flock`` on ``<run>/.lock`` for as long as it works on
it. The kernel drops the lock when the process ends, however it ends (SIGKILL included), so a
lock is never left stale, and a run whose ``run.json`` still says ``running`` while nobody holds
its lock was interrupted. ``flock`` works between processes of one machine and, on Linux, over
NFS (emulated with POSIX locks), which is what a sweep over a shared run store needs.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from autophagy.exceptions import RunBusyError

LOCK_NAME = ".lock"


class RunLock:
    """``with RunLock(run_dir, wait=False):`` — held while the block runs.

    Args:
        directory: The run directory (created if missing).
        wait: Block until the lock is free instead of raising :class:`RunBusyError`.
    """

    def __init__(self, directory: str | Path, *, wait: bool = False) -> None:
        self.path = Path(directory) / LOCK_NAME
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if self.wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise RunBusyError(
                f"another process is computing the run in {self.path.parent}; wait for it to finish "
                "(a sweep rerun waits by itself)"
            ) from None
        self._fd = fd
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None


def is_locked(directory: str | Path) -> bool:
    """Whether some process (this one included) holds the lock of the run in ``directory``."""
    path = Path(directory) / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also releases the probe's lock if it got one
    return False
