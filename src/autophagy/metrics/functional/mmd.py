"""Maximum mean discrepancy: the unbiased MMD² with a Gaussian RBF kernel (:func:`mmd_rbf`)
and the median heuristic for its bandwidth (:func:`median_heuristic_bandwidth`).

The kernel sums run over row blocks into one reused buffer (see
:mod:`autophagy.metrics.functional._pairwise`).

References:
    Gretton et al. (2012), "A kernel two-sample test", JMLR 13.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from autophagy.metrics.functional._checks import _as_pair, _check_int, _check_positive
from autophagy.metrics.functional._pairwise import _augmented_pair


def median_heuristic_bandwidth(
    x: npt.ArrayLike, y: npt.ArrayLike, *, max_rows: int = 1000
) -> float:
    """Median heuristic for the RBF bandwidth h: the median pairwise distance of the pool.

    The pool is the first ``min(n, max_rows)`` rows of ``x`` and the first ``min(m, max_rows)``
    rows of ``y`` (Gretton et al. 2012, sec. 8). The subsample is deterministic (leading rows,
    no randomness), so it assumes the rows are in random order, as sampled. If more than half
    of the pairs coincide (median 0) the median of the non-zero distances is used; if every
    pooled point is the same, h = 1 (then every kernel value is 1 whatever h is).

    Args:
        x: shape (n, d).
        y: shape (m, d).
        max_rows: rows taken from each set (memory and time grow as (2·max_rows)²).

    Returns:
        h > 0, in the units of the data.

    Raises:
        ValueError: if the feature counts differ or a value is non-finite.

    Examples:
        >>> median_heuristic_bandwidth([[0.0], [1.0]], [[3.0]])  # distances 1, 2, 3
        2.0
    """
    from scipy.spatial.distance import pdist

    a, b = _as_pair(x, y)
    max_rows = _check_int(max_rows, "max_rows", "median_heuristic_bandwidth", 1)
    pooled = np.concatenate([a[:max_rows], b[:max_rows]])  # (<= 2·max_rows, d)
    distances = pdist(pooled)  # condensed, all pairs i < j
    if distances.size == 0:
        return 1.0
    h = float(np.median(distances))
    if h > 0.0:
        return h
    positive = distances[distances > 0.0]
    return float(np.median(positive)) if positive.size else 1.0


def _rbf_sum_cross(a: np.ndarray, b: np.ndarray, gamma: float, block_size: int) -> float:
    """Σ_ij exp(-γ‖a_i - b_j‖²) over all pairs; one (block_size, m) buffer at a time."""
    left, right_t = _augmented_pair(a, b, gamma)  # left @ right_t = -γ D²
    buffer = np.empty(min(block_size, len(a)) * len(b))
    total = 0.0
    for start in range(0, len(a), block_size):
        rows = left[start : start + block_size]
        block = buffer[: len(rows) * len(b)].reshape(len(rows), len(b))  # (rows, m)
        np.matmul(rows, right_t, out=block)
        np.exp(block, out=block)
        total += float(block.sum())
    return total


def _rbf_sum_within(a: np.ndarray, gamma: float, block_size: int) -> float:
    """Σ_{i≠j} exp(-γ‖a_i - a_j‖²) over ordered pairs, diagonal excluded.

    The kernel matrix is symmetric, so only the upper block triangle is computed: row block
    [s, s + b) against columns [s, n); the leading (b, b) square is a diagonal block, counted
    once with its diagonal zeroed, the rest is counted twice. Half the work of the full sum.
    """
    n = len(a)
    left, right_t = _augmented_pair(a, a, gamma)  # left @ right_t = -γ D²
    buffer = np.empty(min(block_size, n) * n)
    total = 0.0
    for start in range(0, n, block_size):
        rows = left[start : start + block_size]
        size, width = len(rows), n - start
        block = buffer[: size * width].reshape(size, width)  # (size, n - start)
        np.matmul(rows, right_t[:, start:], out=block)
        np.exp(block, out=block)
        diagonal = np.arange(size)
        block[diagonal, diagonal] = 0.0  # k(a_i, a_i): excluded by the unbiased estimator
        total += float(block[:, :size].sum()) + 2.0 * float(block[:, size:].sum())
    return total


def mmd_rbf(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    *,
    bandwidth: float | None = None,
    block_size: int = 512,
) -> float:
    """Unbiased estimate of MMD² with the Gaussian RBF kernel k(a, b) = exp(-‖a - b‖² / (2h²)).

    Gretton et al. (2012), eq. (3)::

        MMD²_u = 1/(n(n-1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(m(m-1)) Σ_{i≠j} k(yᵢ, yⱼ)
                 - 2/(nm) Σ_{i,j} k(xᵢ, yⱼ)

    The within-sample sums exclude the diagonal, which makes the estimate unbiased for a
    fixed bandwidth: its expectation is the population MMD², which is 0 when the
    distributions agree, so single values can be slightly negative. (With the median
    heuristic, h depends on the data and the unbiasedness holds only approximately.)

    The kernel sums run over row blocks into one reused (block_size, max(n, m)) float64
    buffer: 10,000 x 10,000 samples never hold more than that at a time.

    Args:
        x: shape (n, d), n >= 2.
        y: shape (m, d), m >= 2.
        bandwidth: h > 0; None uses :func:`median_heuristic_bandwidth`.
        block_size: rows per block (memory 8·block_size·max(n, m) bytes).

    Returns:
        MMD²_u, a float (may be slightly negative).

    Raises:
        ValueError: if a set has fewer than 2 samples, the feature counts differ, or a value
            is non-finite.
        InvalidParameterError: if ``bandwidth`` <= 0 or ``block_size`` < 1.

    Examples:
        >>> round(mmd_rbf([[0.0], [0.0]], [[1e6], [1e6]], bandwidth=1.0), 6)  # 1 + 1 - 0
        2.0
    """
    a, b = _as_pair(x, y, min_rows=2)
    block_size = _check_int(block_size, "block_size", "mmd_rbf", 1)
    if bandwidth is None:
        h = median_heuristic_bandwidth(a, b)
    else:
        h = _check_positive(bandwidth, "bandwidth", "mmd_rbf")
    gamma = 1.0 / (2.0 * h * h)
    centre = a.mean(axis=0)  # distances are translation invariant; centring limits rounding
    a, b = a - centre, b - centre
    n, m = len(a), len(b)
    k_xx = _rbf_sum_within(a, gamma, block_size) / (n * (n - 1))
    k_yy = _rbf_sum_within(b, gamma, block_size) / (m * (m - 1))
    k_xy = _rbf_sum_cross(a, b, gamma, block_size) / (n * m)
    return float(k_xx + k_yy - 2.0 * k_xy)
