"""``generator.kind: gan`` — a small GAN with a mapping network and the truncation trick.

z ~ N(0, I) is mapped to w = f(z) by an MLP (StyleGAN's mapping network), the synthesis network
draws the image from w. λ (``bias``) truncates in w-space: w' = w̄ + λ (w - w̄), with w̄ the mean
of f(z) (tracked as a moving average while training, as StyleGAN does), so λ = 1 is the
untruncated sampler and smaller λ pulls every sample toward the average image (Alemohammad et
al. 2024, the GAN experiments' sampling bias). The torch implementation is
:mod:`autophagy.images.gan_model`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from autophagy.core.generator import ModelMemory
from autophagy.images.vae import network_memory
from autophagy.neural.config import NeuralConfig
from autophagy.registry import lazy, register


class GANConfig(NeuralConfig):
    """``generator: {kind: gan, latent_dim, mapping_layers, architecture, ...}`` plus :class:`NeuralConfig`'s keys.

    Attributes:
        latent_dim: dimension of z and of w.
        mapping_layers: depth of the mapping MLP z -> w (0: w = z).
        architecture: ``mlp`` or ``conv`` (DCGAN-style, for 28×28 / 32×32 on a GPU).
        w_avg_beta: decay of the moving average w̄ (per step).
    """

    kind: Literal["gan"] = "gan"
    latent_dim: PositiveInt = 32
    mapping_layers: int = Field(default=2, ge=0, le=8)
    architecture: Literal["mlp", "conv"] = "mlp"
    w_avg_beta: float = Field(default=0.995, gt=0.0, lt=1.0)
    steps: PositiveInt = 3000
    lr: PositiveFloat = 1e-3  # with R1 (γ = 1) on 8×8 digits: clearer digits than 2e-4 in 3000 steps

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        return network_memory(self, width)


register("generator", "gan", "GAN with a mapping network (PyTorch, extra 'neural'); λ truncates latents toward their mean", GANConfig, provides={"state"})(lazy("autophagy.images.gan_model:build"))
