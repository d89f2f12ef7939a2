"""Benchmark: sampled engine, d = 8 Gaussian fully synthetic loop, 100 generations x 100 repeats.

Prints the wall time of the sample-based engine in memory and with the run store writing
every generation (metrics.parquet + state.npz, atomically), median of a few repetitions, and
the store's overhead as a ratio measured in the same run.

    make bench        # or: .venv/bin/python benchmarks/bench_gaussian_loop.py [--reps 3]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

import autophagy  # noqa: E402

CONFIG = {
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


def timed(out: str | None) -> float:
    start = time.perf_counter()
    autophagy.run(CONFIG, out=out)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3)
    args = parser.parse_args()
    memory, stored = [], []
    for _ in range(args.reps):
        memory.append(timed(None))
        with tempfile.TemporaryDirectory() as tmp:
            stored.append(timed(tmp))
    steps = CONFIG["generations"] * CONFIG["repeats"]
    m, s = statistics.median(memory), statistics.median(stored)
    print(f"gaussian d=8 fully_synthetic, sampled engine, {CONFIG['generations']} generations x {CONFIG['repeats']} repeats")
    print(f"  in memory        median {m:8.2f} s   ({1e3 * m / steps:.3f} ms per generation-repeat)  runs: {[round(x, 2) for x in memory]}")
    print(f"  with run store   median {s:8.2f} s   ({1e3 * s / steps:.3f} ms per generation-repeat)  runs: {[round(x, 2) for x in stored]}")
    print(f"  ratio store / memory: {s / m:.2f}")


if __name__ == "__main__":
    main()
