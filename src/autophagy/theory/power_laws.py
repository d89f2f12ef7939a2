"""Scaling laws of the optimally tuned ridge under power-law spectra, with and without fake data.

Σ's eigenvalues λ_i = i^-β (capacity β) and w0_i ∝ i^-δ (source δ): :func:`power_law_problem`,
the lab's ``linear`` power-law data. :func:`scaling_law` (:class:`ScalingLaw`) gives the
leading order of the optimal E_test of
:func:`~autophagy.theory.ridge_collapse.ridge_test_error` in T: the clean rate T^{-2rβ/(2rβ+1)}
and, with n fake generations, the crossover at T_× = σ²/c_n to a floor set by the first
generator's T0 (after Dohmatob, Feng & Kempe 2024 §5, Thm 5.1). Setting and notation:
:mod:`autophagy.theory.regression`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gamma

from autophagy._validation import check
from autophagy.theory._chain_args import (
    ArrayLike,
    _check_int,
    _check_noise,
    _check_ols_size,
    _generations,
    _is_real,
)
from autophagy.theory.ridge_collapse import _df


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
