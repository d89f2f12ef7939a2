"""``generator.kind: ngram`` — an interpolated modified Kneser–Ney n-gram language model.

λ (``bias``) is the sampling temperature of ``decoding: sample`` (``p_i ∝ p_i^{1/λ}``; λ = 1
samples the model exactly, smaller is more mode-seeking). ``top_k``, ``top_p`` and the
repetition penalty apply on top; ``decoding: greedy | beam`` draw the first token and search
the rest deterministically, and need λ = 1. The model and the decoding rules are documented in
:mod:`autophagy.text.ngram_model` (pure NumPy, imported only when a generator is built).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import PositiveInt

from autophagy.core.generator import ModelMemory
from autophagy.registry import register
from autophagy.text.decoding import DecodingConfig


class NGramConfig(DecodingConfig):
    """``generator: {kind: ngram, order, discount, decoding, top_k, top_p, beam_size, repetition_penalty, bias}``.

    Attributes:
        order: n of the n-gram (each token conditions on the ``order - 1`` previous ones).
        discount: ``modified_kn`` (Chen & Goodman's D1, D2, D3+ per order) or ``kn`` (one D).
        decoding: ``sample`` (temperature λ), ``greedy`` or ``beam`` (deterministic after a
            sampled first token; λ must be 1).
        top_k: sample among the k most probable tokens only (null: all).
        top_p: nucleus sampling mass in (0, 1] (1: no truncation).
        beam_size: hypotheses kept by ``decoding: beam``.
        repetition_penalty: θ >= 1; tokens already in the sequence have their probability
            divided by θ before renormalising (1: off).
    """

    kind: Literal["ngram"] = "ngram"
    order: PositiveInt = 3
    discount: Literal["modified_kn", "kn"] = "modified_kn"
    beam_size: PositiveInt = 4

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes of one model (sorted n-gram counts of every order, a few int64 per token) and of
        counting them (as much again), for ``n_train`` sequences of ``width`` tokens."""
        counts = 8 * 3 * self.order * n_train * width
        return ModelMemory(counts, counts, None, f"n-gram counts of {n_train:,} sequences × {width} tokens")


@register(
    "generator",
    "ngram",
    "interpolated modified Kneser-Ney n-gram LM (NumPy); λ = sampling temperature",
    NGramConfig,
    provides={"log_prob", "state"},
)
def build(config: NGramConfig, source: Any = None) -> Any:
    from autophagy.text.ngram_model import NGramLM

    return NGramLM(
        vocab_size=source.vocab_size,
        seq_len=source.seq_len,
        order=config.order,
        discount=config.discount,
        decoding=config.decoding,
        top_k=config.top_k,
        top_p=config.top_p,
        beam_size=config.beam_size,
        repetition_penalty=config.repetition_penalty,
    )
