"""``generator.kind: transformer`` — a GPT-style causal language model (Hugging Face ``transformers``).

The model is either a tiny GPT-2 built from ``n_layer``/``n_head``/``n_embd`` (trains on a CPU)
or a **local** Hugging Face causal-LM checkpoint directory (``pretrained``, e.g. OPT-125m on a
GPU machine), always loaded with ``local_files_only=True``: nothing is ever downloaded.

``init`` says what each generation's fit starts from:

* ``base`` (Shumailov et al. 2024): every generation fine-tunes the same base model — the
  ``pretrained`` checkpoint, or, for a model built from the config, the same random weights
  drawn from ``base_seed`` (the run's streams cannot name "generation 1's weights" later, and a
  fixed seed makes the base the same for every generation and every repeat, as a checkpoint is).
* ``scratch``: fresh random weights from the generation's ``fit`` stream (for ``pretrained``:
  the checkpoint's architecture, its weights thrown away).
* ``warm_start``: continue from G^{t-1}'s weights (the engine loads them with ``set_state``);
  the first generation starts as ``base`` does.

λ (``bias``) is the sampling temperature of ``decoding: sample`` (``p_i ∝ p_i^{1/λ}``; λ = 1
samples the model, smaller is more mode-seeking); ``top_k``, ``top_p`` and the repetition
penalty apply on top. ``decoding: greedy | beam`` draw the first token from the model and search
the rest (so the n samples differ); they need λ = 1. The torch implementation is
:mod:`autophagy.text.transformer_model`, the decoding rules :mod:`autophagy.text.decoding_rules`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from autophagy._validation import check
from autophagy.core.generator import ModelMemory
from autophagy.exceptions import MissingExtraError
from autophagy.neural.config import NeuralConfig
from autophagy.registry import lazy, register
from autophagy.text.decoding import DecodingConfig
from autophagy.text.pretrained import check_pretrained

#: The one line a user without Hugging Face transformers sees.
INSTALL_HINT = "pip install 'autophagy[text]'"


class TransformerConfig(NeuralConfig, DecodingConfig):
    """``generator: {kind: transformer, pretrained, n_layer, n_head, n_embd, init, decoding, ...}``.

    Plus :class:`NeuralConfig`'s keys (``device``, ``steps``, ``batch_size``, ``lr``,
    ``mixed_precision``, ``eval_batch``); ``width`` does not apply (``n_embd`` is the width) and
    ``conditional`` must stay false. The sequence length and vocabulary come from the source.

    Attributes:
        pretrained: a local checkpoint directory (``config.json`` and weights); null builds a
            GPT-2 from ``n_layer``, ``n_head``, ``n_embd``.
        n_layer, n_head, n_embd: the GPT-2 built without ``pretrained`` (ignored with it).
        init: ``base``, ``scratch`` or ``warm_start`` (module docstring).
        base_seed: the seed of the base weights of a model built from the config.
        vocab: ``source``: the model's vocabulary is the source's V ids plus the lab's BOS
            (id V); a checkpoint's token embeddings are resized to V + 1 (its body stays
            pretrained; ids keep the checkpoint's rows 0..V-1, whatever they meant to it).
            ``pretrained``: the source's ids are the checkpoint's own token ids (data tokenized
            with its tokenizer); the checkpoint keeps its vocabulary (>= V required) and BOS.
        epochs: passes over the training set per generation; when set, it replaces ``steps``
            (epochs × ⌊n / batch_size⌋ steps, n the training sequences).
        lr: AdamW's learning rate; the default suits the tiny model trained from scratch, a
            pretrained checkpoint is fine-tuned with a far smaller one (~1e-5 to 1e-4).
        weight_decay: AdamW's decoupled weight decay.
        grad_clip: clip the gradient's global norm to this (null: no clipping).
        decoding: ``sample`` (temperature λ), ``greedy`` or ``beam``.
        top_k: sample among the k most probable tokens only (null: all).
        top_p: nucleus mass in (0, 1] (1: no truncation).
        beam_size: hypotheses kept by ``decoding: beam``.
        repetition_penalty: θ >= 1, CTRL-style (Keskar et al. 2019): the logit of a token
            already in the sequence is divided by θ when positive, multiplied when negative.

    The defaults (2 layers, 64-d, 800 steps of 32 sequences = 1.6 M training tokens) train at
    about 25 k tokens/s and sample at about 15 k tokens/s on one CPU core for the grammar
    source (seq_len 64, V = 2000): 5 generations of 2000 training sequences each take 6-10
    minutes.
    """

    #: the data this generator models (see autophagy.modality.data_modality): token sequences.
    modality: ClassVar[str] = "text"

    kind: Literal["transformer"] = "transformer"
    pretrained: str | None = None
    n_layer: PositiveInt = 2
    n_head: PositiveInt = 2
    n_embd: PositiveInt = 64
    init: Literal["base", "scratch", "warm_start"] = "base"  # type: ignore[assignment]
    base_seed: NonNegativeInt = 0
    vocab: Literal["source", "pretrained"] = "source"
    steps: PositiveInt = 800
    epochs: PositiveInt | None = None
    batch_size: PositiveInt = 32
    lr: PositiveFloat = 1e-3
    weight_decay: float = Field(default=0.0, ge=0.0)
    grad_clip: PositiveFloat | None = 1.0
    eval_batch: PositiveInt = Field(default=256, description="sequences sampled or scored per forward batch")

    @model_validator(mode="after")
    def _consistent(self) -> TransformerConfig:
        allowed = f"a multiple of generator.n_head = {self.n_head}"
        check(self.n_embd % self.n_head == 0, "generator.n_embd", allowed, self.n_embd)
        check(
            self.vocab == "source" or self.pretrained is not None,
            "generator.vocab",
            "'source' without generator.pretrained (only a checkpoint has a vocabulary of its own)",
            self.vocab,
        )
        allowed = "false for a language model (text has no class labels)"
        check(not self.conditional, "generator.conditional", allowed, self.conditional)
        return self

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """A rough estimate in bytes for sequences of ``width`` tokens: the body's 12·n_layer·n_embd²
        float32 weights (a checkpoint's: its weight files) with gradients and AdamW's moments,
        a minibatch of activations, and PyTorch itself; the vocabulary's share is left out."""
        from pathlib import Path

        weights = 12 * self.n_layer * self.n_embd**2
        if self.pretrained is not None and Path(self.pretrained).is_dir():
            files = [f for f in Path(self.pretrained).iterdir() if f.suffix in (".safetensors", ".bin", ".pt")]
            weights = max(weights, sum(f.stat().st_size for f in files) // 4)
        activations = 4 * 16 * self.batch_size * width * self.n_embd * self.n_layer
        return ModelMemory(4 * weights, 16 * weights + activations, "generator.n_embd", f"a transformer of about {weights:,} weights", 512 * 2**20)


@register(
    "generator", "transformer",
    "GPT-style causal LM (Hugging Face transformers, extra 'text'): tiny from config or a local "
    "checkpoint; λ = sampling temperature",
    TransformerConfig,
    provides={"log_prob", "state"},
)  # fmt: skip
def build(config: TransformerConfig, source: Any = None) -> Any:
    check_pretrained(config.pretrained)
    from autophagy.neural._torch import require_torch

    require_torch()
    try:
        import transformers  # noqa: F401
    except ImportError:
        raise MissingExtraError(
            f"The transformer generator needs Hugging Face transformers, which is not installed: {INSTALL_HINT}"
        ) from None
    return _model(config, vocab_size=source.vocab_size, seq_len=source.seq_len)


_model = lazy("autophagy.text.transformer_model:TransformerLM")
