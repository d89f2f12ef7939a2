"""The sample metrics: distances and manifold estimates between held-out real and generated samples.

Functions of the two sample sets (and, for ``loglik_real``/``cov_trace``, of the generator):
they apply to every modality whose samples are vectors, and to images through the source's
feature space (``source.metric_points``). The maths lives in :mod:`autophagy.metrics.functional`.
"""

from __future__ import annotations

import numpy as np

from autophagy.metrics.evaluate import EvalContext, MetricFn, metric


def _functional():  # type: ignore[no-untyped-def]
    # Imported on first use so that validating a config never loads the metric maths.
    from autophagy.metrics import functional

    return functional


def _points(ctx: EvalContext) -> tuple[np.ndarray, np.ndarray]:
    """Where precision/recall/density/coverage compare samples: the source's feature space where
    it has one (``source.metric_points(ctx)``: images), else the samples themselves."""
    points = getattr(ctx.source, "metric_points", None)
    if points is not None:
        return points(ctx)
    return ctx.real, ctx.fake


def _prdc(ctx: EvalContext) -> dict[str, float]:
    if "prdc" not in ctx.cache:
        real, fake = _points(ctx)
        ctx.cache["prdc"] = _functional().prdc(real, fake, nearest_k=ctx.config.nearest_k)
    return ctx.cache["prdc"]


@metric("frechet", "Fréchet distance (squared, FID convention) between Gaussian fits of real and generated samples")
def _frechet(ctx: EvalContext) -> float:
    return _functional().frechet_distance(ctx.real, ctx.fake)


@metric("sliced_wasserstein", "sliced 2-Wasserstein distance (POT), eval.n_projections directions")
def _sliced(ctx: EvalContext) -> float:
    return _functional().sliced_wasserstein(ctx.real, ctx.fake, n_projections=ctx.config.n_projections, rng=ctx.rng)


@metric("mmd", "unbiased MMD² with an RBF kernel, median-heuristic bandwidth")
def _mmd(ctx: EvalContext) -> float:
    return _functional().mmd_rbf(ctx.real, ctx.fake)


def _prdc_metric(key: str) -> MetricFn:
    """The metric ``key`` of the four :func:`_prdc` computes together."""
    return lambda ctx: _prdc(ctx)[key]


for _name, _text in {
    "precision": "share of generated samples inside the real k-NN manifold (quality)",
    "recall": "share of real samples inside the generated k-NN manifold (diversity)",
    "density": "how many real k-NN balls contain each generated sample, / k (Naeem et al. 2020)",
    "coverage": "share of real samples whose k-NN ball holds a generated sample (Naeem et al. 2020)",
}.items():
    metric(_name, _text)(_prdc_metric(_name))


@metric("loglik_real", "mean log-likelihood of held-out real data under G^t (with bias λ)", needs={"log_prob"})
def _loglik(ctx: EvalContext) -> float:
    return float(np.mean(ctx.generator.log_prob(ctx.real, bias=ctx.bias)))


@metric("cov_trace", "trace of G^t's covariance (of its samples where it has no closed form)")
def _cov_trace(ctx: EvalContext) -> float:
    if hasattr(ctx.generator, "moments"):
        return float(np.trace(ctx.generator.moments(bias=ctx.bias)[1]))
    return float(np.trace(np.atleast_2d(np.cov(ctx.fake, rowvar=False))))


