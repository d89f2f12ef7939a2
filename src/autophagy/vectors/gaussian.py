"""Gaussian family: fit a mean and a covariance, sample from N(μ_t, λ Σ_t).

The fully synthetic Gaussian loop is the setting of the collapse laws of Shumailov et al.
(2024, §3) and of the MAD article's analysis (Alemohammad et al., 2024, §3–5): with the MLE the
covariance shrinks in expectation by (n-1)/n per generation, and λ < 1 shrinks it further by λ.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

import numpy as np

from autophagy.core.generator import (
    GeneratorConfig,
    ModelMemory,
    check_bias,
    check_fitted,
    check_training_data,
)
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

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes of one model (mean and covariance, a sampling factor per λ) and of one fit
        (a centred copy of the data, eigh's work: about 4 d² floats)."""
        return ModelMemory(8 * (3 * width**2 + width), 8 * (4 * width**2 + n_train * width), "data.dim", f"covariance matrices of {width}² floats")


class GaussianGenerator:
    """Multivariate Gaussian with a full covariance.

    λ (``bias``) scales the covariance: samples come from N(mean_, λ cov_).

    Attributes:
        mean_: shape (d,).
        cov_: shape (d, d).
    """

    #: ``fit`` draws nothing from its ``rng`` (the sampled engine then makes no ``fit`` stream).
    deterministic_fit: ClassVar[bool] = True

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
            self.mean_, self.cov_ = mean_cov(x, ddof=0 if self.estimator == "mle" else 1)
        if not (np.isfinite(self.mean_).all() and np.isfinite(self.cov_).all()):
            raise DegenerateFitError("Gaussian fit produced a non-finite mean or covariance.")
        self._factors: tuple[np.ndarray, dict[float, np.ndarray]] = (self.cov_, {})
        return self

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        factor = self._factor(bias)
        return self.mean_ + rng.standard_normal((n, self.mean_.shape[0])) @ factor.T

    def _factor(self, bias: float) -> np.ndarray:
        """F (d, d) with F Fᵀ = λ cov_ (from ``eigh``, eigenvalues clipped at 0), kept per λ
        until the next fit or ``set_state``."""
        check_fitted(self, "mean_")
        factors: dict[float, np.ndarray]
        cov, factors = getattr(self, "_factors", (None, {}))
        if cov is not self.cov_:  # cov_ set by hand
            cov, factors = self.cov_, {}
            self._factors = (cov, factors)
        factor = factors.get(bias)
        if factor is None:
            values, vectors = np.linalg.eigh(check_bias(bias) * cov)
            factor = factors[bias] = vectors * np.sqrt(np.clip(values, 0.0, None))
        return factor

    def samples_finite(self, *, bias: float = 1.0) -> bool:
        """Whether every sample this fitted model can draw with λ = ``bias`` is certain to be
        finite: true when mean_ and the factor F of λ cov_ are far from overflow, Σ|mean_| +
        10⁶ Σ|F| <= 1e300 (a sample is mean_ + F z, and a standard-normal draw z is far below
        10⁶ in size; a NaN or inf fails the test). The sampled engine then draws the evaluation
        samples only for metrics that read them."""
        factor = self._factor(bias)
        return float(np.abs(self.mean_).sum()) + 1e6 * float(np.abs(factor).sum()) <= 1e300

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
        self._factors = (self.cov_, {})
        return self


def mean_cov(x: np.ndarray, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """``x.mean(axis=0)`` and ``np.atleast_2d(np.cov(x, rowvar=False, ddof=ddof))`` bit for bit
    (the same reductions and the same BLAS call, without ``np.cov``'s generic checks).

    Args:
        x: float64, shape (n, d), n - ddof >= 1.
        ddof: 0 (divide the scatter by n) or 1 (by n - 1).

    Returns:
        The mean, shape (d,), and the covariance, shape (d, d).
    """
    mean = x.mean(axis=0)
    centred = np.array(x, dtype=np.float64)  # np.cov's copy (same memory order as x)
    # np.cov averages its copy: the same sums as x's own mean when the layouts agree
    centred -= mean if x.flags.c_contiguous else centred.mean(axis=0)
    cov = np.dot(centred.T, centred)  # (d, d), the product np.cov makes (syrk)
    cov *= np.true_divide(1, x.shape[0] - ddof)
    return mean, cov


@register("generator", "gaussian", "fit mean and covariance (mle|unbiased); sample N(mean, λ·cov)", GaussianGeneratorConfig, provides={"log_prob", "moments", "state"})
def build(config: GaussianGeneratorConfig, source: object = None) -> GaussianGenerator:
    return GaussianGenerator(estimator=config.estimator, shrinkage=config.shrinkage)
