"""The band of metric values that sampling noise alone explains, and drift out of it.

Null hypothesis of one update: its n samples are n independent draws of the real distribution
P. Under it a metric m(S, R) of the samples S against the fixed comparison set R has a
distribution given R, and the band is an estimate of its central (1 - α/K) range (K metrics
watched: Bonferroni, so that one update leaves *some* band with probability at most about α).

How it is estimated (:func:`replicates`, :func:`band`): the reference is split once into the
comparison set R and a calibration set C, independent of R. Each of the B replicates is a
subset of n rows of C drawn *without* replacement: a random subset of an i.i.d. sample is itself
an i.i.d. sample of P, so every replicate is an exact draw of the null given R (drawing with
replacement, or from R itself, would repeat rows and bias the k-NN metrics: a subsample of R
has precision 1). Overlapping subsets of a finite C vary less than independent samples; to
first order (a mean) by the finite-population factor 1 - n/|C|; and their mean, the band's
centre, is itself off by about sd·sqrt(n/|C|). So the spread is multiplied by
sqrt((1 + n/|C|)/(1 - n/|C|)) (the monitor keeps n <= |C|/2). The band is [mean - z·s₋, mean + z·s₊] with
z = Φ⁻¹(1 - α/(K·sides)) and s₋, s₊ the replicates' lower and upper semi-deviations
(sqrt(2·Σ min(v - v̄, 0)²/(B - 1)) and its upper twin: the standard deviation of a symmetric
metric, a wider upper side for a right-skewed one such as ``frechet``): a normal approximation
per tail (Student's t with B - 1 degrees of freedom), since B (100 by default) replicates cannot resolve a quantile of order α/K ≈ 10⁻³
directly. It is approximate: measure its false-alarm rate (``benchmarks/bench_monitor.py``). Distances (``frechet``, ``mmd``,
``sliced_wasserstein``) are one-sided: only a value above the band is drift.

Pure functions; shapes are given per function.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

#: Metrics for which only a value above the band is drift (a distance from the reference).
UPPER_ONLY = frozenset({"frechet", "mmd", "sliced_wasserstein"})


@dataclass(frozen=True)
class Band:
    """The noise band of K metrics at one sample size.

    Attributes:
        names: the metrics, length K.
        lower, upper: the band's edges, shape (K,) each (-inf / +inf for an open side).
        centre, scale: mean and (corrected) standard deviation of the replicates, shape (K,).
        n: the sample size it is for.
        replicates: B, the number of bootstrap replicates.
    """

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    centre: np.ndarray
    scale: np.ndarray
    n: int
    replicates: int


def replicates(
    score: Callable[[np.ndarray, np.random.Generator], Sequence[float]],
    pool: np.ndarray,
    n: int,
    b: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """The metrics of B subsets of ``n`` rows of ``pool`` drawn without replacement.

    Args:
        score: ``score(subset, rng) -> K values``; ``subset`` has shape (n, d).
        pool: the calibration set, shape (N_c, d), N_c >= n.
        n: rows per subset.
        b: B, the number of subsets.
        rng: the source of every draw (the subsets, then each replicate's own stream).

    Returns:
        shape (B, K).
    """
    rows = []
    for stream in rng.spawn(b):
        subset = pool[stream.choice(len(pool), size=n, replace=False)]
        rows.append(np.asarray(score(subset, stream), dtype=np.float64))
    return np.stack(rows)


def band(names: Sequence[str], values: np.ndarray, *, n: int, pool_size: int, level: float) -> Band:
    """The band of :func:`replicates`' values (see the module docstring).

    Args:
        names: the K metrics (:data:`UPPER_ONLY` ones get an open lower side).
        values: the replicates, shape (B, K); non-finite values are left out per metric.
        n: the sample size of each replicate.
        pool_size: N_c, the calibration set they were drawn from (finite-population factor).
        level: α, the chance that an update under the null leaves some band (Bonferroni over K).

    Returns:
        The :class:`Band`; a metric with fewer than 2 finite replicates gets the band (-inf, inf).
    """
    from scipy.stats import t as t_dist

    k = len(names)
    centre, scale = np.full(k, np.nan), np.full(k, np.nan)
    below, above = np.full(k, np.nan), np.full(k, np.nan)  # semi-deviations: a skewed metric's two tails
    for j in range(k):
        finite = values[:, j][np.isfinite(values[:, j])]
        if len(finite) >= 2:
            centre[j], scale[j] = finite.mean(), finite.std(ddof=1)
            dev = finite - centre[j]
            below[j] = np.sqrt(2.0 * np.sum(np.minimum(dev, 0.0) ** 2) / (len(finite) - 1))
            above[j] = np.sqrt(2.0 * np.sum(np.maximum(dev, 0.0) ** 2) / (len(finite) - 1))
    f = n / pool_size
    widen = np.sqrt((1.0 + f) / max(1.0 - f, 1e-12))  # finite population, and the centre's own error
    scale, below, above = scale * widen, below * widen, above * widen
    sides = np.array([1 if name in UPPER_ONLY else 2 for name in names])
    z = t_dist.isf(level / (k * sides), df=len(values) - 1)  # (K,): Student's t for a spread from B replicates
    lower = np.where(sides == 1, -np.inf, centre - z * below)
    upper = centre + z * above
    unknown = ~np.isfinite(centre)
    lower[unknown], upper[unknown] = -np.inf, np.inf
    return Band(tuple(names), lower, upper, centre, scale, n, len(values))


def outside(b: Band, values: Sequence[float]) -> np.ndarray:
    """Which values lie outside their band, shape (K,) bool (NaN is never outside)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (v < b.lower) | (v > b.upper)


def advance(streak: np.ndarray, since: np.ndarray, out: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """The out-of-band run of each metric after one update.

    Args:
        streak: consecutive out-of-band updates so far, shape (K,) int.
        since: the step at which each current run began (0: none), shape (K,) int.
        out: this update's :func:`outside`, shape (K,) bool.
        step: this update's step.

    Returns:
        The new (streak, since): a run grows by one where ``out``, else ends (0, 0).
    """
    new_streak = np.where(out, streak + 1, 0)
    new_since = np.where(out, np.where(streak > 0, since, step), 0)
    return new_streak.astype(np.int64), new_since.astype(np.int64)


def edge_text(b: Band, j: int, value: float) -> str:
    """How far metric j's ``value`` is from its band: 'frechet = 3.2 > 1.1 (band upper edge, 5.1 sd)'."""
    above = value > b.upper[j]
    edge = b.upper[j] if above else b.lower[j]
    sds = abs(value - b.centre[j]) / b.scale[j] if b.scale[j] > 0 else float("inf")
    return f"{b.names[j]} = {value:.4g} {'>' if above else '<'} {edge:.4g} (band {'upper' if above else 'lower'} edge; {sds:.1f} sd from the noise mean {b.centre[j]:.4g})"


__all__ = ["UPPER_ONLY", "Band", "advance", "band", "edge_text", "outside", "replicates"]
