"""Linear-regression loops on sufficient statistics, batched over repeats.

A group of n regression rows [x, y] (x ~ N(0, Σ), no intercept) enters a ridge fit only
through its size, its Gram matrix G = XᵀX and its moment b = Xᵀy, and for rows labelled by
coefficients w with label noise s (y = Xw + sε) those have closed-form laws::

    G ~ Wishart_d(n, Σ)   (no centring: the inputs have mean 0 and the fit no intercept),
    b | G ~ N(G w, s² G),   i.e.   b = G w + s M z,   M Mᵀ = G,   z ~ N(0, I).

A group is kept as a factor M of G (d × k, k = min(n, d)) and the projection u = Mᵀw + s z of its
labels, so that G = M Mᵀ and b = M u; with Σ = F Fᵀ (F = Cholesky) Bartlett's decomposition
(:func:`.stats.wishart_factor`) gives M = F A, lower triangular, for n >= d, and M = Xᵀ itself
for n < d. Groups merge by adding G and b (or, while the union has fewer rows than d, by
concatenating factors and projections, which the minimum-norm fit needs). The fit is then
exact::

    ŵ = (G + nαI)⁻¹ b                  (α > 0, or α = 0 with n >= d: ŵ = M⁻ᵀu for one group),
    ŵ = G⁺ b = (Mᵀ)⁺ u = X⁺ y          (α = 0, n < d: the minimum-norm least-squares solution),

which is :func:`autophagy.regression.ridge.ridge_solve`'s convention (XᵀX + nαI)w = Xᵀy.
Real groups are labelled by w0 with noise σ0, synthetic groups from generator k by ŵ_k with
noise √λ·σ. Every function works on a leading axis R, one slice per repeat; a generation costs
O(d³) per repeat (a batched triangular solve or inverse) whatever n is.

Not exact, so not here: ``accumulate_subsample`` (a random subset of a pool depends on more
than the pool's statistics).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from autophagy.exact.compose import compose
from autophagy.exact.stats import _bartlett, _outer, wishart_factor
from autophagy.loops.policy import FIXED, LoopConfig

if TYPE_CHECKING:
    from autophagy.regression.linear_data import LinearTruth

Draw = Callable[[str], np.random.Generator]

#: Diagonal blocks up to this size are solved or inverted by a batched LU; larger triangles are
#: split in two (recursive blocking puts the O(d³) work in batched matrix products).
_BLOCK = 32


class LinearStats:
    """Sufficient statistics of one group of regression rows, for R repeats at once.

    Attributes:
        n: number of rows (the same in every repeat).
        factor: M with M Mᵀ = G, shape (R, d, k), or None once groups were merged into G.
        proj: u with M u = b, shape (R, k) (None with ``factor``).
        triangular: whether ``factor`` is square and lower triangular (a Bartlett draw).
        gram: G = XᵀX, shape (R, d, d); formed from ``factor`` on first use.
        xty: b = Xᵀy, shape (R, d); formed from ``factor`` and ``proj`` on first use.
    """

    def __init__(
        self,
        n: int,
        *,
        factor: np.ndarray | None = None,
        proj: np.ndarray | None = None,
        gram: np.ndarray | None = None,
        xty: np.ndarray | None = None,
        triangular: bool = False,
    ) -> None:
        if (factor is None or proj is None) and (gram is None or xty is None):
            raise ValueError("LinearStats needs a factor and a projection, or a Gram matrix and Xᵀy")
        self.n, self.factor, self.proj, self.triangular = n, factor, proj, triangular
        self._gram, self._xty = gram, xty

    @property
    def dim(self) -> int:
        held = self.factor if self.factor is not None else self._gram
        return int(held.shape[1])  # type: ignore[union-attr]

    @property
    def gram(self) -> np.ndarray:
        if self._gram is None:
            self._gram = _outer(self.factor)  # type: ignore[arg-type]
        return self._gram

    @property
    def xty(self) -> np.ndarray:
        if self._xty is None:
            self._xty = (self.factor @ self.proj[..., None])[..., 0]  # type: ignore[index, operator]
        return self._xty


@dataclass(frozen=True)
class FittedLinear:
    """The labellers fitted at one generation: coefficients ``coef`` (R, d), one per repeat."""

    generation: int
    coef: np.ndarray


@dataclass(frozen=True)
class LinearState:
    """What carries over between generations (the regression analogue of ``ExactState``)."""

    generation: int = 0
    fixed: LinearStats | None = None
    pool: LinearStats | None = None
    generators: tuple[FittedLinear, ...] = ()
    pool_counts: tuple[tuple[int, int], ...] = ()


# -- drawing and merging groups -----------------------------------------------------------------
def _is_diagonal(factor: np.ndarray) -> bool:
    return not np.any(factor - np.diag(np.diag(factor)))


def _times_factor(factor: np.ndarray, a: np.ndarray) -> np.ndarray:
    """F @ a for a fresh batch a (R, d, k), overwriting a where F is diagonal (Σ diagonal)."""
    if not _is_diagonal(factor):
        return factor @ a
    scale = np.diag(factor)
    if np.any(scale != 1.0):
        a *= scale[:, None]
    return a


def draw(
    n: int, coef: np.ndarray, noise: float, factor: np.ndarray, rng: np.random.Generator, repeats: int
) -> LinearStats:
    """Statistics of n rows x ~ N(0, F Fᵀ), y = x·coef + noise·ε, without drawing the rows.

    Args:
        n: group size (>= 1).
        coef: the labelling coefficients, shape (d,) (shared) or (R, d).
        noise: s, the standard deviation of the label noise.
        factor: F, lower triangular, shape (d, d).
        rng: the stream to draw from.
        repeats: R.

    Returns:
        The group's :class:`LinearStats`: factor M (Bartlett's F A when n >= d, else Xᵀ),
        projection u = Mᵀ coef + noise·z.
    """
    d = factor.shape[-1]
    if n >= d:
        z = rng.standard_normal((repeats, d + d * (d - 1) // 2))
        m = _times_factor(factor, _bartlett(n, d, z[:, d:], rng))  # (R, d, d), lower triangular
        z = z[:, :d]
    else:
        m = wishart_factor(n, factor, rng, repeats)  # (R, d, n): Xᵀ
        z = rng.standard_normal((repeats, n))
    labels = (coef[:, None, :] @ m)[:, 0] if coef.ndim == 2 else coef @ m  # (R, k): Mᵀ coef
    return LinearStats(n, factor=m, proj=labels + noise * z if noise else labels, triangular=n >= d)


def of_rows(x: np.ndarray, y: np.ndarray) -> LinearStats:
    """Statistics of explicit rows: inputs ``x`` (R, n, d), labels ``y`` (R, n).

    The factor is Xᵀ itself (G = XᵀX, b = Xᵀy), so every fit below equals the fit on the rows:

    >>> rng = np.random.default_rng(0)
    >>> x, y = rng.standard_normal((1, 20, 3)), rng.standard_normal((1, 20))
    >>> bool(np.allclose(fit(of_rows(x, y), 0.0)[0], np.linalg.lstsq(x[0], y[0], rcond=None)[0]))
    True
    """
    return LinearStats(x.shape[1], factor=np.swapaxes(x, 1, 2), proj=y)


def merge(parts: Sequence[LinearStats]) -> LinearStats:
    """Statistics of the union of groups (same repeats, same d): G and b add up."""
    if len(parts) == 1:
        return parts[0]
    n = sum(p.n for p in parts)
    if n < parts[0].dim and all(p.factor is not None for p in parts):
        # rank-deficient union: keep [M_1 | M_2 | ...] and [u_1; u_2; ...] for the minimum-norm fit
        factor = np.concatenate([p.factor for p in parts], axis=-1)  # type: ignore[misc]
        proj = np.concatenate([p.proj for p in parts], axis=-1)  # type: ignore[misc]
        return LinearStats(n, factor=factor, proj=proj)
    gram = sum(p.gram for p in parts)
    xty = sum(p.xty for p in parts)
    return LinearStats(n, gram=gram, xty=xty)  # type: ignore[arg-type]


# -- fitting ------------------------------------------------------------------------------------
def _solve_lower_t(m: np.ndarray, u: np.ndarray) -> np.ndarray:
    """x with Mᵀ x = u for lower-triangular M (R, d, d), u (R, d) (back substitution by blocks)."""
    d = m.shape[-1]
    if d <= _BLOCK:
        return np.linalg.solve(np.swapaxes(m, -1, -2), u[..., None])[..., 0]
    h = d // 2
    # Mᵀ = [[M11ᵀ, M21ᵀ], [0, M22ᵀ]]
    x2 = _solve_lower_t(m[:, h:, h:], u[:, h:])
    x1 = _solve_lower_t(m[:, :h, :h], u[:, :h] - (x2[:, None, :] @ m[:, h:, :h])[:, 0])
    return np.concatenate([x1, x2], axis=-1)


def _lower_inverse(m: np.ndarray) -> np.ndarray:
    """M⁻¹ for lower-triangular M (R, d, d), by blocks.

    [[A, 0], [B, C]]⁻¹ = [[A⁻¹, 0], [-C⁻¹BA⁻¹, C⁻¹]].
    """
    d = m.shape[-1]
    if d <= _BLOCK:
        return np.tril(np.linalg.inv(m))
    h = d // 2
    top, bottom = _lower_inverse(m[:, :h, :h]), _lower_inverse(m[:, h:, h:])
    out = np.zeros_like(m)
    out[:, :h, :h] = top
    out[:, h:, h:] = bottom
    out[:, h:, :h] = -(bottom @ (m[:, h:, :h] @ top))
    return out


def _rank_deficient(stats: LinearStats, alpha: float) -> bool:
    return alpha == 0.0 and stats.n < stats.dim


def _min_norm_operator(stats: LinearStats) -> np.ndarray:
    """(Mᵀ)⁺, shape (R, d, k), with np.linalg.lstsq's cut-off (eps · max(n, d)) on X's spectrum."""
    assert stats.factor is not None, "a rank-deficient group keeps its factor (see merge)"
    cutoff = np.finfo(float).eps * max(stats.n, stats.dim)
    return np.linalg.pinv(np.swapaxes(stats.factor, -1, -2), rtol=cutoff)


def fit(stats: LinearStats, alpha: float, proj: np.ndarray | None = None) -> np.ndarray:
    """Ridge coefficients ŵ (R, d): (G + nαI)⁻¹ b, or G⁺ b (minimum norm) for α = 0 and n < d.

    Args:
        stats: the training set's statistics.
        alpha: α >= 0, the ridge parameter (convention (XᵀX + nαI) w = Xᵀy).
        proj: labels' projection to use instead of ``stats.proj`` (b = M proj); needs a factor.
    """
    u = stats.proj if proj is None else proj
    if _rank_deficient(stats, alpha):
        return (_min_norm_operator(stats) @ u[..., None])[..., 0]  # type: ignore[index]
    if alpha == 0.0 and stats.triangular:  # G⁻¹ b = M⁻ᵀ M⁻¹ M u = M⁻ᵀ u
        return _solve_lower_t(stats.factor, u)  # type: ignore[arg-type]
    b = stats.xty if proj is None else (stats.factor @ proj[..., None])[..., 0]  # type: ignore[operator]
    lhs = stats.gram if alpha == 0.0 else stats.gram + stats.n * alpha * np.eye(stats.dim)
    return np.linalg.solve(lhs, b[..., None])[..., 0]


def fit_operator(stats: LinearStats, alpha: float) -> np.ndarray:
    """P (R, d, k) with ŵ = P u: the fit as a linear map of the labels' projection (needs a factor).

    P = (G + nαI)⁻¹ M, or M⁻ᵀ (α = 0, triangular M), or (Mᵀ)⁺ (α = 0, n < d); P Pᵀ is the
    covariance of ŵ per unit of label noise ((G + nαI)⁻¹ G (G + nαI)⁻¹, G⁻¹ or G⁺).
    """
    assert stats.factor is not None
    if _rank_deficient(stats, alpha):
        return _min_norm_operator(stats)
    if alpha == 0.0 and stats.triangular:
        return np.swapaxes(_lower_inverse(stats.factor), -1, -2)
    lhs = stats.gram if alpha == 0.0 else stats.gram + stats.n * alpha * np.eye(stats.dim)
    return np.linalg.solve(lhs, stats.factor)


# -- one generation -----------------------------------------------------------------------------
def linear_step(
    loop: LoopConfig,
    state: LinearState,
    *,
    factor: np.ndarray,
    w0: np.ndarray,
    noise0: float,
    noise: float,
    alpha: float,
    draw_stream: Draw,
    repeats: int,
) -> tuple[LinearState, dict[str, float]]:
    """Compose D^t as statistics (the loop's plan, as :func:`.step.exact_step`), fit the labeller.

    Args:
        loop: the loop config (its ``plan`` gives the mix).
        state: the state after the previous generation.
        factor: F, the Cholesky factor of the inputs' covariance Σ, shape (d, d).
        w0: the true coefficients, shape (d,).
        noise0: σ0, the label noise of real rows.
        noise: √λ·σ, the label noise of synthetic rows.
        alpha: the labeller's ridge parameter α.
        draw_stream: ``draw_stream(role)`` returns this generation's stream for a role.
        repeats: R.

    Returns:
        The new state (its last generator is G^t) and the provenance rows of D^t.
    """
    t = state.generation + 1
    mix = compose(
        loop,
        state,
        real=lambda n, role: draw(n, w0, noise0, factor, draw_stream(role), repeats),
        synthetic=lambda n, g, rng: draw(n, g.coef, noise, factor, rng, repeats),
        draw_stream=draw_stream,
    )
    fixed, parts, origin, plan = mix.fixed, mix.parts, mix.origin, mix.plan
    train = merge(parts)
    fitted = FittedLinear(t, fit(train, alpha))
    keep = (*state.generators, fitted) if loop.synthetic_from == "all" else (fitted,)
    pool, counts = (train, tuple(origin.items())) if plan.accumulate else (None, ())
    return LinearState(t, fixed, pool, keep, counts), mix.provenance()


# -- the least-squares shortcut ---------------------------------------------------------------------
def least_squares_error(n: int, noise: float, factor: np.ndarray, rng: np.random.Generator, repeats: int) -> np.ndarray:
    """ŵ - w of least squares on n >= d rows x ~ N(0, F Fᵀ), y = x·w + noise·ε, without the rows.

    Given X, ŵ - w = noise (XᵀX)⁻¹Xᵀε ~ N(0, noise² (XᵀX)⁻¹). With XᵀX = F W Fᵀ, W ~ Wishart_d(n, I),
    and W^{-1/2} z rotation invariant with ‖W^{-1/2}z‖² = zᵀW⁻¹z ~ χ²_d / χ²_{n-d+1} (independent;
    Muirhead 1982, Thm 3.2.12), the law is the multivariate t::

        ŵ - w = noise · F⁻ᵀ g / sqrt(χ²_{n-d+1}),   g ~ N(0, I_d)

    so a fit costs d + 1 random numbers and one triangular solve instead of a Wishart draw.

    Returns:
        shape (R, d).
    """
    from scipy.linalg import solve_triangular

    d = factor.shape[0]
    g = rng.standard_normal((repeats, d))
    chi = rng.chisquare(n - d + 1, size=repeats)
    return noise * solve_triangular(factor.T, g.T, lower=False).T / np.sqrt(chi)[:, None]


def least_squares_chain_step(
    loop: LoopConfig,
    state: LinearState,
    *,
    factor: np.ndarray,
    w0: np.ndarray,
    noise0: float,
    noise: float,
    draw_stream: Draw,
    repeats: int,
) -> tuple[LinearState, dict[str, float]]:
    """One generation of the fully synthetic least-squares chain by :func:`least_squares_error`.

    Applies when each generation fits one group of >= d rows (``fully_synthetic``), α = 0 and
    nothing needs the Gram statistics (the engine checks); otherwise use :func:`linear_step`.
    """
    t = state.generation + 1
    plan = loop.plan(t)
    if t == 1:
        n, coef, s, role, code = plan.n_fixed, np.broadcast_to(w0, (repeats, w0.shape[0])), noise0, "real_fixed", FIXED
    else:
        n, coef, s, role, code = plan.n_synthetic, state.generators[-1].coef, noise, "synthetic", t - 1
    fitted = FittedLinear(t, coef + least_squares_error(n, s, factor, draw_stream(role), repeats))
    info = {"train_size": float(n), "frac_real_fixed": float(code == FIXED), "frac_real_fresh": 0.0,
            "frac_synthetic": float(code > 0)}
    return LinearState(t, None, None, (fitted,), ()), info


# -- the downstream model and the regression metrics --------------------------------------------
#: The metrics computed here, batched (the names of :mod:`autophagy.metrics.evaluate`).
REGRESSION_METRICS = ("test_error", "test_error_bias", "test_error_variance", "param_error", "test_error_real")


def downstream_metrics(
    names: Sequence[str],
    design: LinearStats,
    coef: np.ndarray,
    noise: float,
    alpha: float,
    truth: LinearTruth,
    real: LinearStats | None = None,
) -> dict[str, np.ndarray]:
    """The regression metrics of G^t = (ŵ_t, noise), each of shape (R,).

    The downstream model is ridge (parameter ``alpha``) on the T rows whose statistics are
    ``design`` (labelled by ``coef`` with ``noise``): ŵ_pred = fit(design). As in
    :mod:`autophagy.metrics.evaluate`, given the downstream inputs and averaging over the label
    noise: mean = P Mᵀ ŵ_t (ŵ_t itself for α = 0 and T >= d), bias = ‖mean - w0‖²_Σ,
    variance = noise² tr(Σ P Pᵀ) = noise² ‖Fᵀ P‖²_F; ``param_error`` = ‖ŵ_t - w0‖.

    Args:
        names: metrics wanted, from :data:`REGRESSION_METRICS`.
        design: statistics of the downstream training rows (with a factor).
        coef: ŵ_t, shape (R, d).
        noise: the downstream rows' label noise √λ·σ_t.
        alpha: the downstream ridge parameter (``eval.downstream_ridge``).
        truth: the true (Σ, w0, σ0).
        real: statistics of T real rows, for ``test_error_real``.
    """
    cov = truth.cov
    excess = truth.excess_risk
    out: dict[str, np.ndarray] = {}
    if "test_error_real" in names:  # the n = 0 baseline: the same fit on real rows (``real`` stats)
        out["test_error_real"] = excess(fit(real, alpha)) if real is not None else np.full(len(coef), np.nan)
    if "test_error" in names:
        out["test_error"] = excess(fit(design, alpha))
    if "test_error_bias" in names:
        unbiased = alpha == 0.0 and design.n >= design.dim
        if unbiased:  # (G + 0)⁻¹ G ŵ_t = ŵ_t
            mean = coef
        else:  # the fit of noise-free labels: projection Mᵀ ŵ_t
            mean = fit(design, alpha, proj=(coef[:, None, :] @ design.factor)[:, 0])  # type: ignore[operator]
        out["test_error_bias"] = excess(mean)
    if "test_error_variance" in names:
        p = fit_operator(design, alpha)  # (R, d, k)
        if _is_diagonal(cov):
            scaled = np.sqrt(np.diag(cov))[:, None] * p  # Fᵀ P
        else:
            scaled = np.linalg.cholesky(cov).T @ p
        out["test_error_variance"] = noise**2 * np.einsum("rij,rij->r", scaled, scaled)
    if "param_error" in names:
        out["param_error"] = np.linalg.norm(coef - truth.w0, axis=1)
    return out


__all__ = [
    "REGRESSION_METRICS",
    "FittedLinear",
    "LinearState",
    "LinearStats",
    "downstream_metrics",
    "draw",
    "fit",
    "fit_operator",
    "linear_step",
    "merge",
    "of_rows",
]
