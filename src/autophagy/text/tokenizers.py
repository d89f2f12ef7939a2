"""Tokenizers of real text: characters, bytes, or a byte-level BPE trained here.

All three are fitted on the *training* split only and map text to ids ``0..vocab_size-1``:

* ``char`` - one id per character of the training text (sorted by code point), plus id 0,
  :data:`UNK`, for any character the training text lacks (decoded as U+FFFD, the replacement
  character). ``decode(encode(text)) == text`` whenever the text's characters were all seen.
* ``byte`` - the 256 byte values of the UTF-8 encoding: lossless, nothing to fit. A chunk cut
  inside a multi-byte character decodes that character as U+FFFD.
* ``bpe`` - Hugging Face ``tokenizers``' BPE over a byte-level alphabet (GPT-2's scheme: the 256
  bytes as symbols, text pre-split by the GPT-2 regex, no prefix space, no special tokens),
  trained to ``vocab_size`` ids (fewer if the text runs out of pairs seen at least
  :data:`MIN_FREQUENCY` times). Lossless like ``byte``. Training is deterministic (checked across
  processes), and its result is cached: in this process's memory always, and as
  ``bpe-<key[:16]>.json`` under :func:`set_cache_dir` (the runner's cache directory) when one is
  set, where the key is the SHA-256 of :data:`RECIPE`, the settings and the training text. Nothing
  is ever downloaded; ``tokenizers`` comes with the ``text`` extra.

The text is handed to ``tokenizers`` in pieces, cut before each newline that a printable ASCII
character follows: the GPT-2 regex always splits there (a whitespace run before a word is split
before its last character), so the pieces are pre-tokenized, counted for training and encoded
exactly as the whole text would be, but as a batch (3x faster on a 4 M-character corpus). ``TOKENIZERS_PARALLELISM``
defaults to false here, as autophagy runs one thread per process (a user setting wins).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from autophagy._validation import check
from autophagy.exceptions import MissingExtraError
from autophagy.store.rundir import atomic_write_text

#: Id of unknown characters in the ``char`` tokenizer.
UNK = 0
#: Version of the BPE recipe, part of the cache key: bump it with any change to :func:`train_bpe`.
RECIPE = 1
#: A pair must occur this often in the training text to be merged.
MIN_FREQUENCY = 2
_PIECE = re.compile(r"(?=\n[!-~])")

_cache_dir: Path | None = None
_memory: dict[str, BPETokenizer] = {}


class Tokenizer(Protocol):
    """Text <-> token ids."""

    vocab_size: int
    tokens: list[str]  # display string of each id

    def encode(self, text: str) -> np.ndarray:
        """Text -> ids (m,) int64."""
        ...

    def decode(self, ids: np.ndarray) -> str:
        """Ids (m,) (ints or integer-valued floats) -> text."""
        ...


def as_ids(ids: Any, vocab_size: int) -> np.ndarray:
    """Integer-valued ids (m,) -> int64, refusing values outside ``0..vocab_size-1``."""
    a = np.asarray(ids).reshape(-1)
    out = np.rint(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(np.int64)
    ok = a.size == 0 or (np.all(out == a) and out.min() >= 0 and out.max() < vocab_size)
    check(bool(ok), "ids", f"integer token ids in 0..{vocab_size - 1}", "other values")
    return out


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4").astype(np.int64)


class CharTokenizer:
    """One id per character seen in the training text; id :data:`UNK` for the others."""

    def __init__(self, alphabet: str) -> None:
        self._points = np.unique(_code_points(alphabet))  # sorted code points, ids 1..
        self._chars = np.array(["\ufffd"] + [chr(int(p)) for p in self._points], dtype=object)
        self.vocab_size = len(self._chars)
        self.tokens: list[str] = list(self._chars)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and np.array_equal(self._points, other._points)

    def __hash__(self) -> int:
        return hash(self._points.tobytes())

    @classmethod
    def fit(cls, text: str) -> CharTokenizer:
        return cls("".join(sorted(set(text))))

    def encode(self, text: str) -> np.ndarray:
        points = _code_points(text)
        index = np.searchsorted(self._points, points)
        known = (index < len(self._points)) & (self._points[np.minimum(index, len(self._points) - 1)] == points)
        return np.where(known, index + 1, UNK)

    def decode(self, ids: np.ndarray) -> str:
        return "".join(self._chars[as_ids(ids, self.vocab_size)])


class ByteTokenizer:
    """The 256 bytes of UTF-8."""

    vocab_size = 256

    def __init__(self) -> None:
        self.tokens: list[str] = [chr(b) if 32 <= b < 127 else f"<0x{b:02X}>" for b in range(256)]

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ByteTokenizer)

    def __hash__(self) -> int:
        return hash(ByteTokenizer)

    def encode(self, text: str) -> np.ndarray:
        return np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8).astype(np.int64)

    def decode(self, ids: np.ndarray) -> str:
        return as_ids(ids, 256).astype(np.uint8).tobytes().decode("utf-8", errors="replace")


class BPETokenizer:
    """A trained Hugging Face byte-level BPE tokenizer (see the module docstring)."""

    def __init__(self, hf: Any) -> None:
        self.hf = hf
        self.vocab_size = int(hf.get_vocab_size())
        self.tokens: list[str] = hf.decode_batch([[i] for i in range(self.vocab_size)])

    def to_json(self) -> str:
        return str(self.hf.to_str())

    def encode(self, text: str) -> np.ndarray:
        encodings = self.hf.encode_batch(pieces(text))
        return np.fromiter((i for e in encodings for i in e.ids), dtype=np.int64)

    def decode(self, ids: np.ndarray) -> str:
        return str(self.hf.decode(as_ids(ids, self.vocab_size).tolist()))


def pieces(text: str) -> list[str]:
    """``text`` cut before each newline that a printable ASCII character follows (they concatenate
    to ``text``)."""
    return [p for p in _PIECE.split(text) if p]


def _hf_tokenizers() -> Any:
    # its thread pool stays off: autophagy._threads sets TOKENIZERS_PARALLELISM=false on import
    try:
        import tokenizers
    except ModuleNotFoundError as exc:
        raise MissingExtraError("the bpe tokenizer needs Hugging Face tokenizers: pip install 'autophagy[text]'") from exc
    return tokenizers


def set_cache_dir(path: str | Path | None) -> None:
    """Where trained BPE tokenizers are saved and looked up (None: in memory only)."""
    global _cache_dir
    _cache_dir = None if path is None else Path(path)


def cache_key(text: str, vocab_size: int) -> str:
    """SHA-256 (hex) of the recipe, the settings and the training text."""
    digest = hashlib.sha256(repr((RECIPE, "byte-level-bpe", vocab_size, MIN_FREQUENCY)).encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _train_bpe(text: str, vocab_size: int) -> str:
    """Train a byte-level BPE on ``text``; its JSON."""
    hf = _hf_tokenizers()
    tokenizer = hf.Tokenizer(hf.models.BPE())
    tokenizer.pre_tokenizer = hf.pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = hf.decoders.ByteLevel()
    trainer = hf.trainers.BpeTrainer(
        vocab_size=vocab_size, min_frequency=MIN_FREQUENCY, show_progress=False,
        initial_alphabet=hf.pre_tokenizers.ByteLevel.alphabet(), special_tokens=[],
    )
    tokenizer.train_from_iterator(pieces(text), trainer=trainer)
    return str(tokenizer.to_str())


def _load_saved(path: Path) -> BPETokenizer | None:
    """The tokenizer saved at ``path``, or None (missing or unreadable: trained again)."""
    if not path.is_file():
        return None
    try:
        return BPETokenizer(_hf_tokenizers().Tokenizer.from_str(path.read_text(encoding="utf-8")))
    except MissingExtraError:
        raise
    except Exception as exc:  # noqa: BLE001 - a bad cache file is trained over, never fatal
        warnings.warn(f"ignoring the unreadable tokenizer cache {path} ({type(exc).__name__}); training again", stacklevel=3)
        return None


def train_bpe(text: str, vocab_size: int) -> BPETokenizer:
    """The byte-level BPE of ``text`` with ``vocab_size`` ids: from memory, else from the cache
    directory, else trained. Saved in the cache directory (when one is set) if not there yet,
    also when it came from memory: a source built before the runner set the directory still
    leaves its tokenizer in the run's cache."""
    key = cache_key(text, vocab_size)
    path = None if _cache_dir is None else _cache_dir / f"bpe-{key[:16]}.json"
    tokenizer = _memory.get(key)
    if tokenizer is None and path is not None:
        tokenizer = _load_saved(path)
    trained = tokenizer is None
    if tokenizer is None:
        tokenizer = BPETokenizer(_hf_tokenizers().Tokenizer.from_str(_train_bpe(text, vocab_size)))
    if path is not None and (trained or not path.is_file()):  # a bad cache file is replaced
        atomic_write_text(path, tokenizer.to_json())
    _memory[key] = tokenizer
    return tokenizer


def fit_tokenizer(kind: str, text: str, vocab_size: int | None = None) -> Tokenizer:
    """The tokenizer ``kind`` (``char``, ``byte``, ``bpe``) fitted on the training text."""
    if kind == "char":
        return CharTokenizer.fit(text)
    if kind == "byte":
        return ByteTokenizer()
    check(kind == "bpe", "data.tokenizer", "'char', 'byte' or 'bpe'", kind)
    check(vocab_size is not None and vocab_size > 256, "data.vocab_size", "an int > 256 for tokenizer 'bpe'", vocab_size)
    return train_bpe(text, int(vocab_size))  # type: ignore[arg-type]
