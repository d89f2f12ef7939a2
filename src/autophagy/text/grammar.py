"""A known language: a sparse higher-order Markov chain over a Zipfian vocabulary.

The grammar is the text analogue of a Gaussian with known (μ, Σ): a source of token sequences
whose exact probability is known, so the lab can measure true perplexity, KL to the truth and
exact tail mass instead of estimating them.

**Vocabulary.** ``vocab_size`` = V ids. Id 0 is the end of a sentence, shown as ``"."``; ids
1..V-1 are pseudo-words (``"ba"``, ``"ko"``, ..., two syllables from id 71 on, three from 4971
on) whose id is their Zipf rank: the base law of the grammar is

    z_v = (v + 1)^(-s) / Σ_u (u + 1)^(-s),   v = 0..V-1,   s = ``zipf``,

so id 0 (the sentence end) is the most frequent symbol and the largest ids are the rare words.

**Contexts.** The next token depends on the context c_t: the previous ``order`` = k tokens,
cut at the last sentence end and padded on the left with 0. A sequence starts at a sentence start,
c_1 = (0, ..., 0), the same state as right after a ``"."``. As an integer, a context is its
base-V code, ``code(c) = Σ_j c_j V^(k-1-j)`` (< V^k, hence ``vocab_size ** order < 2**63``); its
last token is ``code mod V``; after token x it becomes ``(code mod V^(k-1)) · V + x``, or 0 when
x = 0.

**Transition tables** (drawn once, deterministically from ``seed``):

* ``successors`` (V, B), B = ``branching``: the possible next tokens after each last token u.
  Slot 0 is ``cover[u]``, u's successor on one random cycle through all V ids, so every id can
  follow some id and is reachable from a sentence start; slots 1..B-1 are i.i.d. draws from z
  (duplicates allowed, so at most B distinct successors).
* ``weights`` (R, B): one Dirichlet(``concentration``, ..., ``concentration``) row of slot
  probabilities per context row. For ``order`` 1 the row is the last token (R = V); for
  ``order`` >= 2 it is ``splitmix64(code) mod table_size`` (R = ``table_size``), a fixed hash of
  the whole context, so contexts that share their last token share their possible successors
  but not how likely each is; an order-(k-1) model sees the average of those and is less sharp
  than the truth. Two contexts whose codes hash to one row share its weights: a parameter tying,
  still one proper Markov chain.

The exact next-token law is then, with u = code(c_t) mod V and r = row(code(c_t)),

    P(x_t = v | c_t) = Σ_{j : successors[u, j] = v} weights[r, j],

which sums to 1 over v. As the slots are drawn from z and the weights are exchangeable, the
expected next-token law of a context is (1/B)·(cover law) + ((B-1)/B)·z: the token marginal is
Zipf-like with a floor that keeps every word reachable, and a rare word occurs after few contexts
but with a sizeable probability there, as rare words do in real text.

**Typos** (``noise`` = ε, default 0 here, 0.01 in the ``grammar`` data config). With
probability ε a token is replaced by a uniform draw over all V ids, so the law becomes

    P_ε(x_t = v | c_t) = (1 - ε) P(x_t = v | c_t) + ε / V,

which gives every text a positive probability. Without it, a smoothed model of the grammar (an
n-gram with Kneser-Ney, a softmax network) puts mass on texts the chain can never emit and its KL
to the truth is infinite; with it, KL(G^t ‖ P_ε) and the true perplexity stay finite and
measure how far G^t has drifted.

**Sequences.** A text sample is ``seq_len`` = L tokens x_1..x_L drawn from the chain started at a
sentence start; ``log P(x) = Σ_t log P(x_t | c_t)`` exactly (:meth:`Grammar.log_prob`). Training
data are infinite: :meth:`Grammar.sample` and :meth:`Grammar.holdout` both draw fresh sequences
from the stream they are given (the runner gives the held-out draw a dedicated stream), so P_r is
the chain itself; :meth:`Grammar.token_counts` gives the expected counts of each id in a sequence
(the reference of "rare" words).

**Speed.** Sampling and scoring are vectorised over the n sequences and loop over the L
positions: a step is a gather of (n, B) table entries, a comparison and a sum (5-10 million
tokens/s on one core, sampling or scoring).
"""

from __future__ import annotations

import numpy as np

from autophagy._validation import check

#: Id of the sentence end (and the padding of contexts at a sentence start).
EOS = 0
#: Up to this many context codes (V^k), :meth:`Grammar.token_counts` is exact: the law of the
#: context is added up in a dense vector (8 bytes a code).
_DENSE_CONTEXTS = 2**23
#: Sequences drawn to estimate :meth:`Grammar.token_counts` beyond that (4 M tokens at L = 64).
ESTIMATE_SEQUENCES = 2**16
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_SYLLABLES = [c + v for c in _CONSONANTS for v in _VOWELS]  # 70


def word(v: int) -> str:
    """Display string of id ``v``: ``"."`` for 0, else a pseudo-word of syllables (bijective base 70)."""
    if v == EOS:
        return "."
    out, n = "", v
    while n > 0:
        n -= 1
        out = _SYLLABLES[n % len(_SYLLABLES)] + out
        n //= len(_SYLLABLES)
    return out


def zipf_law(vocab_size: int, zipf: float) -> np.ndarray:
    """The base law z (V,): ``z_v ∝ (v + 1)^(-zipf)``."""
    z = np.arange(1, vocab_size + 1, dtype=np.float64) ** -zipf
    return z / z.sum()


def _splitmix64(code: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser of each code (uint64, wrapping arithmetic)."""
    z = code.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


class Grammar:
    """A sparse order-k Markov chain over a Zipfian vocabulary (see the module docstring).

    Args:
        vocab_size: V >= 2 token ids (id 0 is the sentence end).
        order: k >= 1, the number of previous tokens the next one depends on; V^k < 2^63.
        branching: B in [2, V], slots of possible successors per last token.
        zipf: s >= 0, exponent of the base law z_v ∝ (v + 1)^(-s).
        concentration: a > 0, the Dirichlet parameter of each slot's weight (small: peaked
            contexts, low entropy; 1: uniform on the simplex).
        seq_len: L >= 1 tokens per sequence.
        noise: ε in [0, 1), the share of tokens replaced by a uniform draw (see "Typos").
        table_size: rows of the weight table for order >= 2 (hashed contexts).
        seed: the grammar's own seed; the same seed gives the same tables.

    Attributes:
        successors: (V, B) int64, the possible next tokens after each last token.
        weights: (R, B) float64, rows summing to 1, the slot probabilities of each context row.
        unigram: (V,) the base law z.
    """

    def __init__(
        self, vocab_size: int = 2000, order: int = 2, branching: int = 20, zipf: float = 1.1, concentration: float = 1.0,
        seq_len: int = 64, table_size: int = 2**16, seed: int = 0, noise: float = 0.0,
    ) -> None:
        check(0.0 <= noise < 1.0, "noise", "a number in [0, 1)", noise)
        check(vocab_size >= 2, "vocab_size", "an int >= 2", vocab_size)
        check(1 <= order and vocab_size**order < 2**63, "order", f"an int >= 1 with vocab_size ** order < 2**63 (vocab_size = {vocab_size})", order)
        check(2 <= branching <= vocab_size, "branching", f"an int in [2, vocab_size = {vocab_size}]", branching)
        self.vocab_size, self.order, self.branching, self.seq_len = vocab_size, order, branching, seq_len
        self.zipf, self.concentration, self.table_size, self.seed = zipf, concentration, table_size, seed
        self.noise = float(noise)
        V, B = vocab_size, branching

        def stream(role: int) -> np.random.Generator:
            return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(role,)))

        self.unigram = zipf_law(V, zipf)
        cycle = stream(0).permutation(V)
        cover = np.empty(V, dtype=np.int64)
        cover[cycle] = np.roll(cycle, -1)  # one cycle through every id
        self.successors = np.column_stack([cover, stream(1).choice(V, size=(V, B - 1), p=self.unigram)]).astype(np.int64)
        rows = V if order == 1 else table_size
        self.weights = stream(2).dirichlet(np.full(B, float(concentration)), size=rows)
        self._cumulative = np.cumsum(self.weights, axis=1)
        self._cumulative[:, -1] = 1.0  # u in [0, 1) always finds a slot despite rounding
        self._shift = V ** (order - 1)  # code mod V^(k-1) drops the oldest token
        self._counts: np.ndarray | None = None
        for table in (self.successors, self.weights, self._cumulative, self.unigram):
            table.flags.writeable = False
        self.tokens: list[str] = [word(v) for v in range(V)]

    @property
    def n_contexts(self) -> int:
        """V^k, the number of context codes."""
        return int(self.vocab_size**self.order)

    @property
    def dim(self) -> int:
        """Width of a sample: ``seq_len`` token ids."""
        return self.seq_len

    def context_rows(self, codes: np.ndarray) -> np.ndarray:
        """Context codes (m,) int64 -> rows of :attr:`weights` (m,): the code itself for order 1,
        else ``splitmix64(code) mod table_size``."""
        if self.order == 1:
            return codes
        return (_splitmix64(codes) % np.uint64(self.table_size)).astype(np.int64)

    def _advance(self, codes: np.ndarray, tokens: np.ndarray) -> np.ndarray:
        """Context codes after appending ``tokens`` (a sentence end resets to the start, 0)."""
        return np.where(tokens == EOS, 0, (codes % self._shift) * self.vocab_size + tokens)

    def sample(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n sequences (n, seq_len), float64 holding ids, each from a sentence start."""
        out = np.empty((n, self.seq_len), dtype=np.int64)
        codes = np.zeros(n, dtype=np.int64)
        for t in range(self.seq_len):
            u = rng.random(n)
            slot = (u[:, None] >= self._cumulative[self.context_rows(codes)]).sum(axis=1)  # inverse CDF over the B slots
            tokens = self.successors[codes % self.vocab_size, slot]
            if self.noise:  # a typo: a uniform id instead (draws only when ε > 0)
                typo = rng.random(n) < self.noise
                tokens = np.where(typo, rng.integers(self.vocab_size, size=n), tokens)
            out[:, t] = tokens
            codes = self._advance(codes, tokens)
        return out.astype(np.float64)

    def holdout(self, n: int, *, rng: np.random.Generator) -> np.ndarray:
        """n held-out sequences (n, seq_len): fresh draws from the chain (the data are infinite)."""
        return self.sample(n, rng=rng)

    def default_metrics(self) -> list[str]:
        """The metrics of an experiment that names none (see :func:`autophagy.text.metrics.text_defaults`)."""
        from autophagy.text.metrics import text_defaults

        return text_defaults(self)

    def truth(self) -> None:
        """None: the truth is not a Gaussian mixture (the exact law is :meth:`log_prob`)."""
        return None

    def _ids(self, x: np.ndarray) -> np.ndarray:
        """Validated ids (n, L) int64 from an (n, L) array of integer-valued numbers."""
        a = np.asarray(x)
        check(a.ndim == 2, "x", "an array of token ids of shape (n, L)", f"an array of shape {a.shape}")
        ids = np.rint(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(np.int64)
        ok = a.size == 0 or (np.all(ids == a) and ids.min() >= 0 and ids.max() < self.vocab_size)
        check(bool(ok), "x", f"integer token ids in 0..{self.vocab_size - 1}", "other values")
        return ids

    def token_log_probs(self, x: np.ndarray) -> np.ndarray:
        """Exact ``log P(x_t | c_t)`` (n, L) of sequences (n, L) that start at a sentence start
        (-inf where a token cannot follow its context)."""
        ids = self._ids(x)
        n, length = ids.shape
        out = np.empty((n, length))
        codes = np.zeros(n, dtype=np.int64)
        for t in range(length):
            match = self.successors[codes % self.vocab_size] == ids[:, t, None]  # (n, B) slots holding x_t
            p = np.einsum("ij,ij->i", self.weights[self.context_rows(codes)], match)
            if self.noise:
                p = (1.0 - self.noise) * p + self.noise / self.vocab_size
            with np.errstate(divide="ignore"):
                out[:, t] = np.log(p)
            codes = self._advance(codes, ids[:, t])
        return out

    def log_prob(self, x: np.ndarray) -> np.ndarray:
        """Exact natural-log probability (n,) of each sequence of ``x`` (n, L), started at a
        sentence start: ``Σ_t log P(x_t | c_t)``."""
        return self.token_log_probs(x).sum(axis=1)

    def next_token_probs(self, prefix: np.ndarray) -> np.ndarray:
        """Exact law of the next token after each prefix (n, t) (t >= 0, from a sentence start)
        -> (n, V), rows summing to 1."""
        ids = self._ids(prefix)
        codes = np.zeros(len(ids), dtype=np.int64)
        for t in range(ids.shape[1]):
            codes = self._advance(codes, ids[:, t])
        probs = np.zeros((len(ids), self.vocab_size))
        np.add.at(probs, (np.arange(len(ids))[:, None], self.successors[codes % self.vocab_size]), self.weights[self.context_rows(codes)])
        if self.noise:
            probs = (1.0 - self.noise) * probs + self.noise / self.vocab_size
        return probs

    def token_counts(self) -> np.ndarray:
        """Expected count of each id (V,) in one sequence of ``seq_len`` tokens (sums to L).

        The training data are infinite, so these expectations stand for the counts of the real
        training data; only their proportions (the position-averaged token marginal) matter.
        Exact when there are at most 2^23 context codes (``vocab_size ** order``; e.g. order 2
        with V <= 2896): the forward recursion over the law of the context at each position,
        added up in a dense vector (about a second for V = 2000, order 2). Beyond that the
        reachable contexts are too many to enumerate quickly (order 3, V = 2000: ~10^6), and
        the counts are estimated from :data:`ESTIMATE_SEQUENCES` sequences drawn from the
        grammar's own stream (relative error ≈ 1/sqrt(expected count · ESTIMATE_SEQUENCES));
        :attr:`token_counts_exact` says which. Computed once.
        """
        if self._counts is None:
            if self.token_counts_exact:
                counts = self._exact_counts()
            else:
                rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(3,)))
                x = self.sample(ESTIMATE_SEQUENCES, rng=rng).astype(np.int64)
                counts = np.bincount(x.ravel(), minlength=self.vocab_size) / ESTIMATE_SEQUENCES
            counts.flags.writeable = False
            self._counts = counts
        return self._counts

    @property
    def token_counts_exact(self) -> bool:
        """Whether :meth:`token_counts` is exact (V^k <= 2^23 and no typos: a typo can lead to any
        context, so the forward recursion would be dense) or a Monte-Carlo estimate."""
        return self.n_contexts <= _DENSE_CONTEXTS and not self.noise

    def _exact_counts(self) -> np.ndarray:
        V = self.vocab_size
        counts = np.zeros(V)
        codes, probs = np.zeros(1, dtype=np.int64), np.ones(1)  # law of the context: a sentence start
        for t in range(self.seq_len):
            successors = self.successors[codes % V]  # (m, B)
            mass = probs[:, None] * self.weights[self.context_rows(codes)]  # P(context, slot)
            counts += np.bincount(successors.ravel(), mass.ravel(), minlength=V)
            if t + 1 < self.seq_len:
                after = self._advance(codes[:, None], successors).ravel()
                # numpy's stub types bincount as intp; with float weights it is float64
                probs = np.bincount(after, mass.ravel(), minlength=self.n_contexts)  # type: ignore[assignment]
                codes = np.flatnonzero(probs)
                probs = probs[codes]
        return counts

    def decode(self, ids: np.ndarray) -> str:
        """Ids (L,) -> text: the words joined by spaces, each ``"."`` attached to the word before."""
        a = np.asarray(ids)
        return " ".join(self.tokens[int(v)] for v in self._ids(a.reshape(1, -1))[0]).replace(" .", ".")
