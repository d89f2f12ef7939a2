"""Kernel ridge "fake-data" labellers (Dohmatob, Feng & Kempe 2024, §6: kernel ridge on MNIST).

The kernel analogue of :mod:`autophagy.regression.ridge`: ``fit`` solves kernel ridge
regression on rows [x, y]; ``sample`` draws fresh inputs from the real input distribution and
labels them with the fitted predictor plus Gaussian noise of standard deviation √λ·σ.

Kernels are scikit-learn's (:func:`sklearn.metrics.pairwise.pairwise_kernels`, the ones
``KernelRidge`` uses): ``rbf`` k(x, z) = exp(-γ‖x - z‖²) and ``poly`` k(x, z) = (γ x·z + c0)^degree,
γ = 1 / n_features when unset (scikit-learn's default for these kernels).

Ridge convention: the lab's, as for ``linear_ridge``. f̂ = argmin ‖f(X) - y‖²/n + α‖f‖²_H, i.e.
f̂(x) = k(x, X) c with (K + nαI) c = y. scikit-learn's ``KernelRidge(alpha=a)`` solves
(K + aI) c = y, so it is a = n·α; with the linear kernel this is exactly ``linear_ridge``'s ŵ.
α = 0 is the minimum-norm interpolant c = K⁺y (least squares, no jitter), which stays defined
when training images repeat (the pool is sampled with replacement, so K is often singular).
There is no intercept, as in the article and in ``KernelRidge``.
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
from pydantic import Field, PositiveFloat, PositiveInt

from autophagy.core.generator import (
    GeneratorConfig,
    ModelMemory,
    check_bias,
    check_fitted,
    check_training_data,
)
from autophagy.exceptions import InvalidParameterError
from autophagy.registry import register
from autophagy.regression.ridge import label_noise


class KernelRidgeConfig(GeneratorConfig):
    """``generator: {kind: kernel_ridge, kernel, alpha, gamma, degree, coef0, noise, bias}``.

    ``kernel``: ``rbf`` or ``poly``. ``alpha``: ridge parameter α >= 0 in the lab's convention
    (K + nαI)c = y; scikit-learn's ``KernelRidge`` alpha is n·α; 0 = minimum-norm interpolation.
    ``gamma``: γ > 0 of both kernels; None: 1 / n_features. ``degree`` (integer >= 1) and
    ``coef0`` (c0 >= 0) shape the ``poly`` kernel and are ignored by ``rbf``. ``noise``: σ, the
    standard deviation of the labels' noise when this generator labels fresh inputs (None: the
    real data's σ0). ``bias`` λ scales the label-noise variance (λσ²).
    """

    kind: Literal["kernel_ridge"] = "kernel_ridge"
    kernel: Literal["rbf", "poly"] = "rbf"
    alpha: float = Field(default=1e-5, ge=0.0, description="ridge parameter α >= 0 ((K + nαI)c = y)")
    gamma: PositiveFloat | None = Field(default=None, description="kernel γ > 0; None: 1 / n_features")
    degree: PositiveInt = Field(default=3, description="poly kernel degree, an integer >= 1")
    coef0: float = Field(default=1.0, ge=0.0, description="poly kernel constant c0 >= 0")
    noise: float | None = Field(default=None, ge=0.0, description="label noise σ of synthetic labels")

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes of one model (its training inputs and dual coefficients) and of one fit (the
        n × n kernel matrix and its solve)."""
        kept = 8 * n_train * (width + 1)
        return ModelMemory(kept, 8 * 3 * n_train**2, None, f"kernel matrices of {n_train:,}² floats")


def kernel_matrix(a: np.ndarray, b: np.ndarray, kernel: str, gamma: float, degree: int, coef0: float) -> np.ndarray:
    """k(a_i, b_j) for a (n, p), b (m, p) -> (n, m), with scikit-learn's kernel functions."""
    from sklearn.metrics.pairwise import pairwise_kernels

    params = {"gamma": gamma} if kernel == "rbf" else {"gamma": gamma, "degree": degree, "coef0": coef0}
    return pairwise_kernels(a, b, metric=kernel, **params)


def kernel_ridge_solve(k: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Dual coefficients c with (K + nαI) c = y for K (n, n), y (n,); c = K⁺y when α = 0."""
    from scipy.linalg import solve

    n = len(y)
    if alpha == 0.0:
        return np.linalg.lstsq(k, y, rcond=None)[0]
    return solve(k + n * alpha * np.eye(n), y, assume_a="pos")


class KernelRidge:
    """A kernel ridge labeller y = k(x, X) c + √λ σ ε.

    Attributes:
        x_train_: training inputs X, shape (n, p).
        dual_coef_: dual coefficients c, shape (n,).
        gamma_: the kernel γ actually used.
    """

    def __init__(
        self,
        source: Any,
        kernel: str = "rbf",
        alpha: float = 1e-5,
        gamma: float | None = None,
        degree: int = 3,
        coef0: float = 1.0,
        noise: float = 0.1,
    ) -> None:
        if not hasattr(source, "sample_inputs"):
            raise InvalidParameterError("A kernel_ridge generator needs a regression data source (data.kind 'linear' or 'digits').")
        self.source, self.kernel, self.alpha, self.gamma = source, kernel, float(alpha), gamma
        self.degree, self.coef0, self.noise = int(degree), float(coef0), float(noise)

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        rows = check_training_data(x, 2, "a kernel_ridge labeller", "at least 2 labelled rows")
        inputs = rows[:, :-1]
        self.gamma_ = float(self.gamma) if self.gamma is not None else 1.0 / inputs.shape[1]
        k = self._k(inputs, inputs)  # (n, n)
        self.dual_coef_ = kernel_ridge_solve(k, rows[:, -1], self.alpha)
        self.x_train_ = inputs
        return self

    def _k(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return kernel_matrix(a, b, self.kernel, self.gamma_, self.degree, self.coef0)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions k(x, X) c for inputs (m, p) -> (m,)."""
        check_fitted(self, "dual_coef_")
        return self._k(np.asarray(x, dtype=float), self.x_train_) @ self.dual_coef_

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """n fresh inputs labelled by this generator: rows (n, p + 1)."""
        check_fitted(self, "dual_coef_")
        x = self.source.sample_inputs(n, rng=rng)
        y = self.predict(x) + np.sqrt(check_bias(bias)) * self.noise * rng.standard_normal(n)
        return np.column_stack([x, y])

    def downstream(self, rows: np.ndarray, alpha: float) -> KernelRidge:
        """A new labeller of this family (same kernel) fitted on ``rows`` with ridge ``alpha``."""
        clone = KernelRidge(self.source, self.kernel, alpha, self.gamma, self.degree, self.coef0, self.noise)
        return clone.fit(rows, rng=np.random.default_rng(0))

    def get_state(self) -> dict[str, np.ndarray]:
        check_fitted(self, "dual_coef_")
        return {"x_train": self.x_train_, "dual_coef": self.dual_coef_, "gamma": np.asarray(self.gamma_)}

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        self.x_train_ = np.asarray(state["x_train"], dtype=float)
        self.dual_coef_ = np.asarray(state["dual_coef"], dtype=float)
        self.gamma_ = float(state["gamma"])
        return self


@register("generator", "kernel_ridge", "kernel ridge labeller (rbf | poly): (K + nαI)c = y on rows (x, y); label fresh inputs k(x, X)c + √λ·σ·noise", KernelRidgeConfig, provides={"downstream", "state"})
def build(config: KernelRidgeConfig, source: object = None) -> KernelRidge:
    return KernelRidge(source, config.kernel, config.alpha, config.gamma, config.degree, config.coef0, label_noise(config, source))
