"""An autophagy plug-in: scikit-learn's BayesianGaussianMixture as a generator family.

Installed (``pip install examples/plugins/autophagy_bgm``), it registers ``generator.kind: bgm``
through the entry point ``autophagy.plugins``; without installing, the same class is reachable by
import path, ``generator: {kind: "autophagy_bgm:BayesianGMM"}`` (the folder ``src`` on PYTHONPATH).
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal
from sklearn.mixture import BayesianGaussianMixture

import autophagy


class BayesianGMM:
    """Variational Bayesian Gaussian mixture (Dirichlet-process prior); λ scales every component's covariance."""

    def __init__(self, n_components: int = 5, weight_concentration_prior: float | None = None, max_iter: int = 200) -> None:
        self.n_components, self.weight_concentration_prior, self.max_iter = n_components, weight_concentration_prior, max_iter

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> BayesianGMM:
        self.model_ = BayesianGaussianMixture(
            n_components=self.n_components, weight_concentration_prior=self.weight_concentration_prior,
            max_iter=self.max_iter, random_state=int(rng.integers(2**31 - 1)),  # every draw from the lab's stream
        ).fit(x)
        return self

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        if not 0.0 < bias <= 1.0:
            raise ValueError(f"bias must be in (0, 1]; got {bias}")
        if not hasattr(self, "model_"):
            raise autophagy.NotFittedError("call fit(x, rng=...) first")
        m = self.model_
        counts = rng.multinomial(n, m.weights_ / m.weights_.sum())
        parts = [rng.multivariate_normal(mu, bias * cov, size=k) for mu, cov, k in zip(m.means_, m.covariances_, counts, strict=True)]
        return rng.permutation(np.concatenate(parts))

    def log_prob(self, x: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        m = self.model_
        parts = [np.log(w) + multivariate_normal(mu, bias * cov, allow_singular=True).logpdf(x)
                 for w, mu, cov in zip(m.weights_, m.means_, m.covariances_, strict=True)]
        return logsumexp(np.atleast_2d(np.array(parts)), axis=0)


def register() -> None:
    """The entry point: registers ``generator.kind: bgm``."""
    autophagy.register_generator("bgm", BayesianGMM)
