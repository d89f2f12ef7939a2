"""Input checks shared by the metric functions: sample sets as finite float64 arrays of shape
(n_samples, n_features), and int / positive-float parameters, failing with the messages the
public functions document (ValueError for data, InvalidParameterError for parameters).
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np
import numpy.typing as npt

from autophagy.exceptions import InvalidParameterError


def _as_samples(x: npt.ArrayLike, name: str, min_rows: int = 1) -> np.ndarray:
    """``x`` as a finite float64 array of shape (n_samples, n_features), or ValueError."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n_samples, n_features); got shape {x.shape}")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have at least 1 feature; got shape {x.shape}")
    if x.shape[0] < min_rows:
        raise ValueError(f"{name} needs at least {min_rows} samples; got {x.shape[0]}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains non-finite values (NaN or inf)")
    return x


def _as_pair(
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    names: tuple[str, str] = ("x", "y"),
    min_rows: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Validate two sample sets that must share their feature dimension."""
    a, b = _as_samples(x, names[0], min_rows), _as_samples(y, names[1], min_rows)
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of features; "
            f"got {a.shape[1]} and {b.shape[1]}"
        )
    return a, b


def _check_int(value: object, name: str, caller: str, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
        raise InvalidParameterError(
            f"The '{name}' parameter of {caller} must be an int in the range [{low}, inf). "
            f"Got {value!r} instead."
        )
    return int(value)


def _check_positive(value: object, name: str, caller: str) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0.0 < float(value) < np.inf:
        raise InvalidParameterError(
            f"The '{name}' parameter of {caller} must be a float in the range (0, inf). "
            f"Got {value!r} instead."
        )
    return float(value)
