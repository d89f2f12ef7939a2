"""The generator contract shared by every model family.

A generator follows the scikit-learn estimator habits: ``__init__`` only stores
hyperparameters, ``fit`` returns ``self``, learned state ends in ``_``. Randomness is always
an argument (``rng``), never stored. The sampling bias ``bias`` = λ ∈ (0, 1] is an argument of
``sample`` (1 = unbiased; smaller = higher quality, lower diversity); each family documents
what λ means for it.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, Self, runtime_checkable

import numpy as np
from pydantic import Field

from autophagy._validation import Model
from autophagy.exceptions import DegenerateFitError, InvalidParameterError, NotFittedError


class ModelMemory(NamedTuple):
    """What one generator takes in memory, in bytes (see :meth:`GeneratorConfig.memory_estimate`).

    Attributes:
        kept: one fitted model, kept from one generation to the next.
        work: the peak of one fit or one sampling, beyond the model and its training set.
        key: the config key that drives the size (None: the loop's training-set size).
        what: the model in words, e.g. "covariance matrices of 300² floats".
        runtime: libraries the family loads (e.g. PyTorch), counted once.
    """

    kept: int
    work: int
    key: str | None = None
    what: str = "a model the size of its training set"
    runtime: int = 0


class GeneratorConfig(Model):
    """Keys every generator config has: ``kind`` and the sampling bias λ."""

    kind: str
    bias: float = Field(default=1.0, gt=0.0, le=1.0, description="sampling bias λ in (0, 1]")

    def check_runtime(self) -> None:
        """Raise when this process cannot run the generator (a missing extra, an absent device);
        called when an experiment's config is loaded, before anything else is checked."""

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes one model of this family takes when fitted on ``n_train`` rows of ``width``
        floats, for the memory estimate of a config (:mod:`autophagy.core.memory`). This default,
        for a family that says nothing: a model the size of its training set, as much again to
        fit it."""
        size = 8 * n_train * width
        return ModelMemory(size, size)


@runtime_checkable
class Generator(Protocol):
    """A generative model family: the minimal contract (a plug-in needs nothing more)."""

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        """Fit to ``x`` of shape (n, d); returns self."""
        ...

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """Draw ``n`` samples, shape (n, d), with sampling bias λ = ``bias``."""
        ...


@runtime_checkable
class Stateful(Protocol):
    """Optional: learned state as named arrays. Resume restores fitted models from it (without it
    a run refits them on their recorded training data); ``init: warm_start`` needs it."""

    def get_state(self) -> dict[str, np.ndarray]:
        """Learned state as named arrays (what a checkpoint stores)."""
        ...

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Restore learned state written by :meth:`get_state`; returns self."""
        ...


@runtime_checkable
class Likelihood(Protocol):
    """Optional: the model's log-density; unlocks the likelihood metrics (``loglik_real``)."""

    def log_prob(self, x: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        """Log-density of each row of ``x`` (n, d) under the model sampled with bias λ, shape (n,)."""
        ...


def check_fitted(model: Any, attribute: str) -> None:
    if not hasattr(model, attribute):
        raise NotFittedError(f"This {type(model).__name__} is not fitted yet: call fit(x, rng=...) first.")


def check_training_data(x: np.ndarray, min_samples: int, owner: str, why: str) -> np.ndarray:
    """Validate a training array (n, d): finite, 2-D, at least ``min_samples`` rows."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2:
        raise InvalidParameterError(f"{owner} expects training data of shape (n_samples, n_features); got {x.shape}.")
    if x.shape[0] < min_samples:
        raise InvalidParameterError(
            f"Expected n_samples >= {min_samples} ({why}) to fit {owner} but got {x.shape[0]}."
        )
    if not np.all(np.isfinite(x)):
        raise DegenerateFitError(f"{owner} got non-finite training data (the previous generation diverged).")
    return x


def check_bias(bias: float) -> float:
    if not 0.0 < bias <= 1.0:
        raise InvalidParameterError(f"The 'bias' parameter must be in (0, 1]. Got {bias!r} instead.")
    return float(bias)
