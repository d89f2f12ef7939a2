"""The sampled engine: every training set drawn and every generator fitted, repeat by repeat.

Repeat r uses seed ``seed + r`` and its own streams (see :mod:`autophagy._rng`), so ``repeats: 3``
gives the rows of three runs with seeds s, s+1, s+2. Generators without ``get_state`` are
stored as the data they were fitted to and refitted, deterministically, on resume.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from autophagy._rng import stream
from autophagy.config import ExperimentConfig
from autophagy.exceptions import DegenerateFitError, StatisticalWarning
from autophagy.loops.policy import LoopState, step, with_generator
from autophagy.metrics.evaluate import evaluate, make_context
from autophagy.registry import build_generator, build_source
from autophagy.runner.engine import Block, draw_holdout, seeds_of

# -- sampled ------------------------------------------------------------------------------------
@dataclass
class _Repeat:
    seed: int
    state: LoopState
    holdout: np.ndarray
    failed: str | None = None
    reference: Any = None  # G^1, the model of the original data, for metrics that compare with it


#: Metrics that score G^t's samples under the generation-1 model (Shumailov et al.'s "G^0"); the
#: sampled engine keeps that model for them (and in the run state).
NEEDS_REFERENCE = frozenset({"sample_perplexity"})


class SampledEngine:
    """Draws every training set and fits the configured generator on it, repeat by repeat."""

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        self.keep_reference = bool(NEEDS_REFERENCE & set(config.metrics))
        self.repeats = [self._restore(seed, saved) for seed in seeds_of(config)]
        self.artifacts: dict[str, np.ndarray] = {}  # the first repeat's

    def real_snapshot(self) -> np.ndarray:
        return self.repeats[0].holdout[: self.config.eval.snapshot_size]

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        seeds: list[int] = []
        codes: list[int] = []
        values: list[float] = []
        index: dict[str, int] = {}
        first = None
        self.artifacts = {}
        for rep in self.repeats:
            row, fake = self._generation(rep, t)
            seeds += [rep.seed] * len(row)
            codes += [index.setdefault(name, len(index)) for name in row]
            values += list(row.values())
            if rep is self.repeats[0] and snapshot and fake is not None:
                first = fake[: self.config.eval.snapshot_size]
        block = Block(np.asarray(seeds, dtype=np.int64), np.asarray(codes, dtype=np.int32), tuple(index), np.asarray(values, dtype=float))
        return block, first

    def _generation(self, rep: _Repeat, t: int) -> tuple[dict[str, float], np.ndarray | None]:
        """One generation of one repeat: compose D^t, fit G^t, evaluate. Mutates ``rep``."""
        config = self.config
        bias = config.generator.bias
        names = config.metrics
        if rep.failed is not None:
            return {**{n: math.nan for n in names}, "degenerate": 1.0}, None
        draw = lambda role: stream(rep.seed, t, role)  # noqa: E731
        state, train = step(config.loop, rep.state, source=self.source, draw=draw, bias=bias)
        generator = build_generator(config, self.source)
        if getattr(config.generator, "init", "scratch") == "warm_start" and rep.state.generators:
            generator.set_state(rep.state.generators[-1].get_state())  # continue from G^{t-1}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                generator.fit(train.x, rng=draw("fit"))
            fake = generator.sample(config.eval.n_samples, rng=draw("eval"), bias=bias)
            if not np.all(np.isfinite(fake)):
                raise DegenerateFitError("the generator produced non-finite samples")
        except DegenerateFitError as exc:
            rep.failed = f"generation {t}: {exc}"
            rep.state = state
            return {**{n: math.nan for n in names}, **train.info, "degenerate": 1.0}, None
        rep.state = with_generator(config.loop, state, generator)
        if self.keep_reference and rep.reference is None:
            rep.reference = generator
        ctx = make_context(rep.holdout, fake, generator, bias, self.source, config.eval, draw("metric"), rep.reference)
        values = evaluate(names, ctx)
        if rep is self.repeats[0]:
            self.artifacts = ctx.artifacts
        degenerate = float(not all(math.isfinite(v) for v in values.values()))
        return {**values, **train.info, "degenerate": degenerate}, fake

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {"generation": np.asarray(t)}
        for rep in self.repeats:
            key = f"s{rep.seed}"
            st = rep.state
            if st.fixed is not None:
                arrays[f"{key}/fixed"] = st.fixed
            if st.pool is not None and st.pool_origin is not None:
                arrays[f"{key}/pool"] = st.pool
                arrays[f"{key}/pool_origin"] = st.pool_origin
            arrays[f"{key}/generator_ids"] = np.asarray(st.generator_ids, dtype=np.int64)
            arrays[f"{key}/failed"] = np.asarray(rep.failed or "")
            for gid, gen in zip(st.generator_ids, st.generators, strict=True):
                for name, value in gen.get_state().items():
                    arrays[f"{key}/g{gid}/{name}"] = np.asarray(value)
            if rep.reference is not None:
                for name, value in rep.reference.get_state().items():
                    arrays[f"{key}/gref/{name}"] = np.asarray(value)
        return arrays

    def _restore(self, seed: int, saved: dict[str, np.ndarray] | None) -> _Repeat:
        config, source = self.config, self.source
        holdout = draw_holdout(source, config.eval.n_samples, seed)
        if saved is None:
            return _Repeat(seed, LoopState(), holdout)
        key = f"s{seed}"
        ids = tuple(int(i) for i in saved[f"{key}/generator_ids"])
        generators = []
        for gid in ids:
            prefix = f"{key}/g{gid}/"
            state = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
            generators.append(build_generator(config, source).set_state(state))
        state = LoopState(
            generation=int(saved["generation"]),
            fixed=saved.get(f"{key}/fixed"),
            pool=saved.get(f"{key}/pool"),
            pool_origin=saved.get(f"{key}/pool_origin"),
            generators=tuple(generators),
            generator_ids=ids,
        )
        failed = str(saved[f"{key}/failed"]) or None
        prefix = f"{key}/gref/"
        kept = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
        reference = build_generator(config, source).set_state(kept) if kept else None
        return _Repeat(seed, state, holdout, failed, reference)


