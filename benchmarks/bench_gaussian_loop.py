"""Benchmark: sampled engine vs a plain NumPy loop computing the same metrics, Gaussian loops.

Two fully synthetic Gaussian loops (MLE, n = 100 per generation, 100 generations x 100 repeats):

- d = 8, metrics ``[gaussian_w2, cov_trace]`` (:data:`CONFIG`);
- d = 10, metrics ``[cov_trace]`` (``benchmarks/bench_exact_engine.py``'s config with
  ``engine: sampled``).

For each, as the median of ``--reps`` runs (``time.perf_counter``, all in the same process):

- ``plain``: the plain per-repeat NumPy loop of public model-collapse code (fit mean/cov,
  ``rng.multivariate_normal`` n samples, repeat) that also computes, every generation, the
  metric values the engine records, with the same formulas (:func:`plain_loop`). The metrics
  here are moment metrics: they need no generated evaluation samples, and neither loop draws
  any;
- ``engine``: the sampled engine alone, ``make_engine`` then ``advance(t)`` for every
  generation (what the engine costs, without the runner's rows-to-DataFrame step);
- ``memory``: ``autophagy.run(config, out=None)``, the whole in-memory run;
- ``store`` (d = 8, unless ``--no-store``): the same run through the run store (``out=`` a
  temporary directory), and its overhead as the ratio store / memory.

Target (issue 14): ``memory / plain <= 1.5`` for both. A sanity line compares each metric's
mean at the last generation between the engine and the plain loop (different random streams:
they agree in distribution, within a few standard errors), against E tr Σ_T = d (1 - 1/n)^T; and a
line checks that the plain loop's ``gaussian_w2`` gives the library's value bit for bit.

    make bench        # or: .venv/bin/python benchmarks/bench_gaussian_loop.py [--reps 3]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

import autophagy  # noqa: E402
from autophagy.config import load_config  # noqa: E402
from autophagy.runner.engines import make_engine  # noqa: E402

CONFIG: dict[str, Any] = {
    "name": "bench-gaussian",
    "seed": 0,
    "engine": "sampled",  # the sample-based engine (Gaussian configs default to exact)
    "generations": 100,
    "repeats": 100,
    "data": {"kind": "gaussian", "dim": 8},
    "generator": {"kind": "gaussian", "bias": 1.0, "estimator": "mle"},
    "loop": {"kind": "fully_synthetic", "n_real": 100, "n_synthetic": 100},
    "metrics": ["gaussian_w2", "cov_trace"],
    "eval": {"n_samples": 100, "snapshot_size": 0},
}
#: bench_exact_engine.py's config (d = 10, cov_trace only) on the sampled engine.
CONFIG_D10: dict[str, Any] = {
    **CONFIG,
    "name": "bench-exact-engine",
    "data": {"kind": "gaussian", "dim": 10},
    "metrics": ["cov_trace"],
}
TARGET = 1.5


def gaussian_w2(mean: np.ndarray, cov: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> float:
    """W₂²(N(mean, cov), N(mu, sigma)) = ‖mean - mu‖² + tr cov + tr sigma - 2 tr (√cov sigma √cov)^{1/2},
    the formula of ``autophagy.metrics.functional.gaussian_frechet`` (cov = L Lᵀ by Cholesky,
    by eigh where it is singular; the eigenvalues of the symmetric Lᵀ sigma L)."""
    try:
        left = np.linalg.cholesky(cov)  # (d, d)
    except np.linalg.LinAlgError:
        values, vectors = np.linalg.eigh(cov)
        left = vectors * np.sqrt(np.clip(values, 0.0, None))
    middle = left.T @ sigma @ left  # (d, d)
    cross = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)))
    return max(float(np.sum((mean - mu) ** 2) + np.trace(cov) + np.trace(sigma) - 2.0 * cross), 0.0)


def formula_matches_the_library() -> bool:
    """Whether :func:`gaussian_w2` gives the library's value, bit for bit, on a fitted Gaussian."""
    from autophagy.metrics.functional import gaussian_w2 as library

    x = np.random.default_rng(1).standard_normal((100, 8))
    mean, cov = x.mean(axis=0), np.cov(x, rowvar=False, ddof=0)
    mu, sigma = np.zeros(8), np.eye(8)
    return gaussian_w2(mean, cov, mu, sigma) == library(mean, cov, mu, sigma)


def plain_loop(config: dict[str, Any]) -> np.ndarray:
    """Public model-collapse code plus the engine's metrics: per repeat, G^1 fitted (MLE) to n
    real samples, then each generation fits mean/cov to n samples of the previous fit; after
    every fit, the config's metrics of the fitted Gaussian (λ = 1).

    Returns:
        The metric values, shape (repeats, generations, len(metrics)).
    """
    d, n = config["data"]["dim"], config["loop"]["n_real"]
    repeats, generations, names = config["repeats"], config["generations"], config["metrics"]
    mu, sigma = np.zeros(d), np.eye(d)  # the truth, N(0, I)
    rng = np.random.default_rng(config["seed"])
    values = np.empty((repeats, generations, len(names)))
    for r in range(repeats):
        mean, cov = mu, sigma
        for t in range(generations):
            x = rng.multivariate_normal(mean, cov, size=n)  # (n, d)
            mean = x.mean(axis=0)
            cov = np.cov(x, rowvar=False, ddof=0)  # MLE
            for j, name in enumerate(names):
                values[r, t, j] = float(np.trace(cov)) if name == "cov_trace" else gaussian_w2(mean, cov, mu, sigma)
    return values


def timed_plain(config: dict[str, Any]) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    values = plain_loop(config)
    return time.perf_counter() - start, values[:, -1, :]


def timed_engine(config: dict[str, Any]) -> float:
    """The engine alone: every generation advanced in memory, no DataFrame built."""
    start = time.perf_counter()
    resolved = load_config(config)
    engine = make_engine(resolved, resolved.run_id(), None)
    for t in range(1, resolved.generations + 1):
        engine.advance(t, snapshot=False)
    return time.perf_counter() - start


def timed_run(config: dict[str, Any], out: str | None) -> tuple[float, np.ndarray]:
    """The whole run; returns (seconds, last generation's metric values (repeats, metrics))."""
    start = time.perf_counter()
    result = autophagy.run(config, out=out)
    elapsed = time.perf_counter() - start
    wide = result.wide()
    last = wide.xs(config["generations"], level="generation")
    return elapsed, last[config["metrics"]].to_numpy()


def timed_store(config: dict[str, Any]) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        return timed_run(config, tmp)[0]


def mean_se(values: np.ndarray) -> str:
    return f"{values.mean():.4f} ± {values.std(ddof=1) / math.sqrt(len(values)):.4f}"


def report(config: dict[str, Any], times: dict[str, list[float]], last: dict[str, np.ndarray], reps: int) -> bool:
    steps = config["generations"] * config["repeats"]
    d, n, generations = config["data"]["dim"], config["loop"]["n_real"], config["generations"]
    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"gaussian d={d} n={n} fully_synthetic (mle), sampled engine, {generations} generations x "
          f"{config['repeats']} repeats, metrics {config['metrics']}, median of {reps}")
    labels = {"plain": "plain loop + metrics", "engine": "sampled, engine only", "memory": "sampled, in memory",
              "store": "sampled, run store"}
    for name in labels:
        if name in med:
            print(f"  {labels[name]:21s} median {med[name]:7.3f} s   ({1e3 * med[name] / steps:.4f} ms per "
                  f"generation-repeat)  runs: {[round(x, 3) for x in times[name]]}")
    ratio = med["memory"] / med["plain"]
    print(f"  ratio engine only / plain: {med['engine'] / med['plain']:.2f}   in memory / plain: {ratio:.2f}   "
          f"target <= {TARGET}: {'met' if ratio <= TARGET else 'NOT met'}")
    if "store" in med:
        print(f"  ratio store / memory: {med['store'] / med['memory']:.2f}")
    print(f"  sanity at generation {generations}, mean ± stderr over repeats (E cov_trace = "
          f"{d * (1 - 1 / n) ** generations:.4f}):")
    for j, metric in enumerate(config["metrics"]):
        print(f"    {metric:12s} sampled {mean_se(last['memory'][:, j])}   plain {mean_se(last['plain'][:, j])}")
    return ratio <= TARGET


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--no-store", action="store_true", help="skip the run-store timing")
    args = parser.parse_args()
    autophagy.run({**CONFIG, "generations": 2, "repeats": 2}, out=None)  # warm-up: first-call imports
    print(f"plain loop's gaussian_w2 is the library's, bit for bit: {formula_matches_the_library()}")
    for config in (CONFIG, CONFIG_D10):
        times: dict[str, list[float]] = {"plain": [], "engine": [], "memory": []}
        if config is CONFIG and not args.no_store:
            times["store"] = []
        last: dict[str, np.ndarray] = {}
        for _ in range(args.reps):
            seconds, last["plain"] = timed_plain(config)
            times["plain"].append(seconds)
            times["engine"].append(timed_engine(config))
            seconds, last["memory"] = timed_run(config, None)
            times["memory"].append(seconds)
            if "store" in times:
                times["store"].append(timed_store(config))
        report(config, times, last, args.reps)


if __name__ == "__main__":
    main()
