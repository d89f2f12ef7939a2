"""Config keys shared by the neural families (importable without torch)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, PositiveFloat, PositiveInt

from autophagy.core.generator import GeneratorConfig


class NeuralConfig(GeneratorConfig):
    """Keys of every neural generator: where and how it trains each generation.

    Attributes:
        device: ``auto`` (CUDA when torch sees a device, else CPU), ``cpu`` or ``cuda``.
        init: ``scratch`` (new weights from the ``fit`` stream every generation) or
            ``warm_start`` (continue from G^{t-1}'s weights, as iterative-retraining papers do;
            the optimiser state starts afresh each generation).
        steps: optimiser steps per generation (minibatches of ``batch_size``, drawn epoch by
            epoch without replacement).
        batch_size: training minibatch size.
        lr: Adam learning rate.
        width: hidden width of the networks (each family documents where it is used).
        conditional: whether the model is class-conditional (rows carry the class label).
        mixed_precision: bfloat16 autocast on CUDA (ignored on CPU).
    """

    #: the data these generators model (see autophagy.modality.data_modality): image rows here;
    #: a neural language model sets "text".
    modality: ClassVar[str] = "images"

    device: Literal["auto", "cpu", "cuda"] = "auto"
    init: Literal["scratch", "warm_start"] = "scratch"
    steps: PositiveInt = 1000
    batch_size: PositiveInt = 128
    lr: PositiveFloat = 1e-3
    width: PositiveInt = 256
    conditional: bool = False
    mixed_precision: bool = True
    eval_batch: PositiveInt = Field(default=1024, description="samples generated per forward batch")

    def check_runtime(self) -> None:
        """torch must be installed (:class:`~autophagy.exceptions.MissingExtraError` otherwise) and
        ``device`` available here."""
        from autophagy.neural._torch import require_torch, resolve_device

        require_torch()
        resolve_device(self.device)
