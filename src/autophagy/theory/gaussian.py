"""Closed forms for Gaussian self-consuming loops.

Setting (MAD §3-5, Alemohammad et al. 2024; Shumailov et al. 2024, §3): the real data are
N(μ, Σ) in d dimensions, τ = tr Σ; generation t fits μ_t = x̄ and Σ_t = S / (n - δ) to its
training set (δ = 0 for ``mle``, 1 for ``unbiased``) and later generations draw synthetic
samples from N(μ_k, λ Σ_k).

**Exact moment recursions** (:func:`moment_recursion`). Write eᵢ = xᵢ - μ for every training
sample and e_k = μ_k - μ for every fitted mean. All of them are sums of independent zero-mean
terms, so the second moments close over *groups* of samples (the fixed real set, a generation's
fresh real samples, a generation's synthetic samples from G^k, an accumulated pool). A group g
is carried as four sums — its size N_g, V_g = Σᵢ E‖eᵢ‖², P_g = Σ_{i≠j} E[eᵢ·eⱼ] and, per other
group h and per fitted generator k, C_gh = Σ_{i∈g, j∈h} E[eᵢ·eⱼ] and U_gk = Σ_{i∈g} E[eᵢ·e_k]::

    real group of n:            V = n τ,  P = 0,  C = 0,  U = 0
    n synthetic from G^k:       V = n (G_kk + λ s_k),  P = n (n - 1) G_kk,
                                C_·h = n U_hk,  U_·k' = n G_kk'

where G_kk' = E[e_k·e_k'] and s_k = E tr Σ_k. Fitting G^t on a uniformly random m-subset of the
available groups 𝒰 (m = N for every loop but ``accumulate_subsample``), with
π₁ = m/N, π₂ = m(m-1)/(N(N-1)), V = Σ_𝒰 V_g and P = Σ_𝒰 P_g + Σ_{g≠h∈𝒰} C_gh::

    E‖μ_t - μ‖² = G_tt = (π₁ V + π₂ P) / m²
    E tr Σ_t   = s_t  = (π₁ V - m G_tt) / (m - δ)
    G_tk = Σ_{g∈𝒰} U_gk / N,    U_gt = (Σ_{h∈𝒰, h≠g} C_gh + [g∈𝒰] (P_g + V_g)) / N

These are exact (no approximation, any d, any Σ — only τ enters) for every loop kind,
estimator, λ and ``synthetic_from``. For the fully synthetic loop they reduce to the familiar
E tr Σ_t = τ (n_r-1)/(n_r-δ) · [λ (n_s-1)/(n_s-δ)]^{t-1} and
E‖μ_t - μ‖² = E‖μ_{t-1} - μ‖² + λ s_{t-1} / n_s.

**Shumailov's laws** for the fully synthetic loop: log det Σ_t is a random walk with i.i.d.
increments log det(λ W / (n - δ)), W ~ Wishart_d(n - 1, I), so (Shumailov et al. 2024, Thm 3.1,
in d dimensions) Σ_t → 0 almost surely whenever the drift (:func:`log_det_drift`) is negative —
which it is for every estimator and λ ≤ 1 — even when E tr Σ_t stays at τ (``unbiased``, λ = 1);
meanwhile E‖μ_t - μ‖² = τ (1/n_r + (t-1)/n_s) grows without bound (``unbiased``, λ = 1).

**Fresh-data limit** (MAD §5, :func:`fresh_limit`): with n_r fresh real and n_s synthetic
samples per generation the pair (E‖μ_t - μ‖², E tr Σ_t) follows an affine map x_t = A x_{t-1} + b
with spectral radius ρ(A) < 1, so it converges to (I - A)⁻¹ b whatever the start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, polygamma

from autophagy._validation import check
from autophagy.loops.policy import LoopConfig, Plan
from autophagy.registry import get


@dataclass(frozen=True)
class MomentCurve:
    """Expected moments of the fitted Gaussian per generation.

    Attributes:
        generations: 1..T, shape (T,).
        mean_sq_error: E‖μ_t - μ‖², shape (T,).
        cov_trace: E tr Σ_t of the *fitted* covariance, shape (T,) (the sampling distribution
            N(μ_t, λ Σ_t) has trace λ times this).
        bias: λ.
    """

    generations: np.ndarray
    mean_sq_error: np.ndarray
    cov_trace: np.ndarray
    bias: float


def _loop_config(loop: LoopConfig | Mapping[str, Any]) -> LoopConfig:
    if isinstance(loop, LoopConfig):
        return loop
    from autophagy._validation import validate

    entry = get("loop", dict(loop).get("kind"), key="loop.kind")
    return validate(entry.config, dict(loop), prefix="loop")  # type: ignore[arg-type,return-value]  # loop entries always have a config


def _check_common(trace: float, bias: float, estimator: str) -> None:
    check(np.isfinite(trace) and trace > 0, "trace", "a finite float > 0 (tr Σ; = dim for the identity)", trace)
    check(0.0 < bias <= 1.0, "bias", "in (0, 1]", bias)
    check(estimator in ("mle", "unbiased"), "estimator", "one of 'mle', 'unbiased'", estimator)


class _Groups:
    """The second-moment bookkeeping of the module docstring (sums per group of samples)."""

    def __init__(self, tau: float, bias: float) -> None:
        self.tau, self.bias = tau, bias
        self.size: dict[int, int] = {}
        self.v: dict[int, float] = {}
        self.p: dict[int, float] = {}
        self.c: dict[frozenset[int], float] = {}
        self.u: dict[tuple[int, int], float] = {}
        self.gram: dict[frozenset[int], float] = {}  # G_kk' over fitted generators
        self.s: dict[int, float] = {}
        self.generators: list[int] = []
        self._next = 0

    def cross(self, g: int, h: int) -> float:
        return self.c.get(frozenset((g, h)), 0.0)

    def g(self, k: int, j: int) -> float:
        return self.gram[frozenset((k, j))]

    def real(self, n: int) -> int:
        gid = self._new(n, n * self.tau, 0.0)
        return gid

    def synthetic(self, n: int, k: int) -> int:
        gkk = self.g(k, k)
        others = list(self.size)
        gid = self._new(n, n * (gkk + self.bias * self.s[k]), n * (n - 1) * gkk)
        for h in others:
            self.c[frozenset((gid, h))] = n * self.u.get((h, k), 0.0)
        for j in self.generators:
            self.u[(gid, j)] = n * self.g(k, j)
        return gid

    def _new(self, n: int, v: float, p: float) -> int:
        gid = self._next
        self._next += 1
        self.size[gid], self.v[gid], self.p[gid] = n, v, p
        return gid

    def fit(self, t: int, used: list[int], m: int, ddof: int) -> None:
        """Fit G^t on a uniform m-subset of the groups ``used``."""
        n = sum(self.size[g] for g in used)
        pi1 = m / n
        pi2 = m * (m - 1) / (n * (n - 1)) if n > 1 else 0.0
        v = sum(self.v[g] for g in used)
        p = sum(self.p[g] for g in used) + sum(self.cross(g, h) for g in used for h in used if g != h)
        gtt = (pi1 * v + pi2 * p) / m**2
        for k in self.generators:
            self.gram[frozenset((t, k))] = sum(self.u.get((g, k), 0.0) for g in used) / n
        self.gram[frozenset((t, t))] = gtt
        for g in self.size:
            inside = self.p[g] + self.v[g] if g in used else 0.0
            self.u[(g, t)] = (sum(self.cross(g, h) for h in used if h != g) + inside) / n
        self.s[t] = (pi1 * v - m * gtt) / (m - ddof)
        self.generators.append(t)

    def merge(self, groups: list[int]) -> int:
        """Replace ``groups`` by their union (the accumulated pool)."""
        size = sum(self.size[g] for g in groups)
        v = sum(self.v[g] for g in groups)
        p = sum(self.p[g] for g in groups) + sum(self.cross(g, h) for g in groups for h in groups if g != h)
        gid = self._new(size, v, p)
        for h in self.size:
            if h != gid and h not in groups:
                self.c[frozenset((gid, h))] = sum(self.cross(g, h) for g in groups)
        for k in self.generators:
            self.u[(gid, k)] = sum(self.u.get((g, k), 0.0) for g in groups)
        self.drop(groups)
        return gid

    def drop(self, groups: list[int]) -> None:
        for g in groups:
            del self.size[g], self.v[g], self.p[g]
        gone = set(groups)
        self.c = {key: value for key, value in self.c.items() if not key & gone}
        self.u = {key: value for key, value in self.u.items() if key[0] not in gone}

    def keep_generators(self, keep: list[int]) -> None:
        alive = set(keep)
        self.generators = [k for k in self.generators if k in alive]
        self.gram = {key: value for key, value in self.gram.items() if key <= alive}
        self.u = {key: value for key, value in self.u.items() if key[1] in alive}


def moment_recursion(
    loop: LoopConfig | Mapping[str, Any],
    generations: int,
    *,
    trace: float,
    bias: float = 1.0,
    estimator: str = "mle",
) -> MomentCurve:
    """Exact E‖μ_t - μ‖² and E tr Σ_t for t = 1..T of any loop (module docstring).

    Args:
        loop: a loop config (or its dict, e.g. ``{"kind": "fresh", "n_real": 100}``).
        generations: T >= 1.
        trace: tr Σ of the real distribution (d for the identity).
        bias: λ in (0, 1].
        estimator: ``mle`` or ``unbiased``.

    Returns:
        The :class:`MomentCurve`.

    Examples:
        >>> curve = moment_recursion({"kind": "fully_synthetic", "n_real": 10, "n_synthetic": 10},
        ...                          3, trace=1.0, estimator="unbiased")
        >>> curve.cov_trace.round(6).tolist(), curve.mean_sq_error.round(6).tolist()
        ([1.0, 1.0, 1.0], [0.1, 0.2, 0.3])
    """
    config = _loop_config(loop)
    _check_common(trace, bias, estimator)
    check(isinstance(generations, (int, np.integer)) and generations >= 1, "generations", "an int >= 1", generations)
    ddof = 0 if estimator == "mle" else 1
    book = _Groups(float(trace), float(bias))
    fixed: int | None = None
    fixed_drawn = False
    pool: int | None = None
    mean_sq, cov_tr = np.empty(generations), np.empty(generations)
    for t in range(1, generations + 1):
        plan: Plan = config.plan(t)
        check(plan.fixed_used is None, "loop.kind", "a loop that trains on whole groups (a kept subset of the original data has no closed form here)", config.kind)
        if not fixed_drawn and plan.n_fixed:
            fixed, fixed_drawn = book.real(plan.n_fixed), True
        used: list[int] = []
        if plan.accumulate and pool is not None:
            used.append(pool)
        elif plan.use_fixed and fixed is not None:
            used.append(fixed)
        if plan.n_fresh:
            used.append(book.real(plan.n_fresh))
        if plan.n_synthetic and t > 1:
            sources = list(book.generators)
            sizes = [len(part) for part in np.array_split(np.arange(plan.n_synthetic), len(sources))]
            used += [book.synthetic(size, k) for k, size in zip(sources, sizes, strict=True) if size]
        n = sum(book.size[g] for g in used)
        m = min(n, plan.subsample) if plan.subsample is not None else n
        check(m > ddof + 0, "loop", f"training sets larger than {ddof} samples", m)
        book.fit(t, used, m, ddof)
        mean_sq[t - 1], cov_tr[t - 1] = book.g(t, t), book.s[t]
        if plan.accumulate:
            if fixed in used:
                fixed = None
            pool = book.merge(used)
        else:
            book.drop([g for g in used if g != fixed])
        book.keep_generators(book.generators if config.synthetic_from == "all" else [t])
    return MomentCurve(np.arange(1, generations + 1), mean_sq, cov_tr, float(bias))


# -- the fresh-data loop's limit -----------------------------------------------------------------
@dataclass(frozen=True)
class FreshLimit:
    """Limit of the fresh-data loop's moments (MAD §5).

    Attributes:
        mean_sq_error: lim E‖μ_t - μ‖².
        cov_trace: lim E tr Σ_t (fitted covariance).
        rate: ρ(A), the spectral radius of the affine moment map: the distance to the limit
            shrinks like ρ^t (so about log(ε)/log(ρ) generations reach a relative error ε).
    """

    mean_sq_error: float
    cov_trace: float
    rate: float


def fresh_map(
    n_real: int, n_synthetic: int, *, trace: float, bias: float = 1.0, estimator: str = "unbiased"
) -> tuple[np.ndarray, np.ndarray]:
    """The affine map (A, b) of the fresh loop: x_t = A x_{t-1} + b for x = (E‖μ_t-μ‖², E tr Σ_t).

    With n = n_r + n_s (the recursions of the module docstring with one fresh real group and
    one synthetic group from G^{t-1})::

        A = [[n_s²/n²,                n_s λ / n²                ],
             [n_s n_r / (n (n-δ)),    n_s λ (n-1) / (n (n-δ))   ]]
        b = [n_r τ / n²,  n_r τ (n-1) / (n (n-δ))]
    """
    _check_sizes(n_real, n_synthetic)
    _check_common(trace, bias, estimator)
    delta = 0 if estimator == "mle" else 1
    n_r, n_s, lam, tau = float(n_real), float(n_synthetic), float(bias), float(trace)
    n = n_r + n_s
    a = np.array(
        [
            [n_s**2 / n**2, n_s * lam / n**2],
            [n_s * n_r / (n * (n - delta)), n_s * lam * (n - 1) / (n * (n - delta))],
        ]
    )
    b = np.array([n_r * tau / n**2, n_r * tau * (n - 1) / (n * (n - delta))])
    return a, b


def fresh_limit(
    n_real: int, n_synthetic: int, *, trace: float, bias: float = 1.0, estimator: str = "unbiased"
) -> FreshLimit:
    """The fixed point (I - A)⁻¹ b of :func:`fresh_map` and the convergence rate ρ(A).

    Examples:
        >>> lim = fresh_limit(100, 0, trace=1.0)  # no synthetic data: one real fit
        >>> round(lim.mean_sq_error, 6), round(lim.cov_trace, 6), lim.rate
        (0.01, 1.0, 0.0)
    """
    a, b = fresh_map(n_real, n_synthetic, trace=trace, bias=bias, estimator=estimator)
    x = np.linalg.solve(np.eye(2) - a, b)
    rate = float(np.max(np.abs(np.linalg.eigvals(a))))
    return FreshLimit(float(x[0]), float(x[1]), rate)


def _check_sizes(n_real: int, n_synthetic: int) -> None:
    check(isinstance(n_real, (int, np.integer)) and n_real >= 2, "n_real", "an int >= 2", n_real)
    check(isinstance(n_synthetic, (int, np.integer)) and n_synthetic >= 0, "n_synthetic", "an int >= 0", n_synthetic)


# -- Shumailov's collapse laws --------------------------------------------------------------------
def log_det_drift(n: int, dim: int, *, bias: float = 1.0, estimator: str = "unbiased") -> float:
    """E[log det Σ_{t+1} - log det Σ_t] of the fully synthetic loop with n samples per generation.

    Σ_{t+1} = λ Σ_t^{1/2} W Σ_t^{1/2} / (n - δ) with W ~ Wishart_d(n - 1, I) independent of the past,
    and E log det W = Σ_{i=0}^{d-1} ψ((n-1-i)/2) + d log 2 (Muirhead 1982, Thm 3.2.15), so::

        drift = d log(2λ / (n - δ)) + Σ_{i=0}^{d-1} ψ((n - 1 - i) / 2)

    Negative for every n > d, λ ≤ 1 and both estimators (Jensen), hence det Σ_t → 0 almost surely
    by the strong law of large numbers (Shumailov et al. 2024, Thm 3.1, there for d = 1).

    Examples:
        >>> round(log_det_drift(10, 1), 4)  # one dimension, unbiased: E log(χ²₉ / 9)
        -0.1152
    """
    _check_dim_n(n, dim)
    _check_common(1.0, bias, estimator)
    delta = 0 if estimator == "mle" else 1
    i = np.arange(dim)
    return float(dim * np.log(2.0 * bias / (n - delta)) + np.sum(digamma((n - 1 - i) / 2.0)))


def log_det_variance(n: int, dim: int) -> float:
    """Var[log det Σ_{t+1} - log det Σ_t] = Σ_{i=0}^{d-1} ψ'((n - 1 - i)/2) (the increments' variance)."""
    _check_dim_n(n, dim)
    i = np.arange(dim)
    return float(np.sum(polygamma(1, (n - 1 - i) / 2.0)))


def expected_log_det(
    generations: int, n_real: int, n_synthetic: int, dim: int, *, bias: float = 1.0, estimator: str = "unbiased",
    log_det_truth: float = 0.0,
) -> np.ndarray:
    """E log det Σ_t, t = 1..T, of the fully synthetic loop (exact: a random walk's mean).

    Generation 1 fits n_r real samples without bias; each later one adds :func:`log_det_drift`
    with n = n_s. Its standard deviation is sqrt(Var₁ + (t-1) Var), from :func:`log_det_variance`.
    """
    first = log_det_truth + log_det_drift(n_real, dim, bias=1.0, estimator=estimator)
    step = log_det_drift(n_synthetic, dim, bias=bias, estimator=estimator)
    return first + step * np.arange(generations)


def _check_dim_n(n: int, dim: int) -> None:
    check(isinstance(dim, (int, np.integer)) and dim >= 1, "dim", "an int >= 1", dim)
    check(isinstance(n, (int, np.integer)) and n > dim, "n", f"an int > dim = {dim} (Σ_t is singular below)", n)
