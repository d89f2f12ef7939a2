"""Regression metrics: the downstream model trained on G^t's rows, tested on the true distribution.

Dohmatob, Feng & Kempe (2024): ``test_error`` and, for a known linear truth, its bias and
variance parts, the n = 0 baseline ``test_error_real`` and the labeller's ``param_error``.
Generators here are labellers (:mod:`autophagy.regression.ridge`, :mod:`autophagy.regression.kernel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy.metrics.evaluate import EvalContext, metric


def _linear_truth(ctx: EvalContext) -> Any:
    regression = getattr(ctx.source, "regression", None)
    return regression() if regression is not None else None


def _downstream(ctx: EvalContext) -> Any:
    if "downstream" not in ctx.cache:
        ctx.cache["downstream"] = ctx.generator.downstream(ctx.fake, ctx.config.downstream_ridge)
    return ctx.cache["downstream"]


@metric("test_error", "downstream model (family of G^t, ridge eval.downstream_ridge) trained on eval.n_samples rows of G^t, tested on the true distribution", needs={"downstream"})
def _test_error(ctx: EvalContext) -> float:
    """Excess risk (ŵ - w0)ᵀ Σ (ŵ - w0) for a linear truth; else held-out mean squared error on real rows."""
    model = _downstream(ctx)
    truth = _linear_truth(ctx)
    if truth is not None and hasattr(model, "coef_"):
        return float(truth.excess_risk(model.coef_))
    return float(np.mean((model.predict(ctx.real[:, :-1]) - ctx.real[:, -1]) ** 2))


def _bias_variance(ctx: EvalContext) -> tuple[float, float]:
    """test_error's parts given the downstream inputs X, averaged over the downstream label noise.

    With P = (XᵀX + TαI)⁻¹Xᵀ (α > 0) or X⁺ (α = 0) and G^t = (ŵ_t, σ_t): E ŵ_pred = P X ŵ_t, so
    bias = ‖P X ŵ_t - w0‖²_Σ and variance = σ_t² tr(Σ P Pᵀ) (Dohmatob et al. 2024, eq. for E_test).
    """
    if "bias_variance" not in ctx.cache:
        truth = _linear_truth(ctx)
        x = ctx.fake[:, :-1]
        n, d = x.shape
        alpha = ctx.config.downstream_ridge
        p = np.linalg.pinv(x) if alpha == 0.0 else np.linalg.solve(x.T @ x + n * alpha * np.eye(d), x.T)
        mean = p @ (x @ ctx.generator.coef_)
        sigma2 = ctx.bias * ctx.generator.noise**2
        variance = sigma2 * float(np.sum((truth.cov @ p) * p))
        ctx.cache["bias_variance"] = (float(truth.excess_risk(mean)), variance)
    return ctx.cache["bias_variance"]


@metric("test_error_bias", "bias part of test_error given the downstream inputs (linear truth)", needs={"coef"})
def _test_error_bias(ctx: EvalContext) -> float:
    return _bias_variance(ctx)[0]


@metric("test_error_variance", "variance part of test_error given the downstream inputs (linear truth)", needs={"coef"})
def _test_error_variance(ctx: EvalContext) -> float:
    return _bias_variance(ctx)[1]


@metric("test_error_real", "the n = 0 baseline: the downstream model trained on eval.n_samples real rows instead (linear truth)", needs={"downstream"})
def _test_error_real(ctx: EvalContext) -> float:
    """Excess risk of the downstream model (same family and α) fitted on the held-out real rows."""
    model = ctx.generator.downstream(ctx.real, ctx.config.downstream_ridge)
    return float(_linear_truth(ctx).excess_risk(model.coef_))


@metric("param_error", "parameter distance ‖ŵ_t - w0‖ of the labeller G^t (linear truth)", needs={"coef"})
def _param_error(ctx: EvalContext) -> float:
    return float(np.linalg.norm(ctx.generator.coef_ - _linear_truth(ctx).w0))


