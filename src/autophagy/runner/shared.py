"""Inputs the runs of a sweep share, built once and handed to every worker once.

Components a script registered with :func:`autophagy.register` are handed over the same way.
Runs of one sweep mostly read the same data source (an image set, a corpus and its
tokenizer, a grammar's tables) and, for image data, the same feature classifier of the image
metrics. :func:`gather` builds each once, in the process that plans the sweep; the process
backend passes them to each worker through the pool's initializer and the Ray backend puts
them in the object store, so no task carries them. :func:`install` makes them this process's
own: :func:`autophagy.registry.build_source` and the image metrics then find them instead of
building their own copies.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autophagy.config import ExperimentConfig
from autophagy.plugins import Registration, registrations, replay
from autophagy.registry import build_source, data_key, provide_source


@dataclass(frozen=True)
class Classifier:
    """The image metrics' classifier of one data set (see :mod:`autophagy.images.features`)."""

    key: str
    weights: dict[str, np.ndarray]
    shape: tuple[int, int, int]
    n_classes: int


@dataclass(frozen=True)
class SharedInputs:
    """Data sources by :func:`~autophagy.registry.data_key`, and feature classifiers."""

    sources: dict[str, Any] = field(default_factory=dict)
    classifiers: tuple[Classifier, ...] = ()
    #: components registered with ``autophagy.register`` in the sweep's process
    registrations: tuple[Registration, ...] = ()

    def for_config(self, config: ExperimentConfig | Mapping[str, Any]) -> SharedInputs:
        """The part one run needs (what a Ray task is handed); ``config`` may be a ``to_dict()``."""
        key = data_key(config)
        if key not in self.sources:
            return SharedInputs(registrations=self.registrations)
        return SharedInputs({key: self.sources[key]}, self.classifiers, self.registrations)


def gather(configs: Sequence[ExperimentConfig], out: str | Path) -> SharedInputs:
    """Build every distinct data source of ``configs`` once, and train (or load from
    ``<out>/.cache``) the classifier of each image source whose runs use it."""
    from autophagy.runner.loop import set_caches

    sources: dict[str, Any] = {}
    classifiers: dict[str, Classifier] = {}
    for config in configs:
        key = data_key(config)
        if key not in sources:
            set_caches(config, Path(out) / ".cache")  # what runs train once per data set is saved there too
            sources[key] = build_source(config)
        if _uses_classifier(config) and key not in classifiers:
            classifiers[key] = _classifier(sources[key])
    return SharedInputs(sources, tuple(classifiers.values()), registrations())


def install(shared: SharedInputs) -> None:
    """Make ``shared`` this process's registered components, data sources and classifiers."""
    replay(shared.registrations)
    for key, source in shared.sources.items():
        provide_source(key, source)
    if shared.classifiers:
        from autophagy.images.features import install_classifier

        for c in shared.classifiers:
            install_classifier(c.key, c.weights, c.shape, c.n_classes)


def _uses_classifier(config: ExperimentConfig) -> bool:
    """Image data's metrics (FID, PRDC, class metrics) embed with the classifier unless
    ``eval.feature_network`` names another network."""
    return config.data.kind == "images" and config.eval.feature_network is None


def _classifier(source: Any) -> Classifier:
    from autophagy.images.features import export_classifier

    key, weights = export_classifier(source)
    return Classifier(key, weights, tuple(int(s) for s in source.image_shape), int(source.n_classes))  # type: ignore[arg-type]
