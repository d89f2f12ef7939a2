"""Real data sources (the distribution P_r)."""

from . import gaussian, gmm, images, regression
from .base import DataSource, Mixture
from .gaussian import GaussianSource
from .gmm import MixtureSource
from .images import ImageSource
from .regression import LinearSource, LinearTruth

__all__ = [
    "DataSource", "GaussianSource", "ImageSource", "LinearSource", "LinearTruth", "Mixture", "MixtureSource",
    "gaussian", "gmm", "images", "regression",
]
