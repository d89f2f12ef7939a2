"""Generator families (models in the loop)."""

from . import ddpm, gan, gaussian, gmm, kde, kernel, ngram, ridge, transformer, vae
from .base import Generator, GeneratorConfig
from .gaussian import GaussianGenerator
from .gmm import GMMGenerator
from .kde import KDEGenerator
from .kernel import KernelRidge
from .ridge import LinearRidge

__all__ = ["GMMGenerator", "GaussianGenerator", "Generator", "GeneratorConfig", "KDEGenerator", "KernelRidge", "LinearRidge"]
