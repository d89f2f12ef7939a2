"""The green-list watermark of Kirchenbauer et al. (2023), "A Watermark for Large Language
Models" (ICML), for the lab's autoregressive samplers (n-gram and transformer).

**Green lists.** For a previous token a (the start of a sequence counts as a = V, the models'
BOS), a keyed hash splits the V ids into a green list G(a) of round(γ_w V) ids and a red list.
Here G(a) is the round(γ_w V) ids with the smallest values of the SplitMix64 stream seeded by
(key, a): a keyed random permutation of the vocabulary, cut after γ_w V ids (the paper's "hash
s(t-1) and use it to seed a random number generator ... randomly partition the vocabulary").

**Watermarked sampling** (the paper's Algorithm 2, "soft red list"): at position t, with p_t the
distribution the model's own ``decoding: sample`` draws from (temperature λ, repetition penalty,
top-k, top-p already applied), the token is drawn from

    q_t(v) = p_t(v) e^{δ [v ∈ G(x_{t-1})]} / Σ_u p_t(u) e^{δ [u ∈ G(x_{t-1})]},

δ the ``strength``: δ added to the green log-probabilities, then renormalised. (Adding δ after
the decoding rules keeps its meaning the same at every temperature.)

**Detection** (the paper's one-proportion z-test): with |s|_G the green tokens among the T scored
tokens of a sequence (every token, the first one against the start context, so T = L),

    z = (|s|_G - γ_w T) / sqrt(T γ_w (1 - γ_w)),

flagged when z > ``z_threshold``. Without the watermark each token is green with probability
≈ γ_w, so z is ≈ N(0, 1); for a fixed key the chance of green under a low-entropy law is not
exactly γ_w (the green lists of its few likely (a, v) pairs are one draw of the hash), which
shifts the null mean by a key-dependent O(sqrt(T) / sqrt(distinct pairs)) amount. The mark is
strong where the text has entropy: a near-deterministic token is the same green or red
whatever δ does.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from autophagy._validation import check
from autophagy.core.generator import check_bias

_GAMMA = np.uint64(0x9E3779B97F4A7C15)
#: Up to this many (previous token, token) cells, the green lists are kept as one dense table.
DENSE_CELLS = 1 << 26


def splitmix64(z: np.ndarray) -> np.ndarray:
    """The SplitMix64 finaliser of each uint64 of ``z`` (wrapping arithmetic), same shape."""
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))  # type: ignore[no-any-return]


def row_seeds(key: int, prev: np.ndarray) -> np.ndarray:
    """The seed of each previous token's stream: splitmix64(splitmix64(key + φ) + a φ), φ the
    SplitMix64 increment; uint64, the shape of ``prev``."""
    with np.errstate(over="ignore"):
        keyed = splitmix64(np.asarray([key % 2**64], dtype=np.uint64) + _GAMMA)
        return splitmix64(keyed + np.asarray(prev, dtype=np.uint64) * _GAMMA)


def hash_rows(key: int, prev: np.ndarray, vocab_size: int) -> np.ndarray:
    """The keyed hash h(a, v) of every id v after each previous token a of ``prev`` (m,):
    shape (m, V) uint64, the SplitMix64 stream seeded by (key, a): h(a, v) = splitmix64(seed_a +
    (v + 1) φ)."""
    steps = (np.arange(1, vocab_size + 1, dtype=np.uint64) * _GAMMA)[None, :]
    with np.errstate(over="ignore"):
        return splitmix64(row_seeds(key, prev)[:, None] + steps)


class GreenList:
    """The green lists G(a) of one key: ``round(fraction · V)`` ids per previous token a in
    0..V (a = V: the start of a sequence).

    Args:
        key: the secret key (any int).
        vocab_size: V.
        fraction: γ_w in (0, 1).
    """

    def __init__(self, key: int, vocab_size: int, fraction: float) -> None:
        check(0.0 < fraction < 1.0, "green_fraction", "a number in (0, 1)", fraction)
        self.key, self.vocab_size, self.fraction = int(key), int(vocab_size), float(fraction)
        self.size = min(vocab_size - 1, max(1, round(fraction * vocab_size)))
        dense = (vocab_size + 1) * vocab_size <= DENSE_CELLS
        self._table = np.zeros((vocab_size + 1, vocab_size), dtype=bool) if dense else None
        self._done = np.zeros(vocab_size + 1, dtype=bool)
        self._cut = np.zeros(vocab_size + 1, dtype=np.uint64)  # the largest green hash of each row

    def _fill(self, prev: np.ndarray) -> None:
        """Compute the rows of the previous tokens ``prev`` not computed yet."""
        todo = np.unique(prev[~self._done[prev]])
        for lo in range(0, len(todo), max(1, DENSE_CELLS // 16 // self.vocab_size)):
            rows = todo[lo : lo + max(1, DENSE_CELLS // 16 // self.vocab_size)]
            h = hash_rows(self.key, rows, self.vocab_size)
            cut = np.partition(h, self.size - 1, axis=1)[:, self.size - 1]
            self._cut[rows] = cut
            if self._table is not None:
                self._table[rows] = h <= cut[:, None]
            self._done[rows] = True

    def mask(self, prev: np.ndarray) -> np.ndarray:
        """Green indicators (m, V) bool of every id after each previous token of ``prev`` (m,)."""
        prev = np.asarray(prev, dtype=np.int64)
        self._fill(prev)
        if self._table is not None:
            return self._table[prev]
        return hash_rows(self.key, prev, self.vocab_size) <= self._cut[prev][:, None]  # type: ignore[no-any-return]

    def is_green(self, prev: np.ndarray, token: np.ndarray) -> np.ndarray:
        """Whether each ``token`` is green after its ``prev`` (same shapes, any shape): bool."""
        prev, token = np.asarray(prev, dtype=np.int64), np.asarray(token, dtype=np.int64)
        flat_prev, flat_token = prev.ravel(), token.ravel()
        self._fill(flat_prev)
        if self._table is not None:
            return self._table[flat_prev, flat_token].reshape(prev.shape)  # type: ignore[no-any-return]
        with np.errstate(over="ignore"):
            h = splitmix64(row_seeds(self.key, flat_prev) + (flat_token.astype(np.uint64) + np.uint64(1)) * _GAMMA)
        return (h <= self._cut[flat_prev]).reshape(prev.shape)  # type: ignore[no-any-return]

    def green_counts(self, x: np.ndarray) -> np.ndarray:
        """|s|_G of each sequence of ``x`` (n, L) token ids: green tokens, the first one scored
        against the start context V. Shape (n,)."""
        ids = np.asarray(x).astype(np.int64)
        prev = np.concatenate([np.full((len(ids), 1), self.vocab_size, np.int64), ids[:, :-1]], axis=1)
        return self.is_green(prev, ids).sum(axis=1)  # type: ignore[no-any-return]

    def z_scores(self, x: np.ndarray) -> np.ndarray:
        """The detector's z = (|s|_G - γ_w T) / sqrt(T γ_w (1 - γ_w)) of each sequence of ``x``
        (n, L), T = L (Kirchenbauer et al. 2023, the one-proportion z-test). Shape (n,).

        γ_w is the exact green share ``size / V`` (round(γ_w V) / V).
        """
        length = np.asarray(x).shape[1]
        gamma = self.size / self.vocab_size
        return (self.green_counts(x) - gamma * length) / math.sqrt(length * gamma * (1.0 - gamma))  # type: ignore[no-any-return]


def watermark_probs(p: np.ndarray, green: np.ndarray, delta: float) -> np.ndarray:
    """q ∝ p e^{δ·green} (Algorithm 2 of Kirchenbauer et al. 2023) of distributions ``p`` (m, V)
    and green indicators ``green`` (m, V): rows summing to 1 (zeros of p stay zeros)."""
    q = p * np.exp(delta * green)
    return q / q.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]


def draw_tokens(q: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One id per row of the distributions ``q`` (m, V), by inversion of one uniform each."""
    cdf = np.cumsum(q, axis=1)
    j = (cdf <= (rng.random(len(q)) * cdf[:, -1])[:, None]).sum(axis=1)
    return np.minimum(j, q.shape[1] - 1)  # type: ignore[no-any-return]


class GreenlistSampler:
    """A language model whose samples carry the green-list watermark; everything but ``sample``
    is the wrapped model's (``log_prob``, ``get_state``... are delegated).

    Sampling is autoregressive, vectorised over the n sequences: at position t the model's
    decoding distribution after the prefix (``decoding_probs(prefix, bias=λ)``, the law its own
    ``decoding: sample`` draws from, or ``next_token_probs(prefix)`` tempered by λ for a model
    without it) is tilted by :func:`watermark_probs`. The watermark needs sampled tokens: a model
    decoding by ``greedy`` or ``beam`` search is refused.

    Args:
        model: a fitted language model with ``seq_len``, ``vocab_size`` and ``decoding_probs``
            or ``next_token_probs``.
        green: the green lists.
        delta: δ > 0, added to the green log-probabilities.
    """

    def __init__(self, model: Any, green: GreenList, delta: float) -> None:
        self.wrapped, self.green, self.delta = model, green, float(delta)

    def __getattr__(self, name: str) -> Any:
        if name == "wrapped" or name.startswith("__"):  # during copy / unpickling, before __init__
            raise AttributeError(name)
        return getattr(self.wrapped, name)

    def _probs(self, prefix: np.ndarray, bias: float) -> np.ndarray:
        model = self.wrapped
        if hasattr(model, "decoding_probs"):
            return np.asarray(model.decoding_probs(prefix, bias=bias), dtype=float)
        p = np.asarray(model.next_token_probs(prefix), dtype=float)
        if bias != 1.0:
            with np.errstate(divide="ignore"):
                logp = np.log(p) / bias
            p = np.exp(logp - logp.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)  # type: ignore[no-any-return]

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """``n`` watermarked sequences (n, seq_len), float64 ids, at temperature λ = ``bias``."""
        bias = check_bias(bias)
        decoding = getattr(self.wrapped, "decoding", None) or getattr(getattr(self.wrapped, "config", None), "decoding", "sample")
        check(decoding == "sample", "generator.decoding", "'sample' with a greenlist watermark (it tilts the sampled next-token law)", decoding)
        length, v = int(self.wrapped.seq_len), self.green.vocab_size
        out = np.zeros((n, length), dtype=np.int64)
        prev = np.full(n, v, dtype=np.int64)  # the start context
        for t in range(length):
            if n == 0:
                break
            q = watermark_probs(self._probs(out[:, :t], bias), self.green.mask(prev), self.delta)
            prev = out[:, t] = draw_tokens(q, rng)
        return out.astype(np.float64)
