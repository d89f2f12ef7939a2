"""Arguments of the fake-data regression chain: validation and label-noise bookkeeping.

Shared by the regression closed forms (:mod:`autophagy.theory.ols_chain`,
:mod:`autophagy.theory.ridge_collapse`, :mod:`autophagy.theory.power_laws`); the setting and the
notation (n generations, d = ``dim``, T0 = ``t_real``, T = ``t_fake``, σ0 = ``noise_real``,
σ = ``noise_fake``) are in :mod:`autophagy.theory.regression`. Besides the argument checks it holds
the two noise quantities every formula uses: the summed label-noise variance of a chain of n
generators, σ0² + (n - 1)σ² (the numerator of c_n), and the noise σ_n of the downstream rows of
generation n (σ0 for n = 0, σ after).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from autophagy._validation import check

ArrayLike = Any  # int | sequence of ints | np.ndarray


# -- validation helpers --------------------------------------------------------------------------
def _generations(n: ArrayLike) -> np.ndarray:
    """n as an int array (any shape) of generations >= 0."""
    arr = np.asarray(n)
    ok = arr.size > 0 and arr.dtype.kind in "iu" and bool(np.all(arr >= 0))
    check(ok, "n", "an int >= 0 or an array of them (the number of fake generations)", n)
    return arr.astype(np.int64)


def _out(values: np.ndarray, n: np.ndarray) -> float | np.ndarray:
    """A float for a scalar n, else the array (same shape as n)."""
    return float(values) if n.ndim == 0 else values


def _check_int(value: Any, key: str, low: int, why: str = "") -> int:
    """``value`` as an int >= ``low`` (bools refused); ``why`` is appended to the message."""
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low
    check(bool(ok), key, f"an int >= {low}{why}", value)
    return int(value)


def _check_noise(noise_real: float, noise_fake: float | None) -> tuple[float, float]:
    """(σ0, σ) as floats >= 0; σ = σ0 when ``noise_fake`` is None."""
    check(_is_real(noise_real) and noise_real >= 0, "noise_real", "a finite float >= 0 (σ0, a standard deviation)", noise_real)
    if noise_fake is None:
        return float(noise_real), float(noise_real)
    check(_is_real(noise_fake) and noise_fake >= 0, "noise_fake", "a finite float >= 0 (σ, a standard deviation) or None (σ = σ0)", noise_fake)
    return float(noise_real), float(noise_fake)


def _is_real(value: Any) -> bool:
    """A finite real scalar (Python or NumPy int or float, not a bool)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) and bool(np.isfinite(value))


def _check_ols_size(t: Any, dim: int, key: str, role: str) -> int:
    """A least-squares sample size T > d + 1 (E (XᵀX)⁻¹ is finite only there); ``role`` names it."""
    t = _check_int(t, key, 1)
    check(
        t > dim + 1,
        key,
        f"an int > dim + 1 = {dim + 1} ({role}: E tr (XᵀX)⁻¹ is finite only for T > d + 1)",
        t,
    )
    return t


def _chain_sizes(dim: int, t_real: int, t_fake: int) -> tuple[int, int, int]:
    """(d, T0, T) checked for the least-squares chain: d >= 1, T0 > d + 1, T > d + 1."""
    d = _check_int(dim, "dim", 1)
    t0 = _check_ols_size(t_real, d, "t_real", "rows of each least-squares generator")
    t = _check_ols_size(t_fake, d, "t_fake", "rows of the least-squares downstream model")
    return d, t0, t


def _fake_variance_sum(n: np.ndarray, noise_real: float, noise_fake: float) -> np.ndarray:
    """σ0² + (n - 1)σ² for n >= 1, 0 for n = 0: the summed label-noise variance of the chain."""
    return np.where(n >= 1, noise_real**2 + (n - 1) * noise_fake**2, 0.0)


def _downstream_noise(n: np.ndarray, noise_real: float, noise_fake: float) -> np.ndarray:
    """σ0 for n = 0 (real rows), σ for n >= 1 (rows labelled by generator n)."""
    return np.where(n >= 1, noise_fake, noise_real)
