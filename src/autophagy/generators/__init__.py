"""Generator families (models in the loop)."""

from . import gaussian, gmm, kde
from .base import Generator, GeneratorConfig
from .gaussian import GaussianGenerator
from .gmm import GMMGenerator
from .kde import KDEGenerator

__all__ = ["GMMGenerator", "GaussianGenerator", "Generator", "GeneratorConfig", "KDEGenerator"]
