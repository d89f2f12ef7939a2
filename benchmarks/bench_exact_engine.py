"""Benchmark: exact vs sampled engine vs a plain NumPy loop, d = 10, 100 generations x 100 repeats.

The standard configuration of public model-collapse code: a fully synthetic Gaussian loop,
d = 10, n = 100 samples per generation, MLE fits, 100 generations x 100 repeats. Times, as the
median of ``--reps`` runs (``time.perf_counter``), in the same run:

- ``autophagy.run(config, out=None)`` with ``engine: exact`` (sufficient statistics, batched
  over repeats) and with ``engine: sampled`` (draws every sample), recording ``cov_trace``
  (the cheapest metric: like for like with the plain loop, which keeps only the covariance);
- the exact engine alone: ``engine.advance(t, snapshot=False)`` for t = 1..T (the engine made by
  ``autophagy.runner.engines.make_engine``), i.e. the run without loading the config, building
  the rows table and the result;
- the exact engine again with the three moment metrics ``gaussian_w2``, ``cov_trace``,
  ``mean_sq_error`` (a batched eigendecomposition per generation for W2);
- the plain per-repeat NumPy loop of public code (fit mean/cov, draw n samples, repeat), which
  computes no metrics at all.

Target: the exact run >= 100x faster than the plain loop (floor 60x). The engine's own floor is
its random draws: per generation and repeat d(d-1)/2 + d normals and d χ² values (Bartlett),
drawn from the same streams as before the engine was optimised (same metrics, bit for bit);
at d = 10 they alone take ~8 ms of the ~15 ms the engine needs for 100 x 100.
A sanity line compares the mean trace of the last generation's covariance across the three,
against E = d (1 - 1/n)^T.

    make bench        # or: .venv/bin/python benchmarks/bench_exact_engine.py [--reps 3]
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

DIM, N, GENERATIONS, REPEATS, SEED = 10, 100, 100, 100, 0
TARGET = 100.0
FLOOR = 60.0

CONFIG = {
    "name": "bench-exact-engine",
    "seed": SEED,
    "generations": GENERATIONS,
    "repeats": REPEATS,
    "data": {"kind": "gaussian", "dim": DIM},
    "generator": {"kind": "gaussian", "bias": 1.0, "estimator": "mle"},
    "loop": {"kind": "fully_synthetic", "n_real": N, "n_synthetic": N},
    "metrics": ["cov_trace"],
    "eval": {"n_samples": 100, "snapshot_size": 0},
}


def plain_loop(seed: int) -> np.ndarray:
    """Public model-collapse code: per repeat, fit mean/cov (MLE), draw n, repeat. No metrics.

    Returns:
        The trace of the last generation's covariance per repeat, shape (REPEATS,).
    """
    rng = np.random.default_rng(seed)
    traces = np.empty(REPEATS)
    for r in range(REPEATS):
        mu, sigma = np.zeros(DIM), np.eye(DIM)
        for _ in range(GENERATIONS):
            x = rng.multivariate_normal(mu, sigma, size=N)  # (N, DIM)
            mu = x.mean(0)
            sigma = np.cov(x, rowvar=False, bias=True)  # MLE
        traces[r] = np.trace(sigma)
    return traces


MOMENT_METRICS = ["gaussian_w2", "cov_trace", "mean_sq_error"]


def run_engine(engine: str, metrics: list[str] | None = None) -> tuple[float, np.ndarray]:
    """Time one in-memory run; return (seconds, last generation's cov_trace per repeat)."""
    config = {**CONFIG, "engine": engine, "metrics": metrics or CONFIG["metrics"]}
    start = time.perf_counter()
    result = autophagy.run(config, out=None)
    elapsed = time.perf_counter() - start
    m = result.metrics
    last = m[(m["metric"] == "cov_trace") & (m["generation"] == GENERATIONS)]
    return elapsed, last["value"].to_numpy()


def engine_only() -> tuple[float, np.ndarray]:
    """Time ``advance`` for every generation of the exact engine alone (no run around it)."""
    from autophagy.config import load_config
    from autophagy.runner.engines import make_engine

    config = load_config({**CONFIG, "engine": "exact"})
    engine = make_engine(config, "bench", None)
    start = time.perf_counter()
    for t in range(1, GENERATIONS + 1):
        block, _ = engine.advance(t, snapshot=False)
    elapsed = time.perf_counter() - start
    return elapsed, block.value.reshape(REPEATS, -1)[:, 0]  # cov_trace is the first column


def timed_plain() -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    traces = plain_loop(SEED)
    return time.perf_counter() - start, traces


def mean_se(values: np.ndarray) -> str:
    return f"{values.mean():.3f} ± {values.std(ddof=1) / math.sqrt(len(values)):.3f} (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"exact": [], "engine": [], "exact3": [], "sampled": [], "plain": []}
    traces: dict[str, np.ndarray] = {}
    run_engine("exact")  # warm-up: first-call imports and caches are not the engine's cost
    engine_only()
    for _ in range(args.reps):
        for name, fn in (("exact", lambda: run_engine("exact")),
                         ("engine", engine_only),
                         ("exact3", lambda: run_engine("exact", MOMENT_METRICS)),
                         ("sampled", lambda: run_engine("sampled")),
                         ("plain", timed_plain)):
            seconds, traces[name] = fn()
            times[name].append(seconds)
    steps = GENERATIONS * REPEATS
    med = {name: statistics.median(t) for name, t in times.items()}
    labels = {"exact": "exact engine", "engine": "exact, engine only", "exact3": "exact, 3 metrics",
              "sampled": "sampled engine", "plain": "plain NumPy loop"}
    print(f"gaussian d={DIM} n={N} fully_synthetic (mle), {GENERATIONS} generations x {REPEATS} repeats, "
          f"median of {args.reps}")
    for name in ("exact", "engine", "exact3", "sampled", "plain"):
        print(f"  {labels[name]:18s} median {1e3 * med[name]:9.1f} ms  ({1e6 * med[name] / steps:.3f} µs per "
              f"generation-repeat)  runs (ms): {[round(1e3 * x, 1) for x in times[name]]}")
    print("  (exact and sampled record cov_trace; 'engine only' is the exact run's advance() calls; "
          "'exact, 3 metrics' adds gaussian_w2 and mean_sq_error; the plain loop computes no metrics)")
    plain_ratio = med["plain"] / med["exact"]
    print(f"  ratio plain / exact:   {plain_ratio:.1f}x")
    print(f"  ratio plain / exact engine only: {med['plain'] / med['engine']:.1f}x "
          f"(the engine is {med['engine'] / med['exact']:.0%} of the run)")
    print(f"  ratio plain / exact with 3 metrics: {med['plain'] / med['exact3']:.1f}x")
    print(f"  ratio sampled / exact: {med['sampled'] / med['exact']:.1f}x")
    verdict = "met" if plain_ratio >= TARGET else ("floor met" if plain_ratio >= FLOOR else "NOT met")
    print(f"  target exact >= {TARGET:.0f}x plain (floor {FLOOR:.0f}x): {verdict}")
    expected = DIM * (1 - 1 / N) ** GENERATIONS
    print(f"  sanity: mean cov_trace at generation {GENERATIONS} (± stderr), expected {expected:.3f}")
    for name in ("exact", "engine", "sampled", "plain"):
        print(f"    {labels[name]:18s} {mean_se(traces[name])}")


if __name__ == "__main__":
    main()
