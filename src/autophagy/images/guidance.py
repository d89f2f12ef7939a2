"""Classifier-free guidance as a sampling bias: λ = 1/(1 + w) (MAD §2.3), both ways."""

from __future__ import annotations


def guidance_for(bias: float) -> float:
    """The guidance weight w of the sampling bias λ = 1/(1 + w): w = 1/λ - 1."""
    return 1.0 / bias - 1.0


def bias_for(guidance: float) -> float:
    """The sampling bias λ = 1/(1 + w) of guidance weight w >= 0."""
    return 1.0 / (1.0 + guidance)
