"""Pairwise squared distances as one matrix product on augmented coordinates.

The pairwise quantities (MMD kernel sums, PRDC ball tests) are computed in row blocks into one
reused ``(block_size, n)`` buffer, so 10,000 x 10,000 samples never materialise a full distance
matrix. Each block comes out of one matrix product on the augmented coordinates of
:func:`_augmented_pair`, after the callers centre both sets on a common point (the distances
are translation invariant, and centring keeps the ``|a|² + |b|² - 2 a·b`` identity accurate for
data far from the origin).
"""

from __future__ import annotations

import numpy as np


def _augmented_pair(a: np.ndarray, b: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Augmented coordinates whose inner products are scaled negative squared distances.

    With ``left = [a, |a|², 1]`` and ``right = [2s·b, -s, -s·|b|²]``,
    ``left @ right.T = 2s a·b - s|a|² - s|b|² = -s ‖a - b‖²``: one matrix product (d + 2 columns)
    gives the block with no further elementwise passes.

    Args:
        a: shape (n, d).
        b: shape (m, d).
        scale: s > 0.

    Returns:
        ``left`` of shape (n, d + 2) and ``right_t`` of shape (d + 2, m), C-contiguous.
    """
    a_sq = np.einsum("ij,ij->i", a, a)  # (n,)
    b_sq = np.einsum("ij,ij->i", b, b)  # (m,)
    left = np.column_stack([a, a_sq, np.ones(len(a))])  # (n, d + 2)
    right_t = np.vstack([2.0 * scale * b.T, np.full(len(b), -scale), -scale * b_sq])  # (d + 2, m)
    return left, np.ascontiguousarray(right_t)
