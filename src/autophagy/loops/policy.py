"""How the training set D^t of each generation is composed.

Every loop kind of the MAD article (Alemohammad et al., 2024, §2.2) and of the accumulate
literature (Gerstgrasser et al., 2024) is one setting of the same general mix: a fixed real
set D_r drawn once, ``n_fresh`` new real samples per generation, ``n_synthetic`` samples from
earlier generators, optionally accumulated over generations and optionally subsampled. A loop
config only says which mix it is (:meth:`LoopConfig.plan`); :func:`step` does the composing.

Generation 1 is always trained on real data only. Every sample carries its provenance in
``origin``: :data:`FIXED` (-1) for the fixed real set, :data:`FRESH` (0) for fresh real
samples, k >= 1 for a sample drawn from the generator of generation k.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from pydantic import Field, NonNegativeInt, PositiveInt, model_validator

from autophagy._validation import Model, check
from autophagy.core.generator import Generator
from autophagy.core.source import DataSource
from autophagy.loops.pool import FIXED, FRESH, TrainingPool
from autophagy.loops.pool import provenance as pool_provenance
from autophagy.loops.stages import (
    SyntheticBatch,
    SyntheticStage,
    apply_stages,
    stage_rows,
    wrap_generators,
)
from autophagy.loops.synthesis import synthesize

Draw = Callable[[str], np.random.Generator]


@dataclass(frozen=True)
class Plan:
    """The mix for one generation.

    Attributes:
        n_fixed: size of the fixed real set D_r (drawn once, reused).
        use_fixed: whether D_r is part of this generation's training set.
        n_fresh: new real samples this generation.
        n_synthetic: samples drawn from earlier generators this generation.
        accumulate: keep every earlier training sample in the pool.
        subsample: train on a random subset of this size of the pool (None = all of it).
        fixed_used: train on this many rows of D_r only (None = all of it): its first rows, or
            a new random subset each generation when ``resample_fixed``.
        resample_fixed: draw the ``fixed_used`` rows anew each generation (stream ``subsample``).
    """

    n_fixed: int
    use_fixed: bool
    n_fresh: int
    n_synthetic: int
    accumulate: bool = False
    subsample: int | None = None
    fixed_used: int | None = None
    resample_fixed: bool = False


def train_size(p: Plan, t: int, pool: int) -> tuple[int, int]:
    """The size of D^t under plan ``p`` at generation ``t``, and the accumulated pool after it
    (``pool``: the pool's size before generation t; 0 for loops that do not accumulate)."""
    if p.accumulate:
        pool += p.n_fresh + p.n_synthetic + (p.n_fixed if t == 1 else 0)
        return (min(pool, p.subsample) if p.subsample else pool), pool
    used = p.n_fixed if p.fixed_used is None else min(p.fixed_used, p.n_fixed)
    return (used if p.use_fixed else 0) + p.n_fresh + p.n_synthetic, pool


class LoopConfig(Model):
    """Keys every loop config has."""

    kind: str
    synthetic_from: Literal["last", "all"] = "last"

    @model_validator(mode="before")
    @classmethod
    def _resolve_sizes(cls, raw: object) -> object:
        # Sizes that default to n_real are filled in here so the resolved config shows them.
        if isinstance(raw, dict) and "n_real" in cls.model_fields:
            n_real = raw.get("n_real", cls.model_fields["n_real"].default)
            for key in ("n_synthetic", "train_size"):
                if key in cls.model_fields and raw.get(key) is None:
                    raw = {**raw, key: n_real}
        return raw

    def plan(self, generation: int) -> Plan:  # pragma: no cover - abstract
        raise NotImplementedError

    def train_sizes(self, generations: int) -> list[int]:
        """Training-set size of each generation 1..T (checked against the generator's needs)."""
        sizes, pool = [], 0
        for t in range(1, generations + 1):
            size, pool = train_size(self.plan(t), t, pool)
            sizes.append(size)
        return sizes


class FullySyntheticConfig(LoopConfig):
    """G^1 on ``n_real`` real samples; every later G^t on ``n_synthetic`` synthetic samples only."""

    kind: Literal["fully_synthetic"] = "fully_synthetic"
    n_real: PositiveInt = 100
    n_synthetic: PositiveInt = 100

    def plan(self, generation: int) -> Plan:
        if generation == 1:
            return Plan(self.n_real, True, 0, 0)
        return Plan(self.n_real, False, 0, self.n_synthetic)


class AugmentConfig(LoopConfig):
    """A fixed real set D_r of ``n_real`` samples reused every generation plus ``n_synthetic``."""

    kind: Literal["augment"] = "augment"
    n_real: PositiveInt = 100
    n_synthetic: NonNegativeInt = 100

    def plan(self, generation: int) -> Plan:
        return Plan(self.n_real, True, 0, 0 if generation == 1 else self.n_synthetic)


class FreshConfig(LoopConfig):
    """``n_real`` new real samples every generation plus ``n_synthetic`` synthetic ones."""

    kind: Literal["fresh"] = "fresh"
    n_real: PositiveInt = 100
    n_synthetic: NonNegativeInt = 100

    def plan(self, generation: int) -> Plan:
        return Plan(0, False, self.n_real, 0 if generation == 1 else self.n_synthetic)


class AccumulateConfig(LoopConfig):
    """Keep everything: D^t = D^{t-1} ∪ (``n_fresh`` fresh real) ∪ (``n_synthetic`` synthetic).

    The initial ``n_real`` real samples stay in the pool for good (Gerstgrasser et al., 2024).
    """

    kind: Literal["accumulate"] = "accumulate"
    n_real: PositiveInt = 100
    n_synthetic: NonNegativeInt = 100
    n_fresh: NonNegativeInt = 0

    def plan(self, generation: int) -> Plan:
        if generation == 1:
            return Plan(self.n_real, True, 0, 0, accumulate=True)
        return Plan(self.n_real, True, self.n_fresh, self.n_synthetic, accumulate=True)


class AccumulateSubsampleConfig(AccumulateConfig):
    """The pool grows as in ``accumulate``; each generation trains on ``train_size`` of it."""

    kind: Literal["accumulate_subsample"] = "accumulate_subsample"  # type: ignore[assignment]
    train_size: PositiveInt = 100

    def plan(self, generation: int) -> Plan:
        return replace(super().plan(generation), subsample=self.train_size)


class KeepOriginalConfig(LoopConfig):
    """Shumailov et al. (2024): G^1 on the original data D_0 (``n_real``); every later G^t on
    ``n_synthetic`` samples of G^{t-1} plus a share ``keep`` of D_0 (the article: 0 or 10 %) —
    the same rows every generation, or a new random subset each generation (``resample: true``,
    the resampling of the original data the article suggests as a mitigation). ``n_synthetic``
    defaults to (1 - keep)·n_real, so every generation trains on as much data as the first.
    """

    kind: Literal["keep_original"] = "keep_original"
    n_real: PositiveInt = 100
    keep: float = Field(default=0.1, ge=0.0, le=1.0, description="share of D_0 kept in every later generation")
    resample: bool = False
    n_synthetic: NonNegativeInt = 90

    @model_validator(mode="before")
    @classmethod
    def _resolve_sizes(cls, raw: object) -> object:
        if isinstance(raw, dict) and raw.get("n_synthetic") is None:
            n_real = raw.get("n_real", cls.model_fields["n_real"].default)
            keep = raw.get("keep", cls.model_fields["keep"].default)
            if isinstance(n_real, int) and isinstance(keep, (int, float)):
                raw = {**raw, "n_synthetic": max(0, round((1.0 - keep) * n_real))}
        return raw

    @property
    def n_kept(self) -> int:
        """Rows of D_0 in every generation after the first: round(keep · n_real)."""
        return round(self.keep * self.n_real)

    def plan(self, generation: int) -> Plan:
        if generation == 1:
            return Plan(self.n_real, True, 0, 0)
        return Plan(self.n_real, self.n_kept > 0, 0, self.n_synthetic, fixed_used=self.n_kept, resample_fixed=self.resample)


class MixedConfig(LoopConfig):
    """The general mix: ``n_fixed`` fixed real + ``n_fresh`` fresh real + ``n_synthetic``."""

    kind: Literal["mixed"] = "mixed"
    n_fixed: NonNegativeInt = 0
    n_fresh: NonNegativeInt = 100
    n_synthetic: NonNegativeInt = 100

    @model_validator(mode="after")
    def _some_real(self) -> MixedConfig:
        check(
            self.n_fixed + self.n_fresh > 0,
            "loop.n_fixed",
            "> 0 or loop.n_fresh > 0 (generation 1 needs real data)",
            self.n_fixed,
        )
        return self

    def plan(self, generation: int) -> Plan:
        return Plan(self.n_fixed, True, self.n_fresh, 0 if generation == 1 else self.n_synthetic)


@dataclass(frozen=True)
class LoopState:
    """What carries over from one generation to the next.

    Attributes:
        generation: the last finished generation (0 before the loop starts).
        fixed: the fixed real set D_r (n_fixed, d), or None before it is drawn.
        pool: the accumulated pool with its provenance, for accumulating loops (else None).
        generators: fitted generators of earlier generations, oldest first; only the last one
            is kept unless ``synthetic_from`` is ``all``. ``generator_ids`` are their generations.
    """

    generation: int = 0
    fixed: np.ndarray | None = None
    pool: TrainingPool | None = None
    generators: tuple[Generator, ...] = ()
    generator_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class TrainingSet:
    """D^t with its provenance. ``x``: (n, d); ``origin``: (n,) int codes (see module doc)."""

    x: np.ndarray
    origin: np.ndarray
    info: dict[str, float] = field(default_factory=dict)


def provenance(origin: np.ndarray) -> dict[str, float]:
    """Bookkeeping rows: training-set size and the fraction of each provenance."""
    return pool_provenance(origin)


def step(
    config: LoopConfig,
    state: LoopState,
    *,
    source: DataSource,
    draw: Draw,
    bias: float,
    stages: Sequence[SyntheticStage] = (),
    reference_model: Generator | None = None,
    real: Callable[[int], np.ndarray] | None = None,
) -> tuple[LoopState, TrainingSet]:
    """Compose D^t for generation ``state.generation + 1``.

    Args:
        config: the loop config (its :meth:`~LoopConfig.plan` gives the mix).
        state: the state after the previous generation.
        source: the real distribution.
        draw: ``draw(role)`` returns this generation's random stream for a role
            (``real_fixed``, ``real_fresh``, ``synthetic``, ``subsample``, ``curate``).
        bias: the sampling bias λ used to draw synthetic samples.
        stages: applied in order to the synthetic samples before they join D^t (see
            :mod:`autophagy.loops.stages`); none by default.
        reference_model: G^1, handed to the stages (:attr:`SyntheticBatch.reference_model`).
        real: the verifier's real reference rows, handed to the stages (:attr:`SyntheticBatch.real`).

    Returns:
        The new state (without this generation's generator, which the runner appends with
        :func:`with_generator`) and the training set.
    """
    t = state.generation + 1
    plan = config.plan(t)
    fixed = state.fixed
    if fixed is None and plan.n_fixed:
        fixed = source.sample(plan.n_fixed, rng=draw("real_fixed"))
    parts: list[TrainingPool] = []
    if plan.accumulate and state.pool is not None:
        parts.append(state.pool)
    elif plan.use_fixed and fixed is not None:
        part = fixed
        if plan.fixed_used is not None and plan.fixed_used < len(fixed):
            rows = np.sort(draw("subsample").choice(len(fixed), size=plan.fixed_used, replace=False)) if plan.resample_fixed else slice(plan.fixed_used)
            part = fixed[rows]
        parts.append(TrainingPool.of(part, FIXED))
    if plan.n_fresh:
        parts.append(TrainingPool.of(source.sample(plan.n_fresh, rng=draw("real_fresh")), FRESH))
    info: dict[str, float] = {}
    if plan.n_synthetic and t > 1:
        generators = wrap_generators(stages, state.generators, t) if stages else state.generators
        x_s, o_s = synthesize(plan.n_synthetic, generators, state.generator_ids, draw("synthetic"), bias)
        synthetic = TrainingPool(x_s, o_s, np.zeros(len(x_s), dtype=np.int64))  # lineage 0
        if stages:
            batch = SyntheticBatch(synthetic, generators, state.generator_ids, source, t, bias, reference_model=reference_model, real=real)
            batch = apply_stages(stages, batch, draw("curate"))
            synthetic, info = batch.pool, {**batch.info, **stage_rows(batch)}
        if len(synthetic):
            parts.append(synthetic)
    data = TrainingPool.concat(parts)
    pool = data if plan.accumulate else None
    if plan.subsample is not None and len(data) > plan.subsample:
        data = data.take(np.sort(draw("subsample").choice(len(data), size=plan.subsample, replace=False)))
    new_state = LoopState(t, fixed, pool, state.generators, state.generator_ids)
    return new_state, TrainingSet(data.x, data.origin, {**data.provenance(), **info} if info else data.provenance())


def with_generator(config: LoopConfig, state: LoopState, generator: Generator) -> LoopState:
    """Append the generator fitted at ``state.generation`` (keep all only for ``synthetic_from: all``)."""
    if config.synthetic_from == "all":
        return LoopState(
            state.generation, state.fixed, state.pool, (*state.generators, generator), (*state.generator_ids, state.generation)
        )
    return LoopState(state.generation, state.fixed, state.pool, (generator,), (state.generation,))
