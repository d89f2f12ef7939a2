"""Ridge downstream model on fake data: deterministic equivalents and the optimal ridge.

The downstream ridge fit (parameter α) on T rows of generation n splits exactly into bias +
variance + a collapse term c_n·ρ (Dohmatob, Feng & Kempe 2024 §4); the expectations over the
downstream design are replaced by their deterministic equivalents in terms of the effective
regularisation κ (:func:`effective_regularization`), asymptotic as d, T → ∞ proportionally.
:func:`ridge_test_error` gives the parts (:class:`RidgeTestError`), :func:`optimal_ridge` the
α minimising their sum. Setting and notation: :mod:`autophagy.theory.regression`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from autophagy._validation import check
from autophagy.theory._chain_args import (
    ArrayLike,
    _check_int,
    _check_noise,
    _check_ols_size,
    _downstream_noise,
    _fake_variance_sum,
    _generations,
    _is_real,
    _out,
)


# -- ridge: deterministic equivalents ------------------------------------------------------------
def _spectrum(cov_spectrum: ArrayLike) -> np.ndarray:
    lam = np.asarray(cov_spectrum, dtype=float)
    ok = lam.ndim == 1 and lam.size >= 1 and bool(np.all(np.isfinite(lam))) and bool(np.all(lam > 0))
    check(ok, "cov_spectrum", "a 1-d array of finite eigenvalues > 0 (Σ positive definite)", cov_spectrum)
    return lam


def _df(lam: np.ndarray, kappa: float) -> tuple[float, float]:
    """df1(κ) = tr Σ(Σ+κ)⁻¹ and df2(κ) = tr Σ²(Σ+κ)⁻²."""
    ratio = lam / (lam + kappa)
    return float(ratio.sum()), float((ratio**2).sum())


def effective_regularization(alpha: float, cov_spectrum: ArrayLike, n_samples: int) -> float:
    """κ, the ridge's effective regularisation: the root κ > 0 of κ - α = (κ/T) tr Σ(Σ + κI)⁻¹.

    The fixed point of the first-order deterministic equivalent α(S + αI)⁻¹ ≍ κ(Σ + κI)⁻¹ of the
    sample covariance S = XᵀX/T (Marchenko-Pastur / Silverstein; e.g. Bach 2023, "High-dimensional
    analysis of double descent for linear regression with random projections", Prop. 1;
    Dohmatob et al. 2024, §4). For α > 0 the root is unique and lies in [α, α + tr Σ/T]. For α = 0
    it is 0 when T > d and the root of df1(κ) = T when T < d (minimum-norm interpolation).

    Args:
        alpha: α >= 0 (for α = 0, T must differ from d).
        cov_spectrum: eigenvalues of Σ, shape (d,).
        n_samples: T.

    Examples:
        >>> round(effective_regularization(0.0, [1.0] * 5, 10), 6)  # T > d: no implicit ridge
        0.0
    """
    lam = _spectrum(cov_spectrum)
    t = _check_int(n_samples, "n_samples", 1)
    check(_is_real(alpha) and alpha >= 0, "alpha", "a finite float >= 0 (ridge parameter α)", alpha)
    d = lam.size
    if alpha == 0:
        check(t != d, "n_samples", f"an int != dim = {d} when alpha = 0 (the least-squares variance is infinite at T = d)", t)
        if t > d:
            return 0.0
        lo = float(lam.min()) * 1e-12
        return float(brentq(lambda k: _df(lam, k)[0] - t, lo, float(lam.sum()) / t, xtol=1e-300, rtol=1e-14, maxiter=500))
    return float(
        brentq(lambda k: k - alpha - k * _df(lam, k)[0] / t, alpha, alpha + float(lam.sum()) / t, xtol=1e-300, rtol=1e-14, maxiter=500)
    )


@dataclass(frozen=True)
class RidgeTestError:
    """E_test of the downstream ridge model split into its parts (:func:`ridge_test_error`).

    Attributes:
        n: generations, shape of the input n.
        bias: κ² w0ᵀΣ(Σ+κ)⁻²w0 / (1 - df2/T) (independent of n).
        variance: σ_n² df2/(T - df2), shape of n (σ0 at n = 0, σ after).
        collapse: the extra term c_n ρ growing with n, shape of n (0 at n = 0).
        total: bias + variance + collapse, shape of n.
        kappa: the effective regularisation κ.
        df1: tr Σ(Σ+κ)⁻¹.
        df2: tr Σ²(Σ+κ)⁻².
        rho: ρ, the collapse term per unit c_n.
    """

    n: np.ndarray
    bias: float
    variance: np.ndarray
    collapse: np.ndarray
    total: np.ndarray
    kappa: float
    df1: float
    df2: float
    rho: float


def _ridge_parts(
    gens: np.ndarray, alpha: float, lam: np.ndarray, w0: np.ndarray, d: int, t0: int, t: int, s0: float, s: float
) -> RidgeTestError:
    kappa = effective_regularization(alpha, lam, t)
    df1, df2 = _df(lam, kappa)
    shrink = kappa / (lam + kappa)  # κ(Σ+κ)⁻¹ on the eigenbasis
    inflate = 1.0 / (1.0 - df2 / t)
    bias = float(np.sum(lam * w0**2 * shrink**2)) * inflate
    rho = df2 + float(np.sum(shrink**2)) * df2 / (t - df2)
    variance = _downstream_noise(gens, s0, s) ** 2 * df2 / (t - df2)
    collapse = _fake_variance_sum(gens, s0, s) / (t0 - d - 1) * rho
    return RidgeTestError(gens, bias, variance, collapse, bias + variance + collapse, kappa, df1, df2, rho)


def _ridge_inputs(
    cov_spectrum: ArrayLike, w0: ArrayLike, t_real: int, t_fake: int
) -> tuple[np.ndarray, np.ndarray, int, int, int]:
    lam = _spectrum(cov_spectrum)
    d = lam.size
    coef = np.asarray(w0, dtype=float)
    ok = coef.shape == (d,) and bool(np.all(np.isfinite(coef)))
    check(ok, "w0", f"a finite array of shape ({d},) (w0 in Σ's eigenbasis)", w0)
    t0 = _check_ols_size(t_real, d, "t_real", "rows of each least-squares generator")
    t = _check_int(t_fake, "t_fake", 1)
    return lam, coef, d, t0, t


def ridge_test_error(
    n: ArrayLike,
    *,
    alpha: float,
    cov_spectrum: ArrayLike,
    w0: ArrayLike,
    t_real: int,
    t_fake: int,
    noise_real: float,
    noise_fake: float | None = None,
) -> RidgeTestError:
    """E_test of a ridge downstream model (parameter α) on data of generation n: bias, variance, collapse.

    Equation (the article's decomposition, Dohmatob et al. 2024 §4 "Exact Test Error
    Characterization" (ridge case, the theory curves of its Fig. 1a): E_test(ŵ_n^pred) ≃
    E_test(ŵ_0^pred) + n σ0² ρ, bias and variance of clean ridge plus a term growing with n; the
    explicit ρ below is derived here with second-order deterministic equivalents)::

        E_test ≃ Bias + Var + c_n ρ
        Bias   = κ² Σ_i λ_i w0_i² / (λ_i + κ)²  / (1 - df2/T)
        Var    = σ_n² df2 / (T - df2)                         (σ_0 = σ0, σ_n = σ for n ≥ 1)
        c_n    = (σ0² + (n - 1) σ²) / (T0 - d - 1)            (c_0 = 0; exact, OLS generators)
        ρ      = df2 + κ² Σ_i 1/(λ_i + κ)² · df2 / (T - df2)
        κ - α  = κ df1(κ)/T,  df1 = Σ λ_i/(λ_i + κ),  df2 = Σ λ_i²/(λ_i + κ)²

    Derivation: ŵ_n = w0 + Δ_n with Δ_n the chain's error (independent of the downstream data,
    mean 0, E Δ_nΔ_nᵀ = c_n Σ⁻¹ exactly). With S = XᵀX/T and A = (S + α)⁻¹S,
    ŵ_pred - w0 = (A - I)w0 + AΔ_n + σ_n (XᵀX + Tα)⁻¹Xᵀε; the cross terms vanish in expectation
    and E‖AΔ_n‖²_Σ = c_n E tr(Σ⁻¹AΣA). Writing A = I - αQ, Q = (S + α)⁻¹, and using
    αQ ≍ κ(Σ+κ)⁻¹ and α²QΣQ ≍ κ²(Σ+κ)⁻¹Σ(Σ+κ)⁻¹ + κ² df2/(T - df2) Σ(Σ+κ)⁻² (Bach 2023,
    Prop. 1-2) gives tr(Σ⁻¹AΣA) ≍ ρ; the same equivalents give the classical Bias and Var
    (Hastie, Montanari, Rosset & Tibshirani 2022; Bach 2023). At α = 0, T > d: κ = 0, ρ = d and
    E_test ≃ σ² d/(T - d) + c_n d, the exact :func:`chain_test_error` up to T - d vs T - d - 1.

    Assumptions: Gaussian design, Σ diagonal in the basis of ``w0`` (pass Σ's eigenvalues and w0
    in its eigenbasis); the generators are least squares (T0 > d + 1, as in the article);
    **asymptotic** — the deterministic equivalents hold as d, T → ∞ proportionally, with
    relative errors O(1/d) at finite size (compare simulations with a finite-size allowance).

    Args:
        n: generations >= 0 (int or int array).
        alpha: α >= 0, the downstream ridge parameter (α = 0 needs T != d).
        cov_spectrum: eigenvalues λ_i of Σ, shape (d,).
        w0: true coefficients in Σ's eigenbasis, shape (d,).
        t_real: T0 > d + 1, rows of each generator.
        t_fake: T, rows of the downstream model (any T >= 1; T < d allowed).
        noise_real: σ0.
        noise_fake: σ (None: σ0).

    Returns:
        The :class:`RidgeTestError` (``total`` etc. shaped like n).

    Raises:
        InvalidParameterError: bad n, α < 0, a non-positive eigenvalue, w0 of the wrong shape,
            T0 <= d + 1, negative noise.

    Examples:
        >>> parts = ridge_test_error([0, 2], alpha=0.0, cov_spectrum=[1.0] * 10, w0=[0.3] * 10,
        ...                          t_real=41, t_fake=30, noise_real=1.0)
        >>> parts.total.round(6).tolist()  # 10/20, then 10/20 + 2 * 10/30
        [0.5, 1.166667]
    """
    gens = _generations(n)
    lam, coef, d, t0, t = _ridge_inputs(cov_spectrum, w0, t_real, t_fake)
    s0, s = _check_noise(noise_real, noise_fake)
    check(_is_real(alpha) and alpha >= 0, "alpha", "a finite float >= 0 (ridge parameter α)", alpha)
    check(alpha > 0 or t != d, "t_fake", f"an int != dim = {d} when alpha = 0 (the least-squares variance is infinite at T = d)", t)
    return _ridge_parts(gens, float(alpha), lam, coef, d, t0, t, s0, s)


def optimal_ridge(
    n: ArrayLike,
    *,
    cov_spectrum: ArrayLike,
    w0: ArrayLike,
    t_real: int,
    t_fake: int,
    noise_real: float,
    noise_fake: float | None = None,
) -> float | np.ndarray:
    """The α > 0 minimising :func:`ridge_test_error` for data of generation n (numerical).

    α*(n) = argmin_α E_test(n, α). No closed form exists at finite d for anisotropic Σ (the
    article's closed-form tuning is the power-law exponent ℓ of α = T^{-ℓ}, :func:`scaling_law`).
    We scan 121 log-spaced values of α/λ_max in [1e-9, 1e3] and refine the best one with
    bounded Brent on log α. The collapse term c_n ρ decreases in α while the bias increases,
    so α*(n) grows with n: fake data calls for stronger regularisation (the article's
    "adaptive regularisation", §5). Check: for isotropic Σ and clean data (n = 0) the minimiser
    is the Bayes-optimal α* = σ0² d/(T‖w0‖²) (Dobriban & Wager 2018), reproduced to 1e-4.

    Args:
        n: generations >= 0 (int or int array).
        cov_spectrum, w0, t_real, t_fake, noise_real, noise_fake: as :func:`ridge_test_error`.

    Returns:
        α*, a float for scalar n or an array shaped like n. It is asymptotic (inherits the
        deterministic-equivalent error of :func:`ridge_test_error`); an α* at the scan's edge
        means the minimum lies outside it.

    Examples:
        >>> a = optimal_ridge([0, 4], cov_spectrum=[1.0] * 20, w0=[0.2] * 20, t_real=60,
        ...                   t_fake=50, noise_real=1.0)
        >>> bool(a[1] > a[0])
        True
    """
    gens = _generations(n)
    lam, coef, d, t0, t = _ridge_inputs(cov_spectrum, w0, t_real, t_fake)
    s0, s = _check_noise(noise_real, noise_fake)
    scale = float(lam.max())
    grid = np.linspace(np.log(1e-9), np.log(1e3), 121)
    out = np.empty(gens.shape)
    for index, g in np.ndenumerate(gens):
        one = np.asarray(g)

        def total(log_alpha: float, one: np.ndarray = one) -> float:
            parts = _ridge_parts(one, scale * float(np.exp(log_alpha)), lam, coef, d, t0, t, s0, s)
            return float(parts.total)

        values = np.array([total(x) for x in grid])
        best = int(np.argmin(values))
        lo, hi = grid[max(best - 1, 0)], grid[min(best + 1, grid.size - 1)]
        res = minimize_scalar(total, bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
        x = float(res.x) if res.fun <= values[best] else float(grid[best])
        out[index] = scale * np.exp(x)
    return _out(out, gens)
