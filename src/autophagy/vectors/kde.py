"""Kernel density estimate family (scikit-learn ``KernelDensity``, Gaussian kernel).

λ (``bias``) scales the bandwidth by √λ, i.e. the kernel's variance by λ: a biased sample is a
training point plus less noise. Note the loop without bias is not neutral: every generation adds
the kernel's variance h² to the data's, so a fully synthetic KDE loop spreads out.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np
from pydantic import PositiveFloat

from autophagy.core.generator import (
    GeneratorConfig,
    ModelMemory,
    check_bias,
    check_fitted,
    check_training_data,
)
from autophagy.registry import register


class KDEGeneratorConfig(GeneratorConfig):
    """``generator: {kind: kde, bias, bandwidth}``; bandwidth a number, ``scott`` or ``silverman``."""

    kind: Literal["kde"] = "kde"
    bandwidth: PositiveFloat | Literal["scott", "silverman"] = "scott"

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes of one model (its training set) and of sampling or scoring (a tree over a copy)."""
        data = 8 * n_train * width
        return ModelMemory(data, 3 * data, None, f"a copy of its training set ({n_train:,} × {width} floats)")


class KDEGenerator:
    """Gaussian-kernel density estimate.

    Attributes:
        data_: the training set, shape (n, d).
        bandwidth_: the kernel standard deviation h actually used.
    """

    def __init__(self, bandwidth: float | str = "scott") -> None:
        self.bandwidth = bandwidth

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        from sklearn.neighbors import KernelDensity

        x = check_training_data(x, 2, "a kernel density estimate", "at least 2")
        self.data_ = x
        self.bandwidth_ = float(KernelDensity(bandwidth=self.bandwidth).fit(x).bandwidth_)
        return self

    def _kde(self, bias: float):  # type: ignore[no-untyped-def]
        from sklearn.neighbors import KernelDensity

        return KernelDensity(bandwidth=self.bandwidth_ * np.sqrt(check_bias(bias))).fit(self.data_)

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        check_fitted(self, "data_")
        return self._kde(bias).sample(n, random_state=int(rng.integers(2**31 - 1)))

    def log_prob(self, x: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        """Log density of each row of ``x`` (n, d) with bandwidth h√λ."""
        check_fitted(self, "data_")
        return self._kde(bias).score_samples(np.asarray(x, dtype=float))

    def moments(self, *, bias: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Exact mean and covariance of the KDE: the data's (ddof 0) plus λh² I."""
        check_fitted(self, "data_")
        d = self.data_.shape[1]
        cov = np.atleast_2d(np.cov(self.data_, rowvar=False, ddof=0))
        return self.data_.mean(axis=0), cov + check_bias(bias) * self.bandwidth_**2 * np.eye(d)

    def get_state(self) -> dict[str, np.ndarray]:
        check_fitted(self, "data_")
        return {"data": self.data_, "bandwidth": np.asarray(self.bandwidth_)}

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        self.data_, self.bandwidth_ = np.asarray(state["data"]), float(state["bandwidth"])
        return self


@register("generator", "kde", "scikit-learn KernelDensity (Gaussian kernel); λ scales the bandwidth by √λ", KDEGeneratorConfig, provides={"log_prob", "moments", "state"})
def build(config: KDEGeneratorConfig, source: object = None) -> KDEGenerator:
    return KDEGenerator(bandwidth=config.bandwidth)
