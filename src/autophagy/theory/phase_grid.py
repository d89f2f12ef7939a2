"""The phase diagram of synthetic data: n_e/n_r over a grid of (λ, n_s) (MAD figures 11-12).

:func:`phase_diagram` runs :func:`~autophagy.theory.effective_size.effective_sample_size` on
every cell of the grid, spread over worker processes, with common random numbers across cells
(:class:`PhaseDiagram`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

import numpy as np

from autophagy._validation import check
from autophagy.theory.effective_size import EffectiveSize, _check_budget, _inverse, _refine
from autophagy.theory.wasserstein import _check_dim, _check_inputs, _check_seed, _LimitSampler


# -- the phase diagram --------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseDiagram:
    """n_e/n_r over a grid of (λ, n_s) (MAD figures 11-12).

    Attributes:
        n_real, dim: the fixed settings.
        n_synthetic: shape (S,).
        biases: shape (L,).
        ratio: n_e/n_r, shape (L, S).
        stderr: its standard error, shape (L, S).
        repeats: repeats used per cell, shape (L, S).
    """

    n_real: int
    dim: int
    n_synthetic: np.ndarray
    biases: np.ndarray
    ratio: np.ndarray
    stderr: np.ndarray
    repeats: np.ndarray


def _cell(args: tuple[int, int, float, int, str, float, int, int]) -> EffectiveSize:
    n_real, n_s, bias, dim, estimator, precision, max_repeats, seed = args
    inverse = _inverse(dim, estimator, seed)
    return _refine(_LimitSampler(n_real, n_s, bias, dim, estimator, seed), inverse, precision, max_repeats)


def phase_diagram(
    n_real: int,
    dim: int,
    n_synthetic: Sequence[int],
    biases: Sequence[float],
    *,
    estimator: str = "unbiased",
    precision: float = 0.01,
    max_repeats: int = 4096,
    seed: int = 0,
    workers: int | None = None,
) -> PhaseDiagram:
    """:func:`effective_sample_size` on every (λ, n_s) of a grid, spread over worker processes.

    Every cell uses the same seed (common random numbers across cells: neighbouring cells share
    their noise, so the admissible boundary is not blurred by independent errors).

    Args:
        workers: processes (default: all cores; 1 runs in this process).
    """
    _check_dim(dim)
    _check_budget(precision, max_repeats)
    _check_seed(seed)
    for bias in biases:
        for n_s in n_synthetic:
            _check_inputs(n_real, int(n_s), float(bias), dim, estimator)
    workers = (os.cpu_count() or 1) if workers is None else workers
    check(isinstance(workers, int) and workers >= 1, "workers", "an int >= 1", workers)
    tasks = [(n_real, int(n_s), float(b), dim, estimator, precision, max_repeats, seed) for b in biases for n_s in n_synthetic]
    # big cells first, so the pool does not end waiting on one slow cell
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i][1] * tasks[i][2])
    if workers == 1:
        results = {i: _cell(tasks[i]) for i in order}
    else:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = dict(zip(order, pool.map(_cell, [tasks[i] for i in order]), strict=True))
    shape = (len(biases), len(n_synthetic))
    ratio = np.array([results[i].ratio for i in range(len(tasks))]).reshape(shape)
    stderr = np.array([results[i].ratio_stderr for i in range(len(tasks))]).reshape(shape)
    repeats = np.array([results[i].repeats for i in range(len(tasks))]).reshape(shape)
    return PhaseDiagram(n_real, dim, np.asarray(n_synthetic), np.asarray(biases, dtype=float), ratio, stderr, repeats)
