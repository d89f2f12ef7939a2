"""``threshold``: curation of a generation's synthetic samples by a score.

Every synthetic sample gets a score (higher is better; a name in
:data:`~autophagy.mitigation.base.SCORES`: ``true_loglik``, ``reference_loglik``, ``self_loglik``,
``reward`` (:mod:`autophagy.mitigation.scores`), ``discriminator``, ``classifier_confidence``
(:mod:`autophagy.mitigation.discriminator`)), then:

* ``choice: top`` keeps the best ``keep`` share of the batch (:func:`kept_count` rows, ties broken
  by row order) or every sample scoring at least ``min_score`` (exactly one of the two is set);
* ``choice: bradley_terry`` pairs the batch at random and keeps, from each pair (x₁, x₂), x₁
  with probability σ(s(x₁) - s(x₂)) and else x₂ (a Bradley–Terry preference between two
  samples, as a human rater or a reward model picks one; Ferbach et al. 2024, "Self-consuming
  generative models with curated data provably optimize human preferences"): half the batch
  is kept (``keep`` is ½ or unset; an odd last row is dropped).

Under ``self_loglik`` on a Gaussian model, ``top`` keeps the samples inside an ellipsoid of
G^t's own covariance: the kept set is a truncated Gaussian whose covariance is a fixed factor of
G^t's (:func:`autophagy.theory.mitigation.truncation_factor`), so the fitted covariance shrinks
geometrically, generation after generation.

Recorded per generation: ``threshold_score_kept`` (the kept samples' mean score) and
``threshold_score_all`` (the batch's).
"""

from __future__ import annotations

import importlib
import math
from typing import Any, Literal

import numpy as np
from pydantic import Field
from scipy.special import expit

from autophagy._validation import check
from autophagy.loops.stages import SyntheticBatch
from autophagy.mitigation.base import SCORES, Score, StageConfig, check_capability, check_true_law
from autophagy.registry import register

ScoreName = Literal["true_loglik", "reference_loglik", "self_loglik", "reward", "discriminator", "classifier_confidence"]


class ThresholdConfig(StageConfig):
    """``{kind: threshold, score, keep | min_score, choice, reward, mode, target_class, reference}``."""

    kind: Literal["threshold"] = "threshold"
    score: ScoreName = Field(description="what the samples are ranked by (higher is better)")
    keep: float | None = Field(default=None, gt=0.0, le=1.0, description="share of the batch kept, in (0, 1]")
    min_score: float | None = Field(default=None, description="keep every sample scoring at least this (instead of keep)")
    choice: Literal["top", "bradley_terry"] = Field(default="top", description="top: the best; bradley_terry: one of each random pair, by σ(score difference)")
    reward: str | None = Field(default=None, description="score 'reward': a built-in reward name or 'package.module:fn' (x (n, d) -> (n,))")
    mode: int | None = Field(default=None, ge=0, description="the preferred mode of the built-in rewards mode_responsibility and mode_distance")
    target_class: int | None = Field(default=None, ge=0, description="the class of the built-in reward target_class (images)")
    reference: int = Field(default=1000, ge=2, description="real reference rows the discriminator score is trained against")

    @property
    def needs_reference_model(self) -> bool:  # type: ignore[override]
        """G^1 is kept only for the ``reference_loglik`` score."""
        return self.score == "reference_loglik"

    def kept_at_most(self, n: int) -> int:
        """``top`` by ``keep`` keeps :func:`kept_count` rows, ``bradley_terry`` n // 2; ``min_score`` may keep all."""
        if self.choice == "bradley_terry":
            return n // 2
        return kept_count(n, self.keep) if self.keep is not None else n

    def check_rule(self, key: str = "threshold") -> None:
        """Exactly one of keep / min_score for ``top``; keep ½ for ``bradley_terry``; a reward
        exactly for score ``reward``."""
        if self.choice == "bradley_terry":
            check(self.min_score is None, f"{key}.min_score", "unset for choice 'bradley_terry' (it keeps one sample of each pair)", self.min_score)
            check(self.keep in (None, 0.5), f"{key}.keep", "0.5 or unset for choice 'bradley_terry' (it keeps one sample of each pair)", self.keep)
        else:
            check((self.keep is None) != (self.min_score is None), f"{key}.keep", "set, or min_score set instead (exactly one of the two)", {"keep": self.keep, "min_score": self.min_score})
        check(self.score != "reward" or self.reward is not None, f"{key}.reward", "set for score 'reward' (a built-in reward or 'package.module:fn')", self.reward)
        check(self.score == "reward" or self.reward is None, f"{key}.score", f"'reward' when a reward is given (reward: {self.reward})", self.score)

    def check_against(self, source: Any, provides: frozenset[str] | None, key: str) -> None:
        """Refuse keys that do not fit together, and a score the source or the generator cannot
        serve (one line naming ``key``)."""
        self.check_rule(key)
        at = f"{key}.score"
        if self.score == "true_loglik":
            check_true_law(source, at, self.score)
        elif self.score in ("self_loglik", "reference_loglik"):
            check_capability(provides, "log_prob", at, self.score)
        elif self.score == "reward":
            from autophagy.mitigation.scores import check_reward

            check_reward(self, source, key)
        else:
            from autophagy.mitigation import discriminator

            discriminator.check_score(self.score, source, provides, at)
            if self.score == "discriminator":
                discriminator.check_reference(source, self.reference, f"{key}.reference")


def kept_count(n: int, keep: float) -> int:
    """Rows ``top`` keeps of ``n`` with share ``keep``: keep·n rounded half up, at least 1.

    >>> kept_count(50, 0.5), kept_count(3, 0.5), kept_count(1, 0.1)
    (25, 2, 1)
    """
    return min(n, max(1, math.floor(keep * n + 0.5)))


def make_score(config: Any) -> Score:
    """The score named ``config.score``, made by its factory in :data:`SCORES` (imported now)."""
    module, _, name = SCORES[config.score].partition(":")
    return getattr(importlib.import_module(module), name)(config)  # type: ignore[no-any-return]


def bradley_terry(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Rows kept by random pairs: of each (i, j), i with probability σ(s_i - s_j); sorted, (n // 2,)."""
    n = len(scores)
    pairs = rng.permutation(n)[: 2 * (n // 2)].reshape(-1, 2)
    with np.errstate(invalid="ignore"):
        gap = scores[pairs[:, 0]] - scores[pairs[:, 1]]
    p_first = np.where(np.isnan(gap), 0.5, expit(gap))  # both -inf: no preference
    first = rng.random(len(pairs)) < p_first
    return np.sort(np.where(first, pairs[:, 0], pairs[:, 1]))


class ThresholdStage:
    """Keeps the synthetic samples that score best (module docstring)."""

    kind = "threshold"

    def __init__(self, config: ThresholdConfig) -> None:
        config.check_rule()
        self.config = config
        self.score = make_score(config)

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch:
        n = len(batch.pool)
        if n == 0:
            return batch
        scores = np.asarray(self.score(batch, batch.pool.x, rng), dtype=float).reshape(-1)
        scores = np.where(np.isnan(scores), -np.inf, scores)
        cfg = self.config
        if cfg.choice == "bradley_terry":
            rows = bradley_terry(scores, rng)
        elif cfg.keep is not None:
            rows = np.sort(np.argsort(-scores, kind="stable")[: kept_count(n, cfg.keep)])
        else:
            rows = np.flatnonzero(scores >= cfg.min_score)
        info = {"threshold_score_all": _mean(scores), "threshold_score_kept": _mean(scores[rows])}
        return batch.with_pool(batch.pool.take(rows), **info)


def _mean(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)]
    return float(finite.mean()) if len(finite) else math.nan


@register("stage", "threshold", "keep the best share of the synthetic samples by a score (likelihoods, discriminator, reward; top or Bradley-Terry)", ThresholdConfig)
def build(config: ThresholdConfig) -> ThresholdStage:
    return ThresholdStage(config)
