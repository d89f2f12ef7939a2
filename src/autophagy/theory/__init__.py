"""Closed forms and calculators that predict what self-consuming loops do.

Gaussian loops (:mod:`.gaussian`): exact moment recursions for every loop kind, Shumailov's
collapse laws, the fresh-data limit. The effective sample size and the admissible amount of
synthetic data (:mod:`.admissible`: the Monte-Carlo distances in :mod:`.wasserstein`, n_e and
the admissible n_s in :mod:`.effective_size`, the (λ, n_s) grid in :mod:`.phase_grid`). Linear
regression on fake-data chains (:mod:`.regression`: the exact least-squares chains in
:mod:`.ols_chain`, the ridge and its optimal α in :mod:`.ridge_collapse`, the power-law scaling
laws in :mod:`.power_laws`). Mitigated Gaussian loops (:mod:`.mitigation`: rejection, threshold
by self-likelihood, exact self-correction). Gaussian lineages in a polluted web (:mod:`.web`:
the pool's and the lineages' moments, their fixed point, the human share that keeps the error
below ε). :func:`predict` gives the theory curve of a run's metric where one
exists (the report draws it over the measurement).
"""

from autophagy.theory.admissible import (
    Admissibility,
    EffectiveSize,
    Estimate,
    PhaseDiagram,
    admissible_synthetic,
    effective_sample_size,
    expected_distance,
    limit_distance,
    phase_diagram,
)
from autophagy.theory.curves import predict
from autophagy.theory.gaussian import (
    FreshLimit,
    MomentCurve,
    expected_log_det,
    fresh_limit,
    fresh_map,
    log_det_drift,
    log_det_variance,
    moment_recursion,
)
from autophagy.theory.mitigation import (
    CorrectedCurve,
    kept_truncation_factor,
    rejection_moments,
    self_correct_moments,
    threshold_moments,
    truncation_factor,
)
from autophagy.theory.regression import (
    RidgeTestError,
    ScalingLaw,
    accumulate_bound,
    accumulate_test_error,
    chain_test_error,
    effective_regularization,
    optimal_ridge,
    power_law_problem,
    ridge_test_error,
    scaling_law,
)
from autophagy.theory.web import (
    HumanShare,
    WebCurve,
    WebFixedPoint,
    human_share_for,
    web_fixed_point,
    web_moments,
)

__all__ = [
    "Admissibility",
    "EffectiveSize",
    "Estimate",
    "PhaseDiagram",
    "admissible_synthetic",
    "effective_sample_size",
    "expected_distance",
    "limit_distance",
    "phase_diagram",
    "predict",
    "FreshLimit",
    "MomentCurve",
    "expected_log_det",
    "fresh_limit",
    "fresh_map",
    "log_det_drift",
    "log_det_variance",
    "moment_recursion",
    "CorrectedCurve",
    "kept_truncation_factor",
    "rejection_moments",
    "self_correct_moments",
    "threshold_moments",
    "truncation_factor",
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
    "HumanShare",
    "WebCurve",
    "WebFixedPoint",
    "human_share_for",
    "web_fixed_point",
    "web_moments",
]
