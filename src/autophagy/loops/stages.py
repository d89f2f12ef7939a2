"""The stage between sampling G^t and training G^{t+1}: synthetic samples filtered, reweighted or
corrected before they enter the training set.

A stage is any callable ``stage(batch, *, rng) -> batch`` on a :class:`SyntheticBatch` (the
synthetic part of one generation's training set, with what a stage may consult: the generators
that made it and the real distribution). Real samples never pass through it. Stages run in the
order of the config's ``mitigation:`` list; each is resolved by ``kind`` in the registry group
``stage`` (a built-in name, an import path ``package.module:Name`` or a registered plug-in) and
built from its keys, e.g. a filter keeping a share of the batch, a verifier accepting samples by
a density ratio, a correction moving samples toward the truth. All randomness comes from the
generation's ``curate`` stream.

A stage may drop rows (filtering), repeat them (resampling by weight) or change them
(correction); the loop records the share of synthetic samples kept, ``frac_synthetic_kept``
(rows out / rows in), whenever a stage ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from autophagy.loops.pool import TrainingPool


@dataclass(frozen=True)
class SyntheticBatch:
    """The synthetic samples of one generation, on their way to the training set.

    Attributes:
        pool: the samples and their provenance (``origin``: the generation that made each).
        generators: the generators that made them, oldest first, and ``generator_ids`` their
            generations (``origin`` values).
        source: the real distribution P_r (its ``truth()`` where it is known).
        generation: the generation being trained.
        bias: the sampling bias λ the samples were drawn with.
        info: extra per-generation rows a stage wants recorded (name -> value).
    """

    pool: TrainingPool
    generators: tuple[Any, ...]
    generator_ids: tuple[int, ...]
    source: Any
    generation: int
    bias: float
    info: dict[str, float] = field(default_factory=dict)

    def with_pool(self, pool: TrainingPool, **info: float) -> SyntheticBatch:
        """This batch holding ``pool`` instead (``info`` rows added)."""
        return replace(self, pool=pool, info={**self.info, **info})


class SyntheticStage(Protocol):
    """Filters, reweights or corrects a generation's synthetic samples."""

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch: ...


def apply_stages(stages: Sequence[SyntheticStage], batch: SyntheticBatch, rng: np.random.Generator) -> SyntheticBatch:
    """``batch`` through every stage in order; adds ``frac_synthetic_kept`` to its info."""
    before = len(batch.pool)
    for stage in stages:
        batch = stage(batch, rng=rng)
        if not isinstance(batch, SyntheticBatch):
            raise TypeError(f"A synthetic stage must return a SyntheticBatch. {stage!r} returned {type(batch).__name__}.")
    return batch.with_pool(batch.pool, frac_synthetic_kept=len(batch.pool) / before if before else 1.0)
