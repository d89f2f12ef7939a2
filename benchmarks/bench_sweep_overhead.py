"""Benchmark: scheduling overhead of ``autophagy sweep`` on the process backend.

Two sweeps of a fully synthetic loop on a 4-d Gaussian (sampled engine), each into a fresh run
store, on ``--workers`` processes (default: the cores):

- **tiny**: 2,000 runs of a Gaussian loop with 5 generations (tens of milliseconds each), the
  worst case for a scheduler; prints runs/s.
- **≥ 1 s runs**: the same loop made heavier (more samples and generations) so that each run
  computes for about a second or more, where the target applies: overhead under 10 %.

For each it prints the wall time, runs/s, the sum of per-run compute (seconds each task spent
inside its worker, ``compute_s`` of the sweep's summaries), and the overhead ratio
``wall × workers / Σ compute`` (1.00 = no overhead: the workers did nothing but compute runs;
planning the pending run directories, process start-up, moving tasks and outcomes and the
store's writes of run state are the rest). It also reruns the finished tiny sweep (every run
skipped: runs/s of the no-op rerun) and times ``autophagy.catalog`` over its 2,000 runs.

    make bench        # or: .venv/bin/python benchmarks/bench_sweep_overhead.py [--runs 2000] [--workers 2]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import autophagy  # noqa: E402
from autophagy.runner.sweep import expand, run_sweep  # noqa: E402

TARGET_OVERHEAD = 0.10


def experiment(runs: int, generations: int, n: int, eval_samples: int) -> dict:
    """``runs`` seeds of a fully synthetic loop on a 4-d Gaussian (sampled engine)."""
    return {
        "name": "overhead",
        "generations": generations,
        "engine": "sampled",
        "data": {"kind": "gaussian", "dim": 4},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": n, "n_synthetic": n},
        "metrics": ["frechet", "cov_trace", "precision", "recall"],
        "eval": {"n_samples": eval_samples},
        "sweep": {"seeds": runs},
    }


def measure(label: str, config: dict, workers: int, out: Path) -> dict:
    configs = expand(config)
    start = time.perf_counter()
    summaries = run_sweep(configs, out=out, workers=workers, backend="process")
    wall = time.perf_counter() - start
    assert all(s["status"] == "complete" for s in summaries), [s for s in summaries if s["status"] != "complete"][:3]
    compute = sum(s["compute_s"] for s in summaries)
    ratio = wall * workers / compute
    per_run = compute / len(summaries)
    print(f"{label}: {len(summaries)} runs x {config['generations']} generations, {workers} workers")
    print(f"  wall {wall:.1f} s   {len(summaries) / wall:.1f} runs/s   mean compute per run {per_run:.3f} s")
    print(f"  Σ per-run compute {compute:.1f} s   overhead ratio wall x workers / Σ compute = {ratio:.3f} "
          f"({(ratio - 1):+.1%})")
    return {"wall": wall, "ratio": ratio, "per_run": per_run}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs of the tiny sweep")
    parser.add_argument("--long-runs", type=int, default=40, help="runs of the >= 1 s sweep")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    try:
        print(f"process backend, {args.workers} workers on {os.cpu_count()} cores")
        tiny = measure("tiny", experiment(args.runs, 5, 100, 200), args.workers, root / "tiny")
        start = time.perf_counter()
        again = run_sweep(expand(experiment(args.runs, 5, 100, 200)), out=root / "tiny", workers=args.workers)
        rerun = time.perf_counter() - start
        assert all(s["skipped"] for s in again)
        print(f"  rerun of the finished sweep (every run skipped): {rerun:.2f} s, {len(again) / rerun:.0f} runs/s")
        start = time.perf_counter()
        table = autophagy.catalog(root / "tiny")
        print(f"  autophagy.catalog of the {len(table)} runs (DuckDB over their Parquet files): {time.perf_counter() - start:.2f} s")
        long = measure(">= 1 s runs", experiment(args.long_runs, 30, 3000, 2000), args.workers, root / "long")
        met = long["per_run"] >= 1.0 and long["ratio"] - 1 < TARGET_OVERHEAD
        print(f"target: overhead under {TARGET_OVERHEAD:.0%} once runs take >= 1 s: "
              f"{'met' if met else 'NOT met'} ({long['ratio'] - 1:+.1%} at {long['per_run']:.2f} s per run); "
              f"tiny runs ({tiny['per_run'] * 1000:.0f} ms each): {tiny['ratio'] - 1:+.1%}")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
