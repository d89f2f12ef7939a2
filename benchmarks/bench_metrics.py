"""Benchmark: the metrics' cost on 10,000 x 10,000 samples in 64-d, against baselines.

Draws real ~ N(0, I) and fake ~ N(0.05, 1.21 I) (fixed seed) and times, as the median of
``--reps`` runs (``time.perf_counter``): precision/recall/density/coverage (k = 5), Fréchet,
unbiased MMD² (RBF, median heuristic) and sliced Wasserstein (128 projections). The peak
memory column is numpy's traced allocation in one extra, untimed run (``tracemalloc``).

In the same run it times the baselines and prints baseline / ours (> 1: ours is faster):

- the reference ``prdc`` package (three full distance matrices) against our blocked PRDC; the
  package calls ``pairwise_distances(n_jobs=8)``, i.e. threads, so its CPU time is printed too;
- the Fréchet closed form on random SPD covariances at 64-d and 2048-d: the textbook
  ``scipy.linalg.sqrtm(C1 @ C2)`` form and the symmetric ``eigh`` form against ours (Cholesky
  factor, eigh fallback).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/bench_metrics.py [--n 10000] [--dim 64] [--reps 3]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from collections.abc import Callable  # noqa: E402
from functools import partial  # noqa: E402

import numpy as np  # noqa: E402

from autophagy.metrics import functional as F  # noqa: E402


def median_time(fn: Callable[[], object], reps: int) -> tuple[float, float]:
    """Median wall-clock and median CPU seconds of ``reps`` calls of ``fn``."""
    wall, cpu = [], []
    for _ in range(reps):
        start, start_cpu = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu)


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak traced allocation (MiB) during one call of ``fn``."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def sqrtm_frechet(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    """The textbook FID form: scipy's general (Schur) square root of C1 C2."""
    from scipy.linalg import sqrtm

    return float(np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2.0 * np.real(sqrtm(c1 @ c2))))


def eigh_frechet(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    """The symmetric form with √C1 from eigh (our fallback path, forced)."""
    cross = F._trace_sqrt_product(c1, c2, factor="eigh")
    return max(float(np.sum((m1 - m2) ** 2) + np.trace(c1) + np.trace(c2) - 2.0 * cross), 0.0)


def random_spd(rng: np.random.Generator, d: int) -> np.ndarray:
    """A random SPD covariance of shape (d, d)."""
    a = rng.normal(size=(2 * d, d))
    return a.T @ a / (2 * d)  # Wishart / 2d: SPD, condition number ~ 34


def main() -> None:
    """Time the metrics and the baselines; print two tables."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="samples per set")
    parser.add_argument("--dim", type=int, default=64, help="feature dimension")
    parser.add_argument("--reps", type=int, default=3, help="repeats per timing (median)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    real = rng.normal(size=(args.n, args.dim))
    fake = 1.1 * rng.normal(size=(args.n, args.dim)) + 0.05
    threads = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"))
    print(f"{args.n} x {args.n} samples in {args.dim}-d; median of {args.reps} runs; {threads}")

    rows: dict[str, Callable[[], object]] = {
        "prdc (k=5)": lambda: F.prdc(real, fake, nearest_k=5),
        "frechet_distance": lambda: F.frechet_distance(real, fake),
        "mmd_rbf (unbiased)": lambda: F.mmd_rbf(real, fake),
        "sliced_wasserstein (128)": lambda: F.sliced_wasserstein(
            real, fake, n_projections=128, rng=np.random.default_rng(1)
        ),
    }
    values = {name: fn() for name, fn in rows.items()}  # warm-up: imports, first touches
    print(f"\n{'metric':<26s} {'median s':>9s} {'peak MiB':>9s}  value")
    ours: dict[str, float] = {}
    for name, fn in rows.items():
        ours[name], _ = median_time(fn, args.reps)
        print(f"{name:<26s} {ours[name]:9.3f} {peak_mib(fn):9.1f}  {values[name]}")

    print(f"\n{'baseline':<38s} {'median s':>9s} {'cpu s':>7s} {'ours s':>7s} {'ratio':>6s}")
    try:
        import prdc as prdc_package
    except ImportError:
        print("prdc package not installed (pip install prdc==0.2): skipped")
    else:

        def package() -> dict[str, float]:
            with contextlib.redirect_stdout(io.StringIO()):  # it prints the set sizes
                out = prdc_package.compute_prdc(real_features=real, fake_features=fake, nearest_k=5)
            return {k: float(v) for k, v in out.items()}

        theirs = package()
        wall, cpu = median_time(package, args.reps)
        mine = ours["prdc (k=5)"]
        print(
            f"{'prdc package vs ours':<38s} {wall:9.3f} {cpu:7.3f} {mine:7.3f} {wall / mine:6.2f}"
        )
        gap = max(abs(theirs[k] - values["prdc (k=5)"][k]) for k in theirs)  # type: ignore[index]
        print(
            f"  max |package - ours| over the 4 values: {gap:.1e}; peak MiB {peak_mib(package):.1f}"
        )

    for d in (args.dim, 2048):
        c1, c2 = random_spd(rng, d), random_spd(rng, d)
        m1, m2 = np.zeros(d), np.full(d, 0.1)
        t_ours, _ = median_time(partial(F.gaussian_frechet, m1, c1, m2, c2), args.reps)
        value = F.gaussian_frechet(m1, c1, m2, c2)
        for label, baseline in (("sqrtm(C1 C2)", sqrtm_frechet), ("eigh sqrt(C1)", eigh_frechet)):
            t_base, cpu = median_time(partial(baseline, m1, c1, m2, c2), args.reps)
            rel = abs(baseline(m1, c1, m2, c2) - value) / value
            print(
                f"{f'Frechet {d}-d: {label} vs ours':<38s} {t_base:9.4f} {cpu:7.4f} {t_ours:7.4f} "
                f"{t_base / t_ours:6.2f}  (|rel diff| {rel:.1e})"
            )


if __name__ == "__main__":
    main()
