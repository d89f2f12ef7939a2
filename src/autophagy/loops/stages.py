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

A stage may drop rows (filtering), repeat them (resampling by weight), change them
(correction) or draw more from the generators (rejection sampling until the batch is full,
:meth:`SyntheticBatch.draw_more`). Whenever a stage ran the loop records ``frac_synthetic_kept``
(rows out / rows in), ``kept_fraction`` (rows out / every synthetic sample proposed, the extra
draws included) and, per stage, ``removed_by_<kind>`` (the share of the samples the stage saw,
its own extra draws included, that it dropped).

A stage may also act at generation time: an optional method ``wrap_generators(generators, *,
generation) -> generators`` replaces the generators the synthetic samples are drawn from (a
watermark is put into the samples as they are generated).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np

from autophagy.loops.pool import TrainingPool
from autophagy.loops.synthesis import synthesize


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
        reference_model: G^1, the model of the original data, for stages that score under it
            (given when a stage's config sets ``needs_reference_model``; else None).
        real: ``real(n)`` -> (n, d): the verifier's real reference set, the same rows in every
            generation of a repeat (from the repeat's ``verifier`` stream; None when the caller
            has no real data to give, e.g. a unit test).
        proposed: synthetic samples drawn for this batch so far (its initial rows plus any a stage
            drew with :meth:`draw_more`).
        removed: (stage name, rows it removed, rows it saw) per stage run so far.
    """

    pool: TrainingPool
    generators: tuple[Any, ...]
    generator_ids: tuple[int, ...]
    source: Any
    generation: int
    bias: float
    info: dict[str, float] = field(default_factory=dict)
    reference_model: Any = None
    real: Callable[[int], np.ndarray] | None = None
    proposed: int = -1
    removed: tuple[tuple[str, int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.proposed < 0:
            object.__setattr__(self, "proposed", len(self.pool))

    def with_pool(self, pool: TrainingPool, **info: float) -> SyntheticBatch:
        """This batch holding ``pool`` instead (``info`` rows added)."""
        return replace(self, pool=pool, info={**self.info, **info})

    def draw_more(self, n: int, rng: np.random.Generator) -> TrainingPool:
        """``n`` new synthetic samples from :attr:`generators`, split over them as the loop splits
        its draw (with provenance; lineage 0). Counted in :attr:`proposed` once returned in a
        batch made by :meth:`with_more`."""
        x, origin = synthesize(n, self.generators, self.generator_ids, rng, self.bias)
        return TrainingPool(x, origin, np.zeros(len(x), dtype=np.int64))

    def with_more(self, pool: TrainingPool, extra: int, **info: float) -> SyntheticBatch:
        """This batch holding ``pool``, after a stage drew ``extra`` more samples (:meth:`draw_more`)."""
        return replace(self, pool=pool, proposed=self.proposed + extra, info={**self.info, **info})

    def real_samples(self, n: int) -> np.ndarray:
        """The verifier's ``n`` real reference rows (see :attr:`real`).

        Raises:
            ValueError: If the batch was made without real data.
        """
        if self.real is None:
            raise ValueError("this synthetic batch carries no real reference data (SyntheticBatch.real is None)")
        return self.real(n)


class SyntheticStage(Protocol):
    """Filters, reweights or corrects a generation's synthetic samples."""

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch: ...


def stage_name(stage: Any) -> str:
    """A stage's name in the ``removed_by_<name>`` rows: its ``kind`` attribute (the built-ins'),
    else its class or function name."""
    kind = getattr(stage, "kind", None)
    return kind if isinstance(kind, str) else getattr(stage, "__name__", type(stage).__name__)


def apply_stages(stages: Sequence[SyntheticStage], batch: SyntheticBatch, rng: np.random.Generator) -> SyntheticBatch:
    """``batch`` through every stage in order; adds ``frac_synthetic_kept`` to its info and, per
    stage, what it removed to :attr:`SyntheticBatch.removed` (see :func:`stage_rows`)."""
    before = len(batch.pool)
    for stage in stages:
        rows, proposed = len(batch.pool), batch.proposed
        out = stage(batch, rng=rng)
        if not isinstance(out, SyntheticBatch):
            raise TypeError(f"A synthetic stage must return a SyntheticBatch. {stage!r} returned {type(out).__name__}.")
        seen = rows + out.proposed - proposed
        batch = replace(out, removed=(*out.removed, (stage_name(stage), max(0, seen - len(out.pool)), seen)))
    return batch.with_pool(batch.pool, frac_synthetic_kept=len(batch.pool) / before if before else 1.0)


def stage_rows(batch: SyntheticBatch) -> dict[str, float]:
    """The bookkeeping rows of a batch that went through :func:`apply_stages`: ``kept_fraction``
    (rows out / samples proposed) and ``removed_by_<name>`` per stage (a repeated name gets
    ``_2``, ``_3``... in order)."""
    rows = {"kept_fraction": len(batch.pool) / batch.proposed if batch.proposed else 1.0}
    for name, removed, seen in batch.removed:
        key, k = f"removed_by_{name}", 2
        while key in rows:
            key, k = f"removed_by_{name}_{k}", k + 1
        rows[key] = removed / seen if seen else 0.0
    return rows


def wrap_generators(stages: Sequence[Any], generators: tuple[Any, ...], generation: int) -> tuple[Any, ...]:
    """The generators synthetic samples are drawn from, after every stage's optional
    ``wrap_generators`` hook (e.g. a watermark applied at generation time)."""
    for stage in stages:
        hook = getattr(stage, "wrap_generators", None)
        if hook is not None:
            generators = tuple(hook(generators, generation=generation))
    return generators
