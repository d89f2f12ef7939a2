"""The transformer LM family: it learns, its scores are distributions, it is deterministic, its
state round-trips, the decoding rules hold, and a local checkpoint loads with no network."""

import math
import socket
import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

import torch  # noqa: E402

from autophagy._validation import validate  # noqa: E402
from autophagy.exceptions import InvalidParameterError, MissingExtraError, NotFittedError  # noqa: E402
from autophagy.registry import get  # noqa: E402
from autophagy.text import decoding_rules as decoding  # noqa: E402
from autophagy.text.transformer import TransformerConfig, check_pretrained  # noqa: E402
from autophagy.text.transformer_model import TransformerLM  # noqa: E402

V, L = 12, 16
TINY = {"n_layer": 1, "n_head": 2, "n_embd": 32, "batch_size": 32, "lr": 3e-3}


def markov_chain(seed: int = 0) -> np.ndarray:
    """A sparse transition matrix (V, V): each token has 3 successors with Dirichlet(1) probabilities."""
    rng = np.random.default_rng(seed)
    p = np.zeros((V, V))
    for i in range(V):
        p[i, rng.choice(V, 3, replace=False)] = rng.dirichlet(np.ones(3))
    return p


def draw(p: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n sequences (n, L) of the chain from a uniform first state, float64 ids."""
    cdf = np.cumsum(p, axis=1)
    x = np.empty((n, L), np.int64)
    x[:, 0] = rng.integers(V, size=n)
    for t in range(1, L):
        x[:, t] = np.minimum((cdf[x[:, t - 1]] < rng.random((n, 1))).sum(axis=1), V - 1)
    return x.astype(np.float64)


def true_nats_per_token(p: np.ndarray, x: np.ndarray) -> float:
    ids = x.astype(np.int64)
    return -(np.log(1.0 / V) * len(ids) + np.log(p[ids[:, :-1], ids[:, 1:]]).sum()) / ids.size


def config(**changes: object) -> TransformerConfig:
    return TransformerConfig(**{**TINY, **changes})


@pytest.fixture(scope="module")
def chain() -> np.ndarray:
    return markov_chain()


@pytest.fixture(scope="module")
def data(chain):
    rng = np.random.default_rng(0)
    return draw(chain, 400, rng), draw(chain, 200, rng)


@pytest.fixture(scope="module")
def trained(data) -> TransformerLM:
    return TransformerLM(config(steps=200), V, L).fit(data[0], rng=np.random.default_rng(1))


def with_decoding(lm: TransformerLM, **changes: object) -> TransformerLM:
    """A copy of the trained ``lm`` with other decoding settings."""
    return TransformerLM(lm.config.model_copy(update=changes), V, L).set_state(lm.get_state())


# ------------------------------------------------------------------------------ learning, scores


def test_learns_the_chain(trained, data, chain):
    test = data[1]
    nats = -trained.log_prob(test).mean() / L
    assert trained.losses_[0] == pytest.approx(math.log(V), abs=0.3)  # untrained: about uniform
    assert nats < math.log(V) - 1.0  # a lot better than untrained
    assert nats < true_nats_per_token(chain, test) + 0.3  # and near the truth (~1 nat/token)


def test_log_prob_is_the_sum_of_token_log_probs(trained, data):
    x = data[1][:50]
    token = trained.token_log_probs(x)
    assert token.shape == (50, L) and token.dtype == np.float64
    np.testing.assert_allclose(trained.log_prob(x), token.sum(axis=1))
    assert np.all(token <= 0)


def test_next_token_probabilities_sum_to_one_and_match_the_scores(trained, data):
    x = data[1][:20]
    token = trained.token_log_probs(x)
    for t in (0, 5, L - 1):
        p = trained.next_token_probs(x[:, :t])  # (20, V)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(np.log(p[np.arange(20), x[:, t].astype(int)]), token[:, t], atol=1e-5)


def test_samples_are_token_ids_of_the_right_shape(trained):
    s = trained.sample(40, rng=np.random.default_rng(2))
    assert s.shape == (40, L) and s.dtype == np.float64
    assert np.all(s == np.rint(s)) and s.min() >= 0 and s.max() < V  # BOS (id V) is never generated
    assert trained.sample(0, rng=np.random.default_rng(2)).shape == (0, L)


def test_not_fitted_raises():
    lm = TransformerLM(config(), V, L)
    with pytest.raises(NotFittedError):
        lm.sample(3, rng=np.random.default_rng(0))
    with pytest.raises(NotFittedError):
        lm.log_prob(np.zeros((2, L)))


def test_bad_token_ids_raise(trained):
    with pytest.raises(InvalidParameterError, match="integer token ids in 0..11"):
        trained.log_prob(np.full((2, L), V))
    with pytest.raises(InvalidParameterError, match="shape"):
        trained.log_prob(np.zeros(L))


# ----------------------------------------------------------------- determinism, state, init


def test_fit_and_sample_are_bitwise_deterministic(data):
    a = TransformerLM(config(steps=15, init="scratch"), V, L).fit(data[0], rng=np.random.default_rng(5))
    b = TransformerLM(config(steps=15, init="scratch"), V, L).fit(data[0], rng=np.random.default_rng(5))
    sa, sb = a.get_state(), b.get_state()
    assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)
    np.testing.assert_array_equal(a.losses_, b.losses_)
    np.testing.assert_array_equal(a.sample(30, rng=np.random.default_rng(9)), b.sample(30, rng=np.random.default_rng(9)))
    assert not np.array_equal(a.sample(30, rng=np.random.default_rng(9)), a.sample(30, rng=np.random.default_rng(10)))


def test_state_round_trip(trained, data):
    state = trained.get_state()
    assert all(isinstance(v, np.ndarray) for v in state.values())
    copy = TransformerLM(config(steps=200), V, L).set_state(state)
    np.testing.assert_array_equal(copy.log_prob(data[1]), trained.log_prob(data[1]))
    np.testing.assert_array_equal(copy.sample(20, rng=np.random.default_rng(3)), trained.sample(20, rng=np.random.default_rng(3)))
    with pytest.raises(InvalidParameterError, match="state"):
        TransformerLM(config(n_embd=16), V, L).set_state(state)


def test_warm_start_continues_from_the_loaded_weights(trained, data):
    warm = TransformerLM(config(steps=10, init="warm_start"), V, L).set_state(trained.get_state())
    warm.fit(data[0], rng=np.random.default_rng(4))
    assert warm.losses_[0] < trained.losses_[0] - 1.0  # starts where G^{t-1} ended, not from scratch
    assert warm.losses_[0] < trained.losses_[-10:].mean() + 0.2


def test_base_restarts_from_the_same_weights_scratch_does_not(data):
    # lr 1e-30 leaves the initial weights in place (up to ±1e-30 on zero biases)
    def start(init: str, seed: int) -> dict[str, np.ndarray]:
        lm = TransformerLM(config(steps=1, lr=1e-30, init=init), V, L)
        return lm.fit(data[0], rng=np.random.default_rng(seed)).get_state()

    same = lambda a, b: all(np.allclose(a[k], b[k], rtol=0, atol=1e-20) for k in a)  # noqa: E731
    assert same(start("base", 1), start("base", 2))
    assert not same(start("scratch", 1), start("scratch", 2))
    assert same(start("warm_start", 1), start("base", 1))  # a first warm start begins at the base
    assert not same(start("base", 1), TransformerLM(config(steps=1, lr=1e-30, base_seed=1), V, L).fit(data[0], rng=np.random.default_rng(1)).get_state())


def test_epochs_set_the_number_of_steps(data):
    lm = TransformerLM(config(epochs=2, batch_size=100), V, L)
    assert len(lm.fit(data[0], rng=np.random.default_rng(0)).losses_) == 2 * (400 // 100)


# ------------------------------------------------------------------------ decoding functions


def entropy(logits: torch.Tensor) -> torch.Tensor:
    logp = logits.log_softmax(-1)
    return -(logp.exp() * logp.nan_to_num(neginf=0.0)).sum(-1)


def test_temperature_below_one_lowers_entropy():
    logits = torch.randn((8, 50), generator=torch.Generator().manual_seed(0))
    assert torch.equal(decoding.apply_temperature(logits, 1.0), logits)
    assert torch.all(entropy(decoding.apply_temperature(logits, 0.5)) < entropy(logits))
    assert torch.all(entropy(decoding.apply_temperature(logits, 2.0)) > entropy(logits))


def test_top_k_and_top_p_never_sample_outside_their_set():
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn((6, 40), generator=gen) * 2
    probs = logits.softmax(-1)
    top5 = decoding.top_k_filter(logits, 5)
    assert torch.all(torch.isfinite(top5).sum(-1) == 5)
    kept = torch.isfinite(top5)
    assert torch.equal(kept, probs >= probs.topk(5, dim=-1).values[:, -1:])
    nucleus = decoding.top_p_filter(logits, 0.7)
    for row in range(6):
        order = probs[row].argsort(descending=True)
        mass = probs[row][order].cumsum(0)
        size = int((mass < 0.7).sum()) + 1  # the smallest top set whose mass reaches p
        assert set(torch.isfinite(nucleus[row]).nonzero().flatten().tolist()) == set(order[:size].tolist())
    for filtered in (top5, nucleus):
        draws = torch.multinomial(filtered.softmax(-1), 2000, replacement=True, generator=gen)
        assert torch.isfinite(filtered.gather(-1, draws)).all()
    assert torch.equal(decoding.top_p_filter(logits, 1.0), logits)
    assert torch.equal(decoding.top_k_filter(logits, None), logits)


def test_repetition_penalty_divides_positive_and_multiplies_negative_logits():
    logits = torch.tensor([[2.0, -1.0, 0.5, 3.0]])
    out = decoding.repetition_penalty(logits, torch.tensor([[0, 1, 1]]), 2.0)
    assert torch.equal(out, torch.tensor([[1.0, -2.0, 0.5, 3.0]]))
    assert torch.equal(logits, torch.tensor([[2.0, -1.0, 0.5, 3.0]]))  # input untouched


@pytest.mark.parametrize(
    ("call", "key"),
    [
        (lambda z: decoding.apply_temperature(z, 0.0), "temperature"),
        (lambda z: decoding.top_k_filter(z, 0), "top_k"),
        (lambda z: decoding.top_p_filter(z, 0.0), "top_p"),
        (lambda z: decoding.top_p_filter(z, 1.5), "top_p"),
        (lambda z: decoding.repetition_penalty(z, torch.zeros((1, 1), dtype=torch.int64), 0.5), "repetition_penalty"),
    ],
)
def test_decoding_functions_refuse_bad_parameters(call, key):
    with pytest.raises(InvalidParameterError, match=f"The '{key}' parameter must be"):
        call(torch.zeros((1, 4)))


# ---------------------------------------------------------------------- decoding in the model


def test_top_k_sampling_stays_in_the_model_top_k(trained):
    lm = with_decoding(trained, top_k=2)
    s = lm.sample(30, rng=np.random.default_rng(6))
    for t in range(L):
        p = lm.next_token_probs(s[:, :t])
        rank = (p > p[np.arange(30), s[:, t].astype(int)][:, None]).sum(axis=1)
        assert np.all(rank < 2)


def test_greedy_is_deterministic_and_follows_the_argmax(trained):
    lm = with_decoding(trained, decoding="greedy")
    s = lm.sample(40, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(s, lm.sample(40, rng=np.random.default_rng(7)))
    for first in np.unique(s[:, 0]):
        rows = s[s[:, 0] == first]
        assert np.all(rows == rows[0])  # the same first token, the same continuation
    for t in range(1, L):
        np.testing.assert_array_equal(lm.next_token_probs(s[:, :t]).argmax(axis=1), s[:, t])
    np.testing.assert_array_equal(with_decoding(trained, decoding="beam", beam_size=1).sample(40, rng=np.random.default_rng(7)), s)


def test_wide_beam_search_finds_the_most_probable_continuation(data):
    short = 3
    lm = TransformerLM(config(steps=30, decoding="beam", beam_size=V), V, short).fit(data[0][:, :short], rng=np.random.default_rng(0))
    s = lm.sample(10, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(s, lm.sample(10, rng=np.random.default_rng(8)))
    rest = np.array([(a, b) for a in range(V) for b in range(V)], dtype=float)
    for first in np.unique(s[:, 0]):
        candidates = np.column_stack([np.full(len(rest), first), rest])
        best = candidates[np.argmax(lm.log_prob(candidates))]  # a width-V beam over 2 steps is exhaustive
        assert np.all(s[s[:, 0] == first] == best)


def test_repetition_penalty_makes_greedy_text_less_repetitive(trained):
    plain = with_decoding(trained, decoding="greedy").sample(60, rng=np.random.default_rng(1))
    penalised = with_decoding(trained, decoding="greedy", repetition_penalty=5.0).sample(60, rng=np.random.default_rng(1))
    distinct = lambda s: np.mean([len(set(row)) for row in s])  # noqa: E731
    assert distinct(penalised) > distinct(plain)


def test_deterministic_decoding_refuses_a_temperature(trained):
    with pytest.raises(InvalidParameterError, match="The 'bias' parameter must be 1 with decoding 'beam'"):
        with_decoding(trained, decoding="beam").sample(3, rng=np.random.default_rng(0), bias=0.5)
    with pytest.raises(InvalidParameterError, match="The 'generator.bias' parameter must be 1 with generator.decoding 'greedy'"):
        validate(TransformerConfig, {"kind": "transformer", "decoding": "greedy", "bias": 0.7}, "generator")


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"bias": 0.0}, "generator.bias"),
        ({"bias": -1.0}, "generator.bias"),
        ({"top_p": 0.0}, "generator.top_p"),
        ({"top_p": 1.2}, "generator.top_p"),
        ({"beam_size": 0}, "generator.beam_size"),
        ({"top_k": 0}, "generator.top_k"),
        ({"repetition_penalty": 0.9}, "generator.repetition_penalty"),
        ({"decoding": "nucleus"}, "generator.decoding"),
        ({"init": "pretrained"}, "generator.init"),
        ({"n_embd": 30, "n_head": 4}, "generator.n_embd"),
        ({"vocab": "pretrained"}, "generator.vocab"),
    ],
)
def test_invalid_config_values_raise_the_canonical_error(changes, key):
    with pytest.raises(InvalidParameterError, match=f"^The '{key}' parameter must be"):
        validate(TransformerConfig, {"kind": "transformer", **changes}, "generator")


# --------------------------------------------------------------- local checkpoints, offline


@pytest.fixture
def no_network(monkeypatch):
    """Any network attempt fails the test."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args[1:]}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    with pytest.raises(AssertionError, match="network access"):
        socket.create_connection(("127.0.0.1", 9), timeout=1)


def test_a_local_checkpoint_loads_offline(trained, data, tmp_path, no_network):
    trained.net_.save_pretrained(tmp_path)
    expected = trained.log_prob(data[1])
    loaded = TransformerLM.from_pretrained(str(tmp_path), vocab_size=V, seq_len=L)
    np.testing.assert_array_equal(loaded.log_prob(data[1]), expected)
    # through the registry, as a run builds it: init base loads the checkpoint at every fit
    cfg = validate(TransformerConfig, {"kind": "transformer", "pretrained": str(tmp_path), "steps": 1, "lr": 1e-30}, "generator")
    lm = get("generator", "transformer").build(cfg, SimpleNamespace(vocab_size=V, seq_len=L))
    lm.fit(data[0], rng=np.random.default_rng(0))
    np.testing.assert_allclose(lm.log_prob(data[1]), expected, rtol=1e-6)
    assert lm.sample(5, rng=np.random.default_rng(0)).shape == (5, L)


def test_a_smaller_source_vocabulary_resizes_a_checkpoint(trained, data, tmp_path, no_network):
    trained.net_.save_pretrained(tmp_path)
    lm = TransformerLM(config(pretrained=str(tmp_path), steps=2), V - 4, L).fit(data[0] % (V - 4), rng=np.random.default_rng(0))
    assert lm.get_state()["net/transformer.wte.weight"].shape == (V - 3, 32)  # V - 4 ids + BOS
    with pytest.raises(InvalidParameterError, match="vocabulary of >= 20 ids"):
        TransformerLM(config(pretrained=str(tmp_path), vocab="pretrained"), 20, L)


def test_bad_pretrained_paths_raise_naming_the_key(tmp_path, no_network):
    missing, empty, weightless = tmp_path / "nope", tmp_path / "empty", tmp_path / "weightless"
    empty.mkdir()
    weightless.mkdir()
    TransformerLM(config(), V, L)._arch.to_json_file(weightless / "config.json")
    source = SimpleNamespace(vocab_size=V, seq_len=L)
    build = get("generator", "transformer").build
    for path in (missing, empty):
        with pytest.raises(InvalidParameterError, match="^The 'generator.pretrained' parameter must be"):
            check_pretrained(str(path))
        with pytest.raises(InvalidParameterError, match="generator.pretrained"):
            build(TransformerConfig(pretrained=str(path)), source)
    with pytest.raises(InvalidParameterError, match="^The 'generator.pretrained' parameter must be a local causal-LM checkpoint"):
        build(TransformerConfig(pretrained=str(weightless)), source).fit(np.zeros((4, L)), rng=np.random.default_rng(0))


def test_missing_transformers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingExtraError, match=r"autophagy\[text\]"):
        get("generator", "transformer").build(TransformerConfig(), SimpleNamespace(vocab_size=V, seq_len=L))


def test_position_probs_are_next_token_probs_of_every_prefix(trained, data):
    x = data[1][:5]
    every = trained.position_probs(x)
    assert every.shape == (5, L, V)
    for t in range(L):
        np.testing.assert_allclose(every[:, t], trained.next_token_probs(x[:, :t]), rtol=0, atol=1e-5)


def test_tail_probability_takes_the_one_pass_path_with_the_same_value(trained, data):
    """The metric's fast path (position_probs) equals its prefix-by-prefix path."""
    from autophagy.metrics.evaluate import EvalConfig, EvalContext, evaluate

    class Source:
        vocab_size, seq_len = V, L

        def token_counts(self):
            return np.arange(1, V + 1, dtype=float)  # the low ids are the rare ones

    class PrefixOnly:  # the same model without position_probs
        def __init__(self, lm):
            self.lm = lm

        def next_token_probs(self, prefix):
            return self.lm.next_token_probs(prefix)

    x = data[1][:20]
    settings = EvalConfig(n_samples=20, rare_threshold=0.02)
    fast = evaluate(["tail_probability"], EvalContext(x, x, trained, 1.0, Source(), settings, np.random.default_rng(0)))
    slow = evaluate(["tail_probability"], EvalContext(x, x, PrefixOnly(trained), 1.0, Source(), settings, np.random.default_rng(0)))
    assert 0 < fast["tail_probability"] < 1
    assert fast["tail_probability"] == pytest.approx(slow["tail_probability"], rel=1e-5)
