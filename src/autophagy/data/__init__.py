"""Real data sources (the distribution P_r)."""

from . import gaussian, gmm
from .base import DataSource, Mixture
from .gaussian import GaussianSource
from .gmm import MixtureSource

__all__ = ["DataSource", "GaussianSource", "Mixture", "MixtureSource", "gaussian", "gmm"]
