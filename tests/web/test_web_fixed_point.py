"""The web engine against the web's fixed-point theory (autophagy.theory.web_fixed_point).

tests/theory/test_web_theory.py checks the theory against a simulator written in the test; this
checks the batched web engine itself (the rows ``autophagy.run`` writes) against it, for three
human shares p of the arrivals."""

from __future__ import annotations

import numpy as np
import pytest

import autophagy
from autophagy.theory import web_fixed_point, web_moments

L, M, N, D, GENS, REPS = 9, 20, 20, 2, 30, 50
#: the window of generations where the pool has forgotten its all-human start (checked below)
WINDOW = slice(15, GENS)
#: 3 metrics x 3 settings: |z| < 4 (two-sided 6.3e-5 each) keeps a failure by Monte-Carlo error
#: alone below 6e-4 per run of the module.
Z = 4.0


def web_config(p: float, h: int, bias: float, estimator: str, seed: int) -> dict:
    return {
        "name": f"web-fixed-point-{p}",
        "seed": seed,
        "generations": GENS,
        "repeats": REPS,
        "data": {"kind": "gaussian", "dim": D},
        "metrics": ["gaussian_w2", "cov_trace", "mean_sq_error"],
        "eval": {"n_samples": 100},  # the pool's recall / coverage (not checked here) stay cheap
        "web": {
            "lineages": [{"generator": {"kind": "gaussian", "estimator": estimator, "bias": bias}, "count": L, "n_train": N, "publish": M}],
            "pool": {"size": 2 * (h + L * M), "human_per_generation": h, "eviction": "fifo"},
        },
    }


@pytest.mark.parametrize(("p", "h", "bias", "estimator"), [(0.25, 60, 1.0, "mle"), (0.4, 120, 1.0, "unbiased"), (0.7, 420, 0.8, "unbiased")])
def test_the_engine_settles_on_the_fixed_point(p, h, bias, estimator, global_seed):
    """Each of REPS independent webs (the repeats) averages its lineages over the window: one
    draw per web. The mean of those draws is within Z standard errors of the fixed point for
    E‖μ_ℓ - μ‖² and E tr λΣ_ℓ (exact second moments); E W₂² is the theory's approximation (Gaussian
    fourth moments, up to ~4 % low when most of the pool is synthetic): Z standard errors plus 5 %."""
    size = 2 * (h + L * M)
    assert h / (h + L * M) == pytest.approx(p)
    fixed = web_fixed_point(p, N, M, size, lineages=L, trace=float(D), dim=D, bias=bias, estimator=estimator)
    curve = web_moments(GENS, h, N, M, size, lineages=L, trace=float(D), bias=bias, estimator=estimator, dim=D)
    # in the window the expected moments are the fixed point's (to 0.2 %, far below the Monte-Carlo error)
    np.testing.assert_allclose(curve.mean_sq_error[WINDOW], fixed.mean_sq_error, rtol=2e-3)
    np.testing.assert_allclose(curve.cov_trace[WINDOW], fixed.cov_trace, rtol=2e-3)

    rows = autophagy.run(web_config(p, h, bias, estimator, 100 + global_seed), out=None).metrics
    share = rows[(rows.lineage == -1) & (rows.metric == "pool_human_share")].groupby("generation").value
    np.testing.assert_allclose(share.min().to_numpy(), share.max().to_numpy())  # FIFO: the share is deterministic
    assert share.mean().to_numpy()[-1] == pytest.approx(fixed.pool_human_share)
    window = rows[(rows.lineage >= 0) & (rows.generation > WINDOW.start)]
    assert window.seed.nunique() == REPS and window.lineage.nunique() == L
    expected = {"mean_sq_error": fixed.mean_sq_error, "cov_trace": bias * fixed.cov_trace, "gaussian_w2": fixed.w2}
    for metric, theory in expected.items():
        per_web = window[window.metric == metric].groupby("seed").value.mean()
        bound = Z * np.hypot(per_web.std(ddof=1) / np.sqrt(REPS), fixed.w2_stderr if metric == "gaussian_w2" else 0.0)
        if metric == "gaussian_w2":
            bound += 0.05 * theory
        assert abs(per_web.mean() - theory) < bound, (metric, per_web.mean(), theory, bound)
