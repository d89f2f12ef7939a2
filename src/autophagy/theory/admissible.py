"""How much synthetic data is safe? The effective sample size of the fresh-data loop (MAD §5).

The fresh-data loop trains generation t on n_r fresh real samples plus n_s samples drawn with
bias λ from G^{t-1}. It converges to a limit whatever it starts from (MAD §5;
:func:`~autophagy.theory.gaussian.fresh_limit`). Following the article, the quality of that limit
is the expected distance of the fitted Gaussian to the real distribution,

    D_∞(n_r, n_s, λ) = lim_t E W₂²(N(μ_t, Σ_t), P_r),

and the **effective sample size** n_e is the number of purely real samples whose fit has the
same expected distance, :func:`expected_distance` (n_e) = D_∞. Synthetic data is *admissible*
while n_e / n_r >= 1: it then acts like extra real data instead of displacing it.

Both distances are for P_r = N(0, I_d). W₂² scales with σ² under Σ = σ² I, so n_e does not depend
on σ; for other covariances the distance changes and so may n_e.

How it is computed (Monte Carlo only where no closed form exists):
  * E W₂² = E‖μ̂ - μ‖² + d + E tr Σ̂ - 2 E tr Σ̂^{1/2}. The first and third terms are exact
    (:func:`~autophagy.theory.gaussian.moment_recursion`); only E tr Σ̂^{1/2} is estimated.
  * For one fit on n real samples, Σ̂ = W / (n - δ) with W ~ Wishart_d(n - 1, I): drawn by the
    Bartlett decomposition from a fixed set of uniforms and normals (common random numbers, so
    the estimate is a smooth function of n that can be inverted), with tr W and tr W² as control
    variates (their means k d and k d (k + d + 1) are exact, k = n - 1).
  * For the loop's limit, the exact engine (:mod:`autophagy.exact`) runs the loop on sufficient
    statistics for R repeats, discards a burn-in of log(10⁻⁴)/log ρ generations (ρ: the
    contraction rate of the moment map) and averages tr Σ_t^{1/2} over a window per repeat, with
    the window average of tr Σ_t (exact mean) as control variate. The standard error is over the
    independent repeats.
  * The standard error of n_e is the delta method: se(D_∞) / |dD/dn| at n_e.

Where it lives (this module re-exports every public name): the Monte-Carlo distances
(:func:`expected_distance`, :func:`limit_distance`) in :mod:`autophagy.theory.wasserstein`;
n_e and the admissible amount of synthetic data in :mod:`autophagy.theory.effective_size`;
the phase diagram in :mod:`autophagy.theory.phase_grid`.
"""

from autophagy.theory.effective_size import (
    Admissibility,
    EffectiveSize,
    admissible_synthetic,
    default_grid,
    effective_sample_size,
)
from autophagy.theory.phase_grid import PhaseDiagram, phase_diagram
from autophagy.theory.wasserstein import Estimate, expected_distance, limit_distance

__all__ = [
    "Admissibility",
    "EffectiveSize",
    "Estimate",
    "PhaseDiagram",
    "admissible_synthetic",
    "default_grid",
    "effective_sample_size",
    "expected_distance",
    "limit_distance",
    "phase_diagram",
]
