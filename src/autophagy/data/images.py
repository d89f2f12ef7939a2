"""Real images as regression data: scikit-learn's bundled digits, or a local image file.

The article's real-data case (Dohmatob, Feng & Kempe 2024, §6) turns a classification set into
regression: the target of an image is its class label as a number (digit 3 -> 3.0), observed
with added Gaussian label noise σ0. We do exactly that: a training sample is one row
``[x_1, ..., x_p, y]`` with x the flattened image scaled to [0, 1] and y = label + σ0 ε, so the
loop machinery and the labellers (:mod:`autophagy.generators.ridge`,
:mod:`autophagy.generators.kernel`) treat it like the linear case.

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

import functools
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from .._validation import Model
from ..exceptions import InvalidParameterError
from ..registry import register

#: What a user image file must hold, by file type (quoted in every error about ``data.path``).
EXPECTED_FILE = {
    ".npz": "a readable local .npz file with arrays 'x' of shape (N, ...) and 'y' of shape (N,) "
    "(or 'x_train' and 'y_train'), N >= 2, numeric and finite",
    ".npy": "a readable local .npy file holding one array of rows of shape (N, n_features + 1), "
    "the label in the last column, N >= 2, numeric and finite",
}


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


@functools.lru_cache(maxsize=1)
def _bundled_digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    bunch = load_digits()  # shipped with scikit-learn: read from its package data, no download
    return _frozen(bunch.data, bunch.target)


def _frozen(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, p) float32 scaled by the largest |pixel|, labels (N,) float64), read-only."""
    images = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    top = float(np.max(np.abs(images))) if images.size else 0.0
    images = (images / top if top > 0 else images).astype(np.float32)
    labels = np.asarray(y, dtype=np.float64)
    images.flags.writeable = labels.flags.writeable = False  # shared through the cache
    return images, labels


def _bad_file(path: str, why: str) -> InvalidParameterError:
    suffix = Path(path).suffix.lower()
    expected = EXPECTED_FILE.get(suffix) or " or ".join(EXPECTED_FILE.values())
    return InvalidParameterError(f"The 'data.path' parameter must be {expected}. Got {path!r} instead ({why}).")


def load_image_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, p) and labels (N,) from a local .npz/.npy file; errors name the file.

    Raises:
        InvalidParameterError: the file is missing, unreadable, or holds the wrong arrays or
            shapes (the message names the file and the expected shapes).
    """
    return _frozen(*read_image_arrays(path))


def read_image_arrays(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """The arrays of a local .npz/.npy image file as stored (checked, read-only): x (N, ...), y (N,).

    Raises:
        InvalidParameterError: as :func:`load_image_file`.
    """
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise _bad_file(str(path), "no such file")
    if resolved.suffix.lower() not in (".npz", ".npy"):
        raise _bad_file(str(path), f"the file name ends in {resolved.suffix or 'nothing'!r}, not '.npz' or '.npy'")
    stat = resolved.stat()
    return _read_cached(str(resolved.resolve()), stat.st_mtime_ns, stat.st_size, str(path))


@functools.lru_cache(maxsize=2)
def _read_cached(resolved: str, mtime_ns: int, size: int, shown: str) -> tuple[np.ndarray, np.ndarray]:
    # keyed by (file, modification time, size): the config checks and the engine read a file once
    try:
        loaded = np.load(resolved, allow_pickle=False)
        if isinstance(loaded, np.ndarray):  # .npy: rows [x, y], the label last
            if loaded.ndim != 2 or loaded.shape[1] < 2:
                raise _bad_file(shown, f"the .npy array has shape {loaded.shape}, not (N, n_features + 1)")
            x, y, names = loaded[:, :-1], loaded[:, -1], ("rows[:, :-1]", "rows[:, -1]")
        else:
            with loaded:
                keys = sorted(loaded.files)
                names = next((p for p in (("x", "y"), ("x_train", "y_train")) if set(p) <= set(keys)), None)
                if names is None:
                    raise _bad_file(shown, f"it holds the arrays {keys}")
                x, y = loaded[names[0]], loaded[names[1]]
    except InvalidParameterError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure to read is the same user error
        raise _bad_file(shown, f"not a readable NumPy file: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    return _checked(x, y, names, shown)


def _checked(x: np.ndarray, y: np.ndarray, names: tuple[str, str], shown: str) -> tuple[np.ndarray, np.ndarray]:
    if x.ndim < 2:
        raise _bad_file(shown, f"{names[0]!r} has shape {x.shape}, not (N, ...) with at least 2 axes")
    if y.ndim != 1 or len(y) != len(x):
        raise _bad_file(shown, f"{names[0]!r} has shape {x.shape} and {names[1]!r} has shape {y.shape}; expected (N,) with N = {len(x)}")
    if len(x) < 2:
        raise _bad_file(shown, f"it holds {len(x)} image(s)")
    for name, array in zip(names, (x, y), strict=True):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise _bad_file(shown, f"{name!r} has dtype {array.dtype}, not a number")
        if not np.all(np.isfinite(array)):
            raise _bad_file(shown, f"{name!r} holds NaN or infinite values")
        array.flags.writeable = False  # shared through the cache
    return x, y


@register("data", "digits", "images as regression rows (x, y = label + σ0·noise): scikit-learn's bundled 8×8 digits or a local .npz/.npy (MNIST)", DigitsDataConfig)
def build(config: DigitsDataConfig) -> ImageSource:
    images, labels = _bundled_digits() if config.path is None else load_image_file(config.path)
    return ImageSource(images, labels, config.noise)
