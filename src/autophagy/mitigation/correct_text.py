"""Self-correction of synthetic text by its known grammar: tokens the true language forbids are
resampled from it (``self_correct`` on text, :mod:`autophagy.mitigation.correct`).

A token x_t is *forbidden* when the grammar's chain cannot emit it after its context: its true
probability P_ε(x_t | x_<t) is 0, or, when the source has typos (``noise`` ε > 0, every token
then has probability at least ε/V), exactly the typo floor ε/V (only a typo can produce it).
Left to right, each forbidden token is, with probability γ = ``strength``, replaced by a draw
from the true next-token law P_ε(· | y_<t) given the already corrected prefix y_<t (so a
correction changes the contexts of the tokens after it, which are checked in the new context).
γ = 1 leaves no forbidden token when ε = 0; with typos a replacement is itself a typo with
probability about ε, as in real text. γ = 0 is the identity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy._validation import check

#: Relative slack when comparing a probability with the typo floor ε/V (rounding of (1-ε)p + ε/V).
_FLOOR_SLACK = 1e-9


def forbidden_floor(source: Any) -> float:
    """The probability at or below which a token is forbidden: ε/V (0 without typos)."""
    noise = float(getattr(source, "noise", 0.0) or 0.0)
    return noise / int(source.vocab_size) * (1.0 + _FLOOR_SLACK)


def forbidden(source: Any, x: np.ndarray) -> np.ndarray:
    """Whether each token of ``x`` (n, L) is forbidden by the grammar (module docstring): (n, L) bool."""
    with np.errstate(divide="ignore"):
        floor = np.log(forbidden_floor(source))
    return np.asarray(source.token_log_probs(x)) <= floor  # type: ignore[no-any-return]


def correct_tokens(batch: Any, x: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Token sequences ``x`` (n, L) (float ids) with each forbidden token resampled, with
    probability ``strength``, from the true next-token law given the corrected prefix.

    Args:
        batch: the synthetic batch (its ``source`` has ``token_log_probs``, ``next_token_probs``,
            ``vocab_size`` and optionally ``noise``).
        x: token ids (n, L).
        strength: γ in [0, 1].
        rng: the stage's stream (one uniform per forbidden token met, one more per replacement).

    Returns:
        The corrected ids (n, L), float64.
    """
    check(0.0 <= strength <= 1.0, "strength", "a number in [0, 1]", strength)
    source = batch.source
    y = np.asarray(x).astype(np.int64)
    if strength == 0.0 or y.size == 0:
        return y.astype(np.float64)
    bad = forbidden(source, y)
    if not bad.any():
        return y.astype(np.float64)
    floor = forbidden_floor(source)
    changed = np.zeros(len(y), dtype=bool)  # rows whose prefix differs from x: recheck every token
    for t in range(int(np.argmax(bad.any(axis=0))), y.shape[1]):
        rows = np.flatnonzero(bad[:, t] | changed)
        if not len(rows):
            continue
        probs = np.asarray(source.next_token_probs(y[rows, :t]), dtype=float)  # (r, V)
        now = probs[np.arange(len(rows)), y[rows, t]] <= floor  # forbidden in the corrected context
        rows, probs = rows[now], probs[now]
        hit = rng.random(len(rows)) < strength
        rows, probs = rows[hit], probs[hit]
        if len(rows):
            cdf = np.cumsum(probs, axis=1)
            draws = (cdf <= (rng.random(len(rows)) * cdf[:, -1])[:, None]).sum(axis=1)
            new = np.minimum(draws, probs.shape[1] - 1)
            changed[rows] |= new != y[rows, t]
            y[rows, t] = new
    return y.astype(np.float64)
