"""A keyed signature watermark for vectors and images, and its correlation detector.

**Mark.** The key gives a unit direction u ∈ R^d (a standard normal vector from the key's
``SeedSequence``, normalised); a watermarked sample is x + s·u, s the ``strength`` (the
pattern's Euclidean norm). For labelled images (a source with ``image_shape``: pixels, then the
label) only the pixels are marked and they are clipped back into [0, 1], so the mark is partly
lost on saturated pixels.

**Detector.** The statistic of a sample is its standardised projection on u,

    S(x) = <x - m, u> / σ_u,

m the mean and σ_u the standard deviation of <x, u> over real reference rows, so S is ≈ N(0, 1)
on real data if the projection is about normal, and a mark of norm s adds s / σ_u. A sample is
flagged when S(x) > τ; by default τ is the (1 - 0.01) quantile of S over the reference rows
(≈ 1 % false positives on real data). The mark is detectable iff s is large against the data's
spread along u: with S ~ N(0, 1) on real data, the share of marked samples flagged is
Φ(s / σ_u - τ) (τ = 2.33 at 1 %), about 0.5 at s = 2.33 σ_u and 0.99 at s = 4.7 σ_u. A random
direction sees the average spread tr(Σ) / d, so in high dimension a small s suffices.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy.core.generator import check_bias

#: The share of real reference rows the default detector threshold lets through (its FPR).
DEFAULT_FPR = 0.01


def direction(key: int, dim: int) -> np.ndarray:
    """The key's unit direction u (dim,): a standard normal draw from ``SeedSequence(key)``,
    normalised."""
    u = np.random.default_rng(np.random.SeedSequence(abs(int(key)), spawn_key=(0x5167,))).standard_normal(dim)
    return u / np.linalg.norm(u)  # type: ignore[no-any-return]


def marked_columns(owner: Any, width: int) -> slice:
    """The columns a signature marks: all but the label of labelled images (``owner``, the
    source or the generator, has ``image_shape``)."""
    return slice(0, width - 1) if hasattr(owner, "image_shape") else slice(0, width)


def add_signature(x: np.ndarray, key: int, strength: float, owner: Any) -> np.ndarray:
    """Rows ``x`` (n, d) + strength·u on the marked columns (clipped to [0, 1] for images;
    ``owner`` as in :func:`marked_columns`)."""
    out = np.array(x, dtype=float, copy=True)
    cols = marked_columns(owner, out.shape[1])
    u = direction(key, out[:, cols].shape[1])
    out[:, cols] += strength * u
    if hasattr(owner, "image_shape"):
        out[:, cols] = np.clip(out[:, cols], 0.0, 1.0)
    return out


class SignatureDetector:
    """S(x) = <x - m, u> / σ_u with (m, σ_u) from real reference rows (module docstring).

    Args:
        key: the secret key.
        real: real reference rows (m, d) the statistic is standardised on.
        source: the real distribution (which columns are marked).
        threshold: τ, flag S > τ (None: the (1 - DEFAULT_FPR) quantile of S on ``real``).
    """

    def __init__(self, key: int, real: np.ndarray, source: Any, threshold: float | None = None) -> None:
        real = np.asarray(real, dtype=float)
        self.cols = marked_columns(source, real.shape[1])
        self.u = direction(key, real[:, self.cols].shape[1])
        proj = real[:, self.cols] @ self.u
        self.center = float(proj.mean())
        self.scale = float(proj.std(ddof=1)) if len(proj) > 1 else 1.0
        if not self.scale > 0:
            self.scale = 1.0
        self.threshold = float(np.quantile(self.statistic(real), 1.0 - DEFAULT_FPR)) if threshold is None else float(threshold)

    def statistic(self, x: np.ndarray) -> np.ndarray:
        """S (n,) of rows ``x`` (n, d)."""
        return (np.asarray(x, dtype=float)[:, self.cols] @ self.u - self.center) / self.scale  # type: ignore[no-any-return]

    def flagged(self, x: np.ndarray) -> np.ndarray:
        """S > τ (n,) bool."""
        return self.statistic(x) > self.threshold  # type: ignore[no-any-return]


class SignatureSampler:
    """A generator whose samples carry the signature; everything but ``sample`` is the wrapped
    generator's (``log_prob``, ``moments``, ``get_state``... are delegated, and describe the
    unmarked model). The pixels of an image generator (one with ``image_shape``) are marked,
    not its label column."""

    def __init__(self, model: Any, key: int, strength: float) -> None:
        self.wrapped, self.key, self.strength = model, int(key), float(strength)

    def __getattr__(self, name: str) -> Any:
        if name == "wrapped" or name.startswith("__"):  # during copy / unpickling, before __init__
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """``n`` samples of the wrapped generator at bias λ, each + strength·u (n, d)."""
        x = np.asarray(self.wrapped.sample(n, rng=rng, bias=check_bias(bias)))
        return add_signature(x, self.key, self.strength, self.wrapped)
