"""The exact Gaussian engine: Gaussian data and generator, every repeat advanced at once on
sufficient statistics (:mod:`autophagy.exact`).

Generation t draws all repeats at once from the streams (seed, t, role) of the run seed, so a
repeat's values depend on the run seed and the number of repeats; the ``seed`` column still
labels repeat r as ``seed + r``. Metrics that need samples draw them per repeat from its own
streams, as the sampled engine does.
"""

from __future__ import annotations

import functools

import numpy as np

from autophagy._rng import Streams
from autophagy.config import ExperimentConfig
from autophagy.exact import ExactState, FittedGaussians, Stats, exact_step
from autophagy.registry import build_source
from autophagy.runner.engine import Block, PerRepeat, Rows, seeds_of
from autophagy.vectors.gaussian import GaussianGenerator
from autophagy.vectors.metrics import MOMENT_METRICS


class ExactEngine:
    """Gaussian data and generator: every repeat advanced at once on sufficient statistics.

    Moment metrics (:data:`~autophagy.metrics.evaluate.MOMENT_METRICS`: functions of G^t's mean
    and covariance and of the truth) are computed batched; any other metric gets samples drawn
    per repeat from N(μ_t, λ Σ_t), exactly as the sampled engine would see them.
    """

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        assert config.metrics is not None  # resolved by load_config
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        truth = self.source.truth()
        self.mean, self.cov = truth.means[0], truth.covariances[0]
        self.factor = np.linalg.cholesky(self.cov)
        self.seeds = seeds_of(config)
        self._per_repeat = PerRepeat(config, self.source, self.seeds)
        self._rows = Rows(self.seeds)
        self._moment_columns = [(j, MOMENT_METRICS[n]) for j, n in enumerate(config.metrics) if n in MOMENT_METRICS]
        self._sample_columns = [j for j, n in enumerate(config.metrics) if n not in MOMENT_METRICS]
        self._names = list(config.metrics)
        self.state = ExactState() if saved is None else _restore_exact(saved)
        self.artifacts: dict[str, np.ndarray] = {}
        self._streams = Streams(config.seed)  # the streams (seed, t, role), seeded in blocks

    def real_snapshot(self) -> np.ndarray:
        return self._per_repeat.real_snapshot()

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        config, names = self.config, self._names
        self.state, info = exact_step(
            config.loop,
            self.state,
            mean=self.mean,
            factor=self.factor,
            draw_stream=functools.partial(self._streams, t),
            bias=config.generator.bias,
            estimator=config.generator.estimator,  # type: ignore[attr-defined]
            repeats=config.repeats,
        )
        fitted = self.state.generators[-1]
        values = np.empty((config.repeats, len(names) + len(info) + 1))  # fresh: the block keeps it
        if self._moment_columns:
            scaled = fitted.sampling_factor(config.generator.bias)  # F Fᵀ = λ Σ_t
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
        return self._rows.block(values, names, info), first

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


