"""Benchmark: a web of 64 GMM lineages x 20 generations on the local, process and Ray backends.

Each generation every lineage draws 400 items from a shared pool of 6,400 (2-D, 4 true modes),
fits a 4-component GMM, publishes 100 items and is scored (frechet, recall, coverage on 500
samples); the pool update is the barrier between generations. For each backend
(``autophagy.runner.web_backend.lineage_backend``) the script prints:

- ``wall``: seconds of ``autophagy.run(config, out=None)`` (Ray: after its start-up, which is
  timed apart as ``start``; the process pool's spawn is inside ``wall``);
- ``compute``: the lineage tasks' seconds summed, each timed inside its worker;
- ``overhead``: wall x workers / compute (1.0 = perfect parallel use of the workers; the
  remainder is the driver's share: draws, pool update, pool metrics, and hand-overs);
- whether its metrics table equals the local one (it must: every backend gives the same rows).

    .venv/bin/python benchmarks/bench_web_executors.py [--lineages 64] [--generations 20] [--workers 2] [--backends local,process,ray]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import time  # noqa: E402
from typing import Any  # noqa: E402

import autophagy  # noqa: E402
from autophagy.runner import loop  # noqa: E402
from autophagy.runner.web_backend import lineage_backend  # noqa: E402
from autophagy.runner.web_workers import current_workers  # noqa: E402


def config(lineages: int, generations: int) -> dict[str, Any]:
    return {
        "name": "bench-web-executors",
        "seed": 0,
        "generations": generations,
        "engine": "sampled",
        "data": {"kind": "gmm", "grid_size": 2, "spacing": 4.0, "std": 0.5},
        "metrics": ["frechet", "recall", "coverage"],
        "eval": {"n_samples": 500, "snapshot_size": 0},
        "web": {
            "lineages": [{"generator": {"kind": "gmm", "n_components": 4}, "count": lineages, "n_train": 400, "publish": 100}],
            "pool": {"size": 100 * lineages, "human_per_generation": {"kind": "linear", "from": 25 * lineages, "to": 0}},
        },
    }


def timed(cfg: dict[str, Any]) -> tuple[float, float, Any]:
    """(wall s, summed in-worker s, metrics) of one run; the engine is caught as make_engine makes it."""
    made: list[Any] = []
    original = loop.make_engine

    def spy(*args: Any) -> Any:
        made.append(original(*args))
        return made[-1]

    loop.make_engine = spy
    try:
        started = time.perf_counter()
        metrics = autophagy.run(cfg, out=None).metrics
        wall = time.perf_counter() - started
    finally:
        loop.make_engine = original
    return wall, made[0].compute_s, metrics.sort_values(["seed", "generation", "lineage", "metric"]).reset_index(drop=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lineages", type=int, default=64)
    parser.add_argument("--generations", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backends", default="local,process,ray")
    args = parser.parse_args()
    cfg = config(args.lineages, args.generations)
    print(f"web: {args.lineages} GMM lineages x {args.generations} generations, {args.workers} workers")
    print(f"{'backend':>8s} {'start s':>8s} {'wall s':>8s} {'compute s':>10s} {'overhead':>9s}  same table")
    reference = None
    for name in args.backends.split(","):
        workers = 1 if name == "local" else args.workers
        with lineage_backend(name, workers=workers):
            started = time.perf_counter()
            current_workers()  # start the backend (Ray's start-up is timed apart)
            start = time.perf_counter() - started
            wall, compute, metrics = timed(cfg)
        reference = metrics if reference is None else reference
        same = metrics[["seed", "generation", "lineage", "metric", "value"]].equals(reference[["seed", "generation", "lineage", "metric", "value"]])
        print(f"{name:>8s} {start:8.2f} {wall:8.2f} {compute:10.2f} {wall * workers / compute:9.2f}  {same}")


if __name__ == "__main__":
    main()
