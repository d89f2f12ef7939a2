"""A Gaussian mixture as the real distribution: the classic 2-D grid, or a random mixture."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import NonNegativeInt, PositiveFloat, PositiveInt, model_validator

from autophagy._validation import Model, check
from autophagy.core.source import Mixture
from autophagy.registry import register


class GMMDataConfig(Model):
    """``data: {kind: gmm, layout: grid | random, ...}``.

    ``grid``: ``grid_size`` x ``grid_size`` isotropic modes with standard deviation ``std``,
    ``spacing`` apart, centred on the origin (grid_size 5, spacing 2, std 0.05 is the
    25-Gaussian grid of the GAN mode-collapse literature). ``random``: ``n_components``
    modes in ``dim`` dimensions with means drawn from N(0, spread^2 I) by ``layout_seed`` (a
    property of the true distribution, not of the run seed).
    """

    kind: Literal["gmm"] = "gmm"
    layout: Literal["grid", "random"] = "grid"
    dim: PositiveInt = 2
    grid_size: PositiveInt = 5
    spacing: PositiveFloat = 2.0
    n_components: PositiveInt = 8
    spread: PositiveFloat = 4.0
    std: PositiveFloat = 0.05
    layout_seed: NonNegativeInt = 0

    @model_validator(mode="after")
    def _grid_is_2d(self) -> GMMDataConfig:
        if self.layout == "grid":
            check(self.dim == 2, "data.dim", "2 for layout 'grid'", self.dim)
        return self

    @property
    def components(self) -> int:
        return self.grid_size**2 if self.layout == "grid" else self.n_components

    def source_bytes(self) -> int:
        """Bytes the built source holds at its peak (k means, k covariances and their factors:
        about 3 k d² floats); see :mod:`autophagy.core.memory`."""
        return 8 * self.components * (3 * self.dim**2 + 2 * self.dim)


class MixtureSource:
    """Real data from a known Gaussian mixture."""

    def __init__(self, mixture: Mixture) -> None:
        self.mixture = mixture

    @property
    def dim(self) -> int:
        return self.mixture.dim

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        return self.mixture.sample(n, rng)

    def truth(self) -> Mixture:
        return self.mixture


@register("data", "gmm", "Gaussian mixture: 2-D grid of modes (25-Gaussian grid) or random modes in d dims", GMMDataConfig)
def build(config: GMMDataConfig) -> MixtureSource:
    if config.layout == "grid":
        axis = (np.arange(config.grid_size) - (config.grid_size - 1) / 2) * config.spacing
        means = np.array([(x, y) for x in axis for y in axis], dtype=float)
    else:
        layout_rng = np.random.default_rng(np.random.SeedSequence(config.layout_seed))
        means = config.spread * layout_rng.standard_normal((config.n_components, config.dim))
    k, d = means.shape
    covariances = np.broadcast_to(config.std**2 * np.eye(d), (k, d, d)).copy()
    return MixtureSource(Mixture(np.full(k, 1.0 / k), means, covariances))
