"""Closed forms for mitigated Gaussian loops: the fully synthetic loop (G^1 on n_r real samples,
every later G^t on n_s samples of G^{t-1} drawn at bias λ, fitted by ``mle`` (δ = 0) or
``unbiased`` (δ = 1)) with one mitigation stage between sampling and training.

**rejection** with the true ratio (:func:`rejection_moments`): an accepted sample is an exact
draw of P_r independent of G^t, and ``fill`` restores n_s of them, so from generation 2 on the
loop trains on n_s fresh real samples: E tr Σ_t = τ (n_s - 1)/(n_s - δ), E‖μ_t - μ‖² = τ/n_s —
the error stays at the level of one real fit for ever (with an estimated M the verifier is
approximately exact; :mod:`autophagy.mitigation.rejection` states the bias).

**threshold** by ``self_loglik``, ``top`` share ``keep`` (:func:`threshold_moments`): in the
whitened coordinates z = (λΣ_t)^{-1/2} (x - μ_t) of G^t's samples the score is -‖z‖²/2, so the
kept rows are the m = :func:`~autophagy.mitigation.threshold.kept_count` (n_s, keep) of
smallest radius R = ‖z‖² ~ χ²_d; directions stay uniform and independent of the radii. Hence,
given G^t, the kept rows have mean μ_t in expectation, E[Σ_i z_i z_iᵀ] = (E ΣR_(i) / d) I and
E[z_i·z_j] = 0 for i ≠ j, which gives the exact recursions

    E tr Σ_{t+1} = λ κ_n (m - 1)/(m - δ) E tr Σ_t,
    E‖μ_{t+1} - μ‖² = E‖μ_t - μ‖² + λ κ_n E tr Σ_t / m,

with κ_n = E[sum of the m smallest of n_s χ²_d radii] / (m d) (:func:`kept_truncation_factor`,
one quadrature). As n_s → ∞ the kept set is the ellipsoid R <= q, q the χ²_d quantile at
``keep``, and κ_n → κ = F_{χ²_{d+2}}(q) / keep (:func:`truncation_factor`; E[R | R <= q] =
d F_{d+2}(q)/F_d(q)). For d = 1 this is the truncated-normal variance
1 - 2cφ(c)/(2Φ(c) - 1), c = Φ⁻¹((1 + keep)/2); keep = ½ gives κ ≈ 0.1427: with the ``unbiased``
estimator (whose factor (m-1)/(m-δ) is 1) and λ = 1, E tr Σ shrinks to ≈ 14.3 % of its value
every generation (exactly κ_n: 0.1532 at n_s = 50).

**self_correct** with the exact OT map, strength γ (:func:`self_correct_moments`, d = 1): given
G^t = N(μ_t, λ v_t) the corrected sample is x' = (1 - γ) x + γ T(x) ~ N((1-γ)μ_t + γμ, s'²),
s' = (1 - γ)√λ s_t + γσ (s_t = √v_t; McCann's interpolant between two Gaussians). G^{t+1} is
fitted to n_s such samples: s_{t+1} = s' √(W/(n_s - δ)), W ~ χ²_{n_s - 1}, and
μ_{t+1} = (1-γ)μ_t + γμ + s' Z/√n_s, Z ~ N(0, 1), all independent. So the pair
(E s_t, E s_t²) and E(μ_t - μ)² close:

    E s_{t+1}  = c_n ((1-γ)√λ E s_t + γσ),   c_n = E√(W/(n - δ)) = √(2/(n-δ)) Γ(n/2)/Γ((n-1)/2)
    E s_{t+1}² = (n-1)/(n-δ) ((1-γ)² λ E s_t² + 2γ(1-γ)√λ σ E s_t + γ²σ²)
    E(μ_{t+1} - μ)² = (1-γ)² E(μ_t - μ)² + E s'²/n_s

and the expected squared W2 between G^t's law and the truth is
E(μ_t - μ)² + λ E s_t² - 2√λ σ E s_t + σ². γ = 1 gives exact draws of the truth (the rejection
law, in any d); γ = 0 the plain loop. In d > 1 the map involves tr((C^{1/2} Σ C^{1/2})^{1/2}),
whose expectation under a Wishart C has no closed form, so only γ ∈ {0, 1} are exact there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import integrate
from scipy.special import gammaln
from scipy.stats import binom, chi2

from autophagy._validation import check
from autophagy.mitigation.threshold import kept_count
from autophagy.theory.gaussian import MomentCurve


def _ddof(estimator: str) -> int:
    check(estimator in ("mle", "unbiased"), "estimator", "one of 'mle', 'unbiased'", estimator)
    return 0 if estimator == "mle" else 1


def truncation_factor(keep: float, dim: int = 1) -> float:
    """κ = Cov(z | ‖z‖² <= q) / I for z ~ N(0, I_d), q the χ²_d quantile at ``keep``:
    F_{χ²_{d+2}}(q) / keep (module docstring; d = 1: 1 - 2cφ(c)/(2Φ(c) - 1)).

    >>> round(truncation_factor(0.5, 1), 4)
    0.1427
    """
    check(0.0 < keep <= 1.0, "keep", "in (0, 1]", keep)
    check(dim >= 1, "dim", "an int >= 1", dim)
    if keep == 1.0:
        return 1.0
    q = chi2.ppf(keep, dim)
    return float(chi2.cdf(q, dim + 2) / keep)


def kept_truncation_factor(n: int, keep: float, dim: int = 1) -> float:
    """κ_n = E[sum of the m smallest of n χ²_d radii] / (m d), m = kept_count(n, keep): the
    covariance factor of the m rows ``threshold`` keeps of n by ``self_loglik`` (exact for the
    empirical cut; → :func:`truncation_factor` as n → ∞).

    E Σ_{k<=m} R_(k) = n ∫ x f(x) P(Bin(n - 1, F(x)) <= m - 1) dx (the row of radius x is among
    the m smallest when at most m - 1 of the other n - 1 rows are below it).

    >>> round(kept_truncation_factor(50, 0.5, 1), 4)
    0.1532
    """
    m = kept_count(n, keep)
    if m == n:
        return 1.0

    def integrand(x: float) -> float:
        return float(x * chi2.pdf(x, dim) * binom.cdf(m - 1, n - 1, chi2.cdf(x, dim)))

    # the integrand lives below the keep-quantile and a few spreads beyond it
    edge = float(chi2.ppf(min(0.999999, keep + 10 * math.sqrt(keep * (1 - keep) / n) + 1e-3), dim))
    total, _ = integrate.quad(integrand, 0.0, edge, limit=200, epsabs=1e-12, epsrel=1e-10)
    tail, _ = integrate.quad(integrand, edge, np.inf, limit=200)
    return n * (total + tail) / (m * dim)


def _check_loop(generations: int, n_real: int, n_synthetic: int, trace: float, bias: float) -> None:
    check(generations >= 1, "generations", "an int >= 1", generations)
    check(n_real >= 2 and n_synthetic >= 2, "n_real", "an int >= 2 (with n_synthetic >= 2)", n_real)
    check(math.isfinite(trace) and trace > 0, "trace", "a finite float > 0 (tr Σ)", trace)
    check(0.0 < bias <= 1.0, "bias", "in (0, 1]", bias)


def rejection_moments(
    generations: int, n_real: int, n_synthetic: int, *, trace: float, bias: float = 1.0, estimator: str = "mle"
) -> MomentCurve:
    """E‖μ_t - μ‖² and E tr Σ_t, t = 1..T, of the fully synthetic loop under ``rejection`` with
    the true ratio and ``fill``: generation 1 on n_r real samples, every later one on n_s exact
    draws of the truth (module docstring).

    >>> c = rejection_moments(3, 100, 50, trace=2.0, estimator="unbiased")
    >>> c.cov_trace.tolist(), c.mean_sq_error.tolist()
    ([2.0, 2.0, 2.0], [0.02, 0.04, 0.04])
    """
    _check_loop(generations, n_real, n_synthetic, trace, bias)
    delta = _ddof(estimator)
    sizes = np.array([n_real] + [n_synthetic] * (generations - 1), dtype=float)
    return MomentCurve(np.arange(1, generations + 1), trace / sizes, trace * (sizes - 1) / (sizes - delta), bias)


def threshold_moments(
    generations: int, n_real: int, n_synthetic: int, *, trace: float, dim: int, keep: float,
    bias: float = 1.0, estimator: str = "mle", exact_cut: bool = True,
) -> MomentCurve:
    """E‖μ_t - μ‖² and E tr Σ_t, t = 1..T, of the fully synthetic loop under ``threshold`` by
    ``self_loglik`` keeping the top share ``keep`` (module docstring). ``exact_cut``: κ_n of
    the empirical cut (what the stage does); False: the population factor κ.

    >>> c = threshold_moments(2, 50, 50, trace=1.0, dim=1, keep=0.5, estimator="unbiased", exact_cut=False)
    >>> round(float(c.cov_trace[1]), 4)
    0.1427
    """
    _check_loop(generations, n_real, n_synthetic, trace, bias)
    delta = _ddof(estimator)
    m = kept_count(n_synthetic, keep)
    check(m - delta >= 1 and m >= 2, "keep", f"a share keeping at least 2 rows of {n_synthetic}", keep)
    kappa = kept_truncation_factor(n_synthetic, keep, dim) if exact_cut else truncation_factor(keep, dim)
    cov = np.empty(generations)
    msq = np.empty(generations)
    cov[0], msq[0] = trace * (n_real - 1) / (n_real - delta), trace / n_real
    for t in range(1, generations):
        msq[t] = msq[t - 1] + bias * kappa * cov[t - 1] / m
        cov[t] = cov[t - 1] * bias * kappa * (m - 1) / (m - delta)
    return MomentCurve(np.arange(1, generations + 1), msq, cov, bias)


@dataclass(frozen=True)
class CorrectedCurve:
    """Expected moments of G^t per generation under ``self_correct`` (d = 1).

    Attributes:
        generations: 1..T, shape (T,).
        mean_sq_error: E(μ_t - μ)², shape (T,).
        cov_trace: E v_t, the fitted variance (the sampling law has λ times it), shape (T,).
        std: E s_t = E √v_t, shape (T,).
        w2: E W2²(N(μ_t, λ v_t), N(μ, σ²)), shape (T,).
        bias: λ.
    """

    generations: np.ndarray
    mean_sq_error: np.ndarray
    cov_trace: np.ndarray
    std: np.ndarray
    w2: np.ndarray
    bias: float


def chi_mean(n: int, delta: int) -> float:
    """c_n = E √(W/(n - δ)), W ~ χ²_{n-1}: √(2/(n-δ)) Γ(n/2)/Γ((n-1)/2)."""
    return math.sqrt(2.0 / (n - delta)) * math.exp(gammaln(n / 2) - gammaln((n - 1) / 2))


def self_correct_moments(
    generations: int, n_real: int, n_synthetic: int, *, variance: float, strength: float,
    bias: float = 1.0, estimator: str = "mle",
) -> CorrectedCurve:
    """Exact E(μ_t - μ)², E v_t, E s_t and E W2², t = 1..T, of the 1-d fully synthetic loop
    whose synthetic samples are moved by γ = ``strength`` along the exact OT map to N(μ, σ²)
    (σ² = ``variance``; module docstring).

    >>> c = self_correct_moments(3, 50, 50, variance=1.0, strength=1.0, estimator="unbiased")
    >>> c.cov_trace.round(6).tolist(), c.mean_sq_error.round(6).tolist()
    ([1.0, 1.0, 1.0], [0.02, 0.02, 0.02])
    """
    _check_loop(generations, n_real, n_synthetic, variance, bias)
    check(0.0 <= strength <= 1.0, "strength", "in [0, 1]", strength)
    delta, g, sigma, root = _ddof(estimator), strength, math.sqrt(variance), math.sqrt(bias)
    es, es2, msq = np.empty(generations), np.empty(generations), np.empty(generations)
    es[0], es2[0], msq[0] = sigma * chi_mean(n_real, delta), variance * (n_real - 1) / (n_real - delta), variance / n_real
    c, shrink, n = chi_mean(n_synthetic, delta), (n_synthetic - 1) / (n_synthetic - delta), n_synthetic
    for t in range(1, generations):
        moved2 = (1 - g) ** 2 * bias * es2[t - 1] + 2 * g * (1 - g) * root * sigma * es[t - 1] + g * g * variance  # E s'²
        es[t] = c * ((1 - g) * root * es[t - 1] + g * sigma)
        es2[t] = shrink * moved2
        msq[t] = (1 - g) ** 2 * msq[t - 1] + moved2 / n
    w2 = msq + bias * es2 - 2 * root * sigma * es + variance
    return CorrectedCurve(np.arange(1, generations + 1), msq, es2, es, w2, bias)
