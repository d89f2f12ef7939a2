"""k-NN manifold estimates: precision, recall, density and coverage of a fake sample set
against a real one (:func:`prdc`; scikit-learn imported inside the function).

The real-fake ball tests run over row blocks into one reused buffer (see
:mod:`autophagy.metrics.functional._pairwise`).

References:
    Kynkäänniemi et al. (2019), "Improved precision and recall metric for assessing generative
    models".
    Naeem et al. (2020), "Reliable fidelity and diversity metrics for generative models".
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from autophagy.metrics.functional._checks import _as_pair, _check_int
from autophagy.metrics.functional._pairwise import _augmented_pair


def _kth_neighbour_distance(x: np.ndarray, k: int) -> np.ndarray:
    """Distance from each row of ``x`` (n, d) to its k-th nearest other row, shape (n,).

    ``kneighbors`` on the fitted set returns each point itself first (distance 0), so the k-th
    neighbour excluding the point is column k of the k + 1 nearest. With duplicated rows the
    sorted distances are the same whichever copy is called "itself".
    """
    from sklearn.neighbors import NearestNeighbors

    distances, _ = NearestNeighbors(n_neighbors=k + 1).fit(x).kneighbors(x)  # (n, k + 1)
    return distances[:, -1]


def prdc(
    real: npt.ArrayLike,
    fake: npt.ArrayLike,
    *,
    nearest_k: int = 5,
    block_size: int = 256,
) -> dict[str, float]:
    """Precision, recall, density and coverage of ``fake`` against ``real`` (k-NN balls).

    Let x₁..x_N be the real and f₁..f_M the fake samples, B(x, r) the closed ball, and
    r_i = NND_k(xᵢ), s_j = NND_k(f_j) the distances to the k-th nearest neighbour within the
    same set, the point itself excluded. Kynkäänniemi et al. (2019), eqs. (1)-(2), and
    Naeem et al. (2020), eqs. (1)-(4)::

        precision = 1/M Σ_j 1[∃ i: f_j ∈ B(xᵢ, rᵢ)]
        recall    = 1/N Σ_i 1[∃ j: xᵢ ∈ B(f_j, s_j)]
        density   = 1/(kM) Σ_j Σ_i 1[f_j ∈ B(xᵢ, rᵢ)]
        coverage  = 1/N Σ_i 1[min_j ‖xᵢ - f_j‖ <= rᵢ]

    Precision and density measure fidelity (fake inside the real manifold); recall and
    coverage measure diversity. Density is not capped at 1 (E density = 1 when real and fake
    are identically distributed).

    The radii come from scikit-learn's ``NearestNeighbors``; the N x M real-fake distances
    are compared as squared distances block by block (``block_size`` fake rows at a time,
    one (block_size, N) float64 buffer), never as a full matrix. Agrees with the reference
    package ``prdc`` (which builds the full matrices) to 1e-12 on continuous data; the one
    difference is at exact ties, where the package's strict ``<`` leaves out a point exactly
    on a ball's boundary and this function, like the papers, keeps it.

    Args:
        real: shape (N, d), N > nearest_k.
        fake: shape (M, d), M > nearest_k.
        nearest_k: k of the k-NN radii.
        block_size: fake rows per block (memory 8·block_size·N bytes).

    Returns:
        ``{"precision", "recall", "density", "coverage"}``, each a float; density lies in
        [0, N/k], the others in [0, 1].

    Raises:
        ValueError: if a set has at most ``nearest_k`` samples, the feature counts differ, or
            a value is non-finite.
        InvalidParameterError: if ``nearest_k`` or ``block_size`` is < 1.

    Examples:
        >>> square = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
        >>> far = [[9.0, 9.0], [9.0, 10.0], [10.0, 9.0], [10.0, 10.0]]
        >>> prdc(square, far, nearest_k=1)
        {'precision': 0.0, 'recall': 0.0, 'density': 0.0, 'coverage': 0.0}
    """
    nearest_k = _check_int(nearest_k, "nearest_k", "prdc", 1)
    block_size = _check_int(block_size, "block_size", "prdc", 1)
    real_x, fake_x = _as_pair(real, fake, names=("real", "fake"), min_rows=nearest_k + 1)
    n_real, n_fake = len(real_x), len(fake_x)
    neg_real_r2 = -(_kth_neighbour_distance(real_x, nearest_k) ** 2)  # (N,), -r_i²
    neg_fake_r2 = -(_kth_neighbour_distance(fake_x, nearest_k) ** 2)  # (M,), -s_j²

    centre = real_x.mean(axis=0)
    left, right_t = _augmented_pair(fake_x - centre, real_x - centre, 1.0)  # left @ right_t = -D²
    inside = np.zeros(n_fake, dtype=np.int64)  # per fake: number of real balls holding it
    closest = np.full(n_real, -np.inf)  # per real: -(squared distance to the nearest fake)
    recalled = np.zeros(n_real, dtype=bool)  # per real: inside some fake ball
    rows_max = min(block_size, n_fake)
    buffer = np.empty(rows_max * n_real)
    hits = np.empty(rows_max * n_real, dtype=bool)
    for start in range(0, n_fake, block_size):
        rows = left[start : start + block_size]
        size = len(rows)
        neg_d2 = buffer[: size * n_real].reshape(size, n_real)  # (size, N): -‖f_j - x_i‖²
        mask = hits[: size * n_real].reshape(size, n_real)
        np.matmul(rows, right_t, out=neg_d2)
        # d² <= r² is -d² >= -r²; no clipping needed since every threshold is <= 0
        np.greater_equal(neg_d2, neg_real_r2[None, :], out=mask)
        inside[start : start + size] = np.count_nonzero(mask, axis=1)
        np.maximum(closest, neg_d2.max(axis=0), out=closest)
        np.greater_equal(neg_d2, neg_fake_r2[start : start + size, None], out=mask)
        recalled |= mask.any(axis=0)
    return {
        "precision": float(np.count_nonzero(inside) / n_fake),
        "recall": float(np.count_nonzero(recalled) / n_real),
        "density": float(inside.sum() / (nearest_k * n_fake)),
        "coverage": float(np.count_nonzero(closest >= neg_real_r2) / n_real),
    }
