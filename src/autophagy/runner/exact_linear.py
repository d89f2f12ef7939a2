"""The exact linear-regression engine: linear data and a ridge labeller, every repeat advanced at
once on Gram statistics (:mod:`autophagy.exact.regression`).

The downstream model's statistics of all repeats come from the stream (seed, t, ``eval``,
batch 0), independent of the per-repeat ``eval`` streams that sample-based metrics use.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy._rng import stream
from autophagy.config import ExperimentConfig
from autophagy.exact import regression as linear
from autophagy.registry import build_source
from autophagy.regression.ridge import LinearRidge, label_noise
from autophagy.runner.engine import Block, PerRepeat, Rows, seeds_of


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
        assert config.metrics is not None  # resolved by load_config
        self.config, self.run_id = config, run_id
        self.source = build_source(config)
        self.truth = self.source.regression()
        self.factor = np.linalg.cholesky(self.truth.cov)
        self.seeds = seeds_of(config)
        gen = config.generator
        self.alpha = float(gen.alpha)  # type: ignore[attr-defined]
        self.noise = float(np.sqrt(gen.bias)) * label_noise(gen, self.source)  # √λ·σ of synthetic labels
        self.batched_names = [n for n in config.metrics if n in linear.REGRESSION_METRICS]
        self.sample_columns = [j for j, n in enumerate(config.metrics) if n not in linear.REGRESSION_METRICS]
        self._per_repeat = PerRepeat(config, self.source, self.seeds)
        self._rows = Rows(self.seeds)
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
        assert names is not None  # resolved by load_config
        truth = self.truth
        if self.shortcut:
            return self._advance_least_squares(t, snapshot)
        self.state, info = self._step(t, linear.linear_step, alpha=self.alpha)
        coef = self.state.generators[-1].coef  # (R, d)
        values = np.empty((repeats, len(names) + len(info) + 1))
        if self.sample_columns:
            rows = self._per_repeat.evaluate(t, lambda r: self._labeller(coef[r]), self.sample_columns, values)
            first: np.ndarray | None = rows[0][: config.eval.snapshot_size]
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
        assert names is not None  # resolved by load_config
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
