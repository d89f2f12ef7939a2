"""``correct_tokens``: text self-correction by the known grammar — no forbidden token left at
strength 1, the identity at 0, a share γ of forbidden tokens resampled in between, typos, and
the ``self_correct`` stage on a grammar loop."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

import autophagy
from autophagy.mitigation.correct_text import correct_tokens, forbidden
from autophagy.text.grammar import Grammar
from autophagy.text.ngram_model import NGramLM


def model_text(grammar: Grammar, n: int, seed: int = 0) -> np.ndarray:
    """n sequences of a bigram model fitted on a little grammar text: its smoothing emits tokens
    the grammar forbids."""
    rng = np.random.default_rng(seed)
    lm = NGramLM(grammar.vocab_size, grammar.seq_len, order=2).fit(grammar.sample(200, rng=rng), rng=rng)
    return lm.sample(n, rng=rng)


@pytest.fixture(scope="module")
def clean():
    return Grammar(vocab_size=300, seq_len=32, noise=0.0)


def test_strength_one_leaves_no_forbidden_token(clean):
    x = model_text(clean, 500)
    assert np.isinf(clean.token_log_probs(x)).mean() > 0.02  # the model's text breaks the grammar
    y = correct_tokens(SimpleNamespace(source=clean), x, 1.0, np.random.default_rng(1))
    assert y.shape == x.shape and y.dtype == np.float64
    assert np.all(np.isfinite(clean.token_log_probs(y)))
    allowed = ~forbidden(clean, x)
    first_bad = np.where((~allowed).any(axis=1), (~allowed).argmax(axis=1), x.shape[1])
    for row in range(len(x)):  # up to the first forbidden token nothing changes
        np.testing.assert_array_equal(y[row, : first_bad[row]], x[row, : first_bad[row]])


def test_strength_zero_is_the_identity_and_a_run_is_deterministic(clean):
    x = model_text(clean, 200)
    np.testing.assert_array_equal(correct_tokens(SimpleNamespace(source=clean), x, 0.0, np.random.default_rng(2)), x)
    a = correct_tokens(SimpleNamespace(source=clean), x, 0.5, np.random.default_rng(3))
    b = correct_tokens(SimpleNamespace(source=clean), x, 0.5, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("strength", [0.3, 0.7])
def test_a_share_strength_of_forbidden_tokens_is_resampled(clean, strength):
    # the first forbidden token of each row has an uncorrected prefix: it is replaced (by a token
    # the grammar allows, so a different one) with probability γ; binomial standard error, 4 of them
    x = model_text(clean, 3000, seed=4)
    bad = forbidden(clean, x)
    rows = np.flatnonzero(bad.any(axis=1))
    first = bad[rows].argmax(axis=1)
    y = correct_tokens(SimpleNamespace(source=clean), x, strength, np.random.default_rng(5))
    replaced = y[rows, first] != x[rows, first]
    assert abs(replaced.mean() - strength) < 4 * np.sqrt(strength * (1 - strength) / len(rows))
    assert np.all(np.isfinite(clean.token_log_probs(y[rows[replaced]])[np.arange(replaced.sum()), first[replaced]]))


def test_replacements_follow_the_true_next_token_law(clean):
    # every row forbidden at position 0 (a token the sentence start cannot emit): replacements are
    # draws of P(x_1 | start); chi-square-free check: each allowed token's frequency within 4 se
    p = clean.next_token_probs(np.zeros((1, 0)))[0]
    bad_token = int(np.flatnonzero(p == 0)[0])
    n = 20_000
    x = np.full((n, clean.seq_len), float(bad_token))
    y = correct_tokens(SimpleNamespace(source=clean), x, 1.0, np.random.default_rng(6))
    freq = np.bincount(y[:, 0].astype(int), minlength=clean.vocab_size) / n
    assert np.all(np.abs(freq - p) < 4 * np.sqrt(p * (1 - p) / n) + 1e-12)


def test_with_typos_only_the_typo_floor_counts_as_forbidden():
    noisy = Grammar(vocab_size=300, seq_len=32, noise=0.01)
    x = model_text(noisy, 1000, seed=7)
    bad = forbidden(noisy, x)
    assert np.all(np.isfinite(noisy.token_log_probs(x))) and bad.mean() > 0.02  # no -inf: typos give ε/V
    y = correct_tokens(SimpleNamespace(source=noisy), x, 1.0, np.random.default_rng(8))
    # a replacement is drawn from P_ε and is itself a typo with probability <= ε; tokens after a
    # replacement are rechecked in their new context, so count against every token: at most
    # ε·(tokens) + 4 binomial standard errors
    left = forbidden(noisy, y).sum()
    assert left < bad.sum() / 5 and left <= 0.01 * y.size + 4 * np.sqrt(0.01 * y.size)


def test_self_correct_on_a_grammar_loop():
    config = {
        "name": "text-correct", "seed": 2, "generations": 3,
        "data": {"kind": "grammar", "vocab_size": 200, "seq_len": 24, "noise": 0.0},
        "generator": {"kind": "ngram", "order": 2},
        "loop": {"kind": "fully_synthetic", "n_real": 100, "n_synthetic": 300},
        "metrics": ["impossible_rate"], "eval": {"n_samples": 200},
    }
    plain = autophagy.run(config, out=None).metrics
    fixed = autophagy.run({**config, "mitigation": [{"kind": "self_correct", "strength": 1.0}]}, out=None).metrics

    def last(m, metric):
        return m[(m.generation == 3) & (m.metric == metric)].value.iloc[0]

    assert last(fixed, "self_correct_shift") > 0
    assert last(fixed, "impossible_rate") < last(plain, "impossible_rate")
