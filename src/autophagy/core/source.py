"""The real distribution P_r."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class Mixture:
    """A Gaussian mixture with known parameters (a single Gaussian is K = 1).

    Attributes:
        weights: shape (K,), non-negative, summing to 1.
        means: shape (K, d).
        covariances: shape (K, d, d), each symmetric positive semi-definite.
    """

    weights: np.ndarray
    means: np.ndarray
    covariances: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.means.shape[1])

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean (d,) and covariance (d, d) of the whole mixture (law of total covariance)."""
        mean = self.weights @ self.means
        centred = self.means - mean
        cov = np.einsum("k,kij->ij", self.weights, self.covariances)
        cov = cov + np.einsum("k,ki,kj->ij", self.weights, centred, centred)
        return mean, cov

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Log density of each row of ``x`` (n, d) -> (n,)."""
        from scipy.special import logsumexp
        from scipy.stats import multivariate_normal

        parts = [
            np.log(w) + multivariate_normal(m, c, allow_singular=True).logpdf(x).reshape(-1)
            for w, m, c in zip(self.weights, self.means, self.covariances, strict=True)
            if w > 0
        ]
        return logsumexp(np.stack(parts), axis=0)

    def sample(self, n: int, rng: np.random.Generator, scale: float = 1.0) -> np.ndarray:
        """Draw ``n`` samples (n, d), each component's covariance multiplied by ``scale``."""
        counts = rng.multinomial(n, self.weights)
        blocks = []
        for count, mean, cov in zip(counts, self.means, self.covariances, strict=True):
            if count:
                blocks.append(mean + rng.standard_normal((count, self.dim)) @ _sqrt_psd(scale * cov).T)
        x = np.concatenate(blocks) if blocks else np.empty((0, self.dim))
        return x[rng.permutation(len(x))]


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """A square root S with S S^T = cov, for a symmetric PSD (possibly singular) matrix."""
    values, vectors = np.linalg.eigh(cov)
    return vectors * np.sqrt(np.clip(values, 0.0, None))


@runtime_checkable
class DataSource(Protocol):
    """A real distribution: draws fresh samples and, where known, exposes itself exactly."""

    @property
    def dim(self) -> int: ...

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` independent real samples, shape (n, dim)."""
        ...

    def truth(self) -> Mixture | None:
        """The exact distribution when it is a (mixture of) Gaussian(s), else None."""
        ...
