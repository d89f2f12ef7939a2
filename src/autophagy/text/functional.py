r"""Text metrics: pure NumPy functions of token-id batches and log-probabilities.

A batch ``x`` is an array (n, L) of token ids (float64 holding integers ``0..V-1``, as the text
sources hand them out; int arrays work too). Log-probabilities are natural logs. Every function
returns a plain float (or an array where said); the registered metrics in
:mod:`autophagy.text.metrics` wire them to the loop.

* Likelihood: :func:`perplexity` (corpus level), :func:`sample_perplexities` (one per sequence),
  :func:`kl_to_truth` (Monte-Carlo KL(G ‖ P) per token).
* Diversity: :func:`distinct_n` (Li et al. 2016), :func:`repetition_rate`,
  :func:`vocab_coverage`.
* Tails: :func:`rare_tokens`, :func:`tail_token_share`, :func:`tail_probability_mass`.

References:
    Li et al. (2016), "A diversity-promoting objective function for neural conversation models"
    (distinct-n).
    Shumailov et al. (2024), "AI models collapse when trained on recursively generated data",
    Nature 631 (per-sample perplexity histograms, loss of the tails, repeated phrases).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import numpy.typing as npt

from autophagy.exceptions import InvalidParameterError

__all__ = [
    "distinct_n",
    "kl_to_truth",
    "perplexity",
    "rare_tokens",
    "repetition_rate",
    "sample_perplexities",
    "tail_probability_mass",
    "tail_token_share",
    "vocab_coverage",
]


def _ids(x: npt.ArrayLike, name: str = "x") -> np.ndarray:
    """Token ids (n, L) as int64, or ValueError (wrong shape, non-integer or negative ids)."""
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"Expected {name} of shape (n, L) token ids but got shape {a.shape}")
    ids = np.rint(a).astype(np.int64) if a.dtype.kind == "f" else a.astype(np.int64)
    if a.size and (not np.all(ids == a) or ids.min() < 0):
        raise ValueError(f"Expected {name} to hold non-negative integer token ids")
    return ids


def _check_int(value: object, name: str, caller: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InvalidParameterError(
            f"The '{name}' parameter of {caller} must be an int in the range [{low}, inf). "
            f"Got {value!r} instead."
        )
    return int(value)


def _ngrams(ids: np.ndarray, n: int) -> np.ndarray:
    """The n-grams inside each sequence (none across sequences): shape (rows, L - n + 1, n)."""
    if n > ids.shape[1]:
        raise ValueError(f"Expected n <= L (sequence length) but got n = {n}, L = {ids.shape[1]}")
    return np.lib.stride_tricks.sliding_window_view(ids, n, axis=1)


def perplexity(log_probs: npt.ArrayLike, seq_len: int) -> float:
    r"""Corpus-level perplexity of n sequences of L tokens from their log-probabilities.

    .. math:: \mathrm{PPL} = \exp\Big(-\frac{1}{nL} \sum_{i=1}^n \log p(x_i)\Big)

    the exponential of the mean negative log-likelihood per token (the article's held-out
    perplexity). Under the true law P it is the *true perplexity* of generated text (how
    natural it is); it is ``inf`` as soon as one sequence has probability 0.

    Args:
        log_probs: ``log p(x_i)`` of each whole sequence (natural log), shape (n,).
        seq_len: L, tokens per sequence.

    Returns:
        PPL >= 1 for a proper (normalised) model; a uniform model over V tokens gives V.

    Example:
        >>> round(perplexity([4 * np.log(1 / 8)] * 3, seq_len=4), 12)
        8.0
    """
    seq_len = _check_int(seq_len, "seq_len", "perplexity")
    lp = np.asarray(log_probs, dtype=np.float64).ravel()
    if lp.size == 0:
        raise ValueError("Expected at least 1 sequence but got 0")
    with np.errstate(over="ignore"):
        return float(np.exp(-np.mean(lp) / seq_len))


def sample_perplexities(token_log_probs: npt.ArrayLike) -> np.ndarray:
    r"""Perplexity of each sequence, the exponential of its mean negative log-likelihood per token.

    .. math:: \mathrm{PPL}_i = \exp\Big(-\frac{1}{L}\sum_{t=1}^L \log p(x_{i,t} \mid x_{i,<t})\Big)

    Args:
        token_log_probs: per-token log-probabilities, shape (n, L).

    Returns:
        Shape (n,): the values whose histogram (under the generation-1 model G^0) the
        article plots generation after generation.

    Example:
        >>> sample_perplexities(np.log([[0.5, 0.5], [0.25, 1.0]]))
        array([2., 2.])
    """
    lp = np.asarray(token_log_probs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[1] == 0:
        raise ValueError(f"Expected token_log_probs of shape (n, L), L >= 1, but got {lp.shape}")
    with np.errstate(over="ignore"):
        return np.exp(-lp.mean(axis=1))


def kl_to_truth(
    truth_log_probs: npt.ArrayLike, model_log_probs: npt.ArrayLike, seq_len: int
) -> float:
    r"""Monte-Carlo estimate of KL(G ‖ P) per token, from samples x_i ~ G of the model itself.

    .. math::

        \widehat{\mathrm{KL}} = \frac{1}{nL} \sum_{i=1}^n \big(\log G(x_i) - \log P(x_i)\big)
        \;\xrightarrow{n\to\infty}\; \frac{1}{L}\,\mathbb{E}_{x\sim G}\big[\log G(x) - \log P(x)\big]

    (nats per token). Unbiased only when the x_i are drawn from G's *model* distribution, i.e.
    at λ = 1 with no decoding changes (no top-k / top-p / repetition penalty / beam search):
    samples drawn at another temperature estimate a different quantity, which can be negative.
    Its standard error is ``std_i(log G(x_i) - log P(x_i)) / (L sqrt(n))``. It is ``inf`` when
    one x_i has ``P(x_i) = 0`` (G puts mass where the truth has none).

    Args:
        truth_log_probs: ``log P(x_i)`` under the true law, shape (n,).
        model_log_probs: ``log G(x_i)`` under the model that drew them, shape (n,).
        seq_len: L, tokens per sequence.

    Example:
        >>> round(kl_to_truth(np.log([0.25, 0.25]), np.log([0.5, 0.5]), seq_len=1), 6)  # log 2
        0.693147
    """
    seq_len = _check_int(seq_len, "seq_len", "kl_to_truth")
    truth = np.asarray(truth_log_probs, dtype=np.float64).ravel()
    model = np.asarray(model_log_probs, dtype=np.float64).ravel()
    if truth.shape != model.shape or truth.size == 0:
        raise ValueError(
            "Expected truth_log_probs and model_log_probs of the same shape (n,), n >= 1, "
            f"but got {truth.shape} and {model.shape}"
        )
    return float(np.mean(model - truth) / seq_len)


def distinct_n(x: npt.ArrayLike, n: int) -> float:
    r"""Distinct-n (Li et al. 2016): distinct n-grams over all n-grams of the batch.

    .. math:: \mathrm{distinct}_n = \frac{|\{\text{distinct n-grams}\}|}{N (L - n + 1)}

    counting the n-grams inside each of the N sequences (none across two sequences) and the
    distinct ones over the whole batch. 1 = no n-gram ever repeats; it falls as text collapses.

    Args:
        x: token ids, shape (N, L), L >= n.
        n: n-gram length, >= 1.

    Example:
        >>> distinct_n([[0, 1, 0, 1], [1, 0, 2, 2]], 2)  # 01 10 01 / 10 02 22: 4 distinct of 6
        0.6666666666666666
    """
    n = _check_int(n, "n", "distinct_n")
    grams = _ngrams(_ids(x), n).reshape(-1, n)
    if len(grams) == 0:
        raise ValueError("Expected at least 1 sequence but got 0")
    return len(np.unique(grams, axis=0)) / len(grams)


def repetition_rate(x: npt.ArrayLike, n: int) -> float:
    r"""Share of a sequence's n-grams that already occurred earlier in it, averaged over sequences.

    For sequence i with n-grams g_{i,1}, ..., g_{i,m} (m = L - n + 1, overlapping), position j
    repeats when g_{i,j} = g_{i,k} for some k < j (the earlier occurrence may overlap it):

    .. math::

        \mathrm{rep}_n = \frac{1}{N} \sum_{i=1}^N \frac{1}{m} \sum_{j=1}^m
        \mathbb{1}\big[\exists k < j:\ g_{i,k} = g_{i,j}\big]

    0 = no phrase repeats within a sequence; → 1 as text loops on the same phrase (the
    article's repeated phrases). Within-sequence only: two sequences sharing a phrase do not
    count (that is :func:`distinct_n`'s job).

    Args:
        x: token ids, shape (N, L), L >= n.
        n: n-gram length, >= 1.

    Example:
        >>> repetition_rate([[0, 1, 0, 1, 0, 1]], 2)  # ab ba [ab ba ab]: 3 of 5 seen before
        0.6
    """
    n = _check_int(n, "n", "repetition_rate")
    ids = _ids(x)
    grams = _ngrams(ids, n)  # (N, m, n)
    rows, m = grams.shape[:2]
    if rows == 0:
        raise ValueError("Expected at least 1 sequence but got 0")
    # Key each n-gram by (sequence, n-gram): np.unique's first index of a key is its earliest
    # position in that sequence (row-major order), so any other position is a repeat.
    keyed = np.concatenate([np.repeat(np.arange(rows), m)[:, None], grams.reshape(-1, n)], axis=1)
    _, first, inverse = np.unique(keyed, axis=0, return_index=True, return_inverse=True)
    repeated = first[inverse.ravel()] != np.arange(rows * m)
    return float(repeated.reshape(rows, m).mean(axis=1).mean())


def vocab_coverage(x: npt.ArrayLike, vocab_size: int) -> float:
    """Share of the V vocabulary ids that appear at least once in the batch: |{x_{i,t}}| / V.

    Args:
        x: token ids, shape (n, L), ids < V.
        vocab_size: V.

    Example:
        >>> vocab_coverage([[0, 1, 1], [3, 0, 1]], vocab_size=8)
        0.375
    """
    vocab_size = _check_int(vocab_size, "vocab_size", "vocab_coverage")
    ids = _ids(x)
    if ids.size and ids.max() >= vocab_size:
        raise ValueError(f"Expected token ids < vocab_size = {vocab_size} but got {ids.max()}")
    return len(np.unique(ids)) / vocab_size


def rare_tokens(counts: npt.ArrayLike, threshold: float) -> np.ndarray:
    r"""Mask of the rare tokens: relative frequency in the real data below ``threshold``.

    .. math:: \mathrm{rare}_v = \Big[\frac{c_v}{\sum_u c_u} < \tau\Big]

    Tokens never seen in the real data (c_v = 0) are rare.

    Args:
        counts: c_v, count (or expected count) of each id in the real training data, shape (V,).
        threshold: τ in (0, 1].

    Returns:
        Boolean mask, shape (V,).

    Example:
        >>> rare_tokens([900, 99, 1, 0], threshold=0.01)
        array([False, False,  True,  True])
    """
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size == 0 or np.any(c < 0) or not np.isfinite(c).all() or c.sum() <= 0:
        raise ValueError("Expected counts of shape (V,), non-negative, finite, with a positive sum")
    if isinstance(threshold, bool) or not isinstance(threshold, Real) or not 0.0 < threshold <= 1.0:
        raise InvalidParameterError(
            "The 'threshold' parameter of rare_tokens must be a float in the range (0, 1]. "
            f"Got {threshold!r} instead."
        )
    return c / c.sum() < threshold


def tail_token_share(x: npt.ArrayLike, rare_mask: npt.ArrayLike) -> float:
    r"""Share of the generated tokens that are rare words.

    .. math:: \frac{1}{nL}\sum_{i=1}^n \sum_{t=1}^L \mathrm{rare}_{x_{i,t}}

    Args:
        x: token ids, shape (n, L), ids < V.
        rare_mask: :func:`rare_tokens`, shape (V,).

    Example:
        >>> tail_token_share([[0, 2, 3, 0]], np.array([False, False, True, True]))
        0.5
    """
    ids = _ids(x)
    mask = np.asarray(rare_mask, dtype=bool)
    if ids.size == 0:
        raise ValueError("Expected at least 1 token but got 0")
    if ids.max() >= len(mask):
        raise ValueError(f"Expected token ids < V = {len(mask)} but got {ids.max()}")
    return float(mask[ids].mean())


def tail_probability_mass(next_token_probs: npt.ArrayLike, rare_mask: npt.ArrayLike) -> float:
    r"""Mean probability a model gives the rare set, over m contexts.

    .. math:: \frac{1}{m} \sum_{j=1}^m \sum_{v:\ \mathrm{rare}_v} G(v \mid h_j)

    With the contexts h_j all the prefixes x_{i,<t} of the model's own samples (every i, every
    t), this is the expected next-token mass on rare words along the model's own text: it
    falls as the model forgets the tails, even before a rare word stops being drawn.

    Args:
        next_token_probs: G(· | h_j), rows summing to 1, shape (m, V).
        rare_mask: :func:`rare_tokens`, shape (V,).

    Example:
        >>> tail_probability_mass([[0.5, 0.4, 0.1], [0.7, 0.0, 0.3]], np.array([False, True, True]))
        0.4
    """
    p = np.asarray(next_token_probs, dtype=np.float64)
    mask = np.asarray(rare_mask, dtype=bool)
    if p.ndim != 2 or p.shape[1] != len(mask) or p.shape[0] == 0:
        raise ValueError(
            f"Expected next_token_probs of shape (m, V = {len(mask)}), m >= 1, but got shape {p.shape}"
        )
    return float(p[:, mask].sum(axis=1).mean())
