"""Image metrics: FID in a fixed feature space, and class collapse read off a fixed classifier.

Generated images are compared with held-out real images in the feature space of
:func:`autophagy.images.features.feature_network`: by default the penultimate layer of the
lab's digit classifier (a small CNN trained once on the data's training images with a fixed
seed), or a user's local Inception-v3 (``eval.feature_network``) for standard FID. In that space:

* ``fid``: the squared Fréchet distance between Gaussian fits of the real and generated
  features (Heusel et al. 2017), ``‖μ_r - μ_g‖² + tr(Σ_r + Σ_g - 2 (Σ_r^½ Σ_g Σ_r^½)^½)``;
* ``precision``, ``recall``, ``density``, ``coverage`` (registered in
  :mod:`autophagy.metrics.evaluate`; for images they call :func:`features`).

The class metrics use the classes the lab's classifier predicts for the generated images
(always the lab's classifier, which knows the data's K classes, even when ``fid`` uses
Inception): ``class_entropy``, ``class_frequency`` and, for class-conditional generators,
``classifier_accuracy``. They show mode (class) collapse: a loop that loses digits drives the
entropy from log K towards 0.

Torch loads when a metric first runs, not when this module is imported.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any, Protocol, cast

import numpy as np

from autophagy.metrics.evaluate import EvalContext, metric


class _ImageSource(Protocol):
    """What these metrics read of a labelled-image source (data.kind 'images')."""

    @property
    def image_shape(self) -> tuple[int, int, int]: ...

    @property
    def n_classes(self) -> int: ...


def _image_source(ctx: EvalContext) -> _ImageSource:
    """``ctx.source``: a labelled-image source wherever an image metric runs (the config checks it)."""
    return cast(_ImageSource, ctx.source)


def _images(ctx: EvalContext, pixels: np.ndarray) -> np.ndarray:
    """Rows of pixels (n, C·H·W) -> images (n, C, H, W) float32; ValueError when not finite."""
    if not np.all(np.isfinite(pixels)):
        raise ValueError("generated images hold NaN or infinite pixels")
    return np.asarray(pixels, dtype=np.float32).reshape(len(pixels), *_image_source(ctx).image_shape)


#: Features of held-out real image sets, by (feature network, SHA-256 of the pixels): a run's
#: held-out set is the same every generation, so it is embedded once per process. The value
#: keeps the network alive, so its id is not reused while the entry exists.
_REAL_FEATURES: OrderedDict[tuple[int, str], tuple[Any, np.ndarray]] = OrderedDict()
_REAL_FEATURES_KEPT = 4


def _real_features(net: Any, images: np.ndarray) -> np.ndarray:
    key = (id(net), hashlib.sha256(np.ascontiguousarray(images).tobytes()).hexdigest())
    if key not in _REAL_FEATURES:
        _REAL_FEATURES[key] = (net, net.embed(images))
        while len(_REAL_FEATURES) > _REAL_FEATURES_KEPT:
            _REAL_FEATURES.popitem(last=False)
    _REAL_FEATURES.move_to_end(key)
    return _REAL_FEATURES[key][1]


def features(ctx: EvalContext) -> tuple[np.ndarray, np.ndarray]:
    """Features of the held-out real and the generated images, (n_real, F) and (n_fake, F) float64.

    Computed once per generation (``ctx.cache``) with ``feature_network(source, eval config)``;
    the held-out real ones once per process and held-out set.
    """
    if "features" not in ctx.cache:
        from autophagy.images.features import feature_network

        net = feature_network(ctx.source, ctx.config)
        ctx.cache["features"] = (_real_features(net, _images(ctx, ctx.real)), net.embed(_images(ctx, ctx.fake)))
    return ctx.cache["features"]


def predictions(ctx: EvalContext) -> np.ndarray:
    """Classes (n_fake,) int64 that the lab's classifier gives the generated images (cached)."""
    if "predictions" not in ctx.cache:
        from autophagy.images.features import classifier

        ctx.cache["predictions"] = classifier(ctx.source).predict(_images(ctx, ctx.fake))
    return ctx.cache["predictions"]


def _class_shares(ctx: EvalContext) -> np.ndarray:
    """p_k, the share of generated images predicted as class k, shape (K,); sums to 1."""
    k = int(_image_source(ctx).n_classes)
    return np.bincount(predictions(ctx), minlength=k)[:k] / len(ctx.fake)


@metric("fid", "Fréchet distance (squared) between Gaussian fits of real and generated image features (lab classifier, or eval.feature_network)")
def _fid(ctx: EvalContext) -> float:
    from autophagy.metrics.functional import frechet_distance

    real, fake = features(ctx)
    return frechet_distance(real, fake)


@metric("class_entropy", "entropy (nats) of the classes the lab's classifier predicts for generated images: log K = balanced, 0 = one class")
def _class_entropy(ctx: EvalContext) -> float:
    """H = -Σ_k p_k log p_k over the predicted-class shares p_k (0 log 0 = 0)."""
    shares = _class_shares(ctx)
    shares = shares[shares > 0]
    return float(-np.sum(shares * np.log(shares))) + 0.0  # + 0.0: one class gives 0, not -0


@metric("class_frequency", "share of generated images the lab's classifier puts in each class (rows class_frequency_0..K-1)")
def _class_frequency(ctx: EvalContext) -> dict[int, float]:
    return {k: float(share) for k, share in enumerate(_class_shares(ctx))}


@metric("classifier_accuracy", "share of conditionally generated images that the lab's classifier assigns to their conditioning class")
def _classifier_accuracy(ctx: EvalContext) -> float:
    """Over the labelled generated images (label >= 0); NaN when none is labelled."""
    assert ctx.fake_labels is not None
    labelled = ctx.fake_labels >= 0
    if not labelled.any():
        return float("nan")
    return float(np.mean(predictions(ctx)[labelled] == ctx.fake_labels[labelled]))
