"""Text sources of the loop: ``data.kind`` ``grammar`` (a known language) and ``corpus`` (real text).

Both hand out fixed-length sequences of token ids, arrays (n, seq_len) of float64 integers (see
:mod:`autophagy.text`). This module holds their configs and registrations only; the sources live
in :mod:`autophagy.text.grammar` and :mod:`autophagy.text.corpus` (numpy only at import time).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from autophagy._validation import Model, check
from autophagy.registry import register
from autophagy.text.corpus import DEFAULT_BPE_VOCAB, Corpus, build_corpus
from autophagy.text.grammar import Grammar


class GrammarConfig(Model):
    """``data: {kind: grammar, vocab_size, order, branching, zipf, concentration, seq_len, table_size, seed, noise}``.

    A sparse order-``order`` Markov chain over ``vocab_size`` ids (id 0 ends a sentence) with a
    Zipf(``zipf``) base law; after each last token, ``branching`` slots of possible successors;
    each context's slot probabilities a Dirichlet(``concentration``) draw, hashed into
    ``table_size`` rows for order >= 2; tables drawn from ``seed`` (the grammar's own, not the
    run's); a share ``noise`` of tokens are uniform "typos", so every text has positive
    probability. Sequences of ``seq_len`` tokens start at a sentence start; the data are infinite.
    See :mod:`autophagy.text.grammar`.
    """

    kind: Literal["grammar"] = "grammar"
    vocab_size: int = Field(default=2000, ge=2, le=2**20, description="V token ids, id 0 the sentence end")
    order: int = Field(default=2, ge=1, le=8, description="k previous tokens the next one depends on")
    branching: int = Field(default=20, ge=2, description="slots of possible successors per last token (<= vocab_size)")
    zipf: float = Field(default=1.1, ge=0.0, le=10.0, description="exponent s of the base law z_v ∝ (v+1)^-s")
    concentration: float = Field(default=1.0, gt=0.0, description="Dirichlet parameter of each slot's probability")
    seq_len: PositiveInt = Field(default=64, description="tokens per sequence")
    table_size: int = Field(default=2**16, ge=1, le=2**24, description="rows of hashed context weights (order >= 2)")
    seed: NonNegativeInt = Field(default=0, description="seed of the grammar's tables")
    noise: float = Field(default=0.01, ge=0.0, lt=1.0, description="ε, share of tokens replaced by a uniform draw (typos): every text has P > 0")

    @model_validator(mode="after")
    def _sizes(self) -> GrammarConfig:
        check(self.branching <= self.vocab_size, "data.branching", f"an int in [2, data.vocab_size = {self.vocab_size}]", self.branching)
        check(
            self.vocab_size**self.order < 2**63, "data.order",
            f"an int >= 1 with data.vocab_size ** data.order < 2**63 (contexts are base-V integers; vocab_size = {self.vocab_size})",
            self.order,
        )
        return self


@functools.lru_cache(maxsize=4)
def _grammar(params: tuple[tuple[str, Any], ...]) -> Grammar:
    return Grammar(**dict(params))  # tables are read-only: one object serves every run of a process


@register("data", "grammar", "a known language: sparse higher-order Markov chain over a Zipfian vocabulary, exact log-probabilities", GrammarConfig)
def build_grammar(config: GrammarConfig) -> Grammar:
    return _grammar(tuple(config.model_dump(exclude={"kind"}).items()))


class CorpusConfig(Model):
    """``data: {kind: corpus, path, tokenizer, vocab_size, seq_len, split}``.

    ``path``: null for the bundled King James Bible (the ``text`` extra), a UTF-8 text file, or a
    folder of ``.txt`` files. ``tokenizer``: ``char``, ``byte`` or ``bpe`` (byte-level BPE trained
    locally on the training split; ``vocab_size`` its target size, 2000 when unset, and only for
    ``bpe``). ``split``: shares [train, validation, test] of the text, contiguous, in that order;
    the default [0.8, 0.1, 0.1] (about wikitext-2's proportions) leaves the bundled corpus 1,919
    test chunks of 64 BPE tokens, enough for the default ``eval.n_samples`` of 1000. Chunks of
    ``seq_len`` tokens are the samples. See :mod:`autophagy.text.corpus`.
    """

    kind: Literal["corpus"] = "corpus"
    path: str | None = None
    tokenizer: Literal["char", "byte", "bpe"] = "bpe"
    vocab_size: int | None = Field(default=None, ge=257, le=2**20, description="bpe only: target vocabulary (256 bytes + merges)")
    seq_len: PositiveInt = Field(default=64, description="tokens per sequence")
    split: list[float] = Field(default=[0.8, 0.1, 0.1], min_length=3, max_length=3, description="shares [train, validation, test]")

    @model_validator(mode="before")
    @classmethod
    def _bpe_vocab(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("tokenizer", "bpe") == "bpe" and data.get("vocab_size") is None:
            return {**data, "vocab_size": DEFAULT_BPE_VOCAB}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> CorpusConfig:
        check(
            self.tokenizer == "bpe" or self.vocab_size is None, "data.vocab_size",
            f"null unless data.tokenizer is 'bpe' (the {self.tokenizer} vocabulary is fixed by the text)", self.vocab_size,
        )
        train, _, test = self.split
        check(
            min(self.split) >= 0 and train > 0 and test > 0 and abs(sum(self.split) - 1.0) <= 1e-9, "data.split",
            "three shares [train, validation, test], each >= 0, train and test > 0, summing to 1", self.split,
        )
        return self


@register("data", "corpus", "real text (bundled King James Bible, a local file or folder) in fixed-length token chunks; char / byte / local BPE", CorpusConfig)
def build_corpus_source(config: CorpusConfig) -> Corpus:
    train, validation, test = config.split
    return build_corpus(config.path, config.tokenizer, config.vocab_size, config.seq_len, (train, validation, test))
