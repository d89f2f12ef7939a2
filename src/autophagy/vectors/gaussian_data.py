"""A multivariate Gaussian N(mean, cov) as the real distribution."""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import PositiveFloat, PositiveInt, model_validator

from autophagy._validation import Model, check
from autophagy.core.source import Mixture
from autophagy.registry import register


class PowerLawCov(Model):
    """Diagonal covariance with eigenvalues ``scale * i ** -exponent``, i = 1..dim."""

    kind: Literal["powerlaw"] = "powerlaw"
    exponent: PositiveFloat = 1.0
    scale: PositiveFloat = 1.0


class GaussianDataConfig(Model):
    """``data: {kind: gaussian, dim, mean?, cov?}``.

    ``cov`` is ``identity``, ``{kind: powerlaw, exponent}`` or an explicit (dim, dim) matrix.
    """

    kind: Literal["gaussian"] = "gaussian"
    dim: PositiveInt = 2
    mean: list[float] | None = None
    cov: Literal["identity"] | PowerLawCov | list[list[float]] = "identity"

    def source_bytes(self) -> int:
        """Bytes the built source holds at its peak (mean, covariance, its Cholesky factor and the
        matrix they are built from: about 4 d² floats); see :mod:`autophagy.core.memory`."""
        return 8 * (4 * self.dim**2 + 2 * self.dim)

    @model_validator(mode="after")
    def _shapes(self) -> GaussianDataConfig:
        if self.mean is not None:
            check(len(self.mean) == self.dim, "data.mean", f"a list of dim={self.dim} numbers", self.mean)
        if isinstance(self.cov, list):
            matrix = np.asarray(self.cov, dtype=float)
            check(
                matrix.shape == (self.dim, self.dim),
                "data.cov",
                f"a {self.dim}x{self.dim} matrix (dim={self.dim})",
                self.cov,
            )
            check(bool(np.allclose(matrix, matrix.T)), "data.cov", "a symmetric matrix", self.cov)
            check(
                bool(np.all(np.linalg.eigvalsh(matrix) > 0)) and bool(np.all(np.isfinite(matrix))),
                "data.cov",
                "positive definite (all eigenvalues > 0)",
                self.cov,
            )
        return self


class GaussianSource:
    """Real data from N(mean, cov).

    Args:
        mean: shape (d,).
        cov: shape (d, d), symmetric positive definite.
    """

    def __init__(self, mean: np.ndarray, cov: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self._factor = np.linalg.cholesky(self.cov)

    @property
    def dim(self) -> int:
        return int(self.mean.shape[0])

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        return self.mean + rng.standard_normal((n, self.dim)) @ self._factor.T

    def truth(self) -> Mixture:
        return Mixture(np.ones(1), self.mean[None, :], self.cov[None, :, :])


@register("data", "gaussian", "multivariate Gaussian N(mean, cov); cov identity, power-law or explicit", GaussianDataConfig)
def build(config: GaussianDataConfig) -> GaussianSource:
    d = config.dim
    mean = np.zeros(d) if config.mean is None else np.asarray(config.mean, dtype=float)
    if config.cov == "identity":
        cov = np.eye(d)
    elif isinstance(config.cov, PowerLawCov):
        cov = np.diag(config.cov.scale * np.arange(1, d + 1, dtype=float) ** -config.cov.exponent)
    else:
        cov = np.asarray(config.cov, dtype=float)
    return GaussianSource(mean, cov)
