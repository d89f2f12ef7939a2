"""Fixed feature networks for the image metrics: the lab's digit classifier, or a local Inception.

The image metrics (:mod:`autophagy.images.metrics`) compare real and generated images in the
feature space of a network that never changes during a run:

* **The lab's classifier** (the default): :class:`DigitClassifier`, a small CNN trained once on
  the source's *training* images with a fixed seed (:data:`SEED`), so the same data always give
  the same weights, bit for bit, on the CPU. Its features are the :data:`FEATURES`
  pre-activations of its penultimate layer; its predicted classes give the class metrics. It is never
  downloaded: trained at first use (a few seconds on the 1,438 training digits), kept in memory
  for the rest of the process, and saved under the cache directory (:func:`set_cache_dir`; the
  runner sets ``<out>/.cache``) as ``classifier-<fingerprint[:16]>.pt``, where the fingerprint
  is the SHA-256 of the training recipe, image shape, training images and labels. A run resumed
  later thus scores every generation with the same network.
* **A local TorchScript network** (``eval.feature_network: path``): e.g. NVIDIA's
  ``inception-2015-12-05.pt``, the Inception-v3 of standard FID used by StyleGAN and clean-fid
  (obtain the file yourself; it is never fetched). Images are resized bilinearly to
  ``eval.feature_size`` (299 for Inception), grey replicated to 3 channels, scaled to
  [0, 255] float32, and embedded with ``net(x, return_features=True)`` when ``forward`` has that
  argument (NVIDIA's network returns its 2048-d pool features then), else ``net(x)``. Only
  ``fid`` and precision / recall / density / coverage use it: such a network does not know the
  data's classes (:meth:`TorchScriptFeatures.predict` is None), so the class metrics always come
  from the lab's classifier.

Everything runs on the CPU, one batch at a time under ``no_grad``.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from autophagy.exceptions import InvalidParameterError
from autophagy.neural._torch import generator_from
from autophagy.neural.base import minibatches, seeded_global, torch
from autophagy.store.rundir import atomic_write

nn = torch.nn
#: The base class of the networks below (typed Any: torch is imported when this module loads).
_Module: Any = nn.Module

#: Version of the classifier's architecture and training recipe, part of the cache fingerprint:
#: bump it with any change to :class:`DigitClassifier` or :func:`train_classifier`, so that old
#: cache files are not loaded as the new network.
RECIPE = 1
#: Seed of the classifier's initial weights and minibatch order (fixed: the network is part of
#: the metric, not of the experiment).
SEED = 0
#: Optimiser steps of the classifier's training (≈ 22 epochs of the 1,438 training digits,
#: about half an epoch of MNIST's 60,000).
STEPS = 500
BATCH_SIZE = 64
LEARNING_RATE = 2e-3
#: Width of the penultimate layer, the feature space of ``fid`` and PRDC.
FEATURES = 128
#: Images per forward pass when embedding (the classifier; TorchScript networks use
#: :data:`SCRIPT_BATCH`, as a 299×299 Inception batch is much larger).
BATCH = 512
SCRIPT_BATCH = 64

_cache_dir: Path | None = None
_trained: dict[str, ClassifierFeatures] = {}


class FeatureNetwork(Protocol):
    """A fixed image embedding (and possibly a classifier of the data's classes)."""

    def embed(self, images: np.ndarray) -> np.ndarray:
        """Images (n, C, H, W) float32 in [0, 1] -> features (n, F) float64."""
        ...

    def predict(self, images: np.ndarray) -> np.ndarray | None:
        """Images (n, C, H, W) -> predicted classes (n,) int64, or None (not a classifier of these classes)."""
        ...


class DigitClassifier(_Module):
    """A small CNN for 1- or 3-channel images of any size >= 8×8.

    Two 3×3 convolutions (32 and 64 channels; the first with stride 2 on images of 16 pixels or
    more a side, to keep 28×28 / 32×32 cheap on a CPU), adaptive average pooling to 4×4, a
    fully connected feature layer of :data:`FEATURES` units and, after a ReLU, a linear head over
    the classes. The features are the layer's pre-activations: a unit that the ReLU silences on
    all data still varies before it, so the features' covariance (in ``fid``) is not made
    singular by dead units. No dropout and no batch norm, so the network is a fixed function
    once trained.
    """

    def __init__(self, image_shape: tuple[int, int, int], n_classes: int) -> None:
        super().__init__()
        channels, height, width = image_shape
        stride = 2 if min(height, width) >= 16 else 1
        self.body = nn.Sequential(
            nn.Conv2d(channels, 32, 3, stride=stride, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(),  # (n, 64·4·4)
            nn.Linear(64 * 16, FEATURES),
        )
        self.head = nn.Linear(FEATURES, n_classes)

    def features(self, x: Any) -> Any:
        """Images (n, C, H, W) in [0, 1] -> the feature layer's pre-activations (n, FEATURES)."""
        return self.body(2.0 * x - 1.0)

    def forward(self, x: Any) -> Any:
        """Images (n, C, H, W) in [0, 1] -> class logits (n, n_classes)."""
        return self.head(torch.relu(self.features(x)))


def train_classifier(images: np.ndarray, labels: np.ndarray, n_classes: int, *, steps: int = STEPS) -> DigitClassifier:
    """Train a :class:`DigitClassifier` with cross-entropy, Adam and the fixed seed :data:`SEED`.

    Deterministic: the initial weights and the minibatch order come from streams of
    ``default_rng(SEED)``, and CPU kernels at a fixed thread count are reproducible.

    Args:
        images: shape (n, C, H, W), float32 in [0, 1].
        labels: shape (n,), ints in 0..n_classes-1.
        n_classes: K, the width of the head.
        steps: optimiser steps of :data:`BATCH_SIZE` images, epoch by epoch without replacement.

    Returns:
        The trained network, in eval mode, on the CPU.
    """
    rng = np.random.default_rng(SEED)
    shape = tuple(int(s) for s in images.shape[1:])
    with seeded_global(rng):
        net = DigitClassifier(shape, n_classes)  # type: ignore[arg-type]
    gen = generator_from(rng)
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    y = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    optimiser = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    net.train()
    for index in minibatches(len(x), BATCH_SIZE, steps, gen):
        loss = nn.functional.cross_entropy(net(x[index]), y[index])
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return net.eval()


def _batched(fn: Any, images: np.ndarray, batch: int) -> np.ndarray:
    """``fn`` over (n, C, H, W) float32 images in batches, no_grad; outputs concatenated along rows."""
    x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32))
    with torch.no_grad():
        parts = [fn(x[start : start + batch]) for start in range(0, len(x), batch)]
    return torch.cat(parts).numpy() if parts else np.empty((0,))


class ClassifierFeatures:
    """The lab's classifier as a :class:`FeatureNetwork`: penultimate features, argmax classes."""

    def __init__(self, net: DigitClassifier) -> None:
        self.net = net

    def embed(self, images: np.ndarray) -> np.ndarray:
        """Images (n, C, H, W) in [0, 1] -> features (n, FEATURES) float64."""
        return _batched(self.net.features, images, BATCH).reshape(len(images), FEATURES).astype(np.float64)

    def predict(self, images: np.ndarray) -> np.ndarray:
        """Images (n, C, H, W) in [0, 1] -> most likely classes (n,) int64."""
        return _batched(lambda x: self.net(x).argmax(dim=1), images, BATCH).reshape(len(images)).astype(np.int64)

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Images (n, C, H, W) in [0, 1] -> class probabilities (n, K) float64 (softmax of the logits)."""
        return _batched(lambda x: torch.softmax(self.net(x), dim=1), images, BATCH).reshape(len(images), -1).astype(np.float64)


class TorchScriptFeatures:
    """A local TorchScript network (e.g. Inception-v3) as a :class:`FeatureNetwork` (see the module docstring)."""

    def __init__(self, net: Any, size: int) -> None:
        self.net, self.size = net, size
        self.returns_features = any(arg.name == "return_features" for arg in net.forward.schema.arguments)

    def _forward(self, x: Any) -> Any:
        x = nn.functional.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        x = 255.0 * x  # (n, 3, size, size), the pixel range the standard FID network expects
        out = self.net(x, return_features=True) if self.returns_features else self.net(x)
        return out.reshape(len(x), -1)

    def embed(self, images: np.ndarray) -> np.ndarray:
        """Images (n, C, H, W) in [0, 1] -> the network's features (n, F) float64."""
        return _batched(self._forward, images, SCRIPT_BATCH).reshape(len(images), -1).astype(np.float64)

    def predict(self, images: np.ndarray) -> None:
        """None: the network's classes (ImageNet's for Inception) are not the data's."""
        return None


def set_cache_dir(path: str | Path | None) -> None:
    """Where trained classifiers are saved and looked up (None: in memory only)."""
    global _cache_dir
    _cache_dir = None if path is None else Path(path)


def fingerprint(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 (hex) of the training recipe, the image shape and the training images and labels."""
    digest = hashlib.sha256()
    recipe = (RECIPE, SEED, STEPS, BATCH_SIZE, LEARNING_RATE, FEATURES)
    digest.update(repr((recipe, images.shape)).encode())
    digest.update(np.ascontiguousarray(images, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(labels, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _load_saved(path: Path, shape: tuple[int, int, int], n_classes: int) -> DigitClassifier | None:
    """The classifier saved at ``path``, or None (missing, unreadable or not this network)."""
    if not path.is_file():
        return None
    try:
        net = DigitClassifier(shape, n_classes)
        net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # noqa: BLE001 - any bad cache file is retrained over, never fatal
        warnings.warn(f"ignoring the unreadable classifier cache {path} ({type(exc).__name__}); retraining", stacklevel=3)
        return None
    return net.eval()


def _save(net: DigitClassifier, path: Path) -> None:
    """``torch.save`` the state dict atomically (a temporary file beside ``path``, then rename)."""
    atomic_write(path, lambda tmp: torch.save(net.state_dict(), tmp))


def classifier(source: Any) -> ClassifierFeatures:
    """The lab's classifier of ``source``'s classes, trained on its training images at first use.

    Looked up, in order, in this process's memory, in the cache directory
    (:func:`set_cache_dir`), else trained (:func:`train_classifier`) and saved there. A cache
    file that cannot be read as this network's weights is ignored (with a warning) and replaced.

    Args:
        source: an :class:`~autophagy.images.source.ImageSet` (``train_images()``,
            ``image_shape``, ``n_classes``).
    """
    images, labels = source.train_images()
    key = fingerprint(images, labels)
    if key not in _trained:
        shape, n_classes = tuple(source.image_shape), int(source.n_classes)
        path = None if _cache_dir is None else _cache_dir / f"classifier-{key[:16]}.pt"
        net = None if path is None else _load_saved(path, shape, n_classes)
        if net is None:
            net = train_classifier(images, labels, n_classes)
            if path is not None:
                _save(net, path)
        _trained[key] = ClassifierFeatures(net)
    return _trained[key]


def export_classifier(source: Any) -> tuple[str, dict[str, np.ndarray]]:
    """(fingerprint, weights as arrays) of ``source``'s classifier (:func:`classifier`), to hand to
    other processes once (:func:`install_classifier`) instead of each loading or training it."""
    images, labels = source.train_images()
    state = classifier(source).net.state_dict()
    return fingerprint(images, labels), {name: tensor.numpy() for name, tensor in state.items()}


def install_classifier(key: str, weights: dict[str, np.ndarray], shape: tuple[int, int, int], n_classes: int) -> None:
    """Make ``weights`` (from :func:`export_classifier`) this process's classifier of the data set ``key``."""
    if key not in _trained:
        net = DigitClassifier(shape, n_classes)
        net.load_state_dict({name: torch.from_numpy(np.array(array)) for name, array in weights.items()})
        _trained[key] = ClassifierFeatures(net.eval())


def _bad_network(path: str, why: str) -> InvalidParameterError:
    return InvalidParameterError(
        f"The 'eval.feature_network' parameter must be the path of a local TorchScript file "
        f"(e.g. inception-2015-12-05.pt). Got {path!r} instead ({why})."
    )


@functools.lru_cache(maxsize=2)
def _load_script(resolved: str, mtime_ns: int, size: int, shown: str) -> Any:
    # keyed by (file, modification time, size): the config check and the metrics load it once
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated; the FID network ships as TorchScript
            net = torch.jit.load(resolved, map_location="cpu")
    except Exception as exc:  # noqa: BLE001 - any failure to load is the same user error
        raise _bad_network(shown, f"not a loadable TorchScript archive: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    return net.eval()


def load_feature_network(path: str) -> Any:
    """The TorchScript module at ``path`` (relative to the working directory), in eval mode, on the CPU.

    Raises:
        InvalidParameterError: naming ``eval.feature_network``, if the file is missing or is not
            a TorchScript archive.
    """
    resolved = Path(path).expanduser()
    if not resolved.is_file():
        raise _bad_network(path, "no such file")
    stat = resolved.stat()
    return _load_script(str(resolved.resolve()), stat.st_mtime_ns, stat.st_size, path)


def check_feature_network(path: str) -> None:
    """Config-time check of ``eval.feature_network``: the file exists and loads as TorchScript.

    Raises:
        InvalidParameterError: as :func:`load_feature_network`.
    """
    load_feature_network(path)


def feature_network(source: Any, eval_config: Any) -> FeatureNetwork:
    """The embedding of the image metrics: ``eval.feature_network`` when set, else the lab's classifier.

    Args:
        source: the image source (see :func:`classifier`).
        eval_config: an :class:`~autophagy.metrics.evaluate.EvalConfig` (``feature_network``,
            ``feature_size``).
    """
    if eval_config.feature_network is not None:
        return TorchScriptFeatures(load_feature_network(eval_config.feature_network), eval_config.feature_size)
    return classifier(source)
