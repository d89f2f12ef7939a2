"""Benchmark: the exact linear engine vs a loop of scikit-learn fits, d = 300, 10 generations x 50 repeats.

The chain of fake-data generators of Dohmatob, Feng & Kempe (2024): isotropic inputs in d = 300,
w0 of norm 1, label noise σ0 = 0.1, each generator a least-squares fit (α = 0) on T0 = 600 rows
labelled by the previous one (the first by the truth), fully synthetic; at every generation a
downstream least-squares model is trained on T = 600 rows of the current generator and its
excess risk (ŵ - w0)ᵀ Σ (ŵ - w0) is the test error. Times, as the median of ``--reps`` runs
(``time.perf_counter``), in the same run:

- ``autophagy.run(config, out=None)`` with ``engine: exact`` (Gram statistics drawn from their
  Wishart / Normal laws, batched solves over the 50 repeats), recording ``test_error`` (like for
  like with the loop), and again with all four regression metrics (``test_error_variance`` adds a
  batched triangular inverse per generation);
- the same computation as a plain Python loop over repeats and generations of scikit-learn fits
  on explicit rows: ``LinearRegression(fit_intercept=False)`` (scipy's least squares, what α = 0
  means; the sampled engine's ``np.linalg.lstsq`` is the same solution) and, for reference,
  ``Ridge(alpha=1e-10, fit_intercept=False, solver="cholesky")`` (normal equations: faster, and
  at this conditioning the same coefficients to ~1e-10).

Target (the issue's): batched >= 10x faster than the scikit-learn loop (``LinearRegression``,
the headline; the ``Ridge`` ratio is printed too). A sanity line compares the mean test error at
generation 10 with the closed form E = σ0² d/(T - d - 1) + 10 σ0² d/(T0 - d - 1)
= 0.01 · 300/299 · 11 (every generator's label noise is σ0, α = 0, T, T0 > d + 1).

    make bench        # or: .venv/bin/python benchmarks/bench_regression_chain.py [--reps 3]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autophagy  # noqa: E402
from autophagy.registry import build_source  # noqa: E402

DIM, T0, T, NOISE, GENERATIONS, REPEATS, SEED = 300, 600, 600, 0.1, 10, 50, 0
TARGET = 10.0

CONFIG = {
    "name": "bench-regression-chain",
    "seed": SEED,
    "generations": GENERATIONS,
    "repeats": REPEATS,
    "data": {"kind": "linear", "dim": DIM, "cov": "identity", "noise": NOISE},
    "generator": {"kind": "linear_ridge", "alpha": 0.0},  # noise unset: σ = σ0
    "loop": {"kind": "fully_synthetic", "n_real": T0, "n_synthetic": T0},
    "metrics": ["test_error"],
    "eval": {"n_samples": T, "downstream_ridge": 0.0, "snapshot_size": 0},
    "engine": "exact",
}
REGRESSION_METRICS = ["test_error", "test_error_bias", "test_error_variance", "param_error"]


def sklearn_loop(make_model, seed: int) -> np.ndarray:
    """Per repeat, per generation: fit the labeller on T0 fresh rows, the downstream on T rows.

    Rows are drawn explicitly (x ~ N(0, I), y = x·w + σ0 ε); the first labeller's rows are
    labelled by w0. Returns the test error at the last generation per repeat, shape (REPEATS,).
    """
    w0 = build_source(autophagy.load_config(CONFIG)).regression().w0
    rng = np.random.default_rng(seed)
    errors = np.empty(REPEATS)
    for r in range(REPEATS):
        coef = w0
        for _ in range(GENERATIONS):
            x = rng.standard_normal((T0, DIM))  # (T0, d)
            y = x @ coef + NOISE * rng.standard_normal(T0)
            coef = make_model().fit(x, y).coef_  # the generator G^t
            x = rng.standard_normal((T, DIM))  # (T, d): the downstream model's rows, from G^t
            y = x @ coef + NOISE * rng.standard_normal(T)
            gap = make_model().fit(x, y).coef_ - w0
            errors[r] = gap @ gap  # Σ = I
    return errors


def linear_regression():  # type: ignore[no-untyped-def]
    from sklearn.linear_model import LinearRegression

    return LinearRegression(fit_intercept=False)


def ridge():  # type: ignore[no-untyped-def]
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1e-10, fit_intercept=False, solver="cholesky")


def run_engine(metrics: list[str]) -> tuple[float, np.ndarray]:
    """Time one in-memory exact run; return (seconds, last generation's test_error per repeat)."""
    start = time.perf_counter()
    result = autophagy.run({**CONFIG, "metrics": metrics}, out=None)
    elapsed = time.perf_counter() - start
    assert result.config.engine == "exact"
    m = result.metrics
    last = m[(m["metric"] == "test_error") & (m["generation"] == GENERATIONS)]
    return elapsed, last["value"].to_numpy()


def timed(fn, *args) -> tuple[float, np.ndarray]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


def mean_se(values: np.ndarray) -> str:
    return f"{values.mean():.5f} ± {values.std(ddof=1) / math.sqrt(len(values)):.5f} (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    runs = {
        "exact": lambda: run_engine(["test_error"]),
        "exact4": lambda: run_engine(REGRESSION_METRICS),
        "lstsq": lambda: timed(sklearn_loop, linear_regression, SEED),
        "ridge": lambda: timed(sklearn_loop, ridge, SEED + 1),
    }
    labels = {
        "exact": "exact engine",
        "exact4": "exact, 4 metrics",
        "lstsq": "sklearn LinearRegression loop",
        "ridge": "sklearn Ridge(1e-10) loop",
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    errors: dict[str, np.ndarray] = {}
    run_engine(["test_error"])  # warm-up: first-call imports and caches are not the engine's cost
    linear_regression().fit(np.eye(3), np.ones(3)), ridge().fit(np.eye(3), np.ones(3))
    for _ in range(args.reps):
        for name, fn in runs.items():
            seconds, errors[name] = fn()
            times[name].append(seconds)
    steps = GENERATIONS * REPEATS
    med = {name: statistics.median(t) for name, t in times.items()}
    print(f"linear d={DIM} T0={T0} T={T} σ0={NOISE} α=0 fully_synthetic, {GENERATIONS} generations x "
          f"{REPEATS} repeats, median of {args.reps}")
    for name in runs:
        print(f"  {labels[name]:30s} median {med[name]:8.3f} s   ({1e3 * med[name] / steps:.3f} ms per "
              f"generation-repeat)  runs: {[round(x, 3) for x in times[name]]}")
    print("  (the exact engine records test_error, 'exact, 4 metrics' adds test_error_bias, "
          "test_error_variance and param_error; the loops compute the test error only)")
    ratio = med["ridge"] / med["exact"]
    print(f"  ratio Ridge(1e-10) loop / exact:       {ratio:.1f}x   (least-squares shortcut: only test_error)")
    print(f"  ratio Ridge(1e-10) loop / exact with 4 metrics: {med['ridge'] / med['exact4']:.1f}x   (Gram statistics)")
    print(f"  ratio LinearRegression loop / exact:   {med['lstsq'] / med['exact']:.1f}x")
    print(f"  ratio LinearRegression loop / exact with 4 metrics: {med['lstsq'] / med['exact4']:.1f}x")
    print(f"  target batched >= {TARGET:.0f}x the Ridge loop: {'met' if ratio >= TARGET else 'NOT met'}")
    expected = NOISE**2 * DIM / (T - DIM - 1) + GENERATIONS * NOISE**2 * DIM / (T0 - DIM - 1)
    print(f"  sanity: mean test_error at generation {GENERATIONS} (± stderr), closed form {expected:.5f}")
    for name in ("exact", "lstsq", "ridge"):
        print(f"    {labels[name]:30s} {mean_se(errors[name])}")


if __name__ == "__main__":
    main()
