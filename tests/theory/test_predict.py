"""theory.predict: which runs get a theory curve, and that it is the closed form."""

import numpy as np

from autophagy.theory import predict
from autophagy.theory.regression import accumulate_test_error, chain_test_error

CHAIN = {
    "name": "chain",
    "generations": 5,
    "data": {"kind": "linear", "dim": 10, "noise": 0.5},
    "generator": {"kind": "linear_ridge", "bias": 0.8},
    "loop": {"kind": "fully_synthetic", "n_real": 40, "n_synthetic": 40},
    "eval": {"n_samples": 50},
}


def test_regression_chain_curves_are_the_closed_forms():
    gens = np.arange(1, 6)
    sigma = np.sqrt(0.8) * 0.5
    expected = chain_test_error(gens, dim=10, t_real=40, t_fake=50, noise_real=0.5, noise_fake=sigma)
    np.testing.assert_allclose(predict(CHAIN, "test_error", gens), expected)
    variance = predict(CHAIN, "test_error_variance", gens)
    np.testing.assert_allclose(variance, sigma**2 * 10 / (50 - 11))
    np.testing.assert_allclose(predict(CHAIN, "test_error_bias", gens) + variance, expected)
    accumulate = {**CHAIN, "loop": {**CHAIN["loop"], "kind": "accumulate"}}
    expected = accumulate_test_error(gens, dim=10, t_real=40, t_fake=50, noise_real=0.5, noise_fake=sigma)
    np.testing.assert_allclose(predict(accumulate, "test_error", gens), expected)


def test_no_curve_where_there_is_no_closed_form():
    gens = np.arange(1, 6)
    assert predict({**CHAIN, "generator": {"kind": "linear_ridge", "alpha": 0.1}}, "test_error", gens) is None
    assert predict({**CHAIN, "eval": {"n_samples": 11}}, "test_error", gens) is None  # T <= d + 1
    assert predict(CHAIN, "param_error", gens) is None
    corrected = {**CHAIN, "mitigation": [{"kind": "self_correct", "strength": 0.5, "map": "reference"}]}
    for metric in ("test_error", "test_error_bias", "test_error_variance"):
        assert predict(corrected, metric, gens) is None  # curated fake data: not the chain's closed form
    np.testing.assert_allclose(predict(corrected, "test_error_real", gens), predict(CHAIN, "test_error_real", gens))  # real fits unchanged
    gaussian = {"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"},
                "loop": {"kind": "fresh", "n_real": 10}, "generations": 3}
    assert predict(gaussian, "test_error", np.arange(1, 4)) is None
    assert predict(gaussian, "cov_trace", np.arange(1, 4)) is not None


def test_real_data_baseline_matches_its_closed_form_on_both_engines(global_seed):
    """test_error_real (downstream trained on T real rows) has mean σ0² d/(T - d - 1): |z| < 4.9
    (Bonferroni over 3 generations x 2 engines at 1e-5)."""
    import autophagy

    base = {
        "name": "real", "seed": 100 * global_seed, "generations": 3,
        "data": {"kind": "linear", "dim": 8, "noise": 0.5},
        "generator": {"kind": "linear_ridge"},
        "loop": {"kind": "fully_synthetic", "n_real": 20, "n_synthetic": 20},
        "metrics": ["test_error", "test_error_real"], "eval": {"n_samples": 25},
    }
    expected = 0.25 * 8 / (25 - 9)
    assert np.allclose(predict(base, "test_error_real", np.arange(1, 4)), expected)
    for engine, repeats in (("exact", 3000), ("sampled", 400)):
        wide = autophagy.run({**base, "engine": engine, "repeats": repeats}, out=None).wide()
        by_gen = wide.groupby("generation")["test_error_real"]
        z = (by_gen.mean().to_numpy() - expected) / (by_gen.std().to_numpy() / np.sqrt(repeats))
        assert np.all(np.abs(z) < 4.9), (engine, z)
