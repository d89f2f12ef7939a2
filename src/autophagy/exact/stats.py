"""Sufficient statistics of Gaussian samples, drawn from their exact laws, batched.

A group of n i.i.d. samples from N(m, C) enters a Gaussian fit only through its size, its
sample mean and its scatter matrix S = Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ, and those have closed-form laws
(Anderson, *An Introduction to Multivariate Statistical Analysis*, 3rd ed., Thm 3.3.2)::

    x̄ ~ N(m, C / n),    S ~ Wishart_d(n - 1, C),    x̄ independent of S.

Merging groups adds their scatters plus the between-group term (the law of total covariance
for samples)::

    n x̄ = Σ_g n_g x̄_g,    S = Σ_g S_g + Σ_g n_g (x̄_g - x̄)(x̄_g - x̄)ᵀ.

So a generation costs O(d³) per repeat whatever n is, and every function here works on a
leading batch axis R (one slice per repeat).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Stats:
    """Sufficient statistics of one group of samples, for R repeats at once.

    Attributes:
        n: number of samples in the group (the same in every repeat).
        mean: sample means, shape (R, d).
        scatter: scatter matrices Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ, shape (R, d, d).
    """

    n: int
    mean: np.ndarray
    scatter: np.ndarray


def psd_factor(cov: np.ndarray) -> np.ndarray:
    """A factor F with F Fᵀ = C for each symmetric PSD matrix of a batch.

    Cholesky where every matrix of the batch is positive definite, else ``eigh`` with the
    eigenvalues clipped at 0 (a collapsed covariance is a legitimate state of these loops).

    Args:
        cov: shape (..., d, d).

    Returns:
        shape (..., d, d).
    """
    try:
        return np.linalg.cholesky(cov)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh((cov + np.swapaxes(cov, -1, -2)) / 2.0)
        return vectors * np.sqrt(np.clip(values, 0.0, None))[..., None, :]


def wishart(df: int, factor: np.ndarray, rng: np.random.Generator, repeats: int) -> np.ndarray:
    """Draw W ~ Wishart_d(df, F Fᵀ) for each repeat.

    Bartlett decomposition (Bartlett 1933; Anderson Thm 7.2.1): W = F A Aᵀ Fᵀ with A lower
    triangular, A_ii = sqrt(χ²_{df - i}) (i = 0..d-1), A_ij ~ N(0, 1) below the diagonal. It
    needs df >= d; a singular Wishart (df < d) is drawn as F Zᵀ Z Fᵀ with Z of shape (df, d).

    Args:
        df: degrees of freedom (>= 0; 0 gives zeros).
        factor: F, shape (d, d) or (R, d, d).
        rng: the stream to draw from.
        repeats: R.

    Returns:
        shape (R, d, d).
    """
    d = factor.shape[-1]
    if df <= 0:
        return np.zeros((repeats, d, d))
    if df >= d:
        a = np.zeros((repeats, d, d))
        rows, cols = np.tril_indices(d, -1)
        a[:, rows, cols] = rng.standard_normal((repeats, rows.size))
        diag = np.arange(d)
        a[:, diag, diag] = np.sqrt(rng.chisquare(df - diag, size=(repeats, d)))
    else:
        a = np.swapaxes(rng.standard_normal((repeats, df, d)), -1, -2)  # (R, d, df): Zᵀ
    m = factor @ a
    return m @ np.swapaxes(m, -1, -2)


def draw(n: int, mean: np.ndarray, factor: np.ndarray, rng: np.random.Generator, repeats: int) -> Stats:
    """Statistics of n i.i.d. samples from N(mean, F Fᵀ) without drawing the samples.

    Args:
        n: group size (>= 1).
        mean: shape (d,) or (R, d).
        factor: F, shape (d, d) or (R, d, d).
        rng: the stream to draw from.
        repeats: R.

    Returns:
        The group's :class:`Stats` (mean ~ N(mean, FFᵀ/n), scatter ~ Wishart(n - 1, FFᵀ)).
    """
    d = factor.shape[-1]
    z = rng.standard_normal((repeats, d, 1))
    sample_mean = np.broadcast_to(mean, (repeats, d)) + (factor @ z)[..., 0] / np.sqrt(n)
    return Stats(n, sample_mean, wishart(n - 1, factor, rng, repeats))


def merge(parts: Sequence[Stats]) -> Stats:
    """Statistics of the union of groups (same repeats, same d)."""
    if len(parts) == 1:
        return parts[0]
    n = sum(p.n for p in parts)
    mean = sum(p.n * p.mean for p in parts) / n
    scatter = sum(p.scatter for p in parts)
    for p in parts:
        gap = p.mean - mean  # (R, d)
        scatter = scatter + p.n * gap[:, :, None] * gap[:, None, :]
    return Stats(n, mean, scatter)


def of_samples(x: np.ndarray) -> Stats:
    """Statistics of explicit samples ``x`` of shape (R, n, d) (used by tests and resumes)."""
    mean = x.mean(axis=1)
    centred = x - mean[:, None, :]
    return Stats(x.shape[1], mean, np.swapaxes(centred, 1, 2) @ centred)
