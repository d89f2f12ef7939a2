"""Hugging Face helpers shared by the transformer family and the sentence embedder."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """Silence transformers' progress bars and notices while loading or building a model (once
    per generation they flood a log); the previous settings come back afterwards."""
    import transformers

    hf = transformers.utils.logging
    verbosity, bars = hf.get_verbosity(), hf.is_progress_bar_enabled()
    hf.set_verbosity_error()
    hf.disable_progress_bar()
    try:
        yield
    finally:
        hf.set_verbosity(verbosity)
        if bars:
            hf.enable_progress_bar()
