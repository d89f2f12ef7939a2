"""The batched web engine: a web (``web:``) whose lineages are all Gaussian on Gaussian data, or
all linear-ridge labellers on linear data.

The pool is simulated item by item, as in every web engine (:mod:`.web_common`): every lineage
draws real rows of the pool from its own stream (seed, t, draw, batch = lineage). What is
batched is the rest: the draws of one group are gathered into an (L_g, n_train, width) array,
and the fits, the metrics and the published samples are computed for all of the group's
lineages at once, with the arithmetic of the family's generator on each lineage's rows.

Gaussian (:class:`_Gaussian`): as :class:`~autophagy.vectors.gaussian.GaussianGenerator`
(``fit`` divides the scatter by n or n - 1; ``sample`` draws ``mean + z Fᵀ``, F from ``eigh`` of
λΣ with the eigenvalues clipped at 0, z from the lineage's stream (seed, t, publish, batch =
lineage)); the per-lineage metrics are the moment metrics
(:data:`~autophagy.vectors.metrics.MOMENT_METRICS`: functions of (μ_i, λΣ_i) and the truth).
Linear (:class:`_Linear`): ridge fits on the rows' Gram statistics and the regression metrics
on downstream statistics, as the linear exact engine computes them. ``load_config`` sends webs
asking for other metrics to the sampled web engine.

Repeat r is an independent web of seed ``seed + r`` (its own streams, its own pool), so a
repeat's rows are those of a one-repeat run of that seed. The state to resume after generation
t is every repeat's pool (:func:`~autophagy.loops.web.pools_state`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from autophagy._rng import stream
from autophagy.config import ExperimentConfig
from autophagy.exact import regression as linear
from autophagy.loops.web import LineageGroup, draw_rows, pools_from_state, pools_state
from autophagy.registry import build_source
from autophagy.regression.ridge import label_noise
from autophagy.runner.engine import Block, PerRepeat, seeds_of
from autophagy.runner.web_common import (
    PROVENANCE,
    Published,
    concat_blocks,
    human_arrivals,
    initial_pool,
    lineage_streams,
    next_pool,
    pool_rows,
    spread_rows,
    web_block,
    with_arrivals,
)
from autophagy.vectors.metrics import MOMENT_METRICS


@dataclass(frozen=True)
class GroupFit:
    """The Gaussians fitted by one group's lineages at one generation.

    Attributes:
        mean: μ_i, shape (L_g, d).
        cov: Σ_i, shape (L_g, d, d).
        factor: F_i with F_i F_iᵀ = λ Σ_i (``eigh``, eigenvalues clipped at 0), shape (L_g, d, d).
    """

    mean: np.ndarray
    cov: np.ndarray
    factor: np.ndarray


def fit_group(x: np.ndarray, estimator: str, bias: float) -> GroupFit:
    """Every lineage's Gaussian fit to its draw, as ``GaussianGenerator(estimator).fit`` and its
    sampling factor at λ = ``bias`` compute them one by one.

    Args:
        x: the draws, shape (L_g, n, d), n >= d + 1.
        estimator: ``mle`` (scatter / n) or ``unbiased`` (scatter / (n - 1)).
        bias: λ in (0, 1].

    Returns:
        The fits (:class:`GroupFit`).
    """
    n = x.shape[1]
    mean = x.mean(axis=1)  # (L, d)
    centred = x - mean[:, None, :]
    cov = np.matmul(np.swapaxes(centred, 1, 2), centred)  # (L, d, d) scatter
    cov *= np.true_divide(1, n - (0 if estimator == "mle" else 1))
    values, vectors = np.linalg.eigh(bias * cov)
    factor = vectors * np.sqrt(np.clip(values, 0.0, None))[:, None, :]
    return GroupFit(mean, cov, factor)


def sample_group(fit: GroupFit, z: np.ndarray) -> np.ndarray:
    """Samples ``mean_i + z_i F_iᵀ`` of every lineage from its standard normals ``z`` (L_g, n, d)
    -> (L_g, n, d)."""
    return fit.mean[:, None, :] + np.matmul(z, np.swapaxes(fit.factor, 1, 2))


class WebBatchedEngine:
    """Gaussian lineages on Gaussian data (or linear-ridge lineages on linear data), every group's
    fits, metrics and samples batched over its lineages; one pool per repeat (see the module
    docstring)."""

    def __init__(self, config: ExperimentConfig, run_id: str, saved: dict[str, np.ndarray] | None) -> None:
        assert config.web is not None and config.metrics is not None  # resolved by load_config
        self.config, self.run_id, self.web = config, run_id, config.web
        self.source = build_source(config)
        self.seeds = seeds_of(config)
        self.names = list(config.metrics)
        self.family: _Gaussian | _Linear = _Linear(config, self.source) if config.data.kind == "linear" else _Gaussian(config, self.source)
        self.columns = [*self.names, *PROVENANCE]
        starts = np.cumsum([0] + [g.count for g in self.web.lineages])
        self.groups: list[tuple[int, LineageGroup]] = [(int(s), g) for s, g in zip(starts[:-1], self.web.lineages, strict=True)]
        self._repeats = PerRepeat(config, self.source, self.seeds)
        self.pools = [initial_pool(config, self.source, s) for s in self.seeds] if saved is None else list(pools_from_state(saved, self.seeds).values())
        self.artifacts: dict[str, np.ndarray] = {}

    def holdout(self, r: int) -> np.ndarray:
        """Repeat r's held-out real samples (drawn on first use, as every engine draws them)."""
        return self._repeats.holdout(r)

    def real_snapshot(self) -> np.ndarray:
        return self._repeats.real_snapshot()

    def advance(self, t: int, snapshot: bool) -> tuple[Block, np.ndarray | None]:
        blocks, first = [], None
        for r, seed in enumerate(self.seeds):
            block, published = self._advance_one(r, seed, t)
            blocks.append(block)
            if r == 0 and snapshot and published:
                first = np.concatenate([x for x, _, _ in published])[-self.config.eval.snapshot_size :]
        return concat_blocks(blocks), first

    def _advance_one(self, r: int, seed: int, t: int) -> tuple[Block, list[Published]]:
        """Generation ``t`` of repeat ``r``'s web: returns its rows and what each lineage published."""
        pool, web = self.pools[r], self.web
        human = human_arrivals(self.config, self.source, seed, t)
        drawn = with_arrivals(pool, human, t)
        values = np.empty((web.n_lineages, len(self.columns)))
        published: list[Published] = []
        m = len(self.names)
        for start, group in self.groups:
            lineages = range(start, start + group.count)
            draws = lineage_streams(seed, t, "draw", lineages)
            rows = np.stack([draw_rows(drawn, group.n_train, web.draw, rng) for rng in draws])  # (L_g, n)
            block = values[start : start + group.count]
            block[:, :m], x = self.family.step(group, lineages, drawn.x[rows], seed, t)
            depth = drawn.depth[rows].mean(axis=1)
            block[:, m] = group.n_train
            block[:, m + 1] = (drawn.lineage[rows] != -1).mean(axis=1)
            block[:, m + 2] = depth
            if x is not None:
                published.extend((x[k], i, 1.0 + float(depth[k])) for k, i in enumerate(lineages))
        self.pools[r] = new = next_pool(self.config, pool, published, human, seed, t)
        pool_values = pool_rows(self.config, self.source, new, seed, t, holdout=self.holdout(r))
        pool_values.update(spread_rows(self.names, values[:, :m]))
        return web_block(seed, self.columns, values, pool_values, n_metrics=m), published

    def state_arrays(self, t: int) -> dict[str, np.ndarray]:
        return {"generation": np.asarray(t), **pools_state(dict(zip(self.seeds, self.pools, strict=True)))}


class _Gaussian:
    """Gaussian lineages: batched fits, the moment metrics, samples N(μ_i, λΣ_i)."""

    def __init__(self, config: ExperimentConfig, source: Any) -> None:
        truth = source.truth()
        self.mean, self.cov = truth.means[0], truth.covariances[0]
        self.names = list(config.metrics or ())
        unknown = [n for n in self.names if n not in MOMENT_METRICS]
        assert not unknown, f"the batched web engine computes only {sorted(MOMENT_METRICS)} for Gaussian lineages; got {unknown}"

    def step(self, group: LineageGroup, lineages: range, x: np.ndarray, seed: int, t: int) -> tuple[np.ndarray, np.ndarray | None]:
        """Fit every lineage of ``group`` to its draw ``x`` (L_g, n, d); return their metrics
        (L_g, M) and what they publish (L_g, publish, d), or None when publish is 0."""
        fit = fit_group(x, group.generator.estimator, group.generator.bias)  # type: ignore[attr-defined]
        values = np.stack([MOMENT_METRICS[name](fit.mean, fit.factor, self.mean, self.cov) for name in self.names], axis=1)
        if not group.publish:
            return values, None
        d = x.shape[2]
        z = np.stack([rng.standard_normal((group.publish, d)) for rng in lineage_streams(seed, t, "publish", lineages)])
        return values, sample_group(fit, z)


class _Linear:
    """Linear-ridge lineages on linear data: batched ridge fits on the drawn rows [x, y]
    (:func:`autophagy.exact.regression.fit` of their Gram statistics: (XᵀX + nαI)w = Xᵀy, minimum
    norm for α = 0 below d rows, as ``LinearRidge.fit``), the regression metrics batched on the
    statistics of ``eval.n_samples`` downstream rows per lineage (the linear exact engine's
    :func:`~autophagy.exact.regression.downstream_metrics`; group g draws them from stream
    (seed, t, eval, batch = its first lineage), the real rows of ``test_error_real`` from
    (seed, t, holdout, batch = the same)), and the published rows drawn as ``LinearRidge.sample``
    draws them: inputs, then label noise, from the lineage's publish stream."""

    def __init__(self, config: ExperimentConfig, source: Any) -> None:
        self.config, self.source = config, source
        self.truth = source.regression()
        self.factor = np.linalg.cholesky(self.truth.cov)
        self.names = list(config.metrics or ())
        unknown = [n for n in self.names if n not in linear.REGRESSION_METRICS]
        assert not unknown, f"the batched web engine computes only {list(linear.REGRESSION_METRICS)} for linear lineages; got {unknown}"

    def step(self, group: LineageGroup, lineages: range, x: np.ndarray, seed: int, t: int) -> tuple[np.ndarray, np.ndarray | None]:
        """As :meth:`_Gaussian.step`, for rows x (L_g, n, d + 1)."""
        gen, size, count = group.generator, self.config.eval.n_samples, len(lineages)
        coef = linear.fit(linear.of_rows(x[:, :, :-1], x[:, :, -1]), float(gen.alpha))  # type: ignore[attr-defined]  # (L_g, d)
        noise = float(np.sqrt(gen.bias)) * label_noise(gen, self.source)  # type: ignore[attr-defined]  # √λ·σ
        design = linear.draw(size, coef, noise, self.factor, stream(seed, t, "eval", batch=lineages[0]), count)
        real = None
        if "test_error_real" in self.names:
            real = linear.draw(size, self.truth.w0, self.truth.noise, self.factor, stream(seed, t, "holdout", batch=lineages[0]), count)
        with np.errstate(all="ignore"):
            found = linear.downstream_metrics(self.names, design, coef, noise, self.config.eval.downstream_ridge, truth=self.truth, real=real)
        values = np.stack([found[name] for name in self.names], axis=1) if self.names else np.empty((count, 0))
        if not group.publish:
            return values, None
        rows = []
        for k, rng in enumerate(lineage_streams(seed, t, "publish", lineages)):
            inputs = self.source.sample_inputs(group.publish, rng=rng)
            labels = inputs @ coef[k] + noise * rng.standard_normal(group.publish)
            rows.append(np.column_stack([inputs, labels]))
        return values, np.stack(rows)


__all__ = ["GroupFit", "WebBatchedEngine", "fit_group", "sample_group"]
