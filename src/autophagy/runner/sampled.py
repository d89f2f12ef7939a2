"""The sampled engine: every training set drawn and every generator fitted, repeat by repeat.

Repeat r uses seed ``seed + r`` and its own streams (see :mod:`autophagy._rng`), so ``repeats: 3``
gives the rows of three runs with seeds s, s+1, s+2. Generators without ``get_state`` are
stored as the data they were fitted to and refitted, deterministically, on resume.

Work no metric uses is skipped, with the same values (every stream is a function of its name):
the ``metric`` stream is made when a metric asks for ``ctx.rng``; a generator whose class sets
``deterministic_fit = True`` gets no ``fit`` stream (an object that refuses to draw instead);
and a generator with ``samples_finite(*, bias) -> bool`` that answers True has its ``eval``
samples drawn only when a metric reads ``ctx.fake`` (moment metrics never do) or a snapshot is
saved. Without that guarantee they are drawn and checked every generation, as a non-finite
sample marks the repeat degenerate.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np

from autophagy._rng import Streams, stream
from autophagy.capabilities import capabilities_of
from autophagy.config import ExperimentConfig
from autophagy.core.generator import Stateful
from autophagy.exceptions import DegenerateFitError, StatisticalWarning
from autophagy.loops.policy import LoopState, step, with_generator
from autophagy.loops.pool import TrainingPool
from autophagy.metrics.evaluate import evaluate, make_context
from autophagy.registry import build_generator, build_source, get
from autophagy.runner.engine import Block, draw_holdout, seeds_of


@dataclass
class _Repeat:
    seed: int
    state: LoopState
    holdout: np.ndarray
    failed: str | None = None
    reference: Any = None  # G^1, the model of the original data, for metrics that compare with it
    #: the training data of generators without get_state (by generation): what resume refits them from
    fitted_on: dict[int, np.ndarray] = field(default_factory=dict)
    #: this repeat's streams: ``streams(t, role)`` is ``stream(seed, t, role)``, made faster
    streams: Streams = field(init=False, repr=False)
    #: the mitigation stages' real reference sets by size (drawn on first use; not saved: redrawn
    #: identically from the ``verifier`` stream on resume)
    verifier: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.streams = Streams(self.seed)

    def real_reference(self, source: Any, n: int) -> np.ndarray:
        """``n`` real rows for the mitigation stages, the same in every generation: from the
        source's held-out pool where it has one, else fresh draws (stream ``verifier``)."""
        if n not in self.verifier:
            draw = getattr(source, "holdout", source.sample)
            self.verifier[n] = draw(n, rng=stream(self.seed, 0, "verifier"))
        return self.verifier[n]


#: Metrics that score G^t's samples under the generation-1 model (Shumailov et al.'s "G^0"); the
#: sampled engine keeps that model for them (and in the run state).
NEEDS_REFERENCE = frozenset({"sample_perplexity"})


class SampledEngine:
    """Draws every training set and fits the configured generator on it, repeat by repeat."""

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        assert config.metrics is not None  # resolved by load_config
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        # a stage config is the model of a registered stage, and has its kind (see autophagy.adapters)
        self.stages = [get("stage", stage.kind).build(stage) for stage in config.mitigation]  # type: ignore[attr-defined]
        stage_needs = any(getattr(stage, "needs_reference_model", False) for stage in config.mitigation)
        self.keep_reference = bool(NEEDS_REFERENCE & set(config.metrics)) or stage_needs
        self.warm_start = getattr(config.generator, "init", "scratch") == "warm_start"
        self._build = get("generator", config.generator.kind).build
        self._stateful: dict[type, bool] = {}  # generator class -> has get_state/set_state
        self.repeats = [self._restore(seed, saved) for seed in seeds_of(config)]
        self.artifacts: dict[str, np.ndarray] = {}  # the first repeat's

    def real_snapshot(self) -> np.ndarray:
        return self.repeats[0].holdout[: self.config.eval.snapshot_size]

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        counts: list[int] = []
        codes: list[int] = []
        values: list[float] = []
        index: dict[str, int] = {}
        names: tuple[str, ...] = ()
        row_codes: list[int] = []
        first = None
        self.artifacts = {}
        for rep in self.repeats:
            want = snapshot and rep is self.repeats[0]
            row, fake = self._generation(rep, t, want)
            if tuple(row) != names:  # the same rows every repeat, but for failed ones
                names = tuple(row)
                row_codes = [index.setdefault(name, len(index)) for name in names]
            codes += row_codes
            values += row.values()
            counts.append(len(row))
            if want and fake is not None:
                first = fake[: self.config.eval.snapshot_size]
        seeds = np.repeat(np.asarray([rep.seed for rep in self.repeats], dtype=np.int64), counts)
        block = Block(seeds, np.asarray(codes, dtype=np.int32), tuple(index), np.asarray(values, dtype=float))
        return block, first

    def _generation(self, rep: _Repeat, t: int, want_fake: bool) -> tuple[dict[str, float], np.ndarray | None]:
        """One generation of one repeat: compose D^t, fit G^t, evaluate. Mutates ``rep``.

        Returns the rows and, if ``want_fake``, G^t's evaluation samples (None for a failed
        repeat). The evaluation samples are drawn (from the ``eval`` stream) only when a metric
        reads them, ``want_fake`` asks for them, or the generator cannot vouch that they are
        finite (``samples_finite``): a non-finite sample marks the repeat degenerate.
        """
        config = self.config
        bias = config.generator.bias
        names = config.metrics
        assert names is not None  # resolved by load_config
        if rep.failed is not None:
            return {**dict.fromkeys(names, math.nan), "degenerate": 1.0}, None
        streams = rep.streams
        draw = lambda role: streams(t, role)  # noqa: E731
        state, train = step(
            config.loop, rep.state, source=self.source, draw=draw, bias=bias, stages=self.stages,
            reference_model=rep.reference, real=lambda n: rep.real_reference(self.source, n),
        )
        generator = self._build(config.generator, self.source)
        if self.warm_start and rep.state.generators:
            # continue from G^{t-1} (the config checks that a warm-started generator has a state)
            generator.set_state(cast(Stateful, rep.state.generators[-1]).get_state())
        n_eval = config.eval.n_samples
        fake: np.ndarray | Callable[[], np.ndarray]
        samples = None  # the evaluation samples, when drawn here
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                generator.fit(train.x, rng=_UNUSED if getattr(generator, "deterministic_fit", False) else draw("fit"))
            finite = getattr(generator, "samples_finite", None)
            if not want_fake and finite is not None and finite(bias=bias):
                fake = lambda: generator.sample(n_eval, rng=draw("eval"), bias=bias)  # noqa: E731
            else:
                fake = samples = generator.sample(n_eval, rng=draw("eval"), bias=bias)
                if not np.all(np.isfinite(samples)):
                    raise DegenerateFitError("the generator produced non-finite samples")
        except DegenerateFitError as exc:
            rep.failed = f"generation {t}: {exc}"
            rep.state = state
            return {**dict.fromkeys(names, math.nan), **train.info, "degenerate": 1.0}, None
        rep.state = with_generator(config.loop, state, generator)
        if not self._has_state(generator):
            kept = set(rep.state.generator_ids) | ({1} if self.keep_reference else set())
            rep.fitted_on = {g: x for g, x in {**rep.fitted_on, t: train.x}.items() if g in kept}
        if self.keep_reference and rep.reference is None:
            rep.reference = generator
        ctx = make_context(rep.holdout, fake, generator, bias, self.source, config.eval, lambda: draw("metric"), rep.reference)
        values = evaluate(names, ctx)
        if rep is self.repeats[0]:
            self.artifacts = ctx.artifacts
        degenerate = float(not all(math.isfinite(v) for v in values.values()))
        return {**values, **train.info, "degenerate": degenerate}, samples

    def _has_state(self, generator: Any) -> bool:
        """Whether ``generator`` has get_state/set_state (its class's capability, looked up once)."""
        kind = type(generator)
        if kind not in self._stateful:
            self._stateful[kind] = "state" in capabilities_of(generator)
        return self._stateful[kind]

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {"generation": np.asarray(t)}
        for rep in self.repeats:
            key = f"s{rep.seed}"
            st = rep.state
            if st.fixed is not None:
                arrays[f"{key}/fixed"] = st.fixed
            if st.pool is not None:
                arrays[f"{key}/pool"] = st.pool.x
                arrays[f"{key}/pool_origin"] = st.pool.origin
            arrays[f"{key}/generator_ids"] = np.asarray(st.generator_ids, dtype=np.int64)
            arrays[f"{key}/failed"] = np.asarray(rep.failed or "")
            for gid, gen in zip(st.generator_ids, st.generators, strict=True):
                arrays.update(_saved_model(f"{key}/g{gid}/", gen, rep.fitted_on.get(gid)))
            if rep.reference is not None:
                arrays.update(_saved_model(f"{key}/gref/", rep.reference, rep.fitted_on.get(1)))
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
            arrays = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
            generators.append(self._restored_model(seed, gid, arrays))
        state = LoopState(
            generation=int(saved["generation"]),
            fixed=saved.get(f"{key}/fixed"),
            pool=TrainingPool.of(saved[f"{key}/pool"], saved[f"{key}/pool_origin"]) if f"{key}/pool" in saved else None,
            generators=tuple(generators),
            generator_ids=ids,
        )
        failed = str(saved[f"{key}/failed"]) or None
        prefix = f"{key}/gref/"
        kept = {k[len(prefix) :]: v for k, v in saved.items() if k.startswith(prefix)}
        reference = self._restored_model(seed, 1, kept) if kept else None
        fitted_on = {gid: saved[f"{key}/g{gid}/{DATA_KEY}"] for gid in ids if f"{key}/g{gid}/{DATA_KEY}" in saved}
        if f"{key}/gref/{DATA_KEY}" in saved:
            fitted_on[1] = saved[f"{key}/gref/{DATA_KEY}"]
        return _Repeat(seed, state, holdout, failed, reference, fitted_on)

    def _restored_model(self, seed: int, generation: int, state: dict[str, np.ndarray]) -> Any:
        """The generator of ``generation`` from its saved state, or refitted on its saved training
        data with the same ``fit`` stream (a generator without get_state/set_state)."""
        generator = build_generator(self.config, self.source)
        if DATA_KEY in state:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", StatisticalWarning)
                return generator.fit(state[DATA_KEY], rng=stream(seed, generation, "fit"))
        return generator.set_state(state)


class _NoStream:
    """The ``rng`` handed to the ``fit`` of a generator declaring ``deterministic_fit``: it makes
    no stream, and any use of it is an error (the declaration was wrong)."""

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # introspection (hasattr, copy, pickle) sees a plain object
            raise AttributeError(name)
        raise RuntimeError(f"A generator declaring deterministic_fit = True used its rng in fit (rng.{name}).")


_UNUSED = cast(np.random.Generator, _NoStream())

#: Where a generator without state keeps its training data in ``state.npz``.
DATA_KEY = "__training_data__"


def _saved_model(prefix: str, generator: Any, fitted_on: np.ndarray | None) -> dict[str, np.ndarray]:
    """A generator's arrays for ``state.npz``: its state, or the data it was fitted on."""
    if "state" in capabilities_of(generator):
        return {prefix + name: np.asarray(value) for name, value in generator.get_state().items()}
    assert fitted_on is not None, "a generator without get_state keeps its training data"
    return {prefix + DATA_KEY: fitted_on}


