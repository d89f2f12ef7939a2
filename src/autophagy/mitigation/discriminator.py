"""Scores learned against real data: a discriminator's log-odds of "real", its density ratio, and
an image classifier's confidence.

* ``discriminator`` (a score of ``threshold``): each generation a logistic regression is trained
  to tell the verifier's real reference rows (``batch.real_samples(reference)``) from the
  synthetic rows being scored; a row's score is its log-odds of "real" at equal class priors,
  i.e. the estimated log density ratio ``log p_real(x) / p_synthetic(x)`` (higher: more
  real-looking).
* :func:`density_ratio` (``importance``'s weights): the same estimate as a ratio,
  ``odds(x) · n_synthetic / n_real`` (the odds corrected for the classes' sizes in training).
* ``classifier_confidence`` (images only): the largest class probability the lab's digit
  classifier gives a generated image (``source.class_probs``): a confident image looks like
  some digit.

Features, by the source's family (duck-typed hooks):

* images (``source.image_shape``): the lab's classifier's embedding (``source.embed``), else the
  pixels; the label column is dropped (unconditional samples carry label -1, real rows their
  class, which would give them away);
* text (``source.vocab_size``): token frequencies (V columns) and hashed bigram frequencies
  (:data:`BIGRAM_BUCKETS` columns), sparse;
* vectors: every monomial of degree <= 2, standardised, up to :data:`QUADRATIC_MAX_DIM`
  dimensions (the Bayes-optimal discriminator between two Gaussians is quadratic in x), the
  standardised coordinates beyond.

**Cross-fitting.** A classifier scoring the rows it was trained on is over-confident on them
(it has partly memorised them). So the scored rows and the real rows are each split at random
(from the stage's ``rng``) into two folds; the classifier fitted on fold A of both scores the
synthetic rows of fold B, and vice versa. Every score is thus out of sample; the two folds'
classifiers differ slightly, which is why the prior correction is applied per fold.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from autophagy._validation import check
from autophagy.mitigation.base import Score

#: Vectors of at most this many dimensions get quadratic features (d (d + 3) / 2 columns).
QUADRATIC_MAX_DIM = 20
#: Hashed bigram columns of the text features.
BIGRAM_BUCKETS = 4096
#: Inverse L2 penalty of the logistic regression (on standardised features).
C = 1.0
MAX_ITER = 2000
#: Fewer rows than this in a fold (of either class): no classifier is fitted and the fold's rows
#: get score 0 (ratio 1: no information).
MIN_FOLD = 2

#: The scores this module defines (their load-time check is :func:`check_score`).
OWN_SCORES = ("discriminator", "classifier_confidence")


def check_score(score_name: str, source: Any, provides: frozenset[str] | None, key: str) -> None:
    """Refuse, at load, a score of this module that ``source`` cannot serve (one line, naming ``key``).

    ``classifier_confidence`` needs a labelled image source (a class-probability hook,
    ``source.class_probs``); ``discriminator`` works on every family.
    """
    if score_name == "classifier_confidence":
        check(
            callable(getattr(source, "class_probs", None)), key,
            "a score the data can serve: 'classifier_confidence' needs labelled images (data.kind 'images')", score_name,
        )


def check_reference(source: Any, n: int, key: str) -> None:
    """Refuse ``n`` real reference rows at ``key`` when the source's held-out pool is smaller
    (``source.holdout_capacity``, where the source declares one)."""
    capacity = getattr(source, "holdout_capacity", None)
    if isinstance(capacity, int):
        check(n <= capacity, key, f"<= the {capacity} held-out rows of the data (data.holdout)", n)


def discriminator(cfg: Any) -> Score:
    """The ``discriminator`` score of a threshold stage ``cfg`` (``cfg.reference`` real rows):
    ``score(batch, x, rng) -> (n,)``, the cross-fitted log density ratio of each row of ``x``
    (see the module docstring)."""

    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return log_density_ratio(batch, x, int(cfg.reference), rng)

    return score


def classifier_confidence(cfg: Any) -> Score:
    """The ``classifier_confidence`` score: ``max_k p(k | x)`` under the lab's image classifier,
    shape (n,) in [1/K, 1] (``cfg`` unused; the score needs no real rows and no randomness)."""

    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        probs = np.asarray(batch.source.class_probs(x), dtype=float)  # (n, K)
        return probs.max(axis=1) if len(probs) else np.zeros(0)

    return score


def density_ratio(batch: Any, x: np.ndarray, reference: int, rng: np.random.Generator) -> np.ndarray:
    """Estimated ``p_real(x) / p_synthetic(x)`` for the rows ``x`` (n, d) of ``batch``, shape (n,) > 0.

    ``odds(x) · n_synthetic / n_real`` with the odds of a classifier trained on ``n_real`` real
    reference rows and ``n_synthetic`` synthetic rows (Bayes: p(real | x) / p(synthetic | x) =
    (n_real p_real(x)) / (n_synthetic p_synthetic(x))); cross-fitted (module docstring).
    """
    return np.exp(log_density_ratio(batch, x, reference, rng))


def log_density_ratio(batch: Any, x: np.ndarray, reference: int, rng: np.random.Generator) -> np.ndarray:
    """``log`` of :func:`density_ratio`, shape (n,); 0 for rows of a fold too small to fit."""
    n = len(x)
    out = np.zeros(n)
    if n < 2 * MIN_FOLD:
        return out
    real = np.asarray(batch.real_samples(reference), dtype=float)
    featurize = featurizer(batch.source, np.asarray(x).shape[1])
    f_syn, f_real = featurize(np.asarray(x, dtype=float)), featurize(real)
    syn_fold = _folds(n, rng)
    real_fold = _folds(len(real), rng)
    for k in (0, 1):
        train_s, train_r, scored = syn_fold == k, real_fold == k, syn_fold != k
        n_s, n_r = int(train_s.sum()), int(train_r.sum())
        if min(n_s, n_r) < MIN_FOLD:
            continue
        out[scored] = _fit(batch.source, f_real[train_r], f_syn[train_s])(f_syn[scored])
    return out


def fit_discriminator(source: Any, real: np.ndarray, synthetic: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A classifier of ``real`` (n_r, d) against ``synthetic`` (n_s, d) rows of ``source``, as the
    estimated log density ratio ``rows (m, d) -> log p_real / p_synthetic (m,)`` (no cross-fitting:
    on its own training rows it is over-confident)."""
    featurize = featurizer(source, np.asarray(real).shape[1])
    fitted = _fit(source, featurize(np.asarray(real, dtype=float)), featurize(np.asarray(synthetic, dtype=float)))
    return lambda rows: fitted(featurize(np.asarray(rows, dtype=float)))


def _fit(source: Any, f_real: Any, f_syn: Any) -> Callable[[Any], np.ndarray]:
    """Logistic regression on features of real (class 1) and synthetic (class 0) rows, returned as
    features -> log-odds at equal priors (the estimated log density ratio)."""
    n_r, n_s = f_real.shape[0], f_syn.shape[0]
    model = _classifier(source)
    model.fit(_stack(f_real, f_syn), np.r_[np.ones(n_r), np.zeros(n_s)])
    # decision_function: the log-odds of "real" at the training priors n_r : n_s
    return lambda features: np.asarray(model.decision_function(features), dtype=float) + np.log(n_s / n_r)


def _folds(n: int, rng: np.random.Generator) -> np.ndarray:
    """A random split of n rows into two folds of sizes ⌈n/2⌉ and ⌊n/2⌋, shape (n,) in {0, 1}."""
    fold = np.zeros(n, dtype=np.int64)
    fold[rng.permutation(n)[: n // 2]] = 1
    return fold


def _stack(a: Any, b: Any) -> Any:
    import scipy.sparse as sp

    return sp.vstack([a, b]).tocsr() if sp.issparse(a) else np.vstack([a, b])


def _classifier(source: Any) -> Any:
    """An unfitted logistic regression, standardising dense features (sparse text frequencies are
    already on one scale)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    logistic = LogisticRegression(C=C, max_iter=MAX_ITER)  # lbfgs: deterministic given the data
    return logistic if _is_text(source) else make_pipeline(StandardScaler(), logistic)


def _is_text(source: Any) -> bool:
    return hasattr(source, "vocab_size")


def featurizer(source: Any, width: int) -> Callable[[np.ndarray], Any]:
    """The discriminator's feature map of ``source``'s rows of ``width`` values (module docstring)."""
    if hasattr(source, "image_shape"):
        embed = getattr(source, "embed", None)
        if callable(embed):
            return lambda rows: np.asarray(embed(rows), dtype=float)
        pixels = int(np.prod(source.image_shape))
        return lambda rows: rows[:, :pixels]
    if _is_text(source):
        return lambda rows: token_features(rows, int(source.vocab_size))
    if width <= QUADRATIC_MAX_DIM:
        return quadratic_features
    return lambda rows: rows


def quadratic_features(rows: np.ndarray) -> np.ndarray:
    """Rows (n, d) -> every monomial of degree 1 and 2, shape (n, d + d (d + 1) / 2)."""
    i, j = np.triu_indices(rows.shape[1])
    return np.hstack([rows, rows[:, i] * rows[:, j]])


def token_features(rows: np.ndarray, vocab_size: int) -> Any:
    """Token id rows (n, L) -> sparse frequencies (n, V + :data:`BIGRAM_BUCKETS`): each token's and
    each hashed bigram's count divided by L."""
    import scipy.sparse as sp

    ids = np.asarray(rows, dtype=np.int64)
    n, length = ids.shape
    row_of = np.repeat(np.arange(n), length)
    uni = sp.csr_matrix((np.full(n * length, 1.0 / length), (row_of, ids.ravel())), shape=(n, vocab_size))
    if length < 2:
        return uni
    # a cheap fixed hash of the pair (a, b): the same columns in every run and process
    pair = (ids[:, :-1] * 1_000_003 + ids[:, 1:]) % BIGRAM_BUCKETS
    row_of = np.repeat(np.arange(n), length - 1)
    bi = sp.csr_matrix((np.full(n * (length - 1), 1.0 / length), (row_of, pair.ravel())), shape=(n, BIGRAM_BUCKETS))
    return sp.hstack([uni, bi]).tocsr()
