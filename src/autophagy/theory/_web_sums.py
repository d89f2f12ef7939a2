"""The sums of squared innovation weights behind :mod:`autophagy.theory.web` (its docstring
has the model): which items of each block a FIFO pool holds at each age, the impulse response ψ
of the pool's feedback, and Σ ω(α)² over a block's innovations.

A *profile* ``(count, start, stop, level, tail)`` is ``count`` innovations, each present in the
pool with weight ``level`` at ages start..stop and ``tail`` at age stop + 1; its weight in the
pool sum at age α is ω(α) = level · Σ_{β=start}^{stop} ψ(α - β) + tail · ψ(α - stop - 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

#: ψ is summed until its tail falls below this.
TAIL = 1e-15
#: The longest ψ the stationary sums compute.
MAX_LENGTH = 2**23

Profile = tuple[float, int, int, float, float]


@dataclass(frozen=True)
class Geometry:
    """A FIFO pool of ``size`` items with ``human`` human and ``lineages`` × ``publish``
    synthetic arrivals per generation (human first, then lineage by lineage)."""

    lineages: int
    publish: int
    human: float
    size: int

    @property
    def arrivals(self) -> float:
        return self.human + self.lineages * self.publish

    @property
    def draw_size(self) -> float:
        """M = N + h: the pool every lineage draws from."""
        return self.size + self.human

    @property
    def last_age(self) -> int:
        """An age past every synthetic block's stay in the pool."""
        return int(math.ceil(self.size / self.arrivals)) + 2

    def synthetic_kept(self, age: np.ndarray) -> np.ndarray:
        """R_S(α): items of a synthetic block of age α >= 1 in the draw pool."""
        return np.clip(self.size - (age - 1) * self.arrivals, 0.0, self.lineages * self.publish)

    def human_kept(self, age: np.ndarray) -> np.ndarray:
        """R_H(α): items of a human block of age α >= 0 in the draw pool (all h at age 0)."""
        kept = np.clip(self.size - (age - 1) * self.arrivals - self.lineages * self.publish, 0.0, self.human)
        return np.where(age == 0, self.human, kept)

    def initial_kept(self, t: np.ndarray) -> np.ndarray:
        """Items of the initial pool in the draw pool of generation t >= 1."""
        return np.clip(self.size - (t - 1) * self.arrivals, 0.0, self.size)

    def counts(self) -> tuple[float, float]:
        """(N_H, N_S): the stationary draw pool's human and synthetic items."""
        ages = np.arange(self.last_age + 1)
        return float(self.human_kept(ages).sum()), float(self.synthetic_kept(ages[1:]).sum())

    def kernel(self, scale: float) -> np.ndarray:
        """ρ(α) = scale · R_S(α) for α = 0..last_age (ρ(0) = 0)."""
        ages = np.arange(self.last_age + 1)
        return np.where(ages >= 1, self.synthetic_kept(ages), 0.0) * scale

    def human_profiles(self) -> list[Profile]:
        """One human block's items, each of weight 1 from age 0 to its last age in the pool."""
        return [(c, 0, life, 1.0, 0.0) for c, life in lifetimes(self.human_kept(np.arange(self.last_age + 1)), 0)]

    def item_profiles(self) -> list[Profile]:
        """One synthetic block's items, each of weight 1 from age 1 to its last age in the pool."""
        return [(c, 1, life, 1.0, 0.0) for c, life in lifetimes(self.synthetic_kept(np.arange(1, self.last_age + 1)), 1)]

    def lineage_profiles(self, level: float) -> list[Profile]:
        """One synthetic block's lineages, each of weight ``level`` per item it still has in the
        pool: lineage j from the newest has all m items at ages 1..A_j and r_j at A_j + 1."""
        m, a, size = self.publish, self.arrivals, self.size
        j = np.arange(self.lineages)
        full = np.where(size >= (j + 1) * m, np.floor((size - (j + 1) * m) / a) + 1, 0).astype(np.int64)
        partial = np.round(np.clip(size - full * a - j * m, 0.0, m), 9)
        keys, counts = np.unique(np.column_stack([full, partial]), axis=0, return_counts=True)
        return [(float(c), 1, int(k[0]), level * m, level * float(k[1])) for k, c in zip(keys, counts, strict=True)]

    def initial_profiles(self, generations: int) -> list[Profile]:
        """The initial pool's items, each of weight 1 from generation 1 to its last one."""
        t = np.arange(1, generations + self.last_age + 2)
        return [(c, 1, life, 1.0, 0.0) for c, life in lifetimes(self.initial_kept(t), 1)]


def lifetimes(kept: np.ndarray, first: int) -> list[tuple[float, int]]:
    """(items, last age) from the counts ``kept[α - first]`` still present at ages first, first + 1, ..."""
    leaving = kept - np.concatenate([kept[1:], [0.0]])
    return [(float(c), first + i) for i, c in enumerate(leaving) if c > 1e-12]


def impulse(kernel: np.ndarray, length: int) -> np.ndarray:
    """ψ(0..length-1), the impulse response of 1 / (1 - Σ_α ρ(α) z^α): by recursion for a short
    kernel, else through the FFT (period ≥ 2 · length: what wraps around is ψ's tail beyond
    ``length``, negligible once length comes from :func:`stationary_length`)."""
    if len(kernel) > 64 and length > 4 * len(kernel):
        period = 1 << int(math.ceil(math.log2(2 * length)))
        return np.fft.irfft(1.0 / (1.0 - np.fft.rfft(kernel, period)), period)[:length]
    unit = np.zeros(length)
    unit[0] = 1.0
    return np.asarray(lfilter([1.0], np.concatenate([[1.0], -kernel[1:]]), unit))


def stationary_length(kernel: np.ndarray) -> int:
    """Ages until ψ's tail is below :data:`TAIL` (ψ decays like x^α, Σ_α ρ(α) x^{-α} = 1,
    solved for y = -log x on a log scale); more than :data:`MAX_LENGTH` when it does not decay
    (Σ ρ >= 1)."""
    from scipy.optimize import brentq
    from scipy.special import logsumexp

    ages = np.flatnonzero(kernel > 0.0)
    total = float(kernel.sum())
    if total <= 0.0:
        return len(kernel) + 1
    if total >= 1.0:
        return MAX_LENGTH + 1
    log_rho = np.log(kernel[ages])
    y = brentq(lambda v: float(logsumexp(log_rho + ages * v)), 0.0, float(-log_rho[0] / ages[0]) + 1e-12)
    return 4 * len(kernel) + int(math.ceil(-math.log(TAIL) / y))


def squared_weights(psi: np.ndarray, profiles: list[Profile], length: int) -> np.ndarray:
    """Σ over ``profiles`` of count · ω(α)², α = 0..length-1 (module docstring)."""
    cum = np.concatenate([[0.0], np.cumsum(psi)])  # cum[k] = Σ_{i<k} ψ(i)
    alpha = np.arange(length)

    def through(upto: np.ndarray) -> np.ndarray:  # Σ_{i <= upto} ψ(i); 0 below 0
        return cum[np.clip(upto + 1, 0, len(psi))]

    out = np.zeros(length)
    for count, start, stop, level, tail in profiles:
        if count <= 0.0:
            continue
        omega = level * (through(alpha - start) - through(alpha - stop - 1))
        if tail:
            back = alpha - stop - 1
            omega = omega + tail * np.where(back >= 0, psi[np.clip(back, 0, len(psi) - 1)], 0.0)
        out += count * omega**2
    return out


def scaled(profiles: list[Profile], factor: float) -> list[Profile]:
    """``profiles`` with their counts times ``factor`` (a variance per innovation)."""
    return [(c * factor, start, stop, level, tail) for c, start, stop, level, tail in profiles]
