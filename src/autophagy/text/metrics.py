"""Text metrics: the language-model view of collapse (Shumailov et al. 2024), by name.

For a text source (batches (n, L) of token ids) and a language-model generator G^t
(``log_prob``/``token_log_probs`` at temperature 1, ``sample(n, rng=, bias=)``), with ``real``
the held-out real sequences and ``fake`` G^t's samples drawn at its bias λ:

* ``perplexity_real``: held-out real text under G^t, ``exp(-Σ_i log G^t(real_i) / (n L))``;
  rises as G^t forgets the real language.
* ``sample_perplexity``: the median of the per-sample perplexities of ``fake`` under the
  reference G^0 (``ctx.reference``; G^t itself at generation 1),
  ``exp(-mean_t log G^0(x_t | x_<t))``.
  The whole (n,) array goes to ``ctx.artifacts["sample_perplexity"]`` for the article's
  per-generation histograms (mass piling up at low perplexity, a long high-perplexity tail).
* ``true_perplexity`` (grammar source): ``fake`` under the true law P, ``exp(-Σ log P / (n L))``:
  how natural the generated text is. ``inf`` when one sample holds a token the truth forbids;
  ``impossible_rate`` is the share of such tokens.
* ``kl_to_truth`` (grammar source): KL(G^t ‖ P) in nats per token, by Monte Carlo on G^t's
  own samples at λ = 1 (see :func:`autophagy.text.functional.kl_to_truth`). When λ ≠ 1 it draws
  those samples itself, ``generator.sample(n, rng=ctx.rng, bias=1.0)``. NaN when G^t's sampler
  does not draw from its model even at λ = 1 (``decoding`` greedy / beam, ``top_k``,
  ``top_p`` < 1 or ``repetition_penalty`` > 1 on the generator).
* ``tail_mass``: the share of generated tokens that are rare in the real data (relative
  frequency in ``source.token_counts()`` below ``eval.rare_threshold``).
* ``tail_probability``: G^t's own next-token probability on the rare set, averaged over every
  prefix of ``fake`` (:func:`autophagy.text.functional.tail_probability_mass`); needs
  ``generator.next_token_probs(prefix (m, t)) -> (m, V)``, and falls back to ``tail_mass``
  (the token share) for a generator without it.
* ``vocab_coverage``, ``distinct_n`` (rows ``distinct_n_1..3``), ``repetition_rate``
  (n-grams of length ``eval.repetition_n`` repeated within a sample).

The maths lives in :mod:`autophagy.text.functional` (numpy only).
"""

from __future__ import annotations

from typing import Any, Protocol, cast

import numpy as np

from autophagy.metrics.evaluate import EvalContext, metric
from autophagy.text import functional as tm

#: The text metrics a text run computes by default (those that need the exact law of the
#: text, ``NEEDS_TEXT_TRUTH``, are added for the grammar source only). The sentence-embedding
#: metrics (``text_frechet``, ``text_precision``...; :mod:`autophagy.text.embedding_metrics`)
#: need the extra 'text' and seconds per generation: a config lists them explicitly.
TEXT_METRICS = [
    "perplexity_real",
    "sample_perplexity",
    "tail_mass",
    "tail_probability",
    "vocab_coverage",
    "distinct_n",
    "repetition_rate",
]

#: The metrics a known law of the text adds to the defaults (a source with ``log_prob``: data.kind 'grammar').
TEXT_TRUTH_METRICS = ["true_perplexity", "kl_to_truth", "impossible_rate"]


def text_defaults(source: Any) -> list[str]:
    """The default metrics of a text source: :data:`TEXT_METRICS`, plus :data:`TEXT_TRUTH_METRICS`
    where the text's exact law is known (``impossible_rate`` only without typos: with them every
    token is possible and it would be 0 by construction)."""
    if not hasattr(source, "log_prob"):
        return list(TEXT_METRICS)
    truth = [m for m in TEXT_TRUTH_METRICS if m != "impossible_rate" or not getattr(source, "noise", 0.0)]
    return TEXT_METRICS + truth


#: Upper bound on the entries of one (rows, V) block of next-token probabilities (32 MiB).
_BLOCK_ENTRIES = 2**22


class _TextSource(Protocol):
    """What these metrics read of a text source (token sequences; ``token_log_probs`` and
    ``log_prob`` only where the text's exact law is known, see ``NEEDS_TEXT_TRUTH``)."""

    @property
    def vocab_size(self) -> int: ...

    def token_counts(self) -> np.ndarray: ...

    def token_log_probs(self, x: np.ndarray) -> np.ndarray: ...

    def log_prob(self, x: np.ndarray) -> np.ndarray: ...


def _text_source(ctx: EvalContext) -> _TextSource:
    """``ctx.source``: a text source wherever a text metric runs (the config checks it)."""
    return cast(_TextSource, ctx.source)


def _seq_len(ctx: EvalContext) -> int:
    return int(ctx.fake.shape[1])


def _rare(ctx: EvalContext) -> np.ndarray:
    """Rare-token mask (V,) from the real training data's counts and ``eval.rare_threshold``."""
    if "rare_tokens" not in ctx.cache:
        counts = _text_source(ctx).token_counts()
        ctx.cache["rare_tokens"] = tm.rare_tokens(counts, ctx.config.rare_threshold)
    return ctx.cache["rare_tokens"]


def _truth_token_log_probs(ctx: EvalContext) -> np.ndarray:
    """log P(x_t | x_<t) of the generated samples under the true law, shape (n, L) (cached)."""
    if "truth_token_log_probs" not in ctx.cache:
        ctx.cache["truth_token_log_probs"] = _text_source(ctx).token_log_probs(ctx.fake)
    return ctx.cache["truth_token_log_probs"]


def _samples_model(generator: Any) -> bool:
    """Whether ``generator.sample(bias=1)`` draws from the distribution its ``log_prob`` scores:
    no deterministic search, truncation or repetition penalty (attribute names of the n-gram's
    decoding settings; a generator without them samples its model)."""
    return (
        getattr(generator, "decoding", "sample") == "sample"
        and getattr(generator, "top_k", None) is None
        and getattr(generator, "top_p", 1.0) >= 1.0
        and getattr(generator, "repetition_penalty", 1.0) <= 1.0
    )


def _model_samples(ctx: EvalContext) -> np.ndarray:
    """G^t's samples at λ = 1: ``fake`` when drawn at λ = 1, else n fresh draws (cached)."""
    if not _samples_model(ctx.generator):
        raise ValueError(
            "kl_to_truth needs samples from G^t's model: decoding 'sample' without top-k, "
            "top-p or repetition penalty"
        )
    if ctx.bias == 1.0:
        return ctx.fake
    if "model_samples" not in ctx.cache:
        ctx.cache["model_samples"] = ctx.generator.sample(len(ctx.fake), rng=ctx.rng, bias=1.0)
    return ctx.cache["model_samples"]


@metric("perplexity_real", "perplexity of held-out real text under G^t: exp of minus the mean per-token log-prob", needs={"log_prob"})
def _perplexity_real(ctx: EvalContext) -> float:
    return tm.perplexity(ctx.generator.log_prob(ctx.real), int(ctx.real.shape[1]))


@metric("sample_perplexity", "median per-sample perplexity of G^t's samples under G^0 (the whole distribution stored for histograms)", needs={"log_prob"})
def _sample_perplexity(ctx: EvalContext) -> float:
    model = ctx.reference if ctx.reference is not None else ctx.generator
    per_sample = tm.sample_perplexities(model.token_log_probs(ctx.fake))
    ctx.artifacts["sample_perplexity"] = per_sample
    return float(np.median(per_sample))


@metric("true_perplexity", "perplexity of G^t's samples under the true grammar (how natural the text is; inf if one holds an impossible token)")
def _true_perplexity(ctx: EvalContext) -> float:
    return tm.perplexity(_truth_token_log_probs(ctx).sum(axis=1), _seq_len(ctx))


@metric("impossible_rate", "share of G^t's generated tokens to which the true grammar gives probability 0")
def _impossible_rate(ctx: EvalContext) -> float:
    return float(np.mean(np.isneginf(_truth_token_log_probs(ctx))))


@metric("kl_to_truth", "KL(G^t ‖ P) in nats per token, Monte Carlo on G^t's samples at λ = 1 (grammar source)", needs={"log_prob"})
def _kl_to_truth(ctx: EvalContext) -> float:
    x = _model_samples(ctx)
    truth = _truth_token_log_probs(ctx).sum(axis=1) if x is ctx.fake else _text_source(ctx).log_prob(x)
    return tm.kl_to_truth(truth, ctx.generator.log_prob(x), int(x.shape[1]))


@metric("tail_mass", "share of G^t's generated tokens that are rare in the real data (frequency < eval.rare_threshold)")
def _tail_mass(ctx: EvalContext) -> float:
    return tm.tail_token_share(ctx.fake, _rare(ctx))


@metric("tail_probability", "G^t's next-token probability on words rare in the real data, averaged over its samples' prefixes")
def _tail_probability(ctx: EvalContext) -> float:
    """(1/(nL)) Σ_i Σ_t G^t(rare | fake_i,<t), in row blocks of at most ``_BLOCK_ENTRIES``
    probabilities; the token share (``tail_mass``) for a generator without ``next_token_probs``."""
    rare = _rare(ctx)
    if not hasattr(ctx.generator, "next_token_probs"):
        return tm.tail_token_share(ctx.fake, rare)
    ids = np.rint(ctx.fake).astype(np.int64)
    n, length = ids.shape
    total = 0.0
    if hasattr(ctx.generator, "position_probs"):  # every position of a block of rows in one pass
        block = max(1, _BLOCK_ENTRIES // (len(rare) * length))
        for start in range(0, n, block):
            probs = ctx.generator.position_probs(ids[start : start + block])  # (rows, L, V)
            total += tm.tail_probability_mass(probs.reshape(-1, len(rare)), rare) * probs.shape[0] * length
        return total / (n * length)
    block = max(1, _BLOCK_ENTRIES // len(rare))
    for t in range(length):
        for start in range(0, n, block):
            rows = ids[start : start + block, :t]
            probs = ctx.generator.next_token_probs(rows)  # (rows, V)
            total += tm.tail_probability_mass(probs, rare) * len(rows)
    return total / (n * length)


@metric("vocab_coverage", "share of the vocabulary appearing in G^t's samples")
def _vocab_coverage(ctx: EvalContext) -> float:
    return tm.vocab_coverage(ctx.fake, int(_text_source(ctx).vocab_size))


@metric("distinct_n", "distinct n-grams / all n-grams of G^t's samples, n = 1, 2, 3 (rows distinct_n_1..3; Li et al. 2016)")
def _distinct_n(ctx: EvalContext) -> dict[int, float]:
    # NaN for an n longer than the sequences, so the three rows always exist
    length = _seq_len(ctx)
    return {n: tm.distinct_n(ctx.fake, n) if n <= length else float("nan") for n in (1, 2, 3)}


@metric("repetition_rate", "share of a sample's n-grams (n = eval.repetition_n) already seen earlier in it, mean over samples")
def _repetition_rate(ctx: EvalContext) -> float:
    return tm.repetition_rate(ctx.fake, ctx.config.repetition_n)
