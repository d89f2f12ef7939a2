"""The fixed reference set's statistics, computed once, and the sample metrics against them.

A monitor compares every update's samples with the same real reference set, so everything that
depends on the reference alone is computed once (:class:`ReferenceStats`): its mean and
covariance (``frechet``), its k-NN radii and augmented coordinates (``precision``, ``recall``,
``density``, ``coverage``), the RBF bandwidth and within-reference kernel sum (``mmd``). Each
update then pays only for its own samples. The maths is the lab's
(:mod:`autophagy.metrics.functional`); :func:`score` gives the same values as
``frechet_distance``, ``prdc`` and ``mmd_rbf`` with the bandwidth fixed at the reference's (the
tests check it), and metrics outside :data:`CACHED` go through the registered metrics
(:func:`autophagy.metrics.evaluate.evaluate`).

Pure functions of arrays, no I/O; shapes: reference (N, d), samples (n, d).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Metrics computed here from the cached reference statistics.
PRDC = ("precision", "recall", "density", "coverage")
CACHED = frozenset({"frechet", "mmd", "cov_trace", *PRDC})
#: Registered sample metrics a monitor may also ask for (computed by ``evaluate``, uncached).
EVALUATED = frozenset({"sliced_wasserstein"})


class ReferenceStats:
    """What the sample metrics need of the reference set, computed on first use and kept.

    Args:
        x: the reference features, shape (N, d), finite.
        nearest_k: k of the k-NN radii.
    """

    def __init__(self, x: np.ndarray, *, nearest_k: int = 5) -> None:
        self.x = np.ascontiguousarray(x, dtype=np.float64)  # (N, d)
        self.nearest_k = nearest_k
        self.centre = self.x.mean(axis=0)  # (d,)

    @functools.cached_property
    def cov(self) -> np.ndarray:
        """Unbiased covariance, shape (d, d)."""
        return np.atleast_2d(np.cov(self.x, rowvar=False))

    @functools.cached_property
    def neg_r2(self) -> np.ndarray:
        """-(distance to each reference row's k-th nearest other row)², shape (N,)."""
        from autophagy.metrics.functional.manifold import _kth_neighbour_distance

        return -(_kth_neighbour_distance(self.x, self.nearest_k) ** 2)

    @functools.cached_property
    def right_t(self) -> np.ndarray:
        """The reference's side of the augmented product (left @ right_t = -‖a - x‖²), (d + 2, N)."""
        from autophagy.metrics.functional._pairwise import _augmented_pair

        return _augmented_pair(self.x[:1] - self.centre, self.x - self.centre, 1.0)[1]

    @functools.cached_property
    def bandwidth(self) -> float:
        """The RBF bandwidth h: the median heuristic on the reference's two halves, fixed for
        every update (a bandwidth re-estimated from the samples would move with the collapse)."""
        from autophagy.metrics.functional import median_heuristic_bandwidth

        half = len(self.x) // 2
        return median_heuristic_bandwidth(self.x[:half], self.x[half:])

    @functools.cached_property
    def k_xx(self) -> float:
        """1/(N(N-1)) Σ_{i≠j} k(xᵢ, xⱼ), the reference's term of the unbiased MMD²."""
        from autophagy.metrics.functional.mmd import _rbf_sum_within

        n = len(self.x)
        return _rbf_sum_within(self.x - self.centre, self._gamma, 512) / (n * (n - 1))

    @property
    def _gamma(self) -> float:
        return 1.0 / (2.0 * self.bandwidth**2)


def frechet(ref: ReferenceStats, y: np.ndarray) -> float:
    """Squared Fréchet distance between Gaussian fits of the reference and ``y`` (n, d), n >= 2."""
    from autophagy.metrics.functional import gaussian_frechet

    return gaussian_frechet(ref.centre, ref.cov, y.mean(axis=0), np.atleast_2d(np.cov(y, rowvar=False)))


def mmd(ref: ReferenceStats, y: np.ndarray) -> float:
    """Unbiased MMD² (RBF kernel, the reference's bandwidth) between the reference and ``y`` (n, d)."""
    from autophagy.metrics.functional.mmd import _rbf_sum_cross, _rbf_sum_within

    b = y - ref.centre
    n, m = len(ref.x), len(b)
    k_yy = _rbf_sum_within(b, ref._gamma, 512) / (m * (m - 1))
    k_xy = _rbf_sum_cross(b, ref.x - ref.centre, ref._gamma, 512) / (n * m)
    return float(ref.k_xx + k_yy - 2.0 * k_xy)


def prdc(ref: ReferenceStats, fake: np.ndarray, *, block_size: int = 256) -> dict[str, float]:
    """Precision, recall, density, coverage of ``fake`` (M, d) against the reference, as
    :func:`autophagy.metrics.functional.prdc` computes them, with the reference's radii cached."""
    from autophagy.metrics.functional._pairwise import _augmented_pair
    from autophagy.metrics.functional.manifold import _kth_neighbour_distance

    k, n_real, n_fake = ref.nearest_k, len(ref.x), len(fake)
    neg_fake_r2 = -(_kth_neighbour_distance(fake, k) ** 2)  # (M,)
    left = _augmented_pair(fake - ref.centre, ref.x[:1] - ref.centre, 1.0)[0]  # (M, d + 2)
    inside = np.zeros(n_fake, dtype=np.int64)
    closest = np.full(n_real, -np.inf)
    recalled = np.zeros(n_real, dtype=bool)
    for start in range(0, n_fake, block_size):
        neg_d2 = left[start : start + block_size] @ ref.right_t  # (rows, N): -‖f_j - x_i‖²
        inside[start : start + len(neg_d2)] = np.count_nonzero(neg_d2 >= ref.neg_r2[None, :], axis=1)
        np.maximum(closest, neg_d2.max(axis=0), out=closest)
        recalled |= (neg_d2 >= neg_fake_r2[start : start + len(neg_d2), None]).any(axis=0)
    return {
        "precision": float(np.count_nonzero(inside) / n_fake),
        "recall": float(np.count_nonzero(recalled) / n_real),
        "density": float(inside.sum() / (k * n_fake)),
        "coverage": float(np.count_nonzero(closest >= ref.neg_r2) / n_real),
    }


class _NoSource:
    """The data source of a monitor's evaluation context: none (no truth, no feature space)."""


def score(ref: ReferenceStats, y: np.ndarray, names: Sequence[str], *, rng: np.random.Generator) -> dict[str, float]:
    """The sample metrics ``names`` of ``y`` (n, d) against the reference, in that order.

    Args:
        ref: the reference statistics.
        y: the samples' features, shape (n, d), n > ``ref.nearest_k``.
        names: metric names from :data:`CACHED` and :data:`EVALUATED`.
        rng: the stream of randomised metrics (sliced Wasserstein's projections).

    Returns:
        ``{name: value}``; a metric that fails numerically is NaN.
    """
    out: dict[str, float] = {}
    with np.errstate(all="ignore"):
        if any(name in PRDC for name in names):
            out.update(prdc(ref, y))
        for name, fn in (("frechet", frechet), ("mmd", mmd)):
            if name in names:
                try:
                    out[name] = fn(ref, y)
                except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                    out[name] = float("nan")
        if "cov_trace" in names:
            out["cov_trace"] = float(np.trace(np.atleast_2d(np.cov(y, rowvar=False))))
    rest = [name for name in names if name in EVALUATED]
    if rest:
        out.update(_evaluated(ref, y, rest, rng))
    return {name: out[name] for name in names}


def _evaluated(ref: ReferenceStats, y: np.ndarray, names: list[str], rng: np.random.Generator) -> dict[str, float]:
    """Registered sample metrics through the lab's :func:`~autophagy.metrics.evaluate.evaluate`."""
    from autophagy.metrics.evaluate import EvalConfig, evaluate, make_context

    config = EvalConfig(n_samples=len(y), nearest_k=ref.nearest_k)
    source: Any = _NoSource()
    return evaluate(names, make_context(ref.x, y, None, 1.0, source, config, rng))


__all__ = ["CACHED", "EVALUATED", "PRDC", "ReferenceStats", "frechet", "mmd", "prdc", "score"]
