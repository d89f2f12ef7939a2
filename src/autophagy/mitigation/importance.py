"""``importance``: resample a generation's synthetic samples by an estimated density ratio.

Each synthetic sample x_i gets the weight w_i = r̂(x_i) ≈ p_real(x_i) / p_synthetic(x_i), the
discriminator's cross-fitted density ratio (:func:`autophagy.mitigation.discriminator.density_ratio`,
trained against ``reference`` real rows of the verifier). The batch is then replaced by n draws
with replacement, row i with probability w_i / Σ_j w_j, so its size is unchanged; resampled rows
keep their provenance. With the true ratio this is sampling-importance-resampling: as n grows the
resampled rows follow p_real (restricted to the support of p_synthetic).

The weights are first normalised to mean 1 and capped at ``clip`` (so no row carries more than
``clip`` times the average weight): a few extreme ratios from an over-confident discriminator
would otherwise make the resampled batch a handful of copies of the same rows. With every
weight at most ``clip``, Σ w² <= clip Σ w, so the effective sample share below is at least
mean(w) / ``clip``; the price is a bias toward the synthetic law where the ratio is large.
``clip: null`` resamples with the raw weights.

Recorded per generation: ``importance_ess``, the effective sample size of the weights used, as a
share of n, ``(Σ w)² / (n Σ w²)`` in (0, 1] (1: uniform weights, the batch passes as it is in law;
small: a few rows dominate), and ``importance_distinct``, the share of the n rows that survive
at least once (resampling keeps the size but repeats some rows and drops others; about
1 - 1/e ≈ 0.63 even with uniform weights).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from autophagy.loops.stages import SyntheticBatch
from autophagy.mitigation.base import StageConfig
from autophagy.mitigation.discriminator import check_reference, log_density_ratio
from autophagy.registry import register


class ImportanceConfig(StageConfig):
    """``{kind: importance, reference, clip}`` (see the module docstring)."""

    kind: Literal["importance"] = "importance"
    reference: int = Field(default=1000, ge=2, description="real reference rows the discriminator is trained against")
    clip: float | None = Field(default=20.0, gt=1.0, description="cap of each weight, in multiples of the mean weight (null: no cap)")

    def check_against(self, source: Any, provides: frozenset[str] | None, key: str) -> None:
        """The ``reference`` real rows must fit in the source's held-out pool."""
        check_reference(source, self.reference, f"{key}.reference")


def clipped_weights(weights: np.ndarray, clip: float | None) -> np.ndarray:
    """``weights`` (n,) >= 0 normalised to mean 1 and capped at ``clip`` (None: not capped), shape (n,).

    All-zero (or non-finite) weights give uniform weights: nothing to prefer.
    """
    w = np.asarray(weights, dtype=float)
    total = w.sum()
    if not np.isfinite(total) or total <= 0:
        return np.ones(len(w))
    w = w * (len(w) / total)
    return np.minimum(w, clip) if clip is not None else w


def effective_sample_share(weights: np.ndarray) -> float:
    """Kish's effective sample size as a share of n: ``(Σ w)² / (n Σ w²)``, in (0, 1]."""
    w = np.asarray(weights, dtype=float)
    return float(w.sum() ** 2 / (len(w) * np.sum(w * w))) if len(w) else 1.0


class ImportanceStage:
    """Resamples the synthetic batch with replacement, row i with probability ∝ its clipped
    density ratio (module docstring); size and provenance preserved."""

    kind = "importance"

    def __init__(self, config: ImportanceConfig) -> None:
        self.config = config

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch:
        n = len(batch.pool)
        if n == 0:
            return batch.with_pool(batch.pool, importance_ess=1.0, importance_distinct=1.0)
        log_ratio = self.log_ratio(batch, batch.pool.x, rng)
        # the ratio up to a constant factor (the weights are normalised): exp cannot overflow
        w = clipped_weights(np.exp(log_ratio - np.max(log_ratio)), self.config.clip)
        rows = rng.choice(n, size=n, replace=True, p=w / w.sum())
        info = {"importance_ess": effective_sample_share(w), "importance_distinct": len(np.unique(rows)) / n}
        return batch.with_pool(batch.pool.take(np.sort(rows)), **info)

    def log_ratio(self, batch: SyntheticBatch, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The log of the weights' density ratio p_real / p_synthetic at the rows ``x`` (n, d),
        shape (n,) (:func:`~autophagy.mitigation.discriminator.log_density_ratio`)."""
        return log_density_ratio(batch, x, self.config.reference, rng)


@register("stage", "importance", "resample the synthetic samples with weights from a discriminator's density ratio (size preserved)", ImportanceConfig)
def build(config: ImportanceConfig) -> ImportanceStage:
    return ImportanceStage(config)
