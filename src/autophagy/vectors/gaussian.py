"""Gaussian family: fit a mean and a covariance, sample from N(μ_t, λ Σ_t).

The fully synthetic Gaussian loop is the setting of the collapse laws of Shumailov et al.
(2024, §3) and of the MAD article's analysis (Alemohammad et al., 2024, §3–5): with the MLE the
covariance shrinks in expectation by (n-1)/n per generation, and λ < 1 shrinks it further by λ.
"""

from __future__ import annotations

from typing import Literal, Self

import numpy as np

from autophagy.core.generator import GeneratorConfig, check_bias, check_fitted, check_training_data
from autophagy.exceptions import DegenerateFitError
from autophagy.registry import register


class GaussianGeneratorConfig(GeneratorConfig):
    """``generator: {kind: gaussian, bias, estimator, shrinkage}``.

    ``estimator``: ``mle`` (divide the scatter by n) or ``unbiased`` (by n - 1).
    ``shrinkage``: when true, fall back to Ledoit-Wolf shrinkage if the training set has fewer
    than d + 1 samples (a full covariance is singular there); when false that is an error.
    """

    kind: Literal["gaussian"] = "gaussian"
    estimator: Literal["mle", "unbiased"] = "mle"
    shrinkage: bool = False


class GaussianGenerator:
    """Multivariate Gaussian with a full covariance.

    λ (``bias``) scales the covariance: samples come from N(mean_, λ cov_).

    Attributes:
        mean_: shape (d,).
        cov_: shape (d, d).
    """

    def __init__(self, estimator: str = "mle", shrinkage: bool = False) -> None:
        self.estimator = estimator
        self.shrinkage = shrinkage

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        d = np.shape(x)[1] if np.ndim(x) == 2 else 0
        minimum = 2 if self.shrinkage else d + 1
        x = check_training_data(x, minimum, "a full-covariance Gaussian", "n_features + 1; or set generator.shrinkage: true")
        if x.shape[0] < d + 1:
            from sklearn.covariance import LedoitWolf

            lw = LedoitWolf().fit(x)
            self.mean_, self.cov_ = lw.location_, lw.covariance_
        else:
            self.mean_ = x.mean(axis=0)
            ddof = 0 if self.estimator == "mle" else 1
            self.cov_ = np.atleast_2d(np.cov(x, rowvar=False, ddof=ddof))
        if not (np.all(np.isfinite(self.mean_)) and np.all(np.isfinite(self.cov_))):
            raise DegenerateFitError("Gaussian fit produced a non-finite mean or covariance.")
        return self

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        check_fitted(self, "mean_")
        values, vectors = np.linalg.eigh(check_bias(bias) * self.cov_)
        factor = vectors * np.sqrt(np.clip(values, 0.0, None))
        return self.mean_ + rng.standard_normal((n, self.mean_.shape[0])) @ factor.T

    def log_prob(self, x: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        """Log density under N(mean_, λ cov_) of each row of ``x`` (n, d) -> (n,)."""
        from scipy.stats import multivariate_normal

        check_fitted(self, "mean_")
        dist = multivariate_normal(self.mean_, check_bias(bias) * self.cov_, allow_singular=True)
        return np.asarray(dist.logpdf(x)).reshape(-1)

    def moments(self, *, bias: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Mean (d,) and covariance (d, d) of the sampling distribution N(mean_, λ cov_)."""
        check_fitted(self, "mean_")
        return self.mean_, check_bias(bias) * self.cov_

    def get_state(self) -> dict[str, np.ndarray]:
        check_fitted(self, "mean_")
        return {"mean": self.mean_, "cov": self.cov_}

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        self.mean_, self.cov_ = np.asarray(state["mean"]), np.asarray(state["cov"])
        return self


@register("generator", "gaussian", "fit mean and covariance (mle|unbiased); sample N(mean, λ·cov)", GaussianGeneratorConfig, provides={"log_prob", "moments", "state"})
def build(config: GaussianGeneratorConfig, source: object = None) -> GaussianGenerator:
    return GaussianGenerator(estimator=config.estimator, shrinkage=config.shrinkage)
