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
    gaussian = {"data": {"kind": "gaussian", "dim": 2}, "generator": {"kind": "gaussian"},
                "loop": {"kind": "fresh", "n_real": 10}, "generations": 3}
    assert predict(gaussian, "test_error", np.arange(1, 4)) is None
    assert predict(gaussian, "cov_trace", np.arange(1, 4)) is not None
