"""What the report knows about each metric family: its valid range (bands are clipped to it),
a one-sentence caption saying what to look for in its chart, and which metrics are the key ones
of a page's summary.

A family is matched by name: an exact name, or a prefix ending in ``_`` (``distinct_n_`` covers
``distinct_n_1``..``distinct_n_3``). Unknown metrics get no clipping and a generic caption.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from autophagy.report.collect import BOOKKEEPING, REMOVED_PREFIX, metric_order

#: Metrics that are shares or probabilities: valid in [0, 1].
UNIT_INTERVAL: tuple[str, ...] = (
    "precision",
    "recall",
    "coverage",
    "impossible_rate",
    "tail_mass",
    "tail_probability",
    "vocab_coverage",
    "distinct_n_",
    "repetition_rate",
    "classifier_accuracy",
    "class_frequency_",
    "pool_human_share",
    "frac_",
    "kept_fraction",
    REMOVED_PREFIX,
)

#: Metrics that cannot be negative: valid in [0, inf). (``mmd`` is the *unbiased* MMD², which
#: can dip below 0, and ``kl_to_truth`` a Monte Carlo estimate: neither is clipped.)
NON_NEGATIVE: tuple[str, ...] = (
    "density",
    "gaussian_w2",
    "mean_sq_error",
    "cov_trace",
    "frechet",
    "sliced_wasserstein",
    "fid",
    "text_frechet",
    "param_error",
    "test_error",
    "test_error_",
    "perplexity_real",
    "sample_perplexity",
    "true_perplexity",
    "class_entropy",
    "modes_covered",
    "train_size",
)

#: What to look for, per metric family (first match wins, so exact names before prefixes).
CAPTIONS: tuple[tuple[str, str], ...] = (
    ("cov_trace", "A falling trace means the model's spread collapses; flat means it holds."),
    ("cov_logdet", "Drifting below 0 means the model's volume shrinks (−inf: fully collapsed)."),
    ("mean_sq_error", "A rising error means the model's mean wanders away from the truth."),
    ("gaussian_w2", "A rising distance means the model drifts away from the true Gaussian."),
    ("frechet", "A rising distance means generated samples drift away from the real ones."),
    ("fid", "A rising FID means generated images drift away from the real ones."),
    ("text_frechet", "A rising distance means generated text drifts away from the real text."),
    ("sliced_wasserstein", "A rising distance means generated samples drift from the real ones."),
    ("mmd", "A rising MMD² means generated samples become distinguishable from real ones."),
    ("loglik_real", "A falling log-likelihood means the model forgets the real data."),
    ("modes_covered", "A falling count means the model drops modes of the real mixture."),
    ("perplexity_real", "A rising perplexity means the model forgets the real text."),
    ("sample_perplexity", "A falling perplexity means samples pile up on text G^1 found likely."),
    ("true_perplexity", "A rising perplexity means generated text grows less natural."),
    ("impossible_rate", "A rising rate means the model emits more tokens the grammar forbids."),
    ("kl_to_truth", "A rising KL means the model moves away from the true grammar."),
    ("tail_", "A falling share means rare words vanish: the tails are forgotten first."),
    ("vocab_coverage", "A falling share means the vocabulary narrows."),
    ("distinct_n_", "A falling share means generated text grows repetitive."),
    ("repetition_rate", "A rising rate means samples repeat themselves more."),
    ("class_entropy", "A falling entropy means generated images pile up on few classes."),
    ("classifier_accuracy", "A falling accuracy means images lose their conditioning class."),
    ("class_frequency_", "A share drifting from 1/K means the classes lose balance."),
    ("test_error", "A rising error means labels from the model chain teach a worse model."),
    ("param_error", "A rising distance means the labeller drifts from the true coefficients."),
    ("precision", "A falling precision means generated samples leave the real data's support."),
    ("recall", "A falling recall means the model covers less of the real data."),
    ("coverage", "A falling coverage means the model covers less of the real data."),
    ("density", "Density far from 1 means samples crowd (above) or thin out (below)."),
    ("pool_human_share", "A falling share means the pool fills with synthetic data."),
    ("train_size", "How many rows each generation trains on (bookkeeping)."),
    ("frac_", "The shares of D^t by origin (bookkeeping)."),
    ("kept_fraction", "The share of synthetic samples the mitigation stages kept."),
    (REMOVED_PREFIX, "How many synthetic samples this stage removed."),
    ("degenerate", "Repeats whose fit or metric degenerated at each generation."),
)


def _matches(metric: str, families: Iterable[str]) -> bool:
    return any(metric == f or (f.endswith("_") and metric.startswith(f)) for f in families)


def valid_range(metric: str) -> tuple[float, float]:
    """The (low, high) a metric's true value lies in (±inf where unbounded).

    >>> valid_range("recall"), valid_range("cov_trace"), valid_range("mmd")
    ((0.0, 1.0), (0.0, inf), (-inf, inf))
    """
    if _matches(metric, UNIT_INTERVAL):
        return (0.0, 1.0)
    if _matches(metric, NON_NEGATIVE):
        return (0.0, float("inf"))
    return (float("-inf"), float("inf"))


def caption(metric: str) -> str:
    """One sentence on what to look for in ``metric``'s chart."""
    for family, text in CAPTIONS:
        if _matches(metric, (family,)):
            return text
    return "Watch whether the mean drifts from generation 1 and whether the bands separate."


def clip_bands(summary: Any) -> Any:
    """``summary`` (of :func:`~autophagy.report.collect.summarise`) with ``lo``/``hi`` clipped
    to each metric's :func:`valid_range` (the mean is left as measured)."""
    import numpy as np

    if len(summary) == 0:
        return summary
    ranges = np.array([valid_range(m) for m in summary["metric"]], dtype=float).reshape(-1, 2)
    out = summary.copy()
    out["lo"] = np.clip(out["lo"].to_numpy(dtype=float), ranges[:, 0], ranges[:, 1])
    out["hi"] = np.clip(out["hi"].to_numpy(dtype=float), ranges[:, 0], ranges[:, 1])
    return out


def is_bookkeeping(metric: str) -> bool:
    """Loop bookkeeping (:data:`~autophagy.report.collect.BOOKKEEPING`, ``removed_by_*``) and
    the per-class rows ``class_frequency_k``: never key metrics."""
    return (
        metric in BOOKKEEPING
        or metric.startswith(REMOVED_PREFIX)
        or metric.startswith("class_frequency_")
    )


def key_metrics(recorded: Iterable[str], configured: Sequence[str] = (), k: int = 3) -> list[str]:
    """The ``k`` metrics a page's summary leads with: the config's ``metrics`` in their order
    (a family such as ``distinct_n`` by its rows), then the recorded ones in
    :func:`~autophagy.report.collect.metric_order`; bookkeeping never.

    >>> key_metrics(["train_size", "frechet", "cov_trace", "mmd"], ["mmd", "frechet"], k=2)
    ['mmd', 'frechet']
    """
    recorded = [m for m in metric_order(recorded) if not is_bookkeeping(m)]
    picked: list[str] = []
    for name in configured:
        rows = [name] if name in recorded else [m for m in recorded if m.startswith(f"{name}_")]
        picked += rows
    picked += [m for m in recorded if m not in picked]
    return list(dict.fromkeys(picked))[:k]
