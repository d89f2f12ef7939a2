"""Real data sources (the distribution P_r)."""

from . import gaussian, gmm, image_set, images, regression, text
from .base import DataSource, Mixture
from .gaussian import GaussianSource
from .gmm import MixtureSource
from .image_set import ImageSet
from .images import ImageSource
from .regression import LinearSource, LinearTruth

__all__ = [
    "DataSource", "GaussianSource", "ImageSet", "ImageSource", "LinearSource", "LinearTruth", "Mixture", "MixtureSource",
    "gaussian", "gmm", "image_set", "images", "regression", "text",
]
