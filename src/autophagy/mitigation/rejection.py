"""``rejection``: the perfect verifier. Each synthetic sample x is accepted with probability
min(1, r(x)/M), r = p_r / p_G the ratio of the true density to the law the batch was drawn from.

p_G is the mixture of the batch's generators at its sampling bias λ, each weighted by its share
of the draw (:func:`~autophagy.mitigation.scores.sampling_log_prob`). When M >= sup r the
accepted samples are exact, independent draws of P_r (von Neumann's rejection sampling), and
with ``fill`` the stage draws more (:meth:`~autophagy.loops.stages.SyntheticBatch.draw_more`)
until the batch is back to its size: the loop then trains every generation on as many exact
draws of the truth as it had synthetic samples, i.e. on fresh real data
(:func:`autophagy.theory.mitigation.rejection_moments`). ``fill: false`` keeps only what passes.

**Estimated M** (``M: null``): M̂ = the largest r among the proposals seen so far. When a fill
round raises M̂ from M₀ to M₁, every sample accepted before is kept with probability M₀/M₁, so
that all decisions are, in law, acceptances at the final M̂ (an earlier acceptance had
probability r/M₀ <= 1 since r <= M₀). The accepted law is then ∝ min(p_r, M̂ p_G): exact where
r <= M̂, and the truth's mass where r > M̂ (where the model is too thin, typically its tails
when it is narrower than the truth) is cut down to M̂ p_G. So the verifier is approximately
exact: the bias is the mass ∫ (p_r - M̂ p_G)₊ it removes, which vanishes when sup r is finite
and reached among the proposals, and is otherwise the truth's mass beyond the proposals'
extremes (with n proposals, of order 1/n of the mass where r exceeds its observed maximum).
An unbounded r (a Gaussian model narrower than the truth in some direction) has no finite M;
a given ``M`` below sup r has the same bias, with M in place of M̂.

**Cost.** Since E_G r = 1 the acceptance is 1/M: rejection is only as cheap as the model is
close to the truth everywhere. For sequences the ratio is a product over positions, so log M
grows with the length: on the default grammar (64 tokens, a trigram model) M̂ ≈ e^13 and one
proposal in ~500,000 passes, so ``max_rounds`` runs out and the batch stays short (a warning
says so; ``kept_fraction`` shows it). Use it on text with short sequences, or use
``self_correct`` / ``threshold`` by ``true_loglik``, which act per token or per rank.

Recorded per generation: ``rejection_acceptance`` (proposals accepted at the final M / every
proposal drawn) and ``rejection_log_M`` (the log of the M used).
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Literal

import numpy as np
from pydantic import Field

from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch
from autophagy.mitigation.base import StageConfig, check_capability, check_true_law, true_log_prob
from autophagy.mitigation.scores import sampling_log_prob
from autophagy.registry import register


class ShortBatchWarning(UserWarning):
    """``fill`` ran out of rounds before the batch was back to its size."""


#: The most proposals one fill round draws, in multiples of the batch size.
MAX_ROUND_FACTOR = 16


class RejectionConfig(StageConfig):
    """``{kind: rejection, M, fill, max_rounds}`` (see the module docstring)."""

    kind: Literal["rejection"] = "rejection"
    M: float | None = Field(default=None, gt=0.0, description="bound on the density ratio p_true / p_model (null: estimated from the proposals)")
    fill: bool = Field(default=True, description="draw more until the batch is back to its size (false: keep what passes)")
    max_rounds: int = Field(default=20, ge=1, description="most fill rounds per generation (the batch stays short when they run out)")

    def check_against(self, source: Any, provides: frozenset[str] | None, key: str) -> None:
        """The true density (a known-truth source) and the generator's log_prob are needed."""
        check_true_law(source, f"{key}.kind", "rejection")
        check_capability(provides, "log_prob", f"{key}.kind", "rejection")


def log_ratio(batch: SyntheticBatch, x: np.ndarray) -> np.ndarray:
    """log r(x) = log p_r(x) - log p_G(x) for the rows ``x`` (n, d) of ``batch``, shape (n,)."""
    log_true = true_log_prob(batch.source)
    if log_true is None:
        check_true_law(batch.source, "kind", "rejection")
    with np.errstate(invalid="ignore"):
        out = np.asarray(log_true(x), dtype=float).reshape(-1) - sampling_log_prob(batch, x)  # type: ignore[misc]
    return np.where(np.isnan(out), -np.inf, out)  # type: ignore[no-any-return]


class RejectionStage:
    """Accepts each synthetic sample with probability min(1, r/M); refills the batch (module docstring)."""

    kind = "rejection"

    def __init__(self, config: RejectionConfig) -> None:
        self.config = config

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch:
        n = len(batch.pool)
        if n == 0:
            return batch
        given = None if self.config.M is None else math.log(self.config.M)
        log_m = -np.inf
        accepted = batch.pool.take(np.zeros(0, dtype=np.int64))
        passed = proposed = 0
        candidates, rounds = batch.pool, 0
        while True:
            lr = log_ratio(batch, candidates.x)
            proposed += len(candidates)
            if given is None and lr.size and lr.max() > log_m:
                if len(accepted) and np.isfinite(log_m):  # re-decide earlier acceptances at the new M̂
                    keep = rng.random(len(accepted)) < math.exp(log_m - lr.max())
                    passed -= int(np.sum(~keep))
                    accepted = accepted.take(np.flatnonzero(keep))
                log_m = float(lr.max())
            current = log_m if given is None else given
            with np.errstate(divide="ignore", invalid="ignore"):
                ok = np.log(rng.random(len(candidates))) < lr - current
            passed += int(ok.sum())
            accepted = TrainingPool.concat([accepted, candidates.take(np.flatnonzero(ok)[: n - len(accepted)])])
            if not self.config.fill or len(accepted) >= n or rounds >= self.config.max_rounds:
                break
            rounds += 1
            rate = passed / proposed if passed > 0 else 1.0 / proposed
            size = min(math.ceil((n - len(accepted)) / rate), MAX_ROUND_FACTOR * n)
            candidates = batch.draw_more(size, rng)
        current = log_m if given is None else given
        if self.config.fill and len(accepted) < n:
            warnings.warn(
                f"rejection at generation {batch.generation}: {len(accepted)} of {n} samples accepted after "
                f"{rounds} fill rounds ({proposed:,} proposals, acceptance {passed / proposed:.2g}, log M = {current:.3g}); "
                "the batch stays short (raise max_rounds, or use a stage that does not need exact draws)",
                ShortBatchWarning,
                stacklevel=2,
            )
        info = {"rejection_acceptance": passed / proposed, "rejection_log_M": float(current) if np.isfinite(current) else math.nan}
        return batch.with_more(accepted, proposed - n, **info)


@register("stage", "rejection", "accept each synthetic sample with probability min(1, p_true/(M p_model)); refill to size (the perfect verifier)", RejectionConfig)
def build(config: RejectionConfig) -> RejectionStage:
    return RejectionStage(config)
