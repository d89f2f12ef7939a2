"""The ways to run a loop's generations: on samples, or exactly on sufficient statistics.

An engine advances every repeat of a run by one generation and returns the metric rows; the
runner (:mod:`.loop`) owns the store, the resume and the progress. Every engine writes the same
rows (every metric, the provenance rows, ``degenerate``) so reports and queries never need to
know which one ran. ``engine: exact`` is :class:`ExactEngine` for Gaussian loops and
:class:`LinearExactEngine` for linear-regression loops.

Random streams:
    ``sampled`` — repeat r uses seed ``seed + r`` and its own streams (see :mod:`autophagy._rng`),
    so ``repeats: 3`` gives the rows of three runs with seeds s, s+1, s+2.
    ``exact`` — generation t draws all repeats at once from the streams (seed, t, role) of the run
    seed (batched arrays are what make it fast), so a repeat's values depend on the run seed and
    the number of repeats; the ``seed`` column still labels repeat r as ``seed + r``. Metrics that
    need samples (precision, MMD, ...) draw them per repeat from its own streams, as ``sampled``.
    The linear engine draws the downstream model's statistics of all repeats from the stream
    (seed, t, ``eval``, batch 0), independent of those per-repeat ``eval`` streams.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from .._rng import stream
from ..config import ExperimentConfig, build_generator, build_source
from ..exact import ExactState, FittedGaussians, Stats, exact_step
from ..exact import regression as linear
from ..exceptions import DegenerateFitError, StatisticalWarning
from ..generators.gaussian import GaussianGenerator
from ..generators.ridge import LinearRidge, label_noise
from ..loops.policy import LoopState, step, with_generator
from ..metrics.evaluate import MOMENT_METRICS, evaluate, make_context

@dataclass(frozen=True)
class Block:
    """One generation's metric rows, column-wise (the run id and generation are implied).

    Attributes:
        seed: shape (N,), int64.
        code: shape (N,), index of each row's metric name in ``names``.
        names: the metric names.
        value: shape (N,), float64.
    """

    seed: np.ndarray
    code: np.ndarray
    names: tuple[str, ...]
    value: np.ndarray


def _block(seeds: list[int], names: list[str], values: np.ndarray) -> Block:
    """Rows seed-major from a (R, M) value matrix."""
    r, m = values.shape
    seed = np.repeat(np.asarray(seeds, dtype=np.int64), m)
    return Block(seed, np.tile(np.arange(m, dtype=np.int32), r), tuple(names), values.ravel())


class _Rows:
    """Builds a generation's :class:`Block` from a (R, M) value matrix whose columns are the
    metrics, the provenance rows and ``degenerate`` (filled in here); the seed/name layout is the
    same every generation, so it is built once."""

    def __init__(self, seeds: list[int]) -> None:
        self.seeds = seeds
        self.layout: Block | None = None

    def block(self, values: np.ndarray, names: list[str], info: dict[str, float]) -> Block:
        values[:, len(names) : -1] = tuple(info.values())
        values[:, -1] = ~np.isfinite(values[:, : len(names)]).all(axis=1)
        columns = (*names, *info, "degenerate")
        if self.layout is None or self.layout.names != columns:
            self.layout = _block(self.seeds, list(columns), values)
        return Block(self.layout.seed, self.layout.code, columns, values.ravel())


class Engine(Protocol):
    """Advances all repeats of one run, generation by generation."""

    #: arrays the metrics of the last generation stored for the report (name -> array; the
    #: runner saves them per generation), e.g. every sample's perplexity.
    artifacts: dict[str, np.ndarray]

    def real_snapshot(self) -> np.ndarray:
        """Held-out real samples of the first repeat (the report's reference scatter)."""
        ...

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        """Run generation ``t``; return its rows and, if ``snapshot``, first-repeat samples."""
        ...

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        """Everything needed to resume after generation ``t``."""
        ...


def make_engine(config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> Engine:
    """The engine named by ``config.engine``, restored from ``saved`` state when resuming."""
    if config.engine == "exact":
        if config.data.kind == "linear":
            return LinearExactEngine(config, run_id, saved)
        return ExactEngine(config, run_id, saved)
    return SampledEngine(config, run_id, saved)


def draw_holdout(source: Any, n: int, seed: int) -> np.ndarray:
    """The metrics' held-out real samples of repeat ``seed``: from the source's held-out pool
    where it has one (image sets), else fresh draws from P_r."""
    draw = getattr(source, "holdout", source.sample)
    return draw(n, rng=stream(seed, 0, "holdout"))


def _seeds(config: ExperimentConfig) -> list[int]:
    return [config.seed + r for r in range(config.repeats)]


class _PerRepeat:
    """What the batched engines still do repeat by repeat, exactly as the sampled engine does it
    for repeat r from r's own streams: the held-out real samples (drawn on first use), and drawing
    ``eval.n_samples`` from G^t to compute the sample-based metrics."""

    def __init__(self, config: ExperimentConfig, source: Any, seeds: list[int]) -> None:
        self.config, self.source, self.seeds = config, source, seeds
        self._holdout: dict[int, np.ndarray] = {}

    def holdout(self, r: int) -> np.ndarray:
        if r not in self._holdout:
            self._holdout[r] = draw_holdout(self.source, self.config.eval.n_samples, self.seeds[r])
        return self._holdout[r]

    def real_snapshot(self) -> np.ndarray:
        return self.holdout(0)[: self.config.eval.snapshot_size]

    def evaluate(
        self, t: int, generator_of: Any, columns: list[int], values: np.ndarray, *, repeats: int | None = None
    ) -> list[np.ndarray]:
        """Sample every repeat's G^t (``generator_of(r)``) and fill ``values[r, columns]`` with the
        metrics ``config.metrics[j]`` of ``columns``.

        Returns:
            The samples of the first ``repeats`` repeats (default: all), shape (n_samples, dim) each.
        """
        config, bias = self.config, self.config.generator.bias
        names = [config.metrics[j] for j in columns]
        draws = []
        for r, seed in enumerate(self.seeds[: repeats if repeats is not None else len(self.seeds)]):
            generator = generator_of(r)
            fake = generator.sample(config.eval.n_samples, rng=stream(seed, t, "eval"), bias=bias)
            draws.append(fake)
            if names:
                ctx = make_context(self.holdout(r), fake, generator, bias, self.source, config.eval, stream(seed, t, "metric"))
                found = evaluate(names, ctx)
                values[r, columns] = [found[name] for name in names]
        return draws


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
        self.repeats = [self._restore(seed, saved) for seed in _seeds(config)]
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


# -- exact --------------------------------------------------------------------------------------
class ExactEngine:
    """Gaussian data and generator: every repeat advanced at once on sufficient statistics.

    Moment metrics (:data:`~autophagy.metrics.evaluate.MOMENT_METRICS`: functions of G^t's mean
    and covariance and of the truth) are computed batched; any other metric gets samples drawn
    per repeat from N(μ_t, λ Σ_t), exactly as the sampled engine would see them.
    """

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        truth = self.source.truth()
        self.mean, self.cov = truth.means[0], truth.covariances[0]
        self.factor = np.linalg.cholesky(self.cov)
        self.seeds = _seeds(config)
        self._per_repeat = _PerRepeat(config, self.source, self.seeds)
        self._rows = _Rows(self.seeds)
        self._moment_columns = [(j, MOMENT_METRICS[n]) for j, n in enumerate(config.metrics) if n in MOMENT_METRICS]
        self._sample_columns = [j for j, n in enumerate(config.metrics) if n not in MOMENT_METRICS]
        self.state = ExactState() if saved is None else _restore_exact(saved)
        self.artifacts: dict[str, np.ndarray] = {}

    def real_snapshot(self) -> np.ndarray:
        return self._per_repeat.real_snapshot()

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        config = self.config
        bias, repeats = config.generator.bias, config.repeats
        self.state, info = exact_step(
            config.loop,
            self.state,
            mean=self.mean,
            factor=self.factor,
            draw_stream=lambda role: stream(config.seed, t, role),
            bias=bias,
            estimator=config.generator.estimator,  # type: ignore[attr-defined]
            repeats=repeats,
        )
        fitted = self.state.generators[-1]
        names = config.metrics
        values = np.empty((repeats, len(names) + len(info) + 1))
        scaled = fitted.factor if bias == 1.0 else np.sqrt(bias) * fitted.factor  # F Fᵀ = λ Σ_t
        for j, function in self._moment_columns:
            values[:, j] = function(fitted.mean, scaled, self.mean, self.cov)
        first = None
        if self._sample_columns or snapshot:
            draws = self._per_repeat.evaluate(
                t,
                lambda r: GaussianGenerator().set_state({"mean": fitted.mean[r], "cov": fitted.cov[r]}),
                self._sample_columns,
                values,
                repeats=None if self._sample_columns else 1,
            )
            first = draws[0][: config.eval.snapshot_size]
        return self._rows.block(values, list(names), info), first

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        st = self.state
        arrays: dict[str, np.ndarray] = {"generation": np.asarray(t)}
        for name, stats in (("fixed", st.fixed), ("pool", st.pool)):
            if stats is not None:
                arrays[f"exact/{name}/n"] = np.asarray(stats.n)
                arrays[f"exact/{name}/mean"] = stats.mean
                arrays[f"exact/{name}/scatter"] = stats.scatter
                if stats.factor is not None:
                    arrays[f"exact/{name}/factor"] = stats.factor
        arrays["exact/generator_ids"] = np.asarray([g.generation for g in st.generators], dtype=np.int64)
        for g in st.generators:
            arrays[f"exact/g{g.generation}/mean"] = g.mean
            arrays[f"exact/g{g.generation}/factor"] = g.factor
        arrays["exact/pool_counts"] = np.asarray(st.pool_counts, dtype=np.int64).reshape(-1, 2)
        return arrays


def _restore_exact(saved: dict[str, np.ndarray]) -> ExactState:
    def stats(name: str) -> Stats | None:
        if f"exact/{name}/n" not in saved:
            return None
        key = f"exact/{name}/"
        return Stats(int(saved[key + "n"]), saved[key + "mean"], saved[key + "scatter"], saved.get(key + "factor"))


    generators = []
    for gid in saved["exact/generator_ids"]:
        key = f"exact/g{int(gid)}/"
        generators.append(FittedGaussians(int(gid), saved[key + "mean"], saved[key + "factor"]))
    counts = tuple((int(code), int(size)) for code, size in saved["exact/pool_counts"])
    return ExactState(int(saved["generation"]), stats("fixed"), stats("pool"), tuple(generators), counts)


# -- exact, linear regression -------------------------------------------------------------------
class LinearExactEngine:
    """Linear data and a ridge labeller: every repeat advanced at once on Gram statistics.

    Each generation composes D^t as (n, XᵀX, Xᵀy) statistics (:mod:`autophagy.exact.regression`)
    and solves the ridge fit batched; the downstream model's T = ``eval.n_samples`` rows from G^t
    are statistics too, so the regression metrics cost O(d³) per repeat whatever T is. Any other
    metric needs rows: then every repeat draws its T rows from G^t (its own ``eval`` stream, as
    the sampled engine does) and the regression metrics use those same rows' statistics, so the
    joint law of a generation's metrics is the sampled engine's.
    """

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        self.truth = self.source.regression()
        self.factor = np.linalg.cholesky(self.truth.cov)
        self.seeds = _seeds(config)
        gen = config.generator
        self.alpha = float(gen.alpha)  # type: ignore[attr-defined]
        self.noise = float(np.sqrt(gen.bias)) * label_noise(gen, self.source)  # √λ·σ of synthetic labels
        self.batched_names = [n for n in config.metrics if n in linear.REGRESSION_METRICS]
        self.sample_columns = [j for j, n in enumerate(config.metrics) if n not in linear.REGRESSION_METRICS]
        self._per_repeat = _PerRepeat(config, self.source, self.seeds)
        self._rows = _Rows(self.seeds)
        self.state = linear.LinearState() if saved is None else _restore_linear(saved)
        self.artifacts: dict[str, np.ndarray] = {}
        loop, dim = config.loop, self.truth.w0.shape[0]
        # the least-squares shortcut: one group per generation, α = 0, only test_error/param_error
        self.shortcut = (
            loop.kind == "fully_synthetic"
            and self.alpha == 0.0
            and config.eval.downstream_ridge == 0.0
            and set(config.metrics) <= {"test_error", "param_error", "test_error_real"}
            and min(loop.n_real, loop.n_synthetic, config.eval.n_samples) >= dim  # type: ignore[attr-defined]
        )

    def real_snapshot(self) -> np.ndarray:
        return self._per_repeat.real_snapshot()

    def _labeller(self, coef: np.ndarray) -> LinearRidge:
        gen = self.config.generator
        return LinearRidge(self.source, self.alpha, label_noise(gen, self.source)).set_state({"coef": coef})

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        config = self.config
        repeats, names, size = config.repeats, config.metrics, config.eval.n_samples
        truth = self.truth
        if self.shortcut:
            return self._advance_least_squares(t, snapshot)
        self.state, info = self._step(t, linear.linear_step, alpha=self.alpha)
        coef = self.state.generators[-1].coef  # (R, d)
        values = np.empty((repeats, len(names) + len(info) + 1))
        if self.sample_columns:
            rows = self._per_repeat.evaluate(t, lambda r: self._labeller(coef[r]), self.sample_columns, values)
            first = rows[0][: config.eval.snapshot_size]
            block = np.stack(rows)  # (R, T, d + 1)
            design = linear.of_rows(block[:, :, :-1], block[:, :, -1])
        else:
            rng = stream(config.seed, t, "eval", batch=0)
            design = linear.draw(size, coef, self.noise, self.factor, rng, repeats)
            first = self._snapshot(t, coef) if snapshot else None
        if self.batched_names:
            with np.errstate(all="ignore"):
                real = None
                if "test_error_real" in self.batched_names:
                    real_rng = stream(config.seed, t, "holdout", batch=0)
                    real = linear.draw(size, truth.w0, truth.noise, self.factor, real_rng, repeats)
                found = linear.downstream_metrics(
                    self.batched_names, design, coef, self.noise, config.eval.downstream_ridge, truth=truth, real=real
                )
            for j, name in enumerate(names):
                if name in found:
                    values[:, j] = found[name]
        return self._rows.block(values, list(names), info), first

    def _step(self, t: int, step: Any, **extra: Any) -> tuple[linear.LinearState, dict[str, float]]:
        """Generation t's labeller fit by ``step`` (one of the steps of :mod:`autophagy.exact.regression`)."""
        truth, config = self.truth, self.config
        return step(
            config.loop,
            self.state,
            factor=self.factor,
            w0=truth.w0,
            noise0=truth.noise,
            noise=self.noise,
            draw_stream=lambda role: stream(config.seed, t, role),
            repeats=config.repeats,
            **extra,
        )

    def _advance_least_squares(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        """:meth:`advance` by the least-squares law (:func:`~autophagy.exact.regression.least_squares_error`)."""
        config = self.config
        repeats, names, size = config.repeats, config.metrics, config.eval.n_samples
        truth = self.truth
        self.state, info = self._step(t, linear.least_squares_chain_step)
        coef = self.state.generators[-1].coef
        values = np.empty((repeats, len(names) + len(info) + 1))
        for j, name in enumerate(names):
            if name == "test_error":
                rng = stream(config.seed, t, "eval", batch=0)
                values[:, j] = truth.excess_risk(coef + linear.least_squares_error(size, self.noise, self.factor, rng, repeats))
            elif name == "test_error_real":  # the n = 0 baseline: least squares on T real rows
                rng = stream(config.seed, t, "holdout", batch=0)
                values[:, j] = truth.excess_risk(truth.w0 + linear.least_squares_error(size, truth.noise, self.factor, rng, repeats))
            else:
                values[:, j] = np.linalg.norm(coef - truth.w0, axis=1)
        return self._rows.block(values, list(names), info), self._snapshot(t, coef) if snapshot else None

    def _snapshot(self, t: int, coef: np.ndarray) -> np.ndarray:
        """The first repeat's generated rows (its own ``eval`` stream), cut to the snapshot size."""
        rows = self._per_repeat.evaluate(t, lambda r: self._labeller(coef[r]), [], np.empty((1, 0)), repeats=1)
        return rows[0][: self.config.eval.snapshot_size]

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        st = self.state
        arrays: dict[str, np.ndarray] = {"generation": np.asarray(t)}
        for name, stats in (("fixed", st.fixed), ("pool", st.pool)):
            if stats is None:
                continue
            key = f"linear/{name}/"
            arrays[key + "n"] = np.asarray(stats.n)
            arrays[key + "triangular"] = np.asarray(stats.triangular)
            if stats.factor is not None:
                arrays[key + "factor"] = stats.factor
                arrays[key + "proj"] = stats.proj  # type: ignore[assignment]
            else:
                arrays[key + "gram"], arrays[key + "xty"] = stats.gram, stats.xty
        arrays["linear/generator_ids"] = np.asarray([g.generation for g in st.generators], dtype=np.int64)
        for g in st.generators:
            arrays[f"linear/g{g.generation}/coef"] = g.coef
        arrays["linear/pool_counts"] = np.asarray(st.pool_counts, dtype=np.int64).reshape(-1, 2)
        return arrays


def _restore_linear(saved: dict[str, np.ndarray]) -> linear.LinearState:
    def stats(name: str) -> linear.LinearStats | None:
        key = f"linear/{name}/"
        if key + "n" not in saved:
            return None
        return linear.LinearStats(
            int(saved[key + "n"]),
            factor=saved.get(key + "factor"),
            proj=saved.get(key + "proj"),
            gram=saved.get(key + "gram"),
            xty=saved.get(key + "xty"),
            triangular=bool(saved[key + "triangular"]),
        )

    ids = [int(gid) for gid in saved["linear/generator_ids"]]
    generators = tuple(linear.FittedLinear(gid, saved[f"linear/g{gid}/coef"]) for gid in ids)
    counts = tuple((int(code), int(size)) for code, size in saved["linear/pool_counts"])
    return linear.LinearState(int(saved["generation"]), stats("fixed"), stats("pool"), generators, counts)
