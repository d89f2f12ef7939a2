"""Which data go with which generators and metrics: images with the image generators and image
metrics, token sequences with the language models and text metrics, vectors with the rest (one
of the load-time checks of :func:`autophagy.config.load_config`)."""

from __future__ import annotations

from typing import Any

from autophagy._validation import check
from autophagy.metrics.evaluate import NEEDS_IMAGES, NEEDS_TEXT, NEEDS_TEXT_TRUTH
from autophagy.registry import get

#: The generator kinds of each kind of data (a generator config's ``modality`` class attribute).
MODALITY_KINDS = {"images": "an image generator ('vae', 'ddpm', 'gan')", "text": "a language model ('ngram', 'transformer')"}


def data_modality(source: Any) -> str:
    """``images`` (labelled image rows), ``text`` (token sequences) or ``vectors`` (the rest)."""
    if hasattr(source, "image_shape"):
        return "images"
    return "text" if hasattr(source, "vocab_size") else "vectors"


def check_modality(config: Any, source: Any) -> None:
    """Images go with the image generators and image metrics, token sequences with the language
    models and text metrics; the source checks the eval settings against its held-out data."""
    assert config.metrics is not None  # load_config fills in unset metrics before the checks
    gen = config.generator
    data, model = data_modality(source), getattr(type(gen), "modality", "vectors")
    check(
        data == model,
        "generator.kind",
        f"{MODALITY_KINDS[data]} for data.kind {config.data.kind!r}" if data in MODALITY_KINDS
        else f"a generator of vectors for data.kind {config.data.kind!r} (the neural kinds need data.kind 'images', "
        "the language models data.kind 'grammar' or 'corpus')",
        gen.kind,
    )
    images = data == "images"
    for name in config.metrics:
        if name in NEEDS_IMAGES:
            check(images, "metrics", f"free of {name!r} unless data.kind is 'images'", name)
        if name == "classifier_accuracy":
            check(getattr(gen, "conditional", False), "metrics", "free of 'classifier_accuracy' unless generator.conditional is true", name)
        if name in NEEDS_TEXT:
            check(data == "text", "metrics", f"free of {name!r} unless data.kind is 'grammar' or 'corpus'", name)
        if name in NEEDS_TEXT_TRUTH:
            check(hasattr(source, "log_prob"), "metrics", f"free of {name!r} unless the text's exact law is known (data.kind 'grammar')", name)
    prepared = set()
    for name in config.metrics:  # e.g. the sentence-embedding model is installed: fail now, not after a fit
        prepare = get("metric", name).prepare
        if prepare is not None and prepare not in prepared:
            prepared.add(prepare)
            prepare()
    check_eval = getattr(source, "check_eval", None)
    if check_eval is not None:  # what the held-out data allow (enough held-out rows, the feature network)
        check_eval(config.eval)
