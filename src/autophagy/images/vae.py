"""``generator.kind: vae`` — a variational autoencoder of images (Shumailov et al. 2024, §VAE).

λ (``bias``) scales the standard deviation of the latent prior: samples decode z ~ N(0, λ² I),
so λ < 1 draws from the prior's core (truncation-like: typical, low-diversity images) and
λ = 1 is the plain VAE sampler. Samples are the decoder's mean images (pixel probabilities of
its Bernoulli likelihood). The torch implementation is :mod:`autophagy.images.vae_model`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveFloat, PositiveInt

from autophagy.core.generator import ModelMemory
from autophagy.neural.config import NeuralConfig
from autophagy.registry import lazy, register


class VAEConfig(NeuralConfig):
    """``generator: {kind: vae, latent_dim, architecture, beta, ...}`` plus :class:`NeuralConfig`'s keys.

    Attributes:
        latent_dim: dimension of z.
        architecture: ``mlp`` (fully connected encoder/decoder of ``width`` units) or ``conv``
            (strided convolutions; for 28×28 / 32×32 images on a GPU).
        beta: weight of the KL term (1 = the evidence lower bound).
    """

    kind: Literal["vae"] = "vae"
    latent_dim: PositiveInt = 16
    architecture: Literal["mlp", "conv"] = "mlp"
    beta: PositiveFloat = 1.0
    steps: PositiveInt = 2000
    lr: PositiveFloat = Field(default=1e-3)

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        return network_memory(self, width)


#: What importing PyTorch and its kernels takes, in bytes.
TORCH_RUNTIME = 512 * 2**20


def network_memory(config: NeuralConfig, width: int) -> ModelMemory:
    """A rough memory estimate of a neural image generator on rows of ``width`` floats, in bytes:
    two networks of a few ``width`` × ``config.width`` and ``config.width``² layers (float32
    weights, their gradients and Adam's two moments), a minibatch of activations, a batch of
    generated rows, and PyTorch itself (see :mod:`autophagy.core.memory`)."""
    h = config.width
    weights = 2 * (4 * h * h + 2 * h * width)
    work = 4 * 4 * weights + 4 * 16 * config.batch_size * (h + width) + 8 * 2 * config.eval_batch * width
    return ModelMemory(4 * weights, work, "generator.width", f"networks of about {weights:,} weights", TORCH_RUNTIME)


register("generator", "vae", "variational autoencoder (PyTorch, extra 'neural'); λ scales the latent prior's standard deviation", VAEConfig, provides={"state"})(lazy("autophagy.images.vae_model:build"))
