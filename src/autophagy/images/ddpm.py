"""``generator.kind: ddpm`` — class-conditional denoising diffusion with classifier-free guidance.

The denoiser ε_θ(x_t, t, c) is trained with the class condition c dropped (replaced by a null
class) on ``cond_drop`` of the rows (Ho & Salimans 2022). Sampling uses the guided prediction
ε̃ = (1 + w) ε_θ(x_t, t, c) - w ε_θ(x_t, t, ∅) with guidance weight w, and the lab's sampling
bias is λ = 1 / (1 + w), exactly as in Alemohammad et al. 2024 (§ sampling bias): λ = 1 is
w = 0, the plain conditional sampler; smaller λ = stronger guidance = higher quality, lower
diversity. Give either ``bias`` (λ) or ``guidance`` (w); the resolved config holds both.
``sampler: ddim`` samples in ``sample_steps`` deterministic DDIM steps (η = 0) instead of the
``timesteps`` ancestral steps. The torch implementation is :mod:`autophagy.images.ddpm_model`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveFloat, PositiveInt, model_validator

from autophagy._validation import check
from autophagy.core.generator import ModelMemory
from autophagy.images.guidance import bias_for, guidance_for
from autophagy.images.vae import network_memory
from autophagy.neural.config import NeuralConfig
from autophagy.registry import lazy, register


class DDPMConfig(NeuralConfig):
    """``generator: {kind: ddpm, guidance, timesteps, schedule, denoiser, sampler, ...}``.

    Attributes:
        guidance: classifier-free guidance weight w >= 0 (sets bias = 1/(1+w)); unset: from bias.
        timesteps: diffusion steps T of training (and of the ancestral sampler).
        schedule: noise schedule β_t: ``cosine`` (Nichol & Dhariwal 2021) or ``linear`` (Ho et al. 2020).
        denoiser: ``mlp`` (for 8×8 digits on a CPU) or ``unet`` (a small U-Net, 28×28 / 32×32 on a GPU).
        cond_drop: share of training rows whose condition is dropped (10 % as in the article).
        sampler: ``ddim`` (deterministic, ``sample_steps`` steps) or ``ddpm`` (ancestral, T steps).
        sample_steps: DDIM steps.
        width: hidden units of the MLP denoiser and of the time/class embedding; the U-Net has
            width/4, width/2, width/2 channels at its three resolutions (256 suits 28×28 on a GPU).
            With the default ``steps``, the MLP fits the 1,438 training digits (8×8) in about
            25 s on one CPU core.
    """

    kind: Literal["ddpm"] = "ddpm"
    conditional: bool = True
    guidance: float | None = Field(default=None, ge=0.0)
    timesteps: PositiveInt = 200
    schedule: Literal["cosine", "linear"] = "cosine"
    denoiser: Literal["mlp", "unet"] = "mlp"
    cond_drop: float = Field(default=0.1, ge=0.0, lt=1.0)
    sampler: Literal["ddim", "ddpm"] = "ddim"
    sample_steps: PositiveInt = 50
    steps: PositiveInt = 3000
    width: PositiveInt = 128
    lr: PositiveFloat = 1e-3

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        return network_memory(self, width)

    @model_validator(mode="before")
    @classmethod
    def _guidance_and_bias(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("guidance") is None:
            return data
        w = data["guidance"]
        check(isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0, "generator.guidance", "a number >= 0 (w of λ = 1/(1+w))", w)
        if "bias" in data and data["bias"] is not None:
            check(
                abs(float(data["bias"]) - bias_for(w)) <= 1e-9,
                "generator.bias",
                f"1/(1 + guidance) = {bias_for(w):.6g} when generator.guidance is {w} (give one of the two)",
                data["bias"],
            )
        return {**data, "bias": bias_for(w)}

    @model_validator(mode="after")
    def _resolved(self) -> DDPMConfig:
        check(self.conditional or self.bias == 1.0, "generator.bias", "1 for an unconditional DDPM (guidance needs a class condition)", self.bias)
        check(self.sampler == "ddpm" or self.sample_steps <= self.timesteps, "generator.sample_steps", f"<= generator.timesteps ({self.timesteps})", self.sample_steps)
        if self.guidance is None:
            object.__setattr__(self, "guidance", guidance_for(self.bias))
        return self


register("generator", "ddpm", "class-conditional DDPM with classifier-free guidance (PyTorch, extra 'neural'); λ = 1/(1+w)", DDPMConfig, provides={"state"})(lazy("autophagy.images.ddpm_model:build"))
