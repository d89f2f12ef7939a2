"""Local image arrays and scikit-learn's bundled digits, read once and checked.

Shared by the image family (:mod:`autophagy.images.source`: labelled images for image
generators) and the regression family (:mod:`autophagy.regression.digits`: images as
regression rows). Nothing is ever downloaded: ``sklearn.datasets.load_digits()`` ships inside
scikit-learn, and a user file is a local ``.npz``/``.npy`` path.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from autophagy.exceptions import InvalidParameterError

#: What a user image file must hold, by file type (quoted in every error about ``data.path``).
EXPECTED_FILE = {
    ".npz": "a readable local .npz file with arrays 'x' of shape (N, ...) and 'y' of shape (N,) "
    "(or 'x_train' and 'y_train'), N >= 2, numeric and finite",
    ".npy": "a readable local .npy file holding one array of rows of shape (N, n_features + 1), "
    "the label in the last column, N >= 2, numeric and finite",
}


@functools.lru_cache(maxsize=1)
def bundled_digits() -> tuple[np.ndarray, np.ndarray]:
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
                found = next((p for p in (("x", "y"), ("x_train", "y_train")) if set(p) <= set(keys)), None)
                if found is None:
                    raise _bad_file(shown, f"it holds the arrays {keys}")
                names = found
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
