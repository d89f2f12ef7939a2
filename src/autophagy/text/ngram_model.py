r"""Interpolated modified Kneser–Ney n-gram language model over a known vocabulary (pure NumPy).

A sequence is ``seq_len`` token ids in ``0..V-1``; it is read after ``order - 1`` copies of a
start symbol ``BOS = V`` (not a vocabulary token: never predicted, never sampled), so every
sequence starts from the same context. The model (Chen & Goodman 1998, "interpolated modified
Kneser–Ney") is, for the order-k context ``h`` (the k-1 previous symbols) and token ``w``:

.. math::

    P_k(w \mid h) = \frac{\max(a_k(hw) - D_k(a_k(hw)),\, 0)}{c_k(h)}
                    + \gamma_k(h)\, P_{k-1}(w \mid h'),
    \qquad
    \gamma_k(h) = \frac{D_{k,1} N_1(h\bullet) + D_{k,2} N_2(h\bullet) + D_{k,3+} N_{3+}(h\bullet)}{c_k(h)},

with ``h'`` the context without its oldest symbol, ``c_k(h) = Σ_w a_k(hw)``, ``N_j(h•)`` the
number of tokens with ``a_k(hw) = j`` (``N_{3+}``: ``>= 3``), and, if ``c_k(h) = 0`` (context never
seen), ``P_k(w|h) = P_{k-1}(w|h')``. The recursion ends in the unigram level, interpolated with
the uniform distribution so that every token has probability > 0:

.. math::

    P_1(w) = \frac{\max(a_1(w) - D_1(a_1(w)),\, 0)}{c_1} + \gamma_1 \frac{1}{V}.

Counts ``a_k``: the highest order (k = ``order``) uses raw counts; lower orders use
continuation counts ``a_k(g) = N_{1+}(\bullet g)``, the number of distinct symbols seen right
before the k-gram ``g`` (BOS included), except for k-grams that start with BOS, which are always
preceded by BOS and keep their raw count (the KenLM convention). Discounts per order, from the
count-of-counts ``n_j`` (number of k-grams with ``a_k = j``):

.. math::

    Y = \frac{n_1}{n_1 + 2 n_2},\quad D_1 = 1 - 2Y\frac{n_2}{n_1},\quad
    D_2 = 2 - 3Y\frac{n_3}{n_2},\quad D_{3+} = 3 - 4Y\frac{n_4}{n_3}

(``discount="kn"``: one discount ``D = Y`` for every count, interpolated Kneser–Ney). An estimate
that is undefined (a zero count-of-counts) becomes ``j/2``; every discount is then clipped to
``[MIN_DISCOUNT, j]``: ``<= j`` keeps the numerators non-negative, ``> 0`` keeps every ``γ`` and
hence every probability positive. Clipping only bites on tiny or degenerate (collapsed) corpora.
Each level sums to one over the V tokens, so every next-token distribution does.

Data structures (why they are fast): an n-gram of symbols ``s_1..s_k`` (oldest first) is the
int64 key ``Σ_i s_i (V+1)^{k-i}``, so sorting the keys groups the k-grams by context and a
context's continuations form one contiguous segment. Fitting is one ``np.unique`` of the
highest-order keys plus one per lower order on the (fewer) distinct suffixes; lookups are
``np.searchsorted`` on sorted keys. Per order the model keeps, for each seen context, its
segment, ``γ`` and ``c``; for each seen k-gram its token and own mass ``α = (a - D)/c``, with a
running sum of ``α`` so one ``searchsorted`` samples a token inside a segment. Sampling
(``decoding: sample`` at λ = 1) is exact and never builds a dense V-vector: at the highest
order a uniform ``u`` picks a seen continuation with probability ``1 - γ(h)`` (token by its
``α``), otherwise the draw backs off to the next order, ending at the dense unigram ``P_1``.

Decoding (the lab's λ = ``bias``; applied in this order, as Hugging Face ``generate`` does):

1. repetition penalty θ (``repetition_penalty`` >= 1): every token already present in the
   sequence has its probability divided by θ (its log-probability lowered by log θ), then the
   distribution is renormalised. This is CTRL's rule (Keskar et al. 2019) written for
   log-probabilities: CTRL divides a positive logit by θ, which is not invariant to the
   arbitrary shift of logits; a shift by -log θ is, and for θ > 1 always lowers the token.
2. temperature λ (``decoding: sample`` only): ``q_i ∝ p_i^{1/λ}``; λ = 1 samples the model.
3. ``top_k``: keep the k most probable tokens (exactly k; ties broken deterministically).
4. ``top_p``: keep the smallest set of most probable tokens whose mass reaches ``top_p``.

Without ``top_k``/``top_p``, steps 1-2 are sampled exactly by rejection from the fast sparse
sampler: propose ``w ~ p``, accept with probability ``(p(w)/p_max)^{1/λ-1} θ^{-r(w)/λ}``
(``r(w)`` = 1 if ``w`` is already in the sequence), where ``p_max`` is the exact largest
next-token probability of the context (precomputed per seen context); rows not accepted after
``MAX_REJECTION_ROUNDS`` proposals are drawn from the dense distribution (still exact). With
``top_k``/``top_p`` every step builds the dense (rows, V) distribution in chunks: slow for a
large V.

``decoding: greedy | beam`` needs λ = 1 (temperature means nothing to a deterministic search).
All sequences start from the same BOS context, so a deterministic search would return one
sequence n times: the **first token of every sample is drawn** as ``decoding: sample`` draws it
(with ``top_k``/``top_p``), and the rest of the sequence is the greedy (beam search with one
hypothesis) or beam-search continuation of that token under the repetition-penalised model
(``top_k``/``top_p`` do not apply to the search). The search is deterministic given the first
token, so it runs once per distinct first token: at most V searches, whatever n. Beam search
keeps ``beam_size`` hypotheses scored by their summed log-probabilities (of the penalised,
renormalised distributions) and returns the best full-length one. Shumailov et al. (2024)
generated with beam search; a generator without a prompt needs some source of diversity, and
the sampled first token is the smallest one.

Speed (one core of the lab's 2-core AMD EPYC; trigram, V = 2000, 1M training tokens; see
``benchmarks/bench_ngram.py``): fit ≈ 5-7 M tokens/s; sampling at λ = 1 ≈ 2 M tokens/s;
λ = 0.7 or 0.3 (rejection) ≈ 0.4-0.7 M tokens/s; greedy ≈ 0.3 M and beam (4) ≈ 0.08 M tokens/s;
``top_k``/``top_p`` (dense rows) ≈ 15-30 k tokens/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np

from autophagy._validation import check
from autophagy.core.generator import check_bias, check_fitted
from autophagy.exceptions import InvalidParameterError

DISCOUNTS = ("modified_kn", "kn")
DECODINGS = ("sample", "greedy", "beam")
#: Lower bound of every discount (keeps each backoff weight γ, hence each probability, > 0).
MIN_DISCOUNT = 0.1
#: Rejection rounds per step before the remaining rows are drawn from the dense distribution.
MAX_REJECTION_ROUNDS = 16
#: Elements per dense (rows, V) block.
DENSE_BLOCK = 1 << 20


@dataclass(frozen=True)
class _Level:
    """One order k >= 2 of a fitted model (see the module docstring for the quantities).

    Attributes:
        keys: sorted k-gram keys, shape (m,).
        words: the last token of each k-gram, shape (m,).
        alpha: own mass ``(a - D)/c(h)`` of each k-gram, shape (m,).
        cum: ``[0, cumsum(alpha)]``, shape (m + 1,); context c spans ``cum[start[c]:start[c+1]+1]``.
        contexts: sorted keys of the seen contexts, shape (u,).
        start: segment offsets into ``keys``, shape (u + 1,).
        gamma: backoff weight γ(h) of each seen context, shape (u,).
    """

    keys: np.ndarray
    words: np.ndarray
    alpha: np.ndarray
    cum: np.ndarray
    contexts: np.ndarray
    start: np.ndarray
    gamma: np.ndarray

    def find_contexts(self, query: np.ndarray) -> np.ndarray:
        """Index of each context key in ``contexts``, -1 where unseen; shape of ``query``."""
        return _find(self.contexts, query)

    def find_grams(self, ctx: np.ndarray, words: np.ndarray, base: int) -> np.ndarray:
        """Index in ``keys`` of each (seen context index ``ctx``, token) k-gram, -1 where unseen."""
        return _find(self.keys, self.contexts[ctx] * base + words)


def _find(sorted_keys: np.ndarray, query: np.ndarray) -> np.ndarray:
    idx = np.minimum(np.searchsorted(sorted_keys, query), len(sorted_keys) - 1)
    return np.where(sorted_keys[idx] == query, idx, -1)


def _ragged(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Concatenated ``arange(starts[i], stops[i])`` and the row ``i`` of each element."""
    lengths = stops - starts
    rows = np.repeat(np.arange(len(starts)), lengths)
    offsets = np.cumsum(lengths) - lengths
    return np.arange(lengths.sum()) - np.repeat(offsets - starts, lengths), rows


def estimate_discounts(counts: np.ndarray, kind: str = "modified_kn") -> np.ndarray:
    """Discounts ``(D_1, D_2, D_3+)`` from the count-of-counts of ``counts`` (module docstring).

    Args:
        counts: the adjusted counts ``a_k`` of every distinct k-gram of one order, shape (m,).
        kind: ``modified_kn`` (three discounts) or ``kn`` (``D = Y`` for all three).

    Returns:
        Shape (3,), each ``D_j`` in ``[MIN_DISCOUNT, j]``.
    """
    n1, n2, n3, n4 = (float(np.count_nonzero(counts == j)) for j in (1, 2, 3, 4))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.float64(n1) / (n1 + 2 * n2)
        if kind == "kn":
            d = np.array([y, y, y])
        else:
            d = np.array([1 - 2 * y * n2 / n1, 2 - 3 * y * n3 / n2, 3 - 4 * y * n4 / n3])
    top = np.array([1.0, 2.0, 3.0])
    d = np.where(np.isfinite(d), d, top / 2)
    return np.clip(d, MIN_DISCOUNT, top)


class NGramLM:
    """Interpolated modified Kneser–Ney language model of fixed-length token sequences.

    Args:
        vocab_size: V, the number of token ids (``0..V-1``).
        seq_len: length of every sampled sequence.
        order: n of the n-gram (contexts of ``order - 1`` tokens).
        discount: ``modified_kn`` (D1, D2, D3+ per order) or ``kn`` (one D per order).
        decoding: ``sample``, ``greedy`` or ``beam`` (module docstring).
        top_k: keep only the k most probable tokens when sampling (None: all).
        top_p: nucleus mass in (0, 1] when sampling (1: no truncation).
        beam_size: hypotheses kept by ``decoding: beam``.
        repetition_penalty: θ >= 1 dividing the probability of tokens already in the sequence.

    Attributes:
        keys_: per order 1..order, the sorted keys of the distinct k-grams seen, shape (m_k,).
        counts_: their adjusted counts ``a_k`` (raw at the highest order), shape (m_k,).
        discounts_: shape (order, 3): ``(D_1, D_2, D_3+)`` of orders 1..order.
        unigram_: ``P_1``, shape (V,).
        levels_: the tables of orders 2..order (index 0 is order 2).
    """

    def __init__(
        self,
        vocab_size: int,
        seq_len: int,
        order: int = 3,
        discount: str = "modified_kn",
        decoding: str = "sample",
        top_k: int | None = None,
        top_p: float = 1.0,
        beam_size: int = 4,
        repetition_penalty: float = 1.0,
    ) -> None:
        self.vocab_size = vocab_size
        self.seq_len = seq_len
        self.order = order
        self.discount = discount
        self.decoding = decoding
        self.top_k = top_k
        self.top_p = top_p
        self.beam_size = beam_size
        self.repetition_penalty = repetition_penalty

    # ----------------------------------------------------------------------------------- checks

    def _check_params(self) -> None:
        def is_int(v: object) -> bool:
            return isinstance(v, (int, np.integer)) and not isinstance(v, bool)

        check(
            is_int(self.vocab_size) and self.vocab_size >= 1,
            "vocab_size",
            "an int >= 1",
            self.vocab_size,
        )
        check(is_int(self.seq_len) and self.seq_len >= 1, "seq_len", "an int >= 1", self.seq_len)
        max_order = 0
        while (self.vocab_size + 1) ** (max_order + 1) < 2**63:
            max_order += 1
        check(
            is_int(self.order) and 1 <= self.order <= max_order,
            "order",
            f"an int in [1, {max_order}] for vocab_size {self.vocab_size} (n-gram keys are int64)",
            self.order,
        )
        check(self.discount in DISCOUNTS, "discount", f"one of {DISCOUNTS}", self.discount)
        check(self.decoding in DECODINGS, "decoding", f"one of {DECODINGS}", self.decoding)
        check(
            self.top_k is None or (is_int(self.top_k) and self.top_k >= 1),
            "top_k",
            "an int >= 1 or None",
            self.top_k,
        )
        check(
            isinstance(self.top_p, (int, float)) and 0 < self.top_p <= 1,
            "top_p",
            "a number in (0, 1]",
            self.top_p,
        )
        check(
            is_int(self.beam_size) and self.beam_size >= 1,
            "beam_size",
            "an int >= 1",
            self.beam_size,
        )
        check(
            isinstance(self.repetition_penalty, (int, float)) and self.repetition_penalty >= 1,
            "repetition_penalty",
            "a number >= 1",
            self.repetition_penalty,
        )

    def _check_tokens(self, x: np.ndarray, what: str) -> np.ndarray:
        """``x`` (n, L) of integer-valued ids in ``0..V-1`` as int64."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] < 1:
            raise InvalidParameterError(
                f"NGramLM.{what} expects token ids of shape (n, seq_len); got {x.shape}."
            )
        ids = x.astype(np.int64)
        if not (
            np.all(ids == x) and ids.min(initial=0) >= 0 and ids.max(initial=0) < self.vocab_size
        ):
            raise InvalidParameterError(
                f"NGramLM.{what} expects integer token ids in 0..{self.vocab_size - 1}; got values in "
                f"[{x.min()}, {x.max()}] (non-integers: {int(np.count_nonzero(ids != x))})."
            )
        return ids

    # -------------------------------------------------------------------------------------- fit

    def fit(self, x: np.ndarray, *, rng: np.random.Generator) -> Self:
        """Count the n-grams of ``x`` (n, L) and estimate the discounts; returns self.

        Any length L works (``seq_len`` is the length of samples); ``rng`` is unused (counting
        is deterministic) and kept for the generator contract.
        """
        self._check_params()
        ids = self._check_tokens(x, "fit")
        if ids.shape[0] < 1:
            raise InvalidParameterError(
                "Expected n_samples >= 1 (one sequence) to fit NGramLM but got 0."
            )
        base = self.vocab_size + 1
        windows = self._windows(ids)  # (N, order): context then token
        keys = np.zeros(len(windows), np.int64)
        for col in windows.T:
            keys = keys * base + col
        grams, raw = np.unique(keys, return_counts=True)
        all_keys, all_counts = [grams], [raw]
        # Lower orders: every k-gram occurrence is the suffix of a (k+1)-gram occurrence, so the
        # distinct suffixes give the k-grams, their continuation counts and (summed) raw counts.
        for k in range(self.order - 1, 0, -1):
            grams, inverse, cont = np.unique(
                grams % base**k, return_inverse=True, return_counts=True
            )
            raw = np.bincount(inverse, weights=raw, minlength=len(grams)).astype(np.int64)
            starts_with_bos = grams // base ** (k - 1) == self.vocab_size
            all_keys.append(grams)
            all_counts.append(np.where(starts_with_bos, raw, cont))
        keys_by_order, counts = all_keys[::-1], all_counts[::-1]
        self._build(keys_by_order, counts, np.stack([estimate_discounts(a, self.discount) for a in counts]))
        return self

    def _windows(self, ids: np.ndarray) -> np.ndarray:
        """Every (context, token) window of ``ids`` (n, L) after BOS padding: shape (n·L, order)."""
        n, length = ids.shape
        padded = np.concatenate(
            [np.full((n, self.order - 1), self.vocab_size, np.int64), ids], axis=1
        )
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.order, axis=1)
        return windows.reshape(n * length, self.order)  # (n, L, order) -> (n·L, order)

    def _build(
        self, keys: list[np.ndarray], counts: list[np.ndarray], discounts: np.ndarray
    ) -> None:
        """Derive the lookup tables from the keys, adjusted counts and discounts of orders 1..order."""
        v, base = self.vocab_size, self.vocab_size + 1
        self.keys_, self.counts_, self.discounts_ = keys, counts, discounts
        d1 = self.discounts_[0][np.minimum(counts[0], 3) - 1]
        total = counts[0].sum()
        self.unigram_ = np.full(v, d1.sum() / total / v)
        self.unigram_[keys[0]] += (counts[0] - d1) / total
        self.levels_: list[_Level] = []
        for k in range(2, self.order + 1):
            grams, a = keys[k - 1], counts[k - 1]
            d = self.discounts_[k - 1][np.minimum(a, 3) - 1]
            ctx = grams // base
            start = np.flatnonzero(np.r_[True, ctx[1:] != ctx[:-1]])
            c = np.add.reduceat(a, start)
            length = np.diff(np.r_[start, len(grams)])
            alpha = (a - d) / np.repeat(c, length)
            self.levels_.append(
                _Level(
                    keys=grams,
                    words=grams % base,
                    alpha=alpha,
                    cum=np.r_[0.0, np.cumsum(alpha)],
                    contexts=ctx[start],
                    start=np.r_[start, len(grams)],
                    gamma=np.add.reduceat(d, start) / c,
                )
            )
        self._unigram_cdf = np.cumsum(self.unigram_)
        self._peaks: list[np.ndarray] | None = None  # built on first use (tempered sampling only)

    # ------------------------------------------------------------------------------ state (I/O)

    def get_state(self) -> dict[str, np.ndarray]:
        """Sorted k-gram keys and adjusted counts per order (``keys_k``, ``counts_k``), discounts."""
        check_fitted(self, "levels_")
        state = {"shape": np.array([self.vocab_size, self.order]), "discounts": self.discounts_}
        for k, (g, a) in enumerate(zip(self.keys_, self.counts_, strict=True), start=1):
            state[f"keys_{k}"], state[f"counts_{k}"] = g, a
        return state

    def set_state(self, state: dict[str, np.ndarray]) -> Self:
        """Restore a state written by :meth:`get_state` (same vocab_size and order)."""
        self._check_params()
        v, order = (int(s) for s in state["shape"])
        check(v == self.vocab_size, "vocab_size", f"{v} (the checkpoint's)", self.vocab_size)
        check(order == self.order, "order", f"{order} (the checkpoint's)", self.order)
        keys = [np.asarray(state[f"keys_{k}"], np.int64) for k in range(1, order + 1)]
        counts = [np.asarray(state[f"counts_{k}"], np.int64) for k in range(1, order + 1)]
        self._build(keys, counts, np.asarray(state["discounts"], np.float64))
        return self

    # ---------------------------------------------------------------------------- probabilities

    def _lookup(self, history: np.ndarray) -> list[np.ndarray]:
        """Seen-context index per order 2..order (-1 if unseen) of ``history`` (R, order-1)."""
        base, out = self.vocab_size + 1, []
        ctx = np.zeros(len(history), np.int64)
        for j, level in enumerate(self.levels_):  # order k = j + 2: the last k - 1 symbols
            ctx = ctx + history[:, -1 - j] * base**j
            out.append(level.find_contexts(ctx))
        return out

    def _prob(self, found: list[np.ndarray], words: np.ndarray) -> np.ndarray:
        """``P(w|h)`` for contexts ``found`` (from :meth:`_lookup`) and tokens ``words`` (R,)."""
        p = self.unigram_[words]
        for level, ctx in zip(self.levels_, found, strict=True):  # Horner: p = α + γ p, upwards
            seen = np.flatnonzero(ctx >= 0)
            gram = level.find_grams(ctx[seen], words[seen], self.vocab_size + 1)
            alpha = np.where(gram >= 0, level.alpha[gram], 0.0)
            p[seen] = alpha + level.gamma[ctx[seen]] * p[seen]
        return p

    def _dense(self, found: list[np.ndarray], rows: int) -> np.ndarray:
        """Next-token distributions of the ``rows`` contexts ``found``: (rows, V), rows sum to 1.

        Unrolled recursion: ``P(w|h) = G P_1(w) + Σ_k W_k α_k(h_k w)`` with ``W_k = Π_{j>k} γ_j(h_j)``
        and ``G = W_1`` (γ = 1, α = 0 for unseen contexts): one dense pass plus sparse scatters.
        """
        gammas = [
            np.where(ctx >= 0, level.gamma[np.maximum(ctx, 0)], 1.0)
            for level, ctx in zip(self.levels_, found, strict=True)
        ]
        p = (
            np.prod(gammas, axis=0)[:, None] * self.unigram_
            if gammas
            else np.tile(self.unigram_, (rows, 1))
        )
        weight = np.ones(rows)
        for level, ctx, gamma in zip(self.levels_[::-1], found[::-1], gammas[::-1], strict=True):
            seen = np.flatnonzero(ctx >= 0)
            grams, at = _ragged(level.start[ctx[seen]], level.start[ctx[seen] + 1])
            p[seen[at], level.words[grams]] += weight[seen[at]] * level.alpha[grams]
            weight *= gamma
        return p

    def _history(self, prefix: np.ndarray) -> np.ndarray:
        """The last ``order - 1`` symbols of each prefix (R, t), BOS-padded: shape (R, order-1)."""
        pad = np.full((len(prefix), self.order - 1), self.vocab_size, np.int64)
        return np.concatenate([pad, prefix.astype(np.int64)], axis=1)[:, prefix.shape[1] :]

    def next_token_probs(self, prefix: np.ndarray) -> np.ndarray:
        """The model's next-token distribution after each prefix.

        Args:
            prefix: token ids, shape (R, t), t >= 0 (t = 0: the start of a sequence).

        Returns:
            Shape (R, V); each row sums to 1 (temperature 1, no decoding changes).
        """
        check_fitted(self, "levels_")
        prefix = np.asarray(prefix)
        empty = prefix.ndim == 2 and prefix.shape[1] == 0
        ids = prefix.astype(np.int64) if empty else self._check_tokens(prefix, "next_token_probs")
        return self._dense(self._lookup(self._history(ids)), len(ids))

    def token_log_probs(self, x: np.ndarray) -> np.ndarray:
        """``log P(x_t | x_<t)`` (natural log, temperature 1) of every token: shape (n, L)."""
        check_fitted(self, "levels_")
        ids = self._check_tokens(x, "token_log_probs")
        windows = self._windows(ids)
        p = self._prob(self._lookup(windows[:, :-1]), windows[:, -1])
        return np.log(p).reshape(ids.shape)

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Natural-log probability of each whole sequence of ``x`` (n, L): shape (n,)."""
        return self.token_log_probs(x).sum(axis=1)

    def decoding_probs(self, prefix: np.ndarray, *, bias: float = 1.0) -> np.ndarray:
        """The distribution ``decoding: sample`` draws the next token from, shape (R, V).

        The model's :meth:`next_token_probs` after the repetition penalty (tokens of ``prefix``),
        the temperature λ = ``bias``, ``top_k`` and ``top_p``, in that order.
        """
        prefix = np.asarray(prefix)
        p = self.next_token_probs(prefix)
        ids, q = self._decode(p, prefix.astype(np.int64), check_bias(bias))
        if ids is None:
            return q
        out = np.zeros_like(p)
        np.put_along_axis(out, ids, q, axis=1)
        return out

    # ------------------------------------------------------------------------------- decoding

    def _penalise(self, p: np.ndarray, prefix: np.ndarray) -> np.ndarray:
        """Divide ``p`` (R, V) in place by θ at the tokens of each row's ``prefix`` (R, t)."""
        if self.repetition_penalty > 1 and prefix.shape[1]:
            p[np.arange(len(p))[:, None], prefix] /= (
                self.repetition_penalty
            )  # a repeated index divides once
        return p

    def _decode(
        self, p: np.ndarray, prefix: np.ndarray, temperature: float
    ) -> tuple[np.ndarray | None, np.ndarray]:
        """Repetition penalty, temperature, top-k, top-p applied to model distributions ``p`` (R, V).

        Returns the kept tokens ``ids`` (R, K) (None: all V tokens in order) and their
        probabilities (R, K), rows summing to 1, zeros only at the end of a row. ``p`` is
        overwritten. The top-k set does not depend on the temperature, so only the k kept
        values are tempered.
        """
        p = self._penalise(p, prefix)
        ids, v = None, p.shape[1]
        if self.top_k is not None and self.top_k < v:
            ids = np.argpartition(-p, self.top_k - 1, axis=1)[:, : self.top_k]
            p = np.take_along_axis(p, ids, axis=1)
        if temperature != 1:
            logp = np.log(p)
            p = np.exp((logp - logp.max(axis=1, keepdims=True)) / temperature)
        p /= p.sum(axis=1, keepdims=True)
        if self.top_p < 1:
            ids, p = self._nucleus(ids, p)
        return ids, p

    def _nucleus(self, ids: np.ndarray | None, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The smallest set of most probable tokens of mass >= ``top_p``, renormalised.

        ``p`` (R, K) sums to 1 per row, over tokens ``ids`` (None: 0..K-1). Sorting a whole row
        is the slow part, so the search sorts only the ``width`` most probable tokens and widens
        (x8) for the rows whose nucleus is larger. Returns (ids, probs), each row sorted by
        decreasing probability, of shape (R, largest nucleus).
        """
        rows, k = p.shape
        out_ids, out_p = np.zeros((rows, k), np.int64), np.zeros((rows, k))
        todo, width, used = np.arange(rows), min(k, 64), 1
        while len(todo):
            sub = p[todo]
            top = (
                np.argpartition(-sub, width - 1, axis=1)[:, :width]
                if width < k
                else np.tile(np.arange(k), (len(todo), 1))
            )
            vals = np.take_along_axis(sub, top, axis=1)
            order = np.argsort(-vals, axis=1, kind="stable")
            top, vals = (
                np.take_along_axis(top, order, axis=1),
                np.take_along_axis(vals, order, axis=1),
            )
            before = np.cumsum(vals, axis=1) - vals  # mass of the more probable tokens
            done = (before[:, -1] + vals[:, -1] >= self.top_p) | (width == k)
            kept = np.where(before[done] < self.top_p, vals[done], 0.0)
            out_p[todo[done], :width] = kept / kept.sum(axis=1, keepdims=True)
            out_ids[todo[done], :width] = (
                top[done] if ids is None else np.take_along_axis(ids[todo[done]], top[done], axis=1)
            )
            used = max(used, int(np.count_nonzero(kept, axis=1).max(initial=1)))
            todo, width = todo[~done], min(k, 8 * width)
        return out_ids[:, :used], out_p[:, :used]

    def _draw(self, ids: np.ndarray | None, p: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One token per row from (ids, probs) of :meth:`_decode`, by inversion."""
        cdf = np.cumsum(p, axis=1)
        j = (cdf <= (rng.random(len(p)) * cdf[:, -1])[:, None]).sum(axis=1)
        j = np.minimum(
            j, np.count_nonzero(p, axis=1) - 1
        )  # rounding never lands on a dropped token
        return j if ids is None else ids[np.arange(len(p)), j]

    def _propose(self, found: list[np.ndarray], rows: int, rng: np.random.Generator) -> np.ndarray:
        """Exact draws ``w ~ P(·|h)`` for ``rows`` contexts without dense rows (module docstring)."""
        out = np.empty(rows, np.int64)
        pending = np.arange(rows)
        for level, ctx_all in zip(
            self.levels_[::-1], found[::-1], strict=True
        ):  # highest order first
            ctx = ctx_all[pending]
            seen = ctx >= 0
            c = np.where(seen, ctx, 0)
            low, high = level.cum[level.start[c]], level.cum[level.start[c + 1]]
            target = low + rng.random(len(pending))
            own = seen & (target < high)  # probability 1 - γ(h): a seen continuation
            gram = np.searchsorted(level.cum, target[own], side="right") - 1
            gram = np.clip(gram, level.start[c[own]], level.start[c[own] + 1] - 1)
            out[pending[own]] = level.words[gram]
            pending = pending[~own]
        cdf = self._unigram_cdf
        u = rng.random(len(pending)) * cdf[-1]
        out[pending] = np.minimum(np.searchsorted(cdf, u, side="right"), self.vocab_size - 1)
        return out

    def _peak(self, found: list[np.ndarray], rows: int) -> np.ndarray:
        """Exact ``max_w P(w|h)`` of each of the ``rows`` contexts ``found``: shape (rows,)."""
        if self._peaks is None:
            self._peaks = self._build_peaks()
        peak = np.full(rows, self._peaks[0][0])
        for peaks, ctx in zip(self._peaks[1:], found, strict=True):
            seen = ctx >= 0
            peak[seen] = peaks[ctx[seen]]
        return peak

    def _build_peaks(self) -> list[np.ndarray]:
        """Per order, ``max_w P_k(w|h)`` of every seen context; order 1 first (shape (1,)).

        ``max_w P_k(w|h) = max(max_{w seen after h} P_k(w|h), γ_k(h) max_w P_{k-1}(w|h'))``: the
        second term is attained by the lower order's argmax unless that token is seen after h,
        in which case the first term is at least as large.
        """
        base = self.vocab_size + 1
        gram_prob = self.unigram_  # P_{k-1} of the (k-1)-grams, indexed like keys_{k-1}
        gram_ctx = np.zeros(self.vocab_size, np.int64)  # their context index at order k-1
        peaks = [np.array([self.unigram_.max()])]
        lower_keys = np.arange(self.vocab_size)
        for level in self.levels_:
            k_minus_1 = len(peaks)
            suffix = np.searchsorted(lower_keys, level.keys % base**k_minus_1)
            ctx_of_gram = np.repeat(np.arange(len(level.contexts)), np.diff(level.start))
            prob = level.alpha + level.gamma[ctx_of_gram] * gram_prob[suffix]
            lower_peak = peaks[-1][gram_ctx[suffix[level.start[:-1]]]]
            peaks.append(
                np.maximum(np.maximum.reduceat(prob, level.start[:-1]), level.gamma * lower_peak)
            )
            gram_prob, gram_ctx, lower_keys = prob, ctx_of_gram, level.keys
        return peaks

    def _next(
        self, seq: np.ndarray, t: int, rng: np.random.Generator, temperature: float
    ) -> np.ndarray:
        """Tokens at position ``t`` for every row of ``seq`` (n, order-1+L), BOS-padded."""
        n, v = len(seq), self.vocab_size
        prefix = seq[:, self.order - 1 : self.order - 1 + t]
        found = self._lookup(seq[:, t : t + self.order - 1])
        truncate = (self.top_k is not None and self.top_k < v) or self.top_p < 1
        penalise = self.repetition_penalty > 1 and t > 0
        if not truncate and not penalise and temperature == 1:
            return self._propose(found, n, rng)
        out = np.full(n, -1, np.int64)
        todo = np.arange(n)
        if not truncate:  # exact rejection sampling from the sparse proposal
            exponent = 1 / temperature - 1
            log_peak = np.log(self._peak(found, n)) if exponent else None
            for _ in range(MAX_REJECTION_ROUNDS):
                sub = [f[todo] for f in found]
                w = self._propose(sub, len(todo), rng)
                log_accept = np.zeros(len(todo))
                if log_peak is not None:
                    log_accept += exponent * (np.log(self._prob(sub, w)) - log_peak[todo])
                if penalise:
                    repeated = (prefix[todo] == w[:, None]).any(axis=1)
                    log_accept -= repeated * (np.log(self.repetition_penalty) / temperature)
                accept = rng.random(len(todo)) < np.exp(log_accept)
                out[todo[accept]] = w[accept]
                todo = todo[~accept]
                if not len(todo):
                    return out
        block = max(1, DENSE_BLOCK // v)
        for lo in range(0, len(todo), block):
            rows = todo[lo : lo + block]
            p = self._dense([f[rows] for f in found], len(rows))
            out[rows] = self._draw(*self._decode(p, prefix[rows], temperature), rng)
        return out

    def _search(self, first: np.ndarray, width: int) -> np.ndarray:
        """Beam search (``width`` hypotheses; 1 = greedy) continuing each first token: (U, L)."""
        u, v, length, o = len(first), self.vocab_size, self.seq_len, self.order - 1
        seqs = np.full((u, width, o + length), v, np.int64)
        seqs[:, :, o] = first[:, None]
        scores = np.full((u, width), -np.inf)
        scores[:, 0] = (
            0.0  # all hypotheses start equal: keep one, so the first step does not pick duplicates
        )
        rows = np.arange(u)[:, None]
        for t in range(1, length):
            flat = seqs.reshape(u * width, o + length)
            p = self._dense(self._lookup(flat[:, t : t + o]), u * width)
            p = self._penalise(p, flat[:, o : o + t])
            p /= p.sum(axis=1, keepdims=True)
            total = (scores[:, :, None] + np.log(p).reshape(u, width, v)).reshape(u, width * v)
            best = np.argpartition(-total, width - 1, axis=1)[
                :, :width
            ]  # the width best (hypothesis, token)
            best = np.take_along_axis(
                best,
                np.argsort(-np.take_along_axis(total, best, axis=1), axis=1, kind="stable"),
                axis=1,
            )
            seqs = seqs[rows, best // v]
            seqs[:, :, o + t] = best % v
            scores = np.take_along_axis(total, best, axis=1)
        return seqs[np.arange(u), np.argmax(scores, axis=1), o:]

    def sample(self, n: int, *, rng: np.random.Generator, bias: float = 1.0) -> np.ndarray:
        """Draw ``n`` sequences, shape (n, seq_len) float64 ids, with temperature λ = ``bias``.

        ``decoding: greedy | beam`` need ``bias`` = 1 (module docstring).
        """
        check_fitted(self, "levels_")
        self._check_params()
        check(isinstance(n, (int, np.integer)) and n >= 0, "n", "an int >= 0", n)
        bias = check_bias(bias)
        if self.decoding != "sample":
            check(
                bias == 1.0,
                "bias",
                f"1 with decoding {self.decoding!r} (the temperature λ applies to decoding 'sample'; "
                "greedy and beam search are deterministic)",
                bias,
            )
        length = (
            self.seq_len if self.decoding == "sample" else 1
        )  # greedy / beam: draw the first token
        seq = np.full((n, self.order - 1 + length), self.vocab_size, np.int64)
        for t in range(length):
            seq[:, self.order - 1 + t] = self._next(seq, t, rng, bias)
        tokens = seq[:, self.order - 1 :]
        if self.decoding != "sample":
            first, inverse = np.unique(tokens[:, 0], return_inverse=True)
            width = 1 if self.decoding == "greedy" else self.beam_size
            block = max(1, DENSE_BLOCK // (width * self.vocab_size))
            searched = [
                self._search(first[i : i + block], width) for i in range(0, len(first), block)
            ]
            tokens = (
                np.concatenate(searched)[inverse]
                if searched
                else np.empty((0, self.seq_len), np.int64)
            )
        return tokens.astype(np.float64)
