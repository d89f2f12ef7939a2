"""Real data sources (the distribution P_r)."""

from . import gaussian, gmm, regression
from .base import DataSource, Mixture
from .gaussian import GaussianSource
from .gmm import MixtureSource
from .regression import LinearSource, LinearTruth

__all__ = ["DataSource", "GaussianSource", "LinearSource", "LinearTruth", "Mixture", "MixtureSource", "gaussian", "gmm", "regression"]
