"""The regression closed forms of :mod:`autophagy.theory.regression` against brute-force simulation.

Every statistical check compares a Monte-Carlo mean with its prediction as
``|mean - theory| < z · SE (+ allowance · |theory|)``. ``z`` is Bonferroni-corrected over the
comparisons of one test call so that the call fails falsely with probability at most ``ALPHA``
(normal approximation of the mean of >= 600 independent repeats; the excess risks have finite
variance because T0, T > d + 3). ``ALPHA = 1e-5`` (<= 1e-4 per call, and small enough that an
``AUTOPHAGY_ALL_SEEDS=1`` run of the ~1,000 statistical calls here stays at ~1 % false failures).

The least-squares formulas are exact, so they get no allowance. The ridge formula is asymptotic
(deterministic equivalents, proportional regime): it is compared at d = 50 with an added
finite-size allowance (see ``RIDGE_ALLOWANCE``).
"""

import math

import numpy as np
import pytest
from scipy.stats import norm

import autophagy
from autophagy.exceptions import InvalidParameterError
from autophagy.theory import (
    accumulate_bound,
    accumulate_test_error,
    chain_test_error,
    effective_regularization,
    optimal_ridge,
    power_law_problem,
    ridge_test_error,
    scaling_law,
)

ALPHA = 1e-5  # false-failure probability of one statistical test call

#: Finite-size allowance of the ridge comparisons, relative to the prediction. Measured once
#: (60,000 repeats per configuration, d = 50, T0 = T = 100, the configurations of
#: ``test_ridge_parts_match_simulation``): the largest gap between the simulated mean and the
#: deterministic equivalent was 1.3 % (the bias at α = 0.05 on the power-law spectrum; variance
#: <= 0.1 %, collapse term <= 0.2 %, total <= 0.6 %; isotropic α = 0.5: bias 1.05 %). The
#: equivalents' error is O(1/d) — at α = 0 it is exactly T - d vs T - d - 1, 2 % here — so 3 %
#: leaves a 2x margin while a wrong formula (e.g. ρ = df2 without its correction, 20 % off at
#: α = 0.05) still fails.
RIDGE_ALLOWANCE = 0.03


def z_bonferroni(comparisons, alpha=ALPHA):
    """Two-sided normal quantile for ``comparisons`` tests at family-wise level ``alpha``."""
    return float(norm.isf(alpha / (2 * comparisons)))


def assert_mean_matches(samples, theory, z, allowance=0.0, label=""):
    """Column means of ``samples`` (R, m) within z·SE + allowance·|theory| of ``theory`` (m,)."""
    samples = np.atleast_2d(np.asarray(samples, dtype=float).T).T
    theory = np.atleast_1d(np.asarray(theory, dtype=float))
    mean = samples.mean(axis=0)
    se = samples.std(axis=0, ddof=1) / math.sqrt(samples.shape[0])
    tolerance = z * se + allowance * np.abs(theory)
    gap = np.abs(mean - theory)
    assert np.all(gap < tolerance), (
        f"{label}: simulated {mean} vs theory {theory}; |gap| {gap} >= tolerance {tolerance} (z = {z:.2f})"
    )


# -- brute-force simulation ----------------------------------------------------------------------
def correlated_problem(d, rng):
    """A non-diagonal Σ (random rotation of eigenvalues in [0.2, 3]) and a unit-norm w0."""
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (q * np.linspace(0.2, 3.0, d)) @ q.T
    w0 = rng.standard_normal(d)
    return cov, np.linalg.cholesky(cov), w0 / np.linalg.norm(w0)


def draw_inputs(rng, repeats, rows, chol):
    """(repeats, rows, d) inputs x ~ N(0, Σ) with Σ = chol cholᵀ."""
    return rng.standard_normal((repeats, rows, chol.shape[0])) @ chol.T


def label(rng, x, w, noise):
    """y = x·w + noise·ε for inputs (R, T, d) and coefficients (R, d) or (d,)."""
    w = np.broadcast_to(w, (x.shape[0], x.shape[2]))
    return np.einsum("rtd,rd->rt", x, w) + noise * rng.standard_normal(x.shape[:2])


def gram(x, y):
    """(XᵀX, Xᵀy) per repeat: (R, d, d), (R, d)."""
    xt = x.transpose(0, 2, 1)
    return xt @ x, (xt @ y[..., None])[..., 0]


def solve(g, b):
    return np.linalg.solve(g, b[..., None])[..., 0]


def excess_risk(w, w0, cov):
    gap = w - w0
    return np.einsum("ri,ij,rj->r", gap, cov, gap)


def simulate_ols(kind, *, generations, t0, t, s0, s, repeats, rng, cov, chol, w0):
    """Excess risk of the least-squares downstream model, shape (repeats, generations + 1).

    Column n: downstream OLS on T fresh rows labelled by generation n (+ noise σ), column 0 on T
    real rows (+ σ0). ``replace``: generator k fits T0 fresh rows labelled by generator k-1.
    ``accumulate``: generator k fits all rows so far (the T0 real rows and T0 rows labelled by each
    earlier generator, the latest by generator k-1).
    """
    risks = np.empty((repeats, generations + 1))

    def downstream(w, noise):
        x = draw_inputs(rng, repeats, t, chol)
        return excess_risk(solve(*gram(x, label(rng, x, w, noise))), w0, cov)

    risks[:, 0] = downstream(w0, s0)
    x = draw_inputs(rng, repeats, t0, chol)
    g, b = gram(x, label(rng, x, w0, s0))
    w = solve(g, b)
    risks[:, 1] = downstream(w, s)
    for k in range(2, generations + 1):
        x = draw_inputs(rng, repeats, t0, chol)
        g_k, b_k = gram(x, label(rng, x, w, s))
        g, b = (g + g_k, b + b_k) if kind == "accumulate" else (g_k, b_k)
        w = solve(g, b)
        risks[:, k] = downstream(w, s)
    return risks


OLS = {"dim": 10, "t_real": 40, "t_fake": 30, "noise_real": 1.0}


# -- 1. least squares: replace and accumulate are exact --------------------------------------------
@pytest.mark.parametrize("kind", ["replace", "accumulate"])
@pytest.mark.parametrize("noise_fake", [None, 0.5])
def test_ols_chain_matches_simulation(kind, noise_fake, global_seed):
    """chain_test_error / accumulate_test_error against the simulated chain, non-diagonal Σ."""
    rng = np.random.default_rng([11, global_seed])
    cov, chol, w0 = correlated_problem(OLS["dim"], rng)
    generations = 6
    sim = simulate_ols(
        kind, generations=generations, t0=OLS["t_real"], t=OLS["t_fake"], s0=OLS["noise_real"],
        s=OLS["noise_real"] if noise_fake is None else noise_fake, repeats=3000, rng=rng,
        cov=cov, chol=chol, w0=w0,
    )
    formula = chain_test_error if kind == "replace" else accumulate_test_error
    theory = formula(np.arange(generations + 1), noise_fake=noise_fake, **OLS)
    assert_mean_matches(sim, theory, z_bonferroni(generations + 1), label=kind)


def test_accumulate_stays_bounded_while_replace_grows(global_seed):
    """Accumulate stays below the π²/6 bound; replace grows linearly past it (σ = σ0).

    T0 = 20 for d = 10 makes one fit noisy (d/(T0 - d - 1) = 1.11), so the fresh-design
    accumulate error (1.66 at n = 10) sits well below the bound (2.03) and replace (0.20 + 1.11 n)
    well above it from n = 3 on.
    """
    problem = {"dim": 10, "t_real": 20, "t_fake": 60, "noise_real": 1.0}
    generations = 10
    n = np.arange(generations + 1)
    one_fit = problem["noise_real"] ** 2 * problem["dim"] / (problem["t_real"] - problem["dim"] - 1)
    # the formulas: replace adds one_fit per generation; accumulate <= Σ 1/k² bound <= π²/6 bound
    replace = chain_test_error(n, **problem)
    np.testing.assert_allclose(np.diff(replace[1:]), one_fit, rtol=1e-12)
    far = np.arange(1, 10_001)
    exact, bound = accumulate_test_error(far, **problem), accumulate_bound(far, **problem)
    limit = accumulate_bound(1, limit=True, **problem)
    assert np.all(np.diff(exact) > 0) and np.all(exact <= bound) and np.all(bound <= limit)
    assert limit - accumulate_bound(0, **problem) == pytest.approx(math.pi**2 / 6 * one_fit, rel=1e-12)
    assert accumulate_test_error(1, **problem) == chain_test_error(1, **problem)
    # the simulation: both loops from the same seed
    rng = np.random.default_rng([12, global_seed])
    cov, chol, w0 = correlated_problem(problem["dim"], rng)
    common = dict(generations=generations, t0=problem["t_real"], t=problem["t_fake"], s0=1.0, s=1.0,
                  repeats=2000, cov=cov, chol=chol, w0=w0)
    acc = simulate_ols("accumulate", rng=rng, **common)
    rep = simulate_ols("replace", rng=rng, **common)
    z = z_bonferroni(2 * generations - 2)
    se = lambda a: a.std(axis=0, ddof=1) / math.sqrt(a.shape[0])  # noqa: E731
    # one-sided: every accumulate mean is significantly below the uniform bound ...
    assert np.all(acc.mean(axis=0)[1:] + z * se(acc)[1:] < limit), (acc.mean(axis=0), limit)
    # ... while replace is significantly above it from n = 3 on
    assert np.all(rep.mean(axis=0)[3:] - z * se(rep)[3:] > limit), (rep.mean(axis=0), limit)


@pytest.mark.parametrize("loop", ["fully_synthetic", "accumulate"])
def test_lab_loops_match_theory(loop, global_seed):
    """The lab's own runner (linear data, linear_ridge labellers, test_error) follows the formulas.

    Generation t of the lab's loop is the article's ŵ_t, and ``test_error`` at generation t is the
    downstream model trained on eval.n_samples = T rows of G^t: n = t.
    """
    generations, repeats, s = 4, 1500, 0.5
    config = {
        "name": "regression-theory",
        "seed": global_seed,
        "generations": generations,
        "repeats": repeats,
        "data": {"kind": "linear", "dim": OLS["dim"], "noise": OLS["noise_real"],
                 "cov": {"kind": "powerlaw", "exponent": 1.0}},
        "generator": {"kind": "linear_ridge", "alpha": 0.0, "noise": s},
        "loop": {"kind": loop, "n_real": OLS["t_real"], "n_synthetic": OLS["t_real"]},
        "metrics": ["test_error"],
        "eval": {"n_samples": OLS["t_fake"], "snapshot_size": 0, "downstream_ridge": 0.0},
    }
    wide = autophagy.run(config, out=None).wide()
    sim = wide["test_error"].unstack("generation").to_numpy()
    assert sim.shape == (repeats, generations)
    formula = chain_test_error if loop == "fully_synthetic" else accumulate_test_error
    theory = formula(np.arange(1, generations + 1), noise_fake=s, **OLS)
    assert_mean_matches(sim, theory, z_bonferroni(generations), label=loop)


# -- 2. ridge: bias + variance + collapse (asymptotic) ------------------------------------------
def simulate_ridge(lam, w0, alphas, *, gens, t0, t, s0, s, repeats, rng):
    """Per (α, n): the simulated parts of E_test for diagonal Σ = diag(lam).

    bias = ‖(A - I)w0‖²_Σ and variance = σ_n² tr(Σ (XᵀX + Tα)⁻¹XᵀX(XᵀX + Tα)⁻¹) are the exact
    conditional expectations given the downstream inputs X (A = (XᵀX + Tα)⁻¹XᵀX); collapse =
    ‖A(ŵ_n - w0)‖²_Σ with the simulated chain; total = the realised excess risk.
    """
    d = lam.size
    root = np.sqrt(lam)
    chain = {0: np.zeros((repeats, d))}
    w = np.broadcast_to(w0, (repeats, d))
    for k in range(1, max(gens) + 1):
        x = rng.standard_normal((repeats, t0, d)) * root
        w = solve(*gram(x, label(rng, x, w, s0 if k == 1 else s)))
        chain[k] = w - w0
    x = rng.standard_normal((repeats, t, d)) * root
    eps = rng.standard_normal((repeats, t))
    xt = x.transpose(0, 2, 1)
    g = xt @ x  # XᵀX, (R, d, d)
    xte = (xt @ eps[..., None])[..., 0]  # Xᵀε, (R, d)
    out = {}
    for alpha in alphas:
        m_inv = np.linalg.inv(g + t * alpha * np.eye(d))  # (XᵀX + Tα)⁻¹
        a = m_inv @ g  # A
        bias = (-t * alpha * (m_inv @ w0)) ** 2 @ lam  # (A - I)w0 = -Tα (XᵀX + Tα)⁻¹ w0
        per_noise = np.einsum("rij,rji,i->r", a, m_inv, lam)  # tr(Σ A (XᵀX + Tα)⁻¹)
        for n in gens:
            noise = s0 if n == 0 else s
            applied = (a @ chain[n][..., None])[..., 0]
            # ŵ_pred = (XᵀX + Tα)⁻¹ (XᵀX ŵ_n + σ_n Xᵀε)
            coef = (a @ (w0 + chain[n])[..., None])[..., 0] + noise * (m_inv @ xte[..., None])[..., 0]
            out[alpha, n] = {
                "bias": bias,
                "variance": noise**2 * per_noise,
                "collapse": applied**2 @ lam,
                "total": (coef - w0) ** 2 @ lam,
            }
    return out


RIDGE = {"t_real": 100, "t_fake": 100, "noise_real": 1.0, "noise_fake": 0.7}
RIDGE_GENS = [0, 1, 4]


def ridge_cases():
    """(name, spectrum, w0, alphas): power law β = 1, δ = 0.5 at α = 0.05, α*(0), α*(4); isotropic."""
    lam, w0 = power_law_problem(50, capacity=1.0, source=0.5)
    tuned = optimal_ridge([0, 4], cov_spectrum=lam, w0=w0, **RIDGE)
    return [
        ("powerlaw", lam, w0, [0.05, float(tuned[0]), float(tuned[1])]),
        ("isotropic", np.ones(50), np.full(50, 50**-0.5), [0.5]),
    ]


@pytest.mark.parametrize("case", ridge_cases(), ids=lambda c: c[0])
def test_ridge_parts_match_simulation(case, global_seed):
    """ridge_test_error's bias, variance, collapse and total against simulation (d = 50)."""
    name, lam, w0, alphas = case
    rng = np.random.default_rng([13, global_seed])
    sim = simulate_ridge(lam, w0, alphas, gens=RIDGE_GENS, t0=RIDGE["t_real"], t=RIDGE["t_fake"],
                         s0=RIDGE["noise_real"], s=RIDGE["noise_fake"], repeats=1500, rng=rng)
    comparisons = len(alphas) * (1 + 3 * len(RIDGE_GENS))  # bias once; variance, collapse, total per n
    z = z_bonferroni(comparisons)
    for alpha in alphas:
        theory = ridge_test_error(RIDGE_GENS, alpha=alpha, cov_spectrum=lam, w0=w0, **RIDGE)
        assert theory.collapse[0] == 0.0 and np.all(np.diff(theory.collapse) > 0)
        assert_mean_matches(sim[alpha, 0]["bias"], theory.bias, z, RIDGE_ALLOWANCE, f"{name} α={alpha} bias")
        for j, n in enumerate(RIDGE_GENS):
            for part in ("variance", "collapse", "total"):
                samples, predicted = sim[alpha, n][part], getattr(theory, part)[j]
                if n == 0 and part == "collapse":
                    assert np.all(samples == 0.0)
                    continue
                assert_mean_matches(samples, predicted, z, RIDGE_ALLOWANCE, f"{name} α={alpha:.4g} n={n} {part}")


def test_adaptive_ridge_mitigates_collapse(global_seed):
    """α tuned for generation n beats the clean-data α on data of generation n (simulated, paired)."""
    lam, w0 = power_law_problem(50, capacity=1.0, source=0.5)
    tuned = optimal_ridge([0, 1, 2, 4, 8], cov_spectrum=lam, w0=w0, **RIDGE)
    assert np.all(np.diff(tuned) > 0), tuned  # the optimal α grows with n
    clean_alpha, adapted_alpha = float(tuned[0]), float(tuned[3])
    rng = np.random.default_rng([14, global_seed])
    sim = simulate_ridge(lam, w0, [clean_alpha, adapted_alpha], gens=[4], t0=RIDGE["t_real"],
                         t=RIDGE["t_fake"], s0=RIDGE["noise_real"], s=RIDGE["noise_fake"],
                         repeats=600, rng=rng)
    gain = sim[clean_alpha, 4]["total"] - sim[adapted_alpha, 4]["total"]  # same data, paired
    theory = (ridge_test_error(4, alpha=clean_alpha, cov_spectrum=lam, w0=w0, **RIDGE).total
              - ridge_test_error(4, alpha=adapted_alpha, cov_spectrum=lam, w0=w0, **RIDGE).total)
    z = z_bonferroni(1)
    assert gain.mean() - z * gain.std(ddof=1) / math.sqrt(gain.size) > 0, gain.mean()
    assert theory > 0.3 * float(ridge_test_error(4, alpha=adapted_alpha, cov_spectrum=lam, w0=w0, **RIDGE).total)


# -- 3. ridge algebra and closed forms -------------------------------------------------------------
def test_effective_regularization_solves_its_fixed_point():
    lam, _ = power_law_problem(40, capacity=1.5, source=1.0)
    for alpha, t in [(1e-3, 20), (0.1, 20), (1e-3, 400), (2.0, 5)]:
        kappa = effective_regularization(alpha, lam, t)
        df1 = np.sum(lam / (lam + kappa))
        assert kappa - alpha == pytest.approx(kappa * df1 / t, rel=1e-10)
        assert alpha <= kappa <= alpha + lam.sum() / t
    kappa = effective_regularization(0.0, lam, 20)  # min-norm interpolation, T < d: df1(κ) = T
    assert np.sum(lam / (lam + kappa)) == pytest.approx(20, rel=1e-10)
    assert effective_regularization(0.0, lam, 60) == 0.0


def test_ridge_at_alpha_zero_is_the_asymptotic_least_squares_chain():
    """α = 0, T > d: κ = 0, ρ = d, E_test ≃ σ² d/(T - d) + c_n d (exact: T - d - 1)."""
    d, t0, t, s0, s = 20, 60, 50, 1.0, 0.5
    lam, w0 = power_law_problem(d, capacity=1.0, source=1.0)
    n = np.arange(5)
    parts = ridge_test_error(n, alpha=0.0, cov_spectrum=lam, w0=w0, t_real=t0, t_fake=t, noise_real=s0, noise_fake=s)
    assert parts.kappa == 0.0 and parts.bias == 0.0 and parts.rho == pytest.approx(d)
    exact = chain_test_error(n, dim=d, t_real=t0, t_fake=t, noise_real=s0, noise_fake=s)
    down = np.where(n == 0, s0, s) ** 2 * d
    np.testing.assert_allclose(parts.total - down / (t - d), exact - down / (t - d - 1), rtol=1e-12)


def test_optimal_ridge_isotropic_clean_closed_form():
    """Isotropic Σ, clean data: α* = σ0² d/(T ‖w0‖²) (Dobriban & Wager 2018; Bayes-optimal ridge)."""
    d, t, s0 = 30, 45, 0.8
    w0 = np.full(d, 1.3 / math.sqrt(d))
    alpha = optimal_ridge(0, cov_spectrum=np.ones(d), w0=w0, t_real=40, t_fake=t, noise_real=s0)
    assert alpha == pytest.approx(s0**2 * d / (t * 1.3**2), rel=1e-4)


def test_scaling_law_matches_ridge_asymptotics():
    """scaling_law's rate, optimal α and floor against optimally tuned ridge_test_error, d = 2000.

    Deterministic; the tolerances are the leading-order corrections (sums vs integrals, the
    (1 - df2/T) factors), O(κ*^{1/β}) relative, measured here: the clean-rate slope is within
    0.01 of -c at T ~ 3·10^5 and the floor within 10 %.
    """
    beta, delta, d = 2.0, 1.0, 2000
    lam, w0 = power_law_problem(d, capacity=beta, source=delta)
    t = np.array([1e2, 1e3, 1e4, 1e5, 1e6]).astype(int)
    common = {"cov_spectrum": lam, "w0": w0, "t_real": 4 * d, "noise_real": 1.0}

    def tuned(n):
        alphas = np.array([optimal_ridge(n, t_fake=int(size), **common) for size in t])
        errors = np.array([float(ridge_test_error(n, alpha=a, t_fake=int(size), **common).total)
                           for a, size in zip(alphas, t, strict=True)])
        return alphas, errors

    clean = scaling_law(t, capacity=beta, source=delta, dim=d, noise_real=1.0)
    assert clean.rate == pytest.approx(0.75) and clean.ridge_exponent == pytest.approx(0.5)
    assert clean.crossover == math.inf and clean.floor == 0.0
    alphas, errors = tuned(0)
    slopes = np.diff(np.log(errors)) / np.diff(np.log(t))
    assert abs(slopes[-1] + clean.rate) < 0.01, slopes
    np.testing.assert_allclose(clean.error[-2:], errors[-2:], rtol=0.05)
    np.testing.assert_allclose(clean.alpha[-2:], alphas[-2:], rtol=0.05)
    np.testing.assert_allclose(clean.error_clean, clean.error)

    previous_alpha = alphas
    for n in (1, 4):
        fake = scaling_law(t, capacity=beta, source=delta, dim=d, n=n, t_real=4 * d, noise_real=1.0)
        alphas, errors = tuned(n)
        slopes = np.diff(np.log(errors)) / np.diff(np.log(t))
        # crossover: the clean rate well below T_×, a floor well above it
        assert fake.crossover == pytest.approx((4 * d - d - 1) / n)
        assert slopes[0] < -0.6 and abs(slopes[-1]) < 0.03, slopes
        assert errors[-1] == pytest.approx(fake.floor, rel=0.10)
        assert np.all(fake.error >= fake.floor) and np.all(fake.error > clean.error)
        np.testing.assert_allclose(fake.alpha[-1], alphas[-1], rtol=0.10)
        # the optimal α grows with n and stops shrinking with T
        assert np.all(alphas[1:] > previous_alpha[1:]), (alphas, previous_alpha)
        assert alphas[-1] > 0.9 * alphas[-2]
        previous_alpha = alphas


# -- 4. validation --------------------------------------------------------------------------------
LAM, W0 = np.ones(5), np.full(5, 0.4)
BAD_INPUTS = [
    (chain_test_error, {"n": 1, "dim": 10, "t_real": 11, "t_fake": 30, "noise_real": 1.0},
     r"The 't_real' parameter must be an int > dim \+ 1 = 11 .*E tr \(XᵀX\)⁻¹ is finite only for T > d \+ 1\)\. Got 11 instead\."),
    (chain_test_error, {"n": 1, "dim": 10, "t_real": 40, "t_fake": 5, "noise_real": 1.0},
     r"The 't_fake' parameter must be an int > dim \+ 1 = 11 \(rows of the least-squares downstream model: E tr \(XᵀX\)⁻¹ is finite only for T > d \+ 1\)"),
    (chain_test_error, {"n": 1, "dim": 10, "t_real": 40, "t_fake": 30, "noise_real": -1.0},
     r"The 'noise_real' parameter must be a finite float >= 0 .* Got -1\.0 instead\."),
    (accumulate_test_error, {"n": 1, "dim": 10, "t_real": 40, "t_fake": 30, "noise_real": 1.0, "noise_fake": -0.1},
     r"The 'noise_fake' parameter must be a finite float >= 0"),
    (accumulate_test_error, {"n": -1, "dim": 10, "t_real": 40, "t_fake": 30, "noise_real": 1.0},
     r"The 'n' parameter must be an int >= 0 or an array of them"),
    (accumulate_bound, {"n": 1.5, "dim": 10, "t_real": 40, "t_fake": 30, "noise_real": 1.0},
     r"The 'n' parameter must be an int >= 0"),
    (ridge_test_error, {"n": 1, "alpha": -0.1, "cov_spectrum": LAM, "w0": W0, "t_real": 40, "t_fake": 3, "noise_real": 1.0},
     r"The 'alpha' parameter must be a finite float >= 0"),
    (ridge_test_error, {"n": 1, "alpha": 0.1, "cov_spectrum": LAM, "w0": W0, "t_real": 6, "t_fake": 3, "noise_real": 1.0},
     r"The 't_real' parameter must be an int > dim \+ 1 = 6 \(rows of each least-squares generator: E tr \(XᵀX\)⁻¹ is finite only"),
    (ridge_test_error, {"n": 1, "alpha": 0.1, "cov_spectrum": [1.0, 0.0], "w0": [1.0, 1.0], "t_real": 40, "t_fake": 3, "noise_real": 1.0},
     r"The 'cov_spectrum' parameter must be a 1-d array of finite eigenvalues > 0"),
    (ridge_test_error, {"n": 1, "alpha": 0.1, "cov_spectrum": LAM, "w0": [1.0], "t_real": 40, "t_fake": 3, "noise_real": 1.0},
     r"The 'w0' parameter must be a finite array of shape \(5,\)"),
    (ridge_test_error, {"n": 1, "alpha": 0.0, "cov_spectrum": LAM, "w0": W0, "t_real": 40, "t_fake": 5, "noise_real": 1.0},
     r"The 't_fake' parameter must be an int != dim = 5 when alpha = 0 \(the least-squares variance is infinite at T = d\)"),
    (effective_regularization, {"alpha": 0.0, "cov_spectrum": LAM, "n_samples": 5},
     r"The 'n_samples' parameter must be an int != dim = 5 when alpha = 0"),
    (power_law_problem, {"dim": 10, "capacity": 0.0, "source": 1.0},
     r"The 'capacity' parameter must be a finite float > 0 \(a power-law spectrum i\^-β needs β > 0\)\. Got 0\.0 instead\."),
    (power_law_problem, {"dim": 10, "capacity": 1.0, "source": -1.0},
     r"The 'source' parameter must be a finite float > 0"),
    (scaling_law, {"t": 100, "capacity": 0.5, "source": 1.0, "dim": 50, "noise_real": 1.0},
     r"The 'capacity' parameter must be a finite float > 1 \(the power-law rates need a summable spectrum"),
    (scaling_law, {"t": 100, "capacity": 2.0, "source": 2.0, "dim": 50, "noise_real": 1.0},
     r"The 'source' parameter must be a float in \(0\.0, 1\.5\) for capacity 2\.0 \(the bias exponent 2r"),
    (scaling_law, {"t": 100, "capacity": 2.0, "source": 1.0, "dim": 50, "n": 2, "noise_real": 1.0},
     r"The 't_real' parameter must be an int > dim \+ 1 when n >= 1"),
    (scaling_law, {"t": 100, "capacity": 2.0, "source": 1.0, "dim": 50, "n": [1, 2], "noise_real": 1.0},
     r"The 'n' parameter must be a single int >= 0"),
    (scaling_law, {"t": 100, "capacity": 2.0, "source": 1.0, "dim": 50, "noise_real": 0.0},
     r"The 'noise_real' parameter must be a float > 0 \(the noiseless rate"),
]


@pytest.mark.parametrize("fn, kwargs, match", BAD_INPUTS, ids=lambda v: getattr(v, "__name__", None))
def test_bad_inputs_raise_the_canonical_message(fn, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        fn(**kwargs)


def test_scalar_and_array_n():
    """A scalar n gives a float, an array n an array of its shape (vectorised over n)."""
    assert isinstance(chain_test_error(3, **OLS), float)
    grid = np.arange(6).reshape(2, 3)
    for fn in (chain_test_error, accumulate_test_error, accumulate_bound):
        out = fn(grid, **OLS)
        assert out.shape == (2, 3)
        np.testing.assert_allclose(out.ravel(), [fn(int(k), **OLS) for k in grid.ravel()])
