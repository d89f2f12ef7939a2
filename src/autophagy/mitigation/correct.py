"""``self_correct``: move each synthetic sample toward the real distribution,
x ← x + γ (T(x) - x) = (1 - γ) x + γ T(x), with ``strength`` γ in [0, 1] and T a map pushing
the model's law onto the truth.

Maps (``map``):

* ``exact``: the closed-form optimal-transport map from the generator's sampling law to P_r.
  Gaussian model N(m, C) (C = λΣ_t, ``generator.moments(bias=λ)``) to a Gaussian truth N(μ, Σ):
  T(x) = μ + A (x - m), A = C^{-1/2} (C^{1/2} Σ C^{1/2})^{1/2} C^{-1/2} (Dowson & Landau 1982;
  Peyré & Cuturi 2019, Remark 2.31). The corrected sample then follows McCann's interpolant at
  time γ: N((1-γ)m + γμ, B C B), B = (1-γ) I + γ A; γ = 1 gives exact draws of the truth.
  Gaussian-mixture model (``generator.mixture_``, at bias λ) to a mixture truth: per component,
  along the discrete OT plan π between the two mixtures' components with cost the W2² between
  Gaussian components (Delon & Desolneux 2020, "A Wasserstein-type distance in the space of
  Gaussian mixture models"): each sample draws its model component k from its posterior
  p(k | x) (so that (x, k) has the model's joint law), then a true component j with probability
  π_kj / w_k, and is moved by the Gaussian map from component k to component j. With γ = 1 the
  corrected batch is an exact draw of the true mixture, weights included.
* ``reference``: the Gaussian OT map between Gaussians fitted (Ledoit–Wolf shrinkage) to the
  synthetic batch and to the verifier's ``reference`` real rows (``batch.real_samples``): a
  first-and-second-moment correction for any vector family and for images (pixels only; the
  label column is kept and pixels are clipped back into [0, 1]).
* ``auto``: for text (``source.vocab_size``), tokens the true grammar forbids are resampled
  (:func:`autophagy.mitigation.correct_text.correct_tokens`); else ``exact`` where it has a
  closed form, else ``reference``.

Recorded per generation: ``self_correct_shift``, the mean distance ‖x' - x‖ a sample moved (the
share of tokens changed, for text).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import Field

from autophagy._validation import check
from autophagy.loops.pool import TrainingPool
from autophagy.loops.stages import SyntheticBatch
from autophagy.mitigation.base import StageConfig, check_capability, check_true_law
from autophagy.registry import register


class SelfCorrectConfig(StageConfig):
    """``{kind: self_correct, strength, map, reference}`` (see the module docstring)."""

    kind: Literal["self_correct"] = "self_correct"
    strength: float = Field(default=1.0, ge=0.0, le=1.0, description="γ in [0, 1]: how far each sample moves toward its image T(x)")
    map: Literal["auto", "exact", "reference"] = Field(default="auto", description="exact: closed-form OT to the truth; reference: OT between Gaussians fitted to the batch and to real rows")
    reference: int = Field(default=1000, ge=2, description="real reference rows the reference map is fitted to")

    def check_against(self, source: Any, provides: frozenset[str] | None, key: str) -> None:
        """``exact`` needs a Gaussian or mixture truth and a generator with moments; text has
        only its grammar correction."""
        text = hasattr(source, "vocab_size")
        if self.map == "exact" or (text and self.map == "reference"):
            truth = None if text or not hasattr(source, "truth") else source.truth()
            check(
                truth is not None, f"{key}.map",
                "one with a closed form: 'exact' needs a Gaussian or Gaussian-mixture truth (data.kind 'gaussian' or 'gmm'; "
                "text is corrected by its grammar with map 'auto')" if self.map == "exact" else "'auto' for text (its grammar's correction)",
                self.map,
            )
            check_capability(provides, "moments", f"{key}.map", self.map)
        if text:
            check_true_law(source, f"{key}.kind", "self_correct")


def sqrtm_psd(a: np.ndarray) -> np.ndarray:
    """The symmetric square root of a positive semi-definite matrix (d, d)."""
    values, vectors = np.linalg.eigh((a + a.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0.0, None))) @ vectors.T  # type: ignore[no-any-return]


def gaussian_map(mean_from: np.ndarray, cov_from: np.ndarray, mean_to: np.ndarray, cov_to: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The OT map between N(m, C) and N(μ, Σ) as (A, b) with T(x) = A x + b:
    A = C^{-1/2} (C^{1/2} Σ C^{1/2})^{1/2} C^{-1/2} (pseudo-inverse where C is singular), b = μ - A m.

    >>> a, b = gaussian_map(np.zeros(1), np.eye(1) * 4.0, np.ones(1), np.eye(1))
    >>> a.round(6).tolist(), b.round(6).tolist()
    ([[0.5]], [1.0])
    """
    root = sqrtm_psd(cov_from)
    inv_root = np.linalg.pinv(root, hermitian=True)
    a = inv_root @ sqrtm_psd(root @ cov_to @ root) @ inv_root
    a = (a + a.T) / 2
    return a, mean_to - a @ mean_from


def _moved(x: np.ndarray, a: np.ndarray, b: np.ndarray, gamma: float) -> np.ndarray:
    """(1 - γ) x + γ T(x) for T(x) = A x + b, rows of x (n, d)."""
    return x + gamma * (x @ a.T + b - x)  # type: ignore[no-any-return]


def has_exact(generator: Any, source: Any) -> bool:
    """Whether the generator's law has a closed-form OT map to the truth: a Gaussian model
    (``mean_``/``cov_``) and a one-component truth, or a mixture model (``mixture_``) and a
    mixture truth."""
    truth = source.truth() if hasattr(source, "truth") and not hasattr(source, "vocab_size") else None
    if truth is None:
        return False
    if hasattr(generator, "mixture_"):
        return True
    return hasattr(generator, "mean_") and hasattr(generator, "cov_") and len(truth.weights) == 1


def exact_correction(generator: Any, source: Any, x: np.ndarray, bias: float, gamma: float, rng: np.random.Generator) -> np.ndarray:
    """Rows ``x`` (n, d) drawn from ``generator`` at bias λ, moved by γ along the exact OT map
    (a mixture: the randomised per-component map of the module docstring)."""
    from scipy.special import softmax
    from scipy.stats import multivariate_normal

    truth = source.truth()
    if not hasattr(generator, "mixture_"):
        mean, cov = generator.moments(bias=bias)
        a, b = gaussian_map(np.asarray(mean), np.asarray(cov), truth.means[0], truth.covariances[0])
        return _moved(x, a, b, gamma)
    model = generator.mixture_
    covs = bias * model.covariances
    log_joint = np.stack([
        np.log(w) + multivariate_normal(m, c, allow_singular=True).logpdf(x).reshape(-1)
        for w, m, c in zip(model.weights, model.means, covs, strict=True)
    ])  # (k, n)
    component = _draw_rows(softmax(log_joint, axis=0).T, rng)  # k ~ p(k | x): (x, k) has the model's joint law
    plan = mixture_plan(model.weights, model.means, covs, truth)
    target = _draw_rows(plan[component] / plan[component].sum(axis=1, keepdims=True), rng)
    out = np.array(x, dtype=float, copy=True)
    for k, j in {(int(k), int(j)) for k, j in zip(component, target, strict=True)}:
        rows = (component == k) & (target == j)
        a, b = gaussian_map(model.means[k], covs[k], truth.means[j], truth.covariances[j])
        out[rows] = _moved(x[rows], a, b, gamma)
    return out


def mixture_plan(weights: np.ndarray, means: np.ndarray, covs: np.ndarray, truth: Any) -> np.ndarray:
    """The discrete OT plan (k_model, k_true) between the model's and the truth's components,
    cost W2² between the Gaussian components (Delon & Desolneux 2020, the MW2 distance);
    rows sum to the model's weights, columns to the truth's."""
    from scipy.optimize import linprog

    k, j = len(weights), len(truth.weights)
    cost = np.empty((k, j))
    for p in range(k):
        root = sqrtm_psd(covs[p])
        for q in range(j):
            bures = np.trace(covs[p]) + np.trace(truth.covariances[q]) - 2 * np.trace(sqrtm_psd(root @ truth.covariances[q] @ root))
            cost[p, q] = np.sum((means[p] - truth.means[q]) ** 2) + max(bures, 0.0)
    rows = np.kron(np.eye(k), np.ones(j))  # Σ_q π_pq = w_p
    cols = np.kron(np.ones(k), np.eye(j))  # Σ_p π_pq = w*_q
    w_true = np.asarray(truth.weights, dtype=float)
    result = linprog(cost.ravel(), A_eq=np.vstack([rows, cols]), b_eq=np.concatenate([weights / weights.sum(), w_true / w_true.sum()]), bounds=(0, None), method="highs")
    plan = np.clip(result.x.reshape(k, j), 0.0, None) if result.success else np.outer(weights, truth.weights)
    return plan + 1e-300  # every row keeps some mass to normalise


def _draw_rows(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One category per row of ``probs`` (n, k) (rows summing to 1), shape (n,)."""
    u = rng.random(len(probs))[:, None]
    return np.minimum((np.cumsum(probs, axis=1) < u).sum(axis=1), probs.shape[1] - 1)  # type: ignore[no-any-return]


def reference_correction(x: np.ndarray, real: np.ndarray, gamma: float) -> np.ndarray:
    """Rows ``x`` (n, d) moved by γ along the OT map between Ledoit–Wolf Gaussians fitted to
    ``x`` and to ``real`` (m, d)."""
    from sklearn.covariance import ledoit_wolf

    cov_x, _ = ledoit_wolf(x)
    cov_r, _ = ledoit_wolf(real)
    a, b = gaussian_map(x.mean(axis=0), cov_x, real.mean(axis=0), cov_r)
    return _moved(x, a, b, gamma)


class SelfCorrectStage:
    """Moves each synthetic sample a share γ of the way to its image under a map onto the truth."""

    kind = "self_correct"

    def __init__(self, config: SelfCorrectConfig) -> None:
        self.config = config

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch:
        pool, gamma, source = batch.pool, self.config.strength, batch.source
        if len(pool) == 0 or gamma == 0.0:
            return batch.with_pool(pool, self_correct_shift=0.0)
        x = pool.x
        if hasattr(source, "vocab_size"):
            from autophagy.mitigation.correct_text import correct_tokens  # type: ignore[import-not-found, unused-ignore]  # written by the text helper

            out = np.asarray(correct_tokens(batch, x, gamma, rng))
            return batch.with_pool(_replaced(pool, out), self_correct_shift=float(np.mean(out != x)))
        if self.config.map == "reference" or not all(has_exact(g, source) for g in batch.generators):
            check(self.config.map != "exact", "self_correct.map", "one with a closed form for this generator and data: 'exact' needs a Gaussian generator on Gaussian data or a GMM generator on mixture data", "exact")
            out = self._reference(batch, x)
        else:
            out = np.array(x, dtype=float, copy=True)
            for g, k in zip(batch.generators, batch.generator_ids, strict=True):
                rows = pool.origin == k
                if rows.any():
                    out[rows] = exact_correction(g, source, x[rows], batch.bias, gamma, rng)
        shift = float(np.mean(np.linalg.norm(out - x, axis=1)))
        return batch.with_pool(_replaced(pool, out), self_correct_shift=shift)

    def _reference(self, batch: SyntheticBatch, x: np.ndarray) -> np.ndarray:
        real = np.asarray(batch.real_samples(self.config.reference), dtype=float)
        source, gamma = batch.source, self.config.strength
        if hasattr(source, "image_shape"):  # labelled images: pixels moved, label column kept
            out = np.array(x, dtype=float, copy=True)
            out[:, :-1] = np.clip(reference_correction(x[:, :-1], real[:, :-1], gamma), 0.0, 1.0)
            return out
        return reference_correction(np.asarray(x, dtype=float), real, gamma)


def _replaced(pool: TrainingPool, x: np.ndarray) -> TrainingPool:
    """``pool`` with its rows replaced by ``x`` (same provenance)."""
    return TrainingPool(x.astype(pool.x.dtype, copy=False), pool.origin, pool.lineage)


@register("stage", "self_correct", "move each synthetic sample toward the truth: x + γ(T(x) - x), T an OT map (exact, or fitted to real rows) or a grammar correction", SelfCorrectConfig)
def build(config: SelfCorrectConfig) -> SelfCorrectStage:
    return SelfCorrectStage(config)
