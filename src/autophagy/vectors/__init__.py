"""Vectors in R^d: Gaussian and Gaussian-mixture truths, a user's own table of vectors, and the
Gaussian, GMM and KDE generators, with the metrics that need a known Gaussian (mixture) truth.

Importing this package registers nothing by itself beyond what :mod:`autophagy.builtins` imports.
"""

from autophagy.vectors.gaussian import GaussianGenerator
from autophagy.vectors.gaussian_data import GaussianSource
from autophagy.vectors.gmm import GMMGenerator
from autophagy.vectors.gmm_data import MixtureSource
from autophagy.vectors.kde import KDEGenerator

__all__ = ["GMMGenerator", "GaussianGenerator", "GaussianSource", "KDEGenerator", "MixtureSource"]
