"""Conformance checks shipped with the package: run them on your own generator family.

>>> from autophagy.testing import check_generator
>>> check_generator(MyGenerator(), dim=3)  # doctest: +SKIP

:func:`check_generator` raises one :class:`AssertionError` listing, in plain words, everything the
generator gets wrong; :func:`generator_report` returns the same findings (and what optional
methods would unlock) without raising, for a plug-in author to read.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autophagy.capabilities import capabilities_of
from autophagy.exceptions import NotFittedError


@dataclass
class GeneratorReport:
    """What :func:`generator_report` found.

    Attributes:
        problems: contract violations (the lab cannot use the generator as it is).
        notes: optional capabilities it lacks, and what each would unlock.
        capabilities: the capabilities it has (see :mod:`autophagy.capabilities`).
    """

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    capabilities: frozenset[str] = frozenset()

    @property
    def ok(self) -> bool:
        return not self.problems

    def __str__(self) -> str:
        name = "generator conforms" if self.ok else f"{len(self.problems)} problem(s)"
        lines = [name + ":"] + [f"  - {p}" for p in self.problems] + [f"  · {n}" for n in self.notes]
        return "\n".join(lines)


#: What each optional capability unlocks, said to a plug-in author.
UNLOCKS = {
    "log_prob": "add log_prob(x, *, bias=1.0) -> (n,) to unlock the likelihood metrics (loglik_real)",
    "state": "add get_state() -> dict[str, ndarray] and set_state(state) -> self so a resumed run restores "
    "the fitted model (without them it refits on the recorded training data) and init: warm_start works",
}


def generator_report(generator: Any, *, dim: int = 3, n: int = 400, seed: int = 0) -> GeneratorReport:
    """Check ``generator`` against the generator contract and say what is wrong in plain words.

    Required: constructor arguments readable back as attributes of the same name (so a config
    round-trips); ``sample`` before ``fit`` raises :class:`~autophagy.exceptions.NotFittedError`
    (or any exception: it must not return samples); ``fit(x, *, rng)`` returns self;
    ``sample(n, *, rng, bias)`` has shape (n, dim), is finite and deterministic given the rng;
    λ outside (0, 1] raises ValueError; λ < 1 does not increase the spread. Where present:
    ``get_state``/``set_state`` round-trip exactly; ``log_prob`` is finite with shape (n,).
    """
    report = GeneratorReport(capabilities=capabilities_of(generator))
    problems = report.problems
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)) @ np.diag(np.linspace(0.5, 2.0, dim)) + 1.0
    cls = type(generator)
    for method in ("fit", "sample"):
        if not callable(getattr(generator, method, None)):
            problems.append(f"it has no {method}() method: a generator needs fit(x, *, rng) and sample(n, *, rng, bias)")
    if problems:
        return report
    params, missing = _params(generator)
    if missing:
        problems.append(
            f"constructor argument(s) {', '.join(missing)} are not stored as attributes of the same name: "
            "store each in __init__ (self.x = x) so the lab can rebuild the generator from its config"
        )
        return report
    try:
        cls(**params).sample(3, rng=np.random.default_rng(0), bias=1.0)
    except NotFittedError:
        pass
    except Exception as exc:
        report.notes.append(f"sample() before fit() raised {type(exc).__name__}; NotFittedError is clearer")
    else:
        problems.append("sample() before fit() returned samples: raise autophagy.NotFittedError until fit() has run")
    try:
        fitted = generator.fit(x, rng=np.random.default_rng(seed))
    except Exception as exc:
        problems.append(f"fit(x, rng=...) on {n} rows of {dim}-d data raised {type(exc).__name__}: {exc}")
        return report
    if fitted is not generator:
        problems.append("fit() must return self (return self at its end)")
    try:
        a = np.asarray(generator.sample(n, rng=np.random.default_rng(1), bias=1.0))
        b = np.asarray(generator.sample(n, rng=np.random.default_rng(1), bias=1.0))
    except TypeError as exc:
        problems.append(f"sample(n, *, rng, bias) cannot be called with keywords rng= and bias= ({exc})")
        return report
    if a.shape != (n, dim):
        problems.append(f"sample({n}, ...) returned shape {a.shape}; expected ({n}, {dim}): one row per sample")
        return report
    if not np.all(np.isfinite(a)):
        problems.append("sample() returned NaN or infinite values")
    if not np.array_equal(a, b):
        problems.append("sample() is not deterministic given the rng: draw every random number from the rng argument")
    for bad in (0.0, -0.5, 1.5):
        try:
            generator.sample(2, rng=np.random.default_rng(0), bias=bad)
        except ValueError:
            continue
        except Exception as exc:
            problems.append(f"sample(bias={bad}) raised {type(exc).__name__}; raise ValueError for λ outside (0, 1]")
            break
        problems.append(f"sample(bias={bad}) was accepted: raise ValueError for λ outside (0, 1]")
        break
    biased = np.asarray(generator.sample(4 * n, rng=np.random.default_rng(2), bias=0.25))
    unbiased = np.asarray(generator.sample(4 * n, rng=np.random.default_rng(2), bias=1.0))
    if np.trace(np.atleast_2d(np.cov(biased, rowvar=False))) > 1.05 * np.trace(np.atleast_2d(np.cov(unbiased, rowvar=False))):
        problems.append("bias < 1 increased the spread of the samples: λ < 1 must trade diversity for quality (e.g. scale the variance by λ)")
    if "state" in report.capabilities:
        try:
            clone = cls(**params).set_state(generator.get_state())
            same = np.array_equal(clone.sample(n, rng=np.random.default_rng(3)), generator.sample(n, rng=np.random.default_rng(3)))
        except Exception as exc:
            problems.append(f"set_state(get_state()) failed: {type(exc).__name__}: {exc}")
        else:
            if not same:
                problems.append("set_state(get_state()) on a new instance does not reproduce the generator exactly")
    else:
        report.notes.append(UNLOCKS["state"])
    if "log_prob" in report.capabilities:
        lp = np.asarray(generator.log_prob(x))
        if lp.shape != (n,) or not np.all(np.isfinite(lp)):
            problems.append(f"log_prob(x) must be finite with shape ({n},); got shape {lp.shape}")
    else:
        report.notes.append(UNLOCKS["log_prob"])
    return report


def check_generator(generator: Any, *, dim: int = 3, n: int = 400, seed: int = 0) -> None:
    """Assert that ``generator`` honours the generator contract (see :func:`generator_report`).

    Raises:
        AssertionError: listing every problem found, in plain words.
    """
    report = generator_report(generator, dim=dim, n=n, seed=seed)
    assert report.ok, str(report)


def _params(generator: Any) -> tuple[dict[str, Any], list[str]]:
    """Constructor arguments read back from the instance (the scikit-learn convention), and the
    names that cannot be read back."""
    signature = inspect.signature(type(generator).__init__)
    names = [p for p, v in signature.parameters.items() if p != "self" and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)]
    missing = [name for name in names if not hasattr(generator, name)]
    return {name: getattr(generator, name) for name in names if hasattr(generator, name)}, missing
