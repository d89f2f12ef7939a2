"""2-Wasserstein distances: exact W₂² between Gaussians with known parameters
(:func:`gaussian_w2`, and :func:`gaussian_w2_batch` from many Gaussians to one), and the sliced
W₂ of two sample sets (:func:`sliced_wasserstein`, through POT, imported inside the function).

References:
    Dowson & Landau (1982), "The Fréchet distance between multivariate normal distributions".
    Bonneel et al. (2015), "Sliced and Radon Wasserstein barycenters of measures".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from autophagy.exceptions import InvalidParameterError
from autophagy.metrics.functional._checks import _as_pair, _check_int
from autophagy.metrics.functional.frechet import _gaussian_parameters, gaussian_frechet


def gaussian_w2(
    mean1: npt.ArrayLike, cov1: npt.ArrayLike, mean2: npt.ArrayLike, cov2: npt.ArrayLike
) -> float:
    """Exact squared 2-Wasserstein distance between two Gaussians with known parameters.

    For Gaussians the optimal-transport cost has the closed form of :func:`gaussian_frechet`
    (Dowson & Landau 1982; Givens & Shortt 1984)::

        W₂²(N(m₁, C₁), N(m₂, C₂)) = ‖m₁ - m₂‖² + tr C₁ + tr C₂ - 2 tr (√C₁ C₂ √C₁)^{1/2}

    Use this name when both parameter sets are known exactly (e.g. a fitted Gaussian generator
    against the true data Gaussian); :func:`frechet_distance` is the plug-in estimate from
    samples.

    Args:
        mean1: shape (d,).
        cov1: shape (d, d), symmetric PSD.
        mean2: shape (d,).
        cov2: shape (d, d), symmetric PSD.

    Returns:
        W₂², a float >= 0 (squared, like FID).

    Raises:
        ValueError: as :func:`gaussian_frechet`.

    Examples:
        >>> gaussian_w2([0.0, 0.0], [[1.0, 0.0], [0.0, 1.0]], [3.0, 4.0], [[1.0, 0.0], [0.0, 1.0]])
        25.0
    """
    return gaussian_frechet(mean1, cov1, mean2, cov2)


def gaussian_w2_batch(
    means: npt.ArrayLike, covs: npt.ArrayLike, mean: npt.ArrayLike, cov: npt.ArrayLike
) -> np.ndarray:
    """:func:`gaussian_w2` from each of R Gaussians N(meansᵣ, covsᵣ) to one N(mean, cov).

    The same closed form, batched: the factor F of the shared ``cov`` (Cholesky, else
    ``eigh``) is computed once and the cross term is Σ √eig(Fᵀ covsᵣ F) for all r in one
    batched ``eigvalsh``.

    Args:
        means: shape (R, d).
        covs: shape (R, d, d), symmetric PSD.
        mean: shape (d,).
        cov: shape (d, d), symmetric PSD.

    Returns:
        W₂² per Gaussian, shape (R,), each >= 0.

    Examples:
        >>> gaussian_w2_batch([[0.0], [3.0]], [[[4.0]], [[1.0]]], [0.0], [[1.0]])
        array([1., 9.])
    """
    m1 = np.asarray(means, dtype=np.float64)
    c1 = np.asarray(covs, dtype=np.float64)
    m2, c2 = _gaussian_parameters(mean, cov, "mean", "cov")
    if m1.ndim != 2 or c1.shape != (*m1.shape, m1.shape[1]) or m1.shape[1] != m2.shape[0]:
        raise ValueError(
            f"means and covs must have shapes (R, d) and (R, d, d) with d = {m2.shape[0]}; "
            f"got {m1.shape} and {c1.shape}"
        )
    try:
        left = np.linalg.cholesky(c2)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(c2)
        left = vectors * np.sqrt(np.clip(values, 0.0, None))
    middle = left.T @ c1 @ left  # (R, d, d)
    eigenvalues = np.linalg.eigvalsh((middle + np.swapaxes(middle, 1, 2)) / 2.0)
    cross = np.sum(np.sqrt(np.clip(eigenvalues, 0.0, None)), axis=1)
    value = np.sum((m1 - m2) ** 2, axis=1) + np.trace(c1, axis1=1, axis2=2) + np.trace(c2) - 2.0 * cross
    return np.clip(value, 0.0, None)


def sliced_wasserstein(
    x: npt.ArrayLike, y: npt.ArrayLike, *, n_projections: int = 128, rng: np.random.Generator
) -> float:
    """Sliced 2-Wasserstein distance SW₂ (not squared), Monte Carlo over random directions.

    Bonneel et al. (2015), eq. (4), with uniform sample weights::

        SW₂(μ, ν) = ( E_{θ ~ U(S^{d-1})} W₂²(θ#μ, θ#ν) )^{1/2}

    estimated by POT's ``ot.sliced_wasserstein_distance(x, y, n_projections=L, p=2)``: the
    average of the L one-dimensional W₂² (by sorting), then the square root. POT draws the
    directions from a ``np.random.RandomState`` seeded with ``rng.integers(2**31 - 1)``, so the
    value is deterministic given the state of ``rng`` (which advances by one draw). Passing a
    ``RandomState`` (not an int) keeps POT from reseeding its process-wide backend generator.

    Args:
        x: shape (n, d).
        y: shape (m, d); n and m may differ.
        n_projections: L, the number of random directions (Monte-Carlo error ~ 1/sqrt(L)).
        rng: source of the directions.

    Returns:
        SW₂, a float >= 0 in the units of the data. Square it to compare with W₂² values
        (for N(0, I) vs N(m, I) in d dimensions, SW₂² = ‖m‖² / d).

    Raises:
        ValueError: if the feature counts differ or a value is non-finite.
        InvalidParameterError: if ``n_projections`` < 1 or ``rng`` is not a Generator.

    Examples:
        >>> x = np.random.default_rng(0).normal(size=(50, 3))
        >>> sliced_wasserstein(x, x, rng=np.random.default_rng(1))
        0.0
    """
    import ot

    a, b = _as_pair(x, y)
    n_projections = _check_int(n_projections, "n_projections", "sliced_wasserstein", 1)
    if not isinstance(rng, np.random.Generator):
        raise InvalidParameterError(
            "The 'rng' parameter of sliced_wasserstein must be a numpy.random.Generator. "
            f"Got {rng!r} instead."
        )
    state = np.random.RandomState(int(rng.integers(2**31 - 1)))
    value = ot.sliced_wasserstein_distance(a, b, n_projections=n_projections, p=2, seed=state)
    return float(value)
