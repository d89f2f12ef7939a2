"""Metrics against a known Gaussian (mixture) truth, and their batched forms for the exact engine.

``gaussian_w2`` needs a single true Gaussian and a Gaussian generator (its ``moments``);
``mean_sq_error``, ``cov_logdet`` and ``modes_covered`` need the true mixture
(``source.truth()``). :data:`MOMENT_METRICS` computes the moment metrics for all repeats at once.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autophagy.metrics.evaluate import EvalContext, metric
from autophagy.metrics.samples import _functional

try:  # np.einsum's C core without the dispatch wrapper: the same sums, ~2 µs less per call
    from numpy._core.multiarray import c_einsum as _einsum  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - NumPy < 2
    _einsum = np.einsum

#: Batched forms of the metrics that are functions of G^t's sampling distribution N(m, F Fᵀ)
#: (F Fᵀ = λ Σ_t, F square) and of the true Gaussian N(μ, Σ) alone; the exact engine computes
#: these for all repeats at once: ``fn(m (R, d), F (R, d, d), μ (d,), Σ (d, d)) -> (R,)``.
MOMENT_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "gaussian_w2": lambda m, f, mu, sigma: _functional().gaussian_w2_batch(m, f @ np.swapaxes(f, 1, 2), mu, sigma),
    "cov_trace": lambda m, f, mu, sigma: _einsum("rij,rij->r", f, f),  # tr F Fᵀ
    "mean_sq_error": lambda m, f, mu, sigma: np.sum((m - mu) ** 2, axis=1),
    "cov_logdet": lambda m, f, mu, sigma: _logdet_ratio(f, sigma),
}


def _logdet_ratio(factor: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """log det C - log det Σ from square factors F (R, d, d) of C = F Fᵀ; -inf for a singular C.

    From the factor (2 log |det F|) rather than from C: F's condition number is the square root
    of C's, so a collapsing, badly conditioned covariance (cond C ~ 1e20 after tens of
    generations) still has a finite, accurate log det.
    """
    sign, logdet = np.linalg.slogdet(factor)
    return np.where(sign != 0, 2.0 * logdet, -np.inf) - np.linalg.slogdet(truth)[1]


@metric("gaussian_w2", "exact squared W2 between G^t's Gaussian N(μ_t, λΣ_t) and the true Gaussian", needs={"moments"})
def _gaussian_w2(ctx: EvalContext) -> float:
    truth = ctx.source.truth()
    assert truth is not None and len(truth.weights) == 1
    mean, cov = ctx.generator.moments(bias=ctx.bias)
    return _functional().gaussian_w2(mean, cov, truth.means[0], truth.covariances[0])


@metric("mean_sq_error", "squared distance ‖μ_t - μ‖² between G^t's mean (of its samples where it has no closed form) and the true mean")
def _mean_sq_error(ctx: EvalContext) -> float:
    truth = ctx.source.truth()
    assert truth is not None
    mean = ctx.generator.moments(bias=ctx.bias)[0] if hasattr(ctx.generator, "moments") else ctx.fake.mean(axis=0)
    return float(np.sum((mean - truth.moments()[0]) ** 2))


@metric("cov_logdet", "log det of G^t's covariance relative to the true one (0 = same volume; → -inf as it collapses)")
def _cov_logdet(ctx: EvalContext) -> float:
    truth = ctx.source.truth()
    assert truth is not None
    cov = ctx.generator.moments(bias=ctx.bias)[1] if hasattr(ctx.generator, "moments") else np.cov(ctx.fake, rowvar=False)
    from autophagy.exact.stats import psd_factor

    return float(_logdet_ratio(psd_factor(np.atleast_2d(cov)[None]), truth.moments()[1])[0])


@metric("modes_covered", "true mixture modes receiving at least eval.mode_share of generated samples")
def _modes(ctx: EvalContext) -> float:
    from scipy.stats import chi2

    truth = ctx.source.truth()
    assert truth is not None
    radius = ctx.config.mode_radius or float(np.sqrt(chi2.ppf(0.99, truth.dim)))
    covered, _ = _functional().modes_covered(
        ctx.fake,
        truth.means,
        truth.covariances,
        truth.weights,
        min_share=ctx.config.mode_share,
        radius=radius,
    )
    return float(covered)


