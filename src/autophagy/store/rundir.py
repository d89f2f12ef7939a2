"""One directory per run, written atomically.

Contract of a run directory ``<out>/<name>/<run_id>/``:

- ``config.yaml``: the resolved config; a directory holding a different config is refused.
- ``run.json``: run_id, name, status (pending | running | complete | failed | interrupted), seed,
  repeats, generations, generations_done, attempts (times a process started computing it),
  compute_s (seconds spent computing, over all attempts), host and pid (of the process that
  last started computing it), version, git_sha, created, updated, error (the message of the
  last failure).
- ``.lock``: held (``fcntl.flock``) by the process computing the run (:mod:`.lock`).
- ``commit.json``, ``journal/part-*.parquet``, ``metrics.parquet``: the metric rows (columns
  run, seed, generation, metric, value) as an append-only journal of committed parts, compacted
  into ``metrics.parquet`` when the run completes (:mod:`.journal`); the commit record says which
  files hold the committed rows.
- ``state.npz``: the loop state after the last committed generation (pools, fitted
  generators), enough to resume exactly.
- ``samples/real.npy``, ``samples/gen-NNNN.npy``: scatter snapshots of the first repeat.

Any number of processes can write different run directories side by side; one run directory is
written only by the process holding its lock (the runner takes it), and any reader sees either
the old or the new version of each file. Only the commit record is fsynced.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from autophagy.exceptions import CorruptRunError, RunConflictError

METRIC_COLUMNS = ["run", "seed", "generation", "metric", "value", "lineage"]
#: PyYAML's safe loader, in C where libyaml is present (a sweep re-reads thousands of configs).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SAFE_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def config_yaml(config: dict[str, Any]) -> str:
    """A resolved config as the text of ``config.yaml`` (keys in config order)."""
    return yaml.dump(config, Dumper=SAFE_DUMPER, sort_keys=False)


def atomic_write(path: Path, write: Callable[[Path], object], *, durable: bool = True) -> None:
    """Write ``path`` through a temp file in the same directory, then rename over it.

    A reader sees the old file or the new one, never a part. ``durable`` also fsyncs the new
    file before the rename (what survives a power cut; a killed process needs no fsync). The
    file gets the mode a plain ``open`` would give (0666 less the umask), not the temp file's 0600.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, 0o666 & ~_umask())
        finally:
            os.close(fd)
        write(Path(tmp))
        if durable:
            with open(tmp, "rb") as handle:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """:func:`atomic_write` of UTF-8 text (whatever the locale's encoding)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), durable=durable)


@functools.lru_cache(maxsize=1)
def _umask() -> int:
    """The process's umask, read without changing it where the system says it (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: read by setting it, then put it back
    os.umask(mask)
    return mask


def initial_status(config: dict[str, Any], run_id: str, version: str, status: str) -> dict[str, Any]:
    """``run.json`` of a run that has not finished a generation yet."""
    return {
        "run_id": run_id,
        "name": config.get("name"),
        "status": status,
        "seed": config.get("seed"),
        "repeats": config.get("repeats"),
        "generations": config.get("generations"),
        "generations_done": 0,
        "attempts": 0,
        "compute_s": 0.0,
        "version": version,
        "git_sha": _git_sha(),
        "created": _now(),
        "error": None,
    }


def _create_exclusive(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text`` in one step unless it exists (a hard link of a temp file,
    which fails atomically when the name is taken); returns whether it was created."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


def _results_part(config: Any) -> Any:
    """A config without its ``store`` section (how it is written does not change a run)."""
    return {k: v for k, v in config.items() if k != "store"} if isinstance(config, dict) else config


def check_directory(out: str | Path, option: str) -> None:
    """Refuse ``out`` unless it is a directory or a path where one can be made (no part of it an
    existing file), in one sentence naming ``option``."""
    from autophagy._validation import short
    from autophagy.exceptions import InvalidParameterError

    out = Path(out)
    for path in (out, *out.parents):
        if path.exists():
            if not path.is_dir():
                what = "is" if path == out else f"is inside {short(str(path))}, which is"
                raise InvalidParameterError(
                    f"The '{option}' parameter must be a directory (or a path where one can be made). "
                    f"Got {short(str(out))} instead, which {what} an existing file."
                )
            return


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=1)
def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


class RunDir:
    """A run directory (see the module docstring for its contract)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._status: dict[str, Any] | None = None  # what this process last read or wrote (opened runs)

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.parquet"

    @property
    def state_path(self) -> Path:
        return self.path / "state.npz"

    # -- creation -----------------------------------------------------------------------
    def open(self, config: dict[str, Any], run_id: str, *, version: str) -> None:
        """Create the directory for ``config``, or check that it already holds that config."""
        if not self._check_config(config):
            self.path.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path / "config.yaml", config_yaml(config), durable=False)
        # a new run's status is written with its first update (one write fewer), not here
        self._status = self.read_status() or initial_status(config, run_id, version, "running")

    def create_pending(self, config: dict[str, Any], run_id: str, *, version: str) -> bool:
        """Write a not-yet-started run (``status: pending``) unless the directory holds one already.

        Safe against other processes doing the same or computing the run: ``config.yaml`` and
        ``run.json`` are only ever created here, never replaced (an existing status is kept).

        Returns:
            Whether this call created the run's ``run.json``.
        """
        if not self._check_config(config):
            self.path.mkdir(parents=True, exist_ok=True)
            if not _create_exclusive(self.path / "config.yaml", config_yaml(config)):
                self._check_config(config)  # another process created it first
        status = initial_status(config, run_id, version, "pending")
        return _create_exclusive(self.path / "run.json", json.dumps({**status, "updated": _now()}, indent=2))

    def _check_config(self, config: dict[str, Any]) -> bool:
        """Whether ``config.yaml`` exists (it must then hold ``config``)."""
        config_path = self.path / "config.yaml"
        if not config_path.exists():
            return False
        try:
            existing = yaml.load(config_path.read_text(), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
        except yaml.YAMLError as exc:
            raise CorruptRunError(f"cannot read {config_path}: {exc}".splitlines()[0]) from None
        if _results_part(existing) != _results_part(config):
            raise RunConflictError(
                f"{self.path} already holds a run of a different config; refusing to overwrite it "
                "(choose another --out directory or delete that run)."
            )
        return True

    # -- status ---------------------------------------------------------------------------
    def read_status(self) -> dict[str, Any]:
        path = self.path / "run.json"
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CorruptRunError(f"cannot read {path}: {exc}") from None

    def write_status(self, status: dict[str, Any]) -> None:
        atomic_write_text(self.path / "run.json", json.dumps({**status, "updated": _now()}, indent=2), durable=False)

    def update_status(self, **changes: Any) -> None:
        """Change some fields of ``run.json``: of the status this process holds for a run it
        opened (it holds the lock: nobody else writes it), else of the file as read now."""
        status = {**(self._status if self._status is not None else self.read_status()), **changes}
        self.write_status(status)
        if self._status is not None:
            self._status = status

    @property
    def status(self) -> dict[str, Any]:
        """The status of a run this process opened (as last written or read), else as read now."""
        return dict(self._status) if self._status is not None else self.read_status()

    # -- loop state -----------------------------------------------------------------------
    def save_state(self, arrays: dict[str, np.ndarray]) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                # numpy's stub: a key of **arrays could be its bool keyword allow_pickle
                np.savez(handle, **arrays)  # type: ignore[arg-type]

        atomic_write(self.state_path, write, durable=False)  # the commit record after it is fsynced

    def load_state(self) -> dict[str, np.ndarray] | None:
        """The saved loop state, None if there is none.

        Raises:
            CorruptRunError: the file is damaged (one line naming it), or lacks its generation.
        """
        if not self.state_path.exists():
            return None
        try:
            with np.load(self.state_path, allow_pickle=False) as data:
                state = {key: data[key] for key in data.files}
            int(state["generation"])
        except (OSError, ValueError, EOFError, KeyError, TypeError, zipfile.BadZipFile, zlib.error) as exc:
            raise CorruptRunError(
                f"cannot read {self.state_path}: {type(exc).__name__}: {exc}".splitlines()[0]
                + " (delete it to recompute the run from its start)"
            ) from None
        return state

    # -- snapshots ------------------------------------------------------------------------
    def save_samples(self, name: str, x: np.ndarray) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, x)

        atomic_write(self.path / "samples" / f"{name}.npy", write, durable=False)


