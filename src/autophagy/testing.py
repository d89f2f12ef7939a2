"""Conformance checks shipped with the package: run them on your own generator family.

>>> from autophagy.testing import check_generator
>>> check_generator(MyGenerator(), dim=3)  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy.exceptions import InvalidParameterError, NotFittedError


def check_generator(generator: Any, *, dim: int = 3, n: int = 400, seed: int = 0) -> None:
    """Assert that ``generator`` honours the :class:`~autophagy.generators.Generator` contract.

    Checks: sampling before ``fit`` raises NotFittedError; ``fit`` returns self; ``sample``
    has shape (n, dim) and is deterministic given the rng; λ outside (0, 1] is rejected;
    λ < 1 does not increase the spread; ``get_state``/``set_state`` round-trips exactly;
    ``log_prob`` (where present) is finite with shape (n,).
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) @ np.diag(np.linspace(0.5, 2.0, dim)) + 1.0
    fresh = type(generator)(**_params(generator))
    try:
        fresh.sample(3, rng=np.random.default_rng(0))
    except NotFittedError:
        pass
    else:  # pragma: no cover - only reached by a non-conforming generator
        raise AssertionError("sample() before fit() must raise NotFittedError")
    assert generator.fit(x, rng=np.random.default_rng(seed)) is generator, "fit must return self"
    a = generator.sample(n, rng=np.random.default_rng(1))
    b = generator.sample(n, rng=np.random.default_rng(1))
    assert a.shape == (n, dim), f"sample shape {a.shape} != {(n, dim)}"
    np.testing.assert_array_equal(a, b, err_msg="sample must be deterministic given the rng")
    for bad in (0.0, -0.5, 1.5):
        try:
            generator.sample(2, rng=np.random.default_rng(0), bias=bad)
        except InvalidParameterError:
            continue
        raise AssertionError(f"bias={bad} must be rejected")
    biased = generator.sample(4 * n, rng=np.random.default_rng(2), bias=0.25)
    unbiased = generator.sample(4 * n, rng=np.random.default_rng(2), bias=1.0)
    assert np.trace(np.cov(biased, rowvar=False)) <= 1.05 * np.trace(np.cov(unbiased, rowvar=False)), (
        "bias < 1 must not increase the spread of the samples"
    )
    clone = type(generator)(**_params(generator)).set_state(generator.get_state())
    np.testing.assert_array_equal(
        clone.sample(n, rng=np.random.default_rng(3)),
        generator.sample(n, rng=np.random.default_rng(3)),
        err_msg="set_state(get_state()) must reproduce the generator exactly",
    )
    if hasattr(generator, "log_prob"):
        lp = generator.log_prob(x)
        assert lp.shape == (n,) and np.all(np.isfinite(lp)), "log_prob must be finite with shape (n,)"


def _params(generator: Any) -> dict[str, Any]:
    """Constructor arguments read back from the instance (the scikit-learn convention)."""
    import inspect

    names = [p for p in inspect.signature(type(generator).__init__).parameters if p != "self"]
    return {name: getattr(generator, name) for name in names}
