"""Expected W₂² distance to the real distribution, by Monte Carlo: one real fit and the loop's limit.

P_r = N(0, I_d). For a Gaussian fitted to n real samples of P_r, :func:`expected_distance` gives
E W₂²(N(x̄, Σ̂), P_r). For the fresh-data loop of MAD §5 (generation t trains on n_r fresh real
samples plus n_s samples drawn with bias λ from G^{t-1}; it converges to a limit,
:func:`~autophagy.theory.gaussian.fresh_limit`), :func:`limit_distance` gives

    D_∞(n_r, n_s, λ) = lim_t E W₂²(N(μ_t, Σ_t), P_r).

The two meet in the effective sample size, expected_distance(n_e) = D_∞
(:mod:`autophagy.theory.effective_size`).

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
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from autophagy._rng import stream
from autophagy._validation import check
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


def _check_inputs(n_real: int, n_synthetic: int, bias: float, dim: int, estimator: str) -> None:
    _check_dim(dim)
    check(isinstance(n_real, (int, np.integer)) and not isinstance(n_real, bool) and n_real > dim, "n_real",
          f"an int > dim = {dim} (a full-covariance fit needs dim + 1 real samples)", n_real)
    check(isinstance(n_synthetic, (int, np.integer)) and not isinstance(n_synthetic, bool) and n_synthetic >= 0,
          "n_synthetic", "an int >= 0", n_synthetic)
    check(isinstance(bias, (int, float)) and 0.0 < bias <= 1.0, "bias", "in (0, 1]", bias)
    _ddof(estimator)



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
            draw_stream=functools.partial(_stream_of, seed, t, batch),
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


def _stream_of(seed: int, generation: int, batch: int | None, role: str) -> np.random.Generator:
    """Generation ``generation``'s stream for ``role`` (batch ``batch``) of the run seed ``seed``."""
    return stream(seed, generation, role, batch=batch)
