"""Benchmark: the same sweep on the ``process`` and ``ray`` backends, side by side.

A grid of 2 loops x 2 biases x ``--seeds`` seeds of a Gaussian loop (each run a fraction of a
second to a second) runs into a fresh store per backend on this machine. Prints, for each
backend, the wall time, runs/s and the ratio to the process backend; Ray is timed twice:
cold (the sweep starts a local Ray instance and stops it: what ``autophagy sweep --backend
ray`` costs here) and warm (Ray already started, so only its per-task overhead counts). Then
it checks that nothing else changes: the metric tables of all runs are identical, value for
value, and prints the final-generation means per setting for each backend.

    make bench        # or: .venv/bin/python benchmarks/bench_ray_vs_process.py [--seeds 10] [--workers 2]
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

import pandas as pd  # noqa: E402

import autophagy  # noqa: E402
from autophagy.runner.sweep import expand, run_sweep  # noqa: E402


def experiment(seeds: int) -> dict:
    return {
        "name": "backends",
        "generations": 10,
        "engine": "sampled",
        "data": {"kind": "gaussian", "dim": 4},
        "generator": {"kind": "gaussian"},
        "loop": {"kind": "fully_synthetic", "n_real": 1000, "n_synthetic": 1000},
        "metrics": ["frechet", "cov_trace", "precision", "recall"],
        "eval": {"n_samples": 1000},
        "sweep": {"grid": {"loop.kind": ["fully_synthetic", "fresh"], "generator.bias": [1.0, 0.7]}, "seeds": seeds},
    }


def timed(configs: list, out: Path, backend: str, workers: int) -> float:
    start = time.perf_counter()
    summaries = run_sweep(configs, out=out, backend=backend, workers=workers)
    wall = time.perf_counter() - start
    assert all(s["status"] == "complete" for s in summaries)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    import ray

    configs = expand(experiment(args.seeds))
    root = Path(tempfile.mkdtemp(prefix="bench-backends-"))
    try:
        walls = {
            "process": timed(configs, root / "process", "process", args.workers),
            "ray (cold: starts Ray)": timed(configs, root / "ray-cold", "ray", args.workers),
        }
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")
        start = time.perf_counter()
        ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        startup = time.perf_counter() - start
        walls["ray (warm)"] = timed(configs, root / "ray-warm", "ray", args.workers)
        ray.shutdown()
        print(f"{len(configs)} runs (2 loops x 2 biases x {args.seeds} seeds, 10 generations), "
              f"{args.workers} workers on {os.cpu_count()} cores; ray.init here: {startup:.1f} s")
        print(f"  {'backend':<24}{'wall (s)':>10}{'runs/s':>9}{'vs process':>12}")
        for name, wall in walls.items():
            print(f"  {name:<24}{wall:>10.2f}{len(configs) / wall:>9.2f}{wall / walls['process']:>11.2f}x")
        tables = {name: autophagy.load_metrics(root / folder) for name, folder in
                  [("process", "process"), ("ray cold", "ray-cold"), ("ray warm", "ray-warm")]}
        for name in ("ray cold", "ray warm"):
            pd.testing.assert_frame_equal(tables[name], tables["process"])
        print(f"  metrics identical on every backend: yes ({len(tables['process'])} rows each, compared value for value)")
        finals = {}
        for name in ("process", "ray warm"):
            table = autophagy.catalog(root / ("process" if name == "process" else "ray-warm"))
            finals[name] = table.groupby(["loop.kind", "generator.bias"])[["final.frechet", "final.recall"]].mean()
        print(pd.concat(finals, axis=1).round(4).to_string())
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
