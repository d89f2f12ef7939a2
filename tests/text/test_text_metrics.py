"""Text metrics: the pure functions against hand-computed values, and the registered metrics
through ``evaluate`` with small stand-in sources and generators (i.i.d. categorical texts)."""

import doctest
import math

import numpy as np
import pytest

from autophagy._validation import validate
from autophagy.exceptions import InvalidParameterError
from autophagy.metrics import EvalConfig, EvalContext, evaluate
from autophagy.metrics.evaluate import NEEDS_TEXT, NEEDS_TEXT_TRUTH
from autophagy.registry import entries
from autophagy.text import functional as tm
from autophagy.text.metrics import TEXT_METRICS


class IIDText:
    """L i.i.d. tokens from a categorical law p (V,): a text source and a language model with
    exact log-probabilities (the contract's methods), temperature λ = ``bias`` when sampling."""

    def __init__(self, probs, seq_len, **decoding):
        self.probs = np.asarray(probs, dtype=float)
        self.vocab_size = len(self.probs)
        self.seq_len = seq_len
        self.tokens = [f"w{v}" for v in range(self.vocab_size)]
        self.__dict__.update(decoding)  # e.g. decoding="beam", as the n-gram's settings

    def token_log_probs(self, x):
        with np.errstate(divide="ignore"):
            return np.log(self.probs[np.rint(x).astype(int)])

    def log_prob(self, x):
        return self.token_log_probs(x).sum(axis=1)

    def sample(self, n, *, rng, bias=1.0):
        with np.errstate(divide="ignore"):
            q = np.exp(np.log(self.probs) / bias)
        return rng.choice(self.vocab_size, size=(n, self.seq_len), p=q / q.sum()).astype(float)

    holdout = sample

    def token_counts(self):
        return self.probs * self.seq_len

    def decode(self, ids):
        return " ".join(self.tokens[int(v)] for v in ids)


class IIDModel(IIDText):
    """The same as a language model that also exposes its next-token distribution."""

    def next_token_probs(self, prefix):
        return np.tile(self.probs, (len(prefix), 1))


def kl(q, p):
    """Closed-form KL(q ‖ p) of two categoricals (nats)."""
    q, p = np.asarray(q), np.asarray(p)
    return float(np.sum(q[q > 0] * np.log(q[q > 0] / p[q > 0])))


def context(truth, model, *, n=400, seq_len=12, bias=1.0, seed=0, reference=None, **config):
    rng = np.random.default_rng(seed)
    source = IIDText(truth, seq_len)
    return EvalContext(
        real=source.holdout(n, rng=rng),
        fake=model.sample(n, rng=rng, bias=bias),
        generator=model,
        bias=bias,
        source=source,
        config=EvalConfig(**config),
        rng=rng,
        reference=reference,
    )


TRUTH = [0.5, 0.3, 0.15, 0.04, 0.01]
MODEL = [0.6, 0.3, 0.09, 0.008, 0.002]


# ------------------------------------------------------------------------------ pure functions


def test_docstring_examples():
    assert doctest.testmod(tm, raise_on_error=False).failed == 0


@pytest.mark.parametrize("vocab", [2, 7, 1000])
def test_perplexity_of_a_uniform_model_is_the_vocabulary_size(vocab):
    seq_len = 16
    log_probs = np.full(5, seq_len * np.log(1 / vocab))
    assert tm.perplexity(log_probs, seq_len) == pytest.approx(vocab, rel=1e-12)


def test_perplexity_is_corpus_level():
    # two sequences of 2 tokens: probabilities (1/2, 1/4) and (1/2, 1/2): 5 bits over 4 tokens
    log_probs = [np.log(0.5 * 0.25), np.log(0.5 * 0.5)]
    assert tm.perplexity(log_probs, 2) == pytest.approx(2 ** (5 / 4))
    assert tm.perplexity([-np.inf, 0.0], 2) == np.inf


def test_sample_perplexities():
    tlp = np.log([[0.5, 0.5, 0.5], [0.1, 1.0, 1.0], [0.25, 0.5, 0.125]])
    np.testing.assert_allclose(tm.sample_perplexities(tlp), [2.0, 10 ** (1 / 3), 4.0])
    with pytest.raises(ValueError, match="shape"):
        tm.sample_perplexities(np.zeros(3))


def test_distinct_n_of_a_known_sequence():
    x = [[0, 1, 0, 1, 0, 1]]
    assert tm.distinct_n(x, 1) == pytest.approx(2 / 6)
    assert tm.distinct_n(x, 2) == pytest.approx(2 / 5)
    assert tm.distinct_n(x, 3) == pytest.approx(2 / 4)
    assert tm.distinct_n(x, 6) == 1.0
    # counted over the batch: the second sequence repeats the first one's bigrams, none across the seam
    assert tm.distinct_n(np.array([[2, 3, 4], [2, 3, 4]], dtype=float), 2) == pytest.approx(2 / 4)
    assert tm.distinct_n([[1, 2], [3, 1]], 2) == 1.0  # (2, 3) would only appear across the seam


def test_repetition_rate():
    abab = [[0, 1, 0, 1, 0, 1]]
    assert tm.repetition_rate(abab, 2) == pytest.approx(3 / 5)  # ab ba [ab ba ab]
    assert tm.repetition_rate(abab, 1) == pytest.approx(4 / 6)
    assert tm.repetition_rate([[7, 7, 7, 7]], 2) == pytest.approx(2 / 3)  # overlapping repeats count
    # mean over samples; repeats across samples do not count
    assert tm.repetition_rate([[0, 1, 2, 3], [5, 5, 5, 5]], 1) == pytest.approx((0 + 3 / 4) / 2)
    assert tm.repetition_rate([[0, 1], [0, 1]], 2) == 0.0


@pytest.mark.parametrize("fn", [tm.distinct_n, tm.repetition_rate])
def test_ngram_metrics_reject_bad_input(fn):
    with pytest.raises(ValueError, match="Expected n <= L"):
        fn([[0, 1, 2]], 4)
    with pytest.raises(InvalidParameterError, match="The 'n' parameter of .* must be an int in the range \\[1, inf\\). Got 0 instead."):
        fn([[0, 1, 2]], 0)
    with pytest.raises(ValueError, match="integer token ids"):
        fn([[0, 1.5, 2]], 1)
    with pytest.raises(ValueError, match="shape \\(n, L\\)"):
        fn([0, 1, 2], 1)


def test_vocab_coverage():
    assert tm.vocab_coverage(np.array([[0, 1, 1], [3, 0, 1]], dtype=float), 8) == pytest.approx(3 / 8)
    assert tm.vocab_coverage(np.arange(8)[None], 8) == 1.0
    with pytest.raises(ValueError, match="Expected token ids < vocab_size = 4"):
        tm.vocab_coverage([[0, 4]], 4)


def test_rare_tokens():
    counts = np.array([500.0, 300.0, 150.0, 45.0, 5.0, 0.0])  # relative: .5 .3 .15 .045 .005 0
    np.testing.assert_array_equal(tm.rare_tokens(counts, 0.05), [False, False, False, True, True, True])
    np.testing.assert_array_equal(tm.rare_tokens(counts, 0.005), [False] * 5 + [True])  # strict <
    assert tm.rare_tokens(counts, 1.0).sum() == 6
    with pytest.raises(InvalidParameterError, match="The 'threshold' parameter of rare_tokens must be a float in the range \\(0, 1\\]. Got 0 instead."):
        tm.rare_tokens(counts, 0)
    with pytest.raises(ValueError, match="positive sum"):
        tm.rare_tokens(np.zeros(3), 0.1)


def test_tail_shares():
    rare = np.array([False, False, True, True])
    assert tm.tail_token_share(np.array([[0, 2, 3, 0], [1, 1, 1, 3]], dtype=float), rare) == pytest.approx(3 / 8)
    probs = [[0.5, 0.4, 0.1, 0.0], [0.7, 0.0, 0.2, 0.1]]
    assert tm.tail_probability_mass(probs, rare) == pytest.approx((0.1 + 0.3) / 2)
    with pytest.raises(ValueError, match="Expected token ids < V = 4"):
        tm.tail_token_share([[4]], rare)
    with pytest.raises(ValueError, match="shape \\(m, V = 4\\)"):
        tm.tail_probability_mass(np.ones((2, 3)) / 3, rare)


def test_kl_to_truth_matches_the_closed_form(global_seed):
    rng = np.random.default_rng(global_seed)
    truth, model, seq_len, n = IIDText(TRUTH, 6), IIDModel(MODEL, 6), 6, 4000
    x = model.sample(n, rng=rng)
    g, p = model.log_prob(x), truth.log_prob(x)
    estimate = tm.kl_to_truth(p, g, seq_len)
    # per-token KL of i.i.d. sequences is the KL of one token; standard error from the samples
    stderr = np.std(g - p, ddof=1) / (seq_len * np.sqrt(n))
    assert abs(estimate - kl(MODEL, TRUTH)) < 4 * stderr
    assert tm.kl_to_truth([np.log(0.2), -np.inf], np.log([0.5, 0.5]), 1) == np.inf


# ------------------------------------------------------------------------- registered metrics


def test_text_metric_names_are_registered_and_listed():
    registered = set(entries("metric"))
    assert NEEDS_TEXT <= registered
    assert NEEDS_TEXT_TRUTH <= NEEDS_TEXT
    assert set(TEXT_METRICS) <= NEEDS_TEXT and not set(TEXT_METRICS) & NEEDS_TEXT_TRUTH
    from autophagy.text.embedding_metrics import TEXT_EMBEDDING_METRICS

    assert set(TEXT_METRICS) | NEEDS_TEXT_TRUTH | set(TEXT_EMBEDDING_METRICS) == NEEDS_TEXT


def test_eval_config_text_keys():
    config = EvalConfig()
    assert config.rare_threshold == 1e-4 and config.repetition_n == 4
    with pytest.raises(InvalidParameterError, match="The 'eval.rare_threshold' parameter must be greater than 0"):
        validate(EvalConfig, {"rare_threshold": 0.0}, "eval")
    with pytest.raises(InvalidParameterError, match="The 'eval.repetition_n' parameter"):
        validate(EvalConfig, {"repetition_n": 0}, "eval")


def test_registered_metrics_match_the_functions():
    model = IIDModel(MODEL, 12)
    ctx = context(TRUTH, model, rare_threshold=0.05, repetition_n=2)
    out = evaluate(TEXT_METRICS + ["true_perplexity", "impossible_rate"], ctx)
    rare = np.array(TRUTH) < 0.05  # the source's counts are p · L
    assert out["perplexity_real"] == pytest.approx(np.exp(-model.token_log_probs(ctx.real).mean()))
    assert out["true_perplexity"] == pytest.approx(np.exp(-ctx.source.token_log_probs(ctx.fake).mean()))
    assert out["impossible_rate"] == 0.0
    assert out["tail_mass"] == pytest.approx(rare[ctx.fake.astype(int)].mean())
    # every context of an i.i.d. model gives the rare set the same mass
    assert out["tail_probability"] == pytest.approx(np.array(MODEL)[rare].sum())
    assert out["vocab_coverage"] == pytest.approx(len(np.unique(ctx.fake)) / 5)
    assert out["repetition_rate"] == pytest.approx(tm.repetition_rate(ctx.fake, 2))
    assert [k for k in out if k.startswith("distinct_n")] == ["distinct_n_1", "distinct_n_2", "distinct_n_3"]
    for n in (1, 2, 3):
        assert out[f"distinct_n_{n}"] == pytest.approx(tm.distinct_n(ctx.fake, n))
    assert out["distinct_n_1"] == pytest.approx(len(np.unique(ctx.fake)) / ctx.fake.size)
    assert all(np.isfinite(v) for v in out.values())


def test_sample_perplexity_uses_the_reference_and_stores_the_distribution():
    model, reference = IIDModel(MODEL, 12), IIDText(TRUTH, 12)
    ctx = context(TRUTH, model, reference=reference)
    value = evaluate(["sample_perplexity"], ctx)["sample_perplexity"]
    stored = ctx.artifacts["sample_perplexity"]
    expected = np.exp(-reference.token_log_probs(ctx.fake).mean(axis=1))
    assert stored.shape == (len(ctx.fake),)
    np.testing.assert_allclose(stored, expected)
    assert value == pytest.approx(np.median(expected))
    # generation 1: no reference yet, G^t is G^0
    ctx = context(TRUTH, model)
    value = evaluate(["sample_perplexity"], ctx)["sample_perplexity"]
    assert value == pytest.approx(np.median(np.exp(-model.token_log_probs(ctx.fake).mean(axis=1))))


def test_kl_to_truth_draws_its_own_samples_at_unit_temperature():
    n, seq_len = 3000, 6
    model = IIDModel(MODEL, seq_len)
    at_one = context(TRUTH, model, n=n, seq_len=seq_len, seed=1)
    cold = context(TRUTH, model, n=n, seq_len=seq_len, seed=1, bias=0.3)
    x = at_one.fake
    stderr = np.std(model.log_prob(x) - at_one.source.log_prob(x), ddof=1) / (seq_len * np.sqrt(n))
    for ctx in (at_one, cold):
        assert abs(evaluate(["kl_to_truth"], ctx)["kl_to_truth"] - kl(MODEL, TRUTH)) < 4 * stderr
    # the cold samples alone would be far off: most of their tokens are the mode
    naive = tm.kl_to_truth(cold.source.log_prob(cold.fake), model.log_prob(cold.fake), seq_len)
    assert abs(naive - kl(MODEL, TRUTH)) > 10 * stderr
    assert "model_samples" in cold.cache and "model_samples" not in at_one.cache


def test_kl_to_truth_is_nan_when_the_sampler_is_not_the_model():
    for decoding in ({"decoding": "beam"}, {"top_k": 2}, {"top_p": 0.9}, {"repetition_penalty": 1.2}):
        ctx = context(TRUTH, IIDModel(MODEL, 6, **decoding), seq_len=6)
        assert math.isnan(evaluate(["kl_to_truth"], ctx)["kl_to_truth"])


def test_text_the_truth_forbids():
    truth = [0.5, 0.5, 0.0, 0.0, 0.0]  # the model's tokens 2..4 are impossible
    ctx = context(truth, IIDModel(MODEL, 12))
    out = evaluate(["true_perplexity", "impossible_rate", "kl_to_truth"], ctx)
    assert out["true_perplexity"] == np.inf and out["kl_to_truth"] == np.inf
    assert out["impossible_rate"] == pytest.approx(np.isin(ctx.fake, [2, 3, 4]).mean())


def test_tail_probability_falls_back_to_the_token_share():
    ctx = context(TRUTH, IIDText(MODEL, 12), rare_threshold=0.05)
    out = evaluate(["tail_probability", "tail_mass"], ctx)
    assert not hasattr(ctx.generator, "next_token_probs")
    assert out["tail_probability"] == out["tail_mass"]


def test_tail_probability_in_row_blocks(monkeypatch):
    import autophagy.text.metrics as text_metrics

    ctx = context(TRUTH, IIDModel(MODEL, 12), n=50, rare_threshold=0.05)
    monkeypatch.setattr(text_metrics, "_BLOCK_ENTRIES", 7 * 5)  # blocks of 7 rows, the last one short
    assert evaluate(["tail_probability"], ctx)["tail_probability"] == pytest.approx(MODEL[3] + MODEL[4])


def test_metrics_too_long_for_the_sequences_give_nan():
    ctx = context(TRUTH, IIDModel(MODEL, 2), seq_len=2, repetition_n=4)
    out = evaluate(["repetition_rate", "distinct_n"], ctx)
    assert math.isnan(out["repetition_rate"])
    assert np.isfinite([out["distinct_n_1"], out["distinct_n_2"]]).all() and math.isnan(out["distinct_n_3"])
