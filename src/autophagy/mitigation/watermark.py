"""``watermark``: mark every synthetic sample as it is generated, with a secret key, detect the
mark in the generation's synthetic pool, and drop what is flagged (``filter: true``) or only
measure (``filter: false``).

Schemes (``scheme``):

* ``greenlist`` for text (the n-gram and transformer samplers): Kirchenbauer et al. (2023)'s
  soft green list, δ = ``strength`` added to the log-probabilities of a keyed share γ_w =
  ``green_fraction`` of the vocabulary that depends on the previous token; a z-test flags a
  sequence when z > ``z_threshold`` (:mod:`autophagy.mitigation.greenlist`).
* ``signature`` for vectors and images: a keyed unit pattern of norm ``strength`` added to each
  sample; the standardised projection S on it flags a sample when S > ``threshold`` (default:
  the 99 % quantile of S on real rows, ≈ 1 % false positives;
  :mod:`autophagy.mitigation.signature`).

The stage's ``wrap_generators`` hook wraps every generator the loop draws synthetic samples from
(extra draws of later stages included), so every synthetic sample carries the mark; real samples
never do. Recorded per generation:

* ``watermark_tpr``: the flagged share of this generation's synthetic samples;
* ``watermark_fpr``: the flagged share of ``reference`` held-out real rows (the verifier's rows,
  :meth:`~autophagy.loops.stages.SyntheticBatch.real_samples`; for ``signature`` the detector
  is standardised on the first half of them and the false positives counted on the second);
* ``watermark_amplification``: the detector's mean statistic (z or S) on
  :data:`AMPLIFICATION_SAMPLES` UNmarked samples freshly drawn (stream ``curate``) from the
  generators that made this batch, i.e. the model trained after the previous generation's
  filter, minus its mean on the held-out real rows. About 0 for a model that never saw the
  mark; it grows if the model learned the mark from the marked samples that escaped the filter
  (or, with ``filter: false``, from all of them). The centring matters for ``greenlist``: for
  one key, the null mean of z on low-entropy text is not 0 but a key-dependent offset (of
  order ±0.7 on the default grammar, :mod:`autophagy.mitigation.greenlist`), shared by real
  text and by any model that has not learned the mark;
* ``watermark_threshold``: the z or S threshold used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np
from pydantic import Field

from autophagy._validation import check
from autophagy.loops.stages import SyntheticBatch
from autophagy.loops.synthesis import synthesize
from autophagy.mitigation.base import StageConfig
from autophagy.mitigation.greenlist import GreenList, GreenlistSampler
from autophagy.mitigation.signature import SignatureDetector, SignatureSampler
from autophagy.registry import register

#: Unmarked samples drawn each generation to measure ``watermark_amplification``.
AMPLIFICATION_SAMPLES = 256


class WatermarkConfig(StageConfig):
    """``{kind: watermark, scheme, key, strength, green_fraction, z_threshold, threshold, filter, reference}``
    (see the module docstring)."""

    kind: Literal["watermark"] = "watermark"
    scheme: Literal["greenlist", "signature"] = Field(default="greenlist", description="greenlist for text, signature for vectors and images")
    key: int = Field(default=0, description="the secret key")
    strength: float = Field(default=2.0, gt=0.0, description="greenlist: δ added to green log-probabilities; signature: the pattern's norm")
    green_fraction: float = Field(default=0.25, gt=0.0, lt=1.0, description="greenlist: γ_w, the green share of the vocabulary")
    z_threshold: float = Field(default=4.0, description="greenlist: flag a sequence when its z-score exceeds this")
    threshold: float | None = Field(default=None, description="signature: flag when S exceeds this (null: the 99 % quantile of S on real rows)")
    filter: bool = Field(default=True, description="drop flagged samples (false: only measure)")
    reference: int = Field(default=1000, ge=4, description="held-out real rows the false positives (and the signature's scale) are measured on")

    def check_against(self, source: Any, provides: frozenset[str] | None, key: str) -> None:
        """``greenlist`` needs text (a source with ``vocab_size``), ``signature`` vectors or images."""
        text = hasattr(source, "vocab_size")
        if self.scheme == "greenlist":
            check(text, f"{key}.scheme", "'signature' for vector or image data ('greenlist' marks token sequences)", self.scheme)
            check(self.threshold is None, f"{key}.threshold", "null with scheme 'greenlist' (its detector uses z_threshold)", self.threshold)
        else:
            check(not text, f"{key}.scheme", "'greenlist' for text data ('signature' marks vectors and images)", self.scheme)


class WatermarkStage:
    """Marks at generation time (:meth:`wrap_generators`), detects and filters (``__call__``)."""

    kind = "watermark"

    def __init__(self, config: WatermarkConfig) -> None:
        self.config = config
        self._green: GreenList | None = None

    def green(self, vocab_size: int) -> GreenList:
        """The green lists of the key (built once, rows filled as they are needed)."""
        if self._green is None or self._green.vocab_size != vocab_size:
            self._green = GreenList(self.config.key, vocab_size, self.config.green_fraction)
        return self._green

    def wrap_generators(self, generators: tuple[Any, ...], *, generation: int) -> tuple[Any, ...]:
        """Every generator, wrapped so that its samples carry the mark."""
        return tuple(self._wrap(g) for g in generators)

    def _wrap(self, generator: Any) -> Any:
        cfg = self.config
        if cfg.scheme == "greenlist":
            return GreenlistSampler(generator, self.green(int(generator.vocab_size)), cfg.strength)
        return SignatureSampler(generator, cfg.key, cfg.strength)

    def __call__(self, batch: SyntheticBatch, *, rng: np.random.Generator) -> SyntheticBatch:
        cfg = self.config
        statistic, threshold, on_real = self._detector(batch)
        pool = batch.pool
        flagged = statistic(pool.x) > threshold if len(pool) else np.zeros(0, dtype=bool)
        plain = tuple(_unwrapped(g) for g in batch.generators)
        fresh, _ = synthesize(AMPLIFICATION_SAMPLES, plain, batch.generator_ids, rng, batch.bias)
        info = {
            "watermark_tpr": float(flagged.mean()) if len(pool) else 0.0,
            "watermark_fpr": float(np.mean(on_real > threshold)),
            "watermark_amplification": float(np.mean(statistic(fresh)) - np.mean(on_real)),
            "watermark_threshold": float(threshold),
        }
        if cfg.filter:
            pool = pool.take(np.flatnonzero(~flagged))
        return batch.with_pool(pool, **info)

    def _detector(self, batch: SyntheticBatch) -> tuple[Callable[[np.ndarray], np.ndarray], float, np.ndarray]:
        """The statistic (rows (n, d) -> (n,)), its threshold, and its values on the held-out
        real rows (false positives and the centre of the amplification)."""
        cfg = self.config
        real = np.asarray(batch.real_samples(cfg.reference), dtype=float)
        if cfg.scheme == "greenlist":
            green = self.green(int(batch.source.vocab_size))
            return green.z_scores, cfg.z_threshold, green.z_scores(real)
        half = len(real) // 2  # standardised and thresholded on one half, false positives on the other
        detector = SignatureDetector(cfg.key, real[:half], batch.source, cfg.threshold)
        return detector.statistic, detector.threshold, detector.statistic(real[half:])


def _unwrapped(generator: Any) -> Any:
    """The generator under any watermark wrappers."""
    while isinstance(generator, (GreenlistSampler, SignatureSampler)):
        generator = generator.wrapped
    return generator


@register("stage", "watermark", "mark synthetic samples at generation time with a secret key (greenlist for text, signature for vectors/images), detect, drop flagged", WatermarkConfig)
def build(config: WatermarkConfig) -> WatermarkStage:
    return WatermarkStage(config)
