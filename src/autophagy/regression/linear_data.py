"""Regression data: inputs x ~ N(0, Σ), labels y = x·w0 + σ0 ε (Dohmatob, Feng & Kempe 2024, §2).

A training sample is one row ``[x_1, ..., x_d, y]`` (shape (d + 1,)), so the loop machinery
composes regression training sets exactly as it composes any other: fixed, fresh and
synthetic rows with their provenance. A labeller generator (:mod:`autophagy.regression.ridge`)
fits on rows and "samples" by drawing fresh inputs from :meth:`sample_inputs` and labelling them.

Σ is the identity or has a power-law spectrum λ_i = i^(-β) (the capacity condition); w0 is
random (N(0, I/d), drawn by ``w0_seed``: part of the distribution, not of the run) or has
power-law coefficients w0_i ∝ i^(-δ) in Σ's eigenbasis (the source condition), normalised to
‖w0‖ = 1 in both cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, NonNegativeInt, PositiveFloat, PositiveInt

from autophagy._validation import Model
from autophagy.registry import register


class PowerLawSpectrum(Model):
    """Eigenvalues ``scale * i ** -exponent``, i = 1..dim (capacity condition; exponent β > 0)."""

    kind: Literal["powerlaw"] = "powerlaw"
    exponent: PositiveFloat = 1.0
    scale: PositiveFloat = 1.0


class PowerLawCoefficients(Model):
    """w0_i ∝ i ** -exponent (source condition; exponent δ > 0), normalised to ‖w0‖ = 1."""

    kind: Literal["powerlaw"] = "powerlaw"
    exponent: PositiveFloat = 1.0


class LinearDataConfig(Model):
    """``data: {kind: linear, dim, cov, w0, noise, w0_seed}``.

    ``cov``: ``identity`` or ``{kind: powerlaw, exponent: β}``; ``w0``: ``random`` or
    ``{kind: powerlaw, exponent: δ}``; ``noise``: σ0 >= 0, the label noise of the real data.
    """

    kind: Literal["linear"] = "linear"
    dim: PositiveInt = 50
    cov: Literal["identity"] | PowerLawSpectrum = "identity"
    w0: Literal["random"] | PowerLawCoefficients = "random"
    noise: float = Field(default=0.1, ge=0.0, description="label noise σ0 >= 0")
    w0_seed: NonNegativeInt = 0

    def sample_width(self) -> int:
        """Floats per row [x, y]: dim + 1 (see :mod:`autophagy.core.memory`)."""
        return self.dim + 1

    def source_bytes(self) -> int:
        """Bytes the built source holds at its peak (Σ, its factor and w0: about 3 d² floats)."""
        return 8 * (3 * self.dim**2 + 2 * self.dim)


@dataclass(frozen=True)
class LinearTruth:
    """The true regression problem.

    Attributes:
        cov: Σ, shape (d, d) (diagonal here).
        w0: true coefficients, shape (d,).
        noise: σ0, the label noise standard deviation.
    """

    cov: np.ndarray
    w0: np.ndarray
    noise: float

    def excess_risk(self, w: np.ndarray) -> np.ndarray:
        """E_x[(x·w - x·w0)²] = (w - w0)ᵀ Σ (w - w0) for w of shape (d,) or (R, d)."""
        gap = np.asarray(w) - self.w0
        return np.sum((gap @ self.cov) * gap, axis=-1)  # one BLAS product for a batch


class LinearSource:
    """Rows [x, y] with x ~ N(0, Σ), y = x·w0 + σ0 ε."""

    def __init__(self, truth: LinearTruth) -> None:
        self.truth_ = truth
        self._factor = np.linalg.cholesky(truth.cov)

    @property
    def dim(self) -> int:
        """Width of a row: n_features + 1 (the label is the last column)."""
        return self.n_features + 1

    @property
    def n_features(self) -> int:
        return int(self.truth_.w0.shape[0])

    def sample_inputs(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n inputs x ~ N(0, Σ), shape (n, d)."""
        return rng.standard_normal((n, self.n_features)) @ self._factor.T

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n real rows [x, y], shape (n, d + 1)."""
        x = self.sample_inputs(n, rng=rng)
        y = x @ self.truth_.w0 + self.truth_.noise * rng.standard_normal(n)
        return np.column_stack([x, y])

    def truth(self) -> None:
        """Not a Gaussian mixture over rows (see :meth:`regression`)."""
        return None

    def log_prob(self, rows: np.ndarray) -> np.ndarray:
        """The true log-density of rows [x, y] (n, d + 1): log N(x; 0, Σ) + log N(y; x·w0, σ0²)
        (n,). With σ0 = 0 the labels lie on a plane: rows on it get log N(x; 0, Σ), others -inf."""
        rows = np.asarray(rows, dtype=float)
        x, y = rows[:, :-1], rows[:, -1]
        z = np.linalg.solve(self._factor, x.T).T  # Σ = L Lᵀ, z = L⁻¹ x
        log_x = -0.5 * np.sum(z * z, axis=1) - np.sum(np.log(np.diag(self._factor))) - 0.5 * self.n_features * np.log(2 * np.pi)
        residual = y - x @ self.truth_.w0
        sigma = self.truth_.noise
        if sigma == 0.0:
            return np.where(np.abs(residual) <= 1e-9 * (1.0 + np.abs(y)), log_x, -np.inf)  # type: ignore[no-any-return]
        return log_x - 0.5 * (residual / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)  # type: ignore[no-any-return]

    def regression(self) -> LinearTruth:
        """The true (Σ, w0, σ0)."""
        return self.truth_


@register("data", "linear", "regression rows [x, y]: x ~ N(0, Σ) (identity or power law), y = x·w0 + σ0·noise", LinearDataConfig)
def build(config: LinearDataConfig) -> LinearSource:
    d = config.dim
    steps = np.arange(1, d + 1, dtype=float)
    spectrum = np.ones(d) if config.cov == "identity" else config.cov.scale * steps**-config.cov.exponent
    if config.w0 == "random":
        w0 = np.random.default_rng(np.random.SeedSequence(config.w0_seed)).standard_normal(d)
    else:
        w0 = steps**-config.w0.exponent
    return LinearSource(LinearTruth(np.diag(spectrum), w0 / np.linalg.norm(w0), float(config.noise)))
