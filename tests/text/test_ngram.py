import itertools
import math
from collections import Counter
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import stats

from autophagy._validation import validate
from autophagy.exceptions import InvalidParameterError, NotFittedError
from autophagy.registry import get
from autophagy.text.ngram import NGramConfig
from autophagy.text.ngram_model import NGramLM


def markov_corpus(n, length, vocab, rng, concentration=0.3):
    """Sequences of a random first-order Markov chain with sparse-ish Dirichlet rows."""
    start = rng.dirichlet(np.full(vocab, concentration))
    trans = rng.dirichlet(np.full(vocab, concentration), size=vocab)
    x = np.empty((n, length), np.int64)
    x[:, 0] = (rng.random(n)[:, None] > np.cumsum(start)).sum(1).clip(0, vocab - 1)
    for t in range(1, length):
        x[:, t] = (
            (rng.random(n)[:, None] > np.cumsum(trans[x[:, t - 1]], axis=1))
            .sum(1)
            .clip(0, vocab - 1)
        )
    return x.astype(float), start, trans


def fitted(rng, vocab=8, length=6, n=60, **params):
    x, _, _ = markov_corpus(n, length, vocab, rng)
    return NGramLM(vocab, length, **params).fit(x, rng=rng), x


# ------------------------------------------------------------------------ reference (slow, dicts)


def reference_model(seqs, vocab, order, kind="modified_kn"):
    """Interpolated (modified) Kneser–Ney written straight from Chen & Goodman, with dicts.

    Returns ``prob(history_tuple, w)``; BOS is ``vocab``; the same KenLM convention (k-grams
    starting with BOS keep raw counts) and the same discount fallback as the module.
    """
    bos = vocab
    raw = {k: Counter() for k in range(1, order + 1)}
    for seq in seqs:
        padded = [bos] * (order - 1) + [int(s) for s in seq]
        for t in range(order - 1, len(padded)):
            for k in range(1, order + 1):
                raw[k][tuple(padded[t - k + 1 : t + 1])] += 1
    adjusted = {order: dict(raw[order])}
    for k in range(order - 1, 0, -1):
        left = Counter(g[1:] for g in raw[k + 1])
        adjusted[k] = {g: (c if g[0] == bos else left[g]) for g, c in raw[k].items()}
    discounts = {}
    for k in range(1, order + 1):
        n = Counter(min(c, 5) for c in adjusted[k].values())
        try:
            y = n[1] / (n[1] + 2 * n[2])
        except ZeroDivisionError:
            y = math.nan
        ds = []
        for j in (1, 2, 3):
            try:
                d = y if kind == "kn" else j - (j + 1) * y * n[j + 1] / n[j]
            except ZeroDivisionError:
                d = math.nan
            d = j / 2 if math.isnan(d) else d
            ds.append(min(max(d, 0.1), j))
        discounts[k] = ds

    def prob(history, w):
        if len(history) == order:  # keep the last order - 1 symbols
            history = history[1:]
        k = len(history) + 1
        lower = 1 / vocab if k == 1 else prob(history[1:], w)
        grams = {x: adjusted[k].get(history + (x,), 0) for x in range(vocab)}
        total = sum(grams.values())
        if total == 0:
            return lower
        d = discounts[k]
        gamma = sum(d[min(c, 3) - 1] for c in grams.values() if c) / total
        own = max(grams[w] - d[min(grams[w], 3) - 1], 0) / total if grams[w] else 0.0
        return own + gamma * lower

    return prob


def reference_log_prob(prob, seq, order, vocab):
    padded = [vocab] * (order - 1) + [int(s) for s in seq]
    return sum(
        math.log(prob(tuple(padded[t - order + 1 : t]), padded[t]))
        for t in range(order - 1, len(padded))
    )


# ------------------------------------------------------------------------------- the model


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("discount", ["modified_kn", "kn"])
def test_next_token_probabilities_sum_to_one(order, discount, rng):
    model, x = fitted(rng, vocab=12, order=order, discount=discount)
    seen = x[rng.integers(len(x), size=40)].astype(int)
    prefixes = [seen[:, :t] for t in range(order + 2)]  # BOS contexts, seen contexts, ...
    unseen = rng.integers(12, size=(200, order + 1))  # mostly contexts never seen in training
    for prefix in [*prefixes, unseen, np.empty((5, 0))]:
        p = model.next_token_probs(prefix)
        assert p.shape == (len(prefix), 12) and np.all(p > 0)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_tokens_never_seen_in_training_still_have_probability(rng):
    x = rng.integers(5, size=(30, 8)).astype(float)  # tokens 5..9 never occur
    model = NGramLM(10, 8).fit(x, rng=rng)
    p = model.next_token_probs(x[:3, :4])
    assert np.all(p[:, 5:] > 0) and np.all(p[:, 5:] < p[:, :5].min())


def test_sequence_probabilities_sum_to_one_over_all_sequences(rng):
    model, _ = fitted(rng, vocab=4, length=3, n=40)
    every = np.array(list(itertools.product(range(4), repeat=3)), float)
    np.testing.assert_allclose(np.exp(model.log_prob(every)).sum(), 1.0, atol=1e-12)


@pytest.mark.parametrize(
    "order,discount",
    [(1, "modified_kn"), (2, "modified_kn"), (3, "modified_kn"), (4, "modified_kn"), (3, "kn")],
)
def test_log_prob_matches_reference_implementation(order, discount, rng):
    vocab = 6
    x, _, _ = markov_corpus(40, 7, vocab, rng, concentration=0.5)
    model = NGramLM(vocab, 7, order=order, discount=discount).fit(x, rng=rng)
    prob = reference_model(x, vocab, order, discount)
    test = np.concatenate([x[:10], rng.integers(vocab, size=(10, 7))]).astype(float)
    expected = [reference_log_prob(prob, s, order, vocab) for s in test]
    np.testing.assert_allclose(model.log_prob(test), expected, rtol=1e-12)
    np.testing.assert_allclose(
        model.log_prob(test), model.token_log_probs(test).sum(axis=1), rtol=1e-14
    )
    history = tuple(int(s) for s in test[3, :2])
    p = model.next_token_probs(test[3:4, :2])[0]
    np.testing.assert_allclose(
        p,
        [
            prob((vocab,) * (order - 1 - len(history)) + history if order > 1 else (), w)
            for w in range(vocab)
        ],
        rtol=1e-12,
    )


def test_discounts_follow_chen_goodman(rng):
    model, _ = fitted(rng, vocab=30, length=40, n=200)
    counts = model.counts_[-1]  # highest order: raw counts
    n1, n2, n3, n4 = (np.sum(counts == j) for j in (1, 2, 3, 4))
    y = n1 / (n1 + 2 * n2)
    np.testing.assert_allclose(
        model.discounts_[-1], [1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3]
    )


def test_fitted_bigram_approaches_the_true_process(global_seed):
    rng = np.random.default_rng(global_seed)
    vocab, n, length = 10, 20_000, 20
    x, start, trans = markov_corpus(n, length, vocab, rng, concentration=1.0)
    model = NGramLM(vocab, length, order=2).fit(x, rng=rng)
    p = model.next_token_probs(np.arange(vocab)[:, None])  # row s: P(· | s)
    visits = np.bincount(x[:, :-1].astype(int).ravel(), minlength=vocab)  # c(s): context counts
    # sampling error: 5 binomial sd sqrt(p(1-p)/c); smoothing moves at most V·D3+ (<= 3V) counts: 3V/c
    tol = 5 * np.sqrt(trans * (1 - trans) / visits[:, None]) + 3 * vocab / visits[:, None]
    assert np.all(np.abs(p - trans) <= tol)
    tol0 = 5 * np.sqrt(start * (1 - start) / n) + 3 * vocab / n
    assert np.all(np.abs(model.next_token_probs(np.empty((1, 0)))[0] - start) <= tol0)


# ---------------------------------------------------------------------------------- sampling


def chi_square_pvalue(samples, probs, vocab):
    """p-value of sampled whole sequences (n, L) against their probabilities (V^L outcomes)."""
    codes = np.ravel_multi_index(samples.astype(int).T, (vocab,) * samples.shape[1])
    observed = np.bincount(codes, minlength=probs.size)
    common = probs * len(samples) >= 5  # pool the rare outcomes into one cell (the test's validity)
    obs = np.r_[observed[common], observed[~common].sum()]
    exp = np.r_[probs[common], probs[~common].sum()] * len(samples)
    return stats.chisquare(obs[exp > 0], exp[exp > 0]).pvalue


def exact_decoding_probs(model, every, bias):
    """Probability that decoding: sample draws each sequence of ``every`` (m, L): product of its steps."""
    logp = np.zeros(len(every))
    for t in range(every.shape[1]):
        q = model.decoding_probs(every[:, :t], bias=bias)
        logp += np.log(q[np.arange(len(every)), every[:, t].astype(int)] + 1e-300)
    return np.exp(logp)


@pytest.mark.parametrize(
    "params,bias",
    [
        ({}, 1.0),
        ({}, 0.5),
        ({"repetition_penalty": 3.0}, 1.0),
        ({"repetition_penalty": 2.0}, 0.6),
        ({"top_k": 2}, 0.8),
        ({"top_p": 0.7}, 1.0),
    ],
    ids=["model", "temperature", "penalty", "penalty+temperature", "top_k", "top_p"],
)
def test_sampling_frequencies_match_the_decoding_distribution(params, bias, global_seed):
    # Whole sequences of length 3 over 4 tokens: 64 outcomes, 40 000 draws, chi-square test.
    rng = np.random.default_rng(global_seed)
    model, _ = fitted(rng, vocab=4, length=3, n=30, **params)
    every = np.array(list(itertools.product(range(4), repeat=3)), float)
    probs = exact_decoding_probs(model, every, bias)
    np.testing.assert_allclose(probs.sum(), 1.0, atol=1e-12)
    if not params and bias == 1.0:
        np.testing.assert_allclose(probs, np.exp(model.log_prob(every)), rtol=1e-12)
    samples = model.sample(40_000, rng=rng, bias=bias)
    assert samples.shape == (40_000, 3) and samples.dtype == np.float64
    pvalue = chi_square_pvalue(samples, probs, 4)
    assert pvalue > 1e-4  # a correct sampler fails this once in 10 000 seeds
    drawn = np.ravel_multi_index(samples.astype(int).T, (4, 4, 4))
    assert np.all(probs[drawn] > 0)  # never outside the top-k / the nucleus


@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_rejection_bound_is_the_exact_largest_next_token_probability(order, rng):
    # Tempered and penalised sampling accept a proposal w ~ p with probability (p(w)/p_max)^(1/λ-1):
    # exact only if p_max is the true maximum over the vocabulary (an upper bound at least).
    model, x = fitted(rng, vocab=40, length=12, n=60, order=order)
    prefixes = [x[:30, :t] for t in range(5)] + [rng.integers(40, size=(100, 3))]
    for prefix in prefixes:
        history = model._history(prefix.astype(np.int64))
        peak = model._peak(model._lookup(history), len(prefix))
        np.testing.assert_allclose(peak, model.next_token_probs(prefix).max(axis=1), rtol=1e-12)


def entropy(p):
    return -(p * np.log(np.where(p > 0, p, 1))).sum(axis=1)


def test_temperature_lowers_entropy_and_small_temperature_is_greedy(global_seed):
    rng = np.random.default_rng(global_seed)
    model, x = fitted(rng, vocab=20, length=10, n=200)
    prefixes = x[:50, :4]
    h = [entropy(model.decoding_probs(prefixes, bias=b)) for b in (1.0, 0.7, 0.4, 0.1)]
    assert all(np.all(a > b) for a, b in itertools.pairwise(h))
    samples = model.sample(300, rng=rng, bias=0.01)
    for t in range(10):  # every token is (one of) the model's most probable next tokens
        p = model.next_token_probs(samples[:, :t])
        drawn = p[np.arange(300), samples[:, t].astype(int)]
        # at λ = 0.01 a token below 0.9 p_max is drawn with probability <= V·0.9^100 ≈ 5e-4
        assert np.mean(drawn >= 0.9 * p.max(axis=1)) > 0.99


def test_top_k_and_top_p_truncate(rng):
    model, x = fitted(rng, vocab=20, length=10, n=200, top_k=3)
    q = model.decoding_probs(x[:40, :3], bias=0.8)
    assert np.all(np.count_nonzero(q, axis=1) == 3)
    p = model.next_token_probs(x[:40, :3])
    top3 = np.sort(np.argsort(-p, axis=1)[:, :3], axis=1)
    np.testing.assert_array_equal(np.sort(np.argsort(-q, axis=1)[:, :3], axis=1), top3)
    samples = model.sample(500, rng=rng, bias=0.8).astype(int)
    for t in range(10):
        q = model.decoding_probs(samples[:, :t], bias=0.8)
        assert np.all(q[np.arange(500), samples[:, t]] > 0)
    nucleus = NGramLM(20, 10, top_p=0.6).fit(x, rng=rng)
    p = nucleus.next_token_probs(x[:40, :3])
    q = nucleus.decoding_probs(x[:40, :3])
    kept = q > 0
    assert np.all((p * kept).sum(axis=1) >= 0.6 - 1e-12)  # the nucleus reaches top_p ...
    smallest = np.where(kept, p, np.inf).min(axis=1)
    assert np.all((p * kept).sum(axis=1) - smallest < 0.6)  # ... and is the smallest such set
    assert np.all(np.where(kept, p, np.inf).min(axis=1) >= np.where(kept, -np.inf, p).max(axis=1))


@pytest.mark.parametrize("decoding", ["greedy", "beam"])
def test_greedy_and_beam_are_deterministic_given_the_first_token(decoding, global_seed):
    rng = np.random.default_rng(global_seed)
    model, _ = fitted(rng, vocab=15, length=8, n=100, decoding=decoding)
    a = model.sample(200, rng=np.random.default_rng(5))
    b = model.sample(200, rng=np.random.default_rng(6))
    for first in set(a[:, 0]) & set(b[:, 0]):
        rows = np.r_[a[a[:, 0] == first], b[b[:, 0] == first]]
        assert np.all(rows == rows[0])
    np.testing.assert_allclose(
        np.bincount(a[:, 0].astype(int), minlength=15) / 200,
        model.next_token_probs(np.empty((1, 0)))[0],
        atol=5 * 0.5 / np.sqrt(200),
    )
    if decoding == "greedy":  # each token is a most probable next token (ties: any of them)
        for t in range(1, 8):
            p = model.next_token_probs(a[:, :t])
            np.testing.assert_allclose(
                p[np.arange(200), a[:, t].astype(int)], p.max(axis=1), rtol=1e-12
            )


def test_wide_beam_finds_the_most_probable_continuation(global_seed):
    # With beam_size = V^(L-2) every prefix survives, so beam search is exhaustive.
    rng = np.random.default_rng(global_seed)
    vocab, length = 3, 4
    width = vocab ** (length - 2)
    model, _ = fitted(rng, vocab=vocab, length=length, n=20, decoding="beam", beam_size=width)
    samples = model.sample(50, rng=rng)
    rest = np.array(list(itertools.product(range(vocab), repeat=length - 1)), float)
    for first in np.unique(samples[:, 0]):
        every = np.c_[np.full(len(rest), first), rest]
        found = samples[samples[:, 0] == first][:1]
        np.testing.assert_allclose(model.log_prob(found), model.log_prob(every).max(), rtol=1e-12)


def repeats(samples):
    """Share of tokens that already occurred earlier in their sequence."""
    return np.mean([[s[t] in s[:t] for t in range(1, len(s))] for s in samples.astype(int)])


@pytest.mark.parametrize("decoding", ["sample", "greedy", "beam"])
def test_repetition_penalty_reduces_repeats(decoding, global_seed):
    rng = np.random.default_rng(global_seed)
    x, _, _ = markov_corpus(300, 10, 12, rng, concentration=0.2)
    share = {}
    for theta in (1.0, 5.0, 1e12):
        model = NGramLM(12, 10, decoding=decoding, repetition_penalty=theta).fit(x, rng=rng)
        share[theta] = repeats(model.sample(400, rng=np.random.default_rng(0)))
    assert share[5.0] < share[1.0]
    # θ = 1e12 puts a present token below 1e-12 of its probability: with seq_len <= V, none repeats
    assert share[1e12] == 0.0


@pytest.mark.parametrize(
    "params,bias",
    [
        ({}, 1.0),
        ({}, 0.6),
        ({"top_k": 4, "repetition_penalty": 2.0}, 0.9),
        ({"decoding": "beam"}, 1.0),
    ],
)
def test_state_round_trip_and_rng_determinism(params, bias, rng):
    model, x = fitted(rng, vocab=20, length=10, n=100, **params)
    state = model.get_state()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    clone = NGramLM(20, 10, **params).set_state({k: v.copy() for k, v in state.items()})
    a = model.sample(300, rng=np.random.default_rng(3), bias=bias)
    np.testing.assert_array_equal(a, clone.sample(300, rng=np.random.default_rng(3), bias=bias))
    np.testing.assert_array_equal(a, model.sample(300, rng=np.random.default_rng(3), bias=bias))
    assert not np.array_equal(a, model.sample(300, rng=np.random.default_rng(4), bias=bias))
    np.testing.assert_array_equal(model.log_prob(x), clone.log_prob(x))


# ------------------------------------------------------------------------------- bad input


def test_config_builds_from_the_registry(rng):
    config = validate(NGramConfig, {"kind": "ngram", "order": 2, "top_p": 0.9}, "generator")
    assert config.modality == "text"  # goes with data.kind grammar / corpus
    model = get("generator", "ngram").build(config, SimpleNamespace(vocab_size=7, seq_len=5))
    assert (model.vocab_size, model.seq_len, model.order, model.top_p) == (7, 5, 2, 0.9)
    with pytest.raises(NotFittedError):
        model.sample(2, rng=rng)
    assert model.fit(rng.integers(7, size=(20, 5)).astype(float), rng=rng).sample(
        3, rng=rng
    ).shape == (3, 5)


@pytest.mark.parametrize(
    "raw,message",
    [
        ({"bias": 0.0}, r"The 'generator.bias' parameter must be greater than 0. Got 0.0 instead."),
        ({"bias": -1.0}, r"The 'generator.bias' parameter must be greater than 0"),
        (
            {"top_p": 0.0},
            r"The 'generator.top_p' parameter must be greater than 0. Got 0.0 instead.",
        ),
        (
            {"top_p": 1.5},
            r"The 'generator.top_p' parameter must be less than or equal to 1. Got 1.5 instead.",
        ),
        (
            {"beam_size": 0},
            r"The 'generator.beam_size' parameter must be greater than 0. Got 0 instead.",
        ),
        ({"top_k": 0}, r"The 'generator.top_k' parameter must be greater than 0. Got 0 instead."),
        (
            {"repetition_penalty": 0.9},
            r"The 'generator.repetition_penalty' parameter must be greater than or equal to 1. Got 0.9 instead.",
        ),
        (
            {"decoding": "beam", "bias": 0.5},
            r"The 'generator.bias' parameter must be 1 with generator.decoding 'beam' .*Got 0.5 instead.",
        ),
        (
            {"decoding": "nucleus"},
            r"The 'generator.decoding' parameter must be 'sample', 'greedy' or 'beam'. Got 'nucleus' instead.",
        ),
        ({"order": 0}, r"The 'generator.order' parameter must be greater than 0"),
    ],
)
def test_bad_config_raises_the_canonical_error(raw, message):
    with pytest.raises(InvalidParameterError, match=message):
        validate(NGramConfig, {"kind": "ngram", **raw}, "generator")


@pytest.mark.parametrize(
    "params,bias,message",
    [
        ({}, 0.0, r"The 'bias' parameter must be in \(0, 1\]. Got 0.0 instead."),
        ({}, 1.5, r"The 'bias' parameter must be in \(0, 1\]. Got 1.5 instead."),
        (
            {"top_p": 0.0},
            1.0,
            r"The 'top_p' parameter must be a number in \(0, 1\]. Got 0.0 instead.",
        ),
        ({"top_k": 0}, 1.0, r"The 'top_k' parameter must be an int >= 1 or None. Got 0 instead."),
        ({"beam_size": 0}, 1.0, r"The 'beam_size' parameter must be an int >= 1. Got 0 instead."),
        (
            {"repetition_penalty": 0.5},
            1.0,
            r"The 'repetition_penalty' parameter must be a number >= 1. Got 0.5 instead.",
        ),
        (
            {"decoding": "greedy"},
            0.7,
            r"The 'bias' parameter must be 1 with decoding 'greedy' .*Got 0.7 instead.",
        ),
        ({"discount": "witten_bell"}, 1.0, r"The 'discount' parameter must be one of"),
    ],
)
def test_bad_arguments_raise_the_canonical_error(params, bias, message, rng):
    x = rng.integers(5, size=(10, 4)).astype(float)
    model = NGramLM(5, 4).fit(x, rng=rng)
    for key, value in params.items():
        setattr(model, key, value)
    with pytest.raises(InvalidParameterError, match=message):
        model.sample(3, rng=rng, bias=bias)


def test_order_too_high_for_int64_keys_and_bad_tokens_are_rejected(rng):
    with pytest.raises(
        InvalidParameterError,
        match=r"The 'order' parameter must be an int in \[1, 4\] for vocab_size 50000",
    ):
        NGramLM(50_000, 4, order=5).fit(np.zeros((2, 4)), rng=rng)
    with pytest.raises(InvalidParameterError, match=r"integer token ids in 0..4"):
        NGramLM(5, 3).fit(np.array([[0, 1, 5]], float), rng=rng)
    with pytest.raises(InvalidParameterError, match=r"integer token ids in 0..4"):
        NGramLM(5, 3).fit(np.array([[0, 1.5, 2]]), rng=rng)
    with pytest.raises(InvalidParameterError, match=r"shape \(n, seq_len\)"):
        NGramLM(5, 3).fit(np.zeros(3), rng=rng)
    with pytest.raises(InvalidParameterError, match=r"n_samples >= 1"):
        NGramLM(5, 3).fit(np.zeros((0, 3)), rng=rng)
