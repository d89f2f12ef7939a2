"""Benchmark: a polluted web of 1,000 Gaussian lineages x 100 generations, d = 8, one process.

The web: 1,000 Gaussian lineages (MLE, λ = 1) on N(0, I_8), each drawing ``n_train`` = 100 items
from a pool of 50,000 and publishing 10 every generation; human arrivals fall linearly from
5,000 to 0 per generation; FIFO eviction; the four moment metrics per lineage, the pool's
Fréchet / recall / coverage on 1,000 items, the spread rows. Times (``time.perf_counter``, one
BLAS thread):

- ``autophagy.run(config, out=None)``: the batched web engine (:mod:`autophagy.runner.web_batched`),
  everything included (config, rows table, pool metrics). Target: < 120 s.
- the baseline, the same web with every lineage fitted, sampled and evaluated one by one by
  :class:`~autophagy.vectors.gaussian.GaussianGenerator` and the registered metrics (what an
  engine without batching does per lineage; same draws, same pool update), run for
  ``--baseline-generations`` generations and scaled to 100 by its per-lineage-generation cost.

Prints both per-lineage-generation costs and their ratio.

    .venv/bin/python benchmarks/bench_web.py [--generations 100] [--baseline-generations 5]
"""

from __future__ import annotations

from autophagy._threads import set_single_thread_env

set_single_thread_env()  # before numpy loads: one BLAS thread per process

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import autophagy  # noqa: E402

LINEAGES, DIM, N_TRAIN, PUBLISH, POOL, TARGET_S = 1000, 8, 100, 10, 50_000, 120.0


def config(generations: int) -> dict:
    return {
        "name": "bench-web",
        "seed": 0,
        "generations": generations,
        "data": {"kind": "gaussian", "dim": DIM},
        "eval": {"n_samples": 1000, "snapshot_size": 0},
        "web": {
            "lineages": [{"generator": {"kind": "gaussian"}, "count": LINEAGES, "n_train": N_TRAIN, "publish": PUBLISH}],
            "pool": {"size": POOL, "human_per_generation": {"kind": "linear", "from": 5000, "to": 0}, "eviction": "fifo"},
        },
    }


def baseline(generations: int, total: int) -> float:
    """Seconds for ``generations`` generations of the web (of ``total``) with the lineages one by one."""
    from autophagy._rng import stream
    from autophagy.loops.web import draw_rows
    from autophagy.metrics.evaluate import evaluate, make_context
    from autophagy.registry import build_source
    from autophagy.runner.web_common import (
        human_arrivals,
        initial_pool,
        next_pool,
        pool_rows,
        with_arrivals,
    )
    from autophagy.vectors.gaussian import GaussianGenerator

    cfg = autophagy.load_config(config(total))
    assert cfg.web is not None and cfg.metrics is not None
    source, seed, names = build_source(cfg), cfg.seed, list(cfg.metrics)
    holdout = source.sample(cfg.eval.n_samples, rng=stream(seed, 0, "holdout"))
    pool = initial_pool(cfg, source, seed)
    started = time.perf_counter()
    for t in range(1, generations + 1):
        human = human_arrivals(cfg, source, seed, t)
        drawn = with_arrivals(pool, human, t)
        published, values = [], np.empty((LINEAGES, len(names)))
        for i in range(LINEAGES):
            rows = draw_rows(drawn, N_TRAIN, cfg.web.draw, stream(seed, t, "draw", batch=i))
            g = GaussianGenerator().fit(drawn.x[rows], rng=stream(seed, t, "fit", batch=i))
            found = evaluate(names, make_context(holdout, np.empty((0, DIM)), g, 1.0, source, cfg.eval, stream(seed, t, "metric", batch=i)))
            values[i] = [found[n] for n in names]
            published.append((g.sample(PUBLISH, rng=stream(seed, t, "publish", batch=i)), i, 1.0 + float(drawn.depth[rows].mean())))
        pool = next_pool(cfg, pool, published, human, seed, t)
        pool_rows(cfg, source, pool, seed, t, holdout=holdout)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generations", type=int, default=100)
    parser.add_argument("--baseline-generations", type=int, default=5)
    args = parser.parse_args()
    T = args.generations
    started = time.perf_counter()
    result = autophagy.run(config(T), out=None)
    batched = time.perf_counter() - started
    m = result.metrics
    last = m[(m.generation == T) & (m.lineage == -1)].set_index("metric").value
    slow = baseline(args.baseline_generations, T)
    per_batched = batched / (LINEAGES * T) * 1e6
    per_slow = slow / (LINEAGES * args.baseline_generations) * 1e6
    print(f"web: {LINEAGES} Gaussian lineages x {T} generations, d = {DIM}, n_train {N_TRAIN}, publish {PUBLISH}, pool {POOL:,}")
    print(f"batched web engine (autophagy.run): {batched:8.2f} s  ({per_batched:6.1f} µs per lineage-generation)  target < {TARGET_S:.0f} s: {'MET' if batched < TARGET_S else 'MISSED'}")
    print(f"one-by-one baseline ({args.baseline_generations} generations): {slow:8.2f} s  ({per_slow:6.1f} µs per lineage-generation; {per_slow * LINEAGES * T / 1e6:.0f} s scaled to {T})")
    print(f"speed-up: {per_slow / per_batched:.1f}x")
    print(f"last generation: pool_human_share {last['pool_human_share']:.3f}, pool_synthetic_age {last['pool_synthetic_age']:.2f}, lineage_q90_gaussian_w2 {last['lineage_q90_gaussian_w2']:.3f}")


if __name__ == "__main__":
    main()
