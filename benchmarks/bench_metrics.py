"""Benchmark: the metrics' cost on 10,000 x 10,000 samples in 64-d.

Times precision/recall/density/coverage (k = 5), Fréchet, unbiased MMD² and sliced
Wasserstein (128 projections), median of ``--reps`` runs, and in the same run the baselines:
the ``prdc`` package (full distance matrices) against our blocked PRDC, and the
``scipy.linalg.sqrtm(C1 @ C2)`` Fréchet form against our symmetric eigh form at 64-d and
2048-d. Ratios are baseline / ours (> 1: ours is faster).

    .venv/bin/python benchmarks/bench_metrics.py [--n 10000] [--dim 64] [--reps 3]
"""

from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from autophagy.metrics import functional as F  # noqa: E402


def median_time(fn: Callable[[], object], reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def sqrtm_frechet(m1: np.ndarray, c1: np.ndarray, m2: np.ndarray, c2: np.ndarray) -> float:
    from scipy.linalg import sqrtm

    return float(np.sum((m1 - m2) ** 2) + np.trace(c1 + c2 - 2 * np.real(sqrtm(c1 @ c2))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    real = rng.normal(size=(args.n, args.dim))
    fake = 1.1 * rng.normal(size=(args.n, args.dim)) + 0.05
    print(f"metrics on {args.n} x {args.n} samples in {args.dim}-d, median of {args.reps}")
    rows = {
        "prdc (k=5)": lambda: F.prdc(real, fake, nearest_k=5),
        "frechet": lambda: F.frechet_distance(real, fake),
        "mmd (unbiased, RBF)": lambda: F.mmd_rbf(real, fake),
        "sliced_wasserstein (128)": lambda: F.sliced_wasserstein(real, fake, n_projections=128, rng=np.random.default_rng(1)),
    }
    ours = {}
    for name, fn in rows.items():
        ours[name] = median_time(fn, args.reps)
        print(f"  {name:<28s} {ours[name]:8.3f} s")

    print("baselines (same run):")
    try:
        import prdc as prdc_package

        base = median_time(lambda: prdc_package.compute_prdc(real_features=real, fake_features=fake, nearest_k=5), args.reps)
        print(f"  prdc package                 {base:8.3f} s   ratio prdc-package / ours = {base / ours['prdc (k=5)']:.2f}")
    except ImportError:
        print("  prdc package not installed (pip install prdc): skipped")
    for d in (args.dim, 2048):
        a, b = rng.normal(size=(2 * d, d)), rng.normal(size=(2 * d, d))
        c1, c2 = a.T @ a / (2 * d), b.T @ b / (2 * d)
        m1, m2 = np.zeros(d), np.full(d, 0.1)
        reps = args.reps if d <= 256 else 1
        t_ours = median_time(lambda: F.gaussian_frechet(m1, c1, m2, c2), reps)
        t_base = median_time(lambda: sqrtm_frechet(m1, c1, m2, c2), reps)
        gap = abs(F.gaussian_frechet(m1, c1, m2, c2) - sqrtm_frechet(m1, c1, m2, c2))
        print(
            f"  Fréchet closed form at {d:>4d}-d: eigh {t_ours:8.4f} s, sqrtm {t_base:8.4f} s, "
            f"ratio sqrtm / eigh = {t_base / t_ours:.2f}, |difference| = {gap:.2e}"
        )


if __name__ == "__main__":
    main()
