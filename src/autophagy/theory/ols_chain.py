"""Exact test error of least squares trained on a fake-data chain: replace, accumulate, bound.

Dohmatob, Feng & Kempe (2024) §4 for the replace chain (:func:`chain_test_error`, error linear
in n); the pooled fit of Gerstgrasser, Schaeffer et al. (2024) for accumulate
(:func:`accumulate_test_error`, bounded in n) and its Σ 1/k² bound (:func:`accumulate_bound`).
Setting and notation: :mod:`autophagy.theory.regression`. Every result is exact at every finite
size for Gaussian design and any Σ (whitening reduces it to the isotropic case) and rests on
E (XᵀX)⁻¹ = Σ⁻¹/(T - d - 1) for T Gaussian rows, finite only for T > d + 1.
"""

from __future__ import annotations

import numpy as np

from autophagy._validation import check
from autophagy.theory._chain_args import (
    ArrayLike,
    _chain_sizes,
    _check_noise,
    _downstream_noise,
    _fake_variance_sum,
    _generations,
    _out,
)


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
