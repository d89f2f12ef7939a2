"""Metrics computed after each generation, by name.

A metric is a function of an :class:`EvalContext` (held-out real samples, generated samples,
the fitted generator, the real distribution) returning named floats. The maths lives in
:mod:`autophagy.metrics.functional`; this module only wires names to it. Metrics that share
work (precision/recall/density/coverage) share it through ``ctx.cache``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt

from .._validation import Model
from ..data.base import DataSource
from ..registry import entries, register


class EvalConfig(Model):
    """``eval:`` how the metrics are computed each generation.

    Attributes:
        n_samples: held-out real samples (drawn once per repeat) and generated samples (drawn
            fresh each generation, with the generator's bias λ) compared by the metrics.
        nearest_k: k of the k-NN balls of precision / recall / density / coverage.
        n_projections: random directions of the sliced Wasserstein distance.
        mode_share: a true mode is covered when it receives at least this share of the
            generated samples (``modes_covered``).
        mode_radius: a sample counts for its mode only within this Mahalanobis radius; None
            (the default) takes the radius holding 99 % of a true mode's mass in d dimensions,
            sqrt(chi2.ppf(0.99, d)) (3.03 in 2-d), so the count stays meaningful in high d.
        snapshot_size: generated samples saved for the report's scatter snapshots.
    """

    n_samples: PositiveInt = 1000
    nearest_k: PositiveInt = 5
    n_projections: PositiveInt = 128
    mode_share: float = Field(default=0.01, gt=0.0, le=1.0)
    mode_radius: PositiveFloat | None = None
    snapshot_size: int = Field(default=500, ge=0)


@dataclass
class EvalContext:
    """Everything a metric may look at for one generation.

    Attributes:
        real: held-out real samples, shape (n_eval, d).
        fake: samples from the generator with bias λ, shape (n_eval, d).
        generator: the fitted generator G^t.
        bias: λ used to sample ``fake``.
        source: the real distribution.
        config: the eval settings.
        rng: stream for randomised metrics.
    """

    real: np.ndarray
    fake: np.ndarray
    generator: Any
    bias: float
    source: DataSource
    config: EvalConfig
    rng: np.random.Generator
    cache: dict[str, Any] = field(default_factory=dict)


MetricFn = Callable[[EvalContext], float]

#: Names that need the data's true distribution to be a single Gaussian and the generator to
#: expose its (mean, covariance); checked when the config is validated.
NEEDS_GAUSSIAN_TRUTH = {"gaussian_w2"}
#: Names that need the true distribution to be a known mixture.
NEEDS_MIXTURE_TRUTH = {"modes_covered", "mean_sq_error", "cov_logdet"}

#: Batched forms of the metrics that are functions of G^t's sampling distribution N(m, F Fᵀ)
#: (F Fᵀ = λ Σ_t, F square) and of the true Gaussian N(μ, Σ) alone; the exact engine computes
#: these for all repeats at once: ``fn(m (R, d), F (R, d, d), μ (d,), Σ (d, d)) -> (R,)``.
MOMENT_METRICS: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
    "gaussian_w2": lambda m, f, mu, sigma: _functional().gaussian_w2_batch(m, f @ np.swapaxes(f, 1, 2), mu, sigma),
    "cov_trace": lambda m, f, mu, sigma: np.einsum("rij,rij->r", f, f),  # tr F Fᵀ
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


def metric(name: str, summary: str) -> Callable[[MetricFn], MetricFn]:
    return register("metric", name, summary)


def _functional():  # type: ignore[no-untyped-def]
    # Imported on first use so that validating a config never loads the metric maths.
    from . import functional

    return functional


def _prdc(ctx: EvalContext) -> dict[str, float]:
    if "prdc" not in ctx.cache:
        ctx.cache["prdc"] = _functional().prdc(ctx.real, ctx.fake, nearest_k=ctx.config.nearest_k)
    return ctx.cache["prdc"]


@metric("frechet", "Fréchet distance (squared, FID convention) between Gaussian fits of real and generated samples")
def _frechet(ctx: EvalContext) -> float:
    return _functional().frechet_distance(ctx.real, ctx.fake)


@metric("gaussian_w2", "exact squared W2 between G^t's Gaussian N(μ_t, λΣ_t) and the true Gaussian")
def _gaussian_w2(ctx: EvalContext) -> float:
    truth = ctx.source.truth()
    assert truth is not None and len(truth.weights) == 1
    mean, cov = ctx.generator.moments(bias=ctx.bias)
    return _functional().gaussian_w2(mean, cov, truth.means[0], truth.covariances[0])


@metric("sliced_wasserstein", "sliced 2-Wasserstein distance (POT), eval.n_projections directions")
def _sliced(ctx: EvalContext) -> float:
    return _functional().sliced_wasserstein(ctx.real, ctx.fake, n_projections=ctx.config.n_projections, rng=ctx.rng)


@metric("mmd", "unbiased MMD² with an RBF kernel, median-heuristic bandwidth")
def _mmd(ctx: EvalContext) -> float:
    return _functional().mmd_rbf(ctx.real, ctx.fake)


for _name, _text in {
    "precision": "share of generated samples inside the real k-NN manifold (quality)",
    "recall": "share of real samples inside the generated k-NN manifold (diversity)",
    "density": "how many real k-NN balls contain each generated sample, / k (Naeem et al. 2020)",
    "coverage": "share of real samples whose k-NN ball holds a generated sample (Naeem et al. 2020)",
}.items():
    metric(_name, _text)(lambda ctx, _key=_name: _prdc(ctx)[_key])


@metric("loglik_real", "mean log-likelihood of held-out real data under G^t (with bias λ)")
def _loglik(ctx: EvalContext) -> float:
    return float(np.mean(ctx.generator.log_prob(ctx.real, bias=ctx.bias)))


@metric("cov_trace", "trace of G^t's covariance (of its samples where it has no closed form)")
def _cov_trace(ctx: EvalContext) -> float:
    if hasattr(ctx.generator, "moments"):
        return float(np.trace(ctx.generator.moments(bias=ctx.bias)[1]))
    return float(np.trace(np.atleast_2d(np.cov(ctx.fake, rowvar=False))))


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
    from ..exact.stats import psd_factor

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


def evaluate(names: list[str], ctx: EvalContext) -> dict[str, float]:
    """Compute each named metric; a metric that fails numerically gives NaN, not an exception."""
    available = entries("metric")
    out: dict[str, float] = {}
    with np.errstate(all="ignore"):
        for name in names:
            try:
                out[name] = float(available[name].build(ctx))
            except (np.linalg.LinAlgError, ValueError, FloatingPointError):
                out[name] = float("nan")
    return out
