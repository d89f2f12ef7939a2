"""Gaussian lineages in a polluted web: the pool's and every lineage's expected moments.

Setting (the ``web:`` of :mod:`autophagy.loops.web`, FIFO eviction, uniform draws): the truth is
N(μ, Σ) in d dimensions, τ = tr Σ. A pool keeps N items. Generation t: h human items arrive, so
the pool every lineage draws from holds M = N + h items; each of L lineages draws n items
uniformly without replacement, fits μ_ℓt = x̄ and Σ_ℓt = S / (n - δ) (δ = 0 ``mle``, 1
``unbiased``) and publishes m samples of N(μ_ℓt, λ Σ_ℓt), lineage by lineage; FIFO keeps the
newest N items. The arrivals a = h + L m are the same every generation, so how many items of a
block of age α the draw pool holds is fixed: R_S(α) = clip(N - (α-1) a, 0, L m) of a synthetic
block published α generations ago, R_H(α) = clip(N - (α-1) a - L m, 0, h) of a human one
(R_H(0) = h). p = h / (h + L m) is the human share of the arrivals: the stationary human share
of the pool when N is a multiple of a, its large-N limit otherwise.

**Innovations.** Write e = x - μ for every item and Z_t = Σ_{pool_t} e for the draw pool's sum.
A lineage's mean error splits as e_ℓt = μ_ℓt - μ = Z_t / M + η_ℓt, where η_ℓt (the draw's
deviation from the pool mean) has zero mean given the pool, and a published item is
e = e_ℓt + ν with ν ~ N(0, λ Σ_ℓt) fresh. The human items' errors, the η_ℓt and the ν are
mutually uncorrelated (a draw's weights are independent of the values and centred), with::

    E‖e_human‖² = τ,   E‖η_ℓt‖² = (M - n) / (n M) · w_t,   E‖ν‖² = λ s_t,   s_t = E tr Σ_ℓt,

where w_t = E Σ_{pool_t} ‖e_i - ē‖² / (M - 1) is the pool's spread (finite-population sampling).
Every item's error, and so Z_t, is a fixed linear combination of these innovations: the part of
generation k's publications still in the pool adds (R_S(t-k)/M) Z_k plus its innovations, so an
innovation whose items sit in the pool with counts d(α) at ages α weighs ω = ψ * d in Z_t, ψ the
impulse response of Z_t = Σ_α (R_S(α)/M) Z_{t-α} + ... (:mod:`._web_sums`). The correlations
that "independent draws from the pool's law" would miss are all in ω: the items one model
publishes share its mean error (η, with the count of that lineage's items in the pool), two
lineages that draw the same items are correlated (both see Z_t / M), items stay several
generations, and every model's mean error feeds the later pools.

**Moments** (exact: second moments only, any d and Σ; from a pool of N human items; g_H and g_S
sum ω(α)² over one block's innovations, per unit τ and per unit w)::

    Q_t = E‖Z_t‖² = τ Γ₀(t) + τ Σ_{b ≤ t} g_H(t - b) + Σ_{b < t} w_b g_S(t - b)
    V_t = Σ_{pool_t} E‖e_i‖² = τ · #human_t + Σ_{b < t} R_S(t - b) (Q_b / M² + κ w_b)
    w_t = (V_t - Q_t / M) / (M - 1),       κ = (M - n)/(n M) + λ (n - 1)/(n - δ)
    E‖μ_ℓt - μ‖² = Q_t / M² + (M - n)/(n M) · w_t,    s_t = (n - 1)/(n - δ) · w_t,
    E[(μ_ℓt - μ)·(μ_ℓ't - μ)] = Q_t / M²   (two lineages ℓ ≠ ℓ'),

Γ₀ for the initial pool's items. **Fixed point** (:func:`web_fixed_point`): stationary,
Q = τ Γ_H + w Γ_S (Γ = Σ_α g(α)) and V = τ N_H + N_S (Q / M² + κ w) with N_H, N_S the draw
pool's human and synthetic items, so::

    w = N_H τ (1 - Γ_H / M²) / (M - 1 - N_S κ + N_H Γ_S / M²).

For a large pool the Γ / M² terms vanish (the pool mean averages many models) and
w → p' τ / (1 - (1 - p') κ), p' = N_H / M. MAD's fresh-data limit
(:func:`~autophagy.theory.gaussian.fresh_limit`) is the one-lineage case: L = 1, N = m = n_s,
h = n_r and n = n_r + n_s (the lineage trains on the whole pool, η = 0).

**W₂** (an approximation; isotropic truth Σ = σ² I): E W₂²(N(μ_ℓ, λ Σ_ℓ), N(μ, Σ)) =
E‖μ_ℓ - μ‖² + τ + λ s - 2 σ √λ E tr Σ_ℓ^{1/2}, with Σ_ℓ taken as (s/d) W_k / k,
W_k ~ Wishart_d(k, I), k matched to E‖Σ_ℓ - E Σ_ℓ‖²_F = (1 + 1/d) s² / k (k = n - 1 for a
Gaussian draw). That fluctuation is the draw's, c² (1 + 1/d) w² (M - n)/((n - 1)(M - 1)),
c = (n - 1)/(n - δ), plus c² times the pool covariance's own, found as Q_t is with the kernel
λ c R_S(α)/(M - 1), innovations xxᵀ - Σ of human items ((1 + 1/d) τ²), ννᵀ - λΣ_ℓ of published
ones (λ² (1 + 1/d) s²), e νᵀ + ν eᵀ (2 (1 + 1/d) λ G s), a lineage's e eᵀ ((1 + 1/d) G²) and the
draws' fluctuations (weight λ per item in the pool), all with Gaussian fourth moments. The pool
is a mixture of many Gaussians, whose excess kurtosis this neglects: against simulation the
fluctuation of Σ_ℓ comes out up to ~10 % low, and E W₂² 1-4 % low for p >= 0.25 and up to ~8 %
low at p = 0.1, when most of the pool is synthetic (tests/theory/test_web_theory.py,
tests/web/test_web_fixed_point.py). E tr W_k^{1/2} is Monte Carlo
(:mod:`~autophagy.theory.wasserstein`; its standard error is carried).

A schedule of h_t (:func:`web_moments` with a sequence) keeps these equations with M_t = N + h_t
and a feedback that depends on the generation (:mod:`._web_schedule`). Not covered: uniform or
no eviction, provenance-weighted draws, mitigation.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from autophagy._validation import check
from autophagy.theory._web_schedule import schedule_moments
from autophagy.theory._web_sums import (
    MAX_LENGTH,
    Geometry,
    impulse,
    scaled,
    squared_weights,
    stationary_length,
)
from autophagy.theory.wasserstein import _CommonDraws


@dataclass(frozen=True)
class WebFixedPoint:
    """The stationary web of Gaussian lineages (module docstring).

    Attributes:
        human_share: p, the human share of each generation's arrivals.
        pool_human_share: the stationary human share of the pool after eviction.
        pool_spread: w, E Σ_i ‖x_i - x̄‖² / (M - 1) over the draw pool (M = N + h items).
        pool_cov_trace: E tr of the kept pool's sample covariance (N items, ddof 1).
        pool_mean_sq_error: E‖x̄_pool - μ‖² of the kept pool.
        cov_trace: E tr Σ_ℓ, a lineage's fitted covariance (its samples have λ times this).
        mean_sq_error: E‖μ_ℓ - μ‖².
        lineage_cross: E[(μ_ℓ - μ)·(μ_ℓ' - μ)] for two lineages ℓ ≠ ℓ' (their shared error).
        w2: E W₂²(N(μ_ℓ, λ Σ_ℓ), N(μ, Σ)) (isotropic Σ; the approximation of the module docstring).
        w2_stderr: its Monte-Carlo standard error.
        bias: λ.
    """

    human_share: float
    pool_human_share: float
    pool_spread: float
    pool_cov_trace: float
    pool_mean_sq_error: float
    cov_trace: float
    mean_sq_error: float
    lineage_cross: float
    w2: float
    w2_stderr: float
    bias: float


@dataclass(frozen=True)
class WebCurve:
    """Expected moments per generation from a pool of human items (module docstring).

    Attributes:
        generations: 1..T, shape (T,).
        mean_sq_error: E‖μ_ℓt - μ‖², shape (T,).
        cov_trace: E tr Σ_ℓt (fitted; samples have λ times this), shape (T,).
        pool_human_share: the pool's human share after generation t's eviction, shape (T,).
        pool_spread: w_t, shape (T,).
        w2: E W₂²(N(μ_ℓt, λ Σ_ℓt), N(μ, Σ)), shape (T,) (the module docstring's approximation;
            NaN without ``dim``).
        w2_stderr: its Monte-Carlo standard error, shape (T,).
        bias: λ.
    """

    generations: np.ndarray
    mean_sq_error: np.ndarray
    cov_trace: np.ndarray
    pool_human_share: np.ndarray
    pool_spread: np.ndarray
    w2: np.ndarray
    w2_stderr: np.ndarray
    bias: float


def _check(n_train: int, publish: int, pool_size: int, lineages: int, trace: float, bias: float, estimator: str) -> int:
    for key, value, low in (("n_train", n_train, 2), ("publish", publish, 0), ("pool_size", pool_size, 1), ("lineages", lineages, 1)):
        check(isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low, key, f"an int >= {low}", value)
    check(isinstance(trace, (int, float)) and math.isfinite(trace) and trace > 0, "trace", "a finite number > 0 (tr Σ)", trace)
    check(isinstance(bias, (int, float)) and 0.0 < bias <= 1.0, "bias", "in (0, 1]", bias)
    check(estimator in ("mle", "unbiased"), "estimator", "one of 'mle', 'unbiased'", estimator)
    return 0 if estimator == "mle" else 1


def _check_dim(dim: int | None, n: int) -> None:
    if dim is not None:
        check(isinstance(dim, (int, np.integer)) and not isinstance(dim, bool) and 1 <= dim < n, "dim", f"an int in [1, n_train = {n})", dim)


def _geometry(lineages: int, publish: int, human: float, pool_size: int, n_train: int) -> Geometry:
    geo = Geometry(int(lineages), int(publish), float(human), int(pool_size))
    check(geo.arrivals > 0, "human_per_generation", "> 0 when no lineage publishes (the pool must turn over)", human)
    check(n_train <= geo.draw_size, "n_train", f"<= pool_size + human_per_generation = {geo.draw_size:g} (a lineage draws without replacement)", n_train)
    return geo


@dataclass(frozen=True)
class _Weights:
    """The squared-weight sums of one web (module docstring), per age α = 0..length-1."""

    g_human: np.ndarray  # Q: per unit τ
    g_synthetic: np.ndarray  # Q: per unit w
    f_human: np.ndarray  # pool covariance fluctuation: per unit (1 + 1/d) τ²
    f_synthetic: np.ndarray  # per unit (1 + 1/d) c² w²
    f_mean: np.ndarray  # per unit (1 + 1/d) G²: a lineage's e eᵀ
    f_cross: np.ndarray  # per unit 2 (1 + 1/d) λ G s: an item's e νᵀ + ν eᵀ
    psi: np.ndarray
    psi_cov: np.ndarray


def _weights(geo: Geometry, n: int, ddof: int, bias: float, length: int) -> _Weights:
    big_m, c = geo.draw_size, (n - 1) / (n - ddof)
    eta = (big_m - n) / (n * big_m)
    psi = impulse(geo.kernel(1.0 / big_m), length)
    psi_cov = impulse(geo.kernel(bias * c / (big_m - 1.0)), length)
    human, items = geo.human_profiles(), geo.item_profiles()
    g_s = scaled(items, bias * c) + scaled(geo.lineage_profiles(1.0), eta)
    draw = (big_m - n) / ((n - 1) * (big_m - 1))
    f_s = scaled(items, bias**2) + scaled(geo.lineage_profiles(bias), draw)
    return _Weights(
        squared_weights(psi, human, length), squared_weights(psi, g_s, length),
        squared_weights(psi_cov, human, length), squared_weights(psi_cov, f_s, length),
        squared_weights(psi_cov, geo.lineage_profiles(1.0), length), squared_weights(psi_cov, items, length),
        psi, psi_cov,
    )


def _cov_variance(fluct: np.ndarray, spread: np.ndarray, *, n: int, ddof: int, dim: int, big_m: float | np.ndarray) -> np.ndarray:
    """E‖Σ_ℓ - E Σ_ℓ‖²_F from the fluctuation E‖ΔA‖² of the pool's scatter about μ (module
    docstring); centring on the pool mean leaves M - 1 of its M items' worth, hence M (M - 1),
    which makes a pool of i.i.d. Gaussian items give the Wishart value exactly."""
    c = (n - 1) / (n - ddof)
    return c**2 * (fluct / (big_m * (big_m - 1.0)) + (1 + 1 / dim) * spread**2 * (big_m - n) / ((n - 1) * (big_m - 1)))


def web_moments(
    generations: int, human_per_generation: float | Sequence[float], n_train: int, publish: int, pool_size: int, *,
    lineages: int, trace: float, bias: float = 1.0, estimator: str = "unbiased", dim: int | None = None,
) -> WebCurve:
    """Expected moments of generations 1..T of a web that starts from ``pool_size`` human items
    and gets ``human_per_generation`` human items every generation, or h_t at generation t
    when it is a sequence of T numbers (a schedule; :mod:`._web_schedule`) (module docstring).

    Examples:
        >>> c = web_moments(3, 10, 20, 10, 100, lineages=2, trace=1.0)
        >>> round(float(c.mean_sq_error[0]), 6), round(float(c.cov_trace[0]), 6)  # all human: τ/n, τ
        (0.05, 1.0)
    """
    ddof = _check(n_train, publish, pool_size, lineages, trace, bias, estimator)
    _check_dim(dim, n_train)
    check(isinstance(generations, (int, np.integer)) and generations >= 1, "generations", "an int >= 1", generations)
    if not isinstance(human_per_generation, (int, float)):
        return _scheduled(generations, human_per_generation, n_train, publish, pool_size, lineages=lineages, trace=trace,
                          bias=bias, ddof=ddof, dim=dim)
    check(human_per_generation >= 0, "human_per_generation", "a number >= 0", human_per_generation)
    geo = _geometry(lineages, publish, human_per_generation, pool_size, n_train)
    tau, big_m, n = float(trace), geo.draw_size, int(n_train)
    w = _weights(geo, n, ddof, bias, generations + 1)
    initial = geo.initial_profiles(generations)
    gamma0 = squared_weights(w.psi, initial, generations + 1)
    t_all = np.arange(1, generations + 1)
    human_count = geo.initial_kept(t_all) + np.cumsum(geo.human_kept(np.arange(generations)))
    kept = geo.synthetic_kept(t_all)
    kappa = (big_m - n) / (n * big_m) + bias * (n - 1) / (n - ddof)
    q, spread = np.zeros(generations), np.zeros(generations)
    for i in range(generations):  # generation t = i + 1; earlier generations b = 1..t-1 at lags t - b
        lag = i - np.arange(i)
        q[i] = tau * (gamma0[i + 1] + w.g_human[: i + 1].sum()) + float(np.dot(spread[:i], w.g_synthetic[lag]))
        v = tau * human_count[i] + float(np.dot(kept[lag - 1], q[:i] / big_m**2 + kappa * spread[:i]))
        spread[i] = (v - q[i] / big_m) / (big_m - 1.0)
    mean_sq = q / big_m**2 + (big_m - n) / (n * big_m) * spread
    cov = (n - 1) / (n - ddof) * spread
    after = (geo.initial_kept(t_all + 1) + np.cumsum(geo.human_kept(t_all))) / pool_size
    w2 = se = np.full(generations, np.nan)
    if dim is not None:
        c2 = ((n - 1) / (n - ddof)) ** 2
        f0 = squared_weights(w.psi_cov, initial, generations + 1)
        per_model = c2 * spread**2, mean_sq**2, 2.0 * bias * mean_sq * cov
        fluct = np.array([
            tau**2 * (f0[i + 1] + w.f_human[: i + 1].sum())
            + sum(float(np.dot(x[:i], f[i - np.arange(i)])) for x, f in zip(per_model, (w.f_synthetic, w.f_mean, w.f_cross), strict=True))
            for i in range(generations)
        ]) * (1 + 1 / dim)
        var = _cov_variance(fluct, spread, n=n, ddof=ddof, dim=dim, big_m=big_m)
        w2, se = _w2(mean_sq, cov, var, tau=tau, dim=dim, bias=bias)
    return WebCurve(t_all, mean_sq, cov, after, spread, w2, se, float(bias))


def _scheduled(
    generations: int, humans: Sequence[float], n_train: int, publish: int, pool_size: int, *,
    lineages: int, trace: float, bias: float, ddof: int, dim: int | None,
) -> WebCurve:
    h = np.asarray(humans, dtype=float)
    check(h.shape == (generations,) and bool(np.all(h >= 0)), "human_per_generation", f"a number >= 0 or {generations} of them (one per generation)", humans)
    for value in (h.min(), h.max()):
        _geometry(lineages, publish, float(value), pool_size, n_train)
    mean_sq, spread, share, fluct = schedule_moments(h, int(n_train), int(publish), int(pool_size), int(lineages), tau=float(trace),
                                                     bias=bias, ddof=ddof, dim=dim)
    n = int(n_train)
    cov = (n - 1) / (n - ddof) * spread
    w2 = se = np.full(generations, np.nan)
    if dim is not None and fluct is not None:
        var = _cov_variance(fluct, spread, n=n, ddof=ddof, dim=dim, big_m=pool_size + h)
        w2, se = _w2(mean_sq, cov, var, tau=float(trace), dim=dim, bias=bias)
    return WebCurve(np.arange(1, generations + 1), mean_sq, cov, share, spread, w2, se, float(bias))


def _w2(mean_sq: np.ndarray, cov: np.ndarray, var: np.ndarray, *, tau: float, dim: int, bias: float,
        draws: int = 8192, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """E W₂² and its standard error: Σ_ℓ as (s/d) W_k/k with k = (1 + 1/d) s² / ``var``."""
    with np.errstate(divide="ignore"):
        k = np.maximum((1 + 1 / dim) * cov**2 / var, float(dim))
    mc = _CommonDraws(int(dim), int(draws), int(seed))
    unique = np.unique(np.round(k, 9))
    if len(unique) <= 12:
        grid = unique
    else:  # E tr (W_k/k)^{1/2} is smooth in 1/k: a cubic spline through 12 exact points
        grid = np.sort(1.0 / np.linspace(1.0 / unique.max(), 1.0 / unique.min(), 12))
    roots = [mc.root_trace(float(kk) + 1.0, 1) for kk in grid]  # E tr (W_k / k)^{1/2}
    values, errors = np.array([r.value for r in roots]), np.array([r.stderr for r in roots])
    if len(grid) > 3:
        from scipy.interpolate import CubicSpline

        value, stderr = CubicSpline(1.0 / grid[::-1], values[::-1])(1.0 / k), np.interp(k, grid, errors)
    else:
        value, stderr = np.interp(k, grid, values), np.interp(k, grid, errors)
    scale = 2.0 * np.sqrt(bias * tau * cov) / dim
    return mean_sq + tau + bias * cov - scale * value, scale * stderr


def web_fixed_point(
    p: float, n_train: int, publish: int, pool_size: int, *,
    lineages: int, trace: float, dim: int, bias: float = 1.0, estimator: str = "unbiased",
    draws: int = 8192, seed: int = 0,
) -> WebFixedPoint:
    """The stationary moments of a web of Gaussian lineages whose arrivals are a share ``p``
    human (h = p L m / (1 - p) human items per generation; module docstring). Where the
    synthetic feedback outgrows the human arrivals (roughly (1 - p) κ >= 1: little human data,
    ``unbiased`` fits at λ near 1) there is no stationary state: the pool's spread and every
    error grow without bound, and they are returned as inf.

    Args:
        p: human share of the arrivals, in (0, 1]; 1: every lineage draws n fresh human items.
        n_train: items each lineage draws (n, > dim).
        publish: items each lineage publishes (m >= 1 for p < 1).
        pool_size: N, the items the pool keeps.
        lineages: L.
        trace: tr Σ of the truth.
        dim: d (for W₂; the truth taken as (trace/d) I there).
        bias: λ in (0, 1].
        estimator: ``mle`` or ``unbiased``.
        draws, seed: the Monte-Carlo draws of E tr W^{1/2} (W₂ only).

    Returns:
        The :class:`WebFixedPoint`.

    Examples:
        >>> f = web_fixed_point(0.5, 50, 50, 1000, lineages=10, trace=2.0, dim=2)
        >>> round(f.cov_trace, 4), round(f.mean_sq_error, 4), f.pool_human_share
        (2.0192, 0.0414, 0.5)
    """
    ddof = _check(n_train, publish, pool_size, lineages, trace, bias, estimator)
    _check_dim(dim, n_train)
    check(isinstance(p, (int, float)) and 0.0 < p <= 1.0, "p", "a human share in (0, 1]", p)
    check(p == 1.0 or publish >= 1, "publish", "an int >= 1 when p < 1 (the synthetic items come from the lineages)", publish)
    tau, n, c = float(trace), int(n_train), (n_train - 1) / (n_train - ddof)
    if p == 1.0:  # h → ∞: every draw is n fresh human items
        spread, q_over, pool_share, pool_cov, pool_mse = tau, 0.0, 1.0, tau, 0.0
        mean_sq, var = tau / n, c**2 * (1 + 1 / dim) * tau**2 / (n - 1)
    else:
        geo = _geometry(lineages, publish, p * lineages * publish / (1.0 - p), pool_size, n_train)
        length = max(stationary_length(geo.kernel(1.0 / geo.draw_size)), stationary_length(geo.kernel(bias * c / (geo.draw_size - 1.0))))
        check(length <= MAX_LENGTH, "p", f"large enough for the pool to forget its past within {MAX_LENGTH} generations", p)
        w = _weights(geo, n, ddof, bias, length)
        big_m, (n_h, n_s) = geo.draw_size, geo.counts()
        kappa = (big_m - n) / (n * big_m) + bias * c
        gamma_h, gamma_s = float(w.g_human.sum()), float(w.g_synthetic.sum())
        denominator = big_m - 1.0 - n_s * kappa + n_h * gamma_s / big_m**2
        if denominator <= 0.0:  # the synthetic feedback outgrows the human arrivals: no stationary state
            return _unbounded(p, (n_h - geo.human) / pool_size, bias)
        spread = n_h * tau * (1.0 - gamma_h / big_m**2) / denominator
        q = tau * gamma_h + spread * gamma_s
        q_over = q / big_m**2
        mean_sq = q_over + (big_m - n) / (n * big_m) * spread
        v = n_h * tau + n_s * (q_over + kappa * spread)
        v_kept, q_kept = v - geo.human * tau, q - geo.human * tau  # the newest arrivals are uncorrelated with the kept pool
        pool_cov = (v_kept - q_kept / pool_size) / (pool_size - 1) if pool_size > 1 else 0.0
        pool_mse, pool_share = q_kept / pool_size**2, (n_h - geo.human) / pool_size
        fluct = (1 + 1 / dim) * (tau**2 * float(w.f_human.sum()) + c**2 * spread**2 * float(w.f_synthetic.sum())
                                 + mean_sq**2 * float(w.f_mean.sum()) + 2.0 * bias * mean_sq * c * spread * float(w.f_cross.sum()))
        var = float(_cov_variance(np.array([fluct]), np.array([spread]), n=n, ddof=ddof, dim=dim, big_m=big_m)[0])
    cov = c * spread
    w2, se = _w2(np.array([mean_sq]), np.array([cov]), np.array([var]), tau=tau, dim=dim, bias=bias, draws=draws, seed=seed)
    return WebFixedPoint(float(p), float(pool_share), float(spread), float(pool_cov), float(pool_mse), float(cov),
                         float(mean_sq), float(q_over), float(w2[0]), float(se[0]), float(bias))


def _unbounded(p: float, pool_share: float, bias: float) -> WebFixedPoint:
    inf = math.inf
    return WebFixedPoint(float(p), float(pool_share), inf, inf, inf, inf, inf, inf, inf, 0.0, float(bias))


@dataclass(frozen=True)
class HumanShare:
    """The answer of :func:`human_share_for`.

    Attributes:
        share: the smallest p (to ``tol``) with E W₂² <= ε.
        table: (p, E W₂², its standard error) on the grid, in order of p.
        floor: E W₂² at p = 1 (lineages that draw only human data): no share does better.
    """

    share: float
    table: list[tuple[float, float, float]]
    floor: float


def human_share_for(
    epsilon: float, n_train: int, publish: int, pool_size: int, *, lineages: int, dim: int,
    trace: float | None = None, bias: float = 1.0, estimator: str = "unbiased", grid: int = 10, tol: float = 1e-3,
) -> HumanShare:
    """The smallest human share p of the arrivals whose stationary E W₂² is <= ``epsilon``.

    A grid p = 1/grid, ..., 1 finds the first share that keeps the error below ε and bisection
    between it and the one below refines it to ``tol`` (the error falls as p grows; every p
    uses the same Monte-Carlo draws, so the curve is smooth in p). Shares below ``tol`` are not
    tried: there the pool forgets its start too slowly.
    """
    tau = float(dim) if trace is None else float(trace)
    check(isinstance(epsilon, (int, float)) and math.isfinite(epsilon) and epsilon > 0, "epsilon", "a finite number > 0", epsilon)
    check(isinstance(grid, int) and grid >= 2, "grid", "an int >= 2", grid)

    def error(p: float) -> float:
        return web_fixed_point(p, n_train, publish, pool_size, lineages=lineages, trace=tau, dim=dim, bias=bias, estimator=estimator).w2

    shares = np.arange(1, grid + 1) / grid
    points = [web_fixed_point(float(p), n_train, publish, pool_size, lineages=lineages, trace=tau, dim=dim, bias=bias, estimator=estimator) for p in shares]
    table = [(float(p), f.w2, f.w2_stderr) for p, f in zip(shares, points, strict=True)]
    floor = points[-1].w2
    check(epsilon >= floor, "epsilon", f">= {floor:.6g}, the error of lineages that draw only human data (p = 1)", epsilon)
    first = next(i for i, f in enumerate(points) if f.w2 <= epsilon)
    lo, hi = (float(shares[first - 1]) if first else tol), float(shares[first])
    if not first and error(lo) <= epsilon:
        return HumanShare(lo, table, floor)
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if error(mid) <= epsilon else (mid, hi)
    return HumanShare(hi, table, floor)
