"""Decoding keys shared by the language-model families (``ngram``, ``transformer``).

λ (``bias``) is the sampling temperature of ``decoding: sample`` (``p_i ∝ p_i^{1/λ}``; λ = 1
samples the model, smaller is more mode-seeking); ``top_k`` / ``top_p`` truncate the next-token
law; ``decoding: greedy | beam`` sample the first token and search the rest deterministically, so
they need λ = 1. Each family documents how it applies ``repetition_penalty``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveInt, model_validator

from autophagy._validation import check
from autophagy.core.generator import GeneratorConfig


class DecodingConfig(GeneratorConfig):
    """``decoding``, ``top_k``, ``top_p``, ``beam_size``, ``repetition_penalty`` of a language model.

    Attributes:
        decoding: ``sample`` (temperature λ), ``greedy`` or ``beam``.
        top_k: sample among the k most probable tokens only (null: all).
        top_p: nucleus mass in (0, 1] (1: no truncation).
        beam_size: hypotheses kept by ``decoding: beam``.
        repetition_penalty: θ >= 1 (1: off); see the family for how it is applied.
    """

    #: the data these generators model (see autophagy.modality.data_modality): token sequences.
    modality: ClassVar[str] = "text"

    decoding: Literal["sample", "greedy", "beam"] = "sample"
    top_k: PositiveInt | None = None
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    beam_size: PositiveInt = 5
    repetition_penalty: float = Field(default=1.0, ge=1.0)

    @model_validator(mode="after")
    def _deterministic_decoding_has_no_temperature(self) -> DecodingConfig:
        check(
            self.decoding == "sample" or self.bias == 1.0,
            "generator.bias",
            f"1 with generator.decoding {self.decoding!r} (λ is the temperature of decoding 'sample'; "
            "greedy and beam search are deterministic)",
            self.bias,
        )
        return self
