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

import functools
import math
from collections.abc import Sequence
from typing import cast

import numpy as np


class Stats:
    """Sufficient statistics of one group of samples, for R repeats at once.

    Attributes:
        n: number of samples in the group (the same in every repeat).
        mean: sample means, shape (R, d).
        factor: a square factor M with M Mᵀ = scatter, shape (R, d, d), when it comes free
            with the draw (Bartlett), else None.
        scatter: scatter matrices Σᵢ (xᵢ - x̄)(xᵢ - x̄)ᵀ, shape (R, d, d); formed from
            ``factor`` on first use when only the factor was drawn.
    """

    def __init__(self, n: int, mean: np.ndarray, scatter: np.ndarray | None = None, factor: np.ndarray | None = None) -> None:
        if scatter is None and factor is None:
            raise ValueError("Stats needs a scatter matrix or a factor of it")
        self.n, self.mean, self.factor = n, mean, factor
        self._scatter = scatter
        #: ``factor / sqrt(n)`` when the draw formed it anyway (the MLE fit's factor), else None
        self.factor_over_root_n: np.ndarray | None = None

    @property
    def scatter(self) -> np.ndarray:
        if self._scatter is None:
            self._scatter = _outer(self.factor)  # type: ignore[arg-type]
        return self._scatter


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


#: Up to this d, Bartlett's normals are placed by one scatter through a precomputed flat index
#: (~2x faster than a slice copy per row at d = 10); above it, row by row (the scatter's cost
#: grows faster: ~1.3x slower at d = 100 and d = 300).
_SCATTER_MAX_D = 32


@functools.lru_cache(maxsize=64)
def _layout(d: int, extra: bool) -> tuple[np.ndarray, slice]:
    """Where Bartlett's draws go in a flattened row-major (d, k) matrix, k = d (+ 1 with ``extra``).

    Returns:
        The flat positions of the normals, shape (d(d-1)/2,) or, with ``extra``, (d + d(d-1)/2,):
        the last column first (``extra``), then the strict lower triangle row by row (the order
        of ``np.tril_indices``), read-only (cached); the slice of the diagonal.
    """
    k = d + extra
    rows, cols = np.tril_indices(d, -1)
    positions = rows * k + cols
    if extra:
        positions = np.concatenate([np.arange(d) * k + d, positions])
    positions.setflags(write=False)
    return positions, slice(0, (d - 1) * (k + 1) + 1, k + 1)


def _degrees(df: int, d: int, repeats: int) -> np.ndarray:
    """df - i for i = 0..d-1, for every repeat, flat: shape (R·d,) (read-only when cached).

    ``chisquare`` of a contiguous array of degrees draws the same values in the same order as
    ``chisquare(df - i, size=(R, d))``, ~10 % faster (no broadcasting iterator). Small ones are
    cached; a large one costs little next to its draws.
    """
    if repeats * d <= 1 << 16:
        return _small_degrees(df, d, repeats)
    return np.tile(df - np.arange(d, dtype=np.float64), repeats)


@functools.lru_cache(maxsize=16)
def _small_degrees(df: int, d: int, repeats: int) -> np.ndarray:
    degrees = np.tile(df - np.arange(d, dtype=np.float64), repeats)
    degrees.setflags(write=False)
    return degrees


def _fill(df: int, d: int, normals: np.ndarray, rng: np.random.Generator, extra: bool) -> np.ndarray:
    """Bartlett's A, or [A | z] with ``extra``, from given normals and fresh χ² draws.

    Args:
        df: degrees of freedom (>= d).
        d: dimension.
        normals: shape (R, d(d-1)/2): the strict lower triangle row by row; with ``extra``,
            shape (R, d + d(d-1)/2): z (the last column), then the triangle.
        rng: the stream the χ² values are drawn from.
        extra: whether ``normals`` starts with a last column z.

    Returns:
        A new array of shape (R, d, d), or (R, d, d + 1) with ``extra``.
    """
    repeats, k = normals.shape[0], d + extra
    positions, diagonal = _layout(d, extra)
    a = np.zeros((repeats, d * k))
    if d <= _SCATTER_MAX_D:
        a[:, positions] = normals
    else:
        square = a.reshape(repeats, d, k)
        start = d if extra else 0
        if extra:
            square[:, :, d] = normals[:, :d]
        for i in range(1, d):
            square[:, i, :i] = normals[:, start : start + i]
            start += i
    chi2 = rng.chisquare(_degrees(df, d, repeats)).reshape(repeats, d)  # A_ii² ~ χ²_{df - i}
    a[:, diagonal] = np.sqrt(chi2, out=chi2)
    return a.reshape(repeats, d, k)


def _bartlett(df: int, d: int, normals: np.ndarray, rng: np.random.Generator, extra: np.ndarray | None = None) -> np.ndarray:
    """Bartlett's lower-triangular A (R, d, d) from R·d(d-1)/2 given normals and fresh χ² draws.

    The normals fill the strict lower triangle row by row (the order of ``np.tril_indices``).
    With ``extra`` (R, d), returns [A | extra] of shape (R, d, d + 1) instead, so that one matrix
    product F [A | z] gives both F A and F z. A new array every call (callers may overwrite it).
    """
    if extra is None:
        return _fill(df, d, normals, rng, extra=False)
    return _fill(df, d, np.concatenate([extra, normals], axis=1), rng, extra=True)


def wishart_factor(df: int, factor: np.ndarray, rng: np.random.Generator, repeats: int) -> np.ndarray:
    """A factor M of W ~ Wishart_d(df, F Fᵀ), i.e. W = M Mᵀ, for each repeat.

    Bartlett decomposition (Bartlett 1933; Anderson Thm 7.2.1): M = F A with A lower
    triangular, A_ii = sqrt(χ²_{df - i}) (i = 0..d-1), A_ij ~ N(0, 1) below the diagonal; it
    needs df >= d (M is then square, and lower triangular when F is). A singular Wishart
    (df < d) is drawn as M = F Zᵀ with Z of shape (df, d) (M is then d × df).

    Args:
        df: degrees of freedom (>= 0; 0 gives a d × 0 factor, W = 0).
        factor: F, shape (d, d) or (R, d, d).
        rng: the stream to draw from.
        repeats: R.

    Returns:
        M, shape (R, d, d) when df >= d, else (R, d, df).
    """
    d = factor.shape[-1]
    if df >= d:
        return factor @ _bartlett(df, d, rng.standard_normal((repeats, d * (d - 1) // 2)), rng)
    return factor @ np.swapaxes(rng.standard_normal((repeats, max(df, 0), d)), -1, -2)


def wishart(df: int, factor: np.ndarray, rng: np.random.Generator, repeats: int) -> np.ndarray:
    """Draw W ~ Wishart_d(df, F Fᵀ) for each repeat, shape (R, d, d) (see :func:`wishart_factor`)."""
    return _outer(wishart_factor(df, factor, rng, repeats))


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
    df = n - 1
    if df >= d:  # one normal draw for the mean and Bartlett's off-diagonal, one product F [A | z]
        z = rng.standard_normal((repeats, d + d * (d - 1) // 2))  # z (R, d), then A's strict lower
        both = factor @ _fill(df, d, z, rng, extra=True)  # (R, d, d + 1)
        # one contiguous division gives the mean's shift F z / √n and F A / √n (the MLE factor),
        # the same numbers as dividing each part on its own, in a third of the time
        scaled = both / math.sqrt(n)
        stats = Stats(n, mean + scaled[:, :, d], factor=both[:, :, :d])
        stats.factor_over_root_n = np.ascontiguousarray(scaled[:, :, :d])
        return stats
    z = rng.standard_normal((repeats, d))
    shift = (factor @ z[:, :, None])[..., 0] / math.sqrt(n)
    return Stats(n, mean + shift, scatter=_outer(wishart_factor(df, factor, rng, repeats)))


def _outer(m: np.ndarray) -> np.ndarray:
    """M Mᵀ for a batch (R, d, k); the transpose is made contiguous first (~3x faster matmul)."""
    return m @ np.ascontiguousarray(np.swapaxes(m, -1, -2))


def merge(parts: Sequence[Stats]) -> Stats:
    """Statistics of the union of groups (same repeats, same d)."""
    if len(parts) == 1:
        return parts[0]
    n = sum(p.n for p in parts)
    # sum() of two or more arrays is an array (its typed start value 0 is added away)
    mean = cast(np.ndarray, sum(p.n * p.mean for p in parts)) / n
    scatter = cast(np.ndarray, sum(p.scatter for p in parts))
    for p in parts:
        gap = p.mean - mean  # (R, d)
        scatter = scatter + p.n * gap[:, :, None] * gap[:, None, :]
    return Stats(n, mean, scatter=scatter)


def of_samples(x: np.ndarray) -> Stats:
    """Statistics of explicit samples ``x`` of shape (R, n, d) (used by tests and resumes)."""
    mean = x.mean(axis=1)
    centred = x - mean[:, None, :]
    return Stats(x.shape[1], mean, scatter=np.swapaxes(centred, 1, 2) @ centred)
