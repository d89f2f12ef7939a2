"""The loop's contracts, imported by every family and importing none: what a data source
(:mod:`.source`) and a generator (:mod:`.generator`) are, and readers of local image arrays
shared by the image and regression families (:mod:`.image_files`)."""

from autophagy.core.generator import Generator, GeneratorConfig, Likelihood, Stateful
from autophagy.core.source import DataSource, Mixture

__all__ = ["DataSource", "Generator", "GeneratorConfig", "Likelihood", "Mixture", "Stateful"]
