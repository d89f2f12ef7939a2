"""Benchmark: what ``autophagy.Monitor`` costs per update, and how often its band cries wolf.

Prints (``time.perf_counter``, one BLAS thread):

1. vectors: 10,000 samples x 64-d per update against a 10,000-row reference (split into 5,000
   comparison and 5,000 calibration rows, so each update scores ``max_samples`` = 2,500 of its
   samples): the one-time cost (reference statistics, the bootstrap band at B = 100) and the
   median over ``--reps`` updates of the cost per update afterwards;
2. text: one update of 1,000 texts against 1,000 reference texts with the lab's sentence
   embedder (all-MiniLM-L6-v2, the extra ``text``), or why it is skipped;
3. the false-alarm rate on healthy loops (fresh real samples every update, d = 8, n = 100,
   reference 2,000): per metric the share of updates out of band with its binomial standard
   error sqrt(p(1-p)/N), and the CollapseWarnings per 100 updates (patience 2);
4. first, the step of the first warning on a fully synthetic Gaussian refit, d = 2, 4, 8.

    .venv/bin/python benchmarks/bench_monitor.py [--reps 5] [--updates 200] [--seeds 5] [--collapse-seeds 10]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

import autophagy  # noqa: E402
from autophagy.monitor import band as bands  # noqa: E402


def vectors(reps: int) -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(10_000, 64))
    started = time.perf_counter()
    monitor = autophagy.Monitor(reference, name="bench", out=None, alert={"log": False})
    monitor.update(1, rng.normal(size=(10_000, 64)))
    first = time.perf_counter() - started
    times = []
    for step in range(2, reps + 2):
        samples = rng.normal(size=(10_000, 64))
        started = time.perf_counter()
        monitor.update(step, samples)
        times.append(time.perf_counter() - started)
    print(f"vectors 10,000 x 64-d vs 10,000 reference (scores {monitor.max_samples} per update):")
    print(f"  first update (reference statistics + band, B=100): {first:.1f} s")
    print(f"  per update afterwards: median {statistics.median(times):.3f} s over {reps} (min {min(times):.3f}, max {max(times):.3f})")


def texts() -> None:
    from autophagy.exceptions import MissingExtraError

    rng = np.random.default_rng(0)
    words = ["the", "model", "data", "loop", "learns", "forgets", "a", "small", "large", "tail", "mode", "again"]
    make = lambda n: [" ".join(rng.choice(words, size=rng.integers(4, 12))) for _ in range(n)]  # noqa: E731
    reference, samples = make(1000), make(1000)
    try:
        started = time.perf_counter()
        monitor = autophagy.Monitor(reference, name="bench-text", out=None, modality="text", alert=False)
    except MissingExtraError as exc:
        print(f"text: skipped ({exc})")
        return
    built = time.perf_counter() - started
    started = time.perf_counter()
    monitor.update(1, samples)
    print(f"text: 1,000 texts per update: {time.perf_counter() - started:.1f} s (reference of 1,000 embedded once: {built:.1f} s, model load included)")


def false_alarms(updates: int, seeds: int) -> None:
    counts, warned, total = None, 0, 0
    for seed in range(seeds):
        rng = np.random.default_rng(100 + seed)
        monitor = autophagy.Monitor(rng.normal(size=(2000, 8)), name="fa", out=None, seed=seed, alert={"log": False})
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", autophagy.CollapseWarning)
            for step in range(1, updates + 1):
                values = monitor.update(step, rng.normal(size=(100, 8)))
                out = bands.outside(monitor.band(100), [values[m] for m in monitor.sample_metrics])
                counts = out.astype(int) if counts is None else counts + out
                total += 1
        warned += sum(issubclass(w.category, autophagy.CollapseWarning) for w in caught)
    assert counts is not None
    print(f"false alarms, healthy loops: {seeds} seeds x {updates} updates (d=8, n=100, level 0.01 over {len(counts)} metrics, patience 2):")
    for name, k in zip(monitor.sample_metrics, counts, strict=True):
        p = k / total
        print(f"  {name:10s} out of band {p:.4f} ± {np.sqrt(p * (1 - p) / total):.4f} of updates")
    any_out = counts.sum() / total
    print(f"  sum over metrics {any_out:.4f} (the Bonferroni target is <= 0.01)")
    print(f"  CollapseWarnings: {100 * warned / total:.2f} per 100 updates ({warned} in {total})")


def collapse_steps(seeds: int, steps: int = 30) -> None:
    """The step of the first CollapseWarning on a fully synthetic Gaussian refit (fit N(μ, Σ)
    to n = 100 samples, draw 100 from the fit, repeat; reference 2,000), per d and seed."""
    print(f"first warning, fully synthetic Gaussian refit (n=100, reference 2,000, seeds 0-{seeds - 1}, patience 2):")
    for d in (2, 4, 8):
        found = []
        for seed in range(seeds):
            rng = np.random.default_rng(seed)
            monitor = autophagy.Monitor(rng.normal(size=(2000, d)), name="c", out=None, seed=seed, alert={"log": False})
            x, first = rng.normal(size=(100, d)), None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", autophagy.CollapseWarning)
                for step in range(1, steps + 1):
                    x = rng.multivariate_normal(x.mean(axis=0), np.cov(x, rowvar=False), size=100)
                    monitor.update(step, x)
                    if any(issubclass(w.category, autophagy.CollapseWarning) for w in caught):
                        first = step
                        break
            found.append(first)
        print(f"  d={d}: steps {found}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--collapse-seeds", type=int, default=10)
    args = parser.parse_args()
    collapse_steps(args.collapse_seeds)
    false_alarms(args.updates, args.seeds)
    if args.reps:
        vectors(args.reps)
    texts()


if __name__ == "__main__":
    main()
