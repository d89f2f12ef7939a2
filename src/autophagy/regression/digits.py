"""Real images as regression data: scikit-learn's bundled digits, or a local image file.

The article's real-data case (Dohmatob, Feng & Kempe 2024, §6) turns a classification set into
regression: the target of an image is its class label as a number (digit 3 -> 3.0), observed
with added Gaussian label noise σ0. We do exactly that: a training sample is one row
``[x_1, ..., x_p, y]`` with x the flattened image scaled to [0, 1] and y = label + σ0 ε, so the
loop machinery and the labellers (:mod:`autophagy.regression.ridge`,
:mod:`autophagy.regression.kernel`) treat it like the linear case.

The real distribution P_r is the *empirical* distribution of the image pool: an input is one
of the N images drawn uniformly (with replacement), its clean target is that image's label.
Held-out rows are fresh draws from the same pool with fresh label noise, so a test image can
coincide with a training image, as it does under any discrete distribution. No true linear
model exists, so sources of this module have no ``regression()`` and their default metric is
the held-out mean squared error ``test_error``.

Images come from, in order:

* ``path: null`` - ``sklearn.datasets.load_digits()``: 1797 images 8×8 (p = 64), pixel values
  0..16, shipped inside scikit-learn (nothing is downloaded).
* ``path: file.npz`` - arrays ``x`` of shape (N, ...) (e.g. (N, 28, 28) or (N, p)) and ``y``
  of shape (N,), or keras' ``mnist.npz`` keys ``x_train``/``y_train`` (the test split is not
  used).
* ``path: file.npy`` - one array of rows of shape (N, p + 1), the label in the last column.

Pixels are divided by the largest absolute pixel value of the pool (16 for digits, 255 for
8-bit MNIST), so non-negative images lie in [0, 1]. A relative ``path`` is relative to the
working directory. Nothing is ever downloaded.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from autophagy._validation import Model
from autophagy.core.image_files import bundled_digits, load_image_file
from autophagy.registry import register


class DigitsDataConfig(Model):
    """``data: {kind: digits, path, noise, target}``.

    ``path``: None for scikit-learn's bundled 8×8 digits, else a local .npz/.npy image file
    (see the module docstring for its layout). ``noise``: σ0 >= 0, the standard deviation of
    the Gaussian label noise of real rows. ``target``: the clean regression target of an image;
    ``label`` (the only one) is its class label as a float.
    """

    kind: Literal["digits"] = "digits"
    path: str | None = None
    noise: float = Field(default=0.1, ge=0.0, description="label noise σ0 >= 0")
    target: Literal["label"] = "label"

    def sample_width(self) -> int | None:
        """Floats per row: 65 (8×8 pixels and the label) for the bundled digits; a file's width is
        known once it is read (None; see :mod:`autophagy.core.memory`)."""
        return 65 if self.path is None else None


class ImageSource:
    """Rows [x, y]: x uniform over a fixed pool of images, y = label(x) + σ0 ε.

    Attributes:
        images: the pool, shape (N, p), scaled as described in the module docstring.
        labels: clean targets, shape (N,).
        noise: σ0, the label noise standard deviation of real rows.
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, noise: float) -> None:
        self.images, self.labels, self.noise = images, labels, float(noise)

    @property
    def dim(self) -> int:
        """Width of a row: n_features + 1 (the label is the last column)."""
        return self.n_features + 1

    @property
    def n_features(self) -> int:
        return int(self.images.shape[1])

    def _draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return rng.integers(len(self.images), size=n)

    def sample_inputs(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n images drawn uniformly with replacement from the pool, shape (n, p)."""
        return self.images[self._draw(n, rng)].astype(float)

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n real rows [x, label(x) + σ0 ε], shape (n, p + 1); same images as ``sample_inputs``."""
        index = self._draw(n, rng)
        y = self.labels[index] + self.noise * rng.standard_normal(n)
        return np.column_stack([self.images[index].astype(float), y])

    def truth(self) -> None:
        """Not a Gaussian mixture over rows; no closed form."""
        return None


@register("data", "digits", "images as regression rows (x, y = label + σ0·noise): scikit-learn's bundled 8×8 digits or a local .npz/.npy (MNIST)", DigitsDataConfig)
def build(config: DigitsDataConfig) -> ImageSource:
    images, labels = bundled_digits() if config.path is None else load_image_file(config.path)
    return ImageSource(images, labels, config.noise)
