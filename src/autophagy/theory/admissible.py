"""How much synthetic data is safe? The effective sample size of the fresh-data loop (MAD §5).

The fresh-data loop trains generation t on n_r fresh real samples plus n_s samples drawn with
bias λ from G^{t-1}. It converges to a limit whatever it starts from (MAD §5;
:func:`~autophagy.theory.gaussian.fresh_limit`). Following the article, the quality of that limit
is the expected distance of the fitted Gaussian to the real distribution,

    D_∞(n_r, n_s, λ) = lim_t E W₂²(N(μ_t, Σ_t), P_r),

and the **effective sample size** n_e is the number of purely real samples whose fit has the
same expected distance, :func:`expected_distance` (n_e) = D_∞. Synthetic data is *admissible*
while n_e / n_r >= 1: it then acts like extra real data instead of displacing it.

Both distances are for P_r = N(0, I_d). W₂² scales with σ² under Σ = σ² I, so n_e does not depend
on σ; for other covariances the distance changes and so may n_e.

How it is computed (Monte Carlo only where no closed form exists):
  * E W₂² = E‖μ̂ - μ‖² + d + E tr Σ̂ - 2 E tr Σ̂^{1/2}. The first and third terms are exact
    (:func:`~autophagy.theory.gaussian.moment_recursion`); only E tr Σ̂^{1/2} is estimated.
  * For one fit on n real samples, Σ̂ = W / (n - δ) with W ~ Wishart_d(n - 1, I): drawn by the
    Bartlett decomposition from a fixed set of uniforms and normals (common random numbers, so
    the estimate is a smooth function of n that can be inverted), with tr W and tr W² as control
    variates (their means k d and k d (k + d + 1) are exact, k = n - 1).
  * For the loop's limit, the exact engine (:mod:`autophagy.exact`) runs the loop on sufficient
    statistics for R repeats, discards a burn-in of log(10⁻⁴)/log ρ generations (ρ: the
    contraction rate of the moment map) and averages tr Σ_t^{1/2} over a window per repeat, with
    the window average of tr Σ_t (exact mean) as control variate. The standard error is over the
    independent repeats.
  * The standard error of n_e is the delta method: se(D_∞) / |dD/dn| at n_e.
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from autophagy._rng import stream
from autophagy._validation import check
from autophagy.exceptions import PrecisionNotReachedError
from autophagy.theory.gaussian import fresh_limit, fresh_map

_BURN_IN_TOLERANCE = 1e-4


@dataclass(frozen=True)
class Estimate:
    """A Monte-Carlo estimate and its standard error."""

    value: float
    stderr: float


# -- one fit on n real samples ------------------------------------------------------------------
class _CommonDraws:
    """Fixed uniforms and normals that make E tr Σ̂^{1/2} a smooth function of n."""

    def __init__(self, dim: int, draws: int, seed: int) -> None:
        rng = stream(seed, 0, "metric")
        self.dim = dim
        self.uniform = rng.random((draws, dim))
        rows, cols = np.tril_indices(dim, -1)
        self.rows, self.cols = rows, cols
        self.normal = rng.standard_normal((draws, rows.size))

    def root_trace(self, n: float, ddof: int) -> Estimate:
        """E tr Σ̂^{1/2} for Σ̂ = W / (n - δ), W ~ Wishart_d(n - 1, I), with control variates."""
        from scipy.special import gammaincinv

        d, k = self.dim, n - 1.0
        diag = np.sqrt(2.0 * gammaincinv((k - np.arange(d)) / 2.0, self.uniform))  # (K, d)
        a = np.zeros((len(diag), d, d))
        a[:, self.rows, self.cols] = self.normal
        a[:, np.arange(d), np.arange(d)] = diag
        w = a @ np.swapaxes(a, 1, 2)
        eig = np.clip(np.linalg.eigvalsh(w), 0.0, None)
        y = np.sqrt(eig).sum(axis=1)
        x = np.column_stack([eig.sum(axis=1) - k * d, (eig**2).sum(axis=1) - k * d * (k + d + 1)])
        value, se = _control_variate(y, x)
        scale = 1.0 / math.sqrt(n - ddof)
        return Estimate(value * scale, se * scale)


def _control_variate(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """Mean of y adjusted by zero-mean controls x (least-squares coefficients) and its stderr."""
    x = x.reshape(len(y), -1)
    xc = x - x.mean(axis=0)
    yc = y - y.mean()
    beta, *_ = np.linalg.lstsq(xc, yc, rcond=None)
    adjusted = y - x @ beta
    se = float(np.std(yc - xc @ beta, ddof=1 + x.shape[1]) / math.sqrt(len(y)))
    return float(adjusted.mean()), se


def _ddof(estimator: str) -> int:
    check(estimator in ("mle", "unbiased"), "estimator", "one of 'mle', 'unbiased'", estimator)
    return 0 if estimator == "mle" else 1


def _check_seed(seed: int) -> None:
    check(isinstance(seed, (int, np.integer)) and not isinstance(seed, bool) and seed >= 0, "seed", "an int >= 0", seed)


def _check_dim(dim: int) -> None:
    check(isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and dim >= 1, "dim", "an int >= 1", dim)


def _distance(draws: _CommonDraws, n: float, ddof: int) -> Estimate:
    d = draws.dim
    root = draws.root_trace(n, ddof)
    value = d / n + d + d * (n - 1) / (n - ddof) - 2.0 * root.value
    return Estimate(value, 2.0 * root.stderr)


def expected_distance(
    n: float, dim: int, *, estimator: str = "unbiased", draws: int = 8192, seed: int = 0
) -> Estimate:
    """E W₂²(N(x̄, Σ̂), N(0, I_d)) for a Gaussian fitted to n real samples of N(0, I_d).

    ``d/n + d + d (n-1)/(n-δ) - 2 E tr Σ̂^{1/2}`` (module docstring); the last term by Monte
    Carlo with control variates (its standard error is returned).

    Args:
        n: sample size, > dim (real values allowed: the Wishart law takes real degrees of freedom).
        dim: d >= 1.
        estimator: ``unbiased`` (Σ̂ = S/(n-1)) or ``mle`` (S/n).
        draws: Monte-Carlo draws of Σ̂.
        seed: seed of the draws.

    Returns:
        The :class:`Estimate` of the expected squared distance.

    Examples:
        >>> e = expected_distance(100, 1)  # 1/n + E(σ̂ - 1)², exactly 0.0150440 in 1-d
        >>> round(e.value, 4), e.stderr < 1e-5
        (0.015, True)
    """
    _check_dim(dim)
    ddof = _ddof(estimator)
    check(math.isfinite(float(n)) and float(n) > dim, "n", f"a number > dim = {dim} (Σ̂ is singular otherwise)", n)
    check(isinstance(draws, (int, np.integer)) and draws >= 16, "draws", "an int >= 16", draws)
    _check_seed(seed)
    return _distance(_CommonDraws(dim, int(draws), seed), float(n), ddof)


# -- the fresh loop's limit ---------------------------------------------------------------------
def _schedule(n_real: int, n_synthetic: int, bias: float, dim: int, estimator: str) -> tuple[int, int]:
    """Burn-in and averaging window (generations) from the moment map's contraction rate."""
    rate = fresh_limit(n_real, n_synthetic, trace=float(dim), bias=bias, estimator=estimator).rate
    if rate <= 0.0:
        return 1, 1
    burn = max(5, math.ceil(math.log(_BURN_IN_TOLERANCE) / math.log(rate)))
    return burn, max(20, burn)


def _limit_batch(
    n_real: int, n_synthetic: int, bias: float, dim: int, estimator: str, repeats: int, seed: int, batch: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-repeat window averages of tr Σ_t^{1/2} and tr Σ_t (shape (R,) each), exact engine."""
    from autophagy.exact import ExactState, exact_step
    from autophagy.loops.policy import FreshConfig

    loop = FreshConfig(n_real=n_real, n_synthetic=n_synthetic)
    burn, window = _schedule(n_real, n_synthetic, bias, dim, estimator)
    state = ExactState()
    mean, factor = np.zeros(dim), np.eye(dim)
    root = np.zeros(repeats)
    trace = np.zeros(repeats)
    for t in range(1, burn + window + 1):
        state, _ = exact_step(
            loop,
            state,
            mean=mean,
            factor=factor,
            draw_stream=lambda role, t=t: stream(seed, t, role, batch=batch),
            bias=bias,
            estimator=estimator,
            repeats=repeats,
        )
        if t > burn:
            eig = np.clip(np.linalg.eigvalsh(state.generators[-1].cov), 0.0, None)
            root += np.sqrt(eig).sum(axis=1)
            trace += eig.sum(axis=1)
    return root / window, trace / window


def _window_moments(n_real: int, n_synthetic: int, bias: float, dim: int, estimator: str) -> tuple[float, float]:
    """Exact window averages of E‖μ_t - μ‖² and E tr Σ_t (same schedule as the simulation)."""
    a, b = fresh_map(n_real, n_synthetic, trace=float(dim), bias=bias, estimator=estimator)
    burn, window = _schedule(n_real, n_synthetic, bias, dim, estimator)
    delta = _ddof(estimator)
    x = np.array([dim / n_real, dim * (n_real - 1) / (n_real - delta)])  # generation 1: real only
    total = np.zeros(2)
    for t in range(2, burn + window + 1):
        x = a @ x + b
        if t > burn:
            total += x
    if burn + window == 1:
        total = x
    return float(total[0] / window), float(total[1] / window)


@dataclass
class _LimitSampler:
    """Accumulates repeats of the limit distance for one (n_r, n_s, λ) cell."""

    n_real: int
    n_synthetic: int
    bias: float
    dim: int
    estimator: str
    seed: int
    root: list[np.ndarray] = field(default_factory=list)
    trace: list[np.ndarray] = field(default_factory=list)

    @property
    def repeats(self) -> int:
        return sum(len(r) for r in self.root)

    def add(self, repeats: int) -> None:
        r, t = _limit_batch(
            self.n_real, self.n_synthetic, self.bias, self.dim, self.estimator, repeats, self.seed, len(self.root)
        )
        self.root.append(r)
        self.trace.append(t)

    def distance(self) -> Estimate:
        mean_sq, cov_trace = _window_moments(self.n_real, self.n_synthetic, self.bias, self.dim, self.estimator)
        y, x = np.concatenate(self.root), np.concatenate(self.trace) - cov_trace
        if self.n_synthetic == 0 or len(y) < 4:
            root, se = float(y.mean()), float(y.std(ddof=1) / math.sqrt(len(y))) if len(y) > 1 else math.inf
        else:
            root, se = _control_variate(y, x)
        return Estimate(mean_sq + self.dim + cov_trace - 2.0 * root, 2.0 * se)


def limit_distance(
    n_real: int,
    n_synthetic: int,
    bias: float,
    dim: int,
    *,
    estimator: str = "unbiased",
    repeats: int = 256,
    seed: int = 0,
) -> Estimate:
    """D_∞ = lim_t E W₂²(N(μ_t, Σ_t), N(0, I_d)) of the fresh-data loop (module docstring)."""
    _check_inputs(n_real, n_synthetic, bias, dim, estimator)
    check(isinstance(repeats, (int, np.integer)) and repeats >= 2, "repeats", "an int >= 2", repeats)
    _check_seed(seed)
    sampler = _LimitSampler(n_real, n_synthetic, bias, dim, estimator, seed)
    sampler.add(repeats)
    return sampler.distance()


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


def _check_inputs(n_real: int, n_synthetic: int, bias: float, dim: int, estimator: str) -> None:
    _check_dim(dim)
    check(isinstance(n_real, (int, np.integer)) and not isinstance(n_real, bool) and n_real > dim, "n_real",
          f"an int > dim = {dim} (a full-covariance fit needs dim + 1 real samples)", n_real)
    check(isinstance(n_synthetic, (int, np.integer)) and not isinstance(n_synthetic, bool) and n_synthetic >= 0,
          "n_synthetic", "an int >= 0", n_synthetic)
    check(isinstance(bias, (int, float)) and 0.0 < bias <= 1.0, "bias", "in (0, 1]", bias)
    _ddof(estimator)


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


# -- the phase diagram --------------------------------------------------------------------------
@dataclass(frozen=True)
class PhaseDiagram:
    """n_e/n_r over a grid of (λ, n_s) (MAD figures 11-12).

    Attributes:
        n_real, dim: the fixed settings.
        n_synthetic: shape (S,).
        biases: shape (L,).
        ratio: n_e/n_r, shape (L, S).
        stderr: its standard error, shape (L, S).
        repeats: repeats used per cell, shape (L, S).
    """

    n_real: int
    dim: int
    n_synthetic: np.ndarray
    biases: np.ndarray
    ratio: np.ndarray
    stderr: np.ndarray
    repeats: np.ndarray


def _cell(args: tuple[int, int, float, int, str, float, int, int]) -> EffectiveSize:
    n_real, n_s, bias, dim, estimator, precision, max_repeats, seed = args
    inverse = _inverse(dim, estimator, seed)
    return _refine(_LimitSampler(n_real, n_s, bias, dim, estimator, seed), inverse, precision, max_repeats)


def phase_diagram(
    n_real: int,
    dim: int,
    n_synthetic: Sequence[int],
    biases: Sequence[float],
    *,
    estimator: str = "unbiased",
    precision: float = 0.01,
    max_repeats: int = 4096,
    seed: int = 0,
    workers: int | None = None,
) -> PhaseDiagram:
    """:func:`effective_sample_size` on every (λ, n_s) of a grid, spread over worker processes.

    Every cell uses the same seed (common random numbers across cells: neighbouring cells share
    their noise, so the admissible boundary is not blurred by independent errors).

    Args:
        workers: processes (default: all cores; 1 runs in this process).
    """
    _check_dim(dim)
    _check_budget(precision, max_repeats)
    _check_seed(seed)
    for bias in biases:
        for n_s in n_synthetic:
            _check_inputs(n_real, int(n_s), float(bias), dim, estimator)
    workers = (os.cpu_count() or 1) if workers is None else workers
    check(isinstance(workers, int) and workers >= 1, "workers", "an int >= 1", workers)
    tasks = [(n_real, int(n_s), float(b), dim, estimator, precision, max_repeats, seed) for b in biases for n_s in n_synthetic]
    # big cells first, so the pool does not end waiting on one slow cell
    order = sorted(range(len(tasks)), key=lambda i: -tasks[i][1] * tasks[i][2])
    if workers == 1:
        results = {i: _cell(tasks[i]) for i in order}
    else:
        import multiprocessing

        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = dict(zip(order, pool.map(_cell, [tasks[i] for i in order]), strict=True))
    shape = (len(biases), len(n_synthetic))
    ratio = np.array([results[i].ratio for i in range(len(tasks))]).reshape(shape)
    stderr = np.array([results[i].ratio_stderr for i in range(len(tasks))]).reshape(shape)
    repeats = np.array([results[i].repeats for i in range(len(tasks))]).reshape(shape)
    return PhaseDiagram(n_real, dim, np.asarray(n_synthetic), np.asarray(biases, dtype=float), ratio, stderr, repeats)
