"""Benchmark: durable runs at engine speed — the run store against memory, side by side.

Issue 14's figures, all measured in one run (medians of ``--reps``, ``time.perf_counter``):

1. d = 10, n = 100, 100 generations x 100 repeats, MLE, fully synthetic, ``cov_trace``
   (``bench_exact_engine.CONFIG``): the plain per-repeat NumPy loop (no metrics), the exact
   engine in memory (``autophagy.run(config, out=None)``) and through the run store
   (``autophagy.run(config, out=DIR)``, a fresh directory each time, what every CLI user gets).
   Targets: plain / exact in memory >= 100x (floor 60x); store / memory <= 1.2x.
2. The sampled engine on the d = 8 and d = 10 Gaussian benchmarks (``bench_gaussian_loop``):
   the plain loop computing the same metrics, sampled in memory, sampled through the store.
   Targets: memory / plain <= 1.5x; store / memory <= 1.2x for runs of >= 1 s.
3. A 10,000-generation exact run through the store (d = 10, 20 repeats, checkpoints every
   0.2 s so that the journal merges parts many times): seconds per 1,000 generations, first
   block against last. Linear cost shows as flat blocks; the old store (rewriting the whole
   metrics.parquet every generation) grew linearly per block, quadratically in total.

    .venv/bin/python benchmarks/bench_store.py [--reps 5]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import bench_exact_engine as exact_bench  # noqa: E402
import bench_gaussian_loop as sampled_bench  # noqa: E402

import autophagy  # noqa: E402

LONG = {
    **exact_bench.CONFIG,
    "name": "bench-store-long",
    "generations": 10_000,
    "repeats": 20,
    "store": {"checkpoint_every_s": 0.2},
}


def timed(config: dict[str, Any], *, store: bool, frame: bool = False) -> float:
    """Seconds of one ``autophagy.run`` in memory or into a fresh run directory (with ``frame``,
    including building the pandas DataFrame ``Result.metrics``, which is made on first use)."""
    folder = tempfile.mkdtemp(prefix="bench-store-") if store else None
    try:
        start = time.perf_counter()
        result = autophagy.run(config, out=folder)
        if frame:
            _ = result.metrics
        return time.perf_counter() - start
    finally:
        if folder is not None:
            shutil.rmtree(folder)


def median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1e3:8.1f} ms"


def exact_section(reps: int) -> None:
    config = exact_bench.CONFIG
    plain, memory, with_frame, store = [], [], [], []
    for _ in range(reps):
        plain.append(exact_bench.timed_plain()[0])
        memory.append(timed(config, store=False))
        with_frame.append(timed(config, store=False, frame=True))
        store.append(timed(config, store=True))
    m = statistics.median
    print("1. exact engine, d = 10, n = 100, 100 generations x 100 repeats (cov_trace), medians of", reps)
    print(f"   plain NumPy loop       {median_ms(plain)}")
    print(f"   exact, in memory       {median_ms(memory)}   plain / memory = {m(plain) / m(memory):6.1f}x  (target >= 100x, floor 60x)")
    print(f"   + Result.metrics       {median_ms(with_frame)}   plain / this   = {m(plain) / m(with_frame):6.1f}x  (the DataFrame, built on first use)")
    print(f"   exact, through store   {median_ms(store)}   store / memory = {m(store) / m(memory):6.2f}x  (target <= 1.2x)")
    print(f"   store overhead         {(m(store) - m(memory)) * 1e3:8.1f} ms per run (directory, config, status, one Parquet file, state, fsynced commit)")


def sampled_section(reps: int) -> None:
    m = statistics.median
    print("2. sampled engine, 100 generations x 100 repeats, medians of", reps)
    for config in (sampled_bench.CONFIG, sampled_bench.CONFIG_D10):
        plain, memory, store = [], [], []
        for _ in range(reps):
            plain.append(sampled_bench.timed_plain(config)[0])
            memory.append(timed(config, store=False))
            store.append(timed(config, store=True))
        label = f"d = {config['data']['dim']}, {config['metrics']}"
        print(f"   {label}")
        print(f"     plain loop + metrics {median_ms(plain)}")
        print(f"     sampled, in memory   {median_ms(memory)}   memory / plain = {m(memory) / m(plain):5.2f}x  (target <= 1.5x)")
        print(f"     sampled, store       {median_ms(store)}   store / memory = {m(store) / m(memory):5.2f}x  (target <= 1.2x for runs >= 1 s)")


def long_section() -> None:
    folder = tempfile.mkdtemp(prefix="bench-store-long-")
    marks: list[float] = []

    def progress(info: dict[str, Any]) -> None:
        if info["generation"] % 1000 == 0:
            marks.append(time.perf_counter())

    try:
        start = time.perf_counter()
        result = autophagy.run(LONG, out=folder, progress=progress)
        total = time.perf_counter() - start
        memory_start = time.perf_counter()
        autophagy.run(LONG, out=None)
        memory = time.perf_counter() - memory_start
    finally:
        shutil.rmtree(folder)
    blocks = [b - a for a, b in zip([start, *marks[:-1]], marks, strict=True)]
    print(f"3. exact engine, 10,000 generations x {LONG['repeats']} repeats through the store ({len(result.metrics):,} rows)")
    print("   seconds per 1,000 generations: " + ", ".join(f"{b:.2f}" for b in blocks))
    print(f"   last block / first block = {blocks[-1] / blocks[0]:.2f} (linear cost: ~1)")
    print(f"   total {total:.2f} s through the store, {memory:.2f} s in memory: store / memory = {total / memory:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--skip-long", action="store_true", help="skip the 10,000-generation run")
    args = parser.parse_args()
    autophagy.run({**exact_bench.CONFIG, "generations": 2, "repeats": 2}, out=None)  # warm-up: first-call imports
    timed({**exact_bench.CONFIG, "generations": 2, "repeats": 2}, store=True)
    exact_section(args.reps)
    sampled_section(max(3, args.reps // 2))
    if not args.skip_long:
        long_section()


if __name__ == "__main__":
    main()
