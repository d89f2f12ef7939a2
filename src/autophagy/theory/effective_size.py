"""The effective sample size n_e of the fresh-data loop, and how much synthetic data is admissible (MAD §5).

n_e is the number of purely real samples whose fit has the same expected distance to the real
distribution as the loop's limit: expected_distance(n_e) = D_∞(n_r, n_s, λ) (both from
:mod:`autophagy.theory.wasserstein`). D(n) is tabulated once on common random numbers and
inverted through a cubic spline; the standard error of n_e is the delta method,
se(D_∞) / |dD/dn| at n_e. Repeats of the loop are added until n_e/n_r reaches the asked
precision (:func:`effective_sample_size`, :class:`EffectiveSize`). Synthetic data is
*admissible* while n_e / n_r >= 1: it then acts like extra real data instead of displacing it.
:func:`admissible_synthetic` scans n_s and bisects on the crossing (:class:`Admissibility`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autophagy._validation import check
from autophagy.exceptions import PrecisionNotReachedError
from autophagy.theory.wasserstein import (
    Estimate,
    _check_inputs,
    _check_seed,
    _CommonDraws,
    _ddof,
    _distance,
    _LimitSampler,
)


# -- the effective sample size ------------------------------------------------------------------
@dataclass(frozen=True)
class EffectiveSize:
    """n_e for one (n_r, n_s, λ).

    Attributes:
        n_real, n_synthetic, bias: the setting.
        n_effective: n_e (at least dim + 1: below that a fit on real data is singular, and
            ``at_floor`` is set — n_e/n_r is then an upper bound).
        stderr: standard error of n_e.
        ratio, ratio_stderr: n_e / n_r and its standard error.
        limit: D_∞ with its standard error.
        repeats: independent repeats of the loop behind the estimate.
        at_floor: n_e fell below dim + 1.
    """

    n_real: int
    n_synthetic: int
    bias: float
    n_effective: float
    stderr: float
    ratio: float
    ratio_stderr: float
    limit: Estimate
    repeats: int
    at_floor: bool = False

    @property
    def admissible(self) -> bool:
        """n_e / n_r >= 1 (the point estimate)."""
        return self.ratio >= 1.0


class _Inverse:
    """n ↦ expected_distance(n) on common random numbers, and its inverse.

    D(n) is tabulated once on a log-spaced grid of n (common random numbers make it smooth)
    and interpolated by a cubic spline of log D against log n; the grid grows on demand.
    """

    def __init__(self, dim: int, estimator: str, draws: int, seed: int) -> None:
        self.draws = _CommonDraws(dim, draws, seed)
        self.dim, self.ddof = dim, _ddof(estimator)
        self.floor = dim + 1.0
        self._n = np.empty(0)
        self._d = np.empty(0)
        self._se = np.empty(0)
        self._extend(self.floor * 64.0)

    def _extend(self, top: float) -> None:
        grid = np.geomspace(self.floor, top, max(16, int(12 * math.log10(top / self.floor)) + 1))
        values = [_distance(self.draws, float(n), self.ddof) for n in grid]
        self._n, self._d = grid, np.array([v.value for v in values])
        self._se = np.array([v.stderr for v in values])
        from scipy.interpolate import CubicSpline

        self._spline = CubicSpline(np.log(grid), np.log(self._d))

    def __call__(self, n: float) -> Estimate:
        value = float(np.exp(self._spline(math.log(n))))
        return Estimate(value, float(np.interp(n, self._n, self._se)))

    def solve(self, target: float) -> tuple[float, float, bool]:
        """(n, |dD/dn| at n, at_floor) with D(n) = target."""
        from scipy.optimize import brentq

        if self._d[0] <= target:
            return self.floor, self._slope(self.floor), True
        while self._d[-1] > target:
            if self._n[-1] > 1e9:
                raise PrecisionNotReachedError(f"The limit distance {target:.3g} is below what 1e9 real samples give.")
            self._extend(self._n[-1] * 8.0)
        log_target = math.log(target)
        x = brentq(lambda v: float(self._spline(v)) - log_target, math.log(self.floor), math.log(self._n[-1]), xtol=1e-12)
        return float(math.exp(x)), self._slope(math.exp(x)), False

    def _slope(self, n: float) -> float:
        # dD/dn = D · d(log D)/d(log n) / n
        return abs(float(np.exp(self._spline(math.log(n))) * self._spline(math.log(n), 1) / n))


@functools.lru_cache(maxsize=16)
def _inverse(dim: int, estimator: str, seed: int) -> _Inverse:
    return _Inverse(dim, estimator, 4096, seed)


def _effective(sampler: _LimitSampler, inverse: _Inverse) -> EffectiveSize:
    if sampler.n_synthetic == 0:  # every generation is one real fit of n_r samples: n_e = n_r exactly
        n_r = float(sampler.n_real)
        return EffectiveSize(sampler.n_real, 0, sampler.bias, n_r, 0.0, 1.0, 0.0, inverse(n_r), 0)
    limit = sampler.distance()
    n_e, slope, floor = inverse.solve(limit.value)
    se = math.hypot(limit.stderr, inverse(n_e).stderr) / slope if slope > 0 else math.inf
    ratio = n_e / sampler.n_real
    return EffectiveSize(
        sampler.n_real, sampler.n_synthetic, sampler.bias, n_e, se, ratio, se / sampler.n_real, limit, sampler.repeats, floor
    )


def _check_budget(precision: float, max_repeats: int) -> None:
    check(isinstance(precision, (int, float)) and 0.0 < precision < 1.0, "precision",
          "a relative standard error in (0, 1), e.g. 0.01 for ±1 %", precision)
    check(isinstance(max_repeats, (int, np.integer)) and max_repeats >= 32, "max_repeats", "an int >= 32", max_repeats)


_PILOT = 64


def _refine(sampler: _LimitSampler, inverse: _Inverse, precision: float, max_repeats: int) -> EffectiveSize:
    """Add repeats until n_e/n_r has relative stderr <= precision, or fail saying what it reached."""
    if sampler.n_synthetic == 0:
        return _effective(sampler, inverse)
    if sampler.repeats == 0:
        sampler.add(_PILOT)
    result = _effective(sampler, inverse)
    while _relative(result) > precision:
        if sampler.repeats >= max_repeats:
            raise PrecisionNotReachedError(
                f"n_e/n_r for n_real={sampler.n_real}, n_synthetic={sampler.n_synthetic}, bias={sampler.bias} reached "
                f"±{_relative(result):.2%} (relative standard error) with max_repeats={max_repeats} repeats, not the "
                f"asked ±{precision:.2%}. Raise max_repeats (about "
                f"{math.ceil(sampler.repeats * (_relative(result) / precision) ** 2)} needed) or ask for less precision."
            )
        needed = math.ceil(1.2 * sampler.repeats * (_relative(result) / precision) ** 2)
        sampler.add(min(max_repeats, max(needed, sampler.repeats + 16)) - sampler.repeats)
        result = _effective(sampler, inverse)
    return result


def _relative(result: EffectiveSize) -> float:
    return result.ratio_stderr / result.ratio if result.ratio > 0 else math.inf


def effective_sample_size(
    n_real: int,
    n_synthetic: int,
    bias: float,
    dim: int,
    estimator: str = "unbiased",
    *,
    precision: float = 0.01,
    max_repeats: int = 4096,
    seed: int = 0,
) -> EffectiveSize:
    """n_e of the fresh-data loop's limit: the real sample size with the same expected distance.

    Args:
        n_real: n_r, fresh real samples per generation (> dim).
        n_synthetic: n_s, synthetic samples per generation from G^{t-1} (>= 0).
        bias: λ in (0, 1], synthetic samples come from N(μ_{t-1}, λ Σ_{t-1}).
        dim: d.
        estimator: ``unbiased`` or ``mle`` (for the loop's fits and for the real-only reference).
        precision: target relative standard error of n_e / n_r (0.01 = ±1 %).
        max_repeats: Monte-Carlo budget (independent repeats of the loop).
        seed: seed of every draw.

    Returns:
        The :class:`EffectiveSize`.

    Raises:
        InvalidParameterError: on a bad argument (n_real <= dim, λ outside (0, 1], dim < 1, ...).
        PrecisionNotReachedError: when ``max_repeats`` cannot reach ``precision``; the message
            gives the precision reached.
    """
    _check_inputs(n_real, n_synthetic, bias, dim, estimator)
    _check_budget(precision, max_repeats)
    _check_seed(seed)
    inverse = _inverse(dim, estimator, seed)
    return _refine(_LimitSampler(n_real, n_synthetic, float(bias), dim, estimator, seed), inverse, precision, max_repeats)


# -- admissible synthetic data ------------------------------------------------------------------
@dataclass(frozen=True)
class Admissibility:
    """The answer of :func:`admissible_synthetic`.

    Attributes:
        n_real, bias, dim: the question.
        curve: one :class:`EffectiveSize` per n_s tried, increasing n_s.
        threshold: the largest admissible n_s (n_e/n_r >= 1), None when every n_s tried is
            admissible (``admissible_everywhere``).
        threshold_bracket: (last admissible, first inadmissible) n_s around the threshold.
    """

    n_real: int
    bias: float
    dim: int
    curve: tuple[EffectiveSize, ...]
    threshold: int | None
    threshold_bracket: tuple[int, int] | None

    @property
    def admissible_everywhere(self) -> bool:
        return self.threshold_bracket is None


def default_grid(n_real: int) -> list[int]:
    """n_s values tried by default: 0 and n_r · 2^k for k = -5..5 (rounded, distinct, >= 1)."""
    values = sorted({max(1, round(n_real * 2.0**k)) for k in range(-5, 6)})
    return [0, *values]


def admissible_synthetic(
    n_real: int,
    bias: float,
    dim: int,
    *,
    n_synthetic: Sequence[int] | None = None,
    estimator: str = "unbiased",
    precision: float = 0.01,
    max_repeats: int = 4096,
    seed: int = 0,
    refine: bool = True,
) -> Admissibility:
    """The largest admissible amount of synthetic data per generation, and the curve n_s ↦ n_e/n_r.

    Evaluates :func:`effective_sample_size` on ``n_synthetic`` (default :func:`default_grid`);
    where n_e/n_r crosses 1 between two values, bisects on integers between them (``refine``)
    until the bracket is 1 apart or the crossing is within the Monte-Carlo error.

    Returns:
        The :class:`Admissibility` (threshold None when every n_s tried is admissible, as MAD
        finds for λ = 1, where n_e/n_r rises toward 2).

    Raises:
        InvalidParameterError, PrecisionNotReachedError: as :func:`effective_sample_size`.
    """
    _check_inputs(n_real, 0, bias, dim, estimator)
    _check_budget(precision, max_repeats)
    _check_seed(seed)
    grid = sorted(set(default_grid(n_real) if n_synthetic is None else [int(v) for v in n_synthetic]))
    for value in grid:
        _check_inputs(n_real, value, bias, dim, estimator)
    inverse = _inverse(dim, estimator, seed)

    def evaluate(n_s: int) -> EffectiveSize:
        return _refine(_LimitSampler(n_real, n_s, float(bias), dim, estimator, seed), inverse, precision, max_repeats)

    curve = {n_s: evaluate(n_s) for n_s in grid}
    bracket = _bracket(curve)
    if bracket is not None and refine:
        lo, hi = bracket
        while hi - lo > 1:
            mid = (lo + hi) // 2
            point = curve[mid] = evaluate(mid)
            lo, hi = (mid, hi) if point.admissible else (lo, mid)
            if abs(point.ratio - 1.0) < 2.0 * point.ratio_stderr:  # the crossing is within the noise
                break
        bracket = (lo, hi)
    threshold = bracket[0] if bracket is not None else None
    ordered = tuple(curve[k] for k in sorted(curve))
    return Admissibility(n_real, float(bias), dim, ordered, threshold, bracket)


def _bracket(curve: dict[int, EffectiveSize]) -> tuple[int, int] | None:
    """(last admissible, first inadmissible) n_s, scanning from n_s = 0; None if all admissible."""
    keys = sorted(curve)
    for a, b in zip(keys, keys[1:], strict=False):
        if curve[a].admissible and not curve[b].admissible:
            return a, b
    if keys and not curve[keys[0]].admissible:
        return (keys[0], keys[0])
    return None
