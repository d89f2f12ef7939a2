"""The closed forms of :mod:`autophagy.theory.mitigation` against Monte Carlo of the processes
they describe (plain numpy, vectorised over repeats), their limits, and the report's overlay."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from autophagy.theory import predict
from autophagy.theory.gaussian import moment_recursion
from autophagy.theory.mitigation import (
    kept_truncation_factor,
    rejection_moments,
    self_correct_moments,
    threshold_moments,
    truncation_factor,
)
from tests.mitigation.test_rejection import loop


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9])
def test_the_one_dimensional_truncation_factor_is_the_truncated_normal_variance(keep):
    c = norm.ppf((1 + keep) / 2)
    assert truncation_factor(keep, 1) == pytest.approx(1 - 2 * c * norm.pdf(c) / (2 * norm.cdf(c) - 1), rel=1e-10)
    assert truncation_factor(1.0, 3) == 1.0


@pytest.mark.parametrize(("dim", "keep"), [(2, 0.5), (5, 0.3)])
def test_the_truncation_factor_matches_monte_carlo_of_the_ellipsoid(dim, keep):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((400_000, dim))
    r = np.sum(z * z, axis=1)
    kept = r[r <= np.quantile(r, keep)] / dim  # per-coordinate second moment of the kept points
    # 4 standard errors of a mean over the ≈ keep · 400 000 kept points
    assert abs(kept.mean() - truncation_factor(keep, dim)) < 4 * kept.std() / np.sqrt(len(kept))


@pytest.mark.parametrize(("n", "dim", "keep"), [(50, 1, 0.5), (20, 2, 0.5), (11, 3, 0.3)])
def test_the_empirical_cut_factor_matches_monte_carlo_of_the_order_statistics(n, dim, keep):
    from autophagy.mitigation.threshold import kept_count

    rng = np.random.default_rng(1)
    m = kept_count(n, keep)
    sums = np.sort(rng.chisquare(dim, (100_000, n)), axis=1)[:, :m].sum(axis=1) / (m * dim)
    assert abs(sums.mean() - kept_truncation_factor(n, keep, dim)) < 4 * sums.std() / np.sqrt(len(sums))
    assert kept_truncation_factor(4000, 0.5, 1) == pytest.approx(truncation_factor(0.5, 1), rel=2e-3)  # n → ∞


def simulate_threshold(repeats, generations, n, dim, keep, bias, ddof, rng):
    """The fully synthetic Gaussian loop (truth N(0, I)) with top-``keep`` curation by the model's
    own log-likelihood; returns E tr Σ_t and E‖μ_t‖² per generation (Monte Carlo)."""
    from autophagy.mitigation.threshold import kept_count

    m = kept_count(n, keep)
    x = rng.standard_normal((repeats, n, dim))
    mu, cov = x.mean(axis=1), np.einsum("rni,rnj->rij", x - x.mean(axis=1, keepdims=True), x - x.mean(axis=1, keepdims=True)) / (n - ddof)
    traces, errors = [np.trace(cov, axis1=1, axis2=2).mean()], [np.sum(mu * mu, axis=1).mean()]
    for _ in range(generations - 1):
        factor = np.linalg.cholesky(bias * cov)
        z = rng.standard_normal((repeats, n, dim))
        order = np.argsort(np.sum(z * z, axis=2), axis=1)[:, :m]  # the score is -‖z‖²/2 + const
        kept = mu[:, None, :] + np.einsum("rij,rnj->rni", factor, np.take_along_axis(z, order[:, :, None], axis=1))
        mu = kept.mean(axis=1)
        centred = kept - mu[:, None, :]
        cov = np.einsum("rni,rnj->rij", centred, centred) / (m - ddof)
        traces.append(np.trace(cov, axis1=1, axis2=2).mean())
        errors.append(np.sum(mu * mu, axis=1).mean())
    return np.array(traces), np.array(errors)


def test_the_threshold_recursion_matches_monte_carlo_of_the_loop():
    rng = np.random.default_rng(2)
    repeats = 40_000
    traces, errors = simulate_threshold(repeats, 4, 20, 2, 0.5, 0.9, 0, rng)
    curve = threshold_moments(4, 20, 20, trace=2.0, dim=2, keep=0.5, bias=0.9, estimator="mle")
    # relative standard errors of these means over 40 000 repeats are below 1 %: 4 % is 4 of them
    np.testing.assert_allclose(traces, curve.cov_trace, rtol=0.04)
    np.testing.assert_allclose(errors, curve.mean_sq_error, rtol=0.04)


def simulate_correction(repeats, generations, n, gamma, bias, ddof, rng):
    """The 1-d fully synthetic loop (truth N(0, 1)) with synthetic samples moved by γ along the
    exact OT map; returns per generation the mean over repeats of (μ_t)², v_t and W2²."""
    x = rng.standard_normal((repeats, n))
    mu, var = x.mean(axis=1), x.var(axis=1, ddof=ddof)
    out = [[(mu**2).mean()], [var.mean()], [(mu**2 + (np.sqrt(bias * var) - 1) ** 2).mean()]]
    for _ in range(generations - 1):
        s = np.sqrt(bias * var)
        x = mu[:, None] + s[:, None] * rng.standard_normal((repeats, n))
        x = (1 - gamma) * x + gamma * (x - mu[:, None]) / s[:, None]  # T(x) = (x - μ_t)/s_t for N(0, 1)
        mu, var = x.mean(axis=1), x.var(axis=1, ddof=ddof)
        out[0].append((mu**2).mean())
        out[1].append(var.mean())
        out[2].append((mu**2 + (np.sqrt(bias * var) - 1) ** 2).mean())
    return np.array(out[0]), np.array(out[1]), np.array(out[2])


@pytest.mark.parametrize(("gamma", "bias", "estimator"), [(0.3, 1.0, "mle"), (0.7, 0.8, "unbiased")])
def test_the_self_correct_recursion_matches_monte_carlo_of_the_loop(gamma, bias, estimator):
    rng = np.random.default_rng(3)
    ddof = 0 if estimator == "mle" else 1
    errors, variances, w2 = simulate_correction(100_000, 6, 10, gamma, bias, ddof, rng)
    curve = self_correct_moments(6, 10, 10, variance=1.0, strength=gamma, bias=bias, estimator=estimator)
    # relative standard errors of these means over 100 000 repeats are below 0.5 %: 2 % is 4 of them
    np.testing.assert_allclose(errors, curve.mean_sq_error, rtol=0.02)
    np.testing.assert_allclose(variances, curve.cov_trace, rtol=0.02)
    np.testing.assert_allclose(w2, curve.w2, rtol=0.02)


def test_the_self_correct_recursion_reduces_to_the_plain_loop_and_to_rejection():
    plain = moment_recursion({"kind": "fully_synthetic", "n_real": 30, "n_synthetic": 20}, 8, trace=1.0, bias=0.9, estimator="mle")
    none = self_correct_moments(8, 30, 20, variance=1.0, strength=0.0, bias=0.9)
    np.testing.assert_allclose(none.cov_trace, plain.cov_trace, rtol=1e-12)
    np.testing.assert_allclose(none.mean_sq_error, plain.mean_sq_error, rtol=1e-12)
    full = self_correct_moments(8, 30, 20, variance=1.0, strength=1.0, bias=0.9, estimator="unbiased")
    exact = rejection_moments(8, 30, 20, trace=1.0, bias=0.9, estimator="unbiased")
    np.testing.assert_allclose(full.cov_trace, exact.cov_trace, rtol=1e-12)
    np.testing.assert_allclose(full.mean_sq_error, exact.mean_sq_error, rtol=1e-12)


def test_the_expected_w2_at_the_last_generation_falls_monotonically_in_gamma():
    gammas = np.linspace(0, 1, 21)
    last = [self_correct_moments(30, 50, 50, variance=1.0, strength=g, estimator=e).w2[-1] for e in ("mle", "unbiased") for g in gammas]
    for curve in (last[:21], last[21:]):
        assert np.all(np.diff(curve) < 0)


def test_the_threshold_factor_compounds_geometrically():
    curve = threshold_moments(5, 50, 50, trace=1.0, dim=1, keep=0.5, estimator="unbiased")
    np.testing.assert_allclose(curve.cov_trace[1:] / curve.cov_trace[:-1], kept_truncation_factor(50, 0.5, 1), rtol=1e-12)


def test_predict_overlays_the_mitigated_curves_and_only_those():
    t = np.arange(1, 31)
    base = loop(generations=30, metrics=["cov_trace", "mean_sq_error", "gaussian_w2"])
    rejection = predict({**base, "mitigation": [{"kind": "rejection"}]}, "mean_sq_error", t)
    np.testing.assert_allclose(rejection, [2 / 50] * 30)
    threshold = predict({**base, "mitigation": [{"kind": "threshold", "score": "self_loglik", "keep": 0.5}]}, "cov_trace", t)
    np.testing.assert_allclose(threshold, threshold_moments(30, 50, 50, trace=2.0, dim=2, keep=0.5, estimator="unbiased").cov_trace)
    one_d = {**base, "data": {"kind": "gaussian", "dim": 1}, "mitigation": [{"kind": "self_correct", "strength": 0.5}]}
    np.testing.assert_allclose(predict(one_d, "gaussian_w2", t), self_correct_moments(30, 50, 50, variance=1.0, strength=0.5, estimator="unbiased").w2)
    assert predict({**base, "mitigation": [{"kind": "self_correct", "strength": 0.5}]}, "cov_trace", t) is None  # d = 2, 0 < γ < 1
    assert predict({**base, "mitigation": [{"kind": "rejection", "fill": False}]}, "cov_trace", t) is None
    assert predict({**base, "mitigation": [{"kind": "threshold", "score": "true_loglik", "keep": 0.5}]}, "cov_trace", t) is None
    assert predict({**base, "mitigation": [{"kind": "rejection"}]}, "cov_logdet", t) is None
    plain = predict({**base, "mitigation": []}, "cov_trace", t)
    np.testing.assert_allclose(plain, moment_recursion(base["loop"], 30, trace=2.0, estimator="unbiased").cov_trace)
