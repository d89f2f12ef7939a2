"""Closed forms for linear regression trained on recursively generated labels.

Setting (Dohmatob, Feng & Kempe 2024, "Model Collapse Demystified: The Case of Regression", §3;
the lab's ``linear`` data with ``linear_ridge`` labellers): inputs x ~ N(0, Σ) in d dimensions,
real labels y = x·w0 + σ0 ε. A *fake-data chain* of n generators is built with ordinary least
squares (OLS)::

    generator 1:  ŵ_1 = OLS on T0 real rows                          (label noise σ0)
    generator k:  ŵ_k = OLS on T0 fresh inputs labelled x·ŵ_{k-1} + σ ε   (k = 2..n)

("replace"; σ = ``noise_fake``, the label noise of the fake generators, the lab's default σ = σ0).
``accumulate`` (Gerstgrasser, Schaeffer et al. 2024, "Is Model Collapse Inevitable?") fits
generator k on *all* rows so far: the T0 real rows and the T0 rows labelled by each earlier
generator ŵ_{j-1}, j = 2..k. A downstream ridge model with parameter α is then trained on T fresh
inputs labelled by generation n, x·ŵ_n + σ ε (n ≥ 1), or on T real rows (n = 0), and scored by
the excess risk E_test = (ŵ_pred - w0)ᵀ Σ (ŵ_pred - w0). Ridge convention (the article's and
:func:`autophagy.regression.ridge.ridge_solve`'s): ŵ = (XᵀX + TαI)⁻¹Xᵀy, α = 0 least squares.

Argument names: ``t_real`` = T0, the rows each generator fits (generator 1's are the real rows);
``t_fake`` = T, the rows the downstream model is trained on (drawn from generation n; real rows
when n = 0); ``noise_real`` = σ0; ``noise_fake`` = σ (None: σ0). The downstream rows of
generation n ≥ 1 carry the fake noise σ, exactly as the lab's ``test_error`` metric draws them
from G^n. A labeller sampled with bias λ has noise √λ·σ: pass that as ``noise_fake``.

**Exact results** (any Σ, Gaussian design; whitening x ↦ Σ^{-1/2}x maps every OLS fit and the
Σ-norm to the isotropic case, so only d enters). Write e_k = ŵ_k - w0 and use
E (XᵀX)⁻¹ = Σ⁻¹/(T - d - 1) for T Gaussian rows (inverse-Wishart mean, finite only for
T > d + 1):

* replace (:func:`chain_test_error`): e_k = e_{k-1} + σ_k (X_kᵀX_k)⁻¹X_kᵀε_k, independent
  zero-mean increments, so E‖e_n‖²_Σ = (σ0² + (n-1)σ²) d/(T0 - d - 1) — linear growth in n.
* accumulate (:func:`accumulate_test_error`): with G_k = Σ_{j≤k} X_jᵀX_j the pooled fit obeys
  G_k e_k = G_{k-1}e_{k-1} + X_kᵀX_k e_{k-1} + σ X_kᵀε_k = G_k e_{k-1} + σ X_kᵀε_k, i.e.
  e_k = e_{k-1} + σ G_k⁻¹X_kᵀε_k, and by exchangeability of the k blocks
  E tr(Σ G_k⁻¹X_kᵀX_kG_k⁻¹) = E tr(Σ G_k⁻¹)/k = d/(k(kT0 - d - 1)). The sum converges: the
  error stays below the (π²/6) bound of Gerstgrasser et al. (:func:`accumulate_bound`).

**Ridge** (:func:`ridge_test_error`, asymptotic): the downstream ridge fit with generators as
above splits *exactly* into bias + variance + a collapse term c_n·ρ (the cross terms vanish
because the chain's error is independent of the downstream data and has mean zero); the
expectations over the downstream design are replaced by their deterministic equivalents
(proportional regime d, T → ∞), in terms of the effective regularisation κ
(:func:`effective_regularization`). Under power-law spectra these give the scaling law and the
crossover of :func:`scaling_law`; :func:`optimal_ridge` tunes α for data from generation n.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq, minimize_scalar
from scipy.special import gamma

from autophagy._validation import check

ArrayLike = Any  # int | sequence of ints | np.ndarray


# -- validation helpers --------------------------------------------------------------------------
def _generations(n: ArrayLike) -> np.ndarray:
    """n as an int array (any shape) of generations >= 0."""
    arr = np.asarray(n)
    ok = arr.size > 0 and arr.dtype.kind in "iu" and bool(np.all(arr >= 0))
    check(ok, "n", "an int >= 0 or an array of them (the number of fake generations)", n)
    return arr.astype(np.int64)


def _out(values: np.ndarray, n: np.ndarray) -> float | np.ndarray:
    """A float for a scalar n, else the array (same shape as n)."""
    return float(values) if n.ndim == 0 else values


def _check_int(value: Any, key: str, low: int, why: str = "") -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low
    check(ok, key, f"an int >= {low}{why}", value)
    return int(value)


def _check_noise(noise_real: float, noise_fake: float | None) -> tuple[float, float]:
    check(_is_real(noise_real) and noise_real >= 0, "noise_real", "a finite float >= 0 (σ0, a standard deviation)", noise_real)
    if noise_fake is None:
        return float(noise_real), float(noise_real)
    check(_is_real(noise_fake) and noise_fake >= 0, "noise_fake", "a finite float >= 0 (σ, a standard deviation) or None (σ = σ0)", noise_fake)
    return float(noise_real), float(noise_fake)


def _is_real(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _check_ols_size(t: Any, dim: int, key: str, role: str) -> int:
    t = _check_int(t, key, 1)
    check(
        t > dim + 1,
        key,
        f"an int > dim + 1 = {dim + 1} ({role}: E tr (XᵀX)⁻¹ is finite only for T > d + 1)",
        t,
    )
    return t


def _chain_sizes(dim: int, t_real: int, t_fake: int) -> tuple[int, int, int]:
    d = _check_int(dim, "dim", 1)
    t0 = _check_ols_size(t_real, d, "t_real", "rows of each least-squares generator")
    t = _check_ols_size(t_fake, d, "t_fake", "rows of the least-squares downstream model")
    return d, t0, t


def _fake_variance_sum(n: np.ndarray, noise_real: float, noise_fake: float) -> np.ndarray:
    """σ0² + (n - 1)σ² for n >= 1, 0 for n = 0: the summed label-noise variance of the chain."""
    return np.where(n >= 1, noise_real**2 + (n - 1) * noise_fake**2, 0.0)


def _downstream_noise(n: np.ndarray, noise_real: float, noise_fake: float) -> np.ndarray:
    """σ0 for n = 0 (real rows), σ for n >= 1 (rows labelled by generator n)."""
    return np.where(n >= 1, noise_fake, noise_real)


# -- unregularised: replace ------------------------------------------------------------------------
def chain_test_error(
    n: ArrayLike,
    *,
    dim: int,
    t_real: int,
    t_fake: int,
    noise_real: float,
    noise_fake: float | None = None,
) -> float | np.ndarray:
    """Exact E_test of the least-squares downstream model after n fake generations (replace).

    Equation (derived here; for σ = σ0 it is the article's unregularised result, Dohmatob et al.
    2024 §4 "Exact Test Error Characterization": E_test = σ² d/(T - d - 1) + n σ0² d/(T0 - d - 1))::

        n = 0:   E_test = σ0² d/(T - d - 1)
        n ≥ 1:   E_test = σ² d/(T - d - 1) + (σ0² + (n - 1) σ²) d/(T0 - d - 1)

    Derivation: OLS on rows labelled x·w + s ε returns w + s (XᵀX)⁻¹Xᵀε, so each generation
    adds an independent zero-mean error with E‖·‖²_Σ = s² tr(Σ E(XᵀX)⁻¹) = s² d/(T - d - 1)
    (inverse-Wishart mean Σ⁻¹/(T - d - 1)). Generator 1 sees the real noise σ0, generators
    2..n and the downstream rows the fake noise σ; the errors add, so E_test grows linearly in n.

    Assumptions: Gaussian inputs N(0, Σ), any Σ (positive definite); least squares everywhere;
    T0, T > d + 1. Exact at every finite size (no asymptotics).

    Args:
        n: generations >= 0 (int or int array; 0 = downstream trained on real data).
        dim: d.
        t_real: T0, rows of each generator (generator 1: real rows).
        t_fake: T, rows of the downstream model.
        noise_real: σ0, label noise of the real data.
        noise_fake: σ, label noise of the fake generators (None: σ0).

    Returns:
        E_test, a float for scalar n or an array shaped like n.

    Raises:
        InvalidParameterError: n not a non-negative int; T0 or T <= d + 1; negative noise.

    Examples:
        >>> chain_test_error([0, 1, 2], dim=10, t_real=51, t_fake=31, noise_real=1.0).tolist()
        [0.5, 0.75, 1.0]
    """
    gens = _generations(n)
    d, t0, t = _chain_sizes(dim, t_real, t_fake)
    s0, s = _check_noise(noise_real, noise_fake)
    down = _downstream_noise(gens, s0, s) ** 2 * d / (t - d - 1)
    chain = _fake_variance_sum(gens, s0, s) * d / (t0 - d - 1)
    return _out(down + chain, gens)


# -- unregularised: accumulate ---------------------------------------------------------------------
def _accumulate_chain(gens: np.ndarray, d: int, t0: int, s0: float, s: float) -> np.ndarray:
    """E‖ŵ_n - w0‖²_Σ of the accumulated chain (0 for n = 0)."""
    top = int(gens.max()) if gens.size else 0
    k = np.arange(2, top + 1, dtype=float)
    steps = s**2 * d / (k * (k * t0 - d - 1))  # generation k's increment, k = 2..top
    cumulative = np.concatenate([[0.0, s0**2 * d / (t0 - d - 1)], s0**2 * d / (t0 - d - 1) + np.cumsum(steps)])
    return cumulative[gens]


def accumulate_test_error(
    n: ArrayLike,
    *,
    dim: int,
    t_real: int,
    t_fake: int,
    noise_real: float,
    noise_fake: float | None = None,
) -> float | np.ndarray:
    """Exact E_test of the least-squares downstream model after n accumulated generations.

    Equation (derived here)::

        n = 0:   E_test = σ0² d/(T - d - 1)
        n ≥ 1:   E_test = σ² d/(T - d - 1) + σ0² d/(T0 - d - 1) + σ² Σ_{k=2}^{n} d / (k (k T0 - d - 1))

    Derivation: generator k solves the pooled least squares ŵ_k = G_k⁻¹ Σ_{j≤k} X_jᵀy_j with
    G_k = Σ_{j≤k} X_jᵀX_j (the T0 real rows and T0 rows labelled by each ŵ_{j-1}). With
    e_k = ŵ_k - w0, G_k e_k = G_{k-1}e_{k-1} + X_kᵀX_k e_{k-1} + σ X_kᵀε_k, hence
    e_k = e_{k-1} + σ G_k⁻¹X_kᵀε_k: the fake labels add no bias, only their fresh noise. The
    increment has mean zero given the past, and since the kT0 rows of G_k are exchangeable,
    E tr(Σ G_k⁻¹X_kᵀX_kG_k⁻¹) = E tr(Σ G_k⁻¹)/k = d/(k(kT0 - d - 1)). The downstream OLS fit on
    rows of generation n adds σ² d/(T - d - 1) independently. Because
    k(kT0 - d - 1) >= k²(T0 - d - 1), each term is at most the fixed-design term of Gerstgrasser
    et al. and the sum converges (:func:`accumulate_bound`): E_test stays bounded in n.

    Assumptions: as :func:`chain_test_error` (Gaussian design, any Σ, OLS, T0, T > d + 1);
    every generation draws fresh inputs. Exact at every finite size.

    Args:
        n: generations >= 0 (int or int array).
        dim: d.
        t_real: T0, rows added per generation (generation 1: the real rows).
        t_fake: T, rows of the downstream model.
        noise_real: σ0.
        noise_fake: σ (None: σ0).

    Returns:
        E_test, a float for scalar n or an array shaped like n.

    Raises:
        InvalidParameterError: as :func:`chain_test_error`.

    Examples:
        >>> err = accumulate_test_error([1, 2], dim=10, t_real=51, t_fake=31, noise_real=1.0)
        >>> [round(float(e), 6) for e in err]  # 0.5 + 0.25, then + 10 / (2 * 91)
        [0.75, 0.804945]
    """
    gens = _generations(n)
    d, t0, t = _chain_sizes(dim, t_real, t_fake)
    s0, s = _check_noise(noise_real, noise_fake)
    down = _downstream_noise(gens, s0, s) ** 2 * d / (t - d - 1)
    return _out(down + _accumulate_chain(gens, d, t0, s0, s), gens)


def accumulate_bound(
    n: ArrayLike,
    *,
    dim: int,
    t_real: int,
    t_fake: int,
    noise_real: float,
    noise_fake: float | None = None,
    limit: bool = False,
) -> float | np.ndarray:
    """Upper bound on the accumulate E_test: the Gerstgrasser et al. (2024) Σ 1/k² law.

    Equation (Gerstgrasser, Schaeffer et al. 2024, their linear-regression analysis of
    accumulating data: the chain's error is (σ² d/(T0 - d - 1)) Σ_{k=1}^n 1/k² <=
    (π²/6) σ² d/(T0 - d - 1), obtained there with the design held fixed across generations;
    here with the real/fake noises split and the downstream fit added)::

        n ≥ 1:   bound = σ² d/(T - d - 1) + (σ0² + σ² Σ_{k=2}^{n} 1/k²) d/(T0 - d - 1)
        limit:   bound = σ² d/(T - d - 1) + (σ0² + σ² (π²/6 - 1)) d/(T0 - d - 1)   (any n ≥ 1)
        n = 0:   σ0² d/(T - d - 1)  (no fake data)

    It bounds :func:`accumulate_test_error` because k(kT0 - d - 1) >= k²(T0 - d - 1) for every
    k >= 1 (derived here). With σ = σ0 the limit is (π²/6) times the one-generation chain error,
    whereas replace (:func:`chain_test_error`) grows like n times it.

    Args:
        n: generations >= 0 (int or int array).
        dim, t_real, t_fake, noise_real, noise_fake: as :func:`accumulate_test_error`.
        limit: return the n-uniform bound (π²/6 - 1 in place of Σ_{k=2}^n 1/k²).

    Returns:
        The bound, a float for scalar n or an array shaped like n.

    Examples:
        >>> b = accumulate_bound(3, dim=10, t_real=51, t_fake=31, noise_real=1.0)
        >>> round(b, 6)  # 0.5 + 0.25 (1 + 1/4 + 1/9)
        0.840278
    """
    gens = _generations(n)
    d, t0, t = _chain_sizes(dim, t_real, t_fake)
    s0, s = _check_noise(noise_real, noise_fake)
    check(isinstance(limit, bool), "limit", "a bool", limit)
    down = _downstream_noise(gens, s0, s) ** 2 * d / (t - d - 1)
    if limit:
        tail = np.full(gens.shape, np.pi**2 / 6.0 - 1.0)
    else:
        top = int(gens.max())
        partial = np.concatenate([[0.0, 0.0], np.cumsum(1.0 / np.arange(2, top + 1, dtype=float) ** 2)])
        tail = partial[gens]
    chain = np.where(gens >= 1, (s0**2 + s**2 * tail) * d / (t0 - d - 1), 0.0)
    return _out(down + chain, gens)


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


# -- power laws ----------------------------------------------------------------------------------
def power_law_problem(dim: int, *, capacity: float, source: float) -> tuple[np.ndarray, np.ndarray]:
    """Σ's eigenvalues λ_i = i^-β and w0_i ∝ i^-δ, ‖w0‖ = 1 (the lab's ``linear`` power-law data).

    Capacity β > 0 (spectral decay) and source δ > 0 (decay of w0 in Σ's eigenbasis), as in
    :func:`autophagy.regression.linear_data.build` with ``cov: {kind: powerlaw, exponent: β}``,
    ``w0: {kind: powerlaw, exponent: δ}``.

    Returns:
        (cov_spectrum, w0), each of shape (dim,).
    """
    d = _check_int(dim, "dim", 1)
    check(_is_real(capacity) and capacity > 0, "capacity", "a finite float > 0 (a power-law spectrum i^-β needs β > 0)", capacity)
    check(_is_real(source) and source > 0, "source", "a finite float > 0 (power-law coefficients i^-δ need δ > 0)", source)
    i = np.arange(1, d + 1, dtype=float)
    w0 = i ** -float(source)
    return i ** -float(capacity), w0 / np.linalg.norm(w0)


@dataclass(frozen=True)
class ScalingLaw:
    """Leading-order E_test at the optimal ridge under power laws (:func:`scaling_law`).

    Attributes:
        t: downstream sample sizes T, shape (m,).
        bias_exponent: 2r = (β + 2δ - 1)/β: Bias ≍ κ^{2r}.
        ridge_exponent: ℓ* = β/(2rβ + 1): on clean data α* ≍ T^{-ℓ*}.
        rate: c = 2rβ/(2rβ + 1): on clean data E_test ≍ T^{-c}.
        crossover: T_× = σ²/c_n, where the fake-data term overtakes the downstream noise
            (inf for n = 0).
        floor: lim_{T→∞} E_test with n fake generations (0 for n = 0), ≍ (c_n)^c.
        kappa: optimal effective regularisation κ*(T), shape (m,).
        alpha: the α giving κ*, α = κ*(1 - df1(κ*)/T) (clipped at 0), shape (m,).
        error: optimal E_test with n fake generations, shape (m,).
        error_clean: optimal E_test on real data (n = 0), shape (m,).
    """

    t: np.ndarray
    bias_exponent: float
    ridge_exponent: float
    rate: float
    crossover: float
    floor: float
    kappa: np.ndarray
    alpha: np.ndarray
    error: np.ndarray
    error_clean: np.ndarray


def scaling_law(
    t: ArrayLike,
    *,
    capacity: float,
    source: float,
    dim: int,
    n: int = 0,
    t_real: int | None = None,
    noise_real: float,
    noise_fake: float | None = None,
) -> ScalingLaw:
    """The scaling of the optimally tuned E_test in T, without and with n fake generations.

    Regime: λ_i = i^-β, w0_i ∝ i^-δ (:func:`power_law_problem`), 0 < 2r := (β + 2δ - 1)/β < 2,
    β > 1; least-squares generators with T0 > d + 1; the effective dimension κ^{-1/β} is
    ≪ d and ≪ T (so the (1 - df2/T) factors are 1 and sums over i become integrals).

    Equation (derived here from :func:`ridge_test_error`, following the structure of the
    article's §5 "The Case of Heavy Tails (Power Law)", Thm 5.1: adaptive α = T^{-ℓ} and a
    crossover from the clean rate to a rate set by T0; the constants A, C_β are ours)::

        E_test(κ) ≃ A κ^{2r} + V κ^{-1/β},   V = (σ_n²/T + c_n) C_β,   c_n = (σ0² + (n-1)σ²)/(T0 - d - 1)
        A   = Γ(2r) Γ(2 - 2r) / (β Z),   Z = Σ_{i≤d} i^{-2δ}        (Bias ≃ A κ^{2r})
        C_β = Γ(1/β) Γ(2 - 1/β) / β                                   (df2 ≃ C_β κ^{-1/β})
        κ*  = (V / (2rβ A))^{β/(2rβ+1)},   E_test* = (1 + 2rβ) A κ*^{2r} ∝ V^{2rβ/(2rβ+1)}

    Clean data (n = 0): V = σ0² C_β/T, so E_test* ≍ T^{-2rβ/(2rβ+1)} with α* ≍ T^{-β/(2rβ+1)}
    (the classical Caponnetto-De Vito rate). With n ≥ 1 fake generations, training on T rows of
    generation n acts like clean data with noise variance σ² + T c_n: the rate T^{-c} holds for
    T ≪ T_× = σ²/c_n, then the error flattens at the floor (1 + 2rβ) A (c_n C_β/(2rβA))^{2rβ/(2rβ+1)}
    ≍ (n σ²/T0)^{c} — a (slower) rate in the real data T0 of the first generator instead of T,
    and the optimal regularisation κ* stops shrinking with T (it grows with n). In the noiseless
    limit the clean error would instead fall at the fast rate T^{-2rβ} set by the implicit
    regularisation κ ≍ T^{-β}; that regime is outside this formula (σ0 > 0 is required).

    Args:
        t: downstream sample sizes T >= 1 (int or int array).
        capacity: β > 1.
        source: δ with 1 < β + 2δ < 2β + 1.
        dim: d (normalises w0 and fixes T0 > d + 1).
        n: fake generations >= 0.
        t_real: T0 > d + 1 (required for n >= 1).
        noise_real: σ0 > 0.
        noise_fake: σ (None: σ0).

    Returns:
        The :class:`ScalingLaw`.

    Examples:
        >>> law = scaling_law([100, 1000], capacity=2.0, source=1.0, dim=500, noise_real=1.0)
        >>> law.rate, law.ridge_exponent
        (0.75, 0.5)
    """
    sizes = np.asarray(t)
    ok = sizes.size > 0 and sizes.dtype.kind in "iu" and bool(np.all(sizes >= 1))
    check(ok, "t", "an int >= 1 or an array of them (downstream sample sizes T)", t)
    sizes = np.atleast_1d(sizes).astype(float)
    d = _check_int(dim, "dim", 1)
    check(_is_real(capacity) and capacity > 1, "capacity", "a finite float > 1 (the power-law rates need a summable spectrum, Σ i^-β < ∞)", capacity)
    beta = float(capacity)
    check(_is_real(source) and source > 0, "source", "a finite float > 0 (power-law coefficients i^-δ need δ > 0)", source)
    delta = float(source)
    two_r = (beta + 2 * delta - 1) / beta
    check(
        0 < two_r < 2,
        "source",
        f"a float in ({max(0.0, (1 - beta) / 2)}, {(beta + 1) / 2}) for capacity {beta} "
        "(the bias exponent 2r = (β + 2δ - 1)/β must lie in (0, 2))",
        source,
    )
    check(np.ndim(n) == 0, "n", "a single int >= 0", n)
    gens = int(_generations(n))
    s0, s = _check_noise(noise_real, noise_fake)
    check(s0 > 0, "noise_real", "a float > 0 (the noiseless rate T^-2rβ is set by the implicit regularisation, outside this formula)", noise_real)
    if gens >= 1:
        check(t_real is not None, "t_real", "an int > dim + 1 when n >= 1 (rows of each generator)", t_real)
        t0 = _check_ols_size(t_real, d, "t_real", "rows of each least-squares generator")
        c_n = (s0**2 + (gens - 1) * s**2) / (t0 - d - 1)
        noise_n = s
    else:
        c_n, noise_n = 0.0, s0
    i = np.arange(1, d + 1, dtype=float)
    z = float(np.sum(i ** (-2 * delta)))
    a = float(gamma(two_r) * gamma(2 - two_r) / (beta * z))
    c_beta = float(gamma(1 / beta) * gamma(2 - 1 / beta) / beta)
    exponent = two_r * beta / (two_r * beta + 1)

    def optimum(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kappa = (v / (two_r * beta * a)) ** (beta / (two_r * beta + 1))
        return kappa, (1 + two_r * beta) * a * kappa**two_r

    kappa, error = optimum((noise_n**2 / sizes + c_n) * c_beta)
    _, error_clean = optimum(s0**2 / sizes * c_beta)
    lam = i**-beta
    df1 = np.array([_df(lam, float(k))[0] for k in kappa])
    alpha = np.maximum(kappa * (1 - df1 / sizes), 0.0)
    floor = float(optimum(np.asarray(c_n * c_beta))[1]) if gens >= 1 else 0.0
    crossover = noise_n**2 / c_n if gens >= 1 and c_n > 0 else float("inf")
    return ScalingLaw(
        t=sizes,
        bias_exponent=two_r,
        ridge_exponent=beta / (two_r * beta + 1),
        rate=exponent,
        crossover=float(crossover),
        floor=floor,
        kappa=kappa,
        alpha=alpha,
        error=error,
        error_clean=error_clean,
    )
