"""Gaussian mixture family (scikit-learn ``GaussianMixture``, fitted by EM).

λ (``bias``) scales every component's covariance: a biased sample stays closer to the mode it
came from, the mixture analogue of sampling N(μ, λΣ) in the MAD article (§2.3).
"""

from __future__ import annotations

import warnings
from typing import Literal, Self

import numpy as np
from pydantic import Field, PositiveInt

from autophagy.core.generator import (
    GeneratorConfig,
    ModelMemory,
    check_bias,
    check_fitted,
    check_training_data,
)
from autophagy.core.source import DataSource, Mixture
from autophagy.exceptions import DegenerateFitError, StatisticalWarning
from autophagy.registry import register


class GMMGeneratorConfig(GeneratorConfig):
    """``generator: {kind: gmm, bias, n_components, covariance_type, ...}``.

    ``n_components: auto`` uses the true number of modes when the data is a mixture, else 1.
    """

    kind: Literal["gmm"] = "gmm"
    n_components: PositiveInt | Literal["auto"] = "auto"
    covariance_type: Literal["full", "tied", "diag", "spherical"] = "full"
    max_iter: PositiveInt = 100
    n_init: PositiveInt = 1
    reg_covar: float = Field(default=1e-6, ge=0.0)
    init_params: Literal["kmeans", "k-means++", "random", "random_from_data"] = "kmeans"

    def memory_estimate(self, width: int, n_train: int) -> ModelMemory:
        """Bytes of one model (k means and covariances with their precision factors) and of one
        EM fit (responsibilities and log-densities of every row for every component); ``auto``
        is counted as 50 components at most."""
        k = self.n_components if isinstance(self.n_components, int) else min(n_train, 50)
        per = {"full": 2 * width**2, "tied": 2 * width**2 // k + 1, "diag": 2 * width, "spherical": 2}[self.covariance_type]
        kept = 8 * k * (per + width + 1)
        return ModelMemory(kept, 2 * kept + 8 * 4 * n_train * k, "generator.n_components", f"{k} mixture components of {width}-d")


def _full_covariances(covariances: np.ndarray, covariance_type: str, k: int, d: int) -> np.ndarray:
    """scikit-learn's covariances_ in any covariance_type -> shape (k, d, d)."""
    if covariance_type == "full":
        return np.asarray(covariances)
    if covariance_type == "tied":
        return np.broadcast_to(covariances, (k, d, d)).copy()
    if covariance_type == "diag":
        return np.stack([np.diag(c) for c in covariances])
    return np.asarray(covariances)[:, None, None] * np.eye(d)


class GMMGenerator:
    """Gaussian mixture with ``n_components`` components.

    Attributes:
        mixture_: the fitted :class:`~autophagy.data.Mixture` (covariances stored as full
            (k, d, d) matrices whatever ``covariance_type`` was used).
    """

    def __init__(
        self,
        n_components: int = 1,
        covariance_type: str = "full",
        max_iter: int = 100,
        n_init: int = 1,
        reg_covar: float = 1e-6,
        init_params: str = "kmeans",
    ) -> None:
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.max_iter = max_iter
        self.n_init = n_init
        self.reg_covar = reg_covar
        self.init_params = init_params

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.mixture import GaussianMixture

        x = check_training_data(x, self.n_components, "a Gaussian mixture", "n_components")
        model = GaussianMixture(
            n_components=self.n_components,
            covariance_type=self.covariance_type,
            max_iter=self.max_iter,
            n_init=self.n_init,
            reg_covar=self.reg_covar,
            init_params=self.init_params,
            random_state=int(rng.integers(2**31 - 1)),
        )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            try:
                model.fit(x)
            except ValueError as exc:  # e.g. an ill-defined empirical covariance
                raise DegenerateFitError(f"Gaussian mixture fit failed: {exc}") from exc
        if any(issubclass(w.category, ConvergenceWarning) for w in caught):
            warnings.warn(
                "GaussianMixture did not converge; increase generator.max_iter or check for "
                "degenerate data.",
                StatisticalWarning,
                stacklevel=2,
            )
        k, d = model.means_.shape
        covariances = _full_covariances(model.covariances_, self.covariance_type, k, d)
        self.mixture_ = Mixture(model.weights_, model.means_, covariances)
        if not all(np.all(np.isfinite(a)) for a in (model.weights_, model.means_, covariances)):
            raise DegenerateFitError("Gaussian mixture fit produced non-finite parameters.")
        return self

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        check_fitted(self, "mixture_")
        return self.mixture_.sample(n, rng, scale=check_bias(bias))

    def log_prob(self, x: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        """Log density of each row of ``x`` (n, d) under the mixture with covariances λΣ_k."""
        check_fitted(self, "mixture_")
        m = self.mixture_
        return Mixture(m.weights, m.means, check_bias(bias) * m.covariances).log_prob(x)

    def moments(self, *, bias: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Mean (d,) and covariance (d, d) of the biased mixture."""
        check_fitted(self, "mixture_")
        m = self.mixture_
        return Mixture(m.weights, m.means, check_bias(bias) * m.covariances).moments()

    def get_state(self) -> dict[str, np.ndarray]:
        check_fitted(self, "mixture_")
        m = self.mixture_
        return {"weights": m.weights, "means": m.means, "covariances": m.covariances}

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        self.mixture_ = Mixture(
            np.asarray(state["weights"]), np.asarray(state["means"]), np.asarray(state["covariances"])
        )
        return self


@register("generator", "gmm", "scikit-learn GaussianMixture (EM); λ scales each component's covariance", GMMGeneratorConfig, provides={"log_prob", "moments", "state"})
def build(config: GMMGeneratorConfig, source: DataSource | None = None) -> GMMGenerator:
    truth = source.truth() if source is not None else None
    n_modes = len(truth.weights) if truth is not None else 1
    k = n_modes if config.n_components == "auto" else config.n_components
    return GMMGenerator(
        n_components=k,
        covariance_type=config.covariance_type,
        max_iter=config.max_iter,
        n_init=config.n_init,
        reg_covar=config.reg_covar,
        init_params=config.init_params,
    )
