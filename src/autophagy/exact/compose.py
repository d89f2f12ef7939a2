"""The loop's plan composed from group statistics, shared by the exact engines.

:func:`autophagy.loops.policy.step` composes D^t from samples; the exact engines compose it
from groups of statistics (Gaussian: mean and scatter; regression: XᵀX and Xᵀy). The mix is the
same: the fixed real set (drawn once), or the accumulated pool, then the fresh real group, then
n_synthetic samples split over the earlier generators (earlier ones take the remainder).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from autophagy.loops.policy import FIXED, FRESH, LoopConfig, Plan

G = TypeVar("G")


@dataclass(frozen=True)
class Composition(Generic[G]):
    """D^t as groups.

    Attributes:
        plan: the generation's plan.
        fixed: the fixed real group (drawn now if this is its first use), or None.
        parts: the groups D^t is made of.
        origin: samples per provenance code (FIXED, FRESH, generation k), accumulated for pools.
    """

    plan: Plan
    fixed: G | None
    parts: list[G]
    origin: dict[int, int]

    def provenance(self) -> dict[str, float]:
        """The provenance rows of :func:`autophagy.loops.policy.provenance`, from group sizes."""
        return dict(_provenance(tuple(self.origin.items())))


@functools.lru_cache(maxsize=256)
def _provenance(origin: tuple[tuple[int, int], ...]) -> dict[str, float]:
    """:meth:`Composition.provenance` of the ``origin`` items (a loop repeats its mix every
    generation, so this is computed once per mix; callers copy the cached dict)."""
    sizes = dict(origin)
    n = sum(sizes.values())
    return {
        "train_size": float(n),
        "frac_real_fixed": sizes.get(FIXED, 0) / n,
        "frac_real_fresh": sizes.get(FRESH, 0) / n,
        "frac_synthetic": sum(size for code, size in origin if code > 0) / n,
    }


def compose(
    loop: LoopConfig,
    state: Any,
    *,
    real: Callable[[int, str], G],
    synthetic: Callable[[int, Any, np.random.Generator], G],
    draw_stream: Callable[[str], np.random.Generator],
) -> Composition[G]:
    """Compose generation ``state.generation + 1`` from groups.

    Args:
        loop: the loop config.
        state: the previous state, with ``generation``, ``fixed``, ``pool``, ``pool_counts`` and
            ``generators`` (each with its ``generation``).
        real: ``real(n, role)`` draws a real group of n samples from the stream of ``role``.
        synthetic: ``synthetic(n, generator, rng)`` draws n samples of an earlier generator.
        draw_stream: this generation's stream of a role.
    """
    t = state.generation + 1
    plan = loop.plan(t)
    fixed = state.fixed
    if fixed is None and plan.n_fixed:
        fixed = real(plan.n_fixed, "real_fixed")
    parts: list[G] = []
    origin: dict[int, int] = {}
    if plan.accumulate and state.pool is not None:
        parts.append(state.pool)
        origin.update(dict(state.pool_counts))
    elif plan.use_fixed and fixed is not None:
        parts.append(fixed)
        origin[FIXED] = plan.n_fixed
    if plan.n_fresh:
        parts.append(real(plan.n_fresh, "real_fresh"))
        origin[FRESH] = origin.get(FRESH, 0) + plan.n_fresh
    if plan.n_synthetic and t > 1:
        rng = draw_stream("synthetic")
        sources = state.generators
        share, extra = divmod(plan.n_synthetic, len(sources))  # earlier generators take the remainder
        for i, g in enumerate(sources):
            size = share + (i < extra)
            if size:
                parts.append(synthetic(size, g, rng))
                origin[g.generation] = origin.get(g.generation, 0) + size
    return Composition(plan, fixed, parts, origin)
