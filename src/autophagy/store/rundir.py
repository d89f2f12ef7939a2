"""One directory per run, written atomically.

Contract of a run directory ``<out>/<name>/<run_id>/``:

- ``config.yaml``: the resolved config; a directory holding a different config is refused.
- ``run.json``: run_id, name, status (pending | running | complete | failed | interrupted), seed,
  repeats, generations, generations_done, attempts (times a process started computing it),
  compute_s (seconds spent computing, over all attempts), host and pid (of the process that
  last started computing it), version, git_sha, created, updated, error (the message of the
  last failure).
- ``.lock``: held (``fcntl.flock``) by the process computing the run (:mod:`.lock`).
- ``metrics.parquet``: columns run, seed, generation, metric, value; rewritten (temp file +
  rename) after every generation, so it always holds whole generations.
- ``state.npz``: the loop state after the last finished generation (pools, fitted
  generators), enough to resume exactly.
- ``samples/real.npy``, ``samples/gen-NNNN.npy``: scatter snapshots of the first repeat.

Any number of processes can write different run directories side by side; one run directory is
written only by the process holding its lock (the runner takes it), and any reader sees either
the old or the new version of each file.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from autophagy.exceptions import CorruptRunError, RunConflictError

METRIC_COLUMNS = ["run", "seed", "generation", "metric", "value"]
#: PyYAML's safe loader, in C where libyaml is present (a sweep re-reads thousands of configs).
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through a temp file in the same directory, then rename over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_text(path: Path, text: str) -> None:
    """:func:`atomic_write` of UTF-8 text (whatever the locale's encoding)."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(tmp)


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
            atomic_write_text(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False))
        if not self.read_status():
            self.write_status(initial_status(config, run_id, version, "running"))

    def create_pending(self, config: dict[str, Any], run_id: str, *, version: str) -> bool:
        """Write a not-yet-started run (``status: pending``) unless the directory holds one already.

        Safe against other processes doing the same or computing the run: ``config.yaml`` and
        ``run.json`` are only ever created here, never replaced (an existing status is kept).

        Returns:
            Whether this call created the run's ``run.json``.
        """
        if not self._check_config(config):
            self.path.mkdir(parents=True, exist_ok=True)
            if not _create_exclusive(self.path / "config.yaml", yaml.safe_dump(config, sort_keys=False)):
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
        if existing != config:
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
        atomic_write_text(self.path / "run.json", json.dumps({**status, "updated": _now()}, indent=2))

    def update_status(self, **changes: Any) -> None:
        self.write_status({**self.read_status(), **changes})

    # -- metrics --------------------------------------------------------------------------
    def read_metrics(self) -> Any:
        """The metrics table as a pandas DataFrame (empty if none yet)."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not self.metrics_path.exists():
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _DTYPES.items()})
        try:
            table = pq.read_table(self.metrics_path)
        except (pa.ArrowException, OSError) as exc:
            raise CorruptRunError(f"cannot read {self.metrics_path}: {exc}".splitlines()[0]) from None
        missing = set(METRIC_COLUMNS) - set(table.column_names)
        if missing:
            raise CorruptRunError(f"cannot read {self.metrics_path}: missing columns {sorted(missing)}")
        return table.to_pandas()[METRIC_COLUMNS]

    def write_metrics(self, frame: Any) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame[METRIC_COLUMNS].astype(_DTYPES), preserve_index=False)
        atomic_write(self.metrics_path, lambda tmp: pq.write_table(table, tmp))

    # -- loop state -----------------------------------------------------------------------
    def save_state(self, arrays: dict[str, np.ndarray]) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                # numpy's stub: a key of **arrays could be its bool keyword allow_pickle
                np.savez(handle, **arrays)  # type: ignore[arg-type]

        atomic_write(self.state_path, write)

    def load_state(self) -> dict[str, np.ndarray] | None:
        if not self.state_path.exists():
            return None
        try:
            with np.load(self.state_path, allow_pickle=False) as data:
                return {key: data[key] for key in data.files}
        except (OSError, ValueError, EOFError) as exc:
            raise CorruptRunError(f"cannot read {self.state_path}: {exc}") from None

    # -- snapshots ------------------------------------------------------------------------
    def save_samples(self, name: str, x: np.ndarray) -> None:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                np.save(handle, x)

        atomic_write(self.path / "samples" / f"{name}.npy", write)


_DTYPES = {"run": "string", "seed": "int64", "generation": "int64", "metric": "string", "value": "float64"}
