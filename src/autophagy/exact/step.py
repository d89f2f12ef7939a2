"""One generation of a Gaussian loop on sufficient statistics, for every repeat at once.

The same :class:`~autophagy.loops.policy.Plan` that :func:`autophagy.loops.policy.step`
composes from samples is composed here from group statistics (:mod:`.stats`): the fixed real
set is drawn once and kept as (n, x̄, S); fresh real samples and synthetic samples from each
earlier generator are drawn as statistics from their exact laws; an accumulated pool is the
merged statistics of everything so far. The fit is then exact: μ_t = x̄ and
Σ_t = S / (n - δ) with δ = 0 (``mle``) or 1 (``unbiased``).

Not exact, so not here: ``accumulate_subsample`` (a random subset of a pool depends on more
than the pool's statistics) and Ledoit-Wolf shrinkage (used below d + 1 samples); those run on
the sampled engine.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from autophagy.exact.compose import compose
from autophagy.exact.stats import Stats, _outer, draw, merge, psd_factor
from autophagy.loops.policy import LoopConfig

Draw = Callable[[str], np.random.Generator]


@dataclass(frozen=True)
class FittedGaussians:
    """The Gaussians fitted at one generation, one per repeat.

    Attributes:
        generation: the generation that fitted them.
        mean: μ_t, shape (R, d).
        factor: F with F Fᵀ = Σ_t, shape (R, d, d) (what synthetic groups are drawn with).
        cov: Σ_t, shape (R, d, d); formed from ``factor`` on first use.
    """

    generation: int
    mean: np.ndarray
    factor: np.ndarray

    @functools.cached_property
    def cov(self) -> np.ndarray:
        return _outer(self.factor)

    def sampling_factor(self, bias: float) -> np.ndarray:
        """√λ F, a factor of λ Σ_t (what G^t samples from), shape (R, d, d); ``factor`` itself for
        λ = 1. Kept (for the last λ asked) until the next generation is composed: the metrics of
        generation t and the synthetic draws of generation t + 1 both need it."""
        if bias == 1.0:
            return self.factor
        cached = self.__dict__.get("_sampling")
        if cached is None or cached[0] != bias:
            cached = (bias, math.sqrt(bias) * self.factor)
            self.__dict__["_sampling"] = cached  # frozen: the cache bypasses __setattr__
        return cached[1]


@dataclass(frozen=True)
class ExactState:
    """What carries over between generations (the statistics analogue of ``LoopState``)."""

    generation: int = 0
    fixed: Stats | None = None
    pool: Stats | None = None
    generators: tuple[FittedGaussians, ...] = ()
    pool_counts: tuple[tuple[int, int], ...] = ()


def fit(stats: Stats, estimator: str) -> tuple[np.ndarray, np.ndarray]:
    """μ = x̄ and Σ = S / (n - δ), δ = 0 for ``mle`` and 1 for ``unbiased``."""
    ddof = 0 if estimator == "mle" else 1
    return stats.mean, stats.scatter / (stats.n - ddof)


def exact_step(
    loop: LoopConfig,
    state: ExactState,
    *,
    mean: np.ndarray,
    factor: np.ndarray,
    draw_stream: Draw,
    bias: float,
    estimator: str,
    repeats: int,
) -> tuple[ExactState, dict[str, float]]:
    """Compose D^t as statistics, fit G^t, and return the new state.

    Args:
        loop: the loop config (its ``plan`` gives the mix).
        state: the state after the previous generation.
        mean: the true mean μ, shape (d,).
        factor: a factor of the true covariance Σ, shape (d, d).
        draw_stream: ``draw_stream(role)`` returns this generation's stream for a role.
        bias: λ, the sampling bias of synthetic groups (they come from N(μ_k, λ Σ_k)).
        estimator: ``mle`` or ``unbiased``.
        repeats: R.

    Returns:
        The new state (its last generator is G^t) and the provenance rows of D^t.
    """
    t = state.generation + 1
    mix = compose(
        loop,
        state,
        real=lambda n, role: draw(n, mean, factor, draw_stream(role), repeats),
        synthetic=lambda n, g, rng: draw(n, g.mean, g.sampling_factor(bias), rng, repeats),
        draw_stream=draw_stream,
    )
    fixed, parts, origin, plan = mix.fixed, mix.parts, mix.origin, mix.plan
    for g in state.generators:  # drawn from: their scaled factors are no longer needed
        g.__dict__.pop("_sampling", None)
    train = merge(parts)
    ddof = 0 if estimator == "mle" else 1
    if train.factor is not None and ddof == 0 and train.factor_over_root_n is not None:
        fitted = FittedGaussians(t, train.mean, train.factor_over_root_n)  # = train.factor / √n, formed by the draw
    elif train.factor is not None:  # one group: Bartlett's factor of the scatter comes free
        fitted = FittedGaussians(t, train.mean, train.factor / math.sqrt(train.n - ddof))
    else:
        mu, cov = fit(train, estimator)
        fitted = FittedGaussians(t, mu, psd_factor(cov))
        fitted.__dict__["cov"] = cov  # already formed: keep it
    keep = (*state.generators, fitted) if loop.synthetic_from == "all" else (fitted,)
    pool, counts = (train, tuple(origin.items())) if plan.accumulate else (None, ())
    return ExactState(t, fixed, pool, keep, counts), mix.provenance()

