"""The moments of :mod:`autophagy.theory.web` when the human arrivals h_t change over the
generations (a ``web.pool.human_per_generation`` schedule).

The same innovations and the same moment equations, but M_t = N + h_t and what the FIFO pool
keeps of a block now depends on the generation, not only on the block's age: the feedback
Z_t = Σ_{k<t} (R_{k,t} / M_k) Z_k + (innovations) is a lower-triangular T × T system, solved
once (Ψ = (I - P)⁻¹), and an innovation present with count d(k) at generation k weighs
ω(t) = Σ_k Ψ[t, k] d(k). Every item has a place in the arrival order (the initial pool, then
each generation's human items and its publications lineage by lineage); the draw pool of
generation t holds every earlier item at a place >= (all arrivals before t) - N, plus h_t.
"""

from __future__ import annotations

import numpy as np


def _kept(lo: np.ndarray, start: float, stop: float) -> np.ndarray:
    """Items of the places [start, stop) in the draw pools whose earliest kept place is ``lo``."""
    return np.clip(stop - np.maximum(start, lo), 0.0, stop - start)


def _sum_sq(weights: np.ndarray, presence: np.ndarray) -> np.ndarray:
    """Σ_rows (presence @ Ψᵀ)² per generation: ``presence`` (K, T) counts, ``weights`` Ψ (T, T)."""
    if not len(presence):
        return np.zeros(weights.shape[0])
    rounded = np.ascontiguousarray(np.round(presence, 9))
    keys = rounded.view(np.dtype((np.void, rounded.dtype.itemsize * rounded.shape[1]))).ravel()  # rows as bytes: a fast unique
    _, index, counts = np.unique(keys, return_index=True, return_counts=True)
    rows = rounded[index]
    omega = rows @ weights.T  # (K', T)
    return counts @ omega**2


def schedule_moments(
    humans: np.ndarray, n: int, publish: int, size: int, lineages: int, *, tau: float, bias: float, ddof: int,
    dim: int | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(E‖μ_ℓt - μ‖², w_t, the pool's human share after generation t, E‖ΔA_t‖² or None) for
    t = 1..T with ``humans`` (T,) human arrivals (module docstring; the last is the pool
    covariance's fluctuation for W₂, when ``dim`` is given)."""
    h = np.asarray(humans, dtype=float)
    T, lm = len(h), lineages * publish
    ends = size + np.cumsum(h + lm)  # places after generation t's arrivals
    before = np.concatenate([[float(size)], ends[:-1]])  # all arrivals before generation t
    lo = before - size  # (T,) the draw pool of generation t keeps places >= lo[t]
    big_m = size + h
    c = (n - 1) / (n - ddof)
    human_start = before  # H_t at [before_t, before_t + h_t)
    syn_start = before + h  # S_t at [syn_start_t, ends_t)
    gens = np.arange(T)
    # R[k, t]: items of S_k in the draw pool of generation t (> k)
    kept_syn = np.array([np.where(gens > k, _kept(lo, syn_start[k], ends[k]), 0.0) for k in range(T)])
    p_mean = (kept_syn / big_m[:, None]).T  # P[t, k]
    psi = np.linalg.inv(np.eye(T) - p_mean)

    def lifetimes(start: float, stop: float, born: int) -> tuple[np.ndarray, np.ndarray]:
        """Items of the places [start, stop), present from generation ``born`` on, by how long
        they stay: (how many, shape (K,); presence indicators, shape (K, T))."""
        counts = np.where(gens >= born, _kept(lo, start, stop), 0.0)  # FIFO: a nested, shrinking set
        leaving = counts - np.concatenate([counts[1:], [0.0]])
        last = np.flatnonzero(leaving > 1e-12)
        return leaving[last], ((gens[None, :] >= born) & (gens[None, :] <= last[:, None])).astype(float)

    def sums(weights: np.ndarray, items: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        """Σ over single items of ω(t)², ω = Ψ d."""
        counts, presence = items
        return counts @ (presence @ weights.T) ** 2

    initial = lifetimes(0.0, float(size), 0)
    human_blocks = [lifetimes(human_start[b], human_start[b] + h[b], b) for b in range(T)]
    item_blocks = [lifetimes(syn_start[b], ends[b], b + 1) for b in range(T)]
    first = np.arange(lineages)[:, None] * publish  # (L, 1): each lineage's first place in its block
    lineage_blocks = [  # (L, T): items of each lineage of S_b in the draw pool of generation t
        np.where(gens > b, np.clip(syn_start[b] + first + publish - np.maximum(syn_start[b] + first, lo), 0.0, publish), 0.0)
        for b in range(T)
    ]
    g_human = sums(psi, initial) + sum(sums(psi, x) for x in human_blocks)  # per unit τ, (T,)
    eta = (big_m - n) / (n * big_m)
    g_item = np.array([sums(psi, x) for x in item_blocks])  # (b, t), per unit λ c w_b
    g_lineage = np.array([_sum_sq(psi, x) for x in lineage_blocks])  # (b, t), per unit η_b w_b
    human_count = np.array([_kept(lo[t:t + 1], 0.0, float(size))[0] for t in range(T)])
    for b in range(T):
        human_count += np.where(gens >= b, np.where(gens == b, h[b], _kept(lo, human_start[b], human_start[b] + h[b])), 0.0)
    q, spread = np.zeros(T), np.zeros(T)
    for t in range(T):
        past = slice(0, t)
        q[t] = tau * g_human[t] + float(np.dot(spread[past], bias * c * g_item[past, t] + eta[past] * g_lineage[past, t]))
        g = q[past] / big_m[past] ** 2 + eta[past] * spread[past]
        v = tau * human_count[t] + float(np.dot(kept_syn[past, t], g + bias * c * spread[past]))
        spread[t] = (v - q[t] / big_m[t]) / (big_m[t] - 1.0)
    mean_sq = q / big_m**2 + eta * spread
    share = (np.append(human_count[1:], np.nan) - np.append(h[1:], 0.0)) / size
    after_last = _kept(np.array([ends[-1] - size]), 0.0, float(size))[0] + sum(
        _kept(np.array([ends[-1] - size]), human_start[b], human_start[b] + h[b])[0] for b in range(T))
    share[-1] = after_last / size
    if dim is None:
        return mean_sq, spread, share, None
    psi_cov = np.linalg.inv(np.eye(T) - (bias * c * kept_syn / (big_m[:, None] - 1.0)).T)
    f_human = sums(psi_cov, initial) + sum(sums(psi_cov, x) for x in human_blocks)
    f_item = np.array([sums(psi_cov, x) for x in item_blocks])
    f_lineage = np.array([_sum_sq(psi_cov, bias * x) for x in lineage_blocks])
    f_mean = np.array([_sum_sq(psi_cov, x) for x in lineage_blocks])
    draw = (big_m - n) / ((n - 1) * (big_m - 1))
    cov = c * spread
    fluct = np.array([
        tau**2 * f_human[t]
        + float(np.dot(c**2 * spread[:t] ** 2, bias**2 * f_item[:t, t] + draw[:t] * f_lineage[:t, t]))
        + float(np.dot(mean_sq[:t] ** 2, f_mean[:t, t])) + float(np.dot(2.0 * bias * mean_sq[:t] * cov[:t], f_item[:t, t]))
        for t in range(T)
    ]) * (1 + 1 / dim)
    return mean_sq, spread, share, fluct
