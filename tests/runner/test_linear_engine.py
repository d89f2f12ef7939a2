"""The exact linear-regression engine: same law of every per-generation metric as sampling.

:class:`~autophagy.runner.exact_linear.LinearExactEngine` draws each group's Gram matrix and Xᵀy from
their Wishart / Normal laws (:mod:`autophagy.exact.regression`) instead of drawing rows, so it
must reproduce the *distribution* over repeats of every metric the sampled engine writes,
generation by generation: two-sample Kolmogorov-Smirnov tests at a stated family-wise level,
with a power check that the same machinery rejects a slightly different config. Then the
batched algebra against explicit rows, engine resolution, resume, and the closed-form test
error of the least-squares chain (Dohmatob, Feng & Kempe 2024).
"""

import numpy as np
import pandas as pd
import pytest

import autophagy
from autophagy.exact import regression as linear
from autophagy.regression.ridge import ridge_solve
from autophagy.runner.engines import make_engine
from autophagy.runner.exact_linear import LinearExactEngine

from .equivalence import engines, ks_pvalues

METRICS = ["test_error", "test_error_bias", "test_error_variance", "param_error"]
PROVENANCE = ["train_size", "frac_real_fixed", "frac_real_fresh", "frac_synthetic", "degenerate"]
# Power-law Σ (diagonal, not the identity) so that the factor F matters; σ0 ≠ σ so that mixing up
# the real and the synthetic label noise shows.
DATA = {"kind": "linear", "dim": 5, "cov": {"kind": "powerlaw", "exponent": 1.0}, "noise": 0.5}


def _config(loop, generator, *, eval=None, generations=4, metrics=METRICS, data=DATA):
    return {
        "name": "linear",
        "seed": 0,
        "generations": generations,
        "repeats": 2,
        "data": data,
        "generator": {"kind": "linear_ridge", **generator},
        "loop": loop,
        "metrics": metrics,
        "eval": {"n_samples": 15, "snapshot_size": 0, **(eval or {})},
    }


# Small training sets on purpose (d = 5): an off-by-one in a Wishart df, a ridge n·α or a noise
# level moves the metrics by O(1/n), which these sizes make visible. The cases cover every fit
# path: a Bartlett group (α = 0, n >= d), a merged Gram matrix (α > 0 and α = 0), the minimum-norm
# fit below d rows (labeller and downstream), and rows drawn per repeat (a sample metric).
CASES = {
    # α = 0 on one group of n >= d rows every generation: the triangular solve
    "fully_synthetic": _config(
        {"kind": "fully_synthetic", "n_real": 12, "n_synthetic": 10},
        {"alpha": 0.0, "bias": 0.8, "noise": 0.7},
    ),
    # 3 real rows < d: minimum-norm first fit (concatenated factors), then a growing Gram pool;
    # downstream ridge α = 0.1
    "accumulate": _config(
        {"kind": "accumulate", "n_real": 3, "n_synthetic": 2, "n_fresh": 1, "synthetic_from": "all"},
        {"alpha": 0.0, "bias": 0.9},
        eval={"downstream_ridge": 0.1},
    ),
    # fixed + fresh + synthetic, labeller ridge α = 0.1; T = 4 < d rows for the downstream
    # minimum-norm fit (eval.n_samples must exceed eval.nearest_k)
    "mixed": _config(
        {"kind": "mixed", "n_fixed": 4, "n_fresh": 3, "n_synthetic": 6},
        {"alpha": 0.1, "bias": 0.7, "noise": 0.3},
        eval={"n_samples": 4, "nearest_k": 2},
    ),
    # a metric that needs rows: every repeat draws its downstream rows, the regression metrics
    # use those rows' statistics
    "fresh_rows": _config(
        {"kind": "fresh", "n_real": 6, "n_synthetic": 6},
        {"alpha": 0.05, "bias": 0.8},
        generations=3,
        metrics=["test_error", "test_error_variance", "cov_trace"],
    ),
}
EXACT_REPEATS = {"fresh_rows": 1000}  # rows per repeat: slower there too
DEFAULT_EXACT_REPEATS = 3000

# Family-wise level of the equivalence tests for one seed: 1e-5, Bonferroni over every
# (config, generation, metric) comparison, so a correct engine fails a default run (3 seeds)
# with probability <= 3e-5 and the AUTOPHAGY_ALL_SEEDS sweep (100 seeds) <= 1e-3. (At 1e-4 one
# sweep failed once by chance: seed 84's 300 sampled repeats sit at p = 5e-6 against 10⁵ rows
# drawn directly, against which the exact engine's 4·10⁵ repeats sit at p = 0.13 and 0.55.)
FAMILY_ALPHA = 1e-5
N_COMPARISONS = sum(case["generations"] * len(case["metrics"]) for case in CASES.values())
ALPHA = FAMILY_ALPHA / N_COMPARISONS





@pytest.mark.parametrize("case", list(CASES))
def test_exact_and_sampled_engines_agree_in_distribution(case, global_seed):
    config = CASES[case]
    sampled, exact = engines(config, global_seed, EXACT_REPEATS.get(case, DEFAULT_EXACT_REPEATS))
    assert not sampled["degenerate"].any() and not exact["degenerate"].any()
    # provenance is deterministic: the same in every repeat of both engines
    for name in PROVENANCE:
        assert (sampled[name].groupby("generation").nunique() == 1).all()
        pd.testing.assert_series_equal(
            sampled[name].groupby("generation").first(), exact[name].groupby("generation").first()
        )
    pvalues = ks_pvalues(sampled, exact, config["metrics"])
    assert len(pvalues) == config["generations"] * len(config["metrics"])
    rejected = {key: p for key, p in pvalues.items() if p < ALPHA}
    assert not rejected, f"{case}: exact and sampled laws differ at (generation, metric) {rejected}; α {ALPHA:.1e}"


# Over seeds 0-99 the largest smallest-p-value was 1.1e-9 (σ 0.66) and 1.4e-12 (n_synthetic 8),
# against α ≈ 1.8e-7.
@pytest.mark.parametrize(
    "change",
    [
        {"generator": {"kind": "linear_ridge", "alpha": 0.0, "bias": 0.8, "noise": 0.66}},
        {"loop": {"kind": "fully_synthetic", "n_real": 12, "n_synthetic": 8}},
    ],
    ids=["noise-0.66-vs-0.7", "n_synthetic-8-vs-10"],
)
def test_the_two_sample_tests_detect_a_slightly_different_config(change, global_seed):
    # Same sizes, same per-comparison α as the equivalence test: a test that cannot reject this
    # would make the equivalence test vacuous.
    base = CASES["fully_synthetic"]
    sampled, exact = engines(base, global_seed, DEFAULT_EXACT_REPEATS, exact_changes=change)
    pvalues = ks_pvalues(sampled, exact, METRICS)
    assert min(pvalues.values()) < ALPHA, f"no rejection at α = {ALPHA:.1e}: {pvalues}"


def test_both_engines_write_the_same_rows():
    config = {**CASES["fresh_rows"], "metrics": [*METRICS, "cov_trace"]}
    frames = {engine: autophagy.run({**config, "engine": engine}, out=None).metrics for engine in ("sampled", "exact")}
    names = {
        engine: frame.groupby(["seed", "generation"])["metric"].apply(lambda s: tuple(sorted(s)))
        for engine, frame in frames.items()
    }
    pd.testing.assert_series_equal(names["sampled"], names["exact"])
    assert set(names["exact"]) == {tuple(sorted([*METRICS, "cov_trace", *PROVENANCE]))}


# -- the batched algebra against explicit rows --------------------------------------------------
def _rows(rng, repeats, n, d):
    x = rng.standard_normal((repeats, n, d)) * np.linspace(1.0, 0.3, d)
    y = x @ rng.standard_normal(d) + 0.5 * rng.standard_normal((repeats, n))
    return x, y


@pytest.mark.parametrize("n", [3, 7, 40], ids=["n<d", "n=d", "n>d"])
@pytest.mark.parametrize("alpha", [0.0, 0.3])
def test_fits_on_statistics_equal_ridge_on_the_rows(n, alpha):
    rng = np.random.default_rng(0)
    x, y = _rows(rng, 4, n, 7)
    got = linear.fit(linear.of_rows(x, y), alpha)
    expected = np.stack([ridge_solve(x[r], y[r], alpha) for r in range(4)])
    np.testing.assert_allclose(got, expected, rtol=1e-8, atol=1e-10)
    # merging groups is fitting on their union, whether the union has fewer rows than d or not
    parts = [linear.of_rows(x[:, :1], y[:, :1]), linear.of_rows(x[:, 1:], y[:, 1:])]
    np.testing.assert_allclose(linear.fit(linear.merge(parts), alpha), expected, rtol=1e-8, atol=1e-10)
    # the fit's linear map P: ŵ = P y, and P Pᵀ as in metrics.evaluate (pinv or ridge solve)
    operator = linear.fit_operator(linear.of_rows(x, y), alpha)
    np.testing.assert_allclose((operator @ y[..., None])[..., 0], expected, rtol=1e-8, atol=1e-10)
    for r in range(4):
        p = np.linalg.pinv(x[r]) if alpha == 0.0 else np.linalg.solve(x[r].T @ x[r] + n * alpha * np.eye(7), x[r].T)
        np.testing.assert_allclose(operator[r] @ operator[r].T, p @ p.T, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("d", [5, 33, 100], ids=["leaf", "one-split", "recursive"])
def test_blocked_triangular_solve_and_inverse(d):
    # d above the block size goes through the recursive blocking; compare with dense LAPACK
    rng = np.random.default_rng(d)
    m = np.tril(rng.standard_normal((3, d, d))) + 4.0 * np.eye(d)
    u = rng.standard_normal((3, d))
    np.testing.assert_allclose(linear._solve_lower_t(m, u), np.linalg.solve(np.swapaxes(m, 1, 2), u[..., None])[..., 0], rtol=1e-10, atol=1e-12)
    inverse = linear._lower_inverse(m)
    np.testing.assert_allclose(inverse, np.linalg.inv(m), rtol=1e-10, atol=1e-12)
    assert not np.any(np.triu(inverse, 1))


def test_drawn_statistics_have_their_laws(global_seed):
    # E G = n Σ, E b = n Σ w; a group of n >= d rows is a lower-triangular Bartlett factor.
    rng = np.random.default_rng(global_seed)
    n, repeats, noise = 8, 100_000, 0.5
    scale = np.array([1.5, 1.0, 0.4])
    factor, w = np.diag(scale), np.array([1.0, -2.0, 0.5])
    stats = linear.draw(n, w, noise, factor, rng, repeats)
    assert stats.triangular and not np.any(np.triu(stats.factor, 1))
    cov = factor @ factor.T
    # Var G_ij = n (Σ_ij² + Σ_ii Σ_jj); Var b_i = Var(Σ_k x_ki y_k) = n (Σ_ii (wᵀΣw + s²) + (Σw)_i²)
    se_gram = np.sqrt(n * (cov**2 + np.outer(scale**2, scale**2)) / repeats)
    assert np.all(np.abs(stats.gram.mean(axis=0) - n * cov) < 5 * se_gram)
    sw = cov @ w
    se_xty = np.sqrt(n * (scale**2 * (w @ sw + noise**2) + sw**2) / repeats)
    assert np.all(np.abs(stats.xty.mean(axis=0) - n * sw) < 5 * se_xty)
    # below d rows the factor is Xᵀ itself (d × n), labels Xw + s ε
    small = linear.draw(2, w, noise, factor, rng, 4)
    assert small.factor.shape == (4, 3, 2) and not small.triangular


# -- engine resolution ---------------------------------------------------------------------------
def test_linear_ridge_on_linear_data_resolves_to_the_linear_exact_engine():
    config = autophagy.load_config(CASES["fully_synthetic"])
    assert config.engine == "exact"
    assert autophagy.load_config({**CASES["fully_synthetic"], "engine": "exact"}).run_id() == config.run_id()
    assert isinstance(make_engine(config, config.run_id(), None), LinearExactEngine)
    assert autophagy.load_config({**CASES["fully_synthetic"], "engine": "sampled"}).engine == "sampled"


def test_accumulate_subsample_falls_back_to_sampled_and_refuses_explicit_exact():
    loop = {"kind": "accumulate_subsample", "n_real": 10, "n_synthetic": 10, "train_size": 10}
    config = _config(loop, {"alpha": 0.0})
    assert autophagy.load_config(config).engine == "sampled"
    with pytest.raises(autophagy.InvalidParameterError, match=r"The 'engine' parameter must be 'sampled' here .*accumulate_subsample.*Got 'exact' instead"):
        autophagy.load_config({**config, "engine": "exact"})


def test_overriding_the_data_kind_resolves_the_engine_again():
    config = autophagy.load_config(CASES["fully_synthetic"])
    gaussian = autophagy.load_config(
        config, overrides={"data": {"kind": "gaussian", "dim": 3}, "generator": {"kind": "gaussian"}, "metrics": ["cov_trace"]}
    )
    assert gaussian.engine == "exact" and not isinstance(make_engine(gaussian, "x", None), LinearExactEngine)


# -- resume ---------------------------------------------------------------------------------------
class Interrupt(Exception):
    pass


@pytest.mark.parametrize("case", ["accumulate", "mixed"])
def test_interrupted_run_resumes_to_the_identical_table(case, tmp_path):
    # accumulate saves a pool as a factor (below d rows) and then as a Gram matrix; mixed saves a
    # triangular fixed set. Interrupt after generation 3 (its state is on disk), rerun, compare.
    config = {**CASES[case], "generations": 6, "repeats": 3, "engine": "exact", "seed": 11}

    def stop(info):
        if info["generation"] == 3:
            raise Interrupt

    with pytest.raises(Interrupt):
        autophagy.run(config, out=tmp_path, progress=stop)
    resumed = autophagy.run(config, out=tmp_path)
    uninterrupted = autophagy.run(config, out=None)
    pd.testing.assert_frame_equal(resumed.metrics, uninterrupted.metrics, check_dtype=False)


# -- the least-squares chain in closed form ------------------------------------------------------
# Fully synthetic, α = 0, isotropic Σ: generation t's labeller is ŵ_t = ŵ_{t-1} + noise · G⁻¹Xᵀε
# with E‖G⁻¹Xᵀε‖²_Σ = d/(n - d - 1) (inverse-Wishart trace), so with s² = λσ² the synthetic
# label variance,
#   E‖ŵ_t - w0‖² = [σ0² + (t - 1) s²] d/(T0 - d - 1)                       (param_error², bias)
#   E test_error(t) = E‖ŵ_t - w0‖² + s² d/(T - d - 1)                       (downstream on T rows)
# which for σ = σ0, λ = 1 is Dohmatob et al.'s E_test = σ0² d/(T - d - 1) + t σ0² d/(T0 - d - 1).
@pytest.mark.parametrize(
    ("d", "t0", "t", "noise", "bias"),
    [(5, 20, 16, None, 1.0), (40, 70, 60, 0.35, 0.6)],
    ids=["dohmatob-d5", "sigma-lambda-d40"],
)
def test_least_squares_chain_matches_the_closed_form(d, t0, t, noise, bias, global_seed):
    sigma0, generations, repeats = 0.5, 5, 20_000 if d < 10 else 2_000
    generator = {"alpha": 0.0, "bias": bias, **({"noise": noise} if noise is not None else {})}
    config = _config(
        {"kind": "fully_synthetic", "n_real": t0, "n_synthetic": t0},
        generator,
        eval={"n_samples": t},
        generations=generations,
        data={"kind": "linear", "dim": d, "noise": sigma0},
    )
    wide = autophagy.run({**config, "repeats": repeats, "seed": global_seed, "engine": "exact"}, out=None).wide()
    s2 = bias * (sigma0 if noise is None else noise) ** 2
    for g in range(1, generations + 1):
        at = wide.xs(g, level="generation")
        labeller = (sigma0**2 + (g - 1) * s2) * d / (t0 - d - 1)
        expected = {
            "test_error": labeller + s2 * d / (t - d - 1),
            "test_error_bias": labeller,
            "test_error_variance": s2 * d / (t - d - 1),
        }
        values = {**{k: at[k].to_numpy() for k in expected}, "param_error": at["param_error"].to_numpy() ** 2}
        expected["param_error"] = labeller
        for name, target in expected.items():
            # |z| < 5 per check (two-sided 6e-7; 20 checks per case): the MC error of R repeats
            se = values[name].std(ddof=1) / np.sqrt(repeats)
            assert abs(values[name].mean() - target) < 5 * se, (g, name, values[name].mean(), target, se)


def test_least_squares_shortcut_matches_the_sampled_engine_and_the_closed_form(global_seed):
    """The fully synthetic OLS chain with only test_error/param_error skips the Gram statistics
    (multivariate-t law of the fit); same law as the sampled engine (KS, family-wise α = 1e-5 over
    10 comparisons) and the closed form of theory.regression.chain_test_error (|z| < 4.9, Bonferroni
    over 5 generations at 1e-5)."""
    from scipy.stats import ks_2samp

    from autophagy.runner.exact_linear import LinearExactEngine
    from autophagy.theory import predict

    base = {
        "name": "ls", "seed": 1000 * global_seed, "generations": 5, "repeats": 3000,
        "data": {"kind": "linear", "dim": 6, "noise": 0.5},
        "generator": {"kind": "linear_ridge", "bias": 0.7},
        "loop": {"kind": "fully_synthetic", "n_real": 15, "n_synthetic": 15},
        "metrics": ["test_error", "param_error"], "eval": {"n_samples": 20, "snapshot_size": 0},
    }
    config = autophagy.load_config(base)
    assert LinearExactEngine(config, "x", None).shortcut
    exact = autophagy.run(base, out=None).wide()
    sampled = autophagy.run({**base, "engine": "sampled", "repeats": 300, "seed": 10**6 + global_seed}, out=None).wide()
    for metric in ("test_error", "param_error"):
        for t in range(1, 6):
            p = ks_2samp(exact.xs(t, level="generation")[metric], sampled.xs(t, level="generation")[metric]).pvalue
            assert p > 1e-5 / 10, (metric, t, p)
    by_gen = exact.groupby("generation")["test_error"]
    z = (by_gen.mean().to_numpy() - predict(config, "test_error", np.arange(1, 6))) / (by_gen.std().to_numpy() / np.sqrt(3000))
    assert np.all(np.abs(z) < 4.9), z
