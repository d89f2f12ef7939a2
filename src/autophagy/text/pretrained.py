"""Local Hugging Face checkpoints: the check every use of ``pretrained`` makes (nothing is read
or downloaded here)."""

from __future__ import annotations

from pathlib import Path

from autophagy._validation import check


def check_pretrained(path: str | None, key: str = "generator.pretrained") -> None:
    """Refuse a ``pretrained`` value that is not a local model directory (no file is read).

    Raises:
        InvalidParameterError: the path does not exist, is not a directory, or has no
            ``config.json`` (what ``save_pretrained`` writes).
    """
    if path is None:
        return
    where = Path(path).expanduser()
    allowed = "an existing local directory holding a Hugging Face causal-LM checkpoint (never downloaded)"
    check(where.is_dir(), key, allowed, path)
    allowed = "a model directory with a config.json (as written by save_pretrained)"
    check((where / "config.json").is_file(), key, allowed, path)
