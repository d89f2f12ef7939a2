"""autophagy.theory.web: Gaussian lineages in a FIFO pool against its special cases, its own
fixed point, and a small NumPy simulation of the web written here (no web engine imported)."""

from __future__ import annotations

import numpy as np
import pytest

from autophagy._rng import stream
from autophagy.exceptions import InvalidParameterError
from autophagy.theory import (
    expected_distance,
    fresh_limit,
    human_share_for,
    predict,
    web_fixed_point,
    web_moments,
)


def simulate(*, reps, gens, lineages, n, m, h, size, dim, bias, ddof, seed):
    """``reps`` independent webs from a pool of ``size`` human N(0, I_d) items, in the order of
    autophagy.loops.web: h human arrivals (or h[t] at generation t + 1), L uniform draws of n without replacement, fits,
    m published items per lineage (lineage by lineage), FIFO back to ``size``.

    Returns:
        shape (4, reps, gens): per generation the lineage average of ‖μ_ℓ‖², tr Σ_ℓ (fitted)
        and W₂²(N(μ_ℓ, λΣ_ℓ), N(0, I)), and the pool's human share after eviction.
    """
    rng = stream(seed, 0, "synthetic")
    pool, human = rng.standard_normal((reps, size, dim)), np.ones((reps, size), bool)
    out = np.zeros((4, reps, gens))
    arrivals = list(h) if isinstance(h, list) else [h] * gens
    for t in range(gens):
        x = np.concatenate([pool, rng.standard_normal((reps, arrivals[t], dim))], axis=1)
        human = np.concatenate([human, np.ones((reps, arrivals[t]), bool)], axis=1)
        rows = np.argpartition(rng.random((reps, lineages, x.shape[1])), n - 1, axis=-1)[..., :n]
        drawn = np.take_along_axis(x[:, None], rows[..., None], axis=2)  # (R, L, n, d)
        mean = drawn.mean(axis=2)
        centred = drawn - mean[:, :, None]
        cov = np.einsum("rlni,rlnj->rlij", centred, centred) / (n - ddof)
        eig, vec = np.linalg.eigh(bias * cov)
        eig = np.clip(eig, 0.0, None)
        noise = np.einsum("rlij,rlmj->rlmi", vec * np.sqrt(eig)[..., None, :], rng.standard_normal((reps, lineages, m, dim)))
        published = (mean[:, :, None] + noise).reshape(reps, lineages * m, dim)
        mse = (mean**2).sum(-1)
        out[0, :, t] = mse.mean(1)
        out[1, :, t] = np.trace(cov, axis1=2, axis2=3).mean(1)
        out[2, :, t] = (mse + eig.sum(-1) + dim - 2.0 * np.sqrt(eig).sum(-1)).mean(1)  # truth N(0, I): σ = 1
        pool = np.concatenate([x, published], axis=1)[:, -size:]
        human = np.concatenate([human, np.zeros((reps, lineages * m), bool)], axis=1)[:, -size:]
        out[3, :, t] = human.mean(1)
    return out


@pytest.mark.parametrize("estimator", ["mle", "unbiased"])
@pytest.mark.parametrize("bias", [1.0, 0.8])
def test_one_lineage_that_trains_on_the_whole_pool_is_mads_fresh_limit(estimator, bias):
    """L = 1, N = m = n_s, h = n_r, n = n_r + n_s: the fresh-data loop (exact, to rounding)."""
    n_r, n_s = 30, 70
    web = web_fixed_point(n_r / (n_r + n_s), n_r + n_s, n_s, n_s, lineages=1, trace=3.0, dim=2, bias=bias, estimator=estimator)
    fresh = fresh_limit(n_r, n_s, trace=3.0, bias=bias, estimator=estimator)
    assert web.mean_sq_error == pytest.approx(fresh.mean_sq_error, rel=1e-12)
    assert web.cov_trace == pytest.approx(fresh.cov_trace, rel=1e-12)


def test_the_recursion_settles_on_the_fixed_point():
    """A pool holding 2.5 generations of arrivals (a FIFO cut inside a human block)."""
    L, m, h, size = 10, 50, 50, 1375  # p = 50 / 550, N = 2.5 a
    curve = web_moments(400, h, 50, m, size, lineages=L, trace=2.0, estimator="mle", bias=0.9, dim=2)
    fixed = web_fixed_point(h / (h + L * m), 50, m, size, lineages=L, trace=2.0, dim=2, estimator="mle", bias=0.9)
    assert curve.mean_sq_error[-1] == pytest.approx(fixed.mean_sq_error, rel=1e-9)
    assert curve.cov_trace[-1] == pytest.approx(fixed.cov_trace, rel=1e-9)
    assert curve.w2[-1] == pytest.approx(fixed.w2, rel=1e-6)
    assert curve.pool_human_share[-1] == pytest.approx(fixed.pool_human_share, rel=1e-12)


def test_an_all_human_web_is_one_fit_on_n_real_samples():
    """p = 1: every draw is n human items, so E W₂² is expected_distance(n) (same draws)."""
    fixed = web_fixed_point(1.0, 40, 10, 500, lineages=5, trace=4.0, dim=4)
    assert fixed.mean_sq_error == pytest.approx(4.0 / 40) and fixed.cov_trace == pytest.approx(4.0)
    assert fixed.w2 == pytest.approx(expected_distance(40, 4).value, rel=1e-9)
    first = web_moments(1, 25, 40, 10, 500, lineages=5, trace=4.0, dim=4)  # generation 1 draws human data only
    assert first.w2[0] == pytest.approx(fixed.w2, rel=1e-9) and first.mean_sq_error[0] == pytest.approx(0.1)


# p = h / (h + L m) with L m = 180 and N = 2 (h + L m); λ < 1 once, both estimators.
SETTINGS = [(0.1, 20, 1.0, "unbiased"), (0.25, 60, 1.0, "mle"), (0.7, 420, 0.8, "unbiased")]
#: 11 comparisons per setting and seed: |z| < 4.6 (two-sided 4.2e-6 each) keeps the chance that
#: any of them fails by Monte-Carlo error alone below 5e-5, and below 0.02 over the 300 runs of
#: AUTOPHAGY_ALL_SEEDS=1 (Bonferroni).
Z = 4.6


@pytest.mark.parametrize(("p", "h", "bias", "estimator"), SETTINGS)
def test_the_moments_match_a_simulated_web(p, h, bias, estimator, global_seed):
    """E‖μ_ℓ - μ‖² and E tr Σ_ℓ are exact: the simulation's mean over 200 independent webs is
    within Z standard errors at generations 1, 5, 20, 40 and over generations 21..40 (each
    web's window average is one draw; the webs are independent, the generations are not)."""
    L, m, n, d = 9, 20, 20, 2
    size = 2 * (h + L * m)
    sim = simulate(reps=200, gens=40, lineages=L, n=n, m=m, h=h, size=size, dim=d, bias=bias,
                   ddof=0 if estimator == "mle" else 1, seed=1000 + global_seed)
    curve = web_moments(40, h, n, m, size, lineages=L, trace=float(d), bias=bias, estimator=estimator, dim=d)
    fixed = web_fixed_point(p, n, m, size, lineages=L, trace=float(d), dim=d, bias=bias, estimator=estimator)
    np.testing.assert_allclose(sim[3].mean(0), curve.pool_human_share)  # deterministic under FIFO
    assert fixed.pool_human_share == pytest.approx(p)
    for k, theory in ((0, curve.mean_sq_error), (1, curve.cov_trace)):
        for t in (0, 4, 19, 39):
            values = sim[k, :, t]
            assert abs(values.mean() - theory[t]) < Z * values.std(ddof=1) / np.sqrt(len(values)), (k, t)
        window = sim[k, :, 20:].mean(1)
        assert abs(window.mean() - theory[20:].mean()) < Z * window.std(ddof=1) / np.sqrt(len(window)), k
    # W₂ is an approximation (Gaussian fourth moments; the theory module's docstring states up
    # to ~4 % low when the pool is mostly synthetic): its Monte-Carlo error plus 5 %.
    window = sim[2, :, 20:].mean(1)
    gap = abs(window.mean() - curve.w2[20:].mean())
    assert gap < Z * window.std(ddof=1) / np.sqrt(len(window)) + 0.05 * curve.w2[20:].mean()


def test_a_falling_human_share_matches_a_simulated_web(global_seed):
    """h_t falling linearly from 200 to 0 over 30 generations (the schedule path): the exact
    moments within Z standard errors of 200 simulated webs at generations 5, 15, 30 (6
    comparisons, so a smaller family than Z was set for)."""
    from autophagy.loops.web import Schedule

    L, m, n, d, size, gens = 9, 20, 20, 2, 400, 30
    humans = [Schedule(kind="linear", start=200, to=0).at(t, gens) for t in range(1, gens + 1)]
    sim = simulate(reps=200, gens=gens, lineages=L, n=n, m=m, h=humans, size=size, dim=d, bias=0.9, ddof=1, seed=2000 + global_seed)
    curve = web_moments(gens, [float(x) for x in humans], n, m, size, lineages=L, trace=float(d), bias=0.9, dim=d)
    np.testing.assert_allclose(sim[3].mean(0), curve.pool_human_share)
    for k, theory in ((0, curve.mean_sq_error), (1, curve.cov_trace)):
        for t in (4, 14, 29):
            values = sim[k, :, t]
            assert abs(values.mean() - theory[t]) < Z * values.std(ddof=1) / np.sqrt(len(values)), (k, t)


def test_a_constant_schedule_is_the_constant_recursion():
    """The general (schedule) path against the stationary-geometry one, to rounding."""
    for h, n, m, size, lineages in ((60, 20, 20, 480, 9), (50, 50, 50, 1375, 10), (0, 20, 10, 300, 3)):
        one = web_moments(25, h, n, m, size, lineages=lineages, trace=2.0, bias=0.9, estimator="mle", dim=2)
        many = web_moments(25, [float(h)] * 25, n, m, size, lineages=lineages, trace=2.0, bias=0.9, estimator="mle", dim=2)
        for a, b in ((one.mean_sq_error, many.mean_sq_error), (one.cov_trace, many.cov_trace), (one.w2, many.w2)):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(one.pool_human_share, many.pool_human_share, rtol=0, atol=1e-15)


def test_the_human_share_for_an_error_is_where_the_error_crosses_it():
    kw = {"lineages": 20, "dim": 4, "bias": 0.9}
    answer = human_share_for(0.3, 50, 50, 4000, **kw)
    below = [p for p, value, _ in answer.table if value <= 0.3]
    assert below and answer.share <= min(below)
    at = web_fixed_point(answer.share, 50, 50, 4000, trace=4.0, **kw).w2
    before = web_fixed_point(answer.share - 1e-3, 50, 50, 4000, trace=4.0, **kw).w2
    assert at <= 0.3 < before
    errors = [value for _, value, _ in answer.table]
    assert all(np.diff(errors) < 0)  # more human data, less error
    with pytest.raises(InvalidParameterError, match=r"The 'epsilon' parameter must be >= .*p = 1\)\. Got 0\.01 instead\."):
        human_share_for(0.01, 50, 50, 4000, **kw)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: web_fixed_point(0.0, 50, 50, 1000, lineages=2, trace=1.0, dim=1), "The 'p' parameter must be a human share in (0, 1]"),
        (lambda: web_fixed_point(0.5, 50, 5, 10, lineages=1, trace=1.0, dim=1), "The 'n_train' parameter must be <= pool_size + human_per_generation"),
        (lambda: web_fixed_point(0.5, 50, 50, 1000, lineages=2, trace=1.0, dim=50), "The 'dim' parameter must be an int in [1, n_train = 50)"),
        (lambda: web_moments(5, 10, 50, 50, 1000, lineages=2, trace=1.0, bias=1.5), "The 'bias' parameter must be in (0, 1]"),
    ],
)
def test_bad_input_names_the_key(call, message):
    with pytest.raises(InvalidParameterError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("+", r"\+")):
        call()


WEB = {
    "name": "web", "generations": 12, "data": {"kind": "gaussian", "dim": 4},
    "metrics": ["gaussian_w2", "cov_trace", "mean_sq_error"],
    "web": {
        "lineages": [{"generator": {"kind": "gaussian", "estimator": "unbiased", "bias": 0.9}, "count": 6, "n_train": 40, "publish": 30}],
        "pool": {"size": 800, "human_per_generation": 60},
    },
}


def test_predict_gives_a_web_its_recursion():
    gens = np.arange(1, 13)
    curve = web_moments(12, 60, 40, 30, 800, lineages=6, trace=4.0, bias=0.9, estimator="unbiased", dim=4)
    np.testing.assert_allclose(predict(WEB, "cov_trace", gens), 0.9 * curve.cov_trace)  # the sampling covariance λ Σ_ℓ
    np.testing.assert_allclose(predict(WEB, "mean_sq_error", gens), curve.mean_sq_error)
    np.testing.assert_allclose(predict(WEB, "gaussian_w2", gens), curve.w2)
    np.testing.assert_allclose(predict(WEB, "pool_human_share", gens), curve.pool_human_share)
    assert predict(WEB, "frechet", gens) is None
    falling = {**WEB, "web": {**WEB["web"], "pool": {"size": 800, "human_per_generation": {"kind": "linear", "from": 100, "to": 0}}}}
    humans = [100 - 100 * (t - 1) / 11 for t in gens]
    curve = web_moments(12, [float(np.floor(x + 0.5)) for x in humans], 40, 30, 800, lineages=6, trace=4.0, bias=0.9, dim=4)
    np.testing.assert_allclose(predict(falling, "gaussian_w2", gens), curve.w2)
    np.testing.assert_allclose(predict(falling, "pool_human_share", gens), curve.pool_human_share)


@pytest.mark.parametrize(
    "change",
    [
        lambda w: w["pool"].update(eviction="uniform"),
        lambda w: w.update(draw={"kind": "provenance_weighted", "human_weight": 3.0}),
        lambda w: w["lineages"].append({"generator": {"kind": "gaussian"}, "count": 2, "n_train": 40, "publish": 30}),  # another λ, estimator
        lambda w: w["lineages"][0].update(generator={"kind": "gmm"}),
    ],
)
def test_predict_has_no_web_curve_outside_the_closed_form(change):
    import copy

    config = {**copy.deepcopy(WEB), "metrics": ["mean_sq_error"]}  # a metric every family serves
    change(config["web"])
    assert predict(config, "mean_sq_error", np.arange(1, 4)) is None
