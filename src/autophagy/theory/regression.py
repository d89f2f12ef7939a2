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

Where it lives (this module re-exports every public name): the argument checks and noise bookkeeping
in :mod:`autophagy.theory._chain_args`; the exact least-squares chains and the accumulate bound
in :mod:`autophagy.theory.ols_chain`; the ridge deterministic equivalents and the optimal ridge
in :mod:`autophagy.theory.ridge_collapse`; the power-law scaling laws in
:mod:`autophagy.theory.power_laws`.
"""

from autophagy.theory._chain_args import ArrayLike
from autophagy.theory.ols_chain import accumulate_bound, accumulate_test_error, chain_test_error
from autophagy.theory.power_laws import ScalingLaw, power_law_problem, scaling_law
from autophagy.theory.ridge_collapse import (
    RidgeTestError,
    effective_regularization,
    optimal_ridge,
    ridge_test_error,
)

__all__ = [
    "ArrayLike",
    "RidgeTestError",
    "ScalingLaw",
    "accumulate_bound",
    "accumulate_test_error",
    "chain_test_error",
    "effective_regularization",
    "optimal_ridge",
    "power_law_problem",
    "ridge_test_error",
    "scaling_law",
]
