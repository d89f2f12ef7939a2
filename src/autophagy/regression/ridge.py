"""Linear ridge "fake-data" labellers (Dohmatob, Feng & Kempe 2024, §2-3).

A labeller is a generator over regression rows [x, y]: ``fit`` solves ridge regression on the
rows; ``sample`` draws fresh inputs from the real input distribution and labels them with the
fitted predictor plus Gaussian noise of standard deviation √λ·σ. Generation k of a fully
synthetic loop is therefore the article's k-th fake-data generator: T0 fresh inputs labelled by
generation k-1, refitted.

Ridge convention (the article's): ŵ = argmin ‖Xw - y‖²/n + α‖w‖², i.e. (XᵀX + nαI) ŵ = Xᵀy; α = 0 is
ordinary least squares (the minimum-norm solution when n < d).
"""

from __future__ import annotations

from typing import Any, Literal, Self

import numpy as np
from pydantic import Field

from autophagy.core.generator import (
    GeneratorConfig,
    ModelMemory,
    check_bias,
    check_fitted,
    check_training_data,
)
from autophagy.exceptions import InvalidParameterError
from autophagy.registry import register


class LinearRidgeConfig(GeneratorConfig):
    """``generator: {kind: linear_ridge, alpha, noise, bias}``.

    ``alpha``: ridge parameter α >= 0 (0 = least squares). ``noise``: σ, the standard deviation of
    the labels' noise when this generator labels fresh inputs (None: the real data's σ0).
    ``bias`` λ scales the label-noise variance (λσ²): λ < 1 gives cleaner, less diverse labels.
    """

    kind: Literal["linear_ridge"] = "linear_ridge"
    alpha: float = Field(default=0.0, ge=0.0, description="ridge parameter α >= 0")
    noise: float | None = Field(default=None, ge=0.0, description="label noise σ of synthetic labels")

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes of one model (the coefficients) and of one fit (a Gram matrix and its solve)."""
        return ModelMemory(8 * width, 8 * (3 * width**2 + 2 * n_train * width), "data.dim", f"Gram matrices of {width}² floats")


def ridge_solve(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """(XᵀX + nαI)⁻¹ Xᵀy for x (n, d), y (n,); least squares (minimum norm) when α = 0."""
    n, d = x.shape
    if alpha == 0.0:
        return np.linalg.lstsq(x, y, rcond=None)[0]
    return np.linalg.solve(x.T @ x + n * alpha * np.eye(d), x.T @ y)


class LinearRidge:
    """A linear labeller y = x·coef_ + √λ σ ε.

    Attributes:
        coef_: fitted coefficients, shape (d,).
    """

    def __init__(self, source: Any, alpha: float = 0.0, noise: float = 0.1) -> None:
        if not hasattr(source, "sample_inputs"):
            raise InvalidParameterError("A linear_ridge generator needs a regression data source (data.kind 'linear' or 'digits').")
        self.source, self.alpha, self.noise = source, float(alpha), float(noise)

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        rows = check_training_data(x, 2, "a linear_ridge labeller", "at least 2 labelled rows")
        self.coef_ = ridge_solve(rows[:, :-1], rows[:, -1], self.alpha)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions x·coef_ for inputs (n, d) -> (n,)."""
        check_fitted(self, "coef_")
        return np.asarray(x) @ self.coef_

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """n fresh inputs labelled by this generator: rows (n, d + 1)."""
        check_fitted(self, "coef_")
        x = self.source.sample_inputs(n, rng=rng)
        y = self.predict(x) + np.sqrt(check_bias(bias)) * self.noise * rng.standard_normal(n)
        return np.column_stack([x, y])

    def downstream(self, rows: np.ndarray, alpha: float) -> LinearRidge:
        """A new labeller of this family fitted on ``rows`` with ridge parameter ``alpha``."""
        return LinearRidge(self.source, alpha, self.noise).fit(rows, rng=np.random.default_rng(0))

    def get_state(self) -> dict[str, np.ndarray]:
        check_fitted(self, "coef_")
        return {"coef": self.coef_}

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        self.coef_ = np.asarray(state["coef"])
        return self


def label_noise(config: Any, source: Any) -> float:
    """The generator's σ: its own ``noise`` or, when unset, the real data's σ0."""
    if config.noise is not None:
        return float(config.noise)
    if hasattr(source, "regression"):
        return float(source.regression().noise)
    return float(getattr(source, "noise", 0.0))  # e.g. image data (data.kind 'digits')


@register("generator", "linear_ridge", "ridge labeller: fit (XᵀX + nαI)w = Xᵀy on rows [x, y]; label fresh inputs x·w + √λ·σ·noise", LinearRidgeConfig, provides={"downstream", "coef", "state"})
def build(config: LinearRidgeConfig, source: object = None) -> LinearRidge:
    return LinearRidge(source, config.alpha, label_noise(config, source))
