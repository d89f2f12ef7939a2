"""Decoding rules on next-token logits: pure functions of a tensor of shape (n, V).

Each returns new logits (the input is not modified); a token a rule removes gets logit −inf,
so ``softmax`` of the result is the distribution a sampler draws from. The usual order, which
:mod:`autophagy.text.transformer_model` follows, is: repetition penalty, temperature, top-k, top-p.

* temperature T:   p_i ∝ exp(z_i / T)   (= p_i^{1/T}; T < 1 sharpens, T = 1 is the model)
* top-k:           keep the k largest logits (Fan et al. 2018)
* top-p (nucleus): keep the most probable tokens until their mass reaches p (Holtzman et al. 2020):
                   token i (in descending order) stays iff the mass before it is < p
* repetition penalty θ (CTRL, Keskar et al. 2019): for a token already generated,
                   z_i -> z_i / θ if z_i > 0 else z_i · θ
"""

from __future__ import annotations

from typing import Any

from autophagy._validation import check
from autophagy.neural._torch import require_torch

torch = require_torch()


def apply_temperature(logits: Any, temperature: float) -> Any:
    """Logits (n, V) divided by ``temperature`` > 0."""
    check(temperature > 0, "temperature", "a number > 0", temperature)
    return logits if temperature == 1 else logits / temperature


def top_k_filter(logits: Any, k: int | None) -> Any:
    """Keep exactly the ``k`` largest logits of each row (n, V); the rest become −inf. None: all."""
    check(k is None or (isinstance(k, int) and k >= 1), "top_k", "an int >= 1 or None", k)
    if k is None or k >= logits.shape[-1]:
        return logits
    keep = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, logits.topk(k, dim=-1).indices, True)
    return logits.masked_fill(~keep, -torch.inf)


def top_p_filter(logits: Any, p: float) -> Any:
    """Keep the smallest set of most probable tokens whose mass reaches ``p`` ∈ (0, 1] (rows (n, V))."""
    check(0 < p <= 1, "top_p", "a number in (0, 1]", p)
    if p == 1:
        return logits
    sorted_logits, order = logits.sort(dim=-1, descending=True)
    probs = sorted_logits.float().softmax(dim=-1)
    before = probs.cumsum(dim=-1) - probs  # mass of the more probable tokens; the top one always stays
    drop = torch.zeros_like(logits, dtype=torch.bool).scatter_(-1, order, before >= p)
    return logits.masked_fill(drop, -torch.inf)


def repetition_penalty(logits: Any, previous: Any, penalty: float) -> Any:
    """Penalise the tokens of ``previous`` (n, t) int64 in ``logits`` (n, V) by θ = ``penalty`` >= 1."""
    check(penalty >= 1, "repetition_penalty", "a number >= 1", penalty)
    if penalty == 1 or previous.shape[-1] == 0:
        return logits
    seen = logits.gather(-1, previous)
    return logits.scatter(-1, previous, torch.where(seen > 0, seen / penalty, seen * penalty))
