"""Labelled images as the real distribution of image generators (``data.kind: images``).

A sample is one row: the flattened image (C·H·W pixels in [0, 1], channel-major) followed by its
class label (an integer stored as a float). Images come from scikit-learn's bundled ``digits``
(1,797 images 8×8, 10 classes; the default, nothing downloaded) or from a local ``.npz``/``.npy``
file the user already has (MNIST, CIFAR-10, ...; see :data:`~autophagy.core.image_files.EXPECTED_FILE`).

The pool is split once, by ``split_seed``, into a training part and a held-out part
(``holdout`` share). Real training data (the fixed set and fresh draws) come from the training
part: n images without replacement while n fits in it, with replacement beyond. The metrics
compare generated images with held-out images, drawn without replacement, so a generator that
memorises its training set gets no credit for it. P_r is thus the empirical distribution of the
training part.

Image layouts accepted from a file (N images): (N, H, W) grey; (N, H, W, C) or (N, C, H, W)
with C in {1, 3}; (N, P) flat with ``shape: [H, W]`` or ``[C, H, W]`` given (a square grey
image when P is a perfect square and ``shape`` is unset). Pixels: uint8 (divided by 255) or
non-negative numbers (divided by the pool's largest pixel when it exceeds 1). Labels: integers
0..K-1.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Literal

import numpy as np
from pydantic import Field, NonNegativeInt, PositiveInt

from autophagy._validation import Model, check
from autophagy.core.image_files import read_image_arrays
from autophagy.exceptions import InvalidParameterError
from autophagy.registry import register


class ImageSetConfig(Model):
    """``data: {kind: images, path, shape, holdout, split_seed, size}`` (see the module docstring)."""

    kind: Literal["images"] = "images"
    path: str | None = None
    shape: list[PositiveInt] | None = Field(default=None, min_length=2, max_length=3, description="[H, W] or [C, H, W] of flat images")
    holdout: float = Field(default=0.2, gt=0.0, lt=1.0, description="share of the pool held out for the metrics")
    split_seed: NonNegativeInt = 0
    size: PositiveInt | None = Field(default=None, description="use only the first `size` images of the file")


class ImageSet:
    """Labelled images, split into a training pool and a held-out pool.

    Attributes:
        images: all images as rows of pixels, shape (N, C·H·W), float32 in [0, 1].
        labels: class labels, shape (N,), int64 in 0..n_classes-1.
        image_shape: (C, H, W).
        train_index, test_index: the split, index arrays into ``images``.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, image_shape: tuple[int, int, int], holdout: float, split_seed: int) -> None:
        self.images, self.labels, self.image_shape = images, labels, image_shape
        order = np.random.default_rng(np.random.SeedSequence(split_seed, spawn_key=(0,))).permutation(len(images))
        n_test = max(1, int(round(holdout * len(images))))
        self.test_index, self.train_index = np.sort(order[:n_test]), np.sort(order[n_test:])

    @property
    def dim(self) -> int:
        """Width of a row: pixels + 1 label column."""
        return int(self.images.shape[1]) + 1

    @property
    def n_classes(self) -> int:
        return int(self.labels.max()) + 1

    def _rows(self, index: np.ndarray) -> np.ndarray:
        return np.column_stack([self.images[index].astype(np.float64), self.labels[index].astype(np.float64)])

    def _draw(self, pool: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        return pool[rng.choice(len(pool), size=n, replace=n > len(pool))]

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n real training rows (n, C·H·W + 1): without replacement while n fits the training pool."""
        return self._rows(self._draw(self.train_index, n, rng))

    def holdout(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n held-out rows (n, C·H·W + 1), without replacement (n <= the held-out pool)."""
        if n > len(self.test_index):
            raise InvalidParameterError(
                f"The 'eval.n_samples' parameter must be <= the {len(self.test_index)} held-out images (data.holdout). Got {n} instead."
            )
        return self._rows(self._draw(self.test_index, n, rng))

    def train_images(self) -> tuple[np.ndarray, np.ndarray]:
        """The whole training pool: images (n, C, H, W) float32 and labels (n,) (for feature nets)."""
        index = self.train_index
        return self.images[index].reshape(len(index), *self.image_shape), self.labels[index]

    def check_eval(self, eval_config: Any) -> None:
        """``eval.n_samples`` held-out images must fit in the held-out set, and a user's feature
        network (``eval.feature_network``) must be a readable TorchScript file."""
        held_out = len(self.test_index)
        check(eval_config.n_samples <= held_out, "eval.n_samples", f"<= the {held_out} held-out images (data.holdout)", eval_config.n_samples)
        if eval_config.feature_network is not None:
            from autophagy.images.features import check_feature_network

            check_feature_network(eval_config.feature_network)

    def metric_points(self, ctx: Any) -> tuple[np.ndarray, np.ndarray]:
        """Where the sample metrics compare images: the feature space of
        :func:`autophagy.images.metrics.features` (held-out real, generated), float64."""
        from autophagy.images.metrics import features

        return features(ctx)

    def truth(self) -> None:
        """An empirical distribution of images: no closed form."""
        return None

    @property
    def holdout_capacity(self) -> int:
        """How many rows :meth:`holdout` can give (the held-out pool's size)."""
        return len(self.test_index)

    def _pixels(self, x: np.ndarray) -> np.ndarray:
        """Rows (n, C·H·W + 1) with their label column, or (n, C·H·W) -> images (n, C, H, W) float32."""
        x = np.asarray(x)
        pixels = math.prod(self.image_shape)
        if x.ndim != 2 or x.shape[1] not in (pixels, pixels + 1):
            raise ValueError(f"expected image rows of {pixels} pixels (+ 1 label column); got an array of shape {x.shape}")
        return np.ascontiguousarray(x[:, :pixels], dtype=np.float32).reshape(len(x), *self.image_shape)

    def class_probs(self, x: np.ndarray) -> np.ndarray:
        """The lab's classifier's class probabilities (n, K) of the image rows ``x`` (n, C·H·W [+ 1])
        (:func:`autophagy.images.features.classifier`; torch loads on first use)."""
        from autophagy.images.features import classifier

        return classifier(self).probabilities(self._pixels(x))

    def embed(self, x: np.ndarray) -> np.ndarray:
        """The lab's classifier's features (n, F) of the image rows ``x`` (n, C·H·W [+ 1]): the
        feature space of ``fid``, and of the mitigation stages' discriminator."""
        from autophagy.images.features import classifier

        return classifier(self).embed(self._pixels(x))


def image_layout(x: np.ndarray, shape: list[int] | None, shown: str) -> tuple[np.ndarray, tuple[int, int, int]]:
    """Images (N, ...) -> (rows (N, C·H·W) channel-major, (C, H, W)); errors name ``shown``."""
    def bad(why: str) -> InvalidParameterError:
        return InvalidParameterError(
            f"The 'data.path' parameter must be an image array of shape (N, H, W), (N, H, W, C), (N, C, H, W) with C in (1, 3), "
            f"or (N, P) with data.shape set. Got {shown!r} instead ({why})."
        )

    n = len(x)
    if shape is not None:
        chw = tuple(shape) if len(shape) == 3 else (1, *shape)
        if int(np.prod(x.shape[1:])) != math.prod(chw):
            raise bad(f"its images have {int(np.prod(x.shape[1:]))} values, data.shape {list(shape)} needs {math.prod(chw)}")
        if x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
            x = np.moveaxis(x, -1, 1)
        return x.reshape(n, -1), chw  # type: ignore[return-value]
    if x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side != x.shape[1]:
            raise bad(f"flat images of {x.shape[1]} pixels are not square; set data.shape")
        return x, (1, side, side)
    if x.ndim == 3:
        return x.reshape(n, -1), (1, x.shape[1], x.shape[2])
    if x.ndim == 4:
        if x.shape[1] in (1, 3):
            return x.reshape(n, -1), (x.shape[1], x.shape[2], x.shape[3])
        if x.shape[3] in (1, 3):
            return np.moveaxis(x, -1, 1).reshape(n, -1), (x.shape[3], x.shape[1], x.shape[2])
        raise bad(f"shape {x.shape} has no channel axis of size 1 or 3")
    raise bad(f"an array of rank {x.ndim}")


def scaled_pixels(x: np.ndarray, shown: str) -> np.ndarray:
    """Pixels as float32 in [0, 1]: uint8 / 255, else / max when the max exceeds 1."""
    if x.dtype == np.uint8:
        return (x / 255.0).astype(np.float32)
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == bool:
        raise InvalidParameterError(f"The 'data.path' parameter must hold pixels of an integer or float dtype. Got {shown!r} instead (dtype {x.dtype}).")
    x = x.astype(np.float64)
    low, high = float(x.min()), float(x.max())
    if low < 0:
        raise InvalidParameterError(f"The 'data.path' parameter must hold non-negative pixels (uint8 0..255 or floats in [0, max]). Got {shown!r} instead (smallest pixel {low}).")
    return (x / high if high > 1.0 else x).astype(np.float32)


def class_labels(y: np.ndarray, shown: str) -> np.ndarray:
    """Labels as int64 0..K-1; refuses fractional or negative labels."""
    labels = np.asarray(y)
    if labels.dtype == bool or not np.all(np.equal(np.mod(labels, 1), 0)) or labels.min() < 0:
        raise InvalidParameterError(f"The 'data.path' parameter must hold class labels 0, 1, 2, ... (non-negative integers). Got {shown!r} instead.")
    return labels.astype(np.int64)


@functools.lru_cache(maxsize=4)
def _load(path: str | None, shape: tuple[int, ...] | None, size: int | None) -> tuple[np.ndarray, np.ndarray, tuple[int, int, int]]:
    if path is None:
        from sklearn.datasets import load_digits

        bunch = load_digits()  # shipped inside scikit-learn: no download
        x, y, shown = bunch.images, bunch.target, "sklearn digits"
    else:
        x, y = read_image_arrays(path)
        shown = path
    if size is not None:
        x, y = x[:size], y[:size]
    rows, chw = image_layout(np.asarray(x), list(shape) if shape else None, shown)
    images, labels = scaled_pixels(rows, shown), class_labels(y, shown)
    if len(images) < 2:
        raise InvalidParameterError(f"The 'data.path' parameter must hold at least 2 images. Got {shown!r} instead.")
    images.flags.writeable = labels.flags.writeable = False  # shared through the cache
    return images, labels, chw


@register("data", "images", "labelled images for image generators: scikit-learn's bundled 8×8 digits or a local .npz/.npy (MNIST, CIFAR-10)", ImageSetConfig)
def build(config: ImageSetConfig) -> ImageSet:
    images, labels, chw = _load(config.path, tuple(config.shape) if config.shape else None, config.size)
    return ImageSet(images, labels, chw, config.holdout, config.split_seed)
