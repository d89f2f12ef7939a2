"""Generator families (models in the loop)."""

from . import gaussian, gmm, kde, ridge
from .base import Generator, GeneratorConfig
from .gaussian import GaussianGenerator
from .gmm import GMMGenerator
from .kde import KDEGenerator
from .ridge import LinearRidge

__all__ = ["GMMGenerator", "GaussianGenerator", "Generator", "GeneratorConfig", "KDEGenerator", "LinearRidge"]
