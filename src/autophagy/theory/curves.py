"""Theory curves for a run's metrics, where a closed form exists (the report's overlays)."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from autophagy.theory.gaussian import MomentCurve, expected_log_det, moment_recursion


def predict(config: Mapping[str, Any] | Any, metric: str, generations: np.ndarray) -> np.ndarray | None:
    """Expected value of ``metric`` at each of ``generations`` for this config, or None.

    Exact predictions exist for Gaussian data with a Gaussian generator (every loop kind,
    estimator and λ; :func:`~autophagy.theory.gaussian.moment_recursion`):

    * ``cov_trace`` — E tr(λ Σ_t), the trace of G^t's sampling covariance;
    * ``mean_sq_error`` — E‖μ_t - μ‖²;
    * ``cov_logdet`` — E log det(λ Σ_t) - log det Σ, fully synthetic loop only (Shumailov's
      random walk, :func:`~autophagy.theory.gaussian.expected_log_det`).

    And for the regression chain (``linear`` data, ``linear_ridge`` labeller and downstream
    model both least squares, T0 = ``loop.n_real`` = ``loop.n_synthetic``, T = ``eval.n_samples``,
    T0, T > d + 1): ``test_error`` and its parts ``test_error_bias`` (the chain's error) and
    ``test_error_variance`` (the downstream noise), and the n = 0 baseline ``test_error_real``, for ``fully_synthetic`` (replace,
    :func:`~autophagy.theory.regression.chain_test_error`) and ``accumulate`` without fresh data
    (:func:`~autophagy.theory.regression.accumulate_test_error`). Generation t of the loop is the
    article's n = t fake generations.

    Ledoit-Wolf shrinkage below dim + 1 samples has no closed form (None).

    With a ``mitigation:`` list, predictions exist only for one stage on the fully synthetic
    Gaussian loop (:mod:`~autophagy.theory.mitigation`): ``rejection`` with ``fill``
    (``cov_trace``, ``mean_sq_error``; the truth's fresh-data level), ``threshold`` by
    ``self_loglik`` keeping the top share ``keep`` (``cov_trace``, ``mean_sq_error``) and
    ``self_correct`` with the exact map (``cov_trace``, ``mean_sq_error`` and ``gaussian_w2`` in
    d = 1 for any strength; in d > 1 strengths 0 and 1 only, without ``gaussian_w2``).

    A web (``web:``) of Gaussian lineages on Gaussian data, all alike (one n_train, publish,
    estimator and λ), no stages, uniform draws, FIFO eviction, a pool that starts human, and
    ``human_per_generation`` a number or a schedule: ``cov_trace``, ``mean_sq_error`` and (isotropic truth)
    ``gaussian_w2`` of a lineage, and ``pool_human_share``
    (:func:`~autophagy.theory.web.web_moments`; W₂ is an approximation there).

    Args:
        config: a resolved config (an ExperimentConfig or its nested dict).
        metric: a metric name.
        generations: generation numbers, shape (T,), each >= 1.

    Returns:
        Predicted values, shape (T,), or None where there is no prediction.
    """
    data = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    if "data" not in data or data.get("kind") == "monitor":  # a Monitor's rows: a user's own loop, no experiment
        return None
    text = json.dumps(data, sort_keys=True)
    if metric in ("test_error", "test_error_bias", "test_error_variance", "test_error_real"):
        if data.get("mitigation") and metric != "test_error_real":  # curated fake data: not the chain's formulas (real-only fits still are)
            return None
        parts = _regression_parts(text)
        return None if parts is None else parts[metric][np.asarray(generations, dtype=np.int64)]
    index = np.asarray(generations, dtype=np.int64) - 1
    if data.get("web"):
        web = _web(text)
        return None if web is None or metric not in web else web[metric][index]
    if data.get("mitigation"):
        curves = _mitigated(text)
        return None if curves is None or metric not in curves else curves[metric][index]
    if metric not in ("cov_trace", "mean_sq_error", "cov_logdet"):
        return None
    if metric == "cov_logdet":
        walk = _log_det_walk(text)
        return None if walk is None else walk[index]
    curve = _curve(text)
    if curve is None:
        return None
    values = curve.bias * curve.cov_trace if metric == "cov_trace" else curve.mean_sq_error
    return values[index]


@functools.lru_cache(maxsize=256)
def _curve(text: str) -> MomentCurve | None:
    from autophagy.config import load_config
    from autophagy.registry import build_source

    config = load_config(json.loads(text))
    if config.data.kind != "gaussian" or config.generator.kind != "gaussian" or config.loop.kind == "keep_original":
        return None
    if min(config.loop.train_sizes(config.generations)) < config.data.dim + 1:  # type: ignore[attr-defined]
        return None  # Ledoit-Wolf shrinkage somewhere: no closed form
    trace = float(np.trace(build_source(config).cov))
    return moment_recursion(
        config.loop, config.generations, trace=trace, bias=config.generator.bias,
        estimator=config.generator.estimator,  # type: ignore[attr-defined]
    )


@functools.lru_cache(maxsize=256)
def _log_det_walk(text: str) -> np.ndarray | None:
    from autophagy.config import load_config

    config = load_config(json.loads(text))
    loop, gen = config.loop, config.generator
    if config.data.kind != "gaussian" or gen.kind != "gaussian" or loop.kind != "fully_synthetic":
        return None
    dim = config.data.dim  # type: ignore[attr-defined]
    if min(loop.n_real, loop.n_synthetic) <= dim:  # type: ignore[attr-defined]
        return None
    walk = expected_log_det(
        config.generations, loop.n_real, loop.n_synthetic, dim,  # type: ignore[attr-defined]
        bias=gen.bias, estimator=gen.estimator,  # type: ignore[attr-defined]
    )
    return walk + dim * np.log(gen.bias)


@functools.lru_cache(maxsize=256)
def _regression_parts(text: str) -> dict[str, np.ndarray] | None:
    """E test_error and its parts at generations 0..T of an OLS regression chain, or None."""
    from autophagy.config import load_config
    from autophagy.registry import build_source
    from autophagy.theory.regression import accumulate_test_error, chain_test_error

    config = load_config(json.loads(text))
    loop, gen = config.loop, config.generator
    if config.data.kind != "linear" or gen.kind != "linear_ridge" or gen.alpha != 0.0:  # type: ignore[attr-defined]
        return None
    if config.eval.downstream_ridge != 0.0 or loop.kind not in ("fully_synthetic", "accumulate"):
        return None
    if loop.n_real != loop.n_synthetic or getattr(loop, "n_fresh", 0) or loop.synthetic_from != "last":  # type: ignore[attr-defined]
        return None
    dim, t0, t = config.data.dim, loop.n_real, config.eval.n_samples  # type: ignore[attr-defined]
    if min(t0, t) <= dim + 1:
        return None
    truth = build_source(config).regression()
    noise = truth.noise if gen.noise is None else gen.noise  # type: ignore[attr-defined]
    sigma = float(np.sqrt(gen.bias) * noise)  # a labeller sampled with bias λ has noise √λ σ
    n = np.arange(config.generations + 1)
    formula = chain_test_error if loop.kind == "fully_synthetic" else accumulate_test_error
    total = np.asarray(formula(n, dim=dim, t_real=t0, t_fake=t, noise_real=truth.noise, noise_fake=sigma))
    variance = np.where(n >= 1, sigma**2, truth.noise**2) * dim / (t - dim - 1)
    return {
        "test_error": total,
        "test_error_variance": variance,
        "test_error_bias": total - variance,
        "test_error_real": np.full(len(n), total[0]),  # the n = 0 value, every generation
    }


@functools.lru_cache(maxsize=256)
def _mitigated(text: str) -> dict[str, np.ndarray] | None:
    """Expected metrics at generations 1..T of a fully synthetic Gaussian loop with one
    mitigation stage that has a closed form (see :func:`predict`), or None."""
    from autophagy.config import load_config
    from autophagy.registry import build_source
    from autophagy.theory.mitigation import (
        CorrectedCurve,
        rejection_moments,
        self_correct_moments,
        threshold_moments,
    )

    config = load_config(json.loads(text))
    loop, gen = config.loop, config.generator
    if config.data.kind != "gaussian" or gen.kind != "gaussian" or loop.kind != "fully_synthetic" or len(config.mitigation) != 1:
        return None
    dim, estimator, bias = config.data.dim, gen.estimator, gen.bias  # type: ignore[attr-defined]
    n_real, n_syn, steps = loop.n_real, loop.n_synthetic, config.generations  # type: ignore[attr-defined]
    if loop.synthetic_from != "last" or min(n_real, n_syn) < dim + 1:
        return None
    stage = config.mitigation[0].model_dump()
    source = build_source(config)
    trace = float(np.trace(source.cov))  # type: ignore[attr-defined]
    curve: MomentCurve | CorrectedCurve
    if stage["kind"] == "rejection" and stage["fill"]:
        curve = rejection_moments(steps, n_real, n_syn, trace=trace, bias=bias, estimator=estimator)
    elif stage["kind"] == "threshold" and stage["score"] == "self_loglik" and stage["choice"] == "top" and stage["keep"] is not None:
        from autophagy.mitigation.threshold import kept_count

        if kept_count(n_syn, stage["keep"]) < dim + 1:
            return None
        curve = threshold_moments(steps, n_real, n_syn, trace=trace, dim=dim, keep=stage["keep"], bias=bias, estimator=estimator)
    elif stage["kind"] == "self_correct" and stage["map"] in ("auto", "exact") and dim == 1:
        curve = self_correct_moments(steps, n_real, n_syn, variance=trace, strength=stage["strength"], bias=bias, estimator=estimator)
        return {"cov_trace": bias * curve.cov_trace, "mean_sq_error": curve.mean_sq_error, "gaussian_w2": curve.w2}
    elif stage["kind"] == "self_correct" and stage["map"] in ("auto", "exact") and stage["strength"] in (0.0, 1.0):
        if stage["strength"] == 1.0:
            curve = rejection_moments(steps, n_real, n_syn, trace=trace, bias=bias, estimator=estimator)
        else:
            curve = moment_recursion(loop, steps, trace=trace, bias=bias, estimator=estimator)
    else:
        return None
    return {"cov_trace": bias * curve.cov_trace, "mean_sq_error": curve.mean_sq_error}


@functools.lru_cache(maxsize=64)
def _web(text: str) -> dict[str, np.ndarray] | None:
    """Expected lineage and pool metrics at generations 1..T of a web with a closed form
    (see :func:`predict`), or None."""
    from autophagy.config import load_config
    from autophagy.registry import build_source
    from autophagy.theory.web import web_moments

    config = load_config(json.loads(text))
    data = config.to_dict()
    web, source = data["web"], data.get("data", {})
    groups = web["lineages"]
    alike = {(g["n_train"], g["publish"], g["generator"].get("estimator", "mle"), g["generator"].get("bias", 1.0)) for g in groups}
    pool, draw = web["pool"], web.get("draw", {})
    human = pool.get("human_per_generation", 0)
    if (source.get("kind") != "gaussian" or any(g["generator"].get("kind") != "gaussian" or g.get("mitigation") for g in groups)
            or len(alike) != 1 or pool.get("eviction", "fifo") != "fifo" or pool.get("initial", "human") != "human"
            or (draw.get("kind", "uniform") != "uniform" and draw.get("human_weight", 1.0) != 1.0)):
        return None
    (n_train, publish, estimator, bias), = alike
    dim = int(source.get("dim", 2))
    if n_train <= dim:
        return None  # Ledoit-Wolf shrinkage or a singular fit: no closed form
    cov = np.asarray(build_source(config).cov)  # type: ignore[attr-defined]
    trace = float(np.trace(cov))
    isotropic = bool(np.allclose(cov, trace / dim * np.eye(dim)))
    generations = int(data["generations"])
    if isinstance(human, dict):
        from autophagy.loops.web import Schedule

        schedule = Schedule.model_validate(human)
        human = [float(schedule.at(t, generations)) for t in range(1, generations + 1)]
    curve = web_moments(
        generations, human if isinstance(human, list) else float(human), int(n_train), int(publish), int(pool["size"]),
        lineages=sum(int(g.get("count", 1)) for g in groups), trace=trace, bias=float(bias), estimator=estimator,
        dim=dim if isotropic else None,
    )
    out = {"cov_trace": curve.bias * curve.cov_trace, "mean_sq_error": curve.mean_sq_error, "pool_human_share": curve.pool_human_share}
    if isotropic:
        out["gaussian_w2"] = curve.w2
    return out
