"""What every neural family shares: rows <-> image tensors, state dicts <-> arrays, minibatches.

A training row is a flattened image in [0, 1] followed by its class label (see
:mod:`autophagy.images.source`); the label is ``-1`` for a sample of an unconditional model
(no class known). Networks see images as float32 tensors (n, C, H, W).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from autophagy.exceptions import DegenerateFitError, InvalidParameterError
from autophagy.neural._torch import require_torch

torch = require_torch()

#: The label of a row whose class is unknown (samples of an unconditional model).
UNLABELLED = -1


def split_rows(x: np.ndarray, shape: tuple[int, int, int], device: str = "cpu") -> tuple[Any, Any]:
    """Rows (n, C·H·W + 1) -> images (n, C, H, W) float32 and labels (n,) int64 on ``device``."""
    x = np.asarray(x)
    size = int(np.prod(shape))
    if x.ndim != 2 or x.shape[1] != size + 1:
        raise InvalidParameterError(
            f"The 'x' parameter must be image rows of shape (n, {size} + 1) for images of shape {shape}. Got shape {x.shape} instead."
        )
    if not np.all(np.isfinite(x)):
        raise DegenerateFitError("non-finite training images (the previous generation diverged)")
    images = torch.from_numpy(np.ascontiguousarray(x[:, :-1], dtype=np.float32)).reshape(len(x), *shape)
    labels = torch.from_numpy(np.rint(x[:, -1]).astype(np.int64))
    return images.to(device), labels.to(device)


def join_rows(images: Any, labels: Any) -> np.ndarray:
    """Images (n, C, H, W) and labels (n,) -> rows (n, C·H·W + 1) float64, pixels clipped to [0, 1]."""
    pixels = images.detach().float().clamp(0.0, 1.0).flatten(1).cpu().numpy()
    return np.column_stack([pixels.astype(np.float64), labels.detach().cpu().numpy().astype(np.float64)])


def label_probabilities(labels: Any, n_classes: int) -> np.ndarray:
    """Class frequencies (n_classes,) of the labelled rows (uniform when none is labelled)."""
    known = labels[labels >= 0].cpu().numpy()
    counts = np.bincount(known, minlength=n_classes)[:n_classes].astype(float)
    return counts / counts.sum() if counts.sum() else np.full(n_classes, 1.0 / n_classes)


def draw_labels(n: int, probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """n class labels (n,) int64 from the class probabilities ``probs``."""
    return rng.choice(len(probs), size=n, p=probs).astype(np.int64)


def one_hot(labels: Any, n_classes: int) -> Any:
    """Labels (n,) -> float one-hot (n, n_classes); an unlabelled row (-1) gets zeros."""
    known = (labels >= 0).unsqueeze(1)
    return torch.nn.functional.one_hot(labels.clamp(min=0), n_classes).float() * known


def condition(labels: Any, n_classes: int, conditional: bool) -> Any:
    """Labels (n,) -> the network condition (n, K): one-hot when ``conditional``, else (n, 0)."""
    if not conditional:
        return torch.zeros((len(labels), 0), device=labels.device)
    return one_hot(labels, n_classes)


def sample_labels(n: int, probs: np.ndarray, conditional: bool, rng: np.random.Generator, device: str) -> Any:
    """Labels (n,) of n samples: drawn from ``probs`` when ``conditional``, else all UNLABELLED."""
    labels = draw_labels(n, probs, rng) if conditional else np.full(n, UNLABELLED, dtype=np.int64)
    return torch.from_numpy(labels).to(device)


def check_conv_shape(image_shape: tuple[int, int, int], architecture: str) -> None:
    """The conv networks halve H and W twice: both must be multiples of 4."""
    if architecture == "conv" and (image_shape[1] % 4 or image_shape[2] % 4):
        raise InvalidParameterError(
            "The 'generator.architecture' parameter must be 'mlp' for images whose height and width "
            f"are not multiples of 4 (conv halves them twice). Got 'conv' for images {image_shape} instead."
        )


def module_arrays(module: Any, prefix: str = "") -> dict[str, np.ndarray]:
    """A module's state dict as float32/int NumPy copies, keys prefixed."""
    return {prefix + k: v.detach().cpu().numpy().copy() for k, v in module.state_dict().items()}


def load_module_arrays(module: Any, state: dict[str, np.ndarray], prefix: str = "") -> None:
    """Load arrays written by :func:`module_arrays` (strict: every key, every shape)."""
    own = module.state_dict()
    found = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    missing, extra = set(own) - set(found), set(found) - set(own)
    if missing or extra:
        raise InvalidParameterError(
            f"The 'state' parameter must hold the weights of this network. Got missing {sorted(missing)[:3]}, unexpected {sorted(extra)[:3]} instead."
        )
    for key, value in found.items():
        if tuple(own[key].shape) != tuple(np.shape(value)):
            raise InvalidParameterError(
                f"The 'state' parameter must hold {key} of shape {tuple(own[key].shape)} (the configured network). Got {np.shape(value)} instead."
            )
    module.load_state_dict({k: torch.as_tensor(np.asarray(v)) for k, v in found.items()})


@contextlib.contextmanager
def seeded_global(rng: np.random.Generator) -> Iterator[None]:
    """Run a block with torch's global CPU RNG seeded from ``rng``, restored afterwards.

    For module construction only: ``nn.Linear``/``nn.Conv2d`` draw their initial weights from
    the global RNG. Build modules on the CPU inside this block, then move them to the device.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng.integers(2**63 - 1)))
        yield


def minibatches(n: int, batch_size: int, steps: int, gen: Any) -> Iterator[Any]:
    """``steps`` index tensors of min(batch_size, n) rows, epoch by epoch without replacement."""
    size = min(batch_size, n)
    done = 0
    while done < steps:
        order = torch.randperm(n, generator=gen, device=gen.device)
        for start in range(0, n - size + 1, size):
            if done == steps:
                return
            yield order[start : start + size]
            done += 1


#: Optimiser steps between checks that the training loss is finite: each check waits for the
#: device, so checking every step would stall a GPU. A non-finite loss poisons the weights, so
#: the next check (or the one at the last step) still sees it.
LOSS_CHECK_EVERY = 100


def check_finite_loss(loss: Any, family: str, step: int | None = None, steps: int | None = None) -> None:
    """DegenerateFitError if ``loss`` is not finite; with ``step`` (1-based) of ``steps``, only
    every :data:`LOSS_CHECK_EVERY` steps and at the last one."""
    if step is not None and step % LOSS_CHECK_EVERY and step != steps:
        return
    if not bool(torch.isfinite(loss)):
        raise DegenerateFitError(f"the {family} training loss became non-finite")
