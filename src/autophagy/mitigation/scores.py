"""The scores ``threshold`` ranks synthetic samples by that need no learning: log-likelihoods and
rewards (the learned ones are in :mod:`autophagy.mitigation.discriminator`).

A score factory ``make(stage_config) -> Score`` is found by name in
:data:`~autophagy.mitigation.base.SCORES`; a score is ``score(batch, x, rng) -> (n,)``, higher is
better.

* ``true_loglik``: log p_r(x) under the real distribution (known-truth sources only);
* ``reference_loglik``: log p_{G^1}(x) under the generation-1 model (the model of the original
  data; its fitted law, λ = 1);
* ``self_loglik``: log p_{G^t}(x) under the law the batch was drawn from (:func:`sampling_log_prob`):
  pure quality filtering, a model preferring its own typical samples;
* ``reward``: a user function ``package.module:fn`` mapping x (n, d) to (n,), or a built-in
  reward (:data:`REWARDS`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import logsumexp

from autophagy._validation import check
from autophagy.mitigation.base import Score, check_true_law, model_log_prob, true_log_prob

#: The built-in rewards of ``threshold`` (``reward: <name>``), with the key each one needs.
REWARDS: dict[str, str] = {
    "mode_responsibility": "mode",  # log posterior probability of the true mixture's mode `mode`
    "mode_distance": "mode",  # minus the squared distance to the mean of the true mode `mode`
    "target_class": "target_class",  # the image classifier's probability of class `target_class`
}


def sampling_log_prob(batch: Any, x: np.ndarray) -> np.ndarray:
    """log p(x) (n,) of the law the batch's synthetic samples were drawn from: the mixture of
    ``batch.generators`` (at sampling bias ``batch.bias``), each weighted by its share of the
    initial draw (its rows' share of ``batch.pool.origin``; equal shares where none is present)."""
    generators, ids = batch.generators, batch.generator_ids
    if len(generators) == 1:
        return model_log_prob(generators[0], x, bias=batch.bias)
    counts = np.array([np.sum(batch.pool.origin == k) for k in ids], dtype=float)
    share = counts / counts.sum() if counts.sum() > 0 else np.full(len(ids), 1.0 / len(ids))
    parts = [np.log(w) + model_log_prob(g, x, bias=batch.bias) for g, w in zip(generators, share, strict=True) if w > 0]
    return np.asarray(logsumexp(np.stack(parts), axis=0))


def true_loglik(config: Any) -> Score:
    """``score(batch, x, rng)`` = log p_r(x), the true log-density (known-truth sources)."""

    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        log_p = true_log_prob(batch.source)
        if log_p is None:  # refused at load; a direct caller gets the same sentence
            check_true_law(batch.source, "score", "true_loglik")
        return np.asarray(log_p(x), dtype=float).reshape(-1)  # type: ignore[misc]

    return score


def reference_loglik(config: Any) -> Score:
    """``score(batch, x, rng)`` = log p_{G^1}(x) under the generation-1 model (its fitted law)."""

    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if batch.reference_model is None:
            raise ValueError("the reference_loglik score needs G^1 (SyntheticBatch.reference_model is None)")
        return model_log_prob(batch.reference_model, x)

    return score


def self_loglik(config: Any) -> Score:
    """``score(batch, x, rng)`` = log p_{G^t}(x) under the law the batch was drawn from."""

    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return sampling_log_prob(batch, x)

    return score


def reward(config: Any) -> Score:
    """``score(batch, x, rng)`` = the configured reward of each row (``config.reward``: a name
    in :data:`REWARDS` or an import path ``package.module:fn`` of ``fn(x) -> (n,)``)."""
    name = config.reward
    if name in REWARDS:
        return _builtin_reward(name, config)
    fn = load_reward(name)

    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.asarray(fn(x), dtype=float).reshape(-1)
        if len(out) != len(x):
            raise ValueError(f"The reward {name!r} must return one value per row: expected {len(x)} values but got {len(out)}.")
        return out

    return score


def load_reward(path: str) -> Callable[[np.ndarray], Any]:
    """The function at ``package.module:fn`` (imported now)."""
    module, _, attr = path.partition(":")
    fn = getattr(importlib.import_module(module), attr)
    if not callable(fn):
        raise TypeError(f"The reward {path!r} is not callable.")
    return fn  # type: ignore[no-any-return]


def _builtin_reward(name: str, config: Any) -> Score:
    def score(batch: Any, x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        if name == "target_class":
            return np.asarray(batch.source.class_probs(x), dtype=float)[:, config.target_class]
        truth = batch.source.truth()
        k = config.mode
        if name == "mode_distance":
            return -np.sum((x - truth.means[k]) ** 2, axis=1)  # type: ignore[no-any-return]
        return mode_log_responsibility(truth, x, k)

    return score


def mode_log_responsibility(truth: Any, x: np.ndarray, k: int) -> np.ndarray:
    """log P(mode = k | x) (n,) under a mixture ``truth`` (weights, means, covariances)."""
    from scipy.stats import multivariate_normal

    parts = np.stack([
        np.log(w) + multivariate_normal(m, c, allow_singular=True).logpdf(x).reshape(-1)
        for w, m, c in zip(truth.weights, truth.means, truth.covariances, strict=True)
    ])
    return parts[k] - logsumexp(parts, axis=0)  # type: ignore[no-any-return]


def check_reward(config: Any, source: Any, key: str) -> None:
    """Refuse at load a reward the source cannot serve or that cannot be found (one line)."""
    name = config.reward
    if name == "target_class":
        check(callable(getattr(source, "class_probs", None)), f"{key}.reward", "a reward the data can serve: 'target_class' needs labelled images with a classifier (data.kind 'images')", name)
        check(config.target_class is not None, f"{key}.target_class", "set (an int class) for reward 'target_class'", None)
        n_classes = getattr(source, "n_classes", None)
        if isinstance(n_classes, int):
            check(0 <= config.target_class < n_classes, f"{key}.target_class", f"in [0, {n_classes - 1}]", config.target_class)
        return
    if name in REWARDS:
        truth = source.truth() if hasattr(source, "truth") else None
        check(truth is not None, f"{key}.reward", f"a reward the data can serve: {name!r} needs a known mixture (data.kind 'gaussian' or 'gmm')", name)
        check(config.mode is not None, f"{key}.mode", f"set (an int mode) for reward {name!r}", None)
        assert truth is not None
        check(0 <= config.mode < len(truth.weights), f"{key}.mode", f"in [0, {len(truth.weights) - 1}] (the true mixture's modes)", config.mode)
        return
    shown = f"a built-in reward ({', '.join(REWARDS)}) or an import path 'package.module:fn'"
    check(":" in name, f"{key}.reward", shown, name)
    try:
        load_reward(name)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        check(False, f"{key}.reward", f"{shown} that can be imported ({type(exc).__name__}: {exc})", name)
